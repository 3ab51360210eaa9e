import { randomUUID } from 'node:crypto'

// Correlation ids arrive from clients: accept only something that is safe to log and echo back.
const SAFE = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export function normaliseCorrelationId (raw: unknown): string | undefined {
  const v = Array.isArray(raw) ? raw[0] : raw
  if (typeof v !== 'string') return undefined
  return SAFE.test(v) ? v : undefined
}

export function correlationIdFromHeaders (headers: Record<string, string | string[] | undefined>): string {
  return normaliseCorrelationId(headers['x-correlation-id']) ?? normaliseCorrelationId(headers['x-request-id']) ?? randomUUID()
}
