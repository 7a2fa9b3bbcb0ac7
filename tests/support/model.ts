/** Small real model files for daemon tests. */
import { join } from 'node:path';
import { preset, type ModelConfig } from '../../model/config.js';
import { initWeights, mulberry32, poisson } from '../../model/init.js';
import { loadModel, makeModel, saveModel, type LangevinModel } from '../../model/model-file.js';

/** A preset-S-shaped model with `nIn` channels, saved under dir; returns its path and the loaded model. */
export function writeTestModel(dir: string, opts: { nIn?: number; seed?: number; binMs?: number; name?: string } = {}): { path: string; model: LangevinModel } {
  const nIn = opts.nIn ?? 16;
  const cfg: ModelConfig = preset('S', { n_in: nIn, n_out: nIn, bin_ms: opts.binMs ?? 20, hidden: 16, latent: 16, ff: 32, window: 8 });
  const path = join(dir, opts.name ?? 'model.safetensors');
  saveModel(path, makeModel(cfg, initWeights(cfg, opts.seed ?? 7)));
  return { path, model: loadModel(path) };
}

/** Seeded Poisson counts, one Float64Array per bin. */
export function syntheticCounts(nIn: number, bins: number, seed = 3, rate = 2): Float64Array[] {
  const rand = mulberry32(seed);
  return Array.from({ length: bins }, () => Float64Array.from({ length: nIn }, (_, i) => poisson(rand, rate * (0.5 + (i % 4) / 4))));
}
