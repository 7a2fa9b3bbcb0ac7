/**
 * The LFADS-style Lorenz latent: the standard system (σ = 10, ρ = 28, β = 8/3) integrated
 * finely with RK4, sampled once per bin and normalised with the attractor's own statistics
 * (fixed constants, so the mapping does not depend on the session length).
 */
import type { Prng } from './prng.js';

export const LORENZ = { sigma: 10, rho: 28, beta: 8 / 3 } as const;
/** Mean and standard deviation of x, y, z on the standard attractor (long-run averages). */
const LORENZ_MEAN = [0, 0, 23.55];
const LORENZ_STD = [7.93, 9.0, 8.6];

function deriv(x: number, y: number, z: number, out: Float64Array): void {
  out[0] = LORENZ.sigma * (y - x);
  out[1] = x * (LORENZ.rho - z) - y;
  out[2] = x * y - LORENZ.beta * z;
}

/** Advances the state by `t` time units in RK4 steps of at most `h`. */
export function lorenzAdvance(s: Float64Array, t: number, h = 0.0025): void {
  const n = Math.max(1, Math.ceil(t / h - 1e-9));
  const dt = t / n;
  const k1 = new Float64Array(3), k2 = new Float64Array(3), k3 = new Float64Array(3), k4 = new Float64Array(3);
  for (let i = 0; i < n; i++) {
    const [x, y, z] = s;
    deriv(x, y, z, k1);
    deriv(x + 0.5 * dt * k1[0], y + 0.5 * dt * k1[1], z + 0.5 * dt * k1[2], k2);
    deriv(x + 0.5 * dt * k2[0], y + 0.5 * dt * k2[1], z + 0.5 * dt * k2[2], k3);
    deriv(x + dt * k3[0], y + dt * k3[1], z + dt * k3[2], k4);
    for (let k = 0; k < 3; k++) s[k] += (dt / 6) * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]);
  }
}

/**
 * Normalised Lorenz latents [bins × 3]. `timePerBin` is Lorenz time per bin (the default,
 * 0.75 Lorenz time units per second, gives about one loop of a wing per second).
 */
export function lorenzLatents(rng: Prng, bins: number, timePerBin: number): Float32Array {
  const s = Float64Array.of(rng.normal() * 5, rng.normal() * 5, 25 + rng.normal() * 5);
  lorenzAdvance(s, 5 + rng.uniform()); // burn-in onto the attractor
  const out = new Float32Array(bins * 3);
  for (let i = 0; i < bins; i++) {
    lorenzAdvance(s, timePerBin);
    for (let k = 0; k < 3; k++) out[i * 3 + k] = (s[k] - LORENZ_MEAN[k]) / LORENZ_STD[k];
  }
  return out;
}
