// The live leaderboard page: plain HTML, CSS and a few lines of script, no framework. It polls the public
// /live endpoints every 2 s and updates the tables in place; results are announced politely to screen readers.
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>playfield — live leaderboard</title>
<style>
  :root { color-scheme: light dark; --accent: #2563eb; font-family: system-ui, sans-serif; }
  body { margin: 0; padding: 1rem; line-height: 1.4; }
  main { max-width: 60rem; margin: 0 auto; }
  h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
  .boards { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); }
  section { border: 1px solid #8884; border-radius: .5rem; padding: .75rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; }
  caption { text-align: left; font-size: .85rem; opacity: .8; padding-bottom: .25rem; }
  th, td { padding: .35rem .25rem; border-bottom: 1px solid #8883; text-align: left; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.me { background: #2563eb22; font-weight: 600; }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 1rem 0; }
  label { display: block; font-weight: 600; }
  input { font-size: 1rem; padding: .5rem; min-width: 12rem; }
  button { font-size: 1rem; padding: .5rem 1rem; background: var(--accent); color: #fff; border: 0; border-radius: .35rem; }
  button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .status { font-size: .85rem; opacity: .8; }
</style>
</head>
<body>
<main>
  <h1>Leaderboard</h1>
  <p class="status" id="updated" aria-live="off">Loading…</p>
  <div class="boards">
    <section aria-labelledby="h-all">
      <h2 id="h-all">All time — top 10</h2>
      <table id="all_time"><caption id="all_time-total"></caption>
        <thead><tr><th scope="col" class="num">Rank</th><th scope="col">Player</th><th scope="col" class="num">Score</th></tr></thead>
        <tbody></tbody></table>
    </section>
    <section aria-labelledby="h-30">
      <h2 id="h-30">Last 30 days — top 10</h2>
      <table id="last_30_days"><caption id="last_30_days-total"></caption>
        <thead><tr><th scope="col" class="num">Rank</th><th scope="col">Player</th><th scope="col" class="num">Score</th></tr></thead>
        <tbody></tbody></table>
    </section>
  </div>
  <form id="search" role="search">
    <div><label for="name">Find a player</label><input id="name" name="name" type="search" autocomplete="off" required maxlength="64"></div>
    <button type="submit">Show rank</button>
  </form>
  <section id="standing" aria-labelledby="h-standing" aria-live="polite" hidden>
    <h2 id="h-standing">Player</h2>
    <div id="standing-body"></div>
  </section>
</main>
<script>
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e }
  function row (r, me) {
    const tr = el('tr', undefined, r.name === me ? 'me' : '')
    tr.append(el('td', r.rank, 'num'), el('td', r.name), el('td', r.score, 'num'))
    return tr
  }
  function fill (tbody, rows, me) { tbody.replaceChildren(...rows.map(r => row(r, me))) }
  let searched = ''
  async function refresh () {
    try {
      const res = await fetch('/live/top')
      if (!res.ok) throw new Error(res.status)
      const top = await res.json()
      for (const w of ['all_time', 'last_30_days']) {
        fill(document.querySelector('#' + w + ' tbody'), top[w].results, searched)
        document.getElementById(w + '-total').textContent = top[w].total + ' players'
      }
      if (searched) await showStanding(searched)
      document.getElementById('updated').textContent = 'Updated ' + new Date().toLocaleTimeString()
    } catch (err) {
      document.getElementById('updated').textContent = 'Could not refresh (' + err.message + '), retrying…'
    }
  }
  // The standing box is a live region: it is only re-rendered when what it says changed, so screen readers
  // don't hear the same standing again at every poll.
  let shown = ''
  async function showStanding (name) {
    const res = await fetch('/live/standing?name=' + encodeURIComponent(name))
    const body = document.getElementById('standing-body')
    const box = document.getElementById('standing')
    const reply = await res.json()
    const key = res.status + ' ' + JSON.stringify(reply)
    if (key === shown) return
    shown = key
    box.hidden = false
    document.getElementById('h-standing').textContent = name
    if (!res.ok) { body.replaceChildren(el('p', reply.message)); return }
    const s = reply
    const parts = []
    for (const [w, label] of [['all_time', 'All time'], ['last_30_days', 'Last 30 days']]) {
      const st = s[w]
      if (!st) { parts.push(el('p', label + ': not on this board')); continue }
      parts.push(el('p', label + ': rank ' + st.rank + ' with ' + st.score))
      const t = el('table')
      t.append(el('caption', label + ' around ' + name))
      const tb = el('tbody')
      fill(tb, st.around, name)
      t.append(tb)
      parts.push(t)
    }
    body.replaceChildren(...parts)
  }
  document.getElementById('search').addEventListener('submit', async (e) => {
    e.preventDefault()
    searched = document.getElementById('name').value.trim()
    if (searched) await showStanding(searched)
  })
  refresh()
  setInterval(refresh, 2000)
</script>
</body>
</html>
`
