/**
 * `langevind recalibrate` as a library function: one ReFIT round on a closed-loop recording.
 * Reads the block, relabels every usable bin with the estimated intention, refits the model's
 * velocity readout on them and writes the new model. Applying it live is the control plane's
 * readout swap (POST /readout), not this.
 */
import { useBackend } from '../../calibration/backend.js';
import { kalmanFromStored, kalmanToStored } from '../../calibration/kalman.js';
import { mat, mean, r2 } from '../../calibration/linear.js';
import { loadModel, makeModel, META_MODEL_ID, saveModel, type LangevinModel } from '../../model/model-file.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { estimateIntention, type OnTarget } from './intention.js';
import { refitKalmanObservation, refitReadout, type ReadoutRefit } from './readout.js';
import { closedLoopFromXdf, RecalibrateError, type ClosedLoopBlock } from './recording.js';

export const META_REFIT = 'langevind.refit';

export interface RecalibrateOptions {
  /** The closed-loop recording: a path or its bytes. */
  recording: string | Uint8Array;
  model: string;
  out: string;
  /** Which decoder of the model file to refit: the LangevinFlow readout (default) or the Kalman baseline's observation model (ReFIT-KF). */
  decoder?: 'langevinflow' | 'kalman';
  /** What the bins on the target say (default 'zero'; closedloop/refit/intention.ts). */
  onTarget?: OnTarget;
  /** Scale the refit readout to the labels' speed (default true; closedloop/refit/readout.ts). */
  keepSpeed?: boolean;
  log?: (line: string) => void;
}

export interface RecalibrateResult {
  refit: ReadoutRefit;
  block: Pick<ClosedLoopBlock, 'binMs' | 'channels' | 'trials' | 'notes' | 'spikeStream'> & { bins: number; usable: number };
  from: string;
}

/** Fewer relabelled bins than this cannot support a cross-validated readout of hundreds of features. */
const MIN_USABLE_BINS = 100;

export async function recalibrate(o: RecalibrateOptions): Promise<RecalibrateResult> {
  const log = o.log ?? (() => {});
  const model = loadModel(o.model);
  let file;
  try {
    file = readXdf(o.recording, { syncClocks: true });
  } catch (e) {
    throw new RecalibrateError('EBADRECORDING', `recalibrate: cannot read the recording: ${(e as Error).message}`);
  }
  const block = closedLoopFromXdf(file);
  for (const n of block.notes) log(`note: ${n}`);
  const cfg = model.config;
  if (cfg.n_in !== block.channels) throw new RecalibrateError('EMODEL', `recalibrate: the model takes ${cfg.n_in} channels, the recording's "${block.spikeStream}" has ${block.channels}`);
  if (cfg.bin_ms !== block.binMs) throw new RecalibrateError('EMODEL', `recalibrate: the model's bins are ${cfg.bin_ms} ms, the recording's ${block.binMs} ms`);
  if (block.decoded.cols !== 2 || cfg.velocity_labels.length !== 2)
    throw new RecalibrateError('EMODEL', `recalibrate: ReFIT needs a 2-D cursor velocity; the recording decodes ${block.decoded.cols} axes (${block.decodedLabels.join(', ')}), the model ${cfg.velocity_labels.length}`);
  const { intention, valid } = estimateIntention(block.decoded, block.cursor, block.target, block.phase, o.onTarget);
  const usable = valid.filter(Boolean).length;
  log(`recording: ${block.counts.rows} bins × ${block.channels} channels (${block.binMs} ms), ${block.trials} trials; ${usable} bins relabelled with the intention`);
  if (usable < MIN_USABLE_BINS) throw new RecalibrateError('EBADRECORDING', `recalibrate: only ${usable} bins are inside trials with a decode, a cursor and a target; need ≥ ${MIN_USABLE_BINS}`);
  if (o.decoder === 'kalman') return refitKalman(o, model, block, intention, valid, usable, log);
  await useBackend('wasm');
  const info = { from_model: model.id, recording: typeof o.recording === 'string' ? o.recording : null, bins: block.counts.rows, usable, trials: block.trials, date: new Date().toISOString() };
  const fitted = refitReadout(model, block.counts, intention, valid, {}, { keepSpeed: o.keepSpeed });
  // The refit's own numbers go into the metadata, so the model is made once more with them (its id is the content hash).
  const m = fitted.model;
  const refit = { ...fitted, model: makeModel(m.config, m.weights, { ...m.metadata, [META_REFIT]: JSON.stringify({ ...info, alpha: fitted.alpha, cv_r2: fitted.cvR2, r2_before: fitted.before, r2_after: fitted.after, fitted_speed: fitted.fittedSpeed, speed_scale: fitted.speedScale }) }, m.baselines) };
  saveModel(o.out, refit.model);
  log(`readout refit on the intention: CV R² ${refit.cvR2.toFixed(3)} (alpha ${refit.alpha}); the fit decodes ${(100 * refit.fittedSpeed).toFixed(0)} % of the labels' speed on the reach${refit.speedScale !== 1 ? `, scaled by ${refit.speedScale.toFixed(3)} to keep it` : ''}; R² against the intention ${refit.before.toFixed(3)} before, ${refit.after.toFixed(3)} after`);
  log(`model written to ${o.out}`);
  return { refit, block: { binMs: block.binMs, channels: block.channels, trials: block.trials, notes: block.notes, spikeStream: block.spikeStream, bins: block.counts.rows, usable }, from: model.id };
}

/**
 * ReFIT-KF (Gilja et al. 2012): the Kalman baseline's observation model (C, R) refit on the
 * closed-loop bins with the estimated intention as the velocity; the kinematic dynamics (A, Q) are
 * kept. The counts are tied to velocity only: a velocity filter (calibration's default) has
 * nothing else, and in a position-velocity filter C's position columns are fitted on zeros, so 0.
 * Gilja's ReFIT-KF also treats the cursor position as known in the filter's update, which the
 * stored filter has no place for, and without that a position term makes it run away (measured
 * with the simulated user: C fitted on the cursor as position left 0–1 of 100 trials successful,
 * the filter's position estimate drifting from the clamped cursor and the cursor pinned 14–19 cm off).
 */
function refitKalman(o: RecalibrateOptions, model: LangevinModel, block: ClosedLoopBlock, intention: ReturnType<typeof estimateIntention>['intention'], valid: boolean[], usable: number, log: (s: string) => void): RecalibrateResult {
  const kb = model.baselines.kalman;
  if (!kb) throw new RecalibrateError('EMODEL', `recalibrate: --decoder kalman needs a Kalman baseline in the model file; ${o.model} has none (calibrate stores one)`);
  const n = block.channels, s = kb.state.length + 1, T = block.counts.rows;
  const kin = new Float32Array(T * kb.state.length);
  for (let i = 0; i < kb.state.length; i++) {
    const v = i >= kb.velocityOffset ? i - kb.velocityOffset : -1;
    const axis = v >= 0 ? v : i;
    if (axis > 1) throw new RecalibrateError('EMODEL', `recalibrate: the Kalman state ${kb.state.join(', ')} is not a 2-D cursor's (position and) velocity`);
    if (v >= 0) for (let t = 0; t < T; t++) kin[t * kb.state.length + i] = intention.data[2 * t + axis];
  }
  const ok = valid;
  const km = kalmanFromStored(kb, s, n);
  const next = refitKalmanObservation(km, mat(kin, T, kb.state.length), block.counts, ok);
  const stored = kalmanToStored(next, kb.state, kb.velocityOffset);
  const fitRows = ok.filter(Boolean).length;
  // How well the counts are predicted from the assumed state, before and after (in-sample), as a check of the refit.
  const pred = (C: Float64Array): number => {
    const Y = new Float32Array(fitRows * n), P = new Float32Array(fitRows * n);
    for (let t = 0, j = 0; t < T; t++) {
      if (!ok[t]) continue;
      for (let c = 0; c < n; c++) {
        let y = C[c * s + s - 1];
        for (let k = 0; k < s - 1; k++) y += C[c * s + k] * kin[t * (s - 1) + k];
        P[j * n + c] = y;
        Y[j * n + c] = block.counts.data[t * n + c];
      }
      j++;
    }
    return mean(r2(mat(Y, fitRows, n), mat(P, fitRows, n)));
  };
  const before = pred(km.C), afterR2 = pred(next.C);
  const { [META_MODEL_ID]: _old, ...kept } = model.metadata;
  const info = { decoder: 'kalman', from_model: model.id, recording: typeof o.recording === 'string' ? o.recording : null, bins: T, usable: fitRows, trials: block.trials, date: new Date().toISOString(), counts_r2_before: before, counts_r2_after: afterR2 };
  const out = makeModel(model.config, model.weights, { ...kept, [META_REFIT]: JSON.stringify(info) }, { ...model.baselines, kalman: stored });
  saveModel(o.out, out);
  log(`ReFIT-KF: observation model refit on ${fitRows} bins (intention as velocity, no position term); counts R² from the state ${before.toFixed(3)} before, ${afterR2.toFixed(3)} after`);
  log(`model written to ${o.out}`);
  return {
    refit: { model: out, alpha: 0, cvR2: NaN, before, after: afterR2, bins: fitRows, fittedSpeed: NaN, speedScale: 1 },
    block: { binMs: block.binMs, channels: block.channels, trials: block.trials, notes: block.notes, spikeStream: block.spikeStream, bins: T, usable },
    from: model.id,
  };
}
