import type { Command } from 'commander'

// Client-side settings of the playfield command: flags first, then PLAYFIELD_* environment variables.
// (These configure the command as a client; the server's own settings are validated in src/config.ts.)
const env = process.env

export interface ClientOptions {
  url: string
  address: string
  user?: string
  password?: string
  ca?: string
  cert?: string
  key?: string
  token?: string
}

export function addClientOptions (cmd: Command): Command {
  return cmd
    .option('--url <url>', 'REST base URL (env PLAYFIELD_URL)', env.PLAYFIELD_URL ?? 'http://127.0.0.1:3000')
    .option('--address <host:port>', 'gRPC address (env PLAYFIELD_GRPC_ADDRESS)', env.PLAYFIELD_GRPC_ADDRESS ?? '127.0.0.1:50051')
    .option('--user <name>', 'account name (env PLAYFIELD_USER)', env.PLAYFIELD_USER)
    .option('--password <password>', 'account password (env PLAYFIELD_PASSWORD)', env.PLAYFIELD_PASSWORD)
    .option('--token <token>', 'gRPC token (env PLAYFIELD_TOKEN)', env.PLAYFIELD_TOKEN)
    .option('--ca <file>', 'CA certificate for gRPC TLS (env PLAYFIELD_CA)', env.PLAYFIELD_CA)
    .option('--cert <file>', 'client certificate for mutual TLS (env PLAYFIELD_CERT)', env.PLAYFIELD_CERT)
    .option('--key <file>', 'client key for mutual TLS (env PLAYFIELD_KEY)', env.PLAYFIELD_KEY)
}

export function basicHeader (o: ClientOptions): string {
  if (!o.user || !o.password) throw new Error('credentials needed: --user and --password (or PLAYFIELD_USER / PLAYFIELD_PASSWORD)')
  return 'Basic ' + Buffer.from(`${o.user}:${o.password}`).toString('base64')
}

/** A REST call that turns non-2xx answers into one-line errors. */
export async function rest<T = any> (o: ClientOptions, method: string, path: string,
  init: { body?: unknown, auth?: string } = {}): Promise<T> {
  let res: Response
  try {
    res = await fetch(new URL(path, o.url), {
      method,
      headers: {
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.auth ? { authorization: init.auth } : {})
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(15000)
    })
  } catch (err) {
    throw new Error(`cannot reach ${o.url}: ${(err as Error).cause ? String((err as any).cause.code ?? (err as any).cause.message) : (err as Error).message}`)
  }
  const text = await res.text()
  const body = text ? safeJson(text) : undefined
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${(body as { message?: string })?.message ?? text.slice(0, 200)}`)
  return body as T
}

function safeJson (text: string): unknown {
  try { return JSON.parse(text) } catch { return text }
}

/** A REST JWT for the configured account. */
export async function login (o: ClientOptions): Promise<string> {
  const { jwt } = await rest<{ jwt: string }>(o, 'POST', '/auth', { auth: basicHeader(o) })
  return `Bearer ${jwt}`
}

/** Renders rows as an aligned text table. */
export function table (header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map(r => r.map(String))]
  const widths = header.map((_, i) => Math.max(...cells.map(r => (r[i] ?? '').length)))
  return cells.map((r, n) => {
    const line = r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join('  ')
    return n === 0 ? `${line}\n${widths.map(w => '-'.repeat(w)).join('  ')}` : line
  }).join('\n') + '\n'
}
