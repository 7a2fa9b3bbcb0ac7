/**
 * The locally coupled oscillator potential of model.md §4, as pure allocation-free functions.
 *
 * z is read channel-major as Z ∈ ℝ^{C×L} (z[c·L + l] = Z[c, l]); K̂ ∈ ℝ^{C×C×3} is the kernel
 * with each K̂[o, i, :] scaled to unit L2 norm. S = conv1d(Z, K̂, padding 1), s_l = Σ_o S[o, l],
 * u_l = Σ_c Z[c, l], U(z) = Σ_l s_l u_l. Everything depends on K̂ only through its column sums
 * κ[i, k] = Σ_o K̂[o, i, k], which is why the gradient is cheap:
 *   ∂U/∂Z[c, l] = s_l + Σ_k κ[c, k] u_{l−k+1}   (u outside 0…L−1 is zero).
 */

/** Read-only numeric vector: typed arrays or plain arrays. */
export type NumArray = { readonly [i: number]: number; readonly length: number };
/** Writable numeric vector. */
export type MutNumArray = { [i: number]: number; readonly length: number };

/**
 * K̂ from the stored kernel: each K[o, i, :] scaled to unit L2 norm; a zero row stays zero (so
 * the zero kernel a training run starts from gives U ≡ 0). Writes into out and returns it.
 */
export function normaliseKernel<T extends MutNumArray>(K: NumArray, C: number, out: T): T {
  for (let r = 0; r < C * C; r++) {
    const b = 3 * r;
    const n = Math.sqrt(K[b] * K[b] + K[b + 1] * K[b + 1] + K[b + 2] * K[b + 2]);
    const f = n > 0 ? 1 / n : 0;
    out[b] = K[b] * f;
    out[b + 1] = K[b + 1] * f;
    out[b + 2] = K[b + 2] * f;
  }
  return out;
}

/** U(z) = Σ_l s_l u_l. */
export function potentialEnergy(z: NumArray, Khat: NumArray, C: number, L: number): number {
  let U = 0;
  for (let l = 0; l < L; l++) {
    let s = 0;
    let u = 0;
    for (let i = 0; i < C; i++) {
      const base = i * L + l;
      const zm = l > 0 ? z[base - 1] : 0;
      const z0 = z[base];
      const zp = l < L - 1 ? z[base + 1] : 0;
      u += z0;
      for (let o = 0; o < C; o++) {
        const b = (o * C + i) * 3;
        s += Khat[b] * zm + Khat[b + 1] * z0 + Khat[b + 2] * zp;
      }
    }
    U += s * u;
  }
  return U;
}

/** out = ∇U(z), closed form. out must not alias z. Allocation-free. */
export function gradPotential(out: MutNumArray, z: NumArray, Khat: NumArray, C: number, L: number): void {
  for (let l = 0; l < L; l++) {
    let um = 0;
    let u0 = 0;
    let up = 0;
    let s = 0;
    for (let i = 0; i < C; i++) {
      const base = i * L + l;
      const zm = l > 0 ? z[base - 1] : 0;
      const z0 = z[base];
      const zp = l < L - 1 ? z[base + 1] : 0;
      um += zm;
      u0 += z0;
      up += zp;
      let k0 = 0;
      let k1 = 0;
      let k2 = 0;
      for (let o = 0; o < C; o++) {
        const b = (o * C + i) * 3;
        k0 += Khat[b];
        k1 += Khat[b + 1];
        k2 += Khat[b + 2];
      }
      s += k0 * zm + k1 * z0 + k2 * zp;
    }
    for (let c = 0; c < C; c++) {
      let k0 = 0;
      let k1 = 0;
      let k2 = 0;
      for (let o = 0; o < C; o++) {
        const b = (o * C + c) * 3;
        k0 += Khat[b];
        k1 += Khat[b + 1];
        k2 += Khat[b + 2];
      }
      out[c * L + l] = s + k0 * up + k1 * u0 + k2 * um;
    }
  }
}
