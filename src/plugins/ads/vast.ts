import { XMLParser, XMLValidator } from 'fast-xml-parser'

// VAST documents: the built-in house ad is string templating (with escaping), the upstream's answer is parsed
// only to decide whether it is a VAST document with an ad, then passed through with our Impression added.

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

/** Escapes text for element content and attribute values alike. */
export function escapeXml (value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!)
}

export const NO_FILL_VAST = '<?xml version="1.0" encoding="UTF-8"?>\n<VAST version="4.2"/>\n'

export interface BuiltinAd {
  adSystem: string
  adTitle: string
  mediaUrl: string
  mediaType: string
  width: number
  height: number
  durationSec: number
}

function duration (totalSec: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(Math.floor(totalSec / 3600))}:${pad(Math.floor(totalSec / 60) % 60)}:${pad(totalSec % 60)}.000`
}

export function impressionElement (impressionUrl: string): string {
  return `<Impression id="playfield">${escapeXml(impressionUrl)}</Impression>`
}

/** The built-in VAST 4.2 InLine ad: one linear creative with one progressive media file. */
export function builtinVast (ad: BuiltinAd, adServingId: string, impressionUrl: string): string {
  return builtinVastTemplate(ad)(adServingId, impressionUrl)
}

/**
 * The built-in ad rendered once: everything but the ad serving id and the Impression URL is escaped and joined
 * here, so serving it is one string concatenation (GET /ad's hot path).
 */
export function builtinVastTemplate (ad: BuiltinAd): (adServingId: string, impressionUrl: string) => string {
  const head = `<?xml version="1.0" encoding="UTF-8"?>
<VAST version="4.2" xmlns="http://www.iab.com/VAST">
  <Ad id="playfield-house-ad">
    <InLine>
      <AdSystem>${escapeXml(ad.adSystem)}</AdSystem>
      `
  const middle = `
      <AdServingId>`
  const tail = `</AdServingId>
      <AdTitle>${escapeXml(ad.adTitle)}</AdTitle>
      <Creatives>
        <Creative id="playfield-house-creative" sequence="1">
          <UniversalAdId idRegistry="playfield">playfield-house-creative</UniversalAdId>
          <Linear>
            <Duration>${duration(ad.durationSec)}</Duration>
            <MediaFiles>
              <MediaFile delivery="progressive" type="${escapeXml(ad.mediaType)}" width="${ad.width}" height="${ad.height}">${escapeXml(ad.mediaUrl)}</MediaFile>
            </MediaFiles>
          </Linear>
        </Creative>
      </Creatives>
    </InLine>
  </Ad>
</VAST>
`
  return (adServingId, impressionUrl) =>
    head + impressionElement(impressionUrl) + middle + escapeXml(adServingId) + tail
}
// Entities stay unexpanded: the document is only inspected, and expansion is where XML bombs live.
const parser = new XMLParser({
  ignoreAttributes: false, ignoreDeclaration: true, ignorePiTags: true, processEntities: false
})

export type UpstreamVerdict =
  | { kind: 'ad', xml: string }
  | { kind: 'empty' } // a valid VAST without any Ad: the upstream's own no-fill
  | { kind: 'invalid', reason: string }

/**
 * Checks that `xml` is well-formed with a single VAST root element, and puts our Impression into every
 * InLine/Wrapper so that impressions of upstream ads are counted too.
 */
export function acceptUpstreamVast (xml: string, impressionUrl: string): UpstreamVerdict {
  const valid = XMLValidator.validate(xml)
  if (valid !== true) return { kind: 'invalid', reason: `not well-formed XML: ${valid.err.msg}` }
  let doc: Record<string, unknown>
  try {
    doc = parser.parse(xml) as Record<string, unknown>
  } catch (err) {
    return { kind: 'invalid', reason: `not parseable XML: ${(err as Error).message}` }
  }
  const roots = Object.keys(doc)
  if (roots.length !== 1 || roots[0] !== 'VAST') return { kind: 'invalid', reason: `root element is ${roots.join(', ') || 'missing'}, not VAST` }
  const vast = doc.VAST
  if (typeof vast !== 'object' || vast === null || !('Ad' in vast)) return { kind: 'empty' }
  let injected = 0
  const out = xml.replace(/<\/(InLine|Wrapper)\s*>/g, (closing) => {
    injected++
    return impressionElement(impressionUrl) + closing
  })
  if (injected === 0) return { kind: 'invalid', reason: 'VAST Ad without InLine or Wrapper' }
  return { kind: 'ad', xml: out }
}
