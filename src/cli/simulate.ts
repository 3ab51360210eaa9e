import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { addClientOptions, intIn, rest, table, type ClientOptions } from './options.js'
import { progress } from './progress.js'
import { batches, generateSessions, shuffle, toEvents } from './session-generator.js'

// `playfield sessions simulate` and `playfield ads simulate`: realistic traffic against a running server.

async function pool<T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

function ratio (raw: string): number {
  const n = Number(raw)
  if (raw.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1')
  return n
}

export function registerSimulateCommands (program: Command): void {
  const sessions = program.commands.find(c => c.name() === 'sessions') ?? program.command('sessions').description('player sessions')
  addClientOptions(sessions.command('simulate'))
    .description('generate start/end events like the original test generator and upload them in batches of 10')
    .option('--countries <n>', 'countries', intIn(1, 200), 10)
    .option('--players <n>', 'players per country', intIn(1, 100_000), 10)
    .option('--sessions <n>', 'sessions per player', intIn(1, 1000), 5)
    .option('--concurrency <n>', 'batches in flight', intIn(1, 256), 8)
    .option('--seed <n>', 'random seed', intIn(0, 2 ** 31 - 1), Date.now() % 100000)
    .action(async (o: ClientOptions & Record<'countries' | 'players' | 'sessions' | 'concurrency' | 'seed', number>) => {
      const generated = generateSessions({
        nowMs: Date.now() - 60_000,
        countries: Number(o.countries),
        playersPerCountry: Number(o.players),
        sessionsPerPlayer: Number(o.sessions),
        seed: Number(o.seed)
      })
      const all = batches(shuffle(toEvents(generated), Number(o.seed)), 10)
      const bar = progress(process.stdout, all.length, 'batches')
      const totals = { accepted: 0, duplicates: 0, rejected: 0 }
      await pool(all, Number(o.concurrency), async (batch) => {
        const r = await rest<{ accepted: number, duplicates: number, rejected: unknown[] }>(o, 'POST', '/put_events', { body: batch })
        totals.accepted += r.accepted
        totals.duplicates += r.duplicates
        totals.rejected += r.rejected.length
        bar.increment()
      })
      bar.stop()
      process.stdout.write(`${generated.length} sessions, ${all.length} batches: ${totals.accepted} accepted, ` +
        `${totals.duplicates} duplicates, ${totals.rejected} rejected\n`)
    })

  const ads = program.commands.find(c => c.name() === 'ads') ?? program.command('ads').description('ad statistics')
  addClientOptions(ads.command('simulate'))
    .description('concurrent ad requests and impressions, then print the statistics')
    .option('--users <names>', 'comma-separated usernames', 'Jack,Jill')
    .option('--sdk <versions>', 'comma-separated SDK versions', '1.0,1.1')
    .option('--requests <n>', 'ad requests per user', intIn(1, 1_000_000), 1000)
    .option('--fill <ratio>', 'share of ads that get an impression (0 to 1)', ratio, 0.8)
    .option('--concurrency <n>', 'requests in flight', intIn(1, 256), 32)
    .action(async (o: ClientOptions & Record<'users' | 'sdk', string> & Record<'requests' | 'fill' | 'concurrency', number>) => {
      const users = o.users.split(',').filter(Boolean)
      const sdks = o.sdk.split(',').filter(Boolean)
      if (users.length === 0) throw new Error('--users needs at least one name')
      if (sdks.length === 0) throw new Error('--sdk needs at least one version')
      const calls: Array<{ username: string, sdk: string, impression: boolean }> = []
      for (const username of users) {
        for (let i = 0; i < Number(o.requests); i++) {
          calls.push({ username, sdk: sdks[i % sdks.length]!, impression: Math.random() < Number(o.fill) })
        }
      }
      const bar = progress(process.stdout, calls.length, 'ad requests')
      await pool(calls, Number(o.concurrency), async (c) => {
        const sessionId = `sim-${Math.random().toString(36).slice(2)}`
        const q = new URLSearchParams({ sdk_version: c.sdk, session_id: sessionId, platform: 'cli', username: c.username, country_code: 'FI' })
        const ad = await fetch(new URL(`/ad?${q}`, o.url), { signal: AbortSignal.timeout(15000) })
        if (!ad.ok) throw new Error(`GET /ad → ${ad.status}`)
        await ad.text()
        if (c.impression) await rest(o, 'GET', `/impression?${q}`)
        bar.increment()
      })
      bar.stop()
      const rows: Array<Array<string | number>> = []
      for (const [kind, values] of [['username', users], ['sdk', sdks]] as const) {
        for (const v of values) {
          const s = (await rest(o, 'GET', `/statistics?${kind}=${encodeURIComponent(v)}`))[v]
          rows.push([kind, v, s.ad_requests, s.impressions, s.fill_rate.toFixed(3)])
        }
      }
      process.stdout.write(table(['by', 'value', 'ad requests', 'impressions', 'fill rate'], rows))
    })
}
