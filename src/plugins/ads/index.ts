import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import type { Config } from '../../config.js'
import { createAdsStore } from './redis-store.js'
import { createAds, type Ads } from './service.js'

declare module 'fastify' {
  interface FastifyInstance { ads: Ads }
}

export default fp(async function adsPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'ads' })
  let secret = config.ADS_SIGNING_SECRET
  if (!secret) {
    // Only possible outside production (config refuses it there): signed Impression URLs die with the process.
    secret = randomBytes(32).toString('hex')
    log.warn('ADS_SIGNING_SECRET is not set: using a random secret, served Impression URLs will not survive a restart')
  }
  const upstream = new Counter({
    name: 'playfield_ads_upstream_total',
    help: 'VAST upstream attempts by outcome (ad, empty, invalid, error, timeout)',
    labelNames: ['outcome'],
    registers: [app.metrics.registry]
  })
  app.decorate('ads', createAds({
    store: createAdsStore(app.redis, { counterTtlSec: config.ADS_COUNTER_TTL_S }),
    clock: app.clock,
    config,
    secret,
    log,
    onUpstream: (outcome) => upstream.inc({ outcome })
  }))
}, { name: 'ads', dependencies: ['redis', 'metrics'] })
