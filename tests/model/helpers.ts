/** Shared fixtures for the model tests: small random models and seeded Poisson count sequences. */
import { validateConfig, type ModelConfig } from '../../model/config.js';
import { initWeights, mulberry32, poisson } from '../../model/init.js';
import type { KernelFactory } from '../../model/kernels.js';
import { tsKernels } from '../../model/kernels-ts.js';
import { wasmKernels, wasmKernelsAvailable } from '../../model/kernels-wasm.js';
import { makeModel, type LangevinModel } from '../../model/model-file.js';

export function smallConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  const n_in = overrides.n_in ?? 5;
  return validateConfig({
    n_in,
    n_out: 7,
    hidden: 6,
    latent: 6,
    osc_channels: 2,
    step: 0.05,
    gamma: 0.3,
    heads: 2,
    ff: 10,
    window: 4,
    bin_ms: 20,
    corrections: true,
    velocity_features: { sources: ['rates'], lags: 1 },
    layer_norm_eps: 1e-5,
    channel_labels: Array.from({ length: n_in }, (_, i) => `ch${i}`),
    velocity_labels: ['vel_x', 'vel_y'],
    ...overrides,
  });
}

/** A model whose every tensor is random (attention biases and LayerNorm affine included). */
export function randomModel(cfg: ModelConfig, seed = 1): LangevinModel {
  return makeModel(cfg, initWeights(cfg, seed, { exerciseAll: true }));
}

export function poissonCounts(nIn: number, T: number, seed: number, mean = 2): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: T }, () => Array.from({ length: nIn }, () => poisson(rand, mean * (0.2 + 1.6 * rand()))));
}

/** Every kernel backend that can run here. */
export function backends(): [string, KernelFactory][] {
  const out: [string, KernelFactory][] = [['ts', tsKernels]];
  if (wasmKernelsAvailable()) out.push(['wasm', wasmKernels]);
  return out;
}

/** Largest absolute difference over largest absolute value of the expected values. */
export function relErr(actual: ArrayLike<number>[], expected: ArrayLike<number>[]): number {
  let diff = 0;
  let scale = 0;
  if (actual.length !== expected.length) return Infinity;
  for (let t = 0; t < expected.length; t++) {
    if (actual[t].length !== expected[t].length) return Infinity;
    for (let i = 0; i < expected[t].length; i++) {
      const a = actual[t][i];
      const e = expected[t][i];
      if (!Number.isFinite(a)) return Infinity;
      diff = Math.max(diff, Math.abs(a - e));
      scale = Math.max(scale, Math.abs(e));
    }
  }
  return diff / scale;
}
