import t from 'tap'
import { salvageRecords } from '../../src/cli/salvage.js'

const rec = (i: number) => ({ id: i, email: `u${i}@example.com`, first_name: i === 2 ? 'Oğuz' : `F${i}` })

t.test('an intact JSON array gives every record and counts nothing dropped', async (t) => {
  const r = salvageRecords(JSON.stringify([rec(1), rec(2), rec(3)], null, 2))
  t.same(r, { records: [rec(1), rec(2), rec(3)], intact: true, droppedChars: 0 })
})

t.test('a file cut off mid-record keeps every complete record and drops the partial one', async (t) => {
  const full = JSON.stringify([rec(1), rec(2), rec(3)], null, 2)
  const cut = full.slice(0, full.indexOf('"u3@') + 5)
  const r = salvageRecords(cut)
  t.same(r.records, [rec(1), rec(2)])
  t.equal(r.intact, false)
  t.ok(r.droppedChars > 0)
})

t.test('braces and quotes inside strings do not confuse the scan', async (t) => {
  const tricky = { id: 7, email: 'a@b.co', agent: 'x} {"y": "\\"}' }
  const text = `[${JSON.stringify(tricky)},${JSON.stringify(rec(8)).slice(0, 10)}`
  t.same(salvageRecords(text).records, [tricky])
})

t.test('a file cut right after a complete record keeps all of them', async (t) => {
  const text = `[${JSON.stringify(rec(1))},\n${JSON.stringify(rec(2))},`
  const r = salvageRecords(text)
  t.same(r.records, [rec(1), rec(2)])
  t.equal(r.droppedChars, 0)
})

t.test('newline-delimited objects and a byte-order mark are read', async (t) => {
  const text = '\ufeff' + [rec(1), rec(2)].map(r => JSON.stringify(r)).join('\n') + '\n'
  t.same(salvageRecords(text).records, [rec(1), rec(2)])
})

t.test('an empty or non-JSON file gives no records', async (t) => {
  t.same(salvageRecords('').records, [])
  t.same(salvageRecords('hello world').records, [])
  t.same(salvageRecords('[]'), { records: [], intact: true, droppedChars: 0 })
})
