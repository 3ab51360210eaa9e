// A start event's country: any well-formed ISO 3166-1 alpha-2 code, i.e. two ASCII letters (any case, stored
// upper case). Deliberately not the list of codes ISO has assigned: the original service accepted any code, and
// real data holds codes outside that list — `XK` (Kosovo, used everywhere), the user-assigned ranges `AA`,
// `QM`–`QZ`, `XA`–`XZ`, `ZZ` (test and staging data, "unknown"), and codes assigned after a list was frozen.
const ALPHA_2 = /^[A-Za-z]{2}$/

/** The upper-case code when `value` is two ASCII letters, else undefined. */
export function countryCode (value: unknown): string | undefined {
  if (typeof value !== 'string' || !ALPHA_2.test(value)) return undefined
  return value.toUpperCase()
}
