// `npm start` runs this first: builds (tsc + the server bundle) only when dist/server.js is missing or older than
// anything it is built from, so a second start runs the built server at once instead of recompiling every time.
import { execFileSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const mtime = (p) => { try { return statSync(p).mtimeMs } catch { return -1 } }

function newest (dir) {
  let max = -1
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    max = Math.max(max, entry.isDirectory() ? newest(p) : mtime(p))
  }
  return max
}

const built = Math.min(mtime(join(root, 'dist', 'server.js')), mtime(join(root, 'dist', 'worker.js')))
const sources = Math.max(newest(join(root, 'src')), ...['package.json', 'package-lock.json', 'tsconfig.json',
  'tsconfig.build.json', 'scripts/bundle-server.mjs'].map(f => mtime(join(root, f))))
if (built < 0 || built < sources) {
  process.stderr.write(built < 0 ? 'playfield: no build yet, building…\n' : 'playfield: sources changed, rebuilding…\n')
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
}
