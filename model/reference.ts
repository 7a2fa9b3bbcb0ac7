/**
 * The plain reference of model.md §1–7 over a whole sequence (reset at bin 0): Float64, one
 * obvious loop per formula, no cleverness. The online filter is tested against it, and the
 * calibration graph can be too. Attention is recomputed for every bin over the keys and values of
 * bins t−W+1 … t (banded causal mask), each token's kept in a plain list, with none of the
 * filter's ring-buffer or transposed-value bookkeeping.
 */
import { dims, featureSourceSize, type ModelConfig } from './config.js';
import type { LangevinModel } from './model-file.js';
import { gradPotential, normaliseKernel } from './potential.js';

export interface ReferenceOutput {
  velocity: number[][];
  logRates: number[][];
  z: number[][];
  v: number[][];
  h: number[][];
  /** The decoder output o_t (width d). */
  o: number[][];
}

type W = Record<string, Float32Array>;

/** y = M x + b with M row-major [rows, cols] starting at row `row0`. */
function linear(M: Float32Array, b: Float32Array | null, x: number[], rows: number, row0 = 0): number[] {
  const cols = x.length;
  const y = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b[row0 + r] : 0;
    for (let c = 0; c < cols; c++) s += M[(row0 + r) * cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** PyTorch GRUCell, gates r, z, n stacked in weight_ih/weight_hh. */
export function gruCell(w: W, x: number[], h: number[], H: number): number[] {
  const gi = linear(w['encoder.weight_ih'], w['encoder.bias_ih'], x, 3 * H);
  const gh = linear(w['encoder.weight_hh'], w['encoder.bias_hh'], h, 3 * H);
  const out = new Array<number>(H);
  for (let j = 0; j < H; j++) {
    const r = sigmoid(gi[j] + gh[j]);
    const u = sigmoid(gi[H + j] + gh[H + j]);
    const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
    out[j] = (1 - u) * n + u * h[j];
  }
  return out;
}

function layerNorm(x: number[], g: Float32Array, b: Float32Array, eps: number): number[] {
  const n = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / n;
  const variance = x.reduce((a, v) => a + (v - mean) * (v - mean), 0) / n;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * g[i] + b[i]);
}

/** The key and value of one token (rows d…2d and 2d…3d of the packed in_proj). */
export function keyValue(w: W, cfg: ModelConfig, token: number[]): { key: number[]; value: number[] } {
  const { d } = dims(cfg);
  const inW = w['decoder.self_attn.in_proj_weight'];
  const inB = w['decoder.self_attn.in_proj_bias'];
  return { key: linear(inW, inB, token, d, d), value: linear(inW, inB, token, d, 2 * d) };
}

/**
 * PyTorch TransformerEncoderLayer (post-norm, ReLU, no dropout) for token e, attending to the
 * tokens whose keys and values are given (e's own included, as the last).
 */
export function decoderLayer(w: W, cfg: ModelConfig, e: number[], keys: number[][], values: number[][]): number[] {
  const { d, heads, headDim } = dims(cfg);
  const q = linear(w['decoder.self_attn.in_proj_weight'], w['decoder.self_attn.in_proj_bias'], e, d, 0);
  const attn = new Array<number>(d).fill(0);
  for (let hd = 0; hd < heads; hd++) {
    const off = hd * headDim;
    const scores = keys.map((k) => {
      let s = 0;
      for (let i = 0; i < headDim; i++) s += q[off + i] * k[off + i];
      return s / Math.sqrt(headDim);
    });
    const m = Math.max(...scores);
    const ex = scores.map((s) => Math.exp(s - m));
    const z = ex.reduce((a, v) => a + v, 0);
    for (let j = 0; j < keys.length; j++)
      for (let i = 0; i < headDim; i++) attn[off + i] += (ex[j] / z) * values[j][off + i];
  }
  const a = linear(w['decoder.self_attn.out_proj.weight'], w['decoder.self_attn.out_proj.bias'], attn, d);
  const y = layerNorm(e.map((v, i) => v + a[i]), w['decoder.norm1.weight'], w['decoder.norm1.bias'], cfg.layer_norm_eps);
  const f1 = linear(w['decoder.linear1.weight'], w['decoder.linear1.bias'], y, cfg.ff).map((v) => Math.max(0, v));
  const f2 = linear(w['decoder.linear2.weight'], w['decoder.linear2.bias'], f1, d);
  return layerNorm(y.map((v, i) => v + f2[i]), w['decoder.norm2.weight'], w['decoder.norm2.bias'], cfg.layer_norm_eps);
}

/** The model over counts[0…T) from a reset: every per-bin quantity, as plain arrays. */
export function referenceForward(model: LangevinModel, counts: ArrayLike<number>[]): ReferenceOutput {
  const cfg = model.config;
  const w = model.weights;
  const { H, D, C, L, W: win } = dims(cfg);
  const Khat = normaliseKernel(w['potential.kernel'], C, new Float64Array(C * C * 3));
  const out: ReferenceOutput = { velocity: [], logRates: [], z: [], v: [], h: [], o: [] };
  const keys: number[][] = [];
  const values: number[][] = [];
  const features: number[][] = []; // per bin: one lag's feature vector
  let h = new Array<number>(H).fill(0);
  let z: number[] = [];
  let v: number[] = [];
  for (let t = 0; t < counts.length; t++) {
    const x = Array.from(counts[t], Number);
    h = gruCell(w, x, h, H);
    if (t === 0) {
      z = linear(w['ic.z_mean.weight'], w['ic.z_mean.bias'], h, D);
      v = linear(w['ic.v_mean.weight'], w['ic.v_mean.bias'], h, D);
    } else {
      const grad = new Array<number>(D);
      gradPotential(grad, z, Khat, C, L);
      const eps = cfg.corrections ? linear(w['correction.mean.weight'], w['correction.mean.bias'], h, D) : new Array<number>(D).fill(0);
      const zNew = z.map((zi, i) => zi + cfg.step * v[i]);
      const vNew = v.map((vi, i) => (1 - cfg.gamma) * (vi - cfg.step * grad[i]) + Math.sqrt(2 * cfg.gamma) * eps[i]);
      z = zNew;
      v = vNew;
    }
    const e = [...z, ...v, ...h];
    const kv = keyValue(w, cfg, e);
    keys.push(kv.key);
    values.push(kv.value);
    const from = Math.max(0, t - win + 1); // banded causal mask: bins t−W+1 … t
    const o = decoderLayer(w, cfg, e, keys.slice(from, t + 1), values.slice(from, t + 1));
    const logRates = linear(w['readout.weight'], w['readout.bias'], o, cfg.n_out);
    const f: number[] = [];
    for (const s of cfg.velocity_features.sources) {
      const src = { rates: logRates.map(Math.exp), log_rates: logRates, z, v, h, o }[s];
      if (src.length !== featureSourceSize(cfg, s)) throw new Error(`reference: feature ${s} has the wrong size`);
      f.push(...src);
    }
    features.push(f);
    const all: number[] = [];
    for (let lag = 0; lag < cfg.velocity_features.lags; lag++) {
      const past = features[t - lag];
      all.push(...(past ?? new Array<number>(f.length).fill(0)));
    }
    const velocity = linear(w['velocity.weight'], w['velocity.bias'], all, cfg.velocity_labels.length);
    out.velocity.push(velocity);
    out.logRates.push(logRates);
    out.z.push(z);
    out.v.push(v);
    out.h.push(h);
    out.o.push(o);
  }
  return out;
}
