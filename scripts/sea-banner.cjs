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
      // Unpacked beside it and renamed into place, so processes starting together (docker compose --scale
      // worker=5) never read a half-written file: whoever renames first wins, the others drop their copy.
      const tmp = `${dir}.tmp-${process.pid}`
      fs.rmSync(tmp, { recursive: true, force: true })
      for (const name of manifest.files) {
        const target = join(tmp, name)
        fs.mkdirSync(dirname(target), { recursive: true })
        fs.writeFileSync(target, Buffer.from(sea.getAsset(name)))
      }
      fs.writeFileSync(join(tmp, '.complete'), '')
      try {
        fs.renameSync(tmp, dir)
      } catch {
        if (fs.existsSync(join(dir, '.complete'))) {
          fs.rmSync(tmp, { recursive: true, force: true })
        } else {
          // A half-written directory left by an older unpacker: replace it.
          fs.rmSync(dir, { recursive: true, force: true })
          fs.renameSync(tmp, dir)
        }
      }
    }
    globalThis.__PLAYFIELD_ASSET_DIR = dir
  } else {
    // The plain bundle run with node (build/sea/playfield.cjs): assets are the repository's own files.
    globalThis.__PLAYFIELD_ASSET_DIR = join(__dirname, '..', '..')
  }
})()
