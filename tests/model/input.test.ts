import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnlineFilter, validateCounts } from '../../model/filter.js';
import { backends, poissonCounts, randomModel, smallConfig } from './helpers.js';

const cfg = smallConfig({ n_in: 4 });
const model = randomModel(cfg, 2);

test('validateCounts accepts counts of any numeric array type and names the bad channel otherwise', () => {
  assert.equal(validateCounts([0, 1, 2, 3], 4), null);
  assert.equal(validateCounts(new Int16Array([0, 1, 2, 3]), 4), null);
  assert.equal(validateCounts(new Float32Array([0, 1, 2, 300]), 4), null);
  assert.match(validateCounts([0, 1, 2], 4)!, /3 channels, the model expects 4/);
  assert.match(validateCounts([0, NaN, 2, 3], 4)!, /channel 1: NaN/);
  assert.match(validateCounts([0, 1, Infinity, 3], 4)!, /channel 2: Infinity/);
  assert.match(validateCounts([0, 1, 2, -1], 4)!, /channel 3: -1 is negative/);
  assert.match(validateCounts([0.5, 1, 2, 3], 4)!, /channel 0: 0.5 is not an integer/);
  assert.match(validateCounts(['1', 1, 2, 3] as unknown as number[], 4)!, /channel 0: 1 is not a number/);
  assert.match(validateCounts(null as unknown as number[], 4)!, /array/);
});

for (const [bname, kernels] of backends()) {
  test(`bad counts throw InputError (EINPUT) and leave the filter state unchanged (${bname})`, () => {
    const counts = poissonCounts(cfg.n_in, 12, 3);
    const clean = new OnlineFilter(model, { kernels });
    const f = new OnlineFilter(model, { kernels });
    const expected: Float32Array[] = [];
    for (const c of counts) expected.push(clean.step(c).velocity.slice());
    const bad: [number[], RegExp][] = [
      [[1, 2, 3], /3 channels, the model expects 4/],
      [[1, 2, 3, 4, 5], /5 channels/],
      [[1, NaN, 0, 0], /channel 1: NaN/],
      [[1, 0, -Infinity, 0], /channel 2: -Infinity/],
      [[1, 0, 0, -2], /channel 3: -2 is negative/],
      [[1.25, 0, 0, 0], /channel 0: 1.25 is not an integer/],
    ];
    for (let t = 0; t < counts.length; t++) {
      // Before each good bin, every kind of bad bin is refused without touching the state.
      for (const [b, re] of bad) {
        const before = f.snapshot();
        assert.throws(() => f.step(b), (e: Error & { code?: string }) => e.code === 'EINPUT' && e.name === 'InputError' && re.test(e.message));
        assert.deepEqual(f.snapshot(), before);
      }
      assert.deepEqual(f.step(counts[t]).velocity, expected[t]);
    }
    assert.equal(f.binsSinceReset, counts.length);
  });
}

test('restore refuses a snapshot of another model or of the wrong size', () => {
  const f = new OnlineFilter(model);
  f.step([1, 0, 2, 0]);
  const other = new OnlineFilter(randomModel(cfg, 3));
  assert.throws(() => other.restore(f.snapshot()), { code: 'ESNAPSHOT' });
  const s = f.snapshot();
  assert.throws(() => f.restore({ ...s, state: s.state.subarray(1) }), { code: 'ESNAPSHOT' });
});

test('step returns the same views every bin (documented as overwritten)', () => {
  const f = new OnlineFilter(model);
  const a = f.step([1, 0, 2, 0]);
  const v1 = a.velocity.slice();
  const b = f.step([0, 3, 0, 1]);
  assert.equal(a, b);
  assert.equal(a.velocity, b.velocity);
  assert.notDeepEqual(b.velocity, v1);
  assert.equal(a.velocity.length, 2);
  assert.equal(a.logRates.length, cfg.n_out);
  assert.equal(a.z.length, cfg.latent);
  assert.equal(a.v.length, cfg.latent);
});
