/**
 * ReFIT applied live: a real daemon (`langevind run --control --record`) fed by a 1× replay of a
 * recorded closed-loop block, and a real `langevind recalibrate … --apply` on that block while the
 * bins flow. The swap lands between two bins: no bin lost, the recording's marker names the bin it
 * followed, the daemon then runs the refit model by its id, and every decode is what an offline
 * filter gives with the same change after the same bin. ReFIT-KF the same way into a daemon that
 * decodes with the Kalman baseline; and the refusals (no daemon, another model, another shape).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { refusal } from '../../daemon/commands/apply-refit.js';
import { runReplay } from '../../daemon/commands/replay.js';
import type { SwapReport } from '../../daemon/control/target.js';
import { OnlineFilter } from '../../model/filter.js';
import { KalmanFilter } from '../../model/kalman-filter.js';
import { loadModel, saveModel, type LangevinModel } from '../../model/model-file.js';
import { findStream, readXdf } from '../../streams/xdf/reader.js';
import { freePort } from '../../harness/net.js';
import { CliProcess } from '../../harness/process.js';
import { tempDir } from '../support/net.js';
import { http, startControlled } from '../daemon/control/support.js';
import { rotatedDecoder, runClosedLoop, withKalmanBaseline } from './closed-loop-fixture.js';

const N = 48;
/** Bins in the block: at 1× (20 ms bins) a minute, far more than a recalibration takes. */
const BINS = 3000;
/** Bins decoded after the swap before the replay is stopped. */
const AFTER = 60;

interface Cli { code: number | null; stdout: string; stderr: string }
async function cli(args: string[]): Promise<Cli> {
  const p = new CliProcess(args);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderrText };
}
const lastJson = (r: Cli): Record<string, any> => JSON.parse(r.stdout.trim().split('\n').pop()!); // eslint-disable-line @typescript-eslint/no-explicit-any

interface LiveRun {
  swap: SwapReport;
  summary: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  status: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The decodes the replay received, sent × 2. */
  velocity: Float32Array;
  sent: number;
  lost: number;
  markers: Array<{ event: string; after_seq: number; model_id: string; previous_model_id?: string }>;
  /** Refusals asked of the same daemon after the swap, and its hot_swaps after them. */
  refusals: Cli[];
  swapsAfterRefusals: unknown;
}

describe('langevind recalibrate --apply: ReFIT swapped into a running daemon between two bins', () => {
  const tmp = tempDir('langevind-liverefit-');
  const dir = tmp.dir;
  const modelPath = join(dir, 'm.safetensors');
  const recording = join(dir, 'closed-loop.xdf');
  let model: LangevinModel;
  let counts: Int16Array;

  before(async () => {
    await useBackend('wasm');
    // The biased decoder with a Kalman baseline; the block it drove (its recorder and task streams).
    model = withKalmanBaseline(rotatedDecoder(8, N), 8, N);
    saveModel(modelPath, model);
    writeFileSync(recording, runClosedLoop(model, { seed: 8, session: 1, channels: N }, BINS).xdf());
    counts = findStream(readXdf(recording), { type: 'SpikeCounts' })!.data as Int16Array;
  });
  after(() => tmp.cleanup());

  /**
   * The daemon on model m (its directory is the daemon's --model-dir), the block replayed into it
   * at 1×, `recalibrate args --apply` once 40 bins were decoded, the replay stopped AFTER bins after
   * the swap; then `refuse` (more CLI runs against the same daemon) and the daemon stopped.
   */
  async function liveRefit(tag: string, daemonArgs: string[], refitArgs: string[], refuse: (url: string) => Promise<Cli[]>): Promise<LiveRun> {
    const rec = join(dir, `live-${tag}.xdf`);
    const d = await startControlled(modelPath, ['--record', rec, ...daemonArgs]);
    const stop = new AbortController();
    let replayEnded = false;
    const decoded = async (): Promise<number> => (await http(d.url, 'GET', '/status')).body.summary.bins_decoded as number;
    const waitFor = async (n: number): Promise<void> => {
      while ((await decoded()) < n) {
        if (replayEnded) throw new Error(`the replay ended before ${n} bins were decoded`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    let result: Cli | undefined;
    const steer = (async () => {
      await waitFor(40);
      result = await cli(['recalibrate', recording, '--model', modelPath, '--out', join(dir, `refit-${tag}.safetensors`), '--apply', '--control', d.url, ...refitArgs]);
      assert.equal(result.code, 0, result.stderr);
      await waitFor(lastJson(result).swapped.after_seq + 1 + AFTER);
    })().finally(() => stop.abort());
    let m: Awaited<ReturnType<typeof runReplay>>;
    let refusals: Cli[] = [];
    let status, swapsAfterRefusals;
    try {
      m = await runReplay({ recording, to: d.input, from: d.output, speed: 1, signal: stop.signal }).finally(() => { replayEnded = true; });
      await steer;
      status = (await http(d.url, 'GET', '/status')).body;
      refusals = await refuse(d.url);
      swapsAfterRefusals = (await http(d.url, 'GET', '/status')).body.summary.hot_swaps;
    } finally {
      await steer.catch(() => {});
      const end = await d.daemon.stop();
      assert.equal(end.code, 0);
    }
    const markers = (findStream(readXdf(rec), { type: 'Markers' })!.data as string[][]).map((r) => JSON.parse(r[0]));
    return {
      swap: lastJson(result!).swapped, summary: lastJson(result!), status, velocity: m.velocity, sent: m.sent,
      lost: Array.from(m.recvNs).filter(Number.isNaN).length, markers, refusals, swapsAfterRefusals,
    };
  }

  /** Every decode equals the offline decoder's, which changes after bin `afterSeq`; and the change showed. */
  function assertAsOffline(r: LiveRun, before: { step(c: ArrayLike<number>): { velocity: Float32Array } }, change: () => void, unchanged: { step(c: ArrayLike<number>): { velocity: Float32Array } }): void {
    let differ = 0;
    for (let s = 0; s < r.sent; s++) {
      const row = counts.subarray(s * N, (s + 1) * N);
      const v = Array.from(before.step(row).velocity);
      const u = Array.from(unchanged.step(row).velocity);
      assert.deepEqual([r.velocity[2 * s], r.velocity[2 * s + 1]], v, `bin ${s}`);
      if (s > r.swap.after_seq && (u[0] !== v[0] || u[1] !== v[1])) differ++;
      if (s === r.swap.after_seq) change();
    }
    assert.ok(differ >= AFTER / 2, `the refit decoded differently after the swap (${differ} bins)`);
  }

  test('the LangevinFlow readout: POST /readout after a bin, the daemon runs M2 by its id, every decode as offline; refusals', async () => {
    const other = join(dir, 'default-refit.safetensors');
    const r = await liveRefit('lf', [], [], async (url) => [
      // The block was refitted from M, but the daemon now runs M2.
      await cli(['recalibrate', recording, '--model', modelPath, '--out', join(dir, 'never-1.safetensors'), '--apply', '--control', url]),
      // The committed default model's refit (another readout shape), forced past the model check.
      await cli(['recalibrate', recording, '--model', new URL('../../../models/default.safetensors', import.meta.url).pathname, '--out', other, '--apply', '--force', '--control', url]),
    ]);
    const m2 = loadModel(join(dir, 'refit-lf.safetensors'));
    assert.equal(r.summary.model_id, m2.id);
    assert.equal(r.summary.from_model, model.id);
    assert.equal(r.swap.kind, 'readout');
    assert.equal(r.swap.model_id, m2.id, 'the filter is M2 after the swap and says so');
    assert.equal(r.swap.previous_model_id, model.id);
    assert.ok(r.swap.after_seq >= 39, `after_seq ${r.swap.after_seq}`);
    assert.equal(r.status.model_id, m2.id);
    assert.deepEqual(r.status.summary.hot_swaps, { model: 0, readout: 1 });
    assert.equal(r.status.last_swap.after_seq, r.swap.after_seq);
    assert.equal(r.lost, 0, 'no bin lost');
    assert.equal(r.status.summary.gaps, 0);
    assert.ok(r.sent > r.swap.after_seq + AFTER);
    const swapMarkers = r.markers.filter((x) => x.event === 'readout_swapped');
    assert.equal(swapMarkers.length, 1);
    assert.deepEqual([swapMarkers[0].after_seq, swapMarkers[0].model_id, swapMarkers[0].previous_model_id], [r.swap.after_seq, m2.id, model.id]);

    const f = new OnlineFilter(model);
    assertAsOffline(r, f, () => f.setReadout(f.prepareReadout(m2.weights['velocity.weight'], m2.weights['velocity.bias'])), new OnlineFilter(model));

    const [wrong, shape] = r.refusals;
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`runs model ${m2.id}, but this block was refitted from ${model.id}.*--force.*\\[EMODELMISMATCH\\]`, 's'));
    assert.ok(!existsSync(join(dir, 'never-1.safetensors')), 'refused before fitting');
    assert.equal(shape.code, 1);
    assert.match(shape.stderr, /default-refit\.safetensors was written but not applied: POST \/readout: .*velocity\.weight is \[2, \d+\], the running model's readout is \[2, \d+\] \[EINCOMPATIBLE\]/);
    assert.deepEqual(r.swapsAfterRefusals, { model: 0, readout: 1 }, 'nothing refused was swapped');
  });

  test('ReFIT-KF: POST /model into a daemon decoding with the Kalman baseline, state carried, every decode as offline; a readout refit is refused there', async () => {
    const r = await liveRefit('kf', ['--decoder', 'kalman'], ['--decoder', 'kalman'], async (url) => {
      // The daemon itself refuses a readout for a baseline decoder, and its metrics still read.
      const direct = await http(url, 'POST', '/readout', { json: { path: modelPath } });
      assert.equal(direct.status, 409, direct.text);
      assert.equal(direct.body.error.code, 'EINCOMPATIBLE');
      assert.match(direct.body.error.message, /decodes with the kalman baseline, which has no LangevinFlow readout/);
      assert.equal((await http(url, 'GET', '/metrics')).status, 200);
      return [await cli(['recalibrate', recording, '--model', modelPath, '--out', join(dir, 'never-2.safetensors'), '--apply', '--force', '--control', url])];
    });
    const m2 = loadModel(join(dir, 'refit-kf.safetensors'));
    assert.deepEqual([r.swap.kind, r.swap.state, r.swap.model_id, r.swap.previous_model_id], ['model', 'carry', `${m2.id}/kalman`, `${model.id}/kalman`]);
    assert.equal(r.status.model_id, `${m2.id}/kalman`);
    assert.deepEqual(r.status.summary.hot_swaps, { model: 1, readout: 0 });
    assert.equal(r.lost, 0, 'no bin lost');
    assert.equal(r.status.summary.gaps, 0);
    const swapMarkers = r.markers.filter((x) => x.event === 'model_swapped');
    assert.equal(swapMarkers.length, 1);
    assert.deepEqual([swapMarkers[0].after_seq, swapMarkers[0].model_id], [r.swap.after_seq, `${m2.id}/kalman`]);

    let f = new KalmanFilter(model.baselines.kalman!, N, 2);
    const live = { step: (c: ArrayLike<number>) => f.step(c) };
    assertAsOffline(r, live, () => {
      const g = new KalmanFilter(m2.baselines.kalman!, N, 2);
      g.carryFrom(f);
      f = g;
    }, new KalmanFilter(model.baselines.kalman!, N, 2));

    const [lf] = r.refusals;
    assert.equal(lf.code, 1);
    assert.match(lf.stderr, /the daemon decodes with kalman .*LangevinFlow.*\[EMODELMISMATCH\]/s);
    assert.deepEqual(r.swapsAfterRefusals, { model: 1, readout: 0 });
  });

  test('no daemon: refused before fitting [ECONTROLCONNECT]; the model check, pure', async () => {
    const out = join(dir, 'never-3.safetensors');
    const r = await cli(['recalibrate', recording, '--model', modelPath, '--out', out, '--apply', '--control', `127.0.0.1:${await freePort()}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the daemon's control API at http:\/\/127\.0\.0\.1:\d+ .*\[ECONTROLCONNECT\]/);
    assert.ok(!existsSync(out));
    const usage = await cli(['recalibrate', recording, '--model', modelPath, '--out', out, '--force']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /go with --apply \[EUSAGE\]/);

    assert.equal(refusal({ decoder: 'langevinflow', fromModel: 'a', force: false }, 'a'), null);
    assert.equal(refusal({ decoder: 'kalman', fromModel: 'a', force: false }, 'a/kalman'), null);
    assert.match(refusal({ decoder: 'langevinflow', fromModel: 'a', force: false }, 'b')!, /runs model b, but this block was refitted from a/);
    assert.equal(refusal({ decoder: 'langevinflow', fromModel: 'a', force: true }, 'b'), null);
    assert.match(refusal({ decoder: 'kalman', fromModel: 'a', force: true }, 'a')!, /decodes with langevinflow/);
    assert.match(refusal({ decoder: 'langevinflow', fromModel: 'a', force: true }, 'a/wiener')!, /decodes with wiener/);
  });
});
