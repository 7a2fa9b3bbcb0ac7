import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReplayReport, replayReportHtml, type ReplayMeasurements } from '../../report/replay.js';

/** 200 bins of 20 ms: the first second (50 bins) 5 ms late-ish, then 1 ms; bin 100 lost; bin 150 takes 30 ms. */
function measurements(withTruth: boolean): ReplayMeasurements {
  const n = 200;
  const sendNs = Float64Array.from({ length: n }, (_, i) => 1e9 + i * 2e7);
  const recvNs = Float64Array.from({ length: n }, (_, i) => sendNs[i] + (i < 50 ? 5e6 : i === 150 ? 3e7 : 1e6));
  recvNs[100] = NaN;
  const daemonNs = Float64Array.from(recvNs, (r) => (Number.isNaN(r) ? NaN : 2e5));
  const velocity = new Float32Array(n * 2);
  const truth = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    truth[2 * i] = Math.sin(i / 10);
    truth[2 * i + 1] = Math.cos(i / 10);
    velocity[2 * i] = truth[2 * i];
    velocity[2 * i + 1] = 0;
  }
  velocity[200] = NaN;
  velocity[201] = NaN;
  return {
    recording: '/data/s.xdf', stream: 'M1', channels: 96, binMs: 20, speed: 1, to: 'zmq+tcp://127.0.0.1:1', from: 'zmq+tcp://127.0.0.1:2', modelId: 'abc',
    sent: n, sendNs, recvNs, daemonNs, duplicates: 2, unexpected: 1, velocity, velocityAxes: 2,
    truth: withTruth ? { labels: ['vel_x', 'vel_y'], values: truth } : undefined,
  };
}

test('replay report JSON: counts, deadline misses, percentiles, steady state, R² per axis', () => {
  const r = buildReplayReport(measurements(true));
  assert.equal(r.sent, 200);
  assert.equal(r.received, 199);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.lostSeqs, [100]);
  assert.equal(r.duplicates, 2);
  assert.equal(r.unexpected, 1);
  assert.equal(r.late, 1, 'only bin 150 exceeds the 20 ms bin width');
  assert.equal(r.daemonLate, 0);
  assert.equal(r.deadlineMissFraction, 2 / 200);
  assert.equal(r.latencyMs.count, 199);
  assert.equal(r.latencyMs.max, 30);
  assert.equal(r.latencyMs.p50, 1);
  assert.equal(r.latencyMsAfterFirstSecond.count, 149);
  assert.equal(r.latencyMsAfterFirstSecond.p50, 1);
  assert.equal(r.daemonMs.p50, 0.2);
  assert.ok(Math.abs(r.durationS! - (199 * 0.02 + 0.001)) < 1e-6);
  assert.equal(r.velocity!.r2.vel_x, 1, 'a perfect axis, the lost bin left out');
  assert.ok(r.velocity!.r2.vel_y! < 0.05, 'a constant-zero decode explains nothing');
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r, 'plain JSON (no NaN, no typed arrays)');
});

test('replay report without kinematics has velocity null; HTML holds the plots it has', () => {
  const m = measurements(false);
  const r = buildReplayReport(m);
  assert.equal(r.velocity, null);
  const html = replayReportHtml(m, r);
  assert.equal((html.match(/<svg /g) ?? []).length, 2);
  const withTruth = measurements(true);
  const html2 = replayReportHtml(withTruth, buildReplayReport(withTruth));
  assert.equal((html2.match(/<svg /g) ?? []).length, 4);
  assert.ok(html2.includes('vel_x: R² = 1') && html2.includes('deadline 20 ms') && html2.includes('/data/s.xdf'));
});
