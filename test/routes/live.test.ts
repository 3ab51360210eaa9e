import { access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium } from 'playwright-core'
import { build, privateRedis } from '../helpers/app.js'

// The live leaderboard page: its data endpoints through inject, and the page itself in a real headless Chromium
// (Debian's chromium driven by playwright-core) seeing scores submitted through the API appear.

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
const ADMIN = 'Basic ' + Buffer.from('admin:admin-password').toString('base64')

t.test('GET / serves an accessible page and /live answers top 10 and standings', async (t) => {
  const app = await build(t)
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.body, /<html lang="en">/)
  t.match(page.body, /<meta name="viewport"/)
  t.match(page.body, /<label for="name">/)
  t.match(page.body, /<th scope="col"/)
  t.match(page.body, /aria-live="polite"/)

  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt
  const scores = Array.from({ length: 14 }, (_, i) => ({ name: `p${i}`, score: (i + 1) * 10 }))
  t.equal((await app.inject({ method: 'POST', url: '/scores', headers: { authorization: `Bearer ${jwt}` }, payload: scores })).statusCode, 200)
  const top = (await app.inject('/live/top')).json()
  t.equal(top.all_time.total, 14)
  t.equal(top.all_time.results.length, 10)
  t.same(top.all_time.results[0], { name: 'p13', score: 140, rank: 1 })
  t.same(top.last_30_days.results[9], { name: 'p4', score: 50, rank: 10 })

  const standing = (await app.inject('/live/standing?name=p1')).json()
  t.same(standing.all_time.rank, 13)
  t.same(standing.all_time.around.map((r: { name: string }) => r.name), ['p3', 'p2', 'p1', 'p0'])
  const first = (await app.inject('/live/standing?name=p13')).json()
  t.same(first.all_time.around.map((r: { name: string }) => r.name), ['p13', 'p12', 'p11'])
  t.equal((await app.inject('/live/standing?name=ghost')).statusCode, 404)
  t.equal((await app.inject('/live/standing?name=')).statusCode, 400)
})

t.test('/live/top shows ten players whatever PAGE_SIZE is', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { config: { PAGE_SIZE: '3', REDIS_URL: redis.url } })
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt
  const scores = Array.from({ length: 12 }, (_, i) => ({ name: `q${i}`, score: i + 1 }))
  t.equal((await app.inject({ method: 'POST', url: '/scores', headers: { authorization: `Bearer ${jwt}` }, payload: scores })).statusCode, 200)
  const top = (await app.inject('/live/top')).json()
  t.same(top.all_time.results.map((r: { name: string }) => r.name), ['q11', 'q10', 'q9', 'q8', 'q7', 'q6', 'q5', 'q4', 'q3', 'q2'])
  t.equal(top.all_time.total, 12)
  const api = (await app.inject({ url: '/leaderboard', headers: { authorization: `Bearer ${jwt}` } })).json()
  t.equal(api.results.length, 3, 'the API keeps PAGE_SIZE')
})

const noChromium = await access(CHROMIUM).then(() => false, () => true)
if (noChromium) t.comment(`!!!!! SKIPPING BROWSER TEST: ${CHROMIUM} not found (apt-get install chromium; CI installs it) !!!!!`)

t.test('the page in headless Chromium updates live as scores arrive and finds a player', {
  skip: noChromium ? `${CHROMIUM} not found` : false
}, async (t) => {
  const redis = await privateRedis(t) // an empty board, whatever the other tests of this file submitted
  const app = await build(t, { config: { REDIS_URL: redis.url } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`
  const jwt = (await app.inject({ method: 'POST', url: '/auth', headers: { authorization: ADMIN } })).json().jwt
  const submit = (entries: Array<{ name: string, score: number }>) =>
    app.inject({ method: 'POST', url: '/scores', headers: { authorization: `Bearer ${jwt}` }, payload: entries })
  await submit([{ name: 'tuta', score: 10 }, { name: 'sava', score: 20 }])

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }) // a phone
  await page.goto(url)
  const allTimeRows = page.locator('#all_time tbody tr')
  await allTimeRows.first().waitFor({ timeout: 10_000 })
  t.same(await allTimeRows.allInnerTexts(), ['1\tsava\t20', '2\ttuta\t10'])

  await submit([{ name: 'kiki', score: 30 }, { name: 'chupa', score: 40 }])
  await page.locator('#all_time tbody tr:nth-child(4)').waitFor({ timeout: 10_000 })
  t.same(await allTimeRows.allInnerTexts(), ['1\tchupa\t40', '2\tkiki\t30', '3\tsava\t20', '4\ttuta\t10'], 'the page updated by itself')
  t.equal(await page.locator('#last_30_days-total').innerText(), '4 players')

  await page.getByLabel('Find a player').fill('sava')
  await page.getByRole('button', { name: 'Show rank' }).click()
  await page.locator('#standing-body p').first().waitFor({ timeout: 10_000 })
  t.equal(await page.locator('#standing-body p').first().innerText(), 'All time: rank 3 with 20')

  await mkdir(ARTIFACTS, { recursive: true })
  const shot = join(ARTIFACTS, 'live-leaderboard.png')
  await page.screenshot({ path: shot, fullPage: true })
  t.comment(`screenshot: ${shot}`)
})
