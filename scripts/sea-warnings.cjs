// Prepended to the single-executable bundle, before sea-banner.cjs. Node announces "Single executable application is
// an experimental feature" on every start of a SEA (sea-config's disableExperimentalSEAWarning does not silence
// every Node line). That one warning says nothing to the binary's users, so it alone is dropped: every other
// warning (deprecations, other experimental features) still reaches the listeners that were there, in order.
// Node queues the warning for process.nextTick before the main script runs, so a filter installed here, first thing
// in the main script, is in place when it is emitted.
;(() => {
  const isSeaWarning = (w) => w != null && w.name === 'ExperimentalWarning' &&
    /single executable application/i.test(String(w.message))
  function quietSeaWarning (proc) {
    const previous = proc.listeners('warning')
    for (const l of previous) proc.removeListener('warning', l)
    proc.on('warning', function (warning) {
      if (isSeaWarning(warning)) return
      for (const l of previous) l.call(this, warning)
    })
  }
  let sea = null
  try { sea = require('node:sea') } catch {}
  if (sea && sea.isSea()) quietSeaWarning(process)
  // Required by a test (not the bundle's main script): hand the filter over.
  if (typeof module === 'object' && module && require.main !== module && !(sea && sea.isSea())) {
    module.exports = { quietSeaWarning, isSeaWarning }
  }
})()
