/**
 * lsl_local_clock(): seconds since an arbitrary epoch on the monotonic clock. liblsl 1.15+ uses
 * std::chrono::steady_clock and 1.12 boost's high_resolution_clock, both CLOCK_MONOTONIC on Linux,
 * which is also what process.hrtime reads, so on one Linux machine our stamps and liblsl's agree
 * (tests/lsl checks this against the real library).
 */
export function localClock(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}
