/**
 * Hot swaps during a replay at 1× into a real daemon: a model reload (reset), a readout swap, a
 * reload carrying the state over, a filter reset, and the recording stopped and restarted, while
 * bins flow. Zero bins lost, and every decode is exactly what an offline filter gives when the
 * same changes are applied between the same two bins (the swap reports' after_seq, and the
 * recording's markers for the reset).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runReplay } from '../../../daemon/commands/replay.js';
import { dims, preset } from '../../../model/config.js';
import { OnlineFilter } from '../../../model/filter.js';
import { initWeights, mulberry32 } from '../../../model/init.js';
import { loadModel, makeModel, saveModel } from '../../../model/model-file.js';
import { findStream, readXdf } from '../../../streams/xdf/reader.js';
import { tempDir } from '../../support/net.js';
import { makeSession, writeSession } from '../../streams/replay-fixture.js';
import { http, startControlled } from './support.js';

const tmp = tempDir('langevind-control-swap-');
const dir = tmp.dir;
after(() => tmp.cleanup());
const CH = 16;
const BIN_MS = 10;
const BINS = 500;
const cfg = preset('S', { n_in: CH, n_out: CH, bin_ms: BIN_MS, hidden: 16, latent: 16, ff: 32, window: 8 });
const pathA = join(dir, 'a.safetensors');
const pathB = join(dir, 'b.safetensors');
saveModel(pathA, makeModel(cfg, initWeights(cfg, 1)));
saveModel(pathB, makeModel(cfg, initWeights(cfg, 5)));
const A = loadModel(pathA);
const B = loadModel(pathB);
const { K, features } = dims(cfg);
const rand = mulberry32(11);
const readout = { weight: Array.from({ length: K }, () => Array.from({ length: features }, () => rand() - 0.5)), bias: [0.25, -0.5] };
const session = writeSession(dir, 'session.xdf', { bins: BINS, channels: CH, binMs: BIN_MS });
const counts = makeSession({ bins: BINS, channels: CH, binMs: BIN_MS }).counts;

test('model reload, readout swap, carry, reset and recording restart during a 1× replay: no bin lost, every decode as offline', async () => {
  const rec1 = join(dir, 'rec1.xdf');
  const d = await startControlled(pathA, ['--record', rec1]);
  const post = async (path: string, json: unknown) => {
    const r = await http(d.url, 'POST', path, { json });
    assert.ok(r.status < 300, `${path}: ${r.text}`);
    return r.body;
  };
  const decoded = async (): Promise<number> => {
    return (await http(d.url, 'GET', '/status')).body.summary.bins_decoded as number;
  };
  const waitFor = async (n: number): Promise<void> => {
    while ((await decoded()) < n) await new Promise((r) => setTimeout(r, 15));
  };
  const reports: Array<{ kind: string; state: string; model_id: string; after_seq: number }> = [];
  let stopped: { stopped: { path: string } } | undefined;
  const steer = (async () => {
    await waitFor(60);
    reports.push((await post('/model', { path: 'b.safetensors' })).swapped);
    await waitFor(160);
    reports.push((await post('/readout', readout)).swapped);
    await waitFor(220);
    reports.push((await post('/model', { path: pathA, state: 'carry' })).swapped);
    await waitFor(330);
    assert.equal((await http(d.url, 'POST', '/reset', { json: {} })).status, 202);
    await waitFor(360);
    stopped = await post('/record', { stop: true });
    await waitFor(380);
    await post('/record', { start: 'rec2.xdf' });
  })();
  let m: Awaited<ReturnType<typeof runReplay>>;
  try {
    m = await runReplay({ recording: session, to: d.input, from: d.output, speed: 1 });
    await steer;
  } finally {
    await steer.catch(() => {});
  }
  const status = (await http(d.url, 'GET', '/status')).body;
  const end = await d.daemon.stop();
  assert.equal(end.code, 0);

  assert.equal(m.sent, BINS);
  assert.equal(Array.from(m.recvNs).filter(Number.isNaN).length, 0, 'no bin lost');
  assert.equal(m.duplicates, 0);
  assert.equal(status.summary.gaps, 0);
  assert.deepEqual(status.summary.hot_swaps, { model: 2, readout: 1 });
  assert.deepEqual(reports.map((r) => [r.kind, r.state, r.model_id]), [['model', 'reset', B.id], ['readout', 'carry', B.id], ['model', 'carry', A.id]]);
  assert.equal(status.model_id, A.id);
  assert.equal(stopped?.stopped.path, rec1);

  // The first recording holds the swaps and the reset as markers, in order, with the seq they followed.
  const f1 = readXdf(rec1);
  const markers = (findStream(f1, { type: 'Markers' })!.data as string[][]).map((r) => JSON.parse(r[0]) as { event: string; after_seq: number; model_id: string });
  assert.deepEqual(markers.map((x) => x.event), ['model_swapped', 'readout_swapped', 'model_swapped', 'filter_reset', 'recording_stopped']);
  for (let i = 0; i < 3; i++) assert.equal(markers[i].after_seq, reports[i].after_seq);
  const resetAfter = markers[3].after_seq;
  const f2 = readXdf(join(dir, 'rec2.xdf'));
  assert.equal((findStream(f2, { type: 'Markers' })!.data as string[][]).map((r) => (JSON.parse(r[0]) as { event: string }).event)[0], 'recording_started');
  const dec1 = findStream(f1, { type: 'Decoded' })!;
  const dec2 = findStream(f2, { type: 'Decoded' })!;
  const w = K + 4;
  const seqOf = (s: typeof dec1, i: number) => (s.data as Float64Array)[i * w + K];
  assert.equal(seqOf(dec1, 0), 0);
  assert.ok(seqOf(dec2, 0) > seqOf(dec1, dec1.timeStamps.length - 1), 'the second recording starts after the first ended');
  assert.equal(seqOf(dec2, dec2.timeStamps.length - 1), BINS - 1);

  // Offline: the same filters, the same changes between the same bins.
  const events = new Map<number, () => void>();
  let f = new OnlineFilter(A);
  events.set(reports[0].after_seq, () => { f = new OnlineFilter(B); });
  events.set(reports[1].after_seq, () => { f.setReadout(f.prepareReadout(readout.weight.flat(), readout.bias)); });
  events.set(reports[2].after_seq, () => {
    const g = new OnlineFilter(A);
    g.restore({ ...f.snapshot(), modelId: g.modelId });
    f = g;
  });
  events.set(resetAfter, () => f.reset());
  assert.equal(events.size, 4, 'four changes between four different pairs of bins');
  for (let s = 0; s < BINS; s++) {
    const v = f.step(counts.subarray(s * CH, (s + 1) * CH)).velocity;
    const got = [m.velocity[s * m.velocityAxes], m.velocity[s * m.velocityAxes + 1]];
    assert.deepEqual(got, Array.from(v), `bin ${s}`);
    events.get(s)?.();
  }
});
