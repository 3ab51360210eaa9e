// npm run build:binary — one executable (Node single executable application) that runs every subcommand with
// no node_modules beside it: esbuild bundles src/cli/index.ts to one CommonJS file, the files modules read at run
// time (proto files, Swagger UI and bull-board UI) become SEA assets, postject injects the blob into a copy of node.
// redis-server (for the embedded default) and Java/Cassandra stay external, as for the npm-installed service.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'build', 'sea')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })

function walk (dir) {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}
const assetDirs = [
  'proto',
  'node_modules/grpc-health-check/proto',
  'node_modules/@grpc/reflection/build/proto/grpc',
  'node_modules/@fastify/swagger-ui/static',
  'node_modules/@bull-board/ui/dist',
  'node_modules/@bull-board/ui/package.json'
]
const files = assetDirs.flatMap(d => {
  const p = join(root, d)
  return statSync(p).isDirectory() ? walk(p) : [p]
}).map(p => relative(root, p).split(sep).join('/'))

// Bundled CommonJS modules that find files next to themselves get __dirname pointed into the unpacked assets.
const dirnameShim = {
  name: 'asset-dirname',
  setup (b) {
    b.onLoad({ filter: /node_modules[\\/].*\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('__dirname')) return undefined
      const rel = relative(root, dirname(args.path)).split(sep).join('/')
      return { contents: `var __dirname = require('node:path').join(globalThis.__PLAYFIELD_ASSET_DIR, ${JSON.stringify(rel)});\n${source}`, loader: 'js', resolveDir: dirname(args.path) }
    })
  }
}

// Optional native accelerators and pretty printing are not part of the binary: requiring them throws, the way a
// missing optional dependency does, and their users fall back (msgpackr to plain JS; logs stay JSON).
const notBundled = {
  name: 'not-bundled',
  setup (b) {
    b.onResolve({ filter: /^(msgpackr-extract|pino-pretty)$/ }, (args) => ({ path: args.path, namespace: 'not-bundled' }))
    b.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(args.path + ' is not part of the single executable')})`, loader: 'js'
    }))
  }
}

await build({
  entryPoints: [join(root, 'src', 'cli', 'index.ts')],
  outfile: join(out, 'playfield.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minifyWhitespace: true,
  legalComments: 'none',
  // contract.ts finds proto/ from its own URL: make that URL point into the unpacked assets.
  define: { 'import.meta.url': '__playfieldModuleUrl' },
  banner: {
    js: readFileSync(join(root, 'scripts', 'sea-warnings.cjs'), 'utf8') +
      readFileSync(join(root, 'scripts', 'sea-banner.cjs'), 'utf8') +
      "\nvar __playfieldModuleUrl = require('node:url').pathToFileURL(require('node:path').join(globalThis.__PLAYFIELD_ASSET_DIR, 'src/grpc/contract.js')).href;\n"
  },
  plugins: [dirnameShim, notBundled],
  logLevel: 'warning'
})

const hash = createHash('sha256')
for (const f of files) hash.update(f).update(readFileSync(join(root, f)))
const manifest = { hash: hash.digest('hex').slice(0, 16), files }
writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest))
const assets = Object.fromEntries([['manifest.json', join(out, 'manifest.json')], ...files.map(f => [f, join(root, f)])])
writeFileSync(join(out, 'sea-config.json'), JSON.stringify({
  main: join(out, 'playfield.cjs'),
  output: join(out, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useCodeCache: false,
  assets
}, null, 2))
execFileSync(process.execPath, ['--experimental-sea-config', join(out, 'sea-config.json')], { stdio: 'inherit' })

const binary = join(root, 'build', 'playfield')
copyFileSync(process.execPath, binary)
chmodSync(binary, 0o755)
execFileSync(process.execPath, [join(root, 'node_modules', 'postject', 'dist', 'cli.js'), binary, 'NODE_SEA_BLOB', join(out, 'sea-prep.blob'),
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'inherit' })
process.stdout.write(`built ${relative(process.cwd(), binary)} (${Math.round(statSync(binary).size / 2 ** 20)} MiB, ${files.length} assets)\n`)
