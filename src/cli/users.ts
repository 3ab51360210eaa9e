import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Metadata, status, type Client, type ClientWritableStream } from '@grpc/grpc-js'
import { addClientOptions, adminAuth, grpcToken, rest, table, type ClientOptions } from './options.js'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { Users } from '../grpc/contract.js'
import { clientCredentials } from '../grpc/credentials.js'
import { send } from '../grpc/streams.js'
import type { IngestReply, RecordError } from '../plugins/users/service.js'
import { salvageRecords } from './salvage.js'
import type { DeadLetter } from '../jobs/dead-letters.js'

// `playfield users import <files or folders…>` and `playfield users export`: the client of the Users service.

export interface ImportOptions {
  address: string
  paths: string[]
  token?: string
  /** PEM CA bundle: use TLS and trust this CA (with cert/key: mutual TLS). */
  ca?: string
  cert?: string
  key?: string
  unary?: boolean
  /** The original SendUserInfoClientStream (one user per message) instead of SendUserBatchStream. */
  compat?: boolean
  /** Users per SendUserBatchStream message. */
  batchSize?: number
  /** Deadline of one file's stream (or of each unary call), in ms. */
  timeoutMs?: number
  /** Unary calls in flight at once. */
  concurrency?: number
  out?: NodeJS.WritableStream & { isTTY?: boolean }
  /** Off a TTY: a progress line after this many more records sent (or a second), default 10,000. */
  progressEvery?: number
}

export interface FileReport {
  file: string
  read: number
  salvaged: number
  sent: number
  accepted: number
  duplicates: number
  rejected: number
  errors: RecordError[]
  status: boolean
  message: string
}

type UsersClient = Client & {
  SendUserInfo (req: object, md: Metadata, opts: object, cb: (err: Error | null, res: IngestReply) => void): void
  SendUserInfoClientStream (md: Metadata, opts: object, cb: (err: Error | null, res: IngestReply) => void):
  ClientWritableStream<object>
  SendUserBatchStream (md: Metadata, opts: object, cb: (err: Error | null, res: IngestReply) => void):
  ClientWritableStream<object>
}

/** Users per SendUserBatchStream message by default: ~20 KB messages, far below the 4 MiB limit. */
export const DEFAULT_BATCH_SIZE = 100

/** Files named on the command line, and the *.json files inside named folders (recursively), in name order. */
export async function listJsonFiles (paths: string[]): Promise<string[]> {
  const out: string[] = []
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) {
      const entries = (await readdir(p, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
      for (const e of entries) {
        if (e.isDirectory()) out.push(...await listJsonFiles([join(p, e.name)]))
        else if (e.name.toLowerCase().endsWith('.json')) out.push(join(p, e.name))
      }
    } else {
      out.push(p)
    }
  }
  return out
}

const str = (v: unknown) => typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v)

/** A record from a file as a UserRequest (the original files spell user_name as user_name or username). */
export function toUserRequest (r: Record<string, unknown>) {
  const id = Number(r.id)
  return {
    id: Number.isInteger(id) && id >= -2147483648 && id <= 2147483647 ? id : 0,
    user_name: str(r.user_name ?? r.username),
    email: str(r.email),
    first_name: str(r.first_name),
    last_name: str(r.last_name),
    ip_address: str(r.ip_address),
    gender: str(r.gender),
    country: str(r.country),
    agent: str(r.agent)
  }
}

/**
 * One client stream for a file: SendUserBatchStream with `perMessage` users per message, or (perMessage 0) the
 * original SendUserInfoClientStream with one user per message.
 */
async function sendStream (client: UsersClient, md: Metadata, timeoutMs: number,
  records: Array<Record<string, unknown>>, perMessage: number, onSent: (n: number) => void): Promise<IngestReply> {
  const state = { finished: false }
  let call!: ClientWritableStream<object>
  const result = new Promise<IngestReply>((resolve, reject) => {
    const done = (err: Error | null, res: IngestReply) => {
      state.finished = true
      if (err) reject(err)
      else resolve(res)
    }
    const opts = { deadline: Date.now() + timeoutMs }
    call = perMessage > 0 ? client.SendUserBatchStream(md, opts, done) : client.SendUserInfoClientStream(md, opts, done)
  })
  // Honour write()/'drain': queuing a whole large file unsent makes grpc-js crawl (see STYLE.md).
  const step = Math.max(1, perMessage)
  for (let i = 0; i < records.length && !state.finished; i += step) {
    const message = perMessage > 0
      ? { users: records.slice(i, i + step).map(toUserRequest) }
      : toUserRequest(records[i]!)
    await send(call, message, () => state.finished)
    onSent(Math.min(step, records.length - i))
  }
  call.end()
  return await result
}

async function sendUnary (client: UsersClient, md: Metadata, timeoutMs: number, concurrency: number,
  records: Array<Record<string, unknown>>, onSent: (n: number) => void): Promise<IngestReply> {
  const total = { received: 0, accepted: 0, duplicates: 0, rejected: 0, jobs: 0, errors: [] as RecordError[] }
  let next = 0
  const one = (req: object) => new Promise<IngestReply>((resolve, reject) => {
    client.SendUserInfo(req, md, { deadline: Date.now() + timeoutMs }, (err, res) => err ? reject(err) : resolve(res))
  })
  await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, async () => {
    while (next < records.length) {
      const index = next++
      const res = await one(toUserRequest(records[index]!))
      total.received += res.received
      total.accepted += res.accepted
      total.duplicates += res.duplicates
      total.rejected += res.rejected
      total.jobs += res.jobs
      for (const e of res.errors) total.errors.push({ index, message: e.message })
      onSent(1)
    }
  }))
  total.errors.sort((a, b) => a.index - b.index)
  return {
    ...total,
    status: total.accepted > 0 || total.rejected === 0,
    message: `${total.accepted} of ${total.received} records durably queued by ${total.received} calls`
  }
}

/**
 * Progress for logs and pipes (no TTY): "<file>: sent n/total" each time another `every` records went out, at
 * least once a second in between, and when the file is all sent.
 */
function plainProgress (out: NodeJS.WritableStream, file: string, total: number, every = 10_000) {
  let sent = 0
  let nextMark = every
  let lastAt = Date.now()
  return (n: number) => {
    sent += n
    const marked = sent >= nextMark
    while (nextMark <= sent) nextMark += every
    if (!marked && sent < total && Date.now() - lastAt < 1000) return
    lastAt = Date.now()
    out.write(`${file}: sent ${sent}/${total}\n`)
  }
}

export function formatReport (r: FileReport): string {
  const cut = r.salvaged > 0 ? ' (cut off: salvaged the complete records)' : ''
  return `${r.file}: read ${r.read}, salvaged ${r.salvaged}${cut}, sent ${r.sent}, accepted ${r.accepted}, ` +
    `duplicates ${r.duplicates}, rejected ${r.rejected}`
}

/** Sends every record of every file; one client stream (or one unary call per record) per file. */
export async function importUsers (opts: ImportOptions): Promise<FileReport[]> {
  const out = opts.out ?? process.stdout
  const files = await listJsonFiles(opts.paths)
  const client = new Users(opts.address, clientCredentials(opts)) as unknown as UsersClient
  const md = new Metadata()
  if (opts.token) md.set('authorization', `Bearer ${opts.token}`)
  const timeoutMs = opts.timeoutMs ?? 300_000
  const bar = out.isTTY
    ? new cliProgress.SingleBar({ format: '{file} [{bar}] {value}/{total}', stream: out as NodeJS.WriteStream, clearOnComplete: true },
      cliProgress.Presets.shades_classic)
    : undefined
  const reports: FileReport[] = []
  try {
    for (const file of files) {
      // One file at a time in memory: the original's files are small; the stream to the server is bounded anyway.
      const text = await readFile(file, 'utf8')
      const { records, intact } = salvageRecords(text)
      if (records.length === 0 && !(intact && /^\s*\[[\s\S]*\]\s*$/.test(text))) {
        // Not one user record could be read (and it is not an empty list): nothing to send, and a failure.
        const report: FileReport = {
          file,
          read: 0,
          salvaged: 0,
          sent: 0,
          accepted: 0,
          duplicates: 0,
          rejected: 0,
          errors: [],
          status: false,
          message: 'no user record in it: expected a JSON array of user objects'
        }
        reports.push(report)
        out.write(`${file}: ${report.message}\n`)
        continue
      }
      bar?.start(records.length, 0, { file })
      const onSent = bar
        ? (n: number) => bar.increment(n)
        : plainProgress(out, file, records.length, opts.progressEvery)
      let reply: IngestReply
      try {
        reply = records.length === 0
          ? { status: true, message: 'no records', received: 0, accepted: 0, duplicates: 0, rejected: 0, errors: [], jobs: 0 }
          : opts.unary
            ? await sendUnary(client, md, timeoutMs, opts.concurrency ?? 32, records, onSent)
            : await sendStream(client, md, timeoutMs, records,
              opts.compat ? 0 : Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE), onSent)
      } catch (err) {
        // "14 UNAVAILABLE: No connection established…" → "<file>: UNAVAILABLE: No connection established…"
        const e = err as { code?: number, details?: string, message: string }
        throw new Error(`${file}: ${e.code !== undefined && e.details !== undefined
          ? `${status[e.code] ?? e.code}: ${e.details}`
          : e.message}`, { cause: err })
      }
      bar?.stop()
      const report: FileReport = {
        file,
        read: records.length,
        salvaged: intact ? 0 : records.length,
        sent: records.length,
        accepted: reply.accepted,
        duplicates: reply.duplicates,
        rejected: reply.rejected,
        errors: reply.errors,
        status: reply.status,
        message: reply.message
      }
      reports.push(report)
      out.write(formatReport(report) + '\n')
      for (const e of report.errors.slice(0, 10)) out.write(`  record ${e.index}: ${e.message}\n`)
      if (report.errors.length > 10) out.write(`  … ${report.rejected - 10} more rejected\n`)
    }
  } finally {
    bar?.stop()
    client.close()
  }
  return reports
}

export interface ExportOptions {
  url: string
  /** The Authorization header (admin Basic credentials or an admin JWT); else Basic user/password when given. */
  authorization?: string
  user?: string
  password?: string
  timeoutMs?: number
  out?: NodeJS.WritableStream
}

export interface ExportStatus {
  job_id: string
  state: string
  result?: { path: string, count: number, bytes: number, duration_ms: number }
  failed_reason?: string
}

/** Queues an export (POST /users/export) and polls until it completed or failed. */
export async function exportUsers (opts: ExportOptions): Promise<ExportStatus> {
  const out = opts.out ?? process.stdout
  const basic = opts.user !== undefined
    ? `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`
    : undefined
  const authorization = opts.authorization ?? basic
  const headers: Record<string, string> = authorization ? { authorization } : {}
  const base = opts.url.replace(/\/+$/, '')
  const started = await fetch(`${base}/users/export`, { method: 'POST', headers, signal: AbortSignal.timeout(10_000) })
  if (started.status !== 202) throw new Error(`POST /users/export: ${started.status} ${await started.text()}`)
  const { job_id: id } = await started.json() as { job_id: string }
  out.write(`export job ${id} queued\n`)
  const until = Date.now() + (opts.timeoutMs ?? 300_000)
  while (Date.now() < until) {
    const res = await fetch(`${base}/users/export/${encodeURIComponent(id)}`, { headers, signal: AbortSignal.timeout(10_000) })
    if (res.status !== 200) throw new Error(`GET /users/export/${id}: ${res.status} ${await res.text()}`)
    const s = await res.json() as ExportStatus
    if (s.state === 'completed') {
      out.write(`exported ${s.result?.count} users (${s.result?.bytes} bytes) to ${s.result?.path}\n`)
      return s
    }
    if (s.state === 'failed') throw new Error(`export job ${id} failed: ${s.failed_reason}`)
    await sleep(200)
  }
  throw new Error(`export job ${id} did not finish in time (are workers running?)`)
}

type ImportFlags = ClientOptions & {
  unary?: boolean, compat?: boolean, batchSize: string, progressEvery: string, timeout: string
}

// What GET /admin/dead-letters lists: the jobs module's type, without the payload size the table doesn't show.
type DeadLetterRow = Omit<DeadLetter, 'data_bytes'>

const positiveInt = (flag: string, v: string, max: number) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be an integer from 1 to ${max}`)
  return n
}

export function registerUsersCommands (program: Command): Command {
  const users = program.command('users').description('user ingest: import JSON files over gRPC, export all users')
  // Address, token, TLS files and admin credentials: flags or PLAYFIELD_* (src/cli/options.ts).
  addClientOptions(users.command('import'))
    .description('stream users from JSON files (or folders of them) to the Users gRPC service')
    .argument('<paths...>', 'JSON files or folders')
    .option('--batch-size <n>', 'users per SendUserBatchStream message', String(DEFAULT_BATCH_SIZE))
    .option('--compat', 'the original SendUserInfoClientStream (one user per message) instead of SendUserBatchStream')
    .option('--unary', 'one SendUserInfo call per user instead of one client stream per file')
    .option('--progress-every <n>', 'without a TTY: a progress line every n records (and at least every second)', '10000')
    .option('--timeout <ms>', 'deadline per file stream or unary call', '300000')
    .action(async (paths: string[], o: ImportFlags) => {
      const batchSize = positiveInt('--batch-size', o.batchSize, 10_000)
      const progressEvery = positiveInt('--progress-every', o.progressEvery, 1e9)
      const timeoutMs = positiveInt('--timeout', o.timeout, 86_400_000)
      // --token as it is, else a token issued for --user/--password; neither: the server decides (USERS_REQUIRE_AUTH).
      const token = await grpcToken(o)
      const reports = await importUsers({ ...o, token, paths, batchSize, progressEvery, timeoutMs })
      const sum = (k: keyof FileReport) => reports.reduce((n, r) => n + (r[k] as number), 0)
      process.stdout.write(`total: ${reports.length} files, read ${sum('read')}, sent ${sum('sent')}, ` +
        `accepted ${sum('accepted')}, duplicates ${sum('duplicates')}, rejected ${sum('rejected')}\n`)
      const failed = reports.filter(r => !r.status)
      if (failed.length > 0) {
        const first = failed[0]!
        const why = first.errors[0]
          ? ` (record ${first.errors[0].index}: ${first.errors[0].message})`
          : first.message ? ` (${first.message})` : ''
        throw new Error(`import failed: ${failed.length} of ${reports.length} files had no record accepted, ` +
          `first ${first.file}${why}`)
      }
    })
  addClientOptions(users.command('export'))
    .description('write all stored users to the server\'s USERS_EXPORT_PATH and wait for it')
    .option('--timeout <ms>', 'how long to wait for the export', '300000')
    .action(async (o: ClientOptions & { timeout: string }) => {
      const timeoutMs = positiveInt('--timeout', o.timeout, 86_400_000)
      await exportUsers({ url: o.url, authorization: adminAuth(o), timeoutMs })
    })

  // Dead letters of every queue of the app, through the admin REST endpoints (admin Basic credentials).
  const deadLetters = users.command('dead-letters').description('jobs that failed for good: list and replay (admin)')
  addClientOptions(deadLetters.command('list'))
    .description('list dead letters, newest first (GET /admin/dead-letters)')
    .option('--queue <name>', 'only this queue, e.g. users:q:ingest')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: ClientOptions & { queue?: string, limit: string }) => {
      const q = new URLSearchParams({ limit: String(positiveInt('--limit', o.limit, 1000)) })
      if (o.queue) q.set('queue', o.queue)
      const res = await rest<{ dead_letters: DeadLetterRow[], total: number }>(o, 'GET', `/admin/dead-letters?${q}`,
        { auth: adminAuth(o) })
      const rows = res.dead_letters.map(d => [d.queue, d.id, d.name, d.attempts_made,
        d.failed_at === null ? '' : new Date(d.failed_at).toISOString(), d.failed_reason.split('\n')[0]!.slice(0, 120)])
      if (rows.length > 0) process.stdout.write(table(['queue', 'id', 'name', 'attempts', 'failed at', 'reason'], rows))
      process.stdout.write(`${res.total} dead letter${res.total === 1 ? '' : 's'}` +
        `${res.total > rows.length ? ` (${rows.length} shown)` : ''}\n`)
    })
  addClientOptions(deadLetters.command('replay'))
    .description('move dead letters back to their queue with fresh attempts (POST /admin/dead-letters/replay)')
    .argument('[ids...]', 'job ids to replay (looked up in every queue, or only in --queue)')
    .option('--all', 'replay every dead letter (of --queue, or of every queue)')
    .option('--queue <name>', 'only this queue, e.g. users:q:ingest')
    .action(async (ids: string[], o: ClientOptions & { all?: boolean, queue?: string }) => {
      if (o.all && ids.length > 0) throw new Error('give job ids or --all, not both')
      if (!o.all && ids.length === 0) throw new Error('give job ids to replay, or --all')
      const body = { ...(o.queue ? { queue: o.queue } : {}), ...(o.all ? {} : { ids }) }
      const res = await rest<{ replayed: number }>(o, 'POST', '/admin/dead-letters/replay', { auth: adminAuth(o), body })
      process.stdout.write(`replayed ${res.replayed}\n`)
      if (!o.all && res.replayed < ids.length) {
        throw new Error(`${ids.length - res.replayed} of ${ids.length} ids were not dead letters`)
      }
    })
  return users
}
