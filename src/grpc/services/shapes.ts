import fp from 'fastify-plugin'
import type {
  ServerDuplexStream, ServerReadableStream, ServerWritableStream, ServiceClientConstructor, sendUnaryData
} from '@grpc/grpc-js'
import { loadProto } from '../proto.js'
import { failStream, unary, write } from '../handlers.js'
import { correlationIdOf } from '../interceptors/context.js'
import { signatureAuthorizer } from '../interceptors/signature.js'
import { chaosGate } from '../interceptors/chaos.js'
import { toGrpcError } from '../../errors.js'
import type { Shape } from '../../plugins/shapes/geometry.js'
import type { MeasureResult, ShapeResult } from '../../plugins/shapes/service.js'

// ShapeService (proto/shapes.proto): thin handlers over app.shapes. Application outcomes travel in status_code
// with gRPC status OK; the signature check and the opt-in chaos run in the authorize hook, before any handler.

export interface WireShape { shape_id: string, shape_type: string, coords: Array<{ x: number, y: number }> }
interface ShapeIdMsg { shape_id?: string }
interface ShapeResponse { status_code: string, message: string, shape?: WireShape }
interface MeasureResponse { status_code: string, message: string, perimeter?: number, area?: number, shape?: WireShape }
interface TotalAreaResponse {
  status_code: string, message: string, total_area?: number, valid_ids: ShapeIdMsg[], invalid_ids: ShapeIdMsg[]
}

export const shapesProto = loadProto<{ ShapeService: ServiceClientConstructor }>('shapes.proto')

const toWire = (s: Shape): WireShape =>
  ({ shape_id: s.id, shape_type: s.type, coords: s.coords.map(c => ({ x: c.x, y: c.y })) })
const toIds = (ids: string[]): ShapeIdMsg[] => ids.map(id => ({ shape_id: id }))

function shapeResponse (r: ShapeResult): ShapeResponse {
  return { status_code: r.code, message: r.message, ...(r.shape ? { shape: toWire(r.shape) } : {}) }
}

function measureResponse (r: MeasureResult, field: 'perimeter' | 'area'): MeasureResponse {
  const out: MeasureResponse = { status_code: r.code, message: r.message }
  if (r.value !== undefined) out[field] = r.value
  if (r.shape) out.shape = toWire(r.shape)
  return out
}

// destroyOnReturn: false — a plain for-await destroys the stream once the client half-closes, which on a duplex
// call also kills the writable side, so the status would never be sent.
async function * idsOf (call: ServerReadableStream<ShapeIdMsg, unknown> | ServerDuplexStream<ShapeIdMsg, unknown>) {
  for await (const msg of call.iterator({ destroyOnReturn: false })) yield (msg as ShapeIdMsg).shape_id ?? ''
}

export default fp(async function shapesGrpc (app) {
  const log = app.log.child({ component: 'shapes' })
  const { config } = app
  const checkSignature = signatureAuthorizer(config.SHAPES_SIGNATURE, 'shapes-client')
  const chaos = chaosGate({ rate: config.SHAPES_CHAOS_FAILURE_RATE, count: config.SHAPES_CHAOS_FAILURE_COUNT })
  if (chaos.enabled) {
    log.warn({ rate: config.SHAPES_CHAOS_FAILURE_RATE, count: config.SHAPES_CHAOS_FAILURE_COUNT },
      'shapes chaos is on: some ShapeService calls will fail with UNAVAILABLE')
  }

  // Streams a generator of results; leaving the loop (client gone) returns the generator, so Redis paging stops.
  async function stream (call: ServerWritableStream<any, any> | ServerDuplexStream<any, any>,
    results: AsyncGenerator<MeasureResult>, field: 'perimeter' | 'area') {
    try {
      for await (const r of results) {
        if (call.cancelled) break
        await write(call, measureResponse(r, field))
        if (call.cancelled) break
      }
      if (!call.cancelled) call.end()
    } catch (err) {
      if (call.cancelled) return
      log.warn({ correlationId: correlationIdOf(call.metadata), err }, 'shape stream failed')
      failStream(call, err)
    }
  }

  // app.shapes is looked up per call (not captured here) so tests can observe the service.
  const implementation = {
    CreateShape: unary<{ shape_type?: string }, ShapeResponse>(async (req, call) => {
      const r = await app.shapes.create(req.shape_type ?? '')
      log.info({ correlationId: correlationIdOf(call.metadata), code: r.code, shapeId: r.shape?.id }, 'create shape')
      return shapeResponse(r)
    }),
    GetShape: unary<ShapeIdMsg, ShapeResponse>(async (req) => shapeResponse(await app.shapes.get(req.shape_id ?? ''))),
    GetPerimetersGreaterThan (call: ServerWritableStream<{ min_perimeter?: number }, MeasureResponse>) {
      return stream(call, app.shapes.perimetersGreaterThan(Number(call.request.min_perimeter ?? 0)), 'perimeter')
    },
    GetTotalArea (call: ServerReadableStream<ShapeIdMsg, TotalAreaResponse>,
      callback: sendUnaryData<TotalAreaResponse>) {
      app.shapes.totalArea(idsOf(call)).then((r) => {
        callback(null, {
          status_code: r.code,
          message: r.message,
          ...(r.totalArea !== undefined ? { total_area: r.totalArea } : {}),
          valid_ids: toIds(r.validIds),
          invalid_ids: toIds(r.invalidIds)
        })
      }, (err) => {
        // A client that cancelled mid-stream breaks the read loop; it is gone, so there is no one to answer.
        if (call.cancelled) return
        callback(toGrpcError(err))
      })
    },
    GetAreas (call: ServerDuplexStream<ShapeIdMsg, MeasureResponse>) {
      return stream(call, app.shapes.areas(idsOf(call)), 'area')
    }
  }

  app.grpc.addService(shapesProto.grpcObject.ShapeService.service, implementation, {
    name: 'ShapeService',
    packageDefinition: shapesProto.packageDefinition,
    async authorize (metadata, method) {
      const principal = await checkSignature(metadata, method)
      chaos.check()
      return principal
    }
  })
}, { name: 'shapes-grpc', dependencies: ['grpc-server', 'shapes'] })
