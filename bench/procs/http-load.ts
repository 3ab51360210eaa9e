import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

// The HTTP load generator for loads the autocannon CLI cannot express (a path drawn from a list per request): the
// same autocannon, in its own process. argv[2] is a JSON spec { url, connections, duration, pathsFile?, method?,
// headers?, body? }; prints autocannon's result as one JSON line, like `autocannon --json`.

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  url: string,
  connections: number,
  duration: number,
  pathsFile?: string,
  method?: string,
  headers?: Record<string, string>,
  body?: string
}
const paths = spec.pathsFile ? readFileSync(spec.pathsFile, 'utf8').split('\n').filter(Boolean) : undefined
let n = 0
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.duration,
  method: (spec.method ?? 'GET') as 'GET',
  ...(spec.headers ? { headers: spec.headers } : {}),
  ...(spec.body ? { body: spec.body } : {}),
  ...(paths ? { requests: [{ setupRequest: (req: any) => ({ ...req, path: paths[n++ % paths.length] }) }] } : {})
})
process.stdout.write(JSON.stringify(result) + '\n')
