import cliProgress from 'cli-progress'

/** A progress bar on a TTY; plain "label: n/total" lines at every 10% otherwise (logs, CI). */
export function progress (out: NodeJS.WritableStream & { isTTY?: boolean }, total: number, label: string) {
  if (out.isTTY) {
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: out as NodeJS.WriteStream },
      cliProgress.Presets.shades_classic)
    bar.start(total, 0)
    return { increment: (n = 1) => bar.increment(n), stop: () => bar.stop() }
  }
  let done = 0
  let nextMark = 0.1
  return {
    increment (n = 1) {
      done += n
      if (total > 0 && done / total >= nextMark) {
        out.write(`${label}: ${done}/${total}\n`)
        while (done / total >= nextMark) nextMark += 0.1
      }
    },
    stop () {}
  }
}
