/**
 * The task's one source of time, in seconds. Every state test and every trial record reads it, so a
 * simulation can run the task faster than real time by driving a BinClock from the decodes.
 */
export interface Clock {
  now(): number;
}

/** Real time: the monotonic clock (performance.now), for a subject in front of the screen. */
export const monotonicClock: Clock = { now: () => performance.now() / 1000 };

/**
 * Time that moves only when the task says a bin has passed: lockstep and simulation, where a
 * decode stands for binMs of the subject's time however fast it arrived.
 */
export class BinClock implements Clock {
  private t = 0;
  constructor(private readonly binS: number) {}
  now(): number {
    return this.t;
  }
  advance(bins = 1): void {
    this.t += bins * this.binS;
  }
}
