import fp from 'fastify-plugin'
import basicAuth from '@fastify/basic-auth'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import { ForbiddenError, UnauthenticatedError } from '../errors.js'
import {
  BASIC_CHALLENGE, BEARER_CHALLENGE, bearerToken, MAX_CREDENTIALS_LENGTH, type Principal
} from '../plugins/accounts/service.js'

// The REST door's credential checks: HTTP Basic (parsed by @fastify/basic-auth, checked by the accounts service
// under its login limit) and REST JWTs. Routes use them as preHandlers or call them from a handler.

const MALFORMED = 'missing or malformed "Authorization: Basic <base64 user:password>" header'
const NOT_BASE64 = 'credentials must be base64 of user:password'

// What @fastify/basic-auth parsed for a request, handed from its validate to the guard that asked for it.
// validate only hands over: the password is checked by the guard, so every refusal is one of our errors.
const parsed = new WeakMap<FastifyRequest, { username: string, password: string }>()

/** Registers @fastify/basic-auth for the whole app (it decorates `basicAuth`, used by the guards below). */
export default fp(async function guards (app) {
  await app.register(basicAuth, {
    // Blanks around the scheme and the credentials are tolerated, as they always were.
    strictCredentials: false,
    async validate (username, password, request) { parsed.set(request, { username, password }) }
  })
}, { name: 'guards', dependencies: ['accounts'] })

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * A browser keeps sending Basic credentials it once used, to any page's request to us: a state change authenticated
 * by them is refused unless the browser says the request came from our own origin. Browsers send Sec-Fetch-Site
 * (or at least Origin) on cross-site POSTs; scripts and CLIs send neither and are not affected.
 */
function crossSite (request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method)) return false
  const site = request.headers['sec-fetch-site']
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none'
  const origin = request.headers.origin
  if (typeof origin !== 'string') return false
  try {
    return new URL(origin).host !== new URL(`${request.protocol}://${request.host}`).host
  } catch {
    return true
  }
}

async function basicPrincipal (request: FastifyRequest, reply: FastifyReply, malformed: string): Promise<Principal> {
  // Capped before any parsing: decoding a huge header is the costly part, and no real credential is that long.
  if ((request.headers.authorization?.length ?? 0) > MAX_CREDENTIALS_LENGTH + 32) {
    throw new UnauthenticatedError(`Authorization header longer than ${MAX_CREDENTIALS_LENGTH + 32} characters`, BASIC_CHALLENGE)
  }
  if (crossSite(request)) {
    throw new ForbiddenError('cross-site request with Basic credentials refused: send it from this origin, or use a Bearer token')
  }
  const check = request.server.basicAuth as onRequestHookHandler
  await new Promise<void>((resolve, reject) => {
    check.call(request.server, request, reply, (err?: Error) => { if (err) reject(err); else resolve() })
  }).catch(() => { throw new UnauthenticatedError(malformed, BASIC_CHALLENGE) })
  const credentials = parsed.get(request)
  parsed.delete(request)
  // The plugin accepts an empty user-id; an account name never is one, and it costs no login attempt.
  if (!credentials?.username) throw new UnauthenticatedError(NOT_BASE64, BASIC_CHALLENGE)
  return await request.server.auth.authenticate(credentials.username, credentials.password, request.ip)
}

/** The principal of the request's HTTP Basic credentials (POST /auth, POST /tokens); 401/429 otherwise. */
export async function basicLogin (request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
  // A Basic header with one blank-free value holds bad credentials; anything else is no Basic header at all.
  const header = request.headers.authorization ?? ''
  return await basicPrincipal(request, reply, /^Basic\s+\S*\s*$/i.test(header) ? NOT_BASE64 : MALFORMED)
}

/** preHandler: a valid REST JWT (Authorization: Bearer) → request.user. */
export async function requireJwt (request: FastifyRequest): Promise<void> {
  if (!bearerToken(request.headers.authorization)) {
    throw new UnauthenticatedError('missing "Authorization: Bearer <jwt>" header', BEARER_CHALLENGE)
  }
  try {
    await request.jwtVerify()
  } catch {
    // Expired, tampered, alg=none or signed with another secret: all the same 401 to the client.
    throw new UnauthenticatedError('invalid or expired token', BEARER_CHALLENGE)
  }
  if (!(await request.server.auth.jwtCurrent(request.user.sub, request.user.ep))) {
    throw new UnauthenticatedError('token revoked', BEARER_CHALLENGE)
  }
}

/** preHandler: admin by HTTP Basic credentials or by an admin JWT → request.user. */
export async function requireAdmin (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const header = request.headers.authorization
  if (typeof header === 'string' && /^Basic\s/i.test(header)) {
    const principal = await basicPrincipal(request, reply, NOT_BASE64)
    if (!principal.admin) throw new ForbiddenError('admin only')
    request.user = { sub: principal.username, admin: true, ep: principal.epoch }
    return
  }
  if (!bearerToken(header)) throw new UnauthenticatedError('admin credentials required', BASIC_CHALLENGE)
  await requireJwt(request)
  if (!request.user.admin) throw new ForbiddenError('admin only')
}
