import { allKeys, build, type BuildOptions } from './app.js'
import { perKey } from '../../src/plugins/infra/gather.js'
import { DAY_MS } from '../../src/plugins/leaderboard/service.js'

type Test = import('tap').Test

/** A fixed "now" (mid-day UTC) for the leaderboard tests' manual clocks. */
export const NOW = Date.UTC(2030, 5, 15, 12, 0, 0)
export const TODAY = Math.floor(NOW / DAY_MS)

/** The original service's fixture: submitted now, and 31 days ago. */
export const RECENT = [{ name: 'tuta', score: 10 }, { name: 'sava', score: 20 }, { name: 'kiki', score: 30 }, { name: 'chupa', score: 40 }]
export const OLD = [{ name: 'old1', score: 200 }, { name: 'old2', score: 300 }]

/** build() for tests of one file that share its redis-server: every test starts from empty boards. */
export async function buildClean (t: Test, opts: BuildOptions = {}) {
  const app = await build(t, opts)
  // Boards lie on several masters of a cluster: every key is found on its master and deleted on its own.
  const keys = [...await allKeys(app.redis, 'lb:{*'), 'lb:boards', 'lb:owners:{lb:boards}']
  await perKey(app.redis, keys, (pipeline, key) => { pipeline.del(key) })
  return app
}
