/**
 * Preloaded into a Node target by bench/roundtrip.ts (`node --import …/clock-probe.js`): logs once,
 * on stderr as NDJSON, where performance.now() starts on CLOCK_MONOTONIC. The daemon stamps
 * Decoded.received_ns/decoded_ns/sent_ns with performance.now() × 1e6, whose origin is this
 * process's start; process.hrtime() is CLOCK_MONOTONIC itself (libuv's uv_hrtime), the clock
 * Python's time.monotonic_ns() reads. With the origin, the client can place the daemon's stamps
 * between its own send and receive.
 */
let best = Infinity;
let origin = 0;
for (let i = 0; i < 50; i++) {
  const a = process.hrtime.bigint();
  const now = performance.now();
  const b = process.hrtime.bigint();
  // The narrowest bracket pins performance.now() best.
  if (Number(b - a) < best) {
    best = Number(b - a);
    origin = Number(a) + Number(b - a) / 2 - now * 1e6;
  }
}
process.stderr.write(JSON.stringify({ level: 'info', msg: 'clock', monotonic_origin_ns: origin, bracket_ns: best }) + '\n');
export {};
