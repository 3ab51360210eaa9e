#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander'
import { addClientOptions, adminAuth, basicHeader, intIn, login, rest, table, type ClientOptions } from './options.js'
import { registerAdminCommands } from './admin.js'
import { registerShapesCommand } from './shapes.js'
import { registerUsersCommands } from './users.js'
import { registerSimulateCommands } from './simulate.js'
import { registerMigrateKeysCommand } from './migrate-keys.js'

// The playfield command. `serve` (the default) and `worker` run the service; the rest are clients of a running one.
// Every failure exits non-zero with one line saying why.

const program = new Command('playfield')
  .description('playfield game backend: server, workers and clients')
  // Usage errors stay one line (commander's own "error: …"); --help shows the usage.
  .showHelpAfterError(false)

program.command('serve', { isDefault: true })
  .description('run the server: REST and gRPC (configuration from env, see .env.example)')
  .action(async () => {
    const { bootConfig, start } = await import('../server.js')
    await start(bootConfig())
  })

program.command('worker')
  .description('run queue workers only, as a separate process')
  .action(async () => {
    const { bootConfig, start } = await import('../server.js')
    await start(bootConfig(), 'worker')
  })

const accounts = program.command('accounts').description('manage accounts (admin)')
addClientOptions(accounts.command('add <username>'))
  .description('create an account; the admin credentials come from --user/--password (or an admin JWT in --token)')
  .requiredOption('--new-password <password>', 'password of the new account (env PLAYFIELD_NEW_PASSWORD)', process.env.PLAYFIELD_NEW_PASSWORD)
  .option('--admin', 'make it an admin', false)
  .action(async (username: string, o: ClientOptions & { newPassword: string, admin: boolean }) => {
    const res = await rest(o, 'POST', '/accounts', { auth: adminAuth(o), body: { username, password: o.newPassword, admin: o.admin } })
    process.stdout.write(`created ${res.username}${res.admin ? ' (admin)' : ''}\n`)
  })

const tokens = program.command('tokens').description('gRPC tokens')
addClientOptions(tokens.command('create'))
  .description('issue a gRPC token for --user (prints it)')
  .action(async (o: ClientOptions) => {
    // A token is issued for a password, never for another token.
    if (o.token && !(o.user && o.password)) throw new Error('tokens create needs --user and --password, not --token')
    const res = await rest(o, 'POST', '/tokens', { auth: basicHeader(o) })
    process.stdout.write(`${res.token}\n`)
  })
addClientOptions(tokens.command('revoke [token]'))
  .description('revoke one token, or with --all-of every token of an account (admin: --user/--password or --token)')
  .option('--all-of <username>', 'revoke every token of this account')
  .action(async (token: string | undefined, o: ClientOptions & { allOf?: string }) => {
    if (!token && !o.allOf) throw new Error('give a token or --all-of <username>')
    const res = await rest(o, 'POST', '/tokens/revoke', { auth: adminAuth(o), body: token ? { token } : { username: o.allOf } })
    process.stdout.write(`revoked ${res.revoked}\n`)
  })

const scores = program.command('scores').description('leaderboard scores')
addClientOptions(scores.command('submit <name> <score> [more...]'))
  .description('submit scores: name score [name score …] (--user/--password, or a REST JWT in --token)')
  .action(async (name: string, score: string, more: string[], o: ClientOptions) => {
    const flat = [name, score, ...more]
    if (flat.length % 2 !== 0) throw new Error('give name/score pairs')
    const entries = []
    for (let i = 0; i < flat.length; i += 2) {
      const n = Number(flat[i + 1])
      if (!Number.isInteger(n) || n < 0) throw new Error(`score for ${flat[i]} must be a non-negative integer`)
      entries.push({ name: flat[i], score: n })
    }
    const res = await rest<Array<{ name: string, score: number, rank: number, window_rank: number }>>(o, 'POST', '/scores', {
      auth: await login(o), body: entries
    })
    process.stdout.write(table(['name', 'best', 'rank', '30-day rank'], res.map(r => [r.name, r.score, r.rank, r.window_rank])))
  })

const leaderboard = program.command('leaderboard').description('read boards')
addClientOptions(leaderboard.command('show'))
  .description('show a page of a board as a table (--user/--password, or a REST JWT in --token)')
  .addOption(new Option('--window <window>', 'which board').choices(['all_time', 'last_30_days']).default('all_time'))
  .option('--page <n>', 'page number (1-based)', intIn(1, 1_000_000), 1)
  .option('--name <player>', 'also show the player with up to 2 neighbours')
  .action(async (o: ClientOptions & { window: string, page: number, name?: string }) => {
    const q = new URLSearchParams({ window: o.window, page: String(o.page), ...(o.name ? { name: o.name } : {}) })
    const res = await rest(o, 'GET', `/leaderboard?${q}`, { auth: await login(o) })
    type Row = { rank: number, name: string, score: number }
    const rows = (res.results as Row[]).map(r => [r.rank, r.name, r.score])
    process.stdout.write(`${o.window} — page ${o.page}, ${res.total} players\n`)
    process.stdout.write(table(['rank', 'name', 'score'], rows))
    if (res.around_me?.length) {
      process.stdout.write('\naround me\n')
      process.stdout.write(table(['rank', 'name', 'score'], res.around_me.map((r: any) => [r.rank, r.name, r.score])))
    }
    if (res.next_page) process.stdout.write(`next page: ${res.next_page}\n`)
  })

registerShapesCommand(program)
registerUsersCommands(program)
registerSimulateCommands(program)
registerMigrateKeysCommand(program)
registerAdminCommands(program)

program.exitOverride()
// No top-level await: the single executable runs this as one CommonJS bundle.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // help and version are not failures; usage errors were already printed by commander
    process.exit(err.exitCode)
  }
  process.stderr.write(`playfield: ${(err as Error).message.split('\n')[0]}\n`)
  process.exit(1)
})
