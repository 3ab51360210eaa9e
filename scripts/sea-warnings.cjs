// Prepended to the single-executable bundle, before sea-banner.cjs. Node has two warnings of its own about being a
// single executable application: the ExperimentalWarning "Single executable application is an experimental
// feature" (sea-config's disableExperimentalSEAWarning normally silences it), and, on Node 20, "Currently the
// require() provided to the main script embedded into single-executable applications only supports loading
// built-in modules", printed on every start once a bundled module probes an optional dependency with require() and
// falls back (as it is built to). Neither says anything to the binary's users, so exactly these two are dropped:
// every other warning (deprecations, other experimental features) still reaches the listeners that were there, in
// order. Installed first thing in the main script, before any of those can be emitted.
;(() => {
  const isSeaWarning = (w) => w != null && (
    (w.name === 'ExperimentalWarning' && /^single executable application/i.test(String(w.message))) ||
    (w.name === 'Warning' && /^currently the require\(\) provided to the main script embedded into single-executable applications/i
      .test(String(w.message))))
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
