import { UnavailableError } from '../../errors.js'

// Opt-in fault injection for demonstrating client retries: a share of calls (rate 0..1) and/or the first `count`
// calls fail with UNAVAILABLE before their handler runs. Off (rate 0, count 0) by default.

export interface ChaosOptions { rate: number, count: number, random?: () => number }

export function chaosGate ({ rate, count, random = Math.random }: ChaosOptions) {
  let remaining = count
  return {
    enabled: rate > 0 || count > 0,
    /** Throws UnavailableError when this call is one to fail. */
    check (): void {
      if (remaining > 0) {
        remaining--
        throw new UnavailableError('chaos: injected failure (SHAPES_CHAOS_FAILURE_COUNT)')
      }
      if (rate > 0 && random() < rate) throw new UnavailableError('chaos: injected failure (SHAPES_CHAOS_FAILURE_RATE)')
    }
  }
}
