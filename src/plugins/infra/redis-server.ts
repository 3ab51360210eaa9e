import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { constants } from 'node:fs'
import { access, mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { isAbsolute, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { lockDataDir, type DataDirLock } from './data-lock.js'

// Starts a private redis-server child: the embedded default of the app, and the per-file server of the tests.
//
// The child runs under a tiny sh watchdog whose stdin is a pipe from this process. If this process dies for any
// reason (even SIGKILL), the pipe closes, `read` returns and the watchdog stops redis-server: no orphan is left.
// The watchdog exits when redis-server does (however it ended), so the app sees the exit and can restart it.
// The watchdog runs in its own session (detached) so a Ctrl-C in the terminal reaches only the app, which then
// stops Redis last, after everything that uses it.
const execFileAsync = promisify(execFile)
const WATCHDOG = `
"$0" "$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null' TERM INT HUP
exec 3<&0
( read _ignored <&3; kill -TERM $child 2>/dev/null ) &
reader=$!
while kill -0 $child 2>/dev/null; do wait $child; done
kill $reader 2>/dev/null
`

export interface RedisServerOptions {
  bin?: string
  dir: string
  /** 0 or absent: a free loopback port is chosen. */
  port?: number
  /** AOF with appendfsync everysec (durable default); false for throwaway test servers. */
  aof?: boolean
  startTimeoutMs?: number
  /** More redis-server arguments (a Redis Cluster node: `--cluster-enabled yes …`). */
  extraArgs?: string[]
  /** Also needs port + 10000 free (the cluster bus port of a cluster node). */
  busPort?: boolean
  /**
   * Hold an exclusive lock on `dir` while the server runs (data-lock.ts): a second process asking for the same
   * directory is refused. The app's embedded server and the commands that open its data directory use it.
   */
  lock?: boolean
  /**
   * requirepass for the server. It goes into a 0600 config file in `dir` (never on the command line, where `ps`
   * would show it) and into `url`.
   */
  password?: string
  /** Restart the server (same port, directory and password) whenever it exits without stop() being called. */
  supervise?: boolean
  /** Told about unexpected exits and restarts of a supervised server (for the log). */
  onEvent?: (event: 'exited' | 'restarted' | 'restart-failed', detail: { code?: number | null, signal?: string | null, err?: Error }) => void
}

export interface RedisServerHandle {
  readonly host: string
  readonly port: number
  readonly url: string
  readonly pid: number | undefined
  readonly dir: string
  /** Stops the server cleanly (AOF flushed) and waits for it to exit. */
  stop (): Promise<void>
  /** Starts it again on the same port and directory (tests use this to simulate an outage). */
  restart (): Promise<void>
}

export class RedisServerMissingError extends Error {
  constructor (bin: string) {
    super(`redis-server not found (looked for "${bin}" on PATH). Install it (Debian/Ubuntu: apt-get install redis-server; ` +
      'macOS: brew install redis) or set REDIS_URL to an existing Redis.')
    this.name = 'RedisServerMissingError'
  }
}

/** Finds an executable the way a shell would (its own PATH lookup); undefined when it is not on PATH. */
export async function findExecutable (bin: string): Promise<string | undefined> {
  if (bin.includes('/') || isAbsolute(bin)) {
    return await access(bin, constants.X_OK).then(() => bin, () => undefined)
  }
  const found = await execFileAsync('sh', ['-c', 'command -v "$0"', bin]).then(r => r.stdout.trim(), () => '')
  return found === '' ? undefined : found
}

/** A free loopback port; with `busPort`, one whose port + 10000 is free too (and below 55536). */
export async function freePort (busPort = false): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await listenOnce(0)
    if (!busPort) return port
    if (port + 10000 <= 65535 && await listenOnce(port + 10000).then(() => true, () => false)) return port
    if (attempt > 50) throw new Error('no free port with a free cluster bus port (port + 10000)')
  }
}

async function listenOnce (port: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => { typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')) })
    })
  })
}

function serverArgs (port: number, dir: string, aof: boolean, extra: string[]): string[] {
  // A config file (the password) must be the first argument.
  const file = extra[0]?.endsWith('.conf') ? [extra[0]] : []
  if (file.length > 0) extra = extra.slice(1)
  const args = [...file, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', '', '--daemonize', 'no',
    '--protected-mode', 'yes', '--save', '']
  if (aof) args.push('--appendonly', 'yes', '--appendfsync', 'everysec')
  else args.push('--appendonly', 'no')
  return [...args, ...extra]
}

async function launch (bin: string, port: number, dir: string, aof: boolean, timeoutMs: number, extra: string[]):
Promise<ChildProcess> {
  const child = spawn('sh', ['-c', WATCHDOG, bin, ...serverArgs(port, dir, aof, extra)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true
  })
  // The handles must not keep the event loop alive by themselves; the app decides when to exit.
  child.unref()
  let output = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not become ready within ${timeoutMs} ms:\n${output}`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000)
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        child.stdout?.removeListener('data', onData)
        child.stdout?.resume()
        child.stderr?.resume()
        child.removeListener('exit', onExit)
        resolve(child)
      }
    }
    const onExit = (code: number | null) => {
      fail(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`))
    }
    function fail (err: Error) {
      clearTimeout(timer)
      child.removeListener('exit', onExit)
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL') } catch {}
      reject(err)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', onExit)
    child.on('error', (err) => fail(err))
  })
}

async function stopChild (child: ChildProcess, timeoutMs = 10000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  // Closing the pipe is the normal stop: the watchdog sends SIGTERM, redis flushes the AOF and exits.
  child.stdin?.end()
  const timer = setTimeout(() => { try { if (child.pid) process.kill(-child.pid, 'SIGKILL') } catch {} }, timeoutMs)
  await exited
  clearTimeout(timer)
}

export async function startRedisServer (opts: RedisServerOptions): Promise<RedisServerHandle> {
  const bin = await findExecutable(opts.bin ?? 'redis-server')
  if (!bin) throw new RedisServerMissingError(opts.bin ?? 'redis-server')
  const dir = resolve(opts.dir)
  const aof = opts.aof ?? true
  const timeoutMs = opts.startTimeoutMs ?? 10000
  const extra = [...(opts.extraArgs ?? [])]
  await mkdir(dir, { recursive: true })
  const lock: DataDirLock | undefined = opts.lock ? lockDataDir(dir) : undefined
  if (opts.password !== undefined) {
    // The config file comes first on the command line; the other arguments add to it.
    const file = join(dir, 'playfield-auth.conf')
    await rm(file, { force: true })
    await writeFile(file, `requirepass ${opts.password}\n`, { mode: 0o600 })
    extra.unshift(file)
  }

  let port = opts.port ?? 0
  let child: ChildProcess | undefined
  for (let attempt = 0; !child; attempt++) {
    const chosen = port === 0 ? await freePort(opts.busPort) : port
    try {
      child = await launch(bin, chosen, dir, aof, timeoutMs, extra)
      port = chosen
    } catch (err) {
      // Another process may grab a free port between our probe and redis' bind: try another one.
      const retryable = opts.port ? false : /Address already in use/.test((err as Error).message)
      if (!retryable || attempt >= 4) {
        lock?.release()
        throw err
      }
    }
  }

  let current: ChildProcess = child
  let stopping = false
  const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : ''

  // Supervision: an exit we did not ask for (a crash, the OOM killer, a stray kill) starts the server again on the
  // same port and directory (AOF: the data comes back); clients reconnect by themselves meanwhile.
  const watch = (c: ChildProcess) => {
    if (!opts.supervise) return
    c.once('exit', (code, signal) => {
      if (stopping || c !== current) return
      opts.onEvent?.('exited', { code, signal })
      relaunch(c).catch(() => {})
    })
  }
  const relaunch = async (dead: ChildProcess) => {
    for (let attempt = 0; ; attempt++) {
      if (stopping || current !== dead) return
      await new Promise(resolve => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5000)).unref())
      if (stopping) return
      try {
        const fresh = await launch(bin, port, dir, aof, timeoutMs, extra)
        // stop() was called while it started: it is not wanted any more.
        if (stopping) return await stopChild(fresh)
        current = fresh
        watch(current)
        opts.onEvent?.('restarted', {})
      } catch (err) {
        opts.onEvent?.('restart-failed', { err: err as Error })
      }
    }
  }
  watch(current)

  return {
    host: '127.0.0.1',
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    get pid () { return current.pid },
    dir,
    async stop () {
      stopping = true
      await stopChild(current)
      lock?.release()
    },
    async restart () {
      stopping = true
      await stopChild(current)
      current = await launch(bin, port, dir, aof, timeoutMs, extra)
      stopping = false
      watch(current)
    }
  }
}
