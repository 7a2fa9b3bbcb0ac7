/**
 * The session simulator: determinism, Poisson counts consistent with the true rates, the
 * Lorenz and reaching ground truth behaving as documented, and its XDF read back by our reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentileSorted, rSquared } from '../../report/stats.js';
import { ridgeSolve } from '../../calibration/linear.js';
import { Prng, sessionToXdf, simulateSession, type SimulatedSession } from '../../calibration/simulator/index.js';
import { findStream, readXdf } from '../../streams/xdf/reader.js';
import { binMs, channelLabels } from '../../streams/stream-info.js';
import { childText, path as xmlPath } from '../../streams/xml.js';
import { main as simulateMain } from '../../daemon/commands/simulate.js';

const lorenz = simulateSession({ kind: 'lorenz', seed: 7, bins: 3000, channels: 32 });
const reaching = simulateSession({ kind: 'reaching', seed: 7, bins: 6000, channels: 40 });

function quantile(xs: ArrayLike<number>, q: number): number {
  return percentileSorted(Float64Array.from(xs).sort(), q * 100);
}

/** R² of the least-squares fit y ≈ X·b + c (X is [n × d] row-major), with the project's solver and R². */
function linearR2(X: Float32Array, d: number, y: Float64Array): number {
  const n = y.length;
  const p = d + 1;
  const A = new Float64Array(p * p);
  const r = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = [...X.subarray(i * d, (i + 1) * d), 1];
    for (let a = 0; a < p; a++) { r[a] += row[a] * y[i]; for (let b = 0; b < p; b++) A[a * p + b] += row[a] * row[b]; }
  }
  const beta = ridgeSolve(A, r, p, 1, 0);
  const fitted = Float64Array.from({ length: n }, (_, i) => {
    let f = beta[d];
    for (let k = 0; k < d; k++) f += beta[k] * X[i * d + k];
    return f;
  });
  return rSquared(fitted, y);
}

function column(a: Float32Array, width: number, k: number): Float64Array {
  return Float64Array.from({ length: a.length / width }, (_, i) => a[i * width + k]);
}

test('PRNG: deterministic per seed; uniform, normal and Poisson moments (inversion and PTRS paths)', () => {
  const a = new Prng(42), b = new Prng(42), c = new Prng(43);
  const sa = Array.from({ length: 8 }, () => a.u32());
  assert.deepEqual(sa, Array.from({ length: 8 }, () => b.u32()));
  assert.notDeepEqual(sa, Array.from({ length: 8 }, () => c.u32()));
  const g = new Prng(1);
  const n = 40000;
  let su = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < n; i++) { const u = g.uniform(); assert.ok(u >= 0 && u < 1); su += u; const z = g.normal(); sn += z; sn2 += z * z; }
  assert.ok(Math.abs(su / n - 0.5) < 0.01);
  assert.ok(Math.abs(sn / n) < 0.02);
  assert.ok(Math.abs(sn2 / n - 1) < 0.03);
  for (const lam of [0.3, 4, 29.9, 30, 120]) {
    let s = 0, s2 = 0;
    for (let i = 0; i < 20000; i++) { const k = g.poisson(lam); assert.ok(Number.isInteger(k) && k >= 0); s += k; s2 += k * k; }
    const mean = s / 20000, varr = s2 / 20000 - mean * mean;
    assert.ok(Math.abs(mean - lam) < 4 * Math.sqrt(lam / 20000) + 1e-9, `λ=${lam}: mean ${mean}`);
    assert.ok(Math.abs(varr / lam - 1) < 0.06, `λ=${lam}: variance ${varr}`);
  }
  assert.throws(() => g.poisson(-1), RangeError);
});

test('same seed → the same session and a byte-identical XDF; another seed → a different one', () => {
  const again = simulateSession({ kind: 'lorenz', seed: 7, bins: 3000, channels: 32 });
  assert.deepEqual(again.counts, lorenz.counts);
  assert.deepEqual(sessionToXdf(again), sessionToXdf(lorenz));
  const r2 = simulateSession({ kind: 'reaching', seed: 7, bins: 6000, channels: 40 });
  assert.deepEqual(sessionToXdf(r2), sessionToXdf(reaching));
  const other = simulateSession({ kind: 'lorenz', seed: 8, bins: 3000, channels: 32 });
  let differ = 0;
  for (let j = 0; j < other.counts.length; j++) if (other.counts[j] !== lorenz.counts[j]) differ++;
  assert.ok(differ > other.counts.length / 10, `only ${differ} counts differ`);
  assert.notDeepEqual(other.latents, lorenz.latents);
});

for (const [name, s] of [['lorenz', lorenz], ['reaching', reaching]] as [string, SimulatedSession][]) {
  test(`${name}: counts are Poisson draws of the true rates (mean and dispersion), rates in a realistic range`, () => {
    const dt = s.binMs / 1000;
    let sumCount = 0, sumLam = 0, sumSq = 0;
    for (let j = 0; j < s.counts.length; j++) {
      const lam = Math.exp(s.trueLogRates[j]) * dt;
      sumCount += s.counts[j];
      sumLam += lam;
      sumSq += (s.counts[j] - lam) ** 2;
    }
    const N = s.counts.length;
    // Mean count vs mean expected count: the standard error is sqrt(λ̄ / N); allow 4 of them.
    assert.ok(Math.abs(sumCount - sumLam) / N < 4 * Math.sqrt(sumLam / N / N), `mean count ${sumCount / N} vs ${sumLam / N}`);
    // Poisson: E[(k − λ)²] = λ.
    assert.ok(Math.abs(sumSq / sumLam - 1) < 0.03, `dispersion ${sumSq / sumLam}`);
    const rates = Float64Array.from(s.trueLogRates, Math.exp);
    const median = quantile(rates, 0.5);
    assert.ok(median >= 5 && median <= 40, `median rate ${median} Hz`);
    assert.ok(quantile(rates, 0.05) >= 2 && quantile(rates, 0.95) <= 60, `5–95 % rates ${quantile(rates, 0.05)}–${quantile(rates, 0.95)} Hz`);
    // Rates are modulated, not flat: each channel's log-rate varies.
    let sdSum = 0;
    for (let c = 0; c < s.channels; c++) {
      const col = column(s.trueLogRates, s.channels, c);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      sdSum += Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length);
    }
    assert.ok(sdSum / s.channels > 0.3, `mean log-rate std ${sdSum / s.channels}`);
    // Log-rates are an affine map of the latents (before clamping, which the defaults never reach).
    for (const c of [0, s.channels - 1]) assert.ok(linearR2(s.latents, s.latentDim, column(s.trueLogRates, s.channels, c)) > 0.9999);
    assert.equal(s.timestamps[0], 1000);
    assert.ok(Math.abs(s.timestamps[s.timestamps.length - 1] - (1000 + (s.timestamps.length - 1) * dt)) < 1e-6);
  });
}

test('lorenz: normalised latents follow the Lorenz system; velocity is a fixed linear readout of them', () => {
  const s = lorenz;
  assert.equal(s.latentDim, 3);
  for (let k = 0; k < 3; k++) {
    const col = column(s.latents, 3, k);
    const m = col.reduce((a, b) => a + b, 0) / col.length;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length);
    assert.ok(Math.abs(m) < 0.6 && sd > 0.5 && sd < 1.6, `latent ${k}: mean ${m}, sd ${sd}`);
  }
  // dx/dt = σ(y − x) in the un-normalised coordinates: check by finite differences on the bins.
  const dtL = 0.75 * 0.02;
  let num = 0, den = 0;
  for (let i = 1; i < 2999; i++) {
    const x = (j: number, k: number): number => s.latents[j * 3 + k] * [7.93, 9.0, 8.6][k] + [0, 0, 23.55][k];
    const dx = (x(i + 1, 0) - x(i - 1, 0)) / (2 * dtL);
    const pred = 10 * (x(i, 1) - x(i, 0));
    num += (dx - pred) ** 2;
    den += dx * dx;
  }
  assert.ok(num / den < 0.01, `relative error of dx/dt ${num / den}`);
  for (let r = 0; r < 2; r++) assert.ok(linearR2(s.latents, 3, column(s.velocity, 2, r)) > 0.99999);
  assert.deepEqual(s.velocityLabels, ['vel_x', 'vel_y']);
  assert.equal(s.trials, undefined);
});

test('reaching: bell-shaped reaches toward the target, back to the centre, rotational latents that drive velocity', () => {
  const s = reaching;
  const trials = s.trials!;
  assert.ok(trials.length > 80, `${trials.length} reaches in 2 minutes`);
  assert.deepEqual(s.trialStarts, trials.map((t) => t.startBin));
  const speed = (i: number): number => Math.hypot(s.velocity[2 * i], s.velocity[2 * i + 1]);
  let aligned = 0, bell = 0, reached = 0, rotated = 0, outward = 0, returned = 0;
  for (const t of trials.slice(0, -1)) {
    const mid = Math.round((t.goBin + t.endBin) / 2);
    const cos = (s.velocity[2 * mid] * Math.cos(t.angle) + s.velocity[2 * mid + 1] * Math.sin(t.angle)) / speed(mid);
    if (cos > 0.9) aligned++;
    if (speed(mid) > 3 * speed(t.goBin) && speed(mid) > 3 * speed(t.endBin) && speed(mid) > 15) bell++;
    // During the preparatory period the hand is still.
    assert.ok(speed(t.goBin - 1) < 12, `speed before go ${speed(t.goBin - 1)}`);
    if (t.outward) {
      outward++;
      // The hand moves the reach distance (10 cm) toward the target between go and end.
      const P = s.position!;
      const along = (P[2 * t.endBin] - P[2 * (t.goBin - 1)]) * Math.cos(t.angle) + (P[2 * t.endBin + 1] - P[2 * (t.goBin - 1)]) * Math.sin(t.angle);
      if (Math.abs(along - 10) < 3) reached++;
      // The plane of the dominant axis rotates by about half a turn between go and end.
      const k = Math.abs(Math.cos(t.angle)) > 0.5 ? 0 : 2;
      const ang = (i: number): number => Math.atan2(s.latents[i * 6 + k + 1], s.latents[i * 6 + k]);
      let turn = ang(t.endBin - 1) - ang(t.goBin + 1);
      turn = Math.abs(((turn % (2 * Math.PI)) + 3 * Math.PI) % (2 * Math.PI) - Math.PI);
      if (turn > 0.6 * Math.PI) rotated++;
    } else {
      // A return reach ends near the centre (the latent noise, integrated, leaves the hand a little off).
      const p = Math.hypot(s.position![2 * t.endBin], s.position![2 * t.endBin + 1]);
      if (p < 4) returned++;
    }
  }
  const n = trials.length - 1;
  assert.ok(aligned / n > 0.95, `aligned ${aligned}/${n}`);
  assert.ok(bell / n > 0.9, `bell-shaped ${bell}/${n}`);
  assert.ok(reached / outward > 0.9, `reached ${reached}/${outward}`);
  assert.ok(rotated / outward > 0.8, `rotated ${rotated}/${outward}`);
  assert.ok(returned / (n - outward) > 0.8, `returned ${returned}/${n - outward}`);
  let far = 0;
  for (let i = 0; i < s.timestamps.length; i++) far = Math.max(far, Math.hypot(s.position![2 * i], s.position![2 * i + 1]));
  assert.ok(far < 20, `the hand stays in the workspace (max ${far} cm from the centre)`);
  // Velocity is exactly 30 × the rotation planes' second coordinates.
  for (let i = 0; i < s.timestamps.length; i += 97) {
    assert.ok(Math.abs(s.velocity[2 * i] - 30 * s.latents[6 * i + 1]) < 1e-4);
    assert.ok(Math.abs(s.velocity[2 * i + 1] - 30 * s.latents[6 * i + 3]) < 1e-4);
  }
  assert.equal(s.latentDim, 6);
});

test('sessionToXdf: our reader finds every stream with the right metadata and exact values', () => {
  for (const s of [lorenz, reaching]) {
    const f = readXdf(sessionToXdf(s));
    assert.deepEqual(f.warnings, []);
    const sp = findStream(f, { type: 'SpikeCounts' })!;
    assert.equal(sp.info.name, 'M1-binned');
    assert.equal(sp.info.channelFormat, 'int16');
    assert.equal(sp.info.channelCount, s.channels);
    assert.equal(sp.info.nominalSrate, 50);
    assert.equal(sp.info.sourceId, `langevind-sim-${s.kind}-7-spikes`);
    assert.equal(binMs(sp.info), 20);
    assert.equal(xmlPath(sp.info.desc, 'binning', 'bin_ms')?.text, '20');
    assert.equal(childText(xmlPath(sp.info.desc, 'simulation'), 'kind'), s.kind);
    assert.deepEqual(channelLabels(sp.info), s.channelLabels);
    assert.equal(s.channelLabels[0], 'ch001');
    assert.deepEqual(sp.data, s.counts);
    assert.deepEqual(sp.timeStamps, s.timestamps);
    assert.ok(sp.clockOffsets.length >= 10 && sp.clockOffsets.every((o) => o.value === 0));
    const kin = findStream(f, { type: 'Kinematics' })!;
    assert.equal(kin.info.channelFormat, 'float32');
    const labels = channelLabels(kin.info)!;
    assert.deepEqual(labels, s.kind === 'reaching' ? ['vel_x', 'vel_y', 'pos_x', 'pos_y'] : ['vel_x', 'vel_y']);
    const w = labels.length;
    for (let i = 0; i < s.timestamps.length; i += 111) {
      assert.equal((kin.data as Float32Array)[i * w], s.velocity[2 * i]);
      assert.equal((kin.data as Float32Array)[i * w + 1], s.velocity[2 * i + 1]);
      if (s.position) assert.equal((kin.data as Float32Array)[i * w + 3], s.position[2 * i + 1]);
    }
    const rates = findStream(f, { type: 'GroundTruthLogRates' })!;
    assert.equal(rates.info.name, 'TrueLogRates');
    assert.deepEqual(rates.data, s.trueLogRates);
    const lat = findStream(f, { type: 'GroundTruthLatents' })!;
    assert.equal(lat.info.name, 'Latents');
    assert.equal(lat.info.channelCount, s.latentDim);
    assert.deepEqual(lat.data, s.latents);
    const tr = findStream(f, { name: 'Trials' });
    if (s.kind === 'reaching') {
      assert.equal(tr!.info.type, 'Markers');
      const marks = tr!.data as string[][];
      assert.equal(marks.filter((m) => m[0] === 'trial_start').length, s.trials!.length);
      assert.equal(tr!.timeStamps[0], s.timestamps[s.trials![0].startBin]);
      assert.match(marks[1][0], /^go out target=\d angle=-?\d+$/);
    } else {
      assert.equal(tr, undefined);
    }
  }
});

test('bad options are refused with ESIMULATE', () => {
  const ok = { kind: 'lorenz' as const, seed: 1, bins: 10, channels: 4 };
  assert.throws(() => simulateSession({ ...ok, kind: 'nope' as 'lorenz' }), { code: 'ESIMULATE' });
  assert.throws(() => simulateSession({ ...ok, bins: 0 }), { code: 'ESIMULATE' });
  assert.throws(() => simulateSession({ ...ok, channels: 2.5 }), { code: 'ESIMULATE' });
  assert.throws(() => simulateSession({ ...ok, binMs: -1 }), { code: 'ESIMULATE' });
  assert.throws(() => simulateSession({ ...ok, seed: NaN }), { code: 'ESIMULATE' });
  assert.throws(() => simulateSession({ ...ok, baseRate: 0 }), { code: 'ESIMULATE' });
});

test('langevind simulate writes the file it describes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  try {
    const out = join(dir, 's.xdf');
    const code = await simulateMain(['--kind', 'reaching', '--seed', '5', '--bins', '500', '--channels', '12', '--bin-ms', '25', '--out', out]);
    assert.equal(code, 0);
    const f = readXdf(out);
    const sp = findStream(f, { type: 'SpikeCounts' })!;
    assert.equal(sp.timeStamps.length, 500);
    assert.equal(sp.info.channelCount, 12);
    assert.equal(sp.info.nominalSrate, 40);
    assert.equal(binMs(sp.info), 25);
    const direct = sessionToXdf(simulateSession({ kind: 'reaching', seed: 5, bins: 500, channels: 12, binMs: 25 }));
    assert.deepEqual(new Uint8Array(readFileSync(out)), direct);
    await assert.rejects(() => simulateMain(['--kind', 'lorenz']), { code: 'EUSAGE' });
    await assert.rejects(() => simulateMain(['--bins', '10', '--minutes', '1', '--out', out]), { code: 'EUSAGE' });
    await assert.rejects(() => simulateMain(['--seed', 'x', '--out', out]), { code: 'EUSAGE' });
    await assert.rejects(() => simulateMain(['--channels', '2.5', '--out', out]), { code: 'EUSAGE' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
