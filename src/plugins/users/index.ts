import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { usersQueues } from './queues.js'
import { createUsersStore } from './redis-store.js'
import { createUsers, type UsersService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance { users: UsersService }
}

// The users domain in both roles: the server queues records and serves reads; workers (src/jobs, in-process by
// default or `npm run worker` processes) call this service to store them and write the export.
export default fp(async function usersPlugin (app, { config }: { config: Config }) {
  const log = app.log.child({ component: 'users' })
  const { ingestQueue, exportQueue } = usersQueues(app.queues, config)
  const service = createUsers({ store: createUsersStore(app.redis), config, ingestQueue, exportQueue, log })
  app.decorate('users', service)
}, { name: 'users', dependencies: ['redis', 'queues'] })
