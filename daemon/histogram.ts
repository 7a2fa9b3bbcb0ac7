/**
 * HDR-style histogram: log-linear buckets (2^subBucketBits linear sub-buckets per power of two),
 * fixed memory, record() without allocation, percentiles with relative error ≤ 2^-(subBucketBits-1),
 * exact count/min/max/mean, merge, and a JSON form that can be merged or plotted later.
 *
 * Values are non-negative numbers in whatever unit the caller picks (the daemon uses ns); they are
 * truncated to integers. Values above maxValue land in the top bucket (max stays exact).
 *
 * The project's one histogram. Node's perf_hooks.createHistogram() (also HDR, and also 0 B per
 * record()) was measured and not used: it refuses 0, has no bucket iteration (plots, Prometheus
 * cumulative buckets) and no way back from JSON, and its percentile rounds the rank instead of
 * taking the nearest rank.
 */
import { nearestRankIndex, type Summary } from '../report/stats.js';

export interface HistogramOptions {
  /** log2 of the number of linear sub-buckets per power of two (default 10: ~0.2% resolution). */
  subBucketBits?: number;
  /** Largest value resolved (default 2^43, ~2.4 hours in ns). */
  maxValue?: number;
}

export type HistogramSummary = Summary;

/** Serialized histogram: layout plus the non-empty buckets as [index, count] pairs. */
export interface HistogramExport extends HistogramSummary {
  subBucketBits: number;
  maxValue: number;
  sum: number;
  buckets: Array<[number, number]>;
}

export class HistogramError extends Error {
  readonly code = 'EHISTOGRAM';
  constructor(message: string) {
    super(message);
    this.name = 'HistogramError';
  }
}

export class Histogram {
  readonly subBucketBits: number;
  readonly maxValue: number;
  private readonly sub: number;
  private readonly half: number;
  private readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(opts: HistogramOptions = {}) {
    this.subBucketBits = opts.subBucketBits ?? 10;
    this.maxValue = opts.maxValue ?? 2 ** 43;
    if (!Number.isInteger(this.subBucketBits) || this.subBucketBits < 2 || this.subBucketBits > 20)
      throw new HistogramError(`subBucketBits must be an integer in 2…20, got ${this.subBucketBits}`);
    if (!(this.maxValue >= 2 ** this.subBucketBits) || this.maxValue > 2 ** 53)
      throw new HistogramError(`maxValue must be in 2^subBucketBits…2^53, got ${this.maxValue}`);
    this.sub = 2 ** this.subBucketBits;
    this.half = this.sub / 2;
    this.counts = new Float64Array(this.indexOf(this.maxValue) + 1);
  }

  /** Bucket index of an integer value ≤ maxValue. */
  private indexOf(v: number): number {
    if (v < this.sub) return v;
    if (v < 4294967296) {
      // Below 2^32 (4.3 s in ns, every latency on the bin path): exact integer arithmetic, ~3× faster than log2.
      const e = 31 - Math.clz32(v) - (this.subBucketBits - 1);
      return e * this.half + (v >>> e);
    }
    let e = Math.floor(Math.log2(v)) - (this.subBucketBits - 1);
    let s = Math.floor(v / 2 ** e);
    // Guard against log2 rounding at powers of two.
    if (s >= this.sub) {
      e++;
      s = Math.floor(v / 2 ** e);
    } else if (s < this.half) {
      e--;
      s = Math.floor(v / 2 ** e);
    }
    return e * this.half + s;
  }

  /** [lowest, highest] integer value of bucket i. */
  bucketRange(i: number): [number, number] {
    if (i < this.sub) return [i, i];
    const e = Math.floor(i / this.half) - 1;
    const s = i - e * this.half;
    const w = 2 ** e;
    return [s * w, (s + 1) * w - 1];
  }

  record(value: number): void {
    if (!(value >= 0)) return; // NaN or negative: not a latency; ignored rather than corrupting the histogram
    const v = Math.floor(value);
    this.counts[v >= this.maxValue ? this.counts.length - 1 : this.indexOf(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** The nearest-rank percentile (report/stats.ts), to the bucket: its upper edge, clamped to [min, max]. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const target = nearestRankIndex(p, this.count) + 1;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i];
      if (acc >= target) return Math.min(this.max, Math.max(this.min, this.bucketRange(i)[1]));
    }
    return this.max;
  }

  get mean(): number {
    return this.count ? this.sum / this.count : 0;
  }

  merge(other: Histogram): void {
    if (other.subBucketBits !== this.subBucketBits || other.maxValue !== this.maxValue)
      throw new HistogramError('cannot merge histograms with different layouts');
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  summary(scale = 1): HistogramSummary {
    const f = (v: number) => (this.count ? v / scale : 0);
    return {
      count: this.count,
      min: f(this.min),
      mean: f(this.mean),
      p50: f(this.percentile(50)),
      p90: f(this.percentile(90)),
      p99: f(this.percentile(99)),
      p999: f(this.percentile(99.9)),
      max: f(this.max),
    };
  }

  /**
   * For each upper bound (ascending, in the recorded unit), how many values were recorded at or
   * below it, to the bucket: a bucket counts once its upper edge is ≤ the bound. Prometheus'
   * cumulative `le` buckets come from this; it allocates only `out` when none is given.
   */
  cumulativeCounts(bounds: ArrayLike<number>, out: Float64Array = new Float64Array(bounds.length)): Float64Array {
    let acc = 0;
    let i = 0;
    for (let b = 0; b < bounds.length; b++) {
      const le = bounds[b];
      for (; i < this.counts.length; i++) {
        if (this.counts[i] === 0) continue;
        if (this.bucketRange(i)[1] > le) break;
        acc += this.counts[i];
      }
      out[b] = acc;
    }
    return out;
  }

  /** Non-empty buckets as { lo, hi, count } (for plots). */
  buckets(): Array<{ lo: number; hi: number; count: number }> {
    const out: Array<{ lo: number; hi: number; count: number }> = [];
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] === 0) continue;
      const [lo, hi] = this.bucketRange(i);
      out.push({ lo, hi, count: this.counts[i] });
    }
    return out;
  }

  toJSON(): HistogramExport {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] !== 0) buckets.push([i, this.counts[i]]);
    return { ...this.summary(), subBucketBits: this.subBucketBits, maxValue: this.maxValue, sum: this.sum, buckets };
  }

  static fromJSON(j: HistogramExport): Histogram {
    const h = new Histogram({ subBucketBits: j.subBucketBits, maxValue: j.maxValue });
    for (const [i, c] of j.buckets) {
      if (!Number.isInteger(i) || i < 0 || i >= h.counts.length) throw new HistogramError(`bucket index ${i} out of range`);
      h.counts[i] += c;
    }
    h.count = j.count;
    h.sum = j.sum;
    h.min = j.count ? j.min : Infinity;
    h.max = j.count ? j.max : -Infinity;
    return h;
  }
}
