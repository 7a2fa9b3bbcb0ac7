import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { preset, type ModelConfig } from '../../model/config.js';
import { gaussian, initWeights, mulberry32, poisson } from '../../model/init.js';
import { makeModel } from '../../model/model-file.js';
import { potentialEnergy, gradPotential, normaliseKernel } from '../../model/potential.js';
import { referenceForward } from '../../model/reference.js';
import { OnlineFilter } from '../../model/filter.js';
import { train, DEFAULT_TRAIN } from '../../calibration/train.js';
import { mat } from '../../calibration/linear.js';
import { tf, useBackend } from '../../calibration/backend.js';
import { disposeParams, forward, makeParams, potentialMatrix } from '../../calibration/graph.js';

/** Largest absolute difference over largest absolute value. */
function relErr(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let num = 0;
  let den = 0;
  for (let t = 0; t < a.length; t++) for (let i = 0; i < a[t].length; i++) {
    num = Math.max(num, Math.abs(a[t][i] - b[t][i]));
    den = Math.max(den, Math.abs(b[t][i]));
  }
  return num / den;
}

function counts(rand: () => number, T: number, n: number, rate: number): Float32Array[] {
  return Array.from({ length: T }, () => Float32Array.from({ length: n }, () => poisson(rand, rate * (0.5 + rand()))));
}

/** The TF.js graph over one window, posterior means, dropout off: per-bin arrays. */
function graphForward(cfg: ModelConfig, w: Record<string, Float32Array>, x: Float32Array[]): Record<'logRates' | 'z' | 'v' | 'h' | 'o', number[][]> {
  const p = makeParams(cfg, w);
  try {
    return tf.tidy(() => {
      const flat = new Float32Array(x.length * cfg.n_in);
      x.forEach((row, t) => flat.set(row, t * cfg.n_in));
      const out = forward(cfg, p, tf.tensor3d(flat, [1, x.length, cfg.n_in]), { sample: false, dropout: 0 });
      const get = (t: tf.Tensor): number[][] => (t.squeeze([0]).arraySync() as number[][]);
      return { logRates: get(out.logRates), z: get(out.z), v: get(out.v), h: get(out.h), o: get(out.o) };
    });
  } finally {
    disposeParams(p);
  }
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`training graph = reference forward (${backend})`, () => {
    before(async () => { await useBackend(backend); });

    const cases: [string, ModelConfig, number][] = [
      ['small, T < W', preset('S', { n_in: 12, hidden: 16, latent: 8, osc_channels: 2, heads: 2, ff: 24, window: 16 }), 10],
      ['window wrap (T > W), corrections', preset('S', { n_in: 20, n_out: 20, hidden: 24, latent: 12, osc_channels: 3, heads: 3, ff: 32, window: 5 }), 23],
      ['no corrections', preset('S', { n_in: 9, hidden: 10, latent: 6, osc_channels: 2, heads: 2, ff: 16, window: 4, corrections: false }), 12],
    ];
    for (const [name, cfg, T] of cases) {
      test(name, () => {
        const w = initWeights(cfg, 7, { exerciseAll: true });
        const rand = mulberry32(3);
        const x = counts(rand, T, cfg.n_in, 1.5);
        const ref = referenceForward(makeModel(cfg, w), x);
        const got = graphForward(cfg, w, x);
        for (const k of ['logRates', 'z', 'v', 'h', 'o'] as const) {
          const err = relErr(got[k], ref[k]);
          assert.ok(err <= 1e-4, `${k}: relative error ${err}`);
        }
        // The test must be able to fail: a perturbed weight changes the output.
        const w2 = { ...w, 'potential.kernel': w['potential.kernel'].map((v) => v * -1) };
        const bad = graphForward(cfg, w2, x);
        assert.ok(relErr(bad.v, ref.v) > 1e-3, 'flipping the potential kernel should change v');
      });
    }

    test('∇U matrix equals the closed form and finite differences of U', () => {
      const C = 3;
      const L = 5;
      const rand = mulberry32(11);
      const K = Float32Array.from({ length: C * C * 3 }, () => gaussian(rand));
      K.fill(0, 3, 6); // a zero row stays zero
      const Khat = normaliseKernel(K, C, new Float64Array(C * C * 3));
      const z = Array.from({ length: C * L }, () => gaussian(rand));
      const G = tf.tidy(() => potentialMatrix(tf.tensor3d(K, [C, C, 3]), C, L).arraySync());
      const closed = new Float64Array(C * L);
      gradPotential(closed, z, Khat, C, L);
      const h = 1e-5;
      for (let i = 0; i < C * L; i++) {
        const viaG = G[i].reduce((a, g, j) => a + g * z[j], 0);
        const zp = z.slice(); zp[i] += h;
        const zm = z.slice(); zm[i] -= h;
        const fd = (potentialEnergy(zp, Khat, C, L) - potentialEnergy(zm, Khat, C, L)) / (2 * h);
        assert.ok(Math.abs(viaG - closed[i]) < 1e-4 * (1 + Math.abs(closed[i])), `G z vs closed form at ${i}`);
        assert.ok(Math.abs(fd - closed[i]) < 1e-4 * (1 + Math.abs(closed[i])), `finite difference at ${i}`);
      }
    });
  });
}

/** The filter stepped bin by bin from a reset. */
function filterForward(cfg: ModelConfig, w: Record<string, Float32Array>, x: Float32Array[]): Record<'logRates' | 'z' | 'v', number[][]> {
  const f = new OnlineFilter(makeModel(cfg, w));
  const out = { logRates: [] as number[][], z: [] as number[][], v: [] as number[][] };
  for (const row of x) {
    const s = f.step(row);
    out.logRates.push(Array.from(s.logRates));
    out.z.push(Array.from(s.z));
    out.v.push(Array.from(s.v));
  }
  return out;
}

describe('training graph = OnlineFilter stepped bin by bin', () => {
  before(async () => { await useBackend('wasm'); });

  test('random weights, through a window wrap', () => {
    const cfg = preset('S', { n_in: 16, hidden: 20, latent: 12, osc_channels: 3, heads: 2, ff: 24, window: 6 });
    const w = initWeights(cfg, 21, { exerciseAll: true });
    const x = counts(mulberry32(5), 19, cfg.n_in, 2);
    const got = graphForward(cfg, w, x);
    const ref = filterForward(cfg, w, x);
    for (const k of ['logRates', 'z', 'v'] as const) assert.ok(relErr(got[k], ref[k]) <= 1e-4, `${k}: ${relErr(got[k], ref[k])}`);
  });

  test('a model after training epochs (the calibrated weights, not just an initialisation)', async () => {
    const cfg = preset('S', { n_in: 10, hidden: 16, latent: 8, osc_channels: 2, heads: 2, ff: 16, window: 8 });
    const rand = mulberry32(9);
    const T = 600;
    const data = new Float32Array(T * cfg.n_in);
    for (let t = 0; t < T; t++) for (let i = 0; i < cfg.n_in; i++) data[t * cfg.n_in + i] = poisson(rand, Math.exp(0.3 + Math.sin(t / 7 + i)));
    const init = initWeights(cfg, 4, { potentialScale: 0 });
    const res = await train(cfg, mat(data, T, cfg.n_in), init, { ...DEFAULT_TRAIN, window: 8, batch: 16, maxEpochs: 3, klRampEpochs: 1, wdRampEpochs: 1 });
    assert.equal(res.state.epoch, 3);
    assert.ok(res.state.history.every((h) => Number.isFinite(h.valNll)));
    const w: Record<string, Float32Array> = { ...res.weights, 'velocity.weight': init['velocity.weight'], 'velocity.bias': init['velocity.bias'] };
    // Training moved the weights (incl. the potential kernel away from zero).
    assert.ok(w['potential.kernel'].some((v) => v !== 0));
    assert.ok(w['encoder.weight_ih'].some((v, i) => v !== init['encoder.weight_ih'][i]));
    const x = Array.from({ length: 20 }, (_, t) => data.slice((100 + t) * cfg.n_in, (101 + t) * cfg.n_in));
    const got = graphForward(cfg, w, x);
    const ref = filterForward(cfg, w, x);
    for (const k of ['logRates', 'z', 'v'] as const) assert.ok(relErr(got[k], ref[k]) <= 1e-4, `${k}: ${relErr(got[k], ref[k])}`);
    const r = referenceForward(makeModel(cfg, w), x);
    for (const k of ['logRates', 'z', 'v'] as const) assert.ok(relErr(got[k], r[k]) <= 1e-4, `${k} vs reference: ${relErr(got[k], r[k])}`);
  });
});
