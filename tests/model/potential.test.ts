import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gaussian, mulberry32 } from '../../model/init.js';
import { gradPotential, normaliseKernel, potentialEnergy } from '../../model/potential.js';

function randomVec(n: number, rand: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = gaussian(rand);
  return a;
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** U written straight from the definition: S = conv1d(Z, K̂, padding 1); U = Σ_l (Σ_o S[o,l]) (Σ_c Z[c,l]). */
function energyFromDefinition(z: ArrayLike<number>, Khat: ArrayLike<number>, C: number, L: number): number {
  const Z = (c: number, l: number): number => (l < 0 || l >= L ? 0 : z[c * L + l]);
  let U = 0;
  for (let l = 0; l < L; l++) {
    let s = 0;
    for (let o = 0; o < C; o++) for (let i = 0; i < C; i++) for (let k = 0; k < 3; k++) s += Khat[(o * C + i) * 3 + k] * Z(i, l + k - 1);
    let u = 0;
    for (let c = 0; c < C; c++) u += Z(c, l);
    U += s * u;
  }
  return U;
}

const sizes: [number, number][] = [[1, 1], [1, 5], [2, 3], [4, 7], [3, 16], [4, 70]];

test('normaliseKernel: unit rows, zero rows stay zero, scale-invariant', () => {
  const C = 3;
  const rand = mulberry32(1);
  const K = randomVec(C * C * 3, rand);
  K.fill(0, 6, 9); // row (o=0, i=2) zero
  const Kh = normaliseKernel(K, C, new Float64Array(K.length));
  for (let r = 0; r < C * C; r++) {
    const n = Math.hypot(Kh[3 * r], Kh[3 * r + 1], Kh[3 * r + 2]);
    if (r === 2) assert.equal(n, 0);
    else assert.ok(Math.abs(n - 1) < 1e-12, `row ${r} norm ${n}`);
  }
  const K7 = K.map((x) => 7 * x);
  assert.deepEqual(Array.from(normaliseKernel(K7, C, new Float64Array(K.length))).map((x) => x.toFixed(12)), Array.from(Kh).map((x) => x.toFixed(12)));
});

for (const [C, L] of sizes) {
  test(`U and ∇U (C=${C}, L=${L}): definition, finite differences, quadratic-form facts`, () => {
    const rand = mulberry32(100 * C + L);
    const D = C * L;
    const Kh = normaliseKernel(randomVec(C * C * 3, rand), C, new Float64Array(C * C * 3));
    const z = randomVec(D, rand);
    const U = potentialEnergy(z, Kh, C, L);
    assert.ok(Math.abs(U - energyFromDefinition(z, Kh, C, L)) <= 1e-10 * (1 + Math.abs(U)));

    const g = new Float64Array(D);
    gradPotential(g, z, Kh, C, L);
    // Central differences are exact for a quadratic up to rounding.
    const h = 1e-3;
    const zp = Float64Array.from(z);
    let maxErr = 0;
    let maxG = 0;
    for (let i = 0; i < D; i++) {
      zp[i] = z[i] + h;
      const up = potentialEnergy(zp, Kh, C, L);
      zp[i] = z[i] - h;
      const um = potentialEnergy(zp, Kh, C, L);
      zp[i] = z[i];
      const fd = (up - um) / (2 * h);
      maxErr = Math.max(maxErr, Math.abs(fd - g[i]));
      maxG = Math.max(maxG, Math.abs(g[i]));
    }
    assert.ok(maxErr <= 1e-8 * (1 + maxG), `finite differences differ by ${maxErr}`);

    // U is a quadratic form: U(αz) = α²U(z); Euler: ∇U(z)·z = 2U(z).
    const alpha = -1.7;
    assert.ok(Math.abs(potentialEnergy(z.map((x) => alpha * x), Kh, C, L) - alpha * alpha * U) <= 1e-10 * (1 + Math.abs(U)));
    assert.ok(Math.abs(dot(g, z) - 2 * U) <= 1e-10 * (1 + Math.abs(U)));
    // ∇U is linear with a symmetric Jacobian: ∇U(a+b) = ∇U(a)+∇U(b) and ⟨∇U(a), b⟩ = ⟨∇U(b), a⟩.
    const a = randomVec(D, rand);
    const b = randomVec(D, rand);
    const ga = new Float64Array(D);
    const gb = new Float64Array(D);
    const gab = new Float64Array(D);
    gradPotential(ga, a, Kh, C, L);
    gradPotential(gb, b, Kh, C, L);
    gradPotential(gab, a.map((x, i) => x + b[i]), Kh, C, L);
    for (let i = 0; i < D; i++) assert.ok(Math.abs(gab[i] - ga[i] - gb[i]) <= 1e-10 * (1 + Math.abs(gab[i])));
    assert.ok(Math.abs(dot(ga, b) - dot(gb, a)) <= 1e-10 * (1 + Math.abs(dot(ga, b))));
    // The Float32 path used online agrees to single precision.
    const g32 = new Float32Array(D);
    gradPotential(g32, Float32Array.from(z), Float32Array.from(Kh), C, L);
    for (let i = 0; i < D; i++) assert.ok(Math.abs(g32[i] - g[i]) <= 1e-5 * (1 + maxG));
  });
}

test('the zero kernel gives U ≡ 0 and ∇U ≡ 0; permuting the output channels of K changes nothing', () => {
  const C = 3;
  const L = 5;
  const rand = mulberry32(3);
  const z = randomVec(C * L, rand);
  const zero = normaliseKernel(new Float64Array(C * C * 3), C, new Float64Array(C * C * 3));
  assert.equal(potentialEnergy(z, zero, C, L), 0);
  const g = new Float64Array(C * L).fill(9);
  gradPotential(g, z, zero, C, L);
  assert.ok(g.every((x) => x === 0));
  // U sums S over output channels, so only the column sums of K̂ matter.
  const Kh = normaliseKernel(randomVec(C * C * 3, rand), C, new Float64Array(C * C * 3));
  const perm = new Float64Array(Kh.length);
  const order = [2, 0, 1];
  for (let o = 0; o < C; o++) perm.set(Kh.subarray(order[o] * C * 3, (order[o] + 1) * C * 3), o * C * 3);
  assert.ok(Math.abs(potentialEnergy(z, perm, C, L) - potentialEnergy(z, Kh, C, L)) < 1e-12);
  // A non-trivial check that the kernel does matter.
  const other = normaliseKernel(randomVec(C * C * 3, rand), C, new Float64Array(C * C * 3));
  assert.ok(Math.abs(potentialEnergy(z, other, C, L) - potentialEnergy(z, Kh, C, L)) > 1e-6);
});
