import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ModelConfig } from '../../model/config.js';
import { OnlineFilter, type StepOutput } from '../../model/filter.js';
import type { KernelFactory } from '../../model/kernels.js';
import { referenceForward, type ReferenceOutput } from '../../model/reference.js';
import { backends, poissonCounts, randomModel, relErr, smallConfig } from './helpers.js';

const TOL = 1e-4;

const KEYS = ['velocity', 'logRates', 'z', 'v', 'h', 'o'] as const;
type Trace = Record<(typeof KEYS)[number], Float32Array[]>;
const emptyTrace = (): Trace => ({ velocity: [], logRates: [], z: [], v: [], h: [], o: [] });
function record(tr: Trace, o: StepOutput): void {
  for (const k of KEYS) tr[k].push(o[k].slice());
}
function assertClose(tr: Trace, ref: ReferenceOutput, what: string): void {
  for (const k of KEYS) {
    const err = relErr(tr[k], ref[k]);
    assert.ok(err <= TOL, `${what}: ${k} relative error ${err} > ${TOL}`);
  }
}

const configs: [string, ModelConfig][] = [
  ['tiny, odd sizes, 2 heads', smallConfig()],
  ['odd sizes, 5 heads, lags 3, mixed features', smallConfig({
    n_in: 13, n_out: 17, hidden: 11, latent: 12, osc_channels: 3, heads: 5, ff: 19, window: 6,
    velocity_features: { sources: ['z', 'rates', 'h'], lags: 3 },
  })],
  ['1 head, no corrections, o and log_rates features', smallConfig({
    n_in: 9, n_out: 9, hidden: 7, latent: 8, osc_channels: 4, heads: 1, ff: 12, window: 5, corrections: false,
    velocity_features: { sources: ['log_rates', 'o', 'v'], lags: 2 },
  })],
  ['window 1 (attends to itself only), head width 1', smallConfig({ window: 1, heads: 18, corrections: false })],
  ['preset-S-like widths, C=1', smallConfig({
    n_in: 24, n_out: 32, hidden: 20, latent: 16, osc_channels: 1, heads: 4, ff: 33, window: 7,
    velocity_features: { sources: ['rates'], lags: 7 },
  })],
];

for (const [bname, kernels] of backends()) {
  describe(`OnlineFilter (${bname} kernels) equals the reference`, () => {
    for (const [name, cfg] of configs) {
      test(`${name}: through the window wrap-around`, () => {
        const model = randomModel(cfg, 7);
        const counts = poissonCounts(cfg.n_in, 3 * cfg.window + 5, 11);
        const ref = referenceForward(model, counts);
        const f = new OnlineFilter(model, { kernels });
        assert.equal(f.backend, bname);
        const tr = emptyTrace();
        for (const c of counts) record(tr, f.step(c));
        assert.equal(f.binsSinceReset, counts.length);
        assertClose(tr, ref, name);
        // A reference that is not degenerate: rates and velocity change across bins.
        assert.notDeepEqual(tr.velocity[1], tr.velocity[counts.length - 1]);
      });
    }

    test('after a reset, a new sequence starts from bin 0', () => {
      const cfg = configs[1][1];
      const model = randomModel(cfg, 3);
      const first = poissonCounts(cfg.n_in, 2 * cfg.window + 1, 5);
      const second = poissonCounts(cfg.n_in, 2 * cfg.window + 3, 6);
      const f = new OnlineFilter(model, { kernels });
      for (const c of first) f.step(c);
      f.reset();
      assert.equal(f.binsSinceReset, 0);
      const tr = emptyTrace();
      for (const c of second) record(tr, f.step(c));
      assertClose(tr, referenceForward(model, second), 'after reset');
    });

    test('snapshot/restore mid-sequence resumes exactly, also on another filter', () => {
      const cfg = configs[1][1];
      const model = randomModel(cfg, 4);
      const counts = poissonCounts(cfg.n_in, 3 * cfg.window, 8);
      const ref = referenceForward(model, counts);
      const cut = cfg.window + 2;
      const f = new OnlineFilter(model, { kernels });
      for (let t = 0; t < cut; t++) f.step(counts[t]);
      const snap = f.snapshot();
      // Diverge, then come back.
      for (let t = 0; t < 5; t++) f.step(counts[(t * 7) % counts.length]);
      f.restore(snap);
      assert.equal(f.binsSinceReset, cut);
      const tr = emptyTrace();
      for (let t = cut; t < counts.length; t++) record(tr, f.step(counts[t]));
      const tail = (r: ReferenceOutput): ReferenceOutput => ({
        velocity: r.velocity.slice(cut), logRates: r.logRates.slice(cut), z: r.z.slice(cut), v: r.v.slice(cut), h: r.h.slice(cut), o: r.o.slice(cut),
      });
      assertClose(tr, tail(ref), 'after restore');
      const g = new OnlineFilter(model, { kernels });
      g.restore(snap);
      const tr2 = emptyTrace();
      for (let t = cut; t < counts.length; t++) record(tr2, g.step(counts[t]));
      assert.deepEqual(tr2.velocity, tr.velocity);
    });
  });
}

test('ts and wasm kernels agree on preset S over 100 bins', { skip: backends().length < 2 }, async () => {
  const { preset } = await import('../../model/config.js');
  const cfg = preset('S');
  const model = randomModel(cfg, 9);
  const counts = poissonCounts(cfg.n_in, 100, 12);
  const [[, a], [, b]] = backends() as [string, KernelFactory][];
  const fa = new OnlineFilter(model, { kernels: a });
  const fb = new OnlineFilter(model, { kernels: b });
  const ta = emptyTrace();
  const tb = emptyTrace();
  for (const c of counts) {
    record(ta, fa.step(c));
    record(tb, fb.step(c));
  }
  for (const k of KEYS) assert.ok(relErr(tb[k], ta[k]) <= TOL, k);
});

test('preset S matches the reference over 40 bins (ts kernels)', async () => {
  const { preset } = await import('../../model/config.js');
  const cfg = preset('S', { velocity_features: { sources: ['rates', 'z'], lags: 2 } });
  const model = randomModel(cfg, 10);
  const counts = poissonCounts(cfg.n_in, 40, 13);
  const f = new OnlineFilter(model, { kernels: backends()[0][1] });
  const tr = emptyTrace();
  for (const c of counts) record(tr, f.step(c));
  assertClose(tr, referenceForward(model, counts), 'preset S');
});
