/**
 * Part 1 of the simulated user (Willett et al.'s closed-loop simulator): delayed visual feedback
 * and the user's internal estimate of where the cursor is now.
 *
 * The user sees the cursor as it was `delayBins` bins ago (visual latency plus reaction, about
 * 200 ms in people and monkeys). On its own, acting on that stale position makes a feedback
 * controller overshoot and orbit at any useful speed. Willett et al. give the user a forward
 * model instead: the estimate is the delayed position plus the integral of the user's *own
 * intended* velocities over the delay. It is not the cursor's actual motion (the user has no
 * efference copy of the decoder), so a decoder that does not move the cursor as intended still
 * causes errors the user sees only 200 ms later, which is the point of simulating the loop.
 * `forwardModel: false` gives plain delayed perception, for comparison.
 *
 * Allocation-free per bin: two ring buffers sized at construction.
 */
import { UserError } from './errors.js';

export interface FeedbackOptions {
  /** Visual delay in bins (0 = the user sees the current cursor). */
  delayBins: number;
  /** Bin width, seconds (to integrate intended velocity into position). */
  dt: number;
  /** Integrate the user's own recent intentions over the delay (default true). */
  forwardModel?: boolean;
}


export class DelayedFeedback {
  readonly delayBins: number;
  readonly forwardModel: boolean;
  private readonly dt: number;
  /** Ring of seen cursor positions (x, y), the newest at `head`. */
  private readonly seen: Float64Array;
  /** Ring of the user's intended velocities of the last delayBins bins. */
  private readonly intended: Float64Array;
  private head = 0;
  /** Cursor samples seen so far (until delayBins + 1, the oldest is the best we have). */
  private filled = 0;
  /** observe() calls so far: bin t's intention lives in slot t mod delayBins. */
  private count = 0;

  constructor(o: FeedbackOptions) {
    if (!Number.isInteger(o.delayBins) || o.delayBins < 0 || o.delayBins > 10_000) throw new UserError('EUSEROPTS', `feedback: delayBins must be an integer in 0–10000, got ${o.delayBins}`);
    if (!(o.dt > 0)) throw new UserError('EUSEROPTS', `feedback: dt must be > 0 s, got ${o.dt}`);
    this.delayBins = o.delayBins;
    this.dt = o.dt;
    this.forwardModel = o.forwardModel ?? true;
    this.seen = new Float64Array(2 * (o.delayBins + 1));
    this.intended = new Float64Array(2 * Math.max(1, o.delayBins));
  }

  /** Takes this bin's true cursor position (what reaches the eye now, seen delayBins later). */
  observe(x: number, y: number): void {
    const n = this.delayBins + 1;
    this.head = (this.head + 1) % n;
    this.seen[2 * this.head] = x;
    this.seen[2 * this.head + 1] = y;
    if (this.filled < n) this.filled++;
    this.count++;
  }

  /** Records the velocity the user intended this bin (for the forward model). */
  intend(vx: number, vy: number): void {
    if (this.delayBins === 0 || this.count === 0) return;
    const k = (this.count - 1) % this.delayBins;
    this.intended[2 * k] = vx;
    this.intended[2 * k + 1] = vy;
  }

  /**
   * The user's estimate of the cursor now, into out[0..1]; false before any cursor was seen.
   * The delayed sample is the oldest in the ring; until the ring has filled, the oldest seen.
   */
  estimate(out: Float64Array | number[]): boolean {
    if (this.filled === 0) return false;
    const n = this.delayBins + 1;
    const oldest = this.filled < n ? (this.head - this.filled + 1 + n) % n : (this.head + 1) % n;
    let x = this.seen[2 * oldest];
    let y = this.seen[2 * oldest + 1];
    if (this.forwardModel && this.delayBins > 0) {
      // The intentions issued since the oldest seen sample: bins t−1 … t−m, m = min(filled − 1, delay).
      const m = Math.min(this.filled - 1, this.delayBins);
      for (let j = 0; j < m; j++) {
        const k = (this.count - 2 - j) % this.delayBins;
        x += this.intended[2 * k] * this.dt;
        y += this.intended[2 * k + 1] * this.dt;
      }
    }
    out[0] = x;
    out[1] = y;
    return true;
  }

  reset(): void {
    this.seen.fill(0);
    this.intended.fill(0);
    this.head = 0;
    this.filled = 0;
    this.count = 0;
  }
}
