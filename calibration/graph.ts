/**
 * The LangevinFlow training graph in TensorFlow.js: exactly model.md §1–6 over a batch of windows
 * [B, T, N_in], every window starting from a reset (h = 0, initial-state posterior at its first
 * bin). With `sample: false` and `dropout: 0` it computes, bin by bin, what the OnlineFilter
 * computes stepping the same window from a reset; tests/calibration/graph.test.ts checks that.
 *
 * Speed: TF.js costs tens of microseconds per op, so the per-bin loop holds only what is truly
 * recurrent (the GRU's hidden-state product and gates; one matmul for the Langevin step).
 * Input projections, posterior heads, attention and the readout run once for all bins.
 */
import type { ModelConfig } from '../model/config.js';
import { dims } from '../model/config.js';
import { tensorShapes } from '../model/tensors.js';
import { tf } from './backend.js';

export type Params = Record<string, tf.Variable>;

/** The tensors trained by gradient descent: everything but the ridge velocity readout. */
export function trainableNames(cfg: ModelConfig): string[] {
  return Object.keys(tensorShapes(cfg)).filter((n) => !n.startsWith('velocity.'));
}

let runs = 0;

/** Variables holding `weights` (PyTorch layouts, as in the model file), in tensorShapes order. */
export function makeParams(cfg: ModelConfig, weights: Record<string, Float32Array>): Params {
  const run = runs++;
  const shapes = tensorShapes(cfg);
  const p: Params = {};
  for (const name of trainableNames(cfg)) p[name] = tf.variable(tf.tensor(weights[name], shapes[name], 'float32'), true, `lf${run}/${name}`);
  return p;
}

/** Copies the variables' current values out (synchronously). */
export function readParams(p: Params): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(p)) out[k] = new Float32Array(v.dataSync() as Float32Array);
  return out;
}

export function assignParams(p: Params, w: Record<string, Float32Array>): void {
  for (const [k, v] of Object.entries(p)) v.assign(tf.tensor(w[k], v.shape, 'float32'));
}

export function disposeParams(p: Params): void {
  for (const v of Object.values(p)) v.dispose();
}

export interface ForwardOptions {
  /** Sample the posteriors (training) instead of using their means (evaluation, = the online filter). */
  sample: boolean;
  /** Dropout rate on h where it feeds the heads and the decoder (not the recurrence); 0 = off. */
  dropout: number;
  /** Seeds for the random ops (reproducible runs); Math.random when absent. */
  seed?: () => number;
}

export interface ForwardOutput {
  /** [B, T, N_out] */
  logRates: tf.Tensor3D;
  /** [B, T, D] */
  z: tf.Tensor3D;
  v: tf.Tensor3D;
  /** [B, T, H] (before dropout) */
  h: tf.Tensor3D;
  /** [B, T, d] decoder output */
  o: tf.Tensor3D;
  /** [B]: KL_z0 + KL_v0 + Σ_t KL_t per window. */
  kl: tf.Tensor1D;
}

/** KL(N(μ, e^ℓ) ‖ N(0, I)) summed over the last axis. */
function klStdNormal(mu: tf.Tensor, logvar: tf.Tensor): tf.Tensor {
  return tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.exp(logvar), tf.square(mu)), tf.add(1, logvar)), -1));
}

/** T pieces of a [T, …] tensor without the leading axis (tf.unstack is very slow on wasm; split is not). */
const timeSteps = (t: tf.Tensor): tf.Tensor2D[] => tf.split(t, t.shape[0], 0).map((x) => tf.reshape(x, [t.shape[1] as number, t.shape[2] as number]) as tf.Tensor2D);
/** [B, T, X] from T tensors [B, X] (tf.stack's gradient is the slow unstack). */
const stackTime = (xs: tf.Tensor2D[]): tf.Tensor3D => tf.reshape(tf.concat(xs, 1), [xs[0].shape[0], xs.length, xs[0].shape[1]]);

/** Swaps the last two axes. */
const swapLast = (t: tf.Tensor): tf.Tensor => {
  const r = t.rank;
  return tf.transpose(t, [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2]);
};

/**
 * a·b whose gradient uses explicit transposes. On the wasm backend (tfjs 4.22) matMul's own
 * transposeA/transposeB paths, which the built-in gradient uses, are up to 10× slower than a
 * transpose followed by a plain product.
 */
export const mm = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy, swapLast(saved[1])), tf.matMul(swapLast(saved[0]), dy)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as <R extends tf.Rank>(a: tf.Tensor<R>, b: tf.Tensor<R>) => tf.Tensor<R>;

// Not tf.fused.matMul: on the wasm backend (tfjs 4.22) transposeB together with a bias gives wrong results.
const linear = (x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D =>
  tf.add(mm(x, tf.transpose(w as tf.Tensor2D)), b) as tf.Tensor2D;

function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b) as tf.Tensor2D;
}

/**
 * ∇U(z) = G z with G symmetric [D, D], built differentiably from the stored kernel (model.md §4).
 * U = sᵀu with s = M_s z and u = M_u z, so G = M_sᵀM_u + M_uᵀM_s; M_s depends on K̂ only through
 * its sums over the output channel, κ[i, k] = Σ_o K̂[o, i, k].
 */
export function potentialMatrix(kernel: tf.Tensor, C: number, L: number): tf.Tensor2D {
  const D = C * L;
  // Division by √(‖K‖² + 1e-24) instead of ‖K‖: the same K̂ (a zero row stays zero) with a finite
  // gradient at the zero kernel a run starts from.
  const khat: tf.Tensor = tf.div(kernel, tf.sqrt(tf.add(tf.sum(tf.square(kernel), -1, true), 1e-24)));
  const kappa = tf.sum(khat, 0) as tf.Tensor2D; // [C, 3]
  const shift = new Float32Array(3 * L * L); // P[k, l, l'] = 1 when l' = l + k − 1
  for (let k = 0; k < 3; k++) for (let l = 0; l < L; l++) {
    const lp = l + k - 1;
    if (lp >= 0 && lp < L) shift[(k * L + l) * L + lp] = 1;
  }
  const Ms = tf.reshape(tf.transpose(tf.reshape(tf.matMul(kappa, tf.tensor2d(shift, [3, L * L])), [C, L, L]), [1, 0, 2]), [L, D]) as tf.Tensor2D;
  const mu = new Float32Array(L * D);
  for (let l = 0; l < L; l++) for (let c = 0; c < C; c++) mu[l * D + c * L + l] = 1;
  const Mu = tf.tensor2d(mu, [L, D]);
  const A = tf.matMul(tf.transpose(Ms), Mu);
  return tf.add(A, tf.transpose(A)) as tf.Tensor2D;
}

/** The Langevin transition in row form: [z_t, v_t] = [z_{t−1}, v_{t−1}] M + [0, √(2γ) ε_t]. */
export function transitionMatrix(cfg: ModelConfig, kernel: tf.Tensor): tf.Tensor2D {
  const { C, L, D } = dims(cfg);
  const G = potentialMatrix(kernel, C, L);
  const g = cfg.gamma;
  const dt = cfg.step;
  const I = tf.eye(D);
  return tf.concat([
    tf.concat([I, tf.mul(-(1 - g) * dt, G)], 1),
    tf.concat([tf.mul(dt, I), tf.mul(1 - g, I)], 1),
  ], 0) as tf.Tensor2D;
}

/**
 * log ‖M^(2^k)‖_F by repeated squaring with renormalisation (no overflow). Training windows are
 * short, but the daemon runs the filter for hours from one reset: an indefinite potential (U is
 * a product of two linear forms, so it usually is) gives the transition an eigenvalue above 1 and
 * z grows exponentially online, invisible to a 32-bin window. Penalising this growth over 2^k
 * bins keeps the learned dynamics stable over a session.
 */
export function logGrowth(M: tf.Tensor2D, k: number): tf.Scalar {
  let A: tf.Tensor2D = M;
  let logScale: tf.Tensor = tf.scalar(0);
  for (let i = 0; i < k; i++) {
    const sq = mm(A, A);
    const n = tf.sqrt(tf.add(tf.sum(tf.square(sq)), 1e-30));
    logScale = tf.add(tf.mul(2, logScale), tf.log(n));
    A = tf.div(sq, n) as tf.Tensor2D;
  }
  return logScale as tf.Scalar;
}

/** Additive attention bias [T, T]: bin t sees bins t−W+1 … t. */
export function bandMask(T: number, W: number): tf.Tensor2D {
  const m = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let j = 0; j < T; j++) m[t * T + j] = j <= t && j > t - W ? 0 : -1e9;
  return tf.tensor2d(m, [T, T]);
}

/** The forward pass; call inside tf.tidy (or a gradient closure). x: counts [B, T, N_in], float32. */
export function forward(cfg: ModelConfig, p: Params, x: tf.Tensor3D, opts: ForwardOptions): ForwardOutput {
  const { nIn, nOut, H, D, d, heads, headDim, W } = dims(cfg);
  const [B, T] = x.shape;
  const { sample, dropout } = opts;
  const seed = opts.seed ?? (() => Math.floor(Math.random() * 2 ** 31));

  // 1. GRU encoder. Input projections for all bins at once; the loop keeps the recurrent part.
  const xi = tf.reshape(linear(tf.reshape(x, [B * T, nIn]) as tf.Tensor2D, p['encoder.weight_ih'], p['encoder.bias_ih']), [B, T, 3 * H]);
  const [xiRu, xiN] = tf.split(xi, [2 * H, H], 2);
  const xiRuT = timeSteps(tf.transpose(xiRu, [1, 0, 2]));
  const xiNT = timeSteps(tf.transpose(xiN, [1, 0, 2]));
  const whhT = tf.transpose(p['encoder.weight_hh']);
  const bhh = p['encoder.bias_hh'];
  let h: tf.Tensor2D = tf.zeros([B, H]);
  const hs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const gh = tf.add(mm(h, whhT), bhh);
    const [ghRu, ghN] = tf.split(gh, [2 * H, H], 1);
    const ru = tf.sigmoid(tf.add(xiRuT[t], ghRu));
    const [r, u] = tf.split(ru, 2, 1);
    const n = tf.tanh(tf.add(xiNT[t], tf.mul(r, ghN)));
    h = tf.add(n, tf.mul(u, tf.sub(h, n))) as tf.Tensor2D; // (1 − u) n + u h
    hs.push(h);
  }
  const hAll = stackTime(hs); // [B, T, H]
  const hUse = dropout > 0 ? (tf.dropout(hAll, dropout, undefined, seed()) as tf.Tensor3D) : hAll;

  // 2. Initial-state posterior from h_0.
  const h0 = tf.squeeze(tf.slice(hUse, [0, 0, 0], [B, 1, H]), [1]) as tf.Tensor2D;
  const zMu = linear(h0, p['ic.z_mean.weight'], p['ic.z_mean.bias']);
  const zLv = linear(h0, p['ic.z_logvar.weight'], p['ic.z_logvar.bias']);
  const vMu = linear(h0, p['ic.v_mean.weight'], p['ic.v_mean.bias']);
  const vLv = linear(h0, p['ic.v_logvar.weight'], p['ic.v_logvar.bias']);
  const draw = (mu: tf.Tensor2D, lv: tf.Tensor2D): tf.Tensor2D =>
    sample ? (tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, lv)), tf.randomNormal(mu.shape, 0, 1, 'float32', seed()))) as tf.Tensor2D) : mu;
  const z0 = draw(zMu, zLv);
  const v0 = draw(vMu, vLv);
  let kl = tf.add(klStdNormal(zMu, zLv), klStdNormal(vMu, vLv)) as tf.Tensor1D;

  // 3. Langevin steps, linear in s = [z, v] (∇U is linear): s_t = s_{t−1} M + [0, √(2γ) ε_t].
  const g = cfg.gamma;
  const M = transitionMatrix(cfg, p['potential.kernel']);
  let force: tf.Tensor2D[] = [];
  if (T > 1) {
    const hRest = tf.reshape(tf.slice(hUse, [0, 1, 0], [B, T - 1, H]), [B * (T - 1), H]) as tf.Tensor2D;
    let eps: tf.Tensor2D;
    if (cfg.corrections) {
      const eMu = linear(hRest, p['correction.mean.weight'], p['correction.mean.bias']);
      const eLv = linear(hRest, p['correction.logvar.weight'], p['correction.logvar.bias']);
      eps = draw(eMu, eLv);
      kl = tf.add(kl, tf.sum(tf.reshape(klStdNormal(eMu, eLv), [B, T - 1]), 1)) as tf.Tensor1D;
    } else {
      // The released model: ε_t is pure prior noise in training, zero online.
      eps = sample ? tf.randomNormal([B * (T - 1), D], 0, 1, 'float32', seed()) : tf.zeros([B * (T - 1), D]);
    }
    const padded = tf.concat([tf.zeros([B * (T - 1), D]), tf.mul(Math.sqrt(2 * g), eps)], 1);
    force = timeSteps(tf.transpose(tf.reshape(padded, [B, T - 1, 2 * D]), [1, 0, 2]));
  }
  let s = tf.concat([z0, v0], 1) as tf.Tensor2D;
  const ss: tf.Tensor2D[] = [s];
  for (let t = 1; t < T; t++) {
    s = tf.add(mm(s, M), force[t - 1]) as tf.Tensor2D;
    ss.push(s);
  }
  const sAll = stackTime(ss); // [B, T, 2D] = [z, v]

  // 5. Decoder: tokens [z, v, h], one post-norm Transformer layer with a banded causal mask.
  const e = tf.reshape(tf.concat([sAll, hUse], 2), [B * T, d]) as tf.Tensor2D;
  const qkv = tf.reshape(linear(e, p['decoder.self_attn.in_proj_weight'], p['decoder.self_attn.in_proj_bias']), [B, T, 3, heads, headDim]);
  const qkvT = tf.transpose(qkv, [2, 0, 3, 1, 4]); // [3, B, heads, T, hd]
  const [q, k, v] = tf.split(qkvT, 3, 0).map((t) => tf.reshape(t, [B, heads, T, headDim])) as tf.Tensor4D[];
  const scores = tf.add(tf.mul(mm(q, tf.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(headDim)), bandMask(T, W));
  const att = mm(tf.softmax(scores, -1) as tf.Tensor4D, v); // [B, heads, T, hd]
  const attFlat = tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
  const a = linear(attFlat, p['decoder.self_attn.out_proj.weight'], p['decoder.self_attn.out_proj.bias']);
  const y = layerNorm(tf.add(e, a) as tf.Tensor2D, p['decoder.norm1.weight'], p['decoder.norm1.bias'], cfg.layer_norm_eps);
  const ff = linear(tf.relu(linear(y, p['decoder.linear1.weight'], p['decoder.linear1.bias'])) as tf.Tensor2D, p['decoder.linear2.weight'], p['decoder.linear2.bias']);
  const o = layerNorm(tf.add(y, ff) as tf.Tensor2D, p['decoder.norm2.weight'], p['decoder.norm2.bias'], cfg.layer_norm_eps);

  // 6. Log-rates.
  const logRates = tf.reshape(linear(o, p['readout.weight'], p['readout.bias']), [B, T, nOut]) as tf.Tensor3D;
  const [zAll, vAll] = tf.split(sAll, 2, 2) as tf.Tensor3D[];
  return { logRates, z: zAll, v: vAll, h: hAll, o: tf.reshape(o, [B, T, d]) as tf.Tensor3D, kl };
}
