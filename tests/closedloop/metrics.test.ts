/** Closed-loop metrics on hand-made trajectories whose answers are worked out by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trialMetrics, type TrialRecord } from '../../closedloop/metrics/trial.js';
import { blockMetrics } from '../../closedloop/metrics/block.js';

const DT = 0.1;
function rec(points: [number, number][], target: [number, number, number], outcome: TrialRecord['outcome'] = 'success', index = 0): TrialRecord {
  return { trial: 0, target: { index, x: target[0], y: target[1], radius: target[2] }, outcome, t: points.map((_, i) => 10 + i * DT), x: points.map((p) => p[0]), y: points.map((p) => p[1]) };
}
const close = (a: number | null, b: number, msg?: string): void => {
  assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${msg ?? ''} expected ${b}, got ${a}`);
};

test('a straight reach: efficiency 1, no overshoot, no orbit, Fitts throughput from D and W', () => {
  // 0, 1, …, 9 then held at 9: the edge of a radius-1 target at 10 is reached at sample 9.
  const pts: [number, number][] = [...Array.from({ length: 10 }, (_, i) => [i, 0] as [number, number]), [9, 0], [9, 0], [9, 0]];
  const m = trialMetrics(rec(pts, [10, 0, 1]));
  close(m.timeToTarget, 0.9, 'time to target');
  close(m.dialIn, 0, 'dial-in');
  close(m.pathEfficiency, 1, 'path efficiency');
  assert.equal(m.exits, 0);
  assert.equal(m.reentries, 0);
  close(m.overshoot, 0, 'overshoot');
  close(m.orbit, 0, 'orbit');
  close(m.distance, 10);
  close(m.indexOfDifficulty, Math.log2(10 / 2 + 1));
  close(m.throughput, Math.log2(6) / 0.9, 'throughput');
  close(m.duration, 1.2);
});

test('an overshoot: one exit, the furthest beyond the edge, a re-entry and the dial-in time', () => {
  // Target at 10, radius 1: in at 9.5 (sample 5), out at 11.5 and 12 (1 beyond the edge), back in at 10.5 (sample 8).
  const pts: [number, number][] = [[0, 0], [2, 0], [4, 0], [6, 0], [8, 0], [9.5, 0], [11.5, 0], [12, 0], [10.5, 0], [10, 0], [10, 0]];
  const m = trialMetrics(rec(pts, [10, 0, 1]));
  close(m.timeToTarget, 0.8, 'time to target');
  close(m.dialIn, 0.3, 'dial-in');
  assert.equal(m.entries, 2);
  assert.equal(m.reentries, 1);
  assert.equal(m.exits, 1);
  close(m.overshoot, 1, 'overshoot');
  close(m.pathEfficiency, 1);
  // Passing the target flips the bearing, but only through samples inside it: no turning counted.
  close(m.orbit, 0, 'orbit');
});

test('path efficiency of an L-shaped path is the straight distance over the path travelled', () => {
  const pts: [number, number][] = [[0, 0], [4, 0], [8, 0], [8, 3], [8, 6], [8, 6]];
  const m = trialMetrics(rec(pts, [8, 6, 0.5]));
  close(m.pathEfficiency, 10 / 14);
  close(m.timeToTarget, 0.4);
});

test('orbiting: a full circle around the target before going in is one turn', () => {
  const pts: [number, number][] = [[5, 0], [3, 0]];
  for (let k = 1; k <= 36; k++) pts.push([3 * Math.cos((2 * Math.PI * k) / 36), 3 * Math.sin((2 * Math.PI * k) / 36)]);
  pts.push([0.5, 0], [0.5, 0]);
  const m = trialMetrics(rec(pts, [0, 0, 1]));
  close(m.orbit, 1, 'orbit');
  close(m.timeToTarget, 38 * DT);
  assert.ok(m.pathEfficiency! < 0.2, `a detour of a whole circle is inefficient, got ${m.pathEfficiency}`);
});

test('a timeout that never entered defines no time to target, efficiency or overshoot', () => {
  const pts: [number, number][] = [[0, 0], [1, 1], [2, 0], [1, -1]];
  const m = trialMetrics(rec(pts, [10, 0, 1], 'timeout'));
  assert.equal(m.success, false);
  assert.equal(m.timeToTarget, null);
  assert.equal(m.dialIn, null);
  assert.equal(m.pathEfficiency, null);
  assert.equal(m.overshoot, null);
  assert.equal(m.throughput, null);
  assert.equal(m.entries, 0);
});

test('a cursor already in the target enters at the first decode after onset, as the task tests it', () => {
  const m = trialMetrics(rec([[0, 0], [0.1, 0], [0.1, 0]], [0, 0, 1], 'success', -1));
  close(m.timeToTarget, DT);
  close(m.distance, 0);
  close(m.indexOfDifficulty, 0);
});

test('a timeout that entered and left: exits and overshoot up to the end, no time to target', () => {
  const pts: [number, number][] = [[0, 0], [9.5, 0], [12, 0], [13, 0]];
  const m = trialMetrics(rec(pts, [10, 0, 1], 'timeout'));
  assert.equal(m.exits, 1);
  close(m.overshoot, 2);
  assert.equal(m.timeToTarget, null);
});

test('bad trajectories are refused by name', () => {
  assert.throws(() => trialMetrics({ ...rec([[0, 0]], [1, 0, 1]), x: [] }), /same non-zero length/);
});

test('a block: success rate without aborts, mean and nearest-rank median per metric and per target', () => {
  const straight = (n: number): [number, number][] => [...Array.from({ length: n + 1 }, (_, i) => [(9 * i) / n, 0] as [number, number]), [9, 0]];
  const trials = [
    rec(straight(9), [10, 0, 1], 'success', 0), // ttt 0.9
    rec(straight(4), [10, 0, 1], 'success', 0), // ttt 0.4
    rec(straight(19), [10, 0, 1], 'success', 3), // ttt 1.9
    rec([[0, 0], [1, 0]], [10, 0, 1], 'timeout', 3),
    rec([[0, 0]], [10, 0, 1], 'aborted', 3),
  ].map((r, i) => ({ ...r, trial: i }));
  const b = blockMetrics('test', trials);
  assert.equal(b.block.trials, 5);
  assert.equal(b.block.successes, 3);
  assert.equal(b.block.aborted, 1);
  assert.equal(b.block.successRate, 3 / 4);
  const ttt = b.block.stats.timeToTarget;
  assert.equal(ttt.n, 3);
  close(ttt.mean, (0.9 + 0.4 + 1.9) / 3);
  close(ttt.median, 0.9);
  assert.deepEqual(b.perTarget.map((p) => [p.target, p.trials, p.successes]), [[0, 2, 2], [3, 3, 1]]);
  close(b.perTarget[0].stats.timeToTarget.median, 0.4);
});

test('metrics from the simulated user\'s open-loop calibration block: every reach a straight success', async () => {
  const { calibrationBlock, calibrationBlockXdf } = await import('../../closedloop/user/calibration-block.js');
  const { readXdf } = await import('../../streams/xdf/reader.js');
  const { metricsFromRecording } = await import('../../closedloop/metrics/recording.js');
  const m = metricsFromRecording(readXdf(calibrationBlockXdf(calibrationBlock({ seed: 1, channels: 16, trials: 8 }))), 'calibration');
  assert.deepEqual(m.notes, []);
  assert.equal(m.metrics.block.trials, 16);
  assert.equal(m.metrics.block.successRate, 1);
  // Outer targets 0–7 once each, and the centre (its marker says target=centre) between them.
  assert.deepEqual(m.metrics.perTarget.map((p) => [p.target, p.trials]), [[-1, 8], ...Array.from({ length: 8 }, (_, k) => [k, 1])]);
  // Minimum-jerk reaches along a line: efficiency 1, no overshoot, no orbit.
  for (const t of m.metrics.trials) {
    close(t.pathEfficiency, 1);
    close(t.overshoot, 0);
    assert.ok(t.orbit < 1e-9 && t.timeToTarget! > 0.3 && t.timeToTarget! < 1.5, JSON.stringify(t));
  }
});
