// Reads user records from a JSON file's text, even when the file was cut off mid-record: every complete
// top-level object is kept, the broken tail is dropped. Accepts a JSON array of objects (the original's
// files), a single object, or objects one after another (NDJSON).

export interface SalvageResult {
  records: Array<Record<string, unknown>>
  /** false when the text did not parse as a whole and records were recovered object by object. */
  intact: boolean
  /** Characters at the end that were not part of a complete record (0 when intact). */
  droppedChars: number
}

export function salvageRecords (text: string): SalvageResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  try {
    const parsed: unknown = JSON.parse(body)
    if (Array.isArray(parsed)) return { records: parsed.filter(isObject), intact: true, droppedChars: 0 }
    if (isObject(parsed)) return { records: [parsed], intact: true, droppedChars: 0 }
  } catch {
    // fall through to the object-by-object scan
  }
  return scan(body)
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

// One pass that tracks strings (with escapes) and nesting depth; an object that closes at the outermost
// object level is one candidate record and is parsed on its own.
function scan (text: string): SalvageResult {
  const records: Array<Record<string, unknown>> = []
  let depth = 0
  let start = -1
  let inString = false
  let escaped = false
  let end = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (escaped) escaped = false
      else if (c === 0x5c) escaped = true
      else if (c === 0x22) inString = false
      continue
    }
    if (c === 0x22) {
      inString = true
    } else if (c === 0x7b) {
      if (depth === 0) start = i
      depth++
    } else if (c === 0x7d && depth > 0) {
      depth--
      if (depth === 0) {
        try {
          const v: unknown = JSON.parse(text.slice(start, i + 1))
          if (isObject(v)) records.push(v)
        } catch {
          // a malformed object in the middle is skipped; the scan goes on
        }
        end = i + 1
      }
    }
  }
  const tail = text.slice(end).replace(/[\s,\]]+$/, '')
  return { records, intact: false, droppedChars: tail.trim().length }
}
