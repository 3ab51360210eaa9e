import fp from 'fastify-plugin'
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js'
import { loadProto } from '../proto.js'
import { failStream, unary, write } from '../handlers.js'
import { InvalidArgumentError } from '../../errors.js'
import type { ProtoGrpcType } from '../generated/leaderboard.js'
import type { PlayerScore__Output as PlayerScoreIn } from '../generated/leaderboard/PlayerScore.js'
import type { ScoreResponse } from '../generated/leaderboard/ScoreResponse.js'
import type { GetLeaderBoard__Output as GetLeaderBoardIn } from '../generated/leaderboard/GetLeaderBoard.js'
import type { LeaderBoardResponse } from '../generated/leaderboard/LeaderBoardResponse.js'
import type { AuthService } from '../../plugins/infra/auth.js'
import { entryProblem, type LeaderboardService, type Window } from '../../plugins/leaderboard/service.js'

// How many submissions of one stream may wait on Redis at once. Past this the stream stops reading (HTTP/2 flow
// control then slows the client); responses still leave strictly in request order.
export const MAX_IN_FLIGHT = 64

type Outcome = { ok: ScoreResponse } | { fault: unknown }

function windowOf (option: unknown): Window {
  if (option === 'LAST_30_DAYS' || option === 1) return 'last_30_days'
  if (option === 'ALL_TIME' || option === 0 || option === undefined || option === null) return 'all_time'
  throw new InvalidArgumentError(`unknown option ${String(option)}`)
}

/**
 * RecordPlayerScore: each message is answered by one ScoreResponse, in order. An invalid message (empty or too
 * long name, bad board or submission_id) is answered with `error` set and the stream stays open; only a fault
 * (e.g. Redis unavailable) ends the stream, with the mapped status.
 */
export function recordPlayerScore (leaderboard: LeaderboardService) {
  return (call: ServerDuplexStream<PlayerScoreIn, ScoreResponse>) => {
    const pending: Array<Promise<Outcome>> = []
    let ended = false
    let draining = false
    let failed = false

    // Never rejects: a promise rejecting while it waits its turn in `pending` would be an unhandled rejection.
    async function handle (msg: PlayerScoreIn): Promise<Outcome> {
      const echo = { name: msg.name, submission_id: msg.submission_id }
      const problem = entryProblem(msg)
      if (problem) return { ok: { ...echo, error: problem } }
      try {
        const entry = { name: msg.name, score: msg.score, submission_id: msg.submission_id }
        const r = await leaderboard.submitOne(entry, msg.board)
        return {
          ok: { ...echo, rank: r.rank, best_score: r.score, window_rank: r.window_rank, duplicate: r.duplicate }
        }
      } catch (err) {
        if (err instanceof InvalidArgumentError) return { ok: { ...echo, error: err.message } }
        return { fault: err }
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
      pending.push(handle(msg))
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

export function leaderboardHandlers (app: { leaderboard: LeaderboardService, auth: Pick<AuthService, 'authenticateBasic' | 'issueToken'> }) {
  const { leaderboard, auth } = app
  return {
    AuthenticateUser: unary<{ data: string }, { token: string }>(async (req) => {
      const principal = await auth.authenticateBasic(req.data ?? '')
      return { token: await auth.issueToken(principal.username) }
    }),
    RecordPlayerScore: recordPlayerScore(leaderboard),
    GetLeaderBoardPages: unary<GetLeaderBoardIn, LeaderBoardResponse>(async (req) => {
      return await leaderboard.page({ board: req.board, window: windowOf(req.option), page: req.page, name: req.name })
    })
  } satisfies UntypedServiceImplementation
}

export default fp(async function leaderboardGrpc (app) {
  const { packageDefinition, grpcObject } = loadProto<ProtoGrpcType>('leaderboard.proto')
  app.grpc.addService(grpcObject.leaderboard.LeaderBoard.service, leaderboardHandlers(app), {
    name: 'leaderboard.LeaderBoard',
    packageDefinition,
    authorize: app.auth.grpcBearer,
    publicMethods: ['AuthenticateUser']
  })
}, { name: 'leaderboard-grpc', dependencies: ['grpc-server', 'leaderboard', 'auth'] })
