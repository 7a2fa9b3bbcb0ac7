import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preset } from '../../model/config.js';
import { gaussian, initWeights, mulberry32, poisson } from '../../model/init.js';
import { tensorShapes } from '../../model/tensors.js';

test('mulberry32 is seeded and uniform on [0, 1); gaussian and poisson have the right moments', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 20000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.notEqual(mulberry32(43)(), xs[0]);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `uniform mean ${mean}`);
  const r = mulberry32(7);
  const g = Array.from({ length: 20000 }, () => gaussian(r));
  const gm = g.reduce((s, x) => s + x, 0) / g.length;
  const gv = g.reduce((s, x) => s + (x - gm) ** 2, 0) / g.length;
  assert.ok(Math.abs(gm) < 0.03 && Math.abs(gv - 1) < 0.05, `gaussian mean ${gm} var ${gv}`);
  for (const lambda of [0.3, 4, 50]) {
    const p = Array.from({ length: 20000 }, () => poisson(r, lambda));
    assert.ok(p.every((k) => Number.isInteger(k) && k >= 0));
    const pm = p.reduce((s, x) => s + x, 0) / p.length;
    const pv = p.reduce((s, x) => s + (x - pm) ** 2, 0) / p.length;
    assert.ok(Math.abs(pm - lambda) < 0.05 * lambda + 0.02 && Math.abs(pv - lambda) < 0.1 * lambda + 0.03, `poisson(${lambda}): mean ${pm} var ${pv}`);
  }
});

test('initWeights: seeded, PyTorch-like bounds, LayerNorm identity, non-zero potential unless asked', () => {
  const cfg = preset('S');
  const w = initWeights(cfg, 1);
  const shapes = tensorShapes(cfg);
  assert.deepEqual(Object.keys(w).sort(), Object.keys(shapes).sort());
  for (const [k, s] of Object.entries(shapes)) assert.equal(w[k].length, s.reduce((a, b) => a * b, 1), k);
  assert.deepEqual(initWeights(cfg, 1)['readout.weight'], w['readout.weight']);
  assert.notDeepEqual(initWeights(cfg, 2)['readout.weight'], w['readout.weight']);
  const maxAbs = (a: Float32Array): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(maxAbs(w['encoder.weight_ih']) <= 1 / Math.sqrt(cfg.hidden));
  assert.ok(maxAbs(w['encoder.weight_ih']) > 0.9 / Math.sqrt(cfg.hidden));
  assert.ok(maxAbs(w['decoder.linear2.weight']) <= 1 / Math.sqrt(cfg.ff));
  assert.ok(maxAbs(w['decoder.linear2.bias']) <= 1 / Math.sqrt(cfg.ff));
  const d = 2 * cfg.latent + cfg.hidden;
  assert.ok(maxAbs(w['decoder.self_attn.in_proj_weight']) <= Math.sqrt(6 / (4 * d)));
  assert.equal(maxAbs(w['decoder.self_attn.in_proj_bias']), 0);
  assert.ok(w['decoder.norm1.weight'].every((x) => x === 1) && w['decoder.norm2.bias'].every((x) => x === 0));
  assert.ok(maxAbs(w['potential.kernel']) > 0);
  assert.equal(maxAbs(initWeights(cfg, 1, { potentialScale: 0 })['potential.kernel']), 0);
  const all = initWeights(cfg, 1, { exerciseAll: true });
  assert.ok(maxAbs(all['decoder.self_attn.in_proj_bias']) > 0 && all['decoder.norm1.weight'].some((x) => x !== 1));
});
