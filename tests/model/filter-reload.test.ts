/** OnlineFilter.reloadSteps and setReadout: a filter turned into another model in place steps exactly as a fresh one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dims, preset } from '../../model/config.js';
import { OnlineFilter, sameFilterShape } from '../../model/filter.js';
import { initWeights, mulberry32 } from '../../model/init.js';
import { makeModel } from '../../model/model-file.js';
import { syntheticCounts } from '../support/model.js';

const cfg = preset('S', { n_in: 16, n_out: 16, bin_ms: 10, hidden: 16, latent: 16, ff: 32, window: 8 });
const A = { ...makeModel(cfg, initWeights(cfg, 1)), id: 'model-a' };
const B = { ...makeModel({ ...cfg, step: cfg.step * 2 }, initWeights(cfg, 2)), id: 'model-b' };
const counts = syntheticCounts(16, 40, 9);

test('reloadSteps turns a used filter of A into B: every step equal to a fresh B, id and config B', () => {
  const f = new OnlineFilter(A);
  for (const c of counts.slice(0, 10)) f.step(c);
  const steps = f.reloadSteps(B);
  assert.ok(steps.length > 20, 'one step per tensor');
  for (const s of steps) s();
  assert.equal(f.modelId, 'model-b');
  assert.equal(f.config.step, cfg.step * 2);
  assert.equal(f.binsSinceReset, 0);
  const fresh = new OnlineFilter(B);
  for (const c of counts) assert.deepEqual(Array.from(f.step(c).velocity), Array.from(fresh.step(c).velocity));
});

test('reloadSteps refuses other shapes; sameFilterShape says why not before', () => {
  const wide = preset('S', { n_in: 16, n_out: 16, bin_ms: 10, hidden: 32, latent: 16, ff: 32, window: 8 });
  assert.equal(sameFilterShape(cfg, wide), false);
  assert.equal(sameFilterShape(cfg, B.config), true);
  assert.throws(() => new OnlineFilter(A).reloadSteps(makeModel(wide, initWeights(wide, 3))), { code: 'ESHAPE' });
});

test('setReadout swaps the velocity readout and keeps the state', () => {
  const { K, features } = dims(cfg);
  const rand = mulberry32(4);
  const weight = Array.from({ length: K * features }, () => rand() - 0.5);
  const bias = [0.5, -0.25];
  const f = new OnlineFilter(A);
  const g = new OnlineFilter({ ...A, weights: { ...A.weights, 'velocity.weight': Float32Array.from(weight), 'velocity.bias': Float32Array.from(bias) } });
  for (const c of counts.slice(0, 12)) {
    f.step(c);
    g.step(c);
  }
  f.setReadout(f.prepareReadout(weight, bias));
  for (const c of counts.slice(12)) assert.deepEqual(Array.from(f.step(c).velocity), Array.from(g.step(c).velocity));
  assert.throws(() => f.prepareReadout(weight.slice(1), bias), { code: 'ESHAPE' });
  assert.throws(() => f.prepareReadout(weight.map((x, i) => (i === 3 ? NaN : x)), bias), { code: 'EVALUE' });
});
