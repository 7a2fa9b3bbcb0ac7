/**
 * Clock synchronisation of XDF timestamps from ClockOffset measurements, in the spirit of
 * pyxdf's `_clock_sync`: split the measurements at clock resets, fit `value ≈ a + b·time`
 * robustly in each segment, and add `a + b·ts` to every timestamp of that segment.
 */

export interface ClockOffset { time: number; value: number }

export interface ClockSyncOptions {
  /** Thresholds for a reset, as pyxdf's defaults: a jump must be unusual both in MAD units and in seconds. */
  resetThresholdStds?: number;
  resetThresholdSeconds?: number;
  resetThresholdOffsetStds?: number;
  resetThresholdOffsetSeconds?: number;
}

function median(xs: ArrayLike<number>): number {
  const a = Float64Array.from(xs).sort();
  const n = a.length;
  if (n === 0) return NaN;
  return n % 2 ? a[(n - 1) >> 1] : 0.5 * (a[n / 2 - 1] + a[n / 2]);
}

/** Index ranges [start, end] (inclusive) of clock-offset segments between clock resets. */
export function clockSegments(offsets: readonly ClockOffset[], o: ClockSyncOptions = {}): [number, number][] {
  const n = offsets.length;
  if (n < 2) return [[0, n - 1]];
  const stds = o.resetThresholdStds ?? 5;
  const secs = o.resetThresholdSeconds ?? 5;
  const ostds = o.resetThresholdOffsetStds ?? 10;
  const osecs = o.resetThresholdOffsetSeconds ?? 1;
  const dt = new Float64Array(n - 1);
  const dv = new Float64Array(n - 1);
  for (let i = 0; i < n - 1; i++) {
    dt[i] = offsets[i + 1].time - offsets[i].time;
    dv[i] = Math.abs(offsets[i + 1].value - offsets[i].value);
  }
  const medIval = median(dt);
  const medSlope = median(dv);
  const madT = median(dt.map((x) => Math.abs(x - medIval))) + Number.EPSILON;
  const madV = median(dv.map((x) => Math.abs(x - medSlope))) + Number.EPSILON;
  const ranges: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < n - 1; i++) {
    const timeGlitch = dt[i] < 0 || ((dt[i] - medIval) / madT > stds && dt[i] - medIval > secs);
    const valueGlitch = (dv[i] - medSlope) / madV > ostds && dv[i] - medSlope > osecs;
    if (timeGlitch && valueGlitch) {
      ranges.push([start, i]);
      start = i + 1;
    }
  }
  ranges.push([start, n - 1]);
  return ranges;
}

/** Robust (Huber, IRLS) fit of value ≈ a + b·time; returns [a, b]. One point gives [value, 0]. */
export function robustLineFit(times: ArrayLike<number>, values: ArrayLike<number>): [number, number] {
  const n = times.length;
  if (n === 0) return [0, 0];
  if (n === 1) return [values[0], 0];
  let tm = 0;
  for (let i = 0; i < n; i++) tm += times[i];
  tm /= n;
  const w = new Float64Array(n).fill(1);
  const r = new Float64Array(n);
  let a = 0;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let sw = 0, st = 0, sv = 0;
    for (let i = 0; i < n; i++) { sw += w[i]; st += w[i] * (times[i] - tm); sv += w[i] * values[i]; }
    const mt = st / sw, mv = sv / sw;
    let stt = 0, stv = 0;
    for (let i = 0; i < n; i++) {
      const dt = times[i] - tm - mt;
      stt += w[i] * dt * dt;
      stv += w[i] * dt * (values[i] - mv);
    }
    const nb = stt > 0 ? stv / stt : 0;
    const na = mv - nb * mt;
    const converged = iter > 0 && Math.abs(na - a) <= 1e-12 * (1 + Math.abs(a)) && Math.abs(nb - b) <= 1e-15 * (1 + Math.abs(b));
    a = na;
    b = nb;
    if (converged) break;
    for (let i = 0; i < n; i++) r[i] = values[i] - (a + b * (times[i] - tm));
    const scale = 1.4826 * median(r.map(Math.abs));
    if (!(scale > 0)) break;
    const k = 1.345 * scale;
    for (let i = 0; i < n; i++) { const ar = Math.abs(r[i]); w[i] = ar <= k ? 1 : k / ar; }
  }
  return [a - b * tm, b];
}

/**
 * Adds the fitted clock offset to each timestamp in place. A timestamp belongs to the segment
 * whose measurement-time span contains it, else to the nearest one (ties: the later segment).
 */
export function syncTimestamps(ts: Float64Array, offsets: readonly ClockOffset[], o: ClockSyncOptions = {}): void {
  if (offsets.length === 0 || ts.length === 0) return;
  const segs = clockSegments(offsets, o);
  const fits = segs.map(([s, e]) => {
    const sub = offsets.slice(s, e + 1);
    return robustLineFit(sub.map((x) => x.time), sub.map((x) => x.value));
  });
  const spans = segs.map(([s, e]) => {
    let lo = Infinity, hi = -Infinity;
    for (let i = s; i <= e; i++) { lo = Math.min(lo, offsets[i].time); hi = Math.max(hi, offsets[i].time); }
    return [lo, hi] as const;
  });
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    let best = 0;
    let bestD = Infinity;
    for (let k = 0; k < spans.length; k++) {
      const [lo, hi] = spans[k];
      const d = t < lo ? lo - t : t > hi ? t - hi : 0;
      if (d <= bestD) { bestD = d; best = k; }
    }
    const [a, b] = fits[best];
    ts[i] = t + a + b * t;
  }
}
