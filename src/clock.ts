// Time comes from here so that windows, TTLs and retention can be tested without sleeping.
export interface Clock {
  /** Milliseconds since the epoch. */
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock tests can move by hand. */
export function manualClock (start = Date.now()): Clock & { set (ms: number): void, advance (ms: number): void } {
  let t = start
  return {
    now: () => t,
    set (ms) { t = ms },
    advance (ms) { t += ms }
  }
}
