// Runs once after all test files (see .taprc).
import { rm } from 'node:fs/promises'
import { readFixtureState, stateFile, stopProcess } from '../helpers/cassandra.js'

const file = stateFile(process.ppid)
const state = await readFixtureState(file)
if (!('skip' in state) && state.pid) {
  // SIGTERM lets it announce its shutdown (Cassandra 2.1 then sleeps ~2 s in gossip); the data is thrown away anyway
  await stopProcess(state.pid, 2000)
  if (state.dir) await rm(state.dir, { recursive: true, force: true })
}
await rm(file, { force: true })
