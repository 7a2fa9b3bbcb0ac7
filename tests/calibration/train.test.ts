import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { mat } from '../../calibration/linear.js';
import { initialWeights, meanLogRates } from '../../calibration/pipeline.js';
import { DEFAULT_TRAIN, train } from '../../calibration/train.js';
import { preset } from '../../model/config.js';
import { mulberry32, poisson } from '../../model/init.js';

const cfg = preset('S', { n_in: 8, hidden: 12, latent: 6, osc_channels: 1, heads: 2, ff: 12, window: 8, step: 0.2 });
const rand = mulberry32(2);
const T = 500;
const data = new Float32Array(T * cfg.n_in);
for (let t = 0; t < T; t++) for (let i = 0; i < cfg.n_in; i++) data[t * cfg.n_in + i] = poisson(rand, Math.exp(0.2 + Math.sin(t / 5 + i)));
const counts = mat(data, T, cfg.n_in);
const tc = { ...DEFAULT_TRAIN, window: 8, batch: 16, klRampEpochs: 1, wdRampEpochs: 1 };

describe('training loop', () => {
  before(async () => { await useBackend('wasm'); });

  test('validation loss improves and the best epoch is the one returned', async () => {
    const res = await train(cfg, counts, initialWeights(cfg, 1), { ...tc, maxEpochs: 4 });
    const h = res.state.history;
    assert.equal(h.length, 4);
    assert.ok(h[3].valNll < h[0].valNll, `val ${h.map((x) => x.valNll)}`);
    const best = h.reduce((a, b) => (b.valNll < a.valNll ? b : a));
    assert.equal(res.state.bestEpoch + 1, best.epoch);
    assert.equal(res.weights, res.state.best);
  });

  test('a NaN loss stops training and keeps the last good checkpoint, saying so', async () => {
    const first = await train(cfg, counts, initialWeights(cfg, 1), { ...tc, maxEpochs: 1 });
    // Resume with an absurd learning rate and no clipping: the loss overflows.
    const res = await train(cfg, counts, initialWeights(cfg, 1), { ...tc, maxEpochs: 5, clipNorm: 1e30, stabilityWeight: 0 },
      { resume: { ...first.state, lr: 1e6 } });
    assert.equal(res.reason, 'diverged');
    assert.ok(res.notes.some((n) => /loss became (NaN|Infinity)/.test(n) || /validation loss became/.test(n)), res.notes.join('; '));
    for (const [k, w] of Object.entries(res.weights)) assert.ok(w.every(Number.isFinite), `${k} not finite`);
    assert.equal(res.state.bestEpoch, 0);
  });

  test('a short block still gets minBatchesPerEpoch optimiser steps an epoch (windows at further phases)', async () => {
    // 500 bins, validation 50: 55 windows of 8 = 4 batches of 16 without the floor.
    const seen = new Set<number>();
    let batches = 0;
    await train(cfg, counts, initialWeights(cfg, 1), { ...tc, maxEpochs: 1, minBatchesPerEpoch: 9 }, { onProgress: (e) => { seen.add(e.batch); batches = e.batches; } });
    assert.equal(batches, 9);
    assert.equal(seen.size, 9);
  });

  test('the readout starts at each channel\'s log mean count, and that starts below the PyTorch-like init on a low-rate block', async () => {
    const low = new Float32Array(T * cfg.n_in);
    for (let t = 0; t < T; t++) for (let i = 0; i < cfg.n_in; i++) low[t * cfg.n_in + i] = poisson(rand, 0.05 * (i + 1));
    const lowCounts = mat(low, T, cfg.n_in);
    const m = meanLogRates(lowCounts);
    for (let i = 0; i < cfg.n_in; i++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += low[t * cfg.n_in + i];
      assert.ok(Math.abs(m[i] - Math.log(Math.max(s, 0.5) / T)) < 1e-6);
    }
    // The readout's first n_in outputs are the log-rates train() scores (this config has n_out > n_in); only those start at the means.
    assert.deepEqual([...initialWeights(cfg, 1, lowCounts)['readout.bias'].subarray(0, cfg.n_in)], [...m]);
    const once = { ...tc, maxEpochs: 1, minBatchesPerEpoch: 1, lr: 1e-9 };
    const plain = await train(cfg, lowCounts, initialWeights(cfg, 1), once);
    const informed = await train(cfg, lowCounts, initialWeights(cfg, 1, lowCounts), once);
    assert.ok(informed.state.history[0].valNll < plain.state.history[0].valNll, `val nll ${informed.state.history[0].valNll} vs ${plain.state.history[0].valNll}`);
  });

  test('a training part too short for four windows is refused', async () => {
    await assert.rejects(train(cfg, mat(data.subarray(0, 30 * cfg.n_in), 30, cfg.n_in), initialWeights(cfg, 1), tc), /need at least/);
  });
});
