import t from 'tap'
import { build, privateRedis } from '../helper.js'
import { sessionsContract } from './sessions/contract.js'
import { dayBucketKey, doneKey, sessionKey } from '../../src/plugins/sessions/redis-store.js'
import { dayOf } from '../../src/plugins/sessions/store.js'

sessionsContract(t, {
  async app (t, clock) {
    const redis = await privateRedis(t)
    return await build(t, { clock, config: { REDIS_URL: redis.url } })
  },
  async expiries (app, s) {
    const [session, completed, start] = await Promise.all([
      app.redis.pexpiretime(sessionKey(s.sessionId)),
      app.redis.pexpiretime(doneKey(s.playerId)),
      app.redis.pexpiretime(dayBucketKey(dayOf(s.startUs), s.country))
    ])
    return { session, completed, start }
  }
})
