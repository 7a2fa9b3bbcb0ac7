import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimate, histogramPlot, linePlot } from '../../report/plots.js';
import { esc, logTicks, niceTicks } from '../../report/svg.js';
import { nearestRankIndex, percentileSorted, rSquared, RunningR2, summarize } from '../../report/stats.js';
import { Histogram } from '../../daemon/histogram.js';
import { htmlPage, table } from '../../report/html.js';

test('niceTicks covers the range with round steps', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.13, 0.87, 4), [0.2, 0.4, 0.6, 0.8]);
});

test('logTicks gives decades, with 2 and 5 over a short range', () => {
  assert.deepEqual(logTicks(0.01, 100), [0.01, 0.1, 1, 10, 100]);
  assert.deepEqual(logTicks(0.1, 1), [0.1, 0.2, 0.5, 1]);
});

test('nearest-rank percentiles and summary ignore non-finite values', () => {
  const v = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentileSorted(v, 50), 500);
  assert.equal(percentileSorted(v, 99), 990);
  assert.equal(percentileSorted(v, 99.9), 999);
  assert.equal(percentileSorted(v, 100), 1000);
  const s = summarize([3, NaN, 1, 2, Infinity]);
  assert.equal(s.count, 3);
  assert.equal(s.min, 1);
  assert.equal(s.max, 3);
  assert.equal(s.mean, 2);
  assert.ok(Number.isNaN(summarize([]).p50));
});

test('rSquared: 1 for a perfect fit, 0 for the mean, NaN for a constant truth', () => {
  const t = [1, 2, 3, 4];
  assert.equal(rSquared(t, t), 1);
  assert.equal(rSquared([2.5, 2.5, 2.5, 2.5], t), 0);
  assert.ok(Math.abs(rSquared([1, 2, 3, 5], t) - (1 - 1 / 5)) < 1e-12);
  assert.ok(Number.isNaN(rSquared([1, 2], [3, 3])));
  assert.equal(rSquared([1, NaN, 3, 4], t), 1, 'a missing prediction is left out, not counted as 0');
});

test('decimate keeps the extremes of each bucket', () => {
  const n = 10_000;
  const x = Array.from({ length: n }, (_, i) => i);
  const y = x.map((i) => (i === 4321 ? 100 : i === 777 ? -50 : Math.sin(i / 100)));
  const d = decimate(x, y, 200);
  assert.ok(d.x.length <= 200);
  assert.ok(d.y.includes(100) && d.y.includes(-50), 'the spike and the dip survive');
  for (let i = 1; i < d.x.length; i++) assert.ok(d.x[i] > d.x[i - 1], 'x stays increasing');
});

test('linePlot and histogramPlot produce SVG with the data, axes and escaped labels', () => {
  const svg = linePlot({ title: 'a < b', xLabel: 't (s)', yLabel: 'ms', series: [{ label: 'lat', x: [0, 1, 2], y: [0.2, 0.3, NaN] }], hLines: [{ y: 1, label: 'deadline' }] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.ok(svg.includes('a &lt; b') && !svg.includes('a < b'));
  assert.match(svg, /<path d="M[^"]+L[^"]+"/);
  assert.ok(svg.includes('deadline'));
  const hist = new Histogram({ subBucketBits: 4 });
  for (const ms of [0.1, 0.1, 0.2, 3]) hist.record(ms * 1e6);
  const h = histogramPlot({ title: 'latency', xLabel: 'ms', buckets: hist.buckets(), scale: 1e6, markers: [{ x: 1, label: 'p99' }] });
  assert.equal((h.match(/<rect [^>]*fill="#0072b2"/g) ?? []).length, 3, 'one bar per non-empty bucket');
  assert.match(h, /<title>0\.0[0-9]+–0\.1[0-9]*: 2<\/title>/, 'the bar of 0.1 ms holds both values');
  assert.ok(h.includes('p99'));
  assert.ok(linePlot({ title: 'e', xLabel: 'x', yLabel: 'y', series: [] }).includes('no data'));
  const logp = linePlot({ title: 'l', xLabel: 'x', yLabel: 'y', logY: true, series: [{ label: 's', x: [0, 1], y: [0.01, 10] }] });
  assert.ok(logp.includes('>0.01<') && logp.includes('>10<'));
});

test('htmlPage is self-contained and escapes text', () => {
  const page = htmlPage('Report <1>', [{ heading: 'Numbers', html: table([['p99 (ms)', 0.5], ['lost', null]]) }]);
  assert.ok(page.startsWith('<!DOCTYPE html>'));
  assert.ok(page.includes('Report &lt;1&gt;'));
  assert.ok(page.includes('<td>0.5</td>') && page.includes('<td>—</td>'));
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(page));
  assert.equal(esc('"&'), '&quot;&amp;');
});

test('nearest rank: the smallest value with at least ceil(p·n) values at or below it', () => {
  // Against the definition itself, by counting, for every p on a fine grid and several n.
  for (const n of [1, 2, 7, 10, 100, 1000, 1001]) {
    const v = Float64Array.from({ length: n }, (_, i) => i + 1);
    for (let k = 0; k <= 10000; k += 7) {
      const p = k / 100;
      const need = Math.max(1, Math.ceil(Number(((p / 100) * n).toFixed(9))));
      const want = v.find((x) => v.filter((y) => y <= x).length >= need)!;
      assert.equal(percentileSorted(v, p), want, `n ${n} p ${p}`);
      assert.equal(v[nearestRankIndex(p, n)], want);
    }
  }
  // floor(p·n) as an index (what the benchmarks used to do) differs, e.g. p50 of 1…10:
  assert.equal(percentileSorted(Float64Array.from({ length: 10 }, (_, i) => i + 1), 50), 5);
});

test('RunningR2 accumulates per axis what rSquared computes, against the two-pass formula', () => {
  const truth = Array.from({ length: 200 }, (_, i) => 1e3 + Math.sin(i / 7));
  const pred = truth.map((t, i) => t + 0.3 * Math.cos(i));
  const m = truth.reduce((a, b) => a + b, 0) / truth.length;
  const res = truth.reduce((a, t, i) => a + (t - pred[i]) ** 2, 0);
  const tot = truth.reduce((a, t) => a + (t - m) ** 2, 0);
  const r = new RunningR2(2);
  truth.forEach((t, i) => { r.add(0, pred[i], t); r.add(1, t, t); });
  assert.ok(Math.abs(r.r2(0) - (1 - res / tot)) < 1e-9, `${r.r2(0)} vs ${1 - res / tot}`);
  assert.ok(Math.abs(rSquared(pred, truth) - (1 - res / tot)) < 1e-9);
  assert.equal(r.r2(1), 1);
  assert.ok(Math.abs(r.meanR2() - (1 + 1 - res / tot) / 2) < 1e-9);
  const c = new RunningR2(1);
  for (let i = 0; i < 50; i++) c.add(0, i, 0.1);
  assert.ok(Number.isNaN(c.r2(0)), 'a constant truth has no R², however it was rounded');
});
