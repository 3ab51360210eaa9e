import fp from 'fastify-plugin'
import type { Metadata } from '@grpc/grpc-js'
import { packageDefinition, ShapeService } from '../contract.js'
import { unary, type ServiceHandlers } from '../handlers.js'
import { messages, writeAll, type ServerReadable } from '../streams.js'
import { correlationIdOf } from '../interceptors/context.js'
import { signatureAuthorizer } from '../interceptors/signature.js'
import { chaosGate } from '../interceptors/chaos.js'
import { grpcStatusOf } from '../rich-status.js'
import type { ShapeServiceHandlers } from '../generated/ShapeService.js'
import type { Shape as WireShape } from '../generated/Shape.js'
import type { ShapeId } from '../generated/ShapeId.js'
import type { GetShapeResponse } from '../generated/GetShapeResponse.js'
import type { GetAreasResponse } from '../generated/GetAreasResponse.js'
import type { GetPerimetersGreaterThanResponse } from '../generated/GetPerimetersGreaterThanResponse.js'
import type { Shape } from '../../plugins/shapes/geometry.js'
import type { MeasureResult, ShapeResult } from '../../plugins/shapes/service.js'

// ShapeService (proto/shapes.proto): thin handlers over app.shapes. Application outcomes travel in status_code
// with gRPC status OK; the signature check and the opt-in chaos run in the authorize hook, before any handler.

const toWire = (s: Shape): WireShape =>
  ({ shape_id: s.id, shape_type: s.type, coords: s.coords.map(c => ({ x: c.x, y: c.y })) })
const toIds = (ids: string[]): ShapeId[] => ids.map(id => ({ shape_id: id }))

function shapeResponse (r: ShapeResult): GetShapeResponse {
  return { status_code: r.code, message: r.message, ...(r.shape ? { shape: toWire(r.shape) } : {}) }
}

function measureResponse (r: MeasureResult, field: 'perimeter' | 'area'):
GetPerimetersGreaterThanResponse & GetAreasResponse {
  const out: GetPerimetersGreaterThanResponse & GetAreasResponse = { status_code: r.code, message: r.message }
  if (r.value !== undefined) out[field] = r.value
  if (r.shape) out.shape = toWire(r.shape)
  return out
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

  async function * ids (call: ServerReadable<ShapeId>) {
    for await (const msg of messages(call)) yield msg.shape_id ?? ''
  }
  const streamFailed = (call: { metadata: Metadata }) => (err: unknown) =>
    log.warn({ correlationId: correlationIdOf(call.metadata), err }, 'shape stream failed')

  // app.shapes is looked up per call (not captured here) so tests can observe the service.
  const implementation = {
    CreateShape: unary(async (req, call) => {
      const r = await app.shapes.create(req.shape_type ?? '')
      log.info({ correlationId: correlationIdOf(call.metadata), code: r.code, shapeId: r.shape?.id }, 'create shape')
      return shapeResponse(r)
    }),
    GetShape: unary(async (req) => shapeResponse(await app.shapes.get(req.shape_id ?? ''))),
    // Leaving the loop (client gone) returns the service's generator, so its Redis paging stops.
    GetPerimetersGreaterThan (call) {
      const results = app.shapes.perimetersGreaterThan(Number(call.request.min_perimeter ?? 0))
      return writeAll(call, results, r => measureResponse(r, 'perimeter'), streamFailed(call))
    },
    GetTotalArea (call, callback) {
      app.shapes.totalArea(ids(call)).then((r) => {
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
        callback(grpcStatusOf(err))
      })
    },
    GetAreas (call) {
      return writeAll(call, app.shapes.areas(ids(call)), r => measureResponse(r, 'area'), streamFailed(call))
    }
  } satisfies ServiceHandlers<ShapeServiceHandlers>

  app.grpc.addService(ShapeService.service, implementation, {
    name: 'ShapeService',
    packageDefinition,
    async authorize (metadata, method) {
      const principal = await checkSignature(metadata, method)
      chaos.check()
      return principal
    }
  })
}, { name: 'shapes-grpc', dependencies: ['grpc-server', 'shapes'] })
