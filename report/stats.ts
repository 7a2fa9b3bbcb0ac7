/** Summary statistics for reports: exact percentiles of a sample and the coefficient of determination. */
import type { HistogramSummary } from '../daemon/histogram.js';

/** The same fields as a histogram's summary, so reports treat exact and bucketed figures alike. */
export type Summary = HistogramSummary;

/** Nearest-rank percentile (p in [0, 100]) of an ascending array: always a value that occurred. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  // The epsilon keeps float noise in p/100·n (0.999 × 1000 = 999.0000000000001) from moving up one rank.
  const k = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n - 1e-9) - 1));
  return sorted[k];
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
 * R² = 1 − SS_res / SS_tot of `pred` against `truth`, over the indices where both are finite.
 * NaN when fewer than two such points or the truth is constant.
 */
export function rSquared(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const n = Math.min(pred.length, truth.length);
  let m = 0;
  let cnt = 0;
  for (let i = 0; i < n; i++)
    if (Number.isFinite(pred[i]) && Number.isFinite(truth[i])) {
      m += truth[i];
      cnt++;
    }
  if (cnt < 2) return NaN;
  m /= cnt;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++)
    if (Number.isFinite(pred[i]) && Number.isFinite(truth[i])) {
      res += (truth[i] - pred[i]) ** 2;
      tot += (truth[i] - m) ** 2;
    }
  return tot > 0 ? 1 - res / tot : NaN;
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
 * Live percentiles in O(1) per value: log-spaced buckets 1 % wide from `min` up, so a status
 * line can show p50/p99 while bins flow without sorting on the receive path.
 */
export class LogBuckets {
  private readonly counts: Float64Array;
  private readonly logStep = Math.log(1.01);
  n = 0;
  constructor(private readonly min = 1e-3, decades = 8) {
    this.counts = new Float64Array(Math.ceil((decades * Math.LN10) / this.logStep) + 2);
  }
  add(x: number): void {
    if (!Number.isFinite(x)) return;
    const k = x <= this.min ? 0 : Math.min(this.counts.length - 1, 1 + Math.floor(Math.log(x / this.min) / this.logStep));
    this.counts[k]++;
    this.n++;
  }
  /** Upper edge of the bucket holding the p-th percentile (within 1 %); NaN when empty. */
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.n - 1e-9));
    let acc = 0;
    for (let k = 0; k < this.counts.length; k++) {
      acc += this.counts[k];
      if (acc >= target) return k === 0 ? this.min : this.min * Math.exp(k * this.logStep);
    }
    return Infinity;
  }
}

/** R² per axis accumulated one sample at a time (for a live status line). */
export class RunningR2 {
  private readonly n: Float64Array;
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private readonly res: Float64Array;
  constructor(readonly axes: number) {
    this.n = new Float64Array(axes);
    this.sum = new Float64Array(axes);
    this.sumSq = new Float64Array(axes);
    this.res = new Float64Array(axes);
  }
  add(axis: number, pred: number, truth: number): void {
    if (!Number.isFinite(pred) || !Number.isFinite(truth)) return;
    this.n[axis]++;
    this.sum[axis] += truth;
    this.sumSq[axis] += truth * truth;
    this.res[axis] += (truth - pred) ** 2;
  }
  r2(axis: number): number {
    const n = this.n[axis];
    const tot = this.sumSq[axis] - (this.sum[axis] * this.sum[axis]) / n;
    return n >= 2 && tot > 0 ? 1 - this.res[axis] / tot : NaN;
  }
  mean(): number {
    let s = 0;
    for (let a = 0; a < this.axes; a++) s += this.r2(a);
    return s / this.axes;
  }
}
