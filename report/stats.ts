/**
 * Summary statistics for reports, benchmarks and the daemon's histogram: THE percentile definition
 * (nearest rank) and THE R² definition of the project. Every percentile and R² anywhere in
 * langevind comes from here.
 */

/** count/min/mean/max and the percentiles every report and summary prints (exact or bucketed). */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Nearest rank: the p-th percentile (p in [0, 100]) of n ascending values is the smallest value
 * with at least ceil(p/100 · n) values at or below it. Returns its 0-based index (0 for p = 0).
 */
export function nearestRankIndex(p: number, n: number): number {
  const x = (p / 100) * n;
  // The relative epsilon keeps float noise (0.999 × 1000 = 999.0000000000001) from moving up one rank.
  return Math.min(n - 1, Math.max(0, Math.ceil(x - 1e-12 * x) - 1));
}

/** Nearest-rank percentile (p in [0, 100]) of an ascending array: always a value that occurred; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  return sorted.length === 0 ? NaN : sorted[nearestRankIndex(p, sorted.length)];
}

/** Summary of the finite values; NaN fields when there are none. */
export function summarize(values: ArrayLike<number>): Summary {
  const v = Float64Array.from({ length: values.length }, (_, i) => values[i]).filter((x) => Number.isFinite(x)).sort();
  const n = v.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += v[i];
  return {
    count: n,
    min: n ? v[0] : NaN,
    mean: n ? sum / n : NaN,
    p50: percentileSorted(v, 50),
    p90: percentileSorted(v, 90),
    p99: percentileSorted(v, 99),
    p999: percentileSorted(v, 99.9),
    max: n ? v[n - 1] : NaN,
  };
}

/**
 * R² = 1 − SS_res / SS_tot of `pred` against `truth` (SS_tot about the truth's mean), over the
 * indices where both are finite; NaN when fewer than two such points or the truth is constant.
 */
export function rSquared(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const acc = new RunningR2(1);
  const n = Math.min(pred.length, truth.length);
  for (let i = 0; i < n; i++) acc.add(0, pred[i], truth[i]);
  return acc.r2(0);
}

/** JSON-safe number: NaN and ±Infinity become null (JSON.stringify would write null anyway, silently). */
export function jsonNum(x: number, digits = 6): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : null;
}

export function roundSummary(s: Summary, digits = 4): Record<keyof Summary, number | null> {
  const out = {} as Record<keyof Summary, number | null>;
  for (const k of Object.keys(s) as (keyof Summary)[]) out[k] = k === 'count' ? s.count : jsonNum(s[k], digits);
  return out;
}

/**
 * R² per axis (rSquared's definition) accumulated one sample at a time, for live status lines and
 * as the one implementation behind rSquared: the truth's mean and SS_tot by Welford's update, so a
 * constant truth gives SS_tot exactly 0 and long runs lose no precision.
 */
export class RunningR2 {
  private readonly n: Float64Array;
  private readonly mean: Float64Array;
  private readonly ssTot: Float64Array;
  private readonly ssRes: Float64Array;
  constructor(readonly axes: number) {
    this.n = new Float64Array(axes);
    this.mean = new Float64Array(axes);
    this.ssTot = new Float64Array(axes);
    this.ssRes = new Float64Array(axes);
  }
  add(axis: number, pred: number, truth: number): void {
    if (!Number.isFinite(pred) || !Number.isFinite(truth)) return;
    const n = ++this.n[axis];
    const d = truth - this.mean[axis];
    this.mean[axis] += d / n;
    this.ssTot[axis] += d * (truth - this.mean[axis]);
    this.ssRes[axis] += (truth - pred) ** 2;
  }
  r2(axis: number): number {
    return this.n[axis] >= 2 && this.ssTot[axis] > 0 ? 1 - this.ssRes[axis] / this.ssTot[axis] : NaN;
  }
  /** Mean over axes (NaN if any axis is). */
  meanR2(): number {
    let s = 0;
    for (let a = 0; a < this.axes; a++) s += this.r2(a);
    return s / this.axes;
  }
}
