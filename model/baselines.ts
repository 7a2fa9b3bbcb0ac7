/**
 * The baseline decoders a calibration fits beside LangevinFlow (a Wiener filter and a velocity
 * Kalman filter), as they are stored in the model file: extra F32 tensors named `baseline.*` and
 * their settings in `__metadata__["langevind.baselines"]` (JSON). Reading is as strict as for the
 * network's tensors: a baseline that loads "mostly" would decode silently wrong.
 *
 *   baseline.wiener.weight [K, lags·N]  velocity = bias + weight · [counts_t, counts_t−1, …]
 *   baseline.wiener.bias   [K]
 *   baseline.kalman.A  [s, s]   state transition, x_t = A x_t−1 + w, w ~ N(0, Q)
 *   baseline.kalman.Q  [s, s]   state noise covariance
 *   baseline.kalman.C  [N, s]   observation, counts_t = C x_t + q, q ~ N(0, R)
 *   baseline.kalman.R  [N, N]   observation noise covariance
 *   baseline.kalman.x0 [s]      the state after a reset (the training mean)
 *
 * with K velocity components (config velocity_labels), N channels (n_in) and the Kalman state
 * x = [state labels…, 1] (s = labels + 1; the velocity components are labels
 * velocity_offset … velocity_offset + K − 1).
 */
import type { ModelConfig } from './config.js';
import { ModelFileError } from './errors.js';

/**
 * What the Kalman baseline's state holds:
 *  - 'velocity' (default): [velocity…, 1], the velocity Kalman filter of human cursor control
 *    (Kim et al. 2008). In closed loop with the simulated user it acquired 100/100 targets where
 *    the position-velocity filter below, calibrated on the same bins, acquired 29–61/100: nothing
 *    ties that filter's position estimate to the cursor (Gilja et al.'s ReFIT-KF sets it to the
 *    cursor; a decoder that only sends velocity cannot), so the counts it attributes to position
 *    pull its velocity off once the two drift apart.
 *  - 'position-velocity': [position…, velocity…, 1] (Wu et al. 2003), when positions were recorded.
 */
export type KalmanState = 'velocity' | 'position-velocity';
export const KALMAN_STATES: readonly KalmanState[] = ['velocity', 'position-velocity'];


export const META_BASELINES = 'langevind.baselines';
export const BASELINE_PREFIX = 'baseline.';

export interface WienerBaseline {
  lags: number;
  /** [K × lags·N] row-major; column l·N + i weighs channel i of the bin l bins back. */
  weight: Float32Array;
  bias: Float32Array;
  /** How it was chosen (cross-validation on the training bins), for the record. */
  alpha: number;
  cvR2: number;
}

export interface KalmanBaseline {
  /** Labels of the kinematic state (without the constant). */
  state: string[];
  /** Index in `state` of the first velocity component. */
  velocityOffset: number;
  A: Float32Array; Q: Float32Array; C: Float32Array; R: Float32Array; x0: Float32Array;
}

export interface Baselines {
  wiener?: WienerBaseline;
  kalman?: KalmanBaseline;
}

export type DecoderName = 'langevinflow' | 'wiener' | 'kalman';
export const DECODERS: readonly DecoderName[] = ['langevinflow', 'wiener', 'kalman'];

/** Tensor shapes of the stored baselines. */
export function baselineShapes(cfg: Pick<ModelConfig, 'n_in' | 'velocity_labels'>, b: { wiener?: { lags: number }; kalman?: { state: string[] } }): Record<string, number[]> {
  const N = cfg.n_in;
  const K = cfg.velocity_labels.length;
  const out: Record<string, number[]> = {};
  if (b.wiener) {
    out['baseline.wiener.weight'] = [K, b.wiener.lags * N];
    out['baseline.wiener.bias'] = [K];
  }
  if (b.kalman) {
    const s = b.kalman.state.length + 1;
    Object.assign(out, { 'baseline.kalman.A': [s, s], 'baseline.kalman.Q': [s, s], 'baseline.kalman.C': [N, s], 'baseline.kalman.R': [N, N], 'baseline.kalman.x0': [s] });
  }
  return out;
}

/** The metadata entry and tensors that store b (none for an empty b). */
export function baselinesToFile(cfg: Pick<ModelConfig, 'n_in' | 'velocity_labels'>, b: Baselines): { metadata: Record<string, string>; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  if (!b.wiener && !b.kalman) return { metadata: {}, tensors };
  const meta: Record<string, unknown> = {};
  if (b.wiener) meta.wiener = { lags: b.wiener.lags, alpha: b.wiener.alpha, cv_r2: b.wiener.cvR2 };
  if (b.kalman) meta.kalman = { state: b.kalman.state, velocity_offset: b.kalman.velocityOffset };
  const shapes = baselineShapes(cfg, b);
  const data: Record<string, Float32Array | undefined> = {
    'baseline.wiener.weight': b.wiener?.weight, 'baseline.wiener.bias': b.wiener?.bias,
    'baseline.kalman.A': b.kalman?.A, 'baseline.kalman.Q': b.kalman?.Q, 'baseline.kalman.C': b.kalman?.C, 'baseline.kalman.R': b.kalman?.R, 'baseline.kalman.x0': b.kalman?.x0,
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const d = data[name]!;
    const n = shape.reduce((x, y) => x * y, 1);
    if (d.length !== n) throw new ModelFileError('ESHAPE', `model: baseline tensor "${name}" has ${d.length} values, needs [${shape.join(', ')}] = ${n}`);
    tensors.set(name, { shape, data: d });
  }
  return { metadata: { [META_BASELINES]: JSON.stringify(meta) }, tensors };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function parseMeta(raw: string, cfg: Pick<ModelConfig, 'velocity_labels'>): { wiener?: { lags: number; alpha: number; cvR2: number }; kalman?: { state: string[]; velocityOffset: number } } {
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch (e) {
    throw new ModelFileError('EJSON', `model: "${META_BASELINES}" is not valid JSON (${(e as Error).message})`);
  }
  const bad = (what: string): never => { throw new ModelFileError('EHEADER', `model: "${META_BASELINES}": ${what}`); };
  if (!isObj(m)) bad('must be a JSON object {"wiener"?, "kalman"?}');
  const o = m as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 'wiener' && k !== 'kalman') bad(`unknown baseline "${k}" (known: wiener, kalman)`);
  const out: ReturnType<typeof parseMeta> = {};
  if (o.wiener !== undefined) {
    const w = o.wiener;
    if (!isObj(w) || !Number.isInteger(w.lags) || (w.lags as number) < 1) bad('wiener.lags must be a positive integer');
    const ww = w as Record<string, unknown>;
    out.wiener = { lags: ww.lags as number, alpha: typeof ww.alpha === 'number' ? ww.alpha : NaN, cvR2: typeof ww.cv_r2 === 'number' ? ww.cv_r2 : NaN };
  }
  if (o.kalman !== undefined) {
    const k = o.kalman;
    if (!isObj(k) || !Array.isArray(k.state) || !k.state.every((x) => typeof x === 'string')) bad('kalman.state must be an array of labels');
    const kk = k as Record<string, unknown>;
    const state = kk.state as string[];
    const off = kk.velocity_offset;
    const K = cfg.velocity_labels.length;
    if (!Number.isInteger(off) || (off as number) < 0 || (off as number) + K > state.length)
      bad(`kalman.velocity_offset must be an integer with the ${K} velocity components inside the state [${state.join(', ')}], got ${JSON.stringify(off)}`);
    out.kalman = { state, velocityOffset: off as number };
  }
  return out;
}

/**
 * The baselines of a model file: takes the `baseline.*` tensors out of `tensors` (so that the
 * network's check sees only its own) and checks them against the metadata and the config.
 */
export function readBaselines(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string>, cfg: Pick<ModelConfig, 'n_in' | 'velocity_labels'>): Baselines {
  const names = [...tensors.keys()].filter((n) => n.startsWith(BASELINE_PREFIX));
  const raw = metadata[META_BASELINES];
  if (raw === undefined) {
    if (names.length > 0) throw new ModelFileError('EUNEXPECTED', `model: tensor "${names[0]}" is a baseline but __metadata__ has no "${META_BASELINES}" describing it`);
    return {};
  }
  const meta = parseMeta(raw, cfg);
  const shapes = baselineShapes(cfg, meta);
  const got: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const t = tensors.get(name);
    if (!t) throw new ModelFileError('EMISSING', `model: baseline tensor "${name}" is missing (expected shape [${shape.join(', ')}]; "${META_BASELINES}" declares the ${name.split('.')[1]} baseline)`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new ModelFileError('ESHAPE', `model: baseline tensor "${name}" has shape [${t.shape.join(', ')}], needs [${shape.join(', ')}]`);
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i])) throw new ModelFileError('EVALUE', `model: baseline tensor "${name}" holds ${t.data[i]} at flat index ${i}`);
    got[name] = t.data;
  }
  for (const n of names) {
    if (!(n in shapes)) throw new ModelFileError('EUNEXPECTED', `model: tensor "${n}" is not a baseline "${META_BASELINES}" declares`);
    tensors.delete(n);
  }
  const b: Baselines = {};
  if (meta.wiener) b.wiener = { ...meta.wiener, weight: got['baseline.wiener.weight'], bias: got['baseline.wiener.bias'] };
  if (meta.kalman)
    b.kalman = { ...meta.kalman, A: got['baseline.kalman.A'], Q: got['baseline.kalman.Q'], C: got['baseline.kalman.C'], R: got['baseline.kalman.R'], x0: got['baseline.kalman.x0'] };
  return b;
}
