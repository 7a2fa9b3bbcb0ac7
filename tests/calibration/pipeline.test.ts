import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadDataset } from '../../calibration/dataset.js';
import { runFilter } from '../../calibration/evaluate.js';
import { mat, r2, rowSlice, selectRows } from '../../calibration/linear.js';
import { calibrate, type CalibrationMetrics } from '../../calibration/pipeline.js';
import { sessionToXdf, simulateSession } from '../../calibration/simulator/index.js';
import { availableDecoders, createDecoder } from '../../model/decoders.js';
import { loadModel, makeModel, META_METRICS, META_PROVENANCE, saveModel } from '../../model/model-file.js';
import { readSafetensors } from '../../model/safetensors.js';
import { CLI_PATH } from '../../harness/process.js';
import { tempDir } from '../support/net.js';

const { dir } = tempDir('langevind-cal-');
const rec = join(dir, 'reach.xdf');
writeFileSync(rec, sessionToXdf(simulateSession({ kind: 'reaching', seed: 3, bins: 1500, binMs: 20, channels: 16 })));
const size = { hidden: 16, latent: 8, osc_channels: 2, heads: 2, ff: 16, window: 8 };
const quiet = { log: () => {}, progress: false };

describe('langevind calibrate, end to end on a simulated session', () => {
  test('trains, chooses a readout, evaluates, writes a loadable model whose metrics the filter reproduces', async () => {
    const out = join(dir, 'm.safetensors');
    const report = join(dir, 'r.html');
    const res = await calibrate({ recording: rec, out, size, train: { maxEpochs: 3, batch: 16, window: 8 }, report, backend: 'wasm', ...quiet });
    assert.ok(res.model && res.metrics);
    const m = loadModel(out);
    assert.equal(m.config.n_in, 16);
    assert.deepEqual(m.config.velocity_labels, ['vel_x', 'vel_y']);
    const metrics = JSON.parse(m.metadata[META_METRICS]) as CalibrationMetrics;
    const prov = JSON.parse(m.metadata[META_PROVENANCE]) as { backend: string; data: string; seed: number };
    assert.match(prov.backend, /^wasm/);
    assert.equal(prov.data, rec);
    assert.equal(metrics.training.epochs, 3);
    assert.deepEqual(m.config.velocity_features, metrics.readout.features);
    for (const k of ['langevin', 'wiener', 'kalman'] as const) assert.ok(Number.isFinite(metrics.velocityR2[k].mean), k);
    assert.ok(metrics.rateR2 !== null && Number.isFinite(metrics.rateR2));
    // The stored R² is what the saved model gives through the OnlineFilter over the held-out block.
    const ds = loadDataset(rec);
    const from = metrics.heldOut.firstBin;
    const { velocity } = runFilter(m, rowSlice(ds.counts, from, ds.counts.rows));
    const lab = ds.labelled.slice(from);
    const again = r2(selectRows(rowSlice(ds.velocity, from, ds.counts.rows), lab), selectRows(velocity, lab));
    again.forEach((v, i) => assert.ok(Math.abs(v - metrics.velocityR2.langevin.perAxis[i]) < 1e-9));
    // One calibration yields all three decoders: the stored baselines, run live from the file,
    // give the R² the metrics record for them on the same held-out bins.
    assert.deepEqual(availableDecoders(m), ['langevinflow', 'wiener', 'kalman']);
    assert.equal(m.baselines.wiener!.lags, metrics.velocityR2.wiener.lags);
    assert.deepEqual(m.baselines.kalman!.state, metrics.velocityR2.kalman.state);
    for (const name of ['wiener', 'kalman'] as const) {
      const f = createDecoder(m, name);
      const n = ds.counts.rows - from;
      const pred = new Float32Array(n * 2);
      for (let t = 0; t < n; t++) pred.set(f.stepUnchecked(ds.counts.data.subarray((from + t) * 16, (from + t + 1) * 16)).velocity, t * 2);
      const live = r2(selectRows(rowSlice(ds.velocity, from, ds.counts.rows), lab), selectRows(mat(pred, n, 2), lab));
      live.forEach((v, i) => assert.ok(Math.abs(v - metrics.velocityR2[name].perAxis[i]) < 1e-9, `${name} axis ${i}: live ${v}, metrics ${metrics.velocityR2[name].perAxis[i]}`));
    }
    assert.ok(existsSync(report));

    // calibrate --baselines-only on a copy without them: the same baselines back, the network untouched.
    const bare = join(dir, 'bare.safetensors');
    saveModel(bare, makeModel(m.config, m.weights, m.metadata));
    assert.deepEqual(loadModel(bare).baselines, {});
    const refit = join(dir, 'refit.safetensors');
    const r = spawnSync(process.execPath, [CLI_PATH, 'calibrate', rec, '--baselines-only', '--model', bare, '--out', refit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /held-out velocity R² \(bins \d+…1499\): Wiener [0-9.]+ \(\d lags?\), Kalman -?[0-9.]+; model written/);
    const back = loadModel(refit);
    assert.deepEqual(back.baselines, m.baselines);
    assert.deepEqual(back.baselines.kalman!.state, ['vel_x', 'vel_y'], 'the velocity Kalman filter by default');
    // The position-velocity filter on request, from the recording's pos_* channels.
    const pv = join(dir, 'refit-pv.safetensors');
    const rp = spawnSync(process.execPath, [CLI_PATH, 'calibrate', rec, '--baselines-only', '--model', bare, '--out', pv, '--kalman-state', 'position-velocity'], { encoding: 'utf8' });
    assert.equal(rp.status, 0, rp.stderr);
    assert.deepEqual([loadModel(pv).baselines.kalman!.state, loadModel(pv).baselines.kalman!.velocityOffset], [['pos_x', 'pos_y', 'vel_x', 'vel_y'], 2]);
    const badState = spawnSync(process.execPath, [CLI_PATH, 'calibrate', rec, '--kalman-state', 'acceleration', '--out', pv], { encoding: 'utf8' });
    assert.equal(badState.status, 2);
    assert.match(badState.stderr, /--kalman-state must be velocity or position-velocity, got "acceleration"/);
    const tensorsOf = (path: string) => readSafetensors(readFileSync(path)).tensors;
    const before = tensorsOf(out);
    for (const [name, t] of tensorsOf(refit)) assert.deepEqual(t.data, before.get(name)!.data, name);
    assert.equal(JSON.parse(back.metadata[META_PROVENANCE]).baselines_refit.held_out_from_bin, from);
    // Another recording than the model's is refused; --baselines-only needs --model.
    const other = join(dir, 'other-len.xdf');
    writeFileSync(other, sessionToXdf(simulateSession({ kind: 'reaching', seed: 3, bins: 1200, binMs: 20, channels: 16 })));
    const wrong = spawnSync(process.execPath, [CLI_PATH, 'calibrate', other, '--baselines-only', '--model', bare, '--out', refit], { encoding: 'utf8' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /has 1200 bins, the model was calibrated on 1500: not the same recording \[EBADDATA\]/);
    const usage = spawnSync(process.execPath, [CLI_PATH, 'calibrate', rec, '--baselines-only', '--out', refit], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--baselines-only and --model M go together/);
  });

  test('an interrupted run writes a checkpoint that --resume continues to the same epoch budget', async () => {
    const out = join(dir, 'i.safetensors');
    let batches = 0;
    const first = await calibrate({ recording: rec, out, size, train: { maxEpochs: 3, batch: 16, window: 8 }, interrupted: () => ++batches > 12, ...quiet });
    assert.equal(first.model, null);
    assert.ok(first.checkpoint && existsSync(first.checkpoint));
    assert.ok(!existsSync(out));
    const second = await calibrate({ recording: rec, out, resume: first.checkpoint, ...quiet });
    assert.ok(second.model && second.metrics);
    assert.equal(second.metrics.training.epochs, 3);
    assert.ok(existsSync(out));
    assert.ok(!existsSync(first.checkpoint), 'the checkpoint is removed once the run completes');
  });

  test('a checkpoint from other data is refused', async () => {
    const out = join(dir, 'j.safetensors');
    const first = await calibrate({ recording: rec, out, size, train: { maxEpochs: 2, batch: 16, window: 8 }, interrupted: () => true, ...quiet });
    const other = join(dir, 'other.xdf');
    writeFileSync(other, sessionToXdf(simulateSession({ kind: 'reaching', seed: 4, bins: 1200, binMs: 20, channels: 16 })));
    await assert.rejects(calibrate({ recording: other, out, resume: first.checkpoint, ...quiet }),
      (e: Error & { code?: string }) => e.code === 'ERESUME' && /different data/.test(e.message));
  });
});
