/**
 * Seeded, deterministic random initialisation (PyTorch's defaults for the equivalent modules) and
 * the small PRNG helpers the rest of langevind uses for anything that must be reproducible.
 */
import type { ModelConfig } from './config.js';
import { tensorShapes } from './tensors.js';

/*
 * mulberry32, the project's one PRNG core: a 32-bit state advanced by a constant and mixed into a
 * uniform. Split into two pure steps so that a generator whose state must be saved (the
 * calibration's checkpointed Rng) runs exactly the same sequence as these closures.
 */

/** The state after `state`. */
export function mulberry32Advance(state: number): number {
  return (state + 0x6d2b79f5) >>> 0;
}

/** The uniform on [0, 1) that an advanced state yields. */
export function mulberry32Value(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** mulberry32: a tiny 32-bit-state PRNG, good enough for initialisation and synthetic data. Returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => mulberry32Value((a = mulberry32Advance(a)));
}

/** One standard normal sample (Box–Muller; uses two uniforms). */
export function gaussian(rand: () => number): number {
  const u = 1 - rand(); // (0, 1]: log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** One Poisson sample of mean lambda (Knuth's product method below 30, rounded normal above). */
export function poisson(rand: () => number, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda >= 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(rand)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rand();
  while (p > limit) {
    k++;
    p *= rand();
  }
  return k;
}

export interface InitOptions {
  /**
   * Scale of the random potential kernel (it is normalised before use, so only zero vs non-zero
   * matters for the dynamics): 1 by default so that ∇U is exercised; 0 gives the zero kernel a
   * fresh training run starts from.
   */
  potentialScale?: number;
  /**
   * Also randomise what PyTorch initialises to constants (attention biases, LayerNorm weights and
   * biases), so that equivalence tests exercise every tensor. Off by default.
   */
  exerciseAll?: boolean;
}

/**
 * PyTorch-like initialisation: Linear and GRUCell uniform(±1/√fan_in) for weights and biases,
 * the attention in_proj Xavier-uniform with zero biases, LayerNorm weight 1 and bias 0.
 */
export function initWeights(cfg: ModelConfig, seed: number, opts: InitOptions = {}): Record<string, Float32Array> {
  const rand = mulberry32(seed);
  const potentialScale = opts.potentialScale ?? 1;
  const all = opts.exerciseAll ?? false;
  const shapes = tensorShapes(cfg);
  const out: Record<string, Float32Array> = {};
  const uniform = (n: number, bound: number, centre = 0): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = centre + (2 * rand() - 1) * bound;
    return a;
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    let t: Float32Array;
    if (name.startsWith('encoder.')) {
      t = uniform(n, 1 / Math.sqrt(cfg.hidden));
    } else if (name === 'potential.kernel') {
      t = uniform(n, potentialScale / Math.sqrt(3 * cfg.osc_channels));
    } else if (name === 'decoder.self_attn.in_proj_weight') {
      t = uniform(n, Math.sqrt(6 / (shape[0] + shape[1])));
    } else if (name === 'decoder.self_attn.in_proj_bias' || name === 'decoder.self_attn.out_proj.bias') {
      t = all ? uniform(n, 0.1) : new Float32Array(n);
    } else if (/^decoder\.norm[12]\.weight$/.test(name)) {
      t = all ? uniform(n, 0.2, 1) : new Float32Array(n).fill(1);
    } else if (/^decoder\.norm[12]\.bias$/.test(name)) {
      t = all ? uniform(n, 0.1) : new Float32Array(n);
    } else {
      // Linear: weight [out, in] and bias [out], both bounded by 1/√in.
      const fanIn = name.endsWith('.weight') ? shape[1] : shapes[name.replace(/\.bias$/, '.weight')][1];
      t = uniform(n, 1 / Math.sqrt(fanIn));
    }
    out[name] = t;
  }
  return out;
}
