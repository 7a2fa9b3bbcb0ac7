import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { datasetFromXdf } from '../../calibration/dataset.js';
import { applyAffine, lagged, mean, r2, ridgeCv, rowSlice } from '../../calibration/linear.js';
import { VELOCITY_GAIN } from '../../calibration/simulator/reaching.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { calibrationBlock, calibrationBlockXdf } from '../../closedloop/user/calibration-block.js';
import { aim, DEFAULT_CONTROLLER } from '../../closedloop/user/controller.js';
import { NeuralEncoder } from '../../closedloop/user/encoder.js';
import { DelayedFeedback } from '../../closedloop/user/feedback.js';
import { SimulatedUser } from '../../closedloop/user/user.js';
import { TASK_STREAMS } from '../../closedloop/streams.js';

describe('delayed feedback', () => {
  test('without a forward model the user sees the cursor exactly delayBins bins late', () => {
    const f = new DelayedFeedback({ delayBins: 10, dt: 0.02, forwardModel: false });
    const est = new Float64Array(2);
    assert.equal(f.estimate(est), false, 'nothing seen yet');
    for (let t = 0; t < 40; t++) {
      f.observe(t, -2 * t);
      f.intend(99, 99);
      assert.ok(f.estimate(est));
      const seen = Math.max(0, t - 10);
      assert.deepEqual([est[0], est[1]], [seen, -2 * seen], `bin ${t}`);
    }
  });

  test('the forward model adds the intentions issued over the delay, so a faithful decoder leaves no error', () => {
    const dt = 0.02;
    const f = new DelayedFeedback({ delayBins: 10, dt });
    const est = new Float64Array(2);
    let x = 0, y = 0;
    for (let t = 0; t < 60; t++) {
      const vx = 10 * Math.sin(t / 7), vy = 5;
      f.observe(x, y);
      assert.ok(f.estimate(est));
      assert.ok(Math.abs(est[0] - x) < 1e-9 && Math.abs(est[1] - y) < 1e-9, `bin ${t}: estimate (${est[0]}, ${est[1]}) vs cursor (${x}, ${y})`);
      f.intend(vx, vy);
      x += vx * dt; y += vy * dt; // the cursor moves as intended
    }
  });

  test('the forward model cannot see what the decoder did instead: a cursor that does not move stays mis-estimated for the delay', () => {
    const f = new DelayedFeedback({ delayBins: 5, dt: 0.1 });
    const est = new Float64Array(2);
    for (let t = 0; t < 20; t++) {
      f.observe(0, 0);
      f.estimate(est);
      if (t >= 5) assert.ok(Math.abs(est[0] - 5 * 0.1 * 3) < 1e-9, `bin ${t}: ${est[0]}`);
      f.intend(3, 0); // intends to move, the decoder never moves the cursor
    }
  });

  test('bad options are refused with a code', () => {
    assert.throws(() => new DelayedFeedback({ delayBins: -1, dt: 0.02 }), { code: 'EUSEROPTS' });
    assert.throws(() => new DelayedFeedback({ delayBins: 1.5, dt: 0.02 }), { code: 'EUSEROPTS' });
    assert.throws(() => new DelayedFeedback({ delayBins: 1, dt: 0 }), { code: 'EUSEROPTS' });
  });
});

describe('controller', () => {
  const p = DEFAULT_CONTROLLER;
  const out = new Float64Array(2);
  test('aims at the target with a speed that saturates with distance', () => {
    let last = 0;
    for (const d of [1, 2, 5, 10, 20, 100]) {
      aim(p, 1, 1, 1 + d * 0.6, 1 - d * 0.8, 0.5, true, out);
      const speed = Math.hypot(out[0], out[1]);
      assert.ok(Math.abs(speed - (p.vmax * d) / (d + p.d0)) < 1e-9, `d ${d}: speed ${speed}`);
      assert.ok(Math.abs(out[0] / speed - 0.6) < 1e-12 && Math.abs(out[1] / speed + 0.8) < 1e-12, 'unit vector to the target');
      assert.ok(speed > last && speed < p.vmax);
      last = speed;
    }
  });

  test('stops inside the target and rests when no target is shown', () => {
    aim(p, 0, 0, 0.2, 0, 1, true, out);
    assert.deepEqual([...out], [0, 0], 'inside holdFraction × radius');
    aim(p, 0, 0, 0.6, 0, 1, true, out);
    assert.ok(out[0] > 0, 'outside holdFraction × radius it still corrects');
    aim(p, 0, 0, 8, 0, 1, false, out);
    assert.deepEqual([...out], [0, 0], 'not aiming');
    aim(p, 0, 0, NaN, NaN, 1, true, out);
    assert.deepEqual([...out], [0, 0], 'no target position');
  });
});

describe('neural encoder', () => {
  test('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number): Int16Array => {
      const e = new NeuralEncoder({ seed, channels: 32 });
      const all = new Int16Array(200 * 32), c = new Int16Array(32);
      for (let t = 0; t < 200; t++) { e.step(10 * Math.cos(t / 10), 5, true, c); all.set(c, t * 32); }
      return all;
    };
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  test('a held intention settles the rotational planes at (0, u / VELOCITY_GAIN), after swinging through the first coordinate', () => {
    const e = new NeuralEncoder({ seed: 1, channels: 8, latentNoise: 0 });
    const c = new Int16Array(8);
    let swing = 0;
    for (let t = 0; t < 300; t++) {
      e.step(15, -6, true, c);
      swing = Math.max(swing, Math.abs(e.latents[0]));
    }
    assert.ok(Math.abs(e.latents[0]) < 1e-6 && Math.abs(e.latents[1] - 15 / VELOCITY_GAIN) < 1e-6, `plane X ${e.latents[0]}, ${e.latents[1]}`);
    assert.ok(Math.abs(e.latents[2]) < 1e-6 && Math.abs(e.latents[3] + 6 / VELOCITY_GAIN) < 1e-6, `plane Y ${e.latents[2]}, ${e.latents[3]}`);
    assert.ok(swing > 0.05, `rotation: first coordinate reached ${swing}`);
    assert.ok(Math.abs(e.latents[5] - 1) < 1e-6, 'engaged');
  });

  test('rates stay physiological and are tuned to the intention', () => {
    const e = new NeuralEncoder({ seed: 3, channels: 192 });
    const c = new Int16Array(192);
    const meanRate = (ux: number, uy: number): Float64Array => {
      e.reset();
      const m = new Float64Array(192);
      for (let t = 0; t < 500; t++) { e.step(ux, uy, true, c); if (t >= 100) for (let i = 0; i < 192; i++) m[i] += c[i] / 400 / 0.02; }
      return m;
    };
    const right = meanRate(20, 0), left = meanRate(-20, 0);
    const avg = right.reduce((a, b) => a + b, 0) / 192;
    assert.ok(avg > 5 && avg < 40, `mean rate ${avg} Hz`);
    let diff = 0;
    for (let i = 0; i < 192; i++) diff += Math.abs(right[i] - left[i]) / 192;
    assert.ok(diff > 2, `channels differ between opposite intentions by ${diff} Hz on average`);
  });

  test('bad options are refused with a code', () => {
    assert.throws(() => new NeuralEncoder({ seed: 1, channels: 0 }), { code: 'EUSEROPTS' });
    assert.throws(() => new NeuralEncoder({ seed: NaN }), { code: 'EUSEROPTS' });
    assert.throws(() => new SimulatedUser({ seed: 1, motorNoise: -1 }), { code: 'EUSEROPTS' });
  });
});

/** The user in a loop with a perfect decoder (the cursor moves by the intention): bins to acquire, overshoot past the target. */
function perfectLoop(forwardModel: boolean): { acquiredAt: number; overshoot: number; heldTo: number } {
  const user = new SimulatedUser({ seed: 5, channels: 16, forwardModel, motorNoise: 0, controller: { vmax: 40, d0: 2 } });
  const dt = 0.02;
  let x = 0, y = 0;
  let acquiredAt = -1, overshoot = 0, heldTo = 0;
  for (let t = 0; t < 200; t++) {
    user.step({ cursorX: x, cursorY: y, targetX: 10, targetY: 0, radius: 1.5, aiming: true });
    x += user.intended[0] * dt; y += user.intended[1] * dt;
    overshoot = Math.max(overshoot, x - 10);
    const inside = Math.hypot(x - 10, y) <= 1.5;
    if (inside && acquiredAt < 0) acquiredAt = t;
    if (acquiredAt >= 0 && inside) heldTo = t;
  }
  return { acquiredAt, overshoot, heldTo };
}

describe('the simulated user in a loop', () => {
  test('with a perfect decoder it reaches the target and holds; without the forward model the 200 ms delay makes it overshoot', () => {
    const fm = perfectLoop(true);
    const plain = perfectLoop(false);
    assert.ok(fm.acquiredAt > 0 && fm.acquiredAt < 50, `acquired at bin ${fm.acquiredAt}`);
    assert.equal(fm.heldTo, 199, 'stays in the target');
    assert.ok(fm.overshoot < 0.75, `forward model overshoot ${fm.overshoot} cm`);
    assert.ok(plain.overshoot > fm.overshoot + 0.5, `plain delayed perception overshoot ${plain.overshoot} vs ${fm.overshoot} cm`);
  });
});

describe('open-loop calibration block', () => {
  before(async () => { await useBackend('wasm'); });

  test('is deterministic for a seed', () => {
    const a = calibrationBlockXdf(calibrationBlock({ seed: 4, trials: 4, channels: 24 }));
    const b = calibrationBlockXdf(calibrationBlock({ seed: 4, trials: 4, channels: 24 }));
    const c = calibrationBlockXdf(calibrationBlock({ seed: 5, trials: 4, channels: 24 }));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('the aiming user (the default) wants the target while the cursor still waits, and its intention outlasts the reach; the anticipating one intends the cursor\'s velocity', () => {
    const speeds = (intent: 'aim' | 'along'): { waiting: number; stopped: number; along: number } => {
      const b = calibrationBlock({ seed: 11, trials: 16, channels: 8, intent });
      const v = b.session.velocity, u = b.intended, g = b.target;
      let w = 0, nw = 0, st = 0, ns = 0, err = 0, n = 0;
      for (let t = 0; t < b.session.timestamps.length; t++) {
        const iu = Math.hypot(u[2 * t], u[2 * t + 1]), cv = Math.hypot(v[2 * t], v[2 * t + 1]);
        const shown = Number.isFinite(g[3 * t]);
        const onTarget = shown && Math.hypot(b.session.position![2 * t] - g[3 * t], b.session.position![2 * t + 1] - g[3 * t + 1]) < 1e-6;
        if (shown && cv === 0 && !onTarget) { w += iu; nw++; } // the reaction time: a target is up, the cursor has not moved yet
        if (onTarget) { st += iu > 6 ? 1 : 0; ns++; } // the cursor has arrived and holds: is the user still pushing?
        err += Math.hypot(u[2 * t] - v[2 * t], u[2 * t + 1] - v[2 * t + 1]); n++;
      }
      return { waiting: w / nw, stopped: st / ns, along: err / n };
    };
    const aim = speeds('aim'), along = speeds('along');
    assert.ok(aim.waiting > 10, `aiming: ${aim.waiting.toFixed(1)} cm/s intended before the cursor moves`);
    assert.ok(along.waiting < 4, `anticipating: ${along.waiting.toFixed(1)} cm/s (motor noise only) before the cursor moves`);
    assert.ok(aim.stopped > 0.05 && aim.stopped > 4 * along.stopped, `bins on the target with the user still pushing (> 6 cm/s): aiming ${aim.stopped.toFixed(3)} (the arrival is seen late), anticipating ${along.stopped.toFixed(3)}`);
    assert.ok(along.along < 3, `anticipating: mean |intention − cursor velocity| ${along.along.toFixed(2)} cm/s, the motor noise`);
    assert.ok(aim.along > 2 * along.along, `aiming: mean |intention − cursor velocity| ${aim.along.toFixed(2)} cm/s`);
    assert.throws(() => calibrationBlock({ seed: 1, trials: 1, intent: 'chase' as 'aim' }), /intent must be one of aim, along/);
  });

  test('the calibration loader takes it as it is, and a Wiener filter fitted on the anticipating user\'s block decodes held-out velocity with R² > 0.5', () => {
    const block = calibrationBlock({ seed: 11, trials: 24, intent: 'along' });
    const file = readXdf(calibrationBlockXdf(block), { syncClocks: true });
    for (const want of Object.values(TASK_STREAMS)) assert.ok(file.streams.some((s) => s.info.type === want.type && s.info.name === want.name), `stream ${want.name}`);
    const markers = file.streams.find((s) => s.info.type === 'Markers')!.data as string[][];
    assert.equal(markers.filter((m) => m[0].startsWith('success')).length, 48, 'each reach and its return succeed');
    const ds = datasetFromXdf(file);
    assert.deepEqual(ds.velocityLabels, ['vel_x', 'vel_y']);
    assert.deepEqual(ds.positionLabels, ['pos_x', 'pos_y']);
    assert.equal(ds.counts.cols, 192);
    assert.equal(ds.binMs, 20);
    assert.deepEqual(ds.notes, []);
    assert.ok(ds.labelled.every(Boolean));
    assert.ok(ds.trueLogRates, 'ground-truth rates are there');
    // The Wiener filter as calibration fits it: ridge with CV alpha on 3 lags of counts, last 20 % held out.
    const n = ds.counts.rows, nt = Math.floor(n * 0.8);
    const X = lagged(ds.counts, 3);
    const fit = ridgeCv(rowSlice(X, 0, nt), rowSlice(ds.velocity, 0, nt)).fit;
    const r = { wiener: { mean: mean(r2(rowSlice(ds.velocity, nt, n), applyAffine(fit, rowSlice(X, nt, n)))) } };
    assert.ok(r.wiener.mean > 0.5, `Wiener held-out R² ${r.wiener.mean}`);
    assert.ok(r.wiener.mean < 0.97, `Wiener held-out R² ${r.wiener.mean}: the population should not be noise-free`);
  });
});
