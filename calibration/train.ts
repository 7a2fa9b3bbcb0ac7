/**
 * The training loop: windows of T bins from the training part, coordinated dropout, KL and
 * weight-decay ramps, Adam with gradient clipping and a plateau schedule, validation (never the
 * held-out block) with early stopping, the best checkpoint kept and used, NaN divergence handled,
 * and a resumable state that can be saved at any batch boundary.
 */
import type { ModelConfig } from '../model/config.js';
import { tf } from './backend.js';
import { assignParams, disposeParams, forward, logGrowth, makeParams, readParams, trainableNames, transitionMatrix } from './graph.js';
import type { Mat } from './linear.js';
import { Rng } from './rng.js';

export interface TrainConfig {
  /** Window length T (bins). */
  window: number;
  batch: number;
  maxEpochs: number;
  /** Wall-clock budget for training in minutes (0 = none). */
  maxMinutes: number;
  lr: number;
  minLr: number;
  weightDecay: number;
  wdRampEpochs: number;
  /** Dropout on h. */
  dropout: number;
  betaMax: number;
  klRampEpochs: number;
  /** Coordinated dropout keep-probability p. */
  keepProb: number;
  /** Early stopping: epochs without validation improvement. */
  patience: number;
  /**
   * Fewest optimiser steps in an epoch. The epoch-based schedules (plateau, patience, ramps) were
   * tuned on ~12 steps an epoch (contdata95); a short block has far fewer non-overlapping windows
   * (a 3.6-min block at 20 ms: 4 batches), so its learning rate decayed and training stopped
   * after ~100 steps. Shorter epochs are topped up with windows at further random phases.
   */
  minBatchesPerEpoch: number;
  plateauPatience: number;
  plateauFactor: number;
  clipNorm: number;
  /** Fraction of the training part (its end) used for validation. */
  valFraction: number;
  seed: number;
  /** Penalise growth of the Langevin transition over 2^k bins (k = this). */
  stabilityLog2Bins: number;
  stabilityWeight: number;
  /** Penalty-free bound on log ‖M^(2^k)‖_F: 0 asks that the dynamics forget over 2^k bins. */
  stabilityLogBound: number;
}

export const DEFAULT_TRAIN: TrainConfig = {
  window: 32, batch: 64, maxEpochs: 400, maxMinutes: 0, lr: 3e-3, minLr: 1e-4, weightDecay: 2e-5, wdRampEpochs: 50,
  dropout: 0.05, betaMax: 0.1, klRampEpochs: 50, keepProb: 0.7, patience: 25, minBatchesPerEpoch: 12, plateauPatience: 8, plateauFactor: 0.5,
  clipNorm: 200, valFraction: 0.1, seed: 1, stabilityLog2Bins: 12, stabilityWeight: 0.1, stabilityLogBound: 0,
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainNll: number;
  kl: number;
  valNll: number;
  lr: number;
  beta: number;
  seconds: number;
}

/** Everything needed to continue a run exactly where it stopped. */
export interface TrainState {
  epoch: number;
  lr: number;
  bestVal: number;
  bestEpoch: number;
  sinceBest: number;
  sincePlateau: number;
  rng: number;
  elapsedSeconds: number;
  history: EpochRecord[];
  current: Record<string, Float32Array>;
  best: Record<string, Float32Array> | null;
  /** Adam's moment accumulators, in variable order; null before the first step. */
  adam: { iter: number; m: Float32Array[]; v: Float32Array[] } | null;
}

export type StopReason = 'converged' | 'max-epochs' | 'time' | 'interrupted' | 'diverged';

export interface TrainResult {
  /** The best-validation weights (the last good ones if validation never ran). */
  weights: Record<string, Float32Array>;
  state: TrainState;
  reason: StopReason;
  notes: string[];
}

export interface ProgressEvent {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  /** Last epoch's validation NLL, NaN before the first. */
  valNll: number;
  bestVal: number;
  elapsedSeconds: number;
  /** Seconds to the end (epochs or time budget, whichever comes first); NaN until known. */
  etaSeconds: number;
  lr: number;
}

export interface TrainHooks {
  onProgress?: (e: ProgressEvent) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Polled between batches; true stops the run with reason 'interrupted' (state is resumable). */
  interrupted?: () => boolean;
  resume?: TrainState;
}

/** Weight matrices get weight decay; biases and LayerNorm parameters do not. */
const decayed = (name: string): boolean => /weight(_ih|_hh)?$/.test(name) && !/norm\d\.weight$/.test(name) || name === 'decoder.self_attn.in_proj_weight';

/** Contiguous windows [B, T, N] from rows starting at `starts`. */
function gather(counts: Mat, starts: number[], T: number): Float32Array {
  const N = counts.cols;
  const out = new Float32Array(starts.length * T * N);
  starts.forEach((s, b) => out.set(counts.data.subarray(s * N, (s + T) * N), b * T * N));
  return out;
}

/** Coordinated-dropout keep mask (1 = kept as input, 0 = dropped and scored). */
function cdMask(rng: Rng, n: number, p: number): Float32Array {
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = rng.next() < p ? 1 : 0;
  return m;
}

/** Poisson NLL (without log x!) of x under log-rates lr, averaged over entries where score = 1. */
function scoredNll(lr: tf.Tensor, x: tf.Tensor, score: tf.Tensor): tf.Scalar {
  const nll = tf.sub(tf.exp(lr), tf.mul(x, lr));
  return tf.div(tf.sum(tf.mul(nll, score)), tf.maximum(tf.sum(score), 1)) as tf.Scalar;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Trains on `train` rows (validation = its last valFraction). `init` gives the starting weights
 * (ignored when resuming). Returns the best checkpoint's weights.
 */
export async function train(cfg: ModelConfig, counts: Mat, init: Record<string, Float32Array>, tc: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  const T = tc.window;
  const N = cfg.n_in;
  const nVal = Math.max(T, Math.floor(counts.rows * tc.valFraction));
  const nFit = counts.rows - nVal;
  if (nFit < T * 4) throw new RangeError(`training part has ${nFit} bins; need at least ${4 * T} (4 windows of ${T})`);
  const notes: string[] = [];
  const st: TrainState = hooks.resume ?? {
    epoch: 0, lr: tc.lr, bestVal: Infinity, bestEpoch: -1, sinceBest: 0, sincePlateau: 0, rng: tc.seed * 7919 + 17,
    elapsedSeconds: 0, history: [], current: init, best: null, adam: null,
  };
  const rng = new Rng(st.rng);
  const params = makeParams(cfg, st.current);
  const names = trainableNames(cfg);
  const varList = names.map((n) => params[n]);
  const opt = tf.train.adam(st.lr, 0.9, 0.999, 1e-8);
  if (st.adam) {
    await opt.setWeights([
      { name: 'iter', tensor: tf.scalar(st.adam.iter, 'int32') },
      ...st.adam.m.map((m, i) => ({ name: `${varList[i].name}/m`, tensor: tf.tensor(m, varList[i].shape) })),
      ...st.adam.v.map((v, i) => ({ name: `${varList[i].name}/v`, tensor: tf.tensor(v, varList[i].shape) })),
    ]);
  }
  const setLr = (lr: number): void => { (opt as unknown as { learningRate: number }).learningRate = lr; };

  // Validation windows and their fixed coordinated-dropout masks.
  const valStarts: number[] = [];
  for (let s = nFit; s + T <= counts.rows; s += T) valStarts.push(s);
  const valRng = new Rng(tc.seed * 31 + 5);
  const valX = gather(counts, valStarts, T);
  const valMask = cdMask(valRng, valX.length, tc.keepProb);

  const validate = (): number => {
    let num = 0;
    let den = 0;
    const VB = 256;
    for (let b0 = 0; b0 < valStarts.length; b0 += VB) {
      const nb = Math.min(VB, valStarts.length - b0);
      const sl = valX.subarray(b0 * T * N, (b0 + nb) * T * N);
      const ms = valMask.subarray(b0 * T * N, (b0 + nb) * T * N);
      const [s, c] = tf.tidy(() => {
        const x = tf.tensor3d(sl, [nb, T, N]);
        const m = tf.tensor3d(ms, [nb, T, N]);
        const out = forward(cfg, params, tf.mul(x, tf.div(m, tc.keepProb)) as tf.Tensor3D, { sample: false, dropout: 0 });
        const lr = tf.slice(out.logRates, [0, 0, 0], [nb, T, N]);
        const score = tf.sub(1, m);
        const nll = tf.mul(tf.sub(tf.exp(lr), tf.mul(x, lr)), score);
        return [tf.sum(nll), tf.sum(score)];
      });
      num += s.dataSync()[0];
      den += c.dataSync()[0];
      s.dispose();
      c.dispose();
    }
    return num / Math.max(den, 1);
  };

  const snapshotAdam = async (): Promise<TrainState['adam']> => {
    const w = await opt.getWeights();
    if (w.length <= 1) return null;
    const nv = varList.length;
    const iter = (w[0].tensor.dataSync() as Int32Array | Float32Array)[0];
    return {
      iter,
      m: w.slice(1, 1 + nv).map((x) => new Float32Array(x.tensor.dataSync() as Float32Array)),
      v: w.slice(1 + nv, 1 + 2 * nv).map((x) => new Float32Array(x.tensor.dataSync() as Float32Array)),
    };
  };

  const startWall = performance.now() / 1000 - st.elapsedSeconds;
  const elapsed = (): number => performance.now() / 1000 - startWall;
  const elapsedAtStart = st.elapsedSeconds;
  const epochAtStart = st.epoch;
  const windowsPerEpoch = Math.floor((nFit - T) / T);
  const batches = Math.max(1, tc.minBatchesPerEpoch, Math.ceil(windowsPerEpoch / tc.batch));
  let reason: StopReason = 'max-epochs';
  let lastGood: Record<string, Float32Array> = st.current;
  let stop = false;

  while (!stop && st.epoch < tc.maxEpochs) {
    const e0 = performance.now() / 1000;
    const beta = tc.betaMax * Math.min(1, st.epoch / Math.max(1, tc.klRampEpochs));
    const wd = tc.weightDecay * Math.min(1, st.epoch / Math.max(1, tc.wdRampEpochs));
    // A fresh random phase each epoch, so windows cover every alignment.
    const starts: number[] = [];
    while (Math.ceil(starts.length / tc.batch) < batches) {
      const phase = Math.floor(rng.next() * T);
      const pass: number[] = [];
      for (let s = phase; s + T <= nFit; s += T) pass.push(s);
      rng.shuffle(pass);
      starts.push(...pass);
    }
    let sumLoss = 0;
    let sumNll = 0;
    let sumKl = 0;
    let nb = 0;
    for (let b = 0; b < batches; b++) {
      const bs = starts.slice(b * tc.batch, (b + 1) * tc.batch);
      if (bs.length === 0) break;
      const B = bs.length;
      const xData = gather(counts, bs, T);
      const mData = cdMask(rng, xData.length, tc.keepProb);
      const seedBase = rng.seed();
      let k = 0;
      const seed = (): number => seedBase + 7 * k++;
      const [lossT, nllT, klT] = tf.tidy(() => {
        const x = tf.tensor3d(xData, [B, T, N]);
        const m = tf.tensor3d(mData, [B, T, N]);
        const xin = tf.mul(x, tf.div(m, tc.keepProb)) as tf.Tensor3D;
        const score = tf.sub(1, m);
        let nllOut: tf.Scalar = tf.scalar(0);
        let klOut: tf.Scalar = tf.scalar(0);
        const { value, grads } = tf.variableGrads(() => {
          const out = forward(cfg, params, xin, { sample: true, dropout: tc.dropout, seed });
          const lr = tf.slice(out.logRates, [0, 0, 0], [B, T, N]);
          const nll = scoredNll(lr, x, score);
          const kl = tf.div(tf.mean(out.kl), T * cfg.n_out) as tf.Scalar;
          let loss = tf.add(nll, tf.mul(beta, kl)) as tf.Scalar;
          // Stability over a long session (see logGrowth): free below a bounded norm, penalised above.
          const growth = logGrowth(transitionMatrix(cfg, params['potential.kernel']), tc.stabilityLog2Bins);
          loss = tf.add(loss, tf.mul(tc.stabilityWeight, tf.relu(tf.sub(growth, tc.stabilityLogBound)))) as tf.Scalar;
          if (wd > 0) {
            const l2 = tf.addN(names.filter(decayed).map((n) => tf.sum(tf.square(params[n]))));
            loss = tf.add(loss, tf.mul(0.5 * wd, l2)) as tf.Scalar;
          }
          nllOut = tf.keep(nll);
          klOut = tf.keep(kl);
          return loss;
        }, varList);
        // Clip by global norm: the GRU can produce rare huge gradients early on.
        const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
        const scale = tf.minimum(1, tf.div(tc.clipNorm, tf.add(norm, 1e-6)));
        const clipped: Record<string, tf.Tensor> = {};
        for (const [n, g] of Object.entries(grads)) clipped[n] = tf.mul(g, scale);
        opt.applyGradients(clipped as Parameters<typeof opt.applyGradients>[0]);
        return [value, nllOut, klOut];
      });
      const loss = lossT.dataSync()[0];
      const nllV = nllT.dataSync()[0];
      const klV = klT.dataSync()[0];
      tf.dispose([lossT, nllT, klT]);
      if (!Number.isFinite(loss)) {
        // Diverged: the weights just updated are suspect; go back to the last good ones and stop.
        assignParams(params, lastGood);
        reason = 'diverged';
        notes.push(`loss became ${loss} at epoch ${st.epoch + 1}, batch ${b + 1}: training stopped; the best checkpoint before it (epoch ${st.bestEpoch + 1}) is used`);
        stop = true;
        break;
      }
      sumLoss += loss;
      sumNll += nllV;
      sumKl += klV;
      nb++;
      const el = elapsed();
      const done = st.epoch + (b + 1) / batches;
      // Speed from this process only (a resumed run's earlier time ran elsewhere, maybe slower).
      const perEpoch = (el - elapsedAtStart) / Math.max(done - epochAtStart, 1e-9);
      const byEpochs = (tc.maxEpochs - done) * perEpoch;
      const byTime = tc.maxMinutes > 0 ? tc.maxMinutes * 60 - el : Infinity;
      hooks.onProgress?.({
        epoch: st.epoch + 1, batch: b + 1, batches, loss, valNll: st.history.at(-1)?.valNll ?? NaN, bestVal: st.bestVal,
        elapsedSeconds: el, etaSeconds: Math.max(0, Math.min(byEpochs, byTime)), lr: st.lr,
      });
      await yieldToEventLoop();
      if (hooks.interrupted?.()) { reason = 'interrupted'; stop = true; break; }
      if (tc.maxMinutes > 0 && el > tc.maxMinutes * 60) { reason = 'time'; stop = true; break; }
    }
    if (reason === 'diverged') break;
    if (nb < batches) {
      // Stopped mid-epoch (interrupt or time): the partial epoch's updates are kept in `current`.
      break;
    }
    const valNll = validate();
    if (!Number.isFinite(valNll)) {
      assignParams(params, lastGood);
      reason = 'diverged';
      notes.push(`validation loss became ${valNll} after epoch ${st.epoch + 1}: training stopped; the best checkpoint (epoch ${st.bestEpoch + 1}) is used`);
      break;
    }
    const rec: EpochRecord = {
      epoch: st.epoch + 1, trainLoss: sumLoss / nb, trainNll: sumNll / nb, kl: sumKl / nb, valNll, lr: st.lr, beta,
      seconds: performance.now() / 1000 - e0,
    };
    st.history.push(rec);
    hooks.onEpoch?.(rec);
    lastGood = readParams(params);
    st.epoch++;
    if (valNll < st.bestVal - 1e-5) {
      st.bestVal = valNll;
      st.bestEpoch = st.epoch - 1;
      st.best = lastGood;
      st.sinceBest = 0;
      st.sincePlateau = 0;
    } else {
      st.sinceBest++;
      st.sincePlateau++;
      if (st.sincePlateau >= tc.plateauPatience && st.lr > tc.minLr) {
        st.lr = Math.max(tc.minLr, st.lr * tc.plateauFactor);
        setLr(st.lr);
        st.sincePlateau = 0;
      }
      if (st.sinceBest >= tc.patience) { reason = 'converged'; break; }
    }
    if (tc.maxMinutes > 0 && elapsed() > tc.maxMinutes * 60) { reason = 'time'; break; }
  }
  st.current = reason === 'diverged' ? lastGood : readParams(params);
  st.rng = rng.state;
  st.elapsedSeconds = elapsed();
  st.adam = reason === 'diverged' ? null : await snapshotAdam();
  disposeParams(params);
  opt.dispose();
  const weights = st.best ?? st.current;
  if (st.best === null) notes.push('no epoch finished, so no validated checkpoint exists; the current weights are used');
  return { weights, state: st, reason, notes };
}
