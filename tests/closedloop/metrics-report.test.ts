/** The closed-loop report page (closedloop/metrics/report.ts) on blocks too large for a spread argument list. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockMetrics } from '../../closedloop/metrics/block.js';
import { metricsReportHtml, trajectoryHalfWidth } from '../../closedloop/metrics/report.js';
import type { TrialRecord } from '../../closedloop/metrics/trial.js';

/** 100 trials of 1,000 samples each (20 s at 20 ms bins): 200,200 values for the half-width. */
function largeBlock(): TrialRecord[] {
  return Array.from({ length: 100 }, (_, k) => {
    const n = 1000;
    const a = (2 * Math.PI * (k % 8)) / 8;
    const t = Array.from({ length: n }, (_, i) => 100 + k * 25 + i * 0.02);
    // A straight reach to 10 cm; trial 37 strays to x = −13.25 on the way.
    const x = t.map((_, i) => (10 * Math.cos(a) * i) / (n - 1));
    const y = t.map((_, i) => (10 * Math.sin(a) * i) / (n - 1));
    if (k === 37) x[500] = -13.25;
    return { trial: k, target: { index: k % 8, x: 10 * Math.cos(a), y: 10 * Math.sin(a), radius: 1.5 }, outcome: 'success', t, x, y };
  });
}

test('the report\'s default half-width of a block too large to spread into Math.max', () => {
  const records = largeBlock();
  const values = records.flatMap((r) => [...r.x.map(Math.abs), ...r.y.map(Math.abs), Math.abs(r.target.x) + r.target.radius, Math.abs(r.target.y) + r.target.radius]);
  // The block is large enough that the old spread overflowed the stack here.
  assert.throws(() => Math.max(1, ...values), RangeError);
  const blocks = [{ metrics: blockMetrics('large', records), records }];
  assert.equal(trajectoryHalfWidth(blocks), 13.25);
  const html = metricsReportHtml('large block', blocks);
  assert.equal((html.match(/<svg /g) ?? []).length, 8, 'one plot per target');
  assert.equal((html.match(/<path d="M/g) ?? []).length, 100, 'every trajectory drawn');
  // The axes span the half-width found: ticks at ±10 within ±13.25, none at ±15.
  assert.ok(html.includes('>-10</text>') && !html.includes('>15</text>'));
  // A target's edge counts too, and the floor is 1.
  assert.equal(trajectoryHalfWidth([{ metrics: blocks[0].metrics, records: [{ ...records[0], x: [0], y: [0], t: [0], target: { index: 0, x: 0.2, y: -3, radius: 0.5 } }] }]), 3.5);
  assert.equal(trajectoryHalfWidth([]), 1);
});
