import { isIP } from 'node:net'

// The user record as the original service and its export file spell it (snake_case), and its validation.
// The email is the identity: trimmed and lower-cased it becomes the key; the stored record keeps the email
// as sent (trimmed), so the export shows what the client sent.

export interface UserRecord {
  id: number
  user_name: string
  email: string
  first_name: string
  last_name: string
  ip_address: string
  gender: string
  country: string
  agent: string
}

export const USER_FIELDS = ['id', 'user_name', 'email', 'first_name', 'last_name', 'ip_address', 'gender', 'country',
  'agent'] as const

export const MAX_EMAIL = 254
export const MAX_NAME = 128
export const MAX_FIELD = 512

// Deliberately simple: one @, no spaces, a dot in the domain. RFC 5322 in full accepts addresses no mail
// system delivers to; this rejects typos without rejecting real addresses.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/

export const normaliseEmail = (email: string) => email.trim().toLowerCase()

export type Checked = { ok: true, record: UserRecord, key: string } | { ok: false, reason: string }

const text = (v: unknown) => typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v)

// Lone surrogates can't be encoded as UTF-8; protobuf decoding never yields them, JSON input can.
// eslint-disable-next-line no-control-regex
const BROKEN_UTF16 = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/

/** Validates and normalises one incoming record (from gRPC or a job payload). */
export function checkRecord (input: Partial<Record<keyof UserRecord, unknown>>): Checked {
  const record: UserRecord = {
    id: Number.isInteger(Number(input.id)) ? Number(input.id) : 0,
    user_name: text(input.user_name),
    email: text(input.email),
    first_name: text(input.first_name),
    last_name: text(input.last_name),
    ip_address: text(input.ip_address),
    gender: text(input.gender),
    country: text(input.country),
    agent: text(input.agent)
  }
  if (record.email === '') return { ok: false, reason: 'email is required' }
  if (record.email.length > MAX_EMAIL) return { ok: false, reason: `email is longer than ${MAX_EMAIL} characters` }
  if (!EMAIL.test(record.email)) return { ok: false, reason: `email "${record.email}" is not a valid address` }
  if (record.user_name === '') return { ok: false, reason: 'user_name is required' }
  if (record.user_name.length > MAX_NAME) return { ok: false, reason: `user_name is longer than ${MAX_NAME} characters` }
  if (record.ip_address !== '' && isIP(record.ip_address) === 0) {
    return { ok: false, reason: `ip_address "${record.ip_address.slice(0, 64)}" is not an IPv4 or IPv6 address` }
  }
  for (const f of ['first_name', 'last_name'] as const) {
    if (record[f].length > MAX_NAME) return { ok: false, reason: `${f} is longer than ${MAX_NAME} characters` }
  }
  for (const f of ['gender', 'country', 'agent'] as const) {
    if (record[f].length > MAX_FIELD) return { ok: false, reason: `${f} is longer than ${MAX_FIELD} characters` }
  }
  for (const f of USER_FIELDS) {
    const v = record[f]
    if (typeof v === 'string' && BROKEN_UTF16.test(v)) return { ok: false, reason: `${f} is not valid UTF-8 text` }
  }
  if (record.id < -2147483648 || record.id > 2147483647) return { ok: false, reason: 'id is not an int32' }
  return { ok: true, record, key: normaliseEmail(record.email) }
}

/** The stored form: fixed field order, so "unchanged" is a plain string comparison in Redis. */
export const serialise = (r: UserRecord) => JSON.stringify({
  id: r.id,
  user_name: r.user_name,
  email: r.email,
  first_name: r.first_name,
  last_name: r.last_name,
  ip_address: r.ip_address,
  gender: r.gender,
  country: r.country,
  agent: r.agent
})
