import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { runFilter } from '../../calibration/evaluate.js';
import { mat, mean, r2, rowSlice } from '../../calibration/linear.js';
import { simulateSession, type SimulateOptions } from '../../calibration/simulator/index.js';
import { availableDecoders, createDecoder } from '../../model/decoders.js';
import { loadModel, META_METRICS } from '../../model/model-file.js';
import { REPO_ROOT } from '../../harness/process.js';

const root = REPO_ROOT;
const MODEL = `${root}models/default.safetensors`;
const SESSION = `${root}models/default-session.json`;
/** Stated in models/README.md: held-out mean velocity R² of the committed model on its session. */
const MIN_R2 = 0.8;

describe('the committed default model', () => {
  test('is small, loads, and records how it was made', () => {
    assert.ok(statSync(MODEL).size < 1_000_000);
    const m = loadModel(MODEL);
    assert.ok(m.metadata['langevind.provenance']?.includes('calibrate'));
    assert.ok(JSON.parse(m.metadata[META_METRICS]).velocityR2.langevin.mean >= MIN_R2);
  });

  test(`still decodes its simulated session (held-out last 20 %) with mean velocity R² ≥ ${MIN_R2} through the OnlineFilter`, () => {
    const m = loadModel(MODEL);
    const opts = JSON.parse(readFileSync(SESSION, 'utf8')) as SimulateOptions;
    const s = simulateSession(opts);
    assert.equal(m.config.n_in, s.channels);
    assert.equal(m.config.bin_ms, s.binMs);
    const n = s.timestamps.length;
    const from = Math.floor(n * 0.8);
    const counts = mat(Float32Array.from(s.counts), n, s.channels);
    const { velocity } = runFilter(m, rowSlice(counts, from, n));
    const score = r2(rowSlice(mat(s.velocity, n, 2), from, n), velocity);
    assert.ok(mean(score) >= MIN_R2, `R² ${score}`);
  });

  test('carries its Wiener and Kalman baselines (fitted on the same training bins), which decode the held-out block live as its metrics say', () => {
    const m = loadModel(MODEL);
    assert.deepEqual(availableDecoders(m), ['langevinflow', 'wiener', 'kalman']);
    const metrics = JSON.parse(m.metadata[META_METRICS]).velocityR2;
    const s = simulateSession(JSON.parse(readFileSync(SESSION, 'utf8')) as SimulateOptions);
    const n = s.timestamps.length;
    const from = Math.floor(n * 0.8);
    const truth = rowSlice(mat(s.velocity, n, 2), from, n);
    for (const name of ['wiener', 'kalman'] as const) {
      const f = createDecoder(m, name);
      const pred = new Float32Array((n - from) * 2);
      for (let t = from; t < n; t++) pred.set(f.stepUnchecked(s.counts.subarray(t * s.channels, (t + 1) * s.channels)).velocity, (t - from) * 2);
      const score = mean(r2(truth, mat(pred, n - from, 2)));
      assert.ok(Math.abs(score - metrics[name].mean) < 1e-6, `${name}: live R² ${score}, metrics say ${metrics[name].mean}`);
      assert.ok(score > 0.5 && score < metrics.langevin.mean, `${name} R² ${score}`);
    }
  });
});
