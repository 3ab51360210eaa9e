import { execFile, spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// docs/adding-a-domain.md, followed literally: in a copy of the repository's tracked files, every step of the page is
// applied as written, in order, and its commands run; they must all succeed, and each test command's tap summary
// must be what the page says. A change of the code base that the page does not follow fails here, not in the hands
// of the next newcomer. The page's conventions (its intro explains them to readers):
//
//   ```ts file=<path>          (any language) a new file with exactly this content; it must not exist yet
//   ```diff file=<path>        an edit: one hunk of ' ' context, '-' removed and '+' added lines; the context and
//                              removed lines must be in the file, contiguous and exactly once
//   ```sh …                    commands, run line by line in the copy's root (also the "sh skip: …" blocks, which
//                              docs/examples.test.ts skips: they need the files of the walkthrough). A line ending
//                              in `# expect { total: N, pass: N }` must exit 0 with exactly that tap summary; any
//                              other line that prints a tap summary must show no fail.
//   any other block            an illustration: not applied
//
// The copy gets node_modules as a symlink to this checkout's, used read-only: nothing here installs anything (npx
// is told never to). The commands run with a minimal environment (no Redis address, no PLAYFIELD_TEST_REDIS): every
// test file starts its own redis-server, as the page says. So this file is not in the Redis Cluster pass
// (scripts/test.sh, CLUSTER_FILES), like docs/examples.test.ts, and passes the same with PLAYFIELD_TEST_REDIS set.

const root = fileURLToPath(new URL('../..', import.meta.url))
const DOC = 'docs/adding-a-domain.md'

// One type-check, one lint and four test files on a loaded 2-core machine: about a minute, bounded well above it.
const TOTAL_BUDGET_MS = 270_000
const COMMAND_TIMEOUT_MS = 150_000
t.setTimeout(TOTAL_BUDGET_MS + 30_000)

export type Step =
  | { kind: 'file', line: number, path: string, content: string }
  | { kind: 'diff', line: number, path: string, hunk: string }
  | { kind: 'sh', line: number, commands: Array<{ command: string, expect?: string }> }

/** A command line's expected tap summary: `… # expect { total: 2, pass: 2 }`. */
const EXPECT = /\s*#\s*expect\s+(\{[^}]*\})\s*$/

/** The steps of a walkthrough page, in order. */
export function walkthroughSteps (text: string): Step[] {
  const steps: Step[] = []
  const fence = /^(```+)[ \t]*([^\n]*)\n([\s\S]*?)^\1[ \t]*$/gm
  for (const m of text.matchAll(fence)) {
    const info = m[2]!.trim()
    const lang = info.split(/\s+/)[0] ?? ''
    const line = text.slice(0, m.index).split('\n').length
    const file = /(?:^|\s)file=(\S+)/.exec(info)?.[1]
    const code = m[3]!
    if (['sh', 'bash', 'shell'].includes(lang)) {
      const commands = code.split('\n').map(l => l.trim()).filter(l => l !== '' && !l.startsWith('#')).map(l => {
        const expect = EXPECT.exec(l)?.[1]
        return expect === undefined ? { command: l } : { command: l, expect }
      })
      steps.push({ kind: 'sh', line, commands })
    } else if (file !== undefined) {
      steps.push(lang === 'diff' ? { kind: 'diff', line, path: file, hunk: code } : { kind: 'file', line, path: file, content: code })
    }
  }
  return steps
}

/** `content` with one diff hunk applied; throws when its context and removed lines are not there exactly once. */
export function applyHunk (content: string, hunk: string): string {
  const before: string[] = []
  const after: string[] = []
  for (const l of hunk.replace(/\n$/, '').split('\n')) {
    const mark = l[0] ?? ' '
    const rest = l.slice(1)
    if (mark === ' ') { before.push(rest); after.push(rest) } else if (mark === '-') before.push(rest)
    else if (mark === '+') after.push(rest)
    else throw new Error(`not a diff line (starts with neither ' ', '-' nor '+'): ${l}`)
  }
  if (before.length === 0) throw new Error('a hunk needs context or removed lines to say where it goes')
  const lines = content.split('\n')
  const at: number[] = []
  for (let i = 0; i + before.length <= lines.length; i++) {
    if (before.every((b, j) => lines[i + j] === b)) at.push(i)
  }
  if (at.length !== 1) {
    throw new Error(`the hunk's context and removed lines are in the file ${at.length} times, not once:\n${before.join('\n')}`)
  }
  lines.splice(at[0]!, before.length, ...after)
  return lines.join('\n')
}

/** The last tap summary in a test's output, e.g. `{ total: 2, pass: 2 }`. */
export function tapSummary (out: string): string | undefined {
  return [...out.matchAll(/^# (\{ total: \d+[^}\n]*\})$/gm)].at(-1)?.[1]
}

interface Run { code: number | null, signal: string | null, out: string, err: string, ms: number }

/** One command line, in its own process group, killed with the whole group when it runs past `timeoutMs`. */
function run (command: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const started = Date.now()
  return new Promise((resolve) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', command],
      { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err = (err + c.toString()).slice(-20_000) })
    const timer = setTimeout(() => {
      err += `\n[killed after ${timeoutMs} ms]`
      try { process.kill(-child.pid!, 'SIGKILL') } catch {}
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, out, err, ms: Date.now() - started })
    })
  })
}

const git = (args: string[]) => new Promise<string>((resolve, reject) =>
  execFile('git', ['-C', root, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 30_000 },
    (err, out) => err ? reject(err) : resolve(out)))

t.test('the convention: file blocks are new files, diff blocks are edits, sh lines run with their expected summary', async (t) => {
  const text = ['```ts file=src/a.ts', 'export const a = 1', '```', '```diff file=src/b.ts', ' x', '+y', '```',
    '```ts', 'illustration()', '```', '```sh skip: run by the walkthrough test only', 'npm run typecheck',
    '# a comment', 'node t.ts   # expect { total: 2, pass: 2 }', '```', ''].join('\n')
  t.same(walkthroughSteps(text), [
    { kind: 'file', line: 1, path: 'src/a.ts', content: 'export const a = 1\n' },
    { kind: 'diff', line: 4, path: 'src/b.ts', hunk: ' x\n+y\n' },
    { kind: 'sh', line: 11, commands: [{ command: 'npm run typecheck' }, { command: 'node t.ts   # expect { total: 2, pass: 2 }', expect: '{ total: 2, pass: 2 }' }] }
  ])
  t.equal(applyHunk('a\nb\nc\n', ' a\n-b\n+B\n+B2\n c\n'), 'a\nB\nB2\nc\n')
  t.equal(applyHunk('list(a,\n  b)\n', ' list(a,\n-  b)\n+  b, c)\n'), 'list(a,\n  b, c)\n')
  t.throws(() => applyHunk('a\nb\n', ' x\n+y\n'), /0 times/, 'context that is not in the file')
  t.throws(() => applyHunk('a\na\n', ' a\n+y\n'), /2 times/, 'context that is in the file twice')
  t.throws(() => applyHunk('a\n', '+y\n'), /needs context/, 'a hunk that does not say where')
  t.equal(tapSummary('# { total: 1, pass: 1 }\nok\n# { total: 31, pass: 30, fail: 1 }\n# time=1ms\n'), '{ total: 31, pass: 30, fail: 1 }')
})

// The tracked files are what a newcomer starts from (a clone); without git there is nothing to copy.
const tracked = await git(['ls-files', '-z']).then(
  (out) => ({ files: out.split('\0').filter(Boolean) }),
  (err: Error) => ({ skip: `not a git checkout, so there are no tracked files to copy: ${err.message.split('\n')[0]}` }))

const walkthrough = `${DOC}, followed literally in a copy of the repository, adds a domain whose tests pass`
t.test(walkthrough, 'skip' in tracked ? { skip: tracked.skip } : {}, async (t) => {
  const deadline = Date.now() + TOTAL_BUDGET_MS
  const steps = walkthroughSteps(await readFile(join(root, DOC), 'utf8'))
  const count = (kind: Step['kind']) => steps.filter(s => s.kind === kind).length
  // The page is the motd walkthrough: if its markers went missing, this test would check nothing.
  t.ok(count('file') >= 12, `${count('file')} new files`)
  t.ok(count('diff') >= 10, `${count('diff')} edits`)
  const commands = steps.flatMap(s => s.kind === 'sh' ? s.commands : [])
  t.ok(commands.some(c => /\btypecheck\b|\btsc\b/.test(c.command)), 'a type-check among the commands')
  t.ok(commands.filter(c => c.expect !== undefined).length >= 2, 'expected summaries for the new test files')

  const files = 'files' in tracked ? tracked.files : []
  const dir = await mkdtemp(join(tmpdir(), 'playfield-walkthrough-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const repo = join(dir, 'repo')
  const started = Date.now()
  for (const file of files) {
    const from = join(root, file)
    if (!(await stat(from).catch(() => undefined))?.isFile()) continue // deleted, or a submodule
    await mkdir(dirname(join(repo, file)), { recursive: true })
    await copyFile(from, join(repo, file))
  }
  await symlink(await realpath(join(root, 'node_modules')), join(repo, 'node_modules'))
  t.comment(`copied ${files.length} tracked files in ${Date.now() - started} ms`)

  const home = join(dir, 'home')
  await mkdir(home)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: tmpdir(),
    LANG: process.env.LANG ?? 'C.UTF-8',
    // npx runs only what node_modules has: never a download or an install.
    npm_config_yes: 'false',
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    // A test file run on its own (`node --import=tsx …`) stops after 30 s by default: too short on a busy machine.
    TAP_TIMEOUT: '120'
  }

  for (const step of steps) {
    const where = `${DOC}:${step.line}`
    if (step.kind === 'file') {
      const path = join(repo, step.path)
      t.notOk(await stat(path).catch(() => undefined), `${where}: ${step.path} is new`)
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, step.content)
    } else if (step.kind === 'diff') {
      const path = join(repo, step.path)
      try {
        await writeFile(path, applyHunk(await readFile(path, 'utf8'), step.hunk))
      } catch (err) {
        t.fail(`${where}: the edit of ${step.path} applies`, { problem: (err as Error).message })
        return
      }
    } else {
      for (const { command, expect } of step.commands) {
        const left = deadline - Date.now()
        if (left <= 0) {
          t.fail(`${where}: no time left for \`${command}\``)
          return
        }
        const res = await run(command, repo, env, Math.min(COMMAND_TIMEOUT_MS, left))
        const shown = `${where}: ${command.replace(EXPECT, '')}`
        t.comment(`${shown}: ${res.ms} ms`)
        const output = { stdout: res.out.slice(-6000), stderr: res.err.slice(-6000) }
        if (!t.equal(res.code, 0, `${shown} exits 0`, output)) return
        const summary = tapSummary(res.out)
        if (expect !== undefined) t.equal(summary, expect, `${shown} ends with the summary ${expect}`)
        else if (summary !== undefined) t.notMatch(summary, /fail: [1-9]/, `${shown} has no failures`)
      }
    }
  }
})
