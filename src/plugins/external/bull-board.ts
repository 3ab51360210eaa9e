import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createBullBoard } from '@bull-board/api'
import { assetRoot } from '../../runtime.js'
import type { IServerAdapter } from '@bull-board/api/typings/app'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { queueLabel } from '../infra/queues.js'

export const BULL_BOARD_PATH = '/admin/queues'

// bull-board at /admin/queues. Not wrapped in fastify-plugin: it is mounted inside the admin routes' context,
// behind their dashboard gate (src/routes/admin.ts). Every queue of the app is listed, including the ones other
// domains create after this plugin registered: the list is refreshed when the registry grows.
export default async function bullBoardPlugin (app: FastifyInstance) {
  const serverAdapter = new FastifyAdapter()
  serverAdapter.setBasePath(BULL_BOARD_PATH)
  // @bull-board/fastify pins its own patch release of @bull-board/api: same shapes, separately declared types.
  const board = createBullBoard({
    queues: [],
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    // inside the single executable the UI files come from its unpacked assets
    options: { uiConfig: { boardTitle: 'playfield' }, ...(assetRoot() ? { uiBasePath: join(assetRoot()!, 'node_modules/@bull-board/ui') } : {}) }
  })
  let shown = -1
  const refresh = () => {
    const queues = app.queues.all()
    if (queues.length === shown) return
    board.replaceQueues(queues.map(q => new BullMQAdapter(q, { prefix: queueLabel(q.opts.prefix, '') })))
    shown = queues.length
  }
  app.addHook('onReady', async () => refresh())
  app.addHook('onRequest', async () => refresh())
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH })
}
