import type { Redis } from 'ioredis'
import { PAGE, PLAYER, REBUILD_VIEW, SUBMIT } from './scripts.js'

// Key layout of one board (all keys of a board share the hash tag {board}, so a script touching them stays in
// one Redis Cluster slot):
//   lb:{b}:all        sorted set, every player's best score ever
//   lb:{b}:day:<d>    sorted set, each player's best score submitted on UTC day d (days since the epoch)
//   lb:{b}:days       sorted set of the day numbers that have a bucket (for maintenance and deletes)
//   lb:{b}:w30        the 30-day view: MIN-union of the window's buckets, kept current by every submission
//   lb:{b}:w30:day    the day the view was built for; any other value (or none) means "rebuild before use"
//   lb:{b}:sub:<len>:<name>:<id>  submission ids seen in the last 24 h (length-prefixed name: unambiguous)
//   lb:boards         set of board names (not tagged: only maintenance reads it)
// Scores are stored negated: ascending order is then "best first, ties by ascending name", which ZSET order
// gives for free, and rank = 1 + ZCOUNT of strictly smaller (= strictly better) values.

export const BOARDS_KEY = 'lb:boards'

export const keys = (board: string) => {
  const p = `lb:{${board}}`
  return {
    all: `${p}:all`,
    day: (d: number) => `${p}:day:${d}`,
    days: `${p}:days`,
    view: `${p}:w30`,
    viewDay: `${p}:w30:day`,
    submission: (name: string, id: string) => `${p}:sub:${name.length}:${name}:${id}`
  }
}

type Reply = string | number | null | Reply[]
interface ScriptCommands {
  lbSubmit (numKeys: number, ...args: Array<string | number>): Promise<Reply>
  lbRebuildView (numKeys: number, ...args: Array<string | number>): Promise<number>
  lbPage (numKeys: number, ...args: Array<string | number>): Promise<Reply[]>
  lbPlayer (numKeys: number, ...args: Array<string | number>): Promise<Reply[]>
}

/** The client with the leaderboard scripts defined on it (EVALSHA, with EVAL on NOSCRIPT, handled by ioredis). */
export function withScripts (redis: Redis): Redis & ScriptCommands {
  const r = redis as Redis & Partial<ScriptCommands>
  if (!r.lbSubmit) {
    redis.defineCommand('lbSubmit', { lua: SUBMIT })
    redis.defineCommand('lbRebuildView', { lua: REBUILD_VIEW })
    redis.defineCommand('lbPage', { lua: PAGE })
    redis.defineCommand('lbPlayer', { lua: PLAYER })
  }
  return r as Redis & ScriptCommands
}
