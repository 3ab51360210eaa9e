import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { loadConfig } from '../../src/config.js'

// The compose files are deployment code: their shape is checked here (and by `docker compose config` where the
// compose plugin exists), and the settings they give the app pass the app's own configuration check.

const root = fileURLToPath(new URL('../..', import.meta.url))
const exec = promisify(execFile)
const SECRETS = {
  JWT_SECRET: 'compose-test-jwt-secret-0123456789abcdef',
  ADS_SIGNING_SECRET: 'compose-test-ads-secret-0123456789abcdef',
  SHAPES_SIGNATURE: 'compose-test-shapes-signature-0123456789',
  ADMIN_PASSWORD: 'compose-test-password'
}

async function compose (file: string): Promise<any> {
  return parse(await readFile(`${root}/${file}`, 'utf8'), { merge: true })
}

/** An environment block with `${VAR:?…}` / `${VAR:-default}` filled in as compose would. */
function resolveEnv (env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) {
    out[k] = String(v).replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_m, name: string, def?: string) =>
      (SECRETS as Record<string, string>)[name] ?? def ?? '')
  }
  return out
}

t.test('the cluster profile: 6 Redis Cluster nodes, 3 Cassandra nodes, 2 replicas behind a load balancer, 5 workers', async (t) => {
  const doc = await compose('docker-compose.cluster.yml')
  const services = doc.services as Record<string, any>
  const redis = Object.keys(services).filter(n => /^redis-\d$/.test(n))
  t.equal(redis.length, 6)
  for (const n of redis) t.match(services[n].command.join(' '), /--cluster-enabled yes/, `${n} is a cluster node`)

  const app = resolveEnv(services['app-1'].environment)
  const nodes = app.REDIS_CLUSTER_NODES!.split(',')
  t.equal(nodes.length, 6)
  const init = services['redis-cluster-init'].command.join(' ')
  t.match(init, /--cluster-replicas 1/)
  for (const node of nodes) t.ok(init.includes(node), `the cluster is created with ${node}`)
  const ips = redis.map(n => services[n].networks.redis.ipv4_address).sort()
  t.same(ips, nodes.map(n => n.split(':')[0]).sort(), 'REDIS_CLUSTER_NODES are the nodes\' addresses')

  const cassandra = Object.keys(services).filter(n => /^cassandra-\d$/.test(n)).sort()
  t.same(cassandra, ['cassandra-1', 'cassandra-2', 'cassandra-3'])
  t.same(Object.keys(services['cassandra-3'].depends_on), ['cassandra-2'], 'nodes join one after another')
  t.same(Object.keys(services['cassandra-2'].depends_on), ['cassandra-1'])

  for (const name of ['app-1', 'app-2', 'worker']) {
    const env = resolveEnv(services[name].environment)
    t.equal(env.WORKERS_ENABLED, 'false', `${name}: no in-process workers in the replicas`)
    // The settings the replicas get are valid for the app itself.
    const config = loadConfig(env)
    t.equal(config.NODE_ENV, 'production')
    t.equal(config.REDIS_URL, undefined, `${name}: Redis Cluster, not one Redis`)
  }
  t.same(services.worker.command, ['node', 'dist/worker.js'])
  t.equal(services.worker.deploy.replicas, 5)

  t.same(services.lb.ports, ['3000:3000', '50051:50051'])
  const nginx = await readFile(`${root}/deploy/nginx-cluster.conf`, 'utf8')
  t.match(nginx, /grpc_pass grpc:\/\/playfield_grpc/)
  // both doors pass the client's address on, and the replicas (reachable only through nginx) believe it
  t.match(nginx, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
  t.match(nginx, /grpc_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/)
  for (const upstream of ['app-1:3000', 'app-2:3000', 'app-1:50051', 'app-2:50051']) t.ok(nginx.includes(upstream), upstream)
})

t.test('the single-node file: secrets named, a grace period beyond the shutdown bound, a worker that waits only for Redis',
  async (t) => {
    const doc = await compose('docker-compose.yml')
    const services = doc.services as Record<string, any>
    const seconds = (v: string) => Number(/^(\d+)s$/.exec(v)?.[1] ?? NaN)
    for (const name of ['app', 'worker']) {
      const env = resolveEnv(services[name].environment)
      const config = loadConfig(env)
      t.equal(config.NODE_ENV, 'production', name)
      const bound = config.SHUTDOWN_TIMEOUT_MS + config.SHUTDOWN_DRAIN_MS
      t.ok(seconds(services[name].stop_grace_period) * 1000 > bound,
        `${name}: stop_grace_period ${services[name].stop_grace_period} > ${bound} ms of shutdown`)
      for (const secret of Object.keys(SECRETS)) {
        t.match(services[name].environment[secret], new RegExp(`^\\$\\{${secret}:\\?set ${secret} `),
          `${name}: compose refuses to start without ${secret}, naming it`)
      }
    }
    t.same(Object.keys(services.worker.depends_on), ['redis'], 'the worker waits only for Redis')
    t.equal(resolveEnv(services.worker.environment).CASSANDRA_CONTACT_POINTS, undefined, 'and has no Cassandra')
    t.same(Object.keys(services.app.depends_on).sort(), ['cassandra', 'redis'])
    const example = await readFile(`${root}/.env.example`, 'utf8')
    for (const secret of Object.keys(SECRETS)) t.match(example, new RegExp(`^(# )?${secret}=`, 'm'), `.env.example lists ${secret}`)

    const cluster = (await compose('docker-compose.cluster.yml')).services as Record<string, any>
    t.same(Object.keys(cluster.worker.depends_on), ['redis-cluster-init'], 'cluster workers wait only for Redis too')
    t.equal(loadConfig(resolveEnv(cluster.worker.environment)).CASSANDRA_CONTACT_POINTS, undefined)
    for (const name of ['app-1', 'worker']) t.equal(seconds(cluster[name].stop_grace_period), 20, name)
  })

t.test('.dockerignore keeps the build context small and holds every path the Dockerfile copies', async (t) => {
  const rules = (await readFile(`${root}/.dockerignore`, 'utf8')).split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'))
  t.equal(rules[0], '*', 'an allowlist: everything is out unless named')
  const allowed = rules.slice(1).map(r => r.replace(/^!/, '').replace(/\/$/, ''))
  const dockerfile = await readFile(`${root}/Dockerfile`, 'utf8')
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap(m => m[1]!.split(' '))
  t.ok(copied.length >= 4, `COPY sources: ${copied.join(' ')}`)
  for (const path of copied) t.ok(allowed.includes(path), `${path} is in the build context`)
  // The context docker sends: the allowed paths as they are in this checkout.
  const sizes = await Promise.all(allowed.map(p => exec('du', ['-sbL', `${root}/${p}`]).then(r => Number(r.stdout.split('\t')[0]))))
  const total = sizes.reduce((a, b) => a + b, 0)
  t.ok(total < 5 * 2 ** 20, `build context ${(total / 2 ** 20).toFixed(2)} MiB < 5 MiB`)
})

const composeAvailable = await exec('docker', ['compose', 'version']).then(() => true, () => false)
const skip = composeAvailable ? false : 'no docker compose plugin on this machine: only the structural checks above ran'

t.test('docker compose config accepts both files', { skip }, async (t) => {
  for (const file of ['docker-compose.yml', 'docker-compose.cluster.yml']) {
    await exec('docker', ['compose', '-f', file, 'config', '--quiet'], { cwd: root, env: { ...process.env, ...SECRETS } })
    t.pass(`${file} is valid`)
  }
})
