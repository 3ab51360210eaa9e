import { InvalidArgumentError, type Command } from 'commander'

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
    .option('--token <token>', 'bearer token instead of --user/--password: a REST JWT (POST /auth) for REST commands, ' +
      'a gRPC token (POST /tokens) for gRPC commands (env PLAYFIELD_TOKEN)', env.PLAYFIELD_TOKEN)
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

/** The REST Authorization header: --token as it is, else a JWT for --user/--password (POST /auth). */
export async function login (o: ClientOptions): Promise<string> {
  if (o.token) return `Bearer ${o.token}`
  const { jwt } = await rest<{ jwt: string }>(o, 'POST', '/auth', { auth: basicHeader(o) })
  return `Bearer ${jwt}`
}

/** The admin Authorization header: --token (an admin JWT) as it is, else Basic --user/--password. */
export function adminAuth (o: ClientOptions): string {
  return o.token ? `Bearer ${o.token}` : basicHeader(o)
}

/** A gRPC token: --token as it is, else one issued for --user/--password (POST /tokens); none without either. */
export async function grpcToken (o: ClientOptions): Promise<string | undefined> {
  if (o.token) return o.token
  if (!o.user && !o.password) return undefined
  return (await rest<{ token: string }>(o, 'POST', '/tokens', { auth: basicHeader(o) })).token
}

/** A commander argument parser for an integer in [min, max], with a one-line message naming the rule. */
export function intIn (min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`)
    }
    return n
  }
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
