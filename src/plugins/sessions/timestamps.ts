// Event times are kept as integer microseconds since the epoch: game clients send microseconds
// (`2016-12-02T12:48:05.520022`), and 2^53 µs reaches far past any year we will see, so a JS number holds them exactly.

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

/** Microseconds since the epoch, or undefined when `value` is not an ISO-8601 date-time we accept. */
export function parseTimestamp (value: string): number | undefined {
  const m = ISO.exec(value)
  if (!m) return undefined
  type Six = [number, number, number, number, number, number]
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as Six
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  // setUTCFullYear rolls 2017-02-30 over into March: a changed month or day means the date does not exist.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined
  date.setUTCHours(hour, minute, second, 0)
  let offsetMinutes = 0
  const zone = m[8]
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '')
    const hh = Number(digits.slice(0, 2))
    const mm = digits.length > 2 ? Number(digits.slice(2)) : 0
    if (hh > 23 || mm > 59) return undefined
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm)
  }
  const micros = Number((m[7] ?? '').padEnd(6, '0'))
  // No zone means UTC, as the original service read it.
  return (date.getTime() - offsetMinutes * 60_000) * 1000 + micros
}

/** ISO-8601 in UTC with all six fractional digits: `2016-12-02T12:48:05.520022Z`. */
export function formatTimestamp (us: number): string {
  const ms = Math.floor(us / 1000)
  return new Date(ms).toISOString().slice(0, -1) + String(us - ms * 1000).padStart(3, '0') + 'Z'
}
