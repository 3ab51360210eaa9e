import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'

// An exclusive lock on a data directory (the embedded redis-server's AOF): two processes writing one AOF corrupt
// it, so a second playfield pointed at the same directory refuses to start and names the process that holds it.
//
// The lock is a file created with O_EXCL holding "<pid> <start time>". A lock whose process is gone is stale and
// taken over; the start time (Linux /proc) tells a live process that merely reuses a dead holder's pid (a container
// restarted on the same volume) from the holder itself. Released on close and, as a last resort, on process exit.

export const LOCK_FILE = 'playfield.lock'

export class DataDirLockedError extends Error {
  constructor (readonly dir: string, readonly pid: number) {
    super(`data directory ${dir} is in use by process ${pid} (lock file ${join(dir, LOCK_FILE)}): stop that process ` +
      'first, or point this one at another directory (REDIS_DATA_DIR) or at your own Redis (REDIS_URL)')
    this.name = 'DataDirLockedError'
  }
}

export interface DataDirLock {
  readonly path: string
  /** Removes the lock file if it is still ours; safe to call twice. */
  release (): void
}

/** The kernel's start time of a process (clock ticks since boot), or undefined where /proc does not say. */
function startTime (pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 22; counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function holderAlive (pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists, it just is not ours to signal.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = startTime(pid)
  return start === undefined || now === undefined || now === start
}

function readLock (path: string): { text: string, pid: number, start?: string } | undefined {
  try {
    const text = readFileSync(path, 'utf8')
    const [pid, start] = text.trim().split(/\s+/)
    return { text, pid: Number(pid), start: start || undefined }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Takes the lock of `dir` (which must exist), or throws DataDirLockedError naming the live holder. */
export function lockDataDir (dir: string): DataDirLock {
  const abs = resolve(dir)
  const path = join(abs, LOCK_FILE)
  const mine = `${process.pid} ${startTime(process.pid) ?? ''}\n`
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644)
      try { writeSync(fd, mine) } finally { closeSync(fd) }
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err
    }
    const held = readLock(path)
    if (!held) continue // released meanwhile
    if (Number.isInteger(held.pid) && held.pid > 0 && holderAlive(held.pid, held.start)) {
      throw new DataDirLockedError(abs, held.pid)
    }
    // Stale (its process is gone, or the file is unreadable garbage): remove it unless it changed meanwhile.
    if (readLock(path)?.text === held.text) {
      try { unlinkSync(path) } catch {}
    }
  }

  let released = false
  const release = () => {
    if (released) return
    released = true
    process.removeListener('exit', release)
    if (readLock(path)?.text === mine) {
      try { unlinkSync(path) } catch {}
    }
  }
  // A process that exits without closing (an uncaught error) still leaves no lock behind; only SIGKILL does,
  // and that one is stale for the next start.
  process.once('exit', release)
  return { path, release }
}
