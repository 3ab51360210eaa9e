import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import jwt from '@fastify/jwt'
import type { Config } from '../../config.js'
import { createAccountsStore } from './redis-store.js'
import { createAccounts, hashPassword, type AccountsService, type Principal } from './service.js'

export interface RestTokens {
  /** Signs the REST JWT for a principal (the doors verify it with request.jwtVerify). */
  signJwt (principal: Omit<Principal, 'epoch'> & { epoch?: number }): Promise<{ jwt: string, expires_in: number }>
}

// The decorator keeps its historical name, `auth`: routes, gRPC services and tests all reach accounts through it.
declare module 'fastify' {
  interface FastifyInstance { auth: AccountsService & RestTokens }
}
declare module '@fastify/jwt' {
  // `ep`: the account's token epoch when signed; a revoke (or a new password) bumps it and the JWT is refused.
  interface FastifyJWT {
    payload: { sub: string, admin: boolean, ep?: number }
    user: { sub: string, admin: boolean, ep?: number }
  }
}

export default fp(async function accountsPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'accounts' })
  let secret = config.JWT_SECRET
  if (!secret) {
    // Only outside production (config refuses to start without it there): tokens die with the process.
    secret = randomBytes(32).toString('hex')
    log.warn('JWT_SECRET is not set: using a random secret, REST tokens will not survive a restart')
  }
  await app.register(jwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: config.JWT_TTL },
    verify: { algorithms: ['HS256'] }
  })

  const service = createAccounts({
    store: createAccountsStore(app.redis),
    config,
    clock: app.clock,
    dummyHash: await hashPassword(randomBytes(12).toString('hex'))
  })
  app.decorate('auth', {
    ...service,
    async signJwt (principal: Omit<Principal, 'epoch'> & { epoch?: number }) {
      const ep = principal.epoch ?? await service.tokenEpoch(principal.username)
      const token = await app.jwt.sign({ sub: principal.username, admin: principal.admin, ep })
      return { jwt: token, expires_in: config.JWT_TTL }
    }
  })

  // The admin account is ensured at start. Without ADMIN_* outside production, one is generated once and
  // its password printed once; later starts find it already there.
  // Each start says truthfully which of these it found; a lost password is reset with `playfield admin reset-password`.
  app.addHook('onReady', async () => {
    const username = config.ADMIN_USER ?? 'admin'
    if (config.ADMIN_USER && config.ADMIN_PASSWORD) {
      const current = await service.verifyPassword(config.ADMIN_USER, config.ADMIN_PASSWORD)
      if (!current?.admin) {
        await service.createAccount(config.ADMIN_USER, config.ADMIN_PASSWORD, { admin: true, upsert: true })
        log.info({ username }, 'admin account set from ADMIN_USER/ADMIN_PASSWORD')
      } else {
        log.info({ username }, 'admin account matches ADMIN_USER/ADMIN_PASSWORD')
      }
    } else if (await service.accountExists(username)) {
      log.info({ username }, 'admin account exists (its password was set earlier; ' +
        'lost it? `playfield admin reset-password`)')
    } else if (config.NODE_ENV !== 'production') {
      const password = randomBytes(12).toString('base64url')
      await service.createAccount(username, password, { admin: true })
      log.warn({ username }, `generated the admin account; its password (shown once) is: ${password}`)
    } else {
      log.warn({ username }, 'no admin account: set ADMIN_USER/ADMIN_PASSWORD, or create one with ' +
        '`playfield admin reset-password`')
    }
  })
}, { name: 'accounts', dependencies: ['redis'] })
