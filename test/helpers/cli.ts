import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// The playfield command as its own process (from source, through tsx), with only PATH and `env` in its environment.

const root = fileURLToPath(new URL('../..', import.meta.url))

export type Run = { code: number, stdout: string, stderr: string }

export function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import=tsx', 'src/cli/index.ts', ...args], {
      cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }))
  })
}
