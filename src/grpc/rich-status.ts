import { join } from 'node:path'
import protobuf from 'protobufjs'
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js'
import { asPlayfieldError, toGrpcError } from '../errors.js'
import { PROTO_DIR } from './contract.js'

// The gRPC rich error model: every failed call carries a google.rpc.Status in the grpc-status-details-bin
// trailer, with an ErrorInfo (reason, domain) and, for bad input, a BadRequest whose FieldViolations name the
// request fields at fault (AIP-193). Its code and message are always the call's grpc-status and grpc-message:
// standard readers (Python's grpc_status.rpc_status.from_call, for one) refuse a rich status that disagrees with
// them. The protos are googleapis' own, kept in proto/google/rpc/.

export const STATUS_DETAILS_KEY = 'grpc-status-details-bin'
/** ErrorInfo.domain of every error playfield produces. */
export const ERROR_DOMAIN = 'playfield'
const TYPE_PREFIX = 'type.googleapis.com/'

const root = new protobuf.Root()
root.loadSync(['status.proto', 'error_details.proto'].map(f => join(PROTO_DIR, 'google', 'rpc', f)), { keepCase: true })
const StatusType = root.lookupType('google.rpc.Status')
const ErrorInfoType = root.lookupType('google.rpc.ErrorInfo')
const BadRequestType = root.lookupType('google.rpc.BadRequest')

export interface FieldViolation { field: string, description: string, reason?: string }
export interface ErrorInfo { reason: string, domain: string, metadata: Record<string, string> }
export interface RichStatus {
  code: number
  message: string
  errorInfo?: ErrorInfo
  fieldViolations: FieldViolation[]
  /** type_url of every detail, in order. */
  detailTypes: string[]
}

interface Any { type_url: string, value: Uint8Array }
const pack = (type: protobuf.Type, value: object): Any =>
  ({ type_url: TYPE_PREFIX + type.fullName.replace(/^\./, ''), value: type.encode(type.fromObject(value)).finish() })

export function encodeRichStatus (code: number, message: string,
  info: { reason: string, metadata?: Record<string, string> }, violations: FieldViolation[] = []): Buffer {
  const details = [pack(ErrorInfoType, { reason: info.reason, domain: ERROR_DOMAIN, metadata: info.metadata ?? {} })]
  if (violations.length > 0) details.push(pack(BadRequestType, { field_violations: violations }))
  return Buffer.from(StatusType.encode(StatusType.fromObject({ code, message, details })).finish())
}

/** Decodes a grpc-status-details-bin value (for clients, the CLI and tests). Throws on bytes that are not one. */
export function decodeRichStatus (bytes: Uint8Array): RichStatus {
  const s = StatusType.toObject(StatusType.decode(bytes), { defaults: true }) as
    { code: number, message: string, details: Any[] }
  const out: RichStatus = { code: s.code, message: s.message, fieldViolations: [], detailTypes: [] }
  for (const any of s.details) {
    out.detailTypes.push(any.type_url)
    const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1)
    if (name === 'google.rpc.ErrorInfo') {
      out.errorInfo = ErrorInfoType.toObject(ErrorInfoType.decode(any.value), { defaults: true }) as ErrorInfo
    } else if (name === 'google.rpc.BadRequest') {
      const br = BadRequestType.toObject(BadRequestType.decode(any.value), { defaults: true }) as
        { field_violations: Array<FieldViolation & { localized_message?: unknown }> }
      for (const v of br.field_violations) {
        out.fieldViolations.push({ field: v.field, description: v.description, reason: v.reason })
      }
    }
  }
  return out
}

/** The rich status in a call's trailing metadata, or undefined when there is none (or it is not one). */
export function richStatusOf (metadata: Metadata | undefined | null): RichStatus | undefined {
  const bytes = metadata?.get(STATUS_DETAILS_KEY)[0]
  if (!(bytes instanceof Uint8Array)) return undefined
  try {
    return decodeRichStatus(bytes)
  } catch {
    return undefined
  }
}

// A message such as "board must be …", "entries[2]: score must …" names its field first.
const LEADING_FIELD = /^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*)*)(?::| must | is | would )/

const reasonOf = (code: number) => `PLAYFIELD_${GrpcStatus[code] ?? 'UNKNOWN'}`

export interface GrpcStatusWithDetails { code: GrpcStatus, details: string, metadata: Metadata }

/** An error as the status a handler or interceptor sends: code and message by toGrpcError, plus the rich status. */
export function grpcStatusOf (err: unknown): GrpcStatusWithDetails {
  const { code, details } = toGrpcError(err)
  const known = asPlayfieldError(err)
  const violations: FieldViolation[] = []
  let reason = reasonOf(code)
  if (known && known.grpcCode === code) {
    reason = known.hints.reason ?? known.code
    const invalid = code === GrpcStatus.INVALID_ARGUMENT
    const field = known.hints.field ?? (invalid ? LEADING_FIELD.exec(known.message)?.[1] : undefined)
    if (field !== undefined) violations.push({ field, description: known.message, reason })
  }
  const metadata = new Metadata()
  metadata.set(STATUS_DETAILS_KEY, encodeRichStatus(code, details, { reason }, violations))
  return { code, details, metadata }
}

/**
 * The safety net (run on every status the server sends): a failed call whose trailers hold no rich status, or
 * one that no longer matches its code and message (a status rewritten on the way out), gets a fresh one
 * with the ErrorInfo of its code.
 */
export function withRichStatus<S extends { code: GrpcStatus, details?: string, metadata?: Metadata | null }> (
  status: S): S {
  if (status.code === GrpcStatus.OK) return status
  const metadata = status.metadata ?? new Metadata()
  const message = status.details ?? ''
  const present = richStatusOf(metadata)
  if (present && present.code === status.code && present.message === message) return { ...status, metadata }
  metadata.set(STATUS_DETAILS_KEY, encodeRichStatus(status.code, message, { reason: reasonOf(status.code) }))
  return { ...status, metadata }
}
