// Prepended to the single-executable bundle. Unpacks the embedded assets (proto files, UI files of the docs and
// dashboard) into a content-addressed temp dir once, and tells the bundled modules where they are.
;(() => {
  const { join, dirname } = require('node:path')
  const fs = require('node:fs')
  let sea = null
  try { sea = require('node:sea') } catch {}
  if (sea && sea.isSea()) {
    const manifest = JSON.parse(sea.getAsset('manifest.json', 'utf8'))
    const dir = join(require('node:os').tmpdir(), `playfield-assets-${manifest.hash}`)
    if (!fs.existsSync(join(dir, '.complete'))) {
      for (const name of manifest.files) {
        const target = join(dir, name)
        fs.mkdirSync(dirname(target), { recursive: true })
        fs.writeFileSync(target, Buffer.from(sea.getAsset(name)))
      }
      fs.writeFileSync(join(dir, '.complete'), '')
    }
    globalThis.__PLAYFIELD_ASSET_DIR = dir
  } else {
    // The plain bundle run with node (build/sea/playfield.cjs): assets are the repository's own files.
    globalThis.__PLAYFIELD_ASSET_DIR = join(__dirname, '..', '..')
  }
})()
