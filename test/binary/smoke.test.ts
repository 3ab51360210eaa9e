import { spawn, execFile } from 'node:child_process'
import { access, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { credentials } from '@grpc/grpc-js'
import { tempDir } from '../helpers/app.js'
import { Health as HealthClient } from '../../src/grpc/contract.js'
import { freePort } from '../../src/plugins/infra/redis-server.js'

// Smoke test of the single executable (npm run build:binary; CI builds it before the tests): copied alone into an
// empty directory, it starts on the embedded default, both health endpoints answer, and SIGTERM stops it cleanly
// with its redis-server child.

const BINARY = fileURLToPath(new URL('../../build/playfield', import.meta.url))
const missing = await access(BINARY).then(() => false, () => true)
if (missing) t.comment(`!!!!! SKIPPING BINARY SMOKE TEST: ${BINARY} not built (npm run build:binary; CI builds it) !!!!!`)

function alive (pid: number) {
  try { process.kill(pid, 0); return true } catch { return false }
}

t.test('the single executable serves both doors on the embedded default and stops cleanly', { skip: missing ? 'binary not built' : false }, async (t) => {
  const dir = await tempDir(t, 'playfield-binary-')
  const bin = join(dir, 'playfield')
  await copyFile(BINARY, bin)
  type Ran = { code: number, out: string, err: string }
  const run = (args: string[], env: Record<string, string> = {}) => new Promise<Ran>(
    (resolve) => execFile(bin, args, { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err })))
  // Every subcommand is in the bundle (a missing lazy import would only show when that command runs).
  for (const args of [['serve'], ['worker'], ['accounts', 'add'], ['tokens', 'create'], ['tokens', 'revoke'], ['scores', 'submit'],
    ['leaderboard', 'show'], ['users', 'import'], ['users', 'export'], ['sessions', 'simulate'], ['ads', 'simulate'], ['shapes'],
    ['admin', 'reset-password'], ['migrate-keys']]) {
    const help = await run([...args, '--help'])
    t.equal(help.code, 0, `${args.join(' ')} --help`)
    t.match(help.out, new RegExp(`Usage: playfield ${args.join(' ')}`))
    t.notMatch(help.err, /ExperimentalWarning|Single executable/, `${args.join(' ')}: no Node SEA warning`)
  }

  const httpPort = await freePort()
  const grpcPort = await freePort()
  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HTTP_PORT: String(httpPort), GRPC_PORT: String(grpcPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  const exited = new Promise<number | null>(resolve => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  let ready = false
  for (let i = 0; i < 300 && !ready; i++) {
    ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).then(r => r.ok, () => false)
    if (!ready) await sleep(100)
  }
  t.ok(ready, `GET /health/ready is 200 ${stderr}`)
  t.notMatch(stderr, /ExperimentalWarning|Single executable/, 'the server starts without Node\'s SEA warning')
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/health/live`)).status, 200)
  const client = new HealthClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure()) as any
  const status = await new Promise<string>((resolve, reject) => client.check({ service: '' }, { deadline: new Date(Date.now() + 5000) },
    (err: Error | null, res: { status: string }) => err ? reject(err) : resolve(res.status)))
  client.close()
  t.equal(status, 'SERVING', 'grpc.health.v1 Check("") is SERVING')
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/docs/json`)).status, 200, 'OpenAPI document from the binary')
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/`)).status, 200, 'live page from the binary')

  // Client subcommands from the same binary against it: REST (ads), and a failure with its one-line reason.
  const url = `http://127.0.0.1:${httpPort}`
  const ads = await run(['ads', 'simulate', '--users', 'Jack', '--sdk', '1.0', '--requests', '20', '--fill', '1'],
    { PLAYFIELD_URL: url })
  t.equal(ads.code, 0, ads.err)
  t.match(ads.out, /Jack/)
  const refused = await run(['leaderboard', 'show'], { PLAYFIELD_URL: url, PLAYFIELD_USER: 'nobody', PLAYFIELD_PASSWORD: 'wrong-password' })
  t.not(refused.code, 0, 'a refused command exits non-zero')
  t.match(refused.err, /^playfield: .+\n$/, 'with one line saying why')

  const redisPid = await new Promise<number>((resolve) => execFile('pgrep', ['-f', `redis-server.*--dir ${dir}`], (_e, out) =>
    resolve(Number(out.trim().split('\n').pop()))))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exit code 0 after SIGTERM')
  await sleep(200)
  t.ok(redisPid > 0 && !alive(redisPid), 'its redis-server child is gone')
})
