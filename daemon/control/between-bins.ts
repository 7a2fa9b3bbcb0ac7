/**
 * Runs work on the daemon's one event loop in small slices placed right after a bin was decoded,
 * when the next bin is furthest away, so a model swap's preparation never holds up a bin. It
 * watches the decoded-bin counter (read, never written: the bin path does not know it exists)
 * on a 1 ms timer only while work is queued. When the input is silent it does not wait for a bin.
 */

export interface SliceStats {
  slices: number;
  /** Longest slice (ms), and the sum of all (ms). */
  longestMs: number;
  totalMs: number;
}

export type Slice = () => void;

export class BetweenBins {
  constructor(
    private readonly binsDecoded: () => number,
    private readonly binMs: number,
  ) {}

  /**
   * Runs the slices in order, one per bin (several per bin while the input is silent).
   * Rejects with the first slice's exception; the remaining ones are skipped.
   */
  run(slices: readonly Slice[]): Promise<SliceStats> {
    const stats: SliceStats = { slices: 0, longestMs: 0, totalMs: 0 };
    if (slices.length === 0) return Promise.resolve(stats);
    return new Promise((resolve, reject) => {
      let i = 0;
      let seen = this.binsDecoded();
      let lastChange = performance.now();
      const tick = (): void => {
        const n = this.binsDecoded();
        const now = performance.now();
        const afterBin = n !== seen;
        if (afterBin) {
          seen = n;
          lastChange = now;
        }
        // Silent input (no bin for two bin widths): nothing to protect, run now.
        if (afterBin || now - lastChange > 2 * this.binMs) {
          const t0 = performance.now();
          try {
            slices[i++]();
          } catch (err) {
            reject(err);
            return;
          }
          const ms = performance.now() - t0;
          stats.slices++;
          stats.totalMs += ms;
          if (ms > stats.longestMs) stats.longestMs = ms;
          if (i === slices.length) {
            resolve(stats);
            return;
          }
        }
        setTimeout(tick, 1);
      };
      setTimeout(tick, 1);
    });
  }
}
