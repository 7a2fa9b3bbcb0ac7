import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadDataset } from '../../calibration/dataset.js';
import { runFilter } from '../../calibration/evaluate.js';
import { r2, rowSlice, selectRows } from '../../calibration/linear.js';
import { calibrate, type CalibrationMetrics } from '../../calibration/pipeline.js';
import { sessionToXdf, simulateSession } from '../../calibration/simulator/index.js';
import { loadModel, META_METRICS, META_PROVENANCE } from '../../model/model-file.js';
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
    assert.ok(existsSync(report));
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
