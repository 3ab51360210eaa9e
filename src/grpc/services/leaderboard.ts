import fp from 'fastify-plugin'
import type { Metadata, ServerDuplexStream } from '@grpc/grpc-js'
import { LeaderBoard, packageDefinition } from '../contract.js'
import { unary, type ServiceHandlers } from '../handlers.js'
import { failStream, write } from '../streams.js'
import { InvalidArgumentError } from '../../errors.js'
import type { LeaderBoardHandlers } from '../generated/leaderboard/LeaderBoard.js'
import type { PlayerScore__Output as PlayerScoreIn } from '../generated/leaderboard/PlayerScore.js'
import type { ScoreResponse } from '../generated/leaderboard/ScoreResponse.js'
import type { AccountsService } from '../../plugins/accounts/service.js'
import { bearerAuthorizer } from '../interceptors/bearer.js'
import { principalOf } from '../interceptors/auth.js'
import { entryProblem, type LeaderboardService, type Owner, type Window } from '../../plugins/leaderboard/service.js'

// Messages of one stream that may wait for their answer. Past this the stream stops reading (HTTP/2 flow control
// then slows the client down); answers still leave strictly in request order.
export const MAX_IN_FLIGHT = 1024
// Adaptive batching: a message goes to Redis at once while fewer than MAX_CALLS script calls of the stream are
// under way; otherwise it waits and the messages that piled up go in one call (at most MAX_CALL_ENTRIES) when a
// call returns. The script answers each entry with its standing right after it was applied, so this is exactly
// the same as one call per message, minus the round trips.
export const MAX_CALLS = 2
export const MAX_CALL_ENTRIES = 128

type Outcome = { ok: ScoreResponse } | { fault: unknown }
interface Waiting { msg: PlayerScoreIn, resolve (o: Outcome): void }

function windowOf (option: unknown): Window {
  if (option === 'LAST_30_DAYS' || option === 1) return 'last_30_days'
  if (option === 'ALL_TIME' || option === 0 || option === undefined || option === null) return 'all_time'
  throw new InvalidArgumentError(`unknown option ${String(option)}`, undefined, { field: 'option' })
}

/** The client address of a call's peer (`ipv4:1.2.3.4:5678`, `1.2.3.4:5678`, `[::1]:5678`…), for login limits. */
export function peerAddress (peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '')
  const bracketed = /^\[([^\]]+)\]/.exec(p)
  if (bracketed) return bracketed[1]!
  const colons = p.split(':').length - 1
  return colons === 1 ? p.slice(0, p.lastIndexOf(':')) : p
}

const echo = (msg: PlayerScoreIn) => ({ name: msg.name, submission_id: msg.submission_id })

/** Sends a run of messages for one board as one call; never rejects (each waiting message gets its outcome). */
async function submitRun (leaderboard: LeaderboardService, board: string, run: Waiting[], owner?: Owner):
Promise<void> {
  const entries = run.map(({ msg }) => ({ name: msg.name, score: msg.score, submission_id: msg.submission_id }))
  await leaderboard.submit(entries, board, owner).then((results) => {
    for (const [i, { msg, resolve }] of run.entries()) {
      const r = results[i]!
      const ok = { ...echo(msg), rank: r.rank, best_score: r.score, window_rank: r.window_rank, duplicate: r.duplicate }
      resolve({ ok })
    }
  }, (err: unknown) => {
    for (const { msg, resolve } of run) {
      resolve(err instanceof InvalidArgumentError ? { ok: { ...echo(msg), error: err.message } } : { fault: err })
    }
  })
}

/**
 * RecordPlayerScore: each message is answered by one ScoreResponse, in order. An invalid message (empty or too
 * long name, bad board or submission_id) is answered with `error` set and the stream stays open; only a fault
 * (e.g. Redis unavailable) ends the stream, with the mapped status.
 */
export function recordPlayerScore (leaderboard: LeaderboardService) {
  return (call: ServerDuplexStream<PlayerScoreIn, ScoreResponse>) => {
    // Outcomes in request order. They never reject: a promise rejecting while it waits its turn here would be
    // an unhandled rejection.
    const pending: Array<Promise<Outcome>> = []
    const batch: Waiting[] = []
    let calls = 0
    let ended = false
    let draining = false
    let failed = false
    // The token's account: a board it is the first to submit to counts against its MAX_BOARDS_PER_ACCOUNT.
    const principal = principalOf(call.metadata)
    const owner = principal === undefined ? undefined : { name: principal }

    function send (run: Waiting[]) {
      calls++
      submitRun(leaderboard, run[0]!.msg.board, run, owner).catch((err: unknown) => {
        for (const { resolve } of run) resolve({ fault: err })
      }).finally(() => {
        calls--
        if (batch.length > 0) flush()
      })
    }

    // Calls are sent in message order on one connection, so Redis applies them in message order too.
    function flush () {
      while (batch.length > 0 && calls < MAX_CALLS) {
        const board = batch[0]!.msg.board
        let n = 1
        while (n < batch.length && n < MAX_CALL_ENTRIES && batch[n]!.msg.board === board) n++
        send(batch.splice(0, n))
      }
    }

    async function drain () {
      draining = true
      try {
        while (pending.length > 0) {
          const outcome = await pending[0]!
          pending.shift()
          if ('fault' in outcome) {
            failed = true
            pending.length = 0
            return failStream(call, outcome.fault)
          }
          if (call.isPaused() && pending.length < MAX_IN_FLIGHT / 2) call.resume()
          await write(call, outcome.ok)
          if (call.cancelled || call.destroyed) return
        }
        if (ended) call.end()
      } finally {
        draining = false
      }
    }

    call.on('data', (msg: PlayerScoreIn) => {
      if (failed) return
      const problem = entryProblem(msg)
      if (problem) {
        pending.push(Promise.resolve({ ok: { ...echo(msg), error: problem } }))
      } else {
        pending.push(new Promise<Outcome>((resolve) => { batch.push({ msg, resolve }) }))
        flush()
      }
      if (pending.length >= MAX_IN_FLIGHT) call.pause()
      if (!draining) drain().catch(() => {})
    })
    call.on('end', () => {
      ended = true
      if (!draining && !failed) drain().catch(() => {})
    })
    call.on('error', () => { failed = true })
  }
}

/**
 * The caller's address for the login limits: the peer, or behind a trusted proxy (TRUST_PROXY set) the address that
 * proxy appended last to `x-forwarded-for` (one hop; earlier entries are the client's own word).
 */
export function clientAddress (call: { getPeer (): string, metadata: Metadata }, trustProxy: boolean): string {
  const peer = peerAddress(call.getPeer())
  if (!trustProxy) return peer
  const forwarded = call.metadata.get('x-forwarded-for').map(String).join(',').split(',').map(a => a.trim()).filter(Boolean)
  return forwarded.at(-1) ?? peer
}

export function leaderboardHandlers (app: {
  leaderboard: LeaderboardService, auth: Pick<AccountsService, 'authenticateBasic' | 'issueToken'>, trustProxy?: boolean
}) {
  const { leaderboard, auth } = app
  return {
    AuthenticateUser: unary(async (req, call) => {
      const principal = await auth.authenticateBasic(req.data ?? '', clientAddress(call, app.trustProxy ?? false))
      return { token: await auth.issueToken(principal.username) }
    }),
    RecordPlayerScore: recordPlayerScore(leaderboard),
    GetLeaderBoardPages: unary(async (req) => {
      return await leaderboard.page({ board: req.board, window: windowOf(req.option), page: req.page, name: req.name })
    })
  } satisfies ServiceHandlers<LeaderBoardHandlers>
}

export default fp(async function leaderboardGrpc (app) {
  const trustProxy = app.config.TRUST_PROXY !== undefined && app.config.TRUST_PROXY !== 'false'
  const handlers = leaderboardHandlers({ leaderboard: app.leaderboard, auth: app.auth, trustProxy })
  app.grpc.addService(LeaderBoard.service, handlers, {
    name: 'leaderboard.LeaderBoard',
    packageDefinition,
    authorize: bearerAuthorizer(app.auth),
    publicMethods: ['AuthenticateUser']
  })
}, { name: 'leaderboard-grpc', dependencies: ['grpc-server', 'leaderboard', 'accounts'] })
