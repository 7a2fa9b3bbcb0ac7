import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Histogram, HistogramError } from '../../daemon/histogram.js';
import { percentileSorted } from '../../report/stats.js';
import { mulberry32 } from '../../model/init.js';

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('Histogram', () => {
  it('percentiles are within the bucket resolution of the exact ones, min/max/mean exact', () => {
    const rand = mulberry32(5);
    const values: number[] = [];
    const h = new Histogram();
    for (let i = 0; i < 20000; i++) {
      // log-uniform from 1 µs to 10 ms in ns, with a heavy tail
      const v = Math.floor(Math.exp(Math.log(1e3) + rand() * Math.log(1e4)));
      values.push(v);
      h.record(v);
    }
    values.sort((a, b) => a - b);
    const rel = 2 ** -(h.subBucketBits - 1);
    for (const p of [1, 50, 90, 99, 99.9]) {
      const exact = exactPercentile(values, p);
      const got = h.percentile(p);
      assert.ok(got >= exact && got <= exact * (1 + rel) + 1, `p${p}: got ${got}, exact ${exact}`);
    }
    assert.equal(h.min, values[0]);
    assert.equal(h.max, values[values.length - 1]);
    assert.equal(h.percentile(100), h.max);
    assert.ok(Math.abs(h.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-6 * h.mean);
  });

  it('small values are exact; values past maxValue keep an exact max', () => {
    const h = new Histogram({ subBucketBits: 4, maxValue: 1024 });
    for (const v of [0, 1, 2, 3, 15]) h.record(v);
    assert.equal(h.percentile(20), 0);
    assert.equal(h.percentile(60), 2);
    h.record(5000);
    assert.equal(h.max, 5000);
    assert.equal(h.percentile(100), 5000);
    assert.equal(h.count, 6);
  });

  it('on values it holds exactly, its percentile is the one nearest-rank definition (report/stats.ts)', () => {
    const h = new Histogram();
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    for (const v of sorted) h.record(v);
    for (const p of [0, 0.1, 25, 50, 50.01, 90, 99, 99.9, 99.95, 100]) assert.equal(h.percentile(p), percentileSorted(sorted, p), `p${p}`);
    assert.equal(h.percentile(50.01), 501, 'rank ceil(500.1) = 501 (perf_hooks would say 500)');
  });

  it('cumulativeCounts gives Prometheus-style "at or below" counts for ascending bounds', () => {
    const h = new Histogram();
    const rand = mulberry32(9);
    const values = Array.from({ length: 5000 }, () => Math.floor(rand() * 2e6));
    for (const v of values) h.record(v);
    const bounds = [0, 10_000, 50_000, 100_000, 500_000, 1e6, 5e6];
    const got = h.cumulativeCounts(bounds);
    bounds.forEach((le, k) => {
      const exact = values.filter((v) => v <= le).length;
      const straddling = values.filter((v) => v <= le && v > le * (1 - 2 ** -9)).length;
      assert.ok(got[k] <= exact && got[k] >= exact - straddling, `le ${le}: ${got[k]} vs exact ${exact}`);
    });
    assert.equal(got[bounds.length - 1], 5000);
    assert.deepEqual(Array.from(new Histogram().cumulativeCounts([1, 2])), [0, 0]);
  });

  it('every integer maps into a bucket that contains it', () => {
    const h = new Histogram({ subBucketBits: 5, maxValue: 2 ** 20 });
    const hh = h as unknown as { indexOf(v: number): number };
    for (let v = 0; v < 2 ** 20; v += 97) {
      const [lo, hi] = h.bucketRange(hh.indexOf(v));
      assert.ok(lo <= v && v <= hi, `${v} not in [${lo}, ${hi}]`);
    }
    for (let e = 5; e < 20; e++) for (const v of [2 ** e - 1, 2 ** e, 2 ** e + 1]) {
      const [lo, hi] = h.bucketRange(hh.indexOf(v));
      assert.ok(lo <= v && v <= hi, `${v} not in [${lo}, ${hi}]`);
    }
    // Both index paths (integer arithmetic below 2^32, log2 above) on the default layout.
    const d = new Histogram();
    const dd = d as unknown as { indexOf(v: number): number };
    for (let e = 10; e < 43; e++) for (const v of [2 ** e - 1, 2 ** e, 2 ** e + 1, 3 * 2 ** (e - 1) + 7]) {
      const [lo, hi] = d.bucketRange(dd.indexOf(v));
      assert.ok(lo <= v && v <= hi, `${v} not in [${lo}, ${hi}]`);
    }
  });

  it('ignores NaN and negative values', () => {
    const h = new Histogram();
    h.record(NaN);
    h.record(-5);
    assert.equal(h.count, 0);
    assert.deepEqual(h.summary(), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('merges, and survives a JSON round trip', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).record(i * 1000);
    const both = new Histogram();
    for (let i = 1; i <= 1000; i++) both.record(i * 1000);
    a.merge(b);
    assert.deepEqual(a.summary(), both.summary());
    const back = Histogram.fromJSON(JSON.parse(JSON.stringify(a)));
    assert.deepEqual(back.summary(), both.summary());
    assert.deepEqual(back.buckets(), both.buckets());
    assert.throws(() => a.merge(new Histogram({ subBucketBits: 8 })), (e: HistogramError) => e.code === 'EHISTOGRAM');
  });

  it('summary scales units', () => {
    const h = new Histogram();
    h.record(1500);
    assert.equal(h.summary(1000).max, 1.5);
  });
});
