/**
 * lsl_local_clock(): seconds since an arbitrary epoch on the monotonic clock. liblsl 1.15+ uses
 * std::chrono::steady_clock and 1.12 boost's high_resolution_clock, both CLOCK_MONOTONIC on Linux,
 * which is also what process.hrtime reads, so on one Linux machine our stamps and liblsl's agree
 * (tests/lsl checks this against the real library).
 */
export function localClock(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/**
 * performance.now() (streams/types.ts monotonicNs) reads the same CLOCK_MONOTONIC as hrtime,
 * from an origin at process start, so the two differ by a constant: measured once here, as the
 * tightest of a few bracketed readings. A bin's arrival is stamped once, in monotonic ns, and its
 * LSL time derived from that stamp (`ns * 1e-9 + MONOTONIC_TO_LSL_S`), without the BigInt that
 * localClock() allocates.
 */
export const MONOTONIC_TO_LSL_S: number = (() => {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 16; i++) {
    const a = performance.now();
    const t = Number(process.hrtime.bigint()) / 1e9;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = t - ((a + b) / 2) * 1e-3;
    }
  }
  return offset;
})();

/** The LSL local clock (s) of a monotonicNs() stamp. */
export function lslTimeOfNs(ns: number): number {
  return ns * 1e-9 + MONOTONIC_TO_LSL_S;
}
