/**
 * The baseline decoders as the daemon runs them (model/wiener-filter.ts, model/kalman-filter.ts)
 * against calibration's offline evaluation of the same fit on the same held-out bins; their
 * storage in the model file and its refusals.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Mat } from '../../calibration/linear.js';
import { createDecoder, availableDecoders, decoderId } from '../../model/decoders.js';
import { KalmanFilter } from '../../model/kalman-filter.js';
import { loadModel, makeModel } from '../../model/model-file.js';
import { readSafetensors, writeSafetensors } from '../../model/safetensors.js';
import { WienerFilter } from '../../model/wiener-filter.js';
import { baselineFixture, type BaselineFixture } from '../support/baselines.js';
import { tempDir } from '../support/net.js';
import { writeTestModel } from '../support/model.js';

const tmp = tempDir();
after(() => tmp.cleanup());
let fx: BaselineFixture;
// The position-velocity filter (the larger state: the carry test needs two shapes); the velocity one below.
before(async () => { fx = await baselineFixture(tmp.dir, { kalmanState: 'position-velocity' }); });

/** Largest |online − offline| over every bin and component, stepping from a reset. */
function maxDiff(f: { stepUnchecked(c: ArrayLike<number>): { velocity: ArrayLike<number> } }, counts: Mat, pred: Mat): number {
  let worst = 0;
  for (let t = 0; t < counts.rows; t++) {
    const v = f.stepUnchecked(counts.data.subarray(t * counts.cols, (t + 1) * counts.cols)).velocity;
    for (let k = 0; k < pred.cols; k++) worst = Math.max(worst, Math.abs(v[k] - pred.data[t * pred.cols + k]));
  }
  return worst;
}

describe('live baselines equal the offline evaluation', () => {
  test('the fit is a real decoder (held-out R² well above 0), so equality is not trivial', () => {
    assert.ok(fx.fit.wiener.mean > 0.3, `Wiener R² ${fx.fit.wiener.mean}`);
    assert.ok(fx.fit.kalman.mean > 0.3, `Kalman R² ${fx.fit.kalman.mean}`);
    assert.deepEqual(fx.fit.kalman.state, ['pos_x', 'pos_y', 'vel_x', 'vel_y']);
    assert.ok(fx.model.baselines.wiener!.lags >= 1);
  });

  for (const name of ['wiener', 'kalman'] as const) {
    test(`${name}: bin by bin over the held-out block, from the loaded file, to 1e-6; again after reset()`, () => {
      const f = createDecoder(fx.model, name);
      const pred = name === 'wiener' ? fx.fit.wienerPred : fx.fit.kalmanPred;
      let scale = 0;
      for (const x of pred.data) scale = Math.max(scale, Math.abs(x));
      assert.ok(scale > 1, 'velocities of a real size');
      assert.ok(maxDiff(f, fx.test, pred) <= 1e-6 * scale, 'first pass');
      f.reset();
      assert.ok(maxDiff(f, fx.test, pred) <= 1e-6 * scale, 'after reset');
      // Not the same as starting mid-block: the state (lags, covariance) matters.
      f.reset();
      const late = { ...fx.test, data: fx.test.data.subarray(5 * fx.test.cols), rows: fx.test.rows - 5 };
      const shifted = { ...pred, data: pred.data.subarray(5 * pred.cols), rows: pred.rows - 5 };
      assert.ok(maxDiff(f, late, shifted) > 1e-3, 'a decoder with state depends on where it started');
    });
  }

  test('carryFrom(): a filter continuing from another\'s state mid-block decodes the rest as the one that ran it all; other shapes are refused', () => {
    for (const name of ['wiener', 'kalman'] as const) {
      const pred = name === 'wiener' ? fx.fit.wienerPred : fx.fit.kalmanPred;
      const first = createDecoder(fx.model, name) as WienerFilter | KalmanFilter;
      const head = { ...fx.test, rows: 40, data: fx.test.data.subarray(0, 40 * fx.test.cols) };
      maxDiff(first, head, { ...pred, rows: 40 });
      const next = createDecoder(fx.model, name) as WienerFilter | KalmanFilter;
      (next.carryFrom as (o: typeof first) => void)(first);
      const late = { ...fx.test, data: fx.test.data.subarray(40 * fx.test.cols), rows: fx.test.rows - 40 };
      const shifted = { ...pred, data: pred.data.subarray(40 * pred.cols), rows: pred.rows - 40 };
      assert.ok(maxDiff(next, late, shifted) <= 1e-5, `${name} carried`);
      next.reset();
      assert.ok(maxDiff(next, late, shifted) > 1e-3, `${name}: without the carried state it differs`);
    }
    const k = fx.model.baselines.kalman!;
    const small = new KalmanFilter({ ...k, state: k.state.slice(2), velocityOffset: 0, A: new Float64Array(9), Q: new Float64Array(9), C: new Float64Array(fx.model.config.n_in * 3), x0: new Float64Array(3) } as never, fx.model.config.n_in, 2);
    assert.throws(() => small.carryFrom(createDecoder(fx.model, 'kalman') as KalmanFilter), /cannot carry a state of 4/);
    const w = fx.model.baselines.wiener!;
    const fewer = new WienerFilter({ ...w, lags: 1, weight: new Float32Array(2 * fx.model.config.n_in) }, fx.model.config.n_in, 2);
    assert.throws(() => fewer.carryFrom(createDecoder(fx.model, 'wiener') as WienerFilter), /cannot carry \d+ lags/);
  });

  test('calibration\'s default Kalman state is velocity only (Kim et al. 2008), and that filter too runs live as it was evaluated', async () => {
    const v = await baselineFixture(tmp.dir, { name: 'velocity-kalman.safetensors' });
    assert.deepEqual(v.fit.kalman.state, ['vel_x', 'vel_y']);
    assert.deepEqual([v.model.baselines.kalman!.state, v.model.baselines.kalman!.velocityOffset], [['vel_x', 'vel_y'], 0]);
    assert.ok(v.fit.kalman.mean > 0.3, `velocity Kalman R² ${v.fit.kalman.mean}`);
    let scale = 0;
    for (const x of v.fit.kalmanPred.data) scale = Math.max(scale, Math.abs(x));
    assert.ok(maxDiff(createDecoder(v.model, 'kalman'), v.test, v.fit.kalmanPred) <= 1e-6 * scale);
    assert.ok(maxDiff(createDecoder(v.model, 'kalman'), v.test, fx.fit.kalmanPred) > 1e-3, 'not the position-velocity filter');
  });

  test('step() refuses a bad counts vector with EINPUT and leaves the state as it was', () => {
    for (const name of ['wiener', 'kalman'] as const) {
      const f = createDecoder(fx.model, name) as WienerFilter | KalmanFilter;
      assert.throws(() => f.step(new Float32Array(3)), { code: 'EINPUT' });
      const c = new Float32Array(fx.model.config.n_in).fill(1);
      c[2] = -1;
      assert.throws(() => f.step(c), { code: 'EINPUT', message: /channel 2/ });
      const pred = name === 'wiener' ? fx.fit.wienerPred : fx.fit.kalmanPred;
      assert.ok(maxDiff(f, fx.test, pred) <= 1e-5);
    }
  });
});

describe('baselines in the model file', () => {
  test('save → load keeps them exactly; ids name the decoder; inspect-style listing', () => {
    const again = loadModel(readFileSync(fx.path));
    assert.deepEqual(again.baselines, fx.model.baselines);
    assert.deepEqual(availableDecoders(again), ['langevinflow', 'wiener', 'kalman']);
    assert.equal(decoderId(again, 'wiener'), `${again.id}/wiener`);
    assert.equal(decoderId(again, 'langevinflow'), again.id);
    const meta = JSON.parse(again.metadata['langevind.baselines']);
    assert.deepEqual(Object.keys(meta).sort(), ['kalman', 'wiener']);
    assert.equal(meta.kalman.velocity_offset, 2);
  });

  test('the network tensors of a model are unchanged by adding baselines', () => {
    const bare = makeModel(fx.model.config, fx.model.weights);
    const file = readSafetensors(readFileSync(fx.path));
    for (const [name, data] of Object.entries(bare.weights)) assert.deepEqual(file.tensors.get(name)!.data, data, name);
    const names = [...file.tensors.keys()].filter((n) => n.startsWith('baseline.')).sort();
    assert.deepEqual(names, ['baseline.kalman.A', 'baseline.kalman.C', 'baseline.kalman.Q', 'baseline.kalman.R', 'baseline.kalman.x0', 'baseline.wiener.bias', 'baseline.wiener.weight']);
  });

  /** The fixture's file with its header or tensors changed by edit, written and loaded. */
  function edited(edit: (t: Map<string, { shape: number[]; data: Float32Array }>, m: Record<string, string>) => void): () => unknown {
    const f = readSafetensors(readFileSync(fx.path));
    const t = new Map([...f.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edit(t, f.metadata);
    const p = join(tmp.dir, 'edited.safetensors');
    writeFileSync(p, writeSafetensors(t, f.metadata));
    return () => loadModel(p);
  }

  test('refusals name the problem with a code', () => {
    assert.throws(edited((t) => t.delete('baseline.kalman.R')), { code: 'EMISSING', message: /baseline\.kalman\.R/ });
    assert.throws(edited((t) => { const w = t.get('baseline.wiener.weight')!; t.set('baseline.wiener.weight', { shape: [w.shape[1], w.shape[0]], data: w.data }); }), { code: 'ESHAPE', message: /baseline\.wiener\.weight/ });
    assert.throws(edited((t) => { t.get('baseline.kalman.A')!.data[3] = NaN; }), { code: 'EVALUE', message: /baseline\.kalman\.A.*index 3/ });
    assert.throws(edited((_, m) => { delete m['langevind.baselines']; }), { code: 'EUNEXPECTED', message: /baseline\.\S+ is a baseline/ });
    assert.throws(edited((t) => t.set('baseline.wiener.extra', { shape: [1], data: new Float32Array(1) })), { code: 'EUNEXPECTED', message: /baseline\.wiener\.extra/ });
    assert.throws(edited((_, m) => { m['langevind.baselines'] = '{"wiener":'; }), { code: 'EJSON' });
    assert.throws(edited((_, m) => { m['langevind.baselines'] = '{"wiener":{"lags":0}}'; }), { code: 'EHEADER', message: /lags/ });
    assert.throws(edited((_, m) => { m['langevind.baselines'] = '{"ridge":{}}'; }), { code: 'EHEADER', message: /unknown baseline "ridge"/ });
    assert.throws(edited((_, m) => { const b = JSON.parse(m['langevind.baselines']); b.kalman.velocity_offset = 3; m['langevind.baselines'] = JSON.stringify(b); }), { code: 'EHEADER', message: /velocity_offset/ });
    // A file with only the Wiener filter loads and offers just that one.
    const onlyWiener = edited((t, m) => {
      for (const k of [...t.keys()]) if (k.startsWith('baseline.kalman.')) t.delete(k);
      const b = JSON.parse(m['langevind.baselines']); delete b.kalman; m['langevind.baselines'] = JSON.stringify(b);
    })() as ReturnType<typeof loadModel>;
    assert.deepEqual(availableDecoders(onlyWiener), ['langevinflow', 'wiener']);
    assert.throws(() => createDecoder(onlyWiener, 'kalman'), { code: 'ENOBASELINE', message: /no Kalman baseline.*baseline\.kalman\.A/ });
  });

  test('a model without baselines refuses wiener and kalman with ENOBASELINE, naming what is missing', () => {
    const { model } = writeTestModel(tmp.dir, { nIn: 8, name: 'bare.safetensors' });
    assert.deepEqual(model.baselines, {});
    assert.deepEqual(availableDecoders(model), ['langevinflow']);
    assert.throws(() => createDecoder(model, 'wiener'), { code: 'ENOBASELINE', message: /no Wiener baseline \(no baseline\.wiener\.weight\/bias tensors.*--baselines-only/ });
    assert.throws(() => createDecoder(model, 'kalman'), { code: 'ENOBASELINE' });
  });
});
