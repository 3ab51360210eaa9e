// Second step of `npm run build` (after tsc): bundles src/server.ts with its dependencies into one ES module,
// dist/server.js, replacing tsc's entry file. Loading one file instead of ~2,000 modules is most of the start time
// (`node dist/server.js` reaches both ports ready in well under a second). The rest of dist/ (worker.js, cli/) stays
// tsc's output; they import ./server.js, which keeps exporting start() and bootConfig().
// Needs node_modules beside dist/ at run time, as before: a few packages stay external (optional or loaded lazily),
// and bundled CommonJS modules that read files next to themselves (proto files, Swagger UI assets) get their
// __dirname pointed back into node_modules.
import { readFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'dist')
const rel = (p) => relative(outDir, p).split(sep).join('/')

const filePaths = {
  name: 'file-paths',
  setup (b) {
    // CommonJS modules in node_modules: __dirname of their original location, relative to the bundle.
    b.onLoad({ filter: /node_modules[\\/].*\.(c?js)$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('__dirname') && !source.includes('__filename')) return undefined
      return {
        contents: `var __dirname = __playfieldPath(${JSON.stringify(rel(dirname(args.path)))}), ` +
          `__filename = __playfieldPath(${JSON.stringify(rel(args.path))});\n${source}`,
        loader: 'js',
        resolveDir: dirname(args.path)
      }
    })
    // Our own modules that locate files from import.meta.url: the URL of their compiled file in dist/.
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('import.meta.url')) return undefined
      const compiled = rel(join(outDir, relative(join(root, 'src'), args.path))).replace(/\.ts$/, '.js')
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify('./' + compiled)}, import.meta.url).href`), loader: 'ts' }
    })
  }
}

await build({
  entryPoints: [join(root, 'src', 'server.ts')],
  outfile: join(outDir, 'server.js'),
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // pino-pretty: only on a TTY, through a worker thread; msgpackr-extract: optional native addon;
  // cassandra-driver: imported only when Cassandra is configured.
  external: ['pino-pretty', 'msgpackr-extract', 'cassandra-driver'],
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  charset: 'ascii',
  banner: {
    js: [
      "import { createRequire as __playfieldCreateRequire } from 'node:module';",
      "import { fileURLToPath as __playfieldFileURLToPath } from 'node:url';",
      "import { join as __playfieldJoin, dirname as __playfieldDirname } from 'node:path';",
      'const require = __playfieldCreateRequire(import.meta.url);',
      'const __playfieldDir = __playfieldDirname(__playfieldFileURLToPath(import.meta.url));',
      'const __playfieldPath = (p) => __playfieldJoin(__playfieldDir, p);'
    ].join('\n')
  },
  plugins: [filePaths],
  logLevel: 'warning'
})
