/** Summary statistics for reports: exact percentiles of a sample and the coefficient of determination. */

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
