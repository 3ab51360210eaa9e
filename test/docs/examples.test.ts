import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build, privateRedis, tempDir } from '../helpers/app.js'

// Every shell example of the README and of docs/ runs here, against a real started server, so an example can never
// rot unnoticed. The convention, for whoever writes docs:
//
//   ```sh                      runs (so do ```bash / ```shell): with bash -euo pipefail, and must exit 0
//   ```sh skip: <reason>       does not run; the reason is required and printed (keep these few)
//   ```text / ```json / …      never runs (synopses with [optional] parts, expected output, file layouts)
//
// Each document gets its own fresh server (its own private Redis) and its blocks run in order, so a later block
// sees what an earlier one created. What a block can count on:
//   - the server at the documented addresses: 127.0.0.1:3000 / localhost:3000 (REST) and 127.0.0.1:50051 /
//     localhost:50051 (gRPC) are rewritten to the test server's ports before running;
//   - $ADMIN_PASSWORD (the admin account is `admin`), and PLAYFIELD_URL / PLAYFIELD_GRPC_ADDRESS / REDIS_URL
//     pointing at that server and its Redis, so `playfield …` lines need no address flags;
//   - `playfield` on PATH (this checkout's command), curl (called with --fail-with-body: a 4xx/5xx fails the
//     block), jq, and the current directory: a fresh one per document with src/, proto/ and docs/ linked in (so
//     `grep … src` reads the sources and files an example writes land in the scratch directory). There is no
//     package.json or node_modules there: install, build and test commands belong in skipped blocks.
// Blocks that call grpcurl run where grpcurl is installed and are skipped, loudly, where it is not.

const root = fileURLToPath(new URL('../..', import.meta.url))
const tsx = import.meta.resolve('tsx')

export interface Block { file: string, line: number, lang: string, skip?: string, code: string }

/** The shell blocks of one markdown text. */
export function shellBlocks (file: string, text: string): Block[] {
  const blocks: Block[] = []
  const fence = /^(```+)[ \t]*([^\n]*)\n([\s\S]*?)^\1[ \t]*$/gm
  for (const m of text.matchAll(fence)) {
    const info = m[2]!.trim()
    const lang = info.split(/\s+/)[0] ?? ''
    if (!['sh', 'bash', 'shell'].includes(lang)) continue
    const rest = info.slice(lang.length).trim()
    const skip = /^skip:\s*(.*)$/.exec(rest)
    blocks.push({
      file,
      line: text.slice(0, m.index).split('\n').length,
      lang,
      ...(skip ? { skip: skip[1]!.trim() } : {}),
      code: m[3]!
    })
  }
  return blocks
}

async function markdownFiles (): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'), { recursive: true }))
    .filter(f => f.endsWith('.md')).sort().map(f => join('docs', f))
  return ['README.md', ...docs]
}

/** Rewrites the documented addresses to the test server's. */
function localise (code: string, http: number, grpc: number): string {
  return code
    .replace(/\b(?:127\.0\.0\.1|localhost):3000\b/g, `127.0.0.1:${http}`)
    .replace(/\b(?:127\.0\.0\.1|localhost):50051\b/g, `127.0.0.1:${grpc}`)
}

const which = (bin: string) => new Promise<string | undefined>((resolve) =>
  execFile('sh', ['-c', 'command -v "$0"', bin], (err, out) => resolve(err ? undefined : out.trim())))

/** What a block's current directory shows of the repository. */
const LINKED = ['src', 'proto', 'docs']

const realCurl = await which('curl')
const grpcurl = await which('grpcurl')
if (!grpcurl) t.comment('!!!!! grpcurl is not installed: the doc blocks that call it are skipped !!!!!')

t.test('the convention: sh blocks run, "sh skip: reason" blocks are skipped with their reason, other languages never run',
  async (t) => {
    const text = ['```sh', 'echo a', '```', '```sh skip: needs a GPU', 'echo b', '```', '```text', 'echo c', '```',
      '````bash', '```', 'echo d', '````', ''].join('\n')
    const blocks = shellBlocks('x.md', text)
    t.same(blocks.map(b => [b.line, b.lang, b.skip, b.code]), [
      [1, 'sh', undefined, 'echo a\n'],
      [4, 'sh', 'needs a GPU', 'echo b\n'],
      [10, 'bash', undefined, '```\necho d\n']
    ])
  })

// Every document starts a server and runs its CLI lines as processes: minutes on a loaded 2-core machine.
t.setTimeout(480_000)

const files = await markdownFiles()
t.test('every skipped block says why', async (t) => {
  for (const file of files) {
    for (const b of shellBlocks(file, await readFile(join(root, file), 'utf8'))) {
      if (b.skip !== undefined) t.ok(b.skip.length >= 10, `${file}:${b.line} skip reason: "${b.skip}"`)
    }
  }
})

for (const file of files) {
  const blocks = shellBlocks(file, await readFile(join(root, file), 'utf8'))
  if (blocks.length === 0) continue
  t.test(`the shell examples of ${file} run against a started server`, async (t) => {
    const redis = await privateRedis(t)
    const scratch = await tempDir(t, 'playfield-docs-')
    const exportDir = await tempDir(t, 'playfield-docs-export-')
    const app = await build(t, { config: { REDIS_URL: redis.url, USERS_EXPORT_PATH: join(exportDir, 'all_users.json') } })
    await app.listen({ host: '127.0.0.1', port: 0 })
    const http = (app.server.address() as { port: number }).port
    const grpc = app.grpc.port

    // The scratch directory: the sources linked in read-only style, and a bin/ of its own first on PATH. Never
    // node_modules or package.json: an npm command in a block must find no project to install into here.
    const cwd = join(scratch, 'cwd')
    await mkdir(cwd)
    for (const entry of LINKED) await symlink(join(root, entry), join(cwd, entry))
    const bin = join(scratch, 'bin')
    await mkdir(bin)
    await writeFile(join(bin, 'playfield'),
      `#!/bin/sh\nexec "${process.execPath}" --import=${tsx} "${join(root, 'src/cli/index.ts')}" "$@"\n`)
    await writeFile(join(bin, 'curl'), `#!/bin/sh\nexec "${realCurl}" --fail-with-body "$@"\n`)
    await chmod(join(bin, 'playfield'), 0o755)
    await chmod(join(bin, 'curl'), 0o755)
    const env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: scratch,
      ADMIN_PASSWORD: 'admin-password',
      PLAYFIELD_URL: `http://127.0.0.1:${http}`,
      PLAYFIELD_GRPC_ADDRESS: `127.0.0.1:${grpc}`,
      REDIS_URL: redis.url,
      NODE_ENV: 'test'
    }

    for (const block of blocks) {
      const where = `${relative(root, join(root, block.file))}:${block.line}`
      if (block.skip !== undefined) {
        t.comment(`skipped ${where}: ${block.skip}`)
        continue
      }
      if (/\bgrpcurl\b/.test(block.code) && !grpcurl) {
        t.comment(`!!!!! skipped ${where}: grpcurl is not installed !!!!!`)
        continue
      }
      const code = localise(block.code, http, grpc)
      const run = await new Promise<{ code: number, out: string, err: string }>((resolve) => {
        execFile('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', code], { cwd, env, timeout: 120_000 }, (err, out, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: stderr }))
      })
      t.equal(run.code, 0, `${where} exits 0`, { block: code, stdout: run.out, stderr: run.err })
    }
  })
}
