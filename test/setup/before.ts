// Runs once before all test files (see .taprc). The Cassandra fixture hooks in here.
import { rm, writeFile } from 'node:fs/promises'
import { JavaMissingError, startCassandra, stateFile, type CassandraFixture } from '../helpers/cassandra.js'

// This script is a child of the tap runner, like every test file: the runner's pid keys the state file, and the
// watchdog stops Cassandra if the runner disappears without running test/setup/after.ts.
const runnerPid = process.ppid
const file = stateFile(runnerPid)

async function cassandra (): Promise<CassandraFixture> {
  const { CASSANDRA_CONTACT_POINTS: contactPoints, CASSANDRA_LOCAL_DC: localDataCenter } = process.env
  if (contactPoints) return { contactPoints, localDataCenter: localDataCenter || 'datacenter1' }
  // The Redis Cluster run (npm run test:cluster) runs only Redis-backed files: no Cassandra to start.
  if (process.env.PLAYFIELD_TEST_REDIS === 'cluster') return { skip: 'the Redis Cluster run does not use Cassandra' }
  try {
    const server = await startCassandra({ watchPid: runnerPid, alsoRemove: file, detached: true })
    process.stderr.write(`# cassandra 2.1.0 on ${server.contactPoints} (pid ${server.pid}) ready in ${server.startMs} ms\n`)
    const { contactPoints: points, localDataCenter: dc, pid, logFile, dir } = server
    return { contactPoints: points, localDataCenter: dc, pid, logFile, dir }
  } catch (err) {
    if (!(err instanceof JavaMissingError)) throw err
    // Only the Cassandra tests skip; CI installs Java, so it never gets here.
    const skip = `SKIPPING CASSANDRA TESTS: ${err.message}`
    process.stderr.write(`\n!!!!! ${skip} !!!!!\n\n`)
    return { skip }
  }
}

await rm(file, { force: true })
await writeFile(file, JSON.stringify(await cassandra(), null, 2))
