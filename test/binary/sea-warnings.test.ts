import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The single executable's warning filter (scripts/sea-warnings.cjs, first in the bundle): Node's two SEA warnings
// are dropped, every other warning still printed. Run in a plain node process the way the SEA runs it: the
// warning is already queued when the filter is installed. (test/binary/smoke.test.ts checks the built binary.)

const filter = fileURLToPath(new URL('../../scripts/sea-warnings.cjs', import.meta.url))

t.test('only the two SEA warnings are dropped; other warnings still reach stderr', async (t) => {
  const script = `
    process.emitWarning('Single executable application is an experimental feature and might change at any time',
      'ExperimentalWarning')
    require(${JSON.stringify(filter)}).quietSeaWarning(process)
    process.emitWarning('Currently the require() provided to the main script embedded into single-executable ' +
      'applications only supports loading built-in modules.')
    process.emitWarning('The Foo API is an experimental feature', 'ExperimentalWarning')
    process.emitWarning('bar() is deprecated', 'DeprecationWarning', 'DEP0999')`
  const stderr = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { timeout: 20_000 }, (err, _out, stderr) => err ? reject(err) : resolve(stderr)))
  t.notMatch(stderr, /Single executable application/)
  t.notMatch(stderr, /single-executable applications/)
  t.match(stderr, /ExperimentalWarning: The Foo API is an experimental feature/)
  t.match(stderr, /\[DEP0999\] DeprecationWarning: bar\(\) is deprecated/)
  t.equal(stderr.match(/Warning: /g)?.length, 2, `exactly two warnings printed:\n${stderr}`)
})
