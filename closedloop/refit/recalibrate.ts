/**
 * `langevind recalibrate` as a library function: one ReFIT round on a closed-loop recording.
 * Reads the block, relabels every usable bin with the estimated intention, refits the model's
 * velocity readout on them and writes the new model. Applying it live is the control plane's
 * readout swap (POST /readout), not this.
 */
import { useBackend } from '../../calibration/backend.js';
import { loadModel, makeModel, saveModel } from '../../model/model-file.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { estimateIntention } from './intention.js';
import { refitReadout, type ReadoutRefit } from './readout.js';
import { closedLoopFromXdf, RecalibrateError, type ClosedLoopBlock } from './recording.js';

export const META_REFIT = 'langevind.refit';

export interface RecalibrateOptions {
  /** The closed-loop recording: a path or its bytes. */
  recording: string | Uint8Array;
  model: string;
  out: string;
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
  const { intention, valid } = estimateIntention(block.decoded, block.cursor, block.target, block.phase);
  const usable = valid.filter(Boolean).length;
  log(`recording: ${block.counts.rows} bins × ${block.channels} channels (${block.binMs} ms), ${block.trials} trials; ${usable} bins relabelled with the intention`);
  if (usable < MIN_USABLE_BINS) throw new RecalibrateError('EBADRECORDING', `recalibrate: only ${usable} bins are inside trials with a decode, a cursor and a target; need ≥ ${MIN_USABLE_BINS}`);
  await useBackend('wasm');
  const info = { from_model: model.id, recording: typeof o.recording === 'string' ? o.recording : null, bins: block.counts.rows, usable, trials: block.trials, date: new Date().toISOString() };
  const fitted = refitReadout(model, block.counts, intention, valid);
  // The refit's own numbers go into the metadata, so the model is made once more with them (its id is the content hash).
  const m = fitted.model;
  const refit = { ...fitted, model: makeModel(m.config, m.weights, { ...m.metadata, [META_REFIT]: JSON.stringify({ ...info, alpha: fitted.alpha, cv_r2: fitted.cvR2, r2_before: fitted.before, r2_after: fitted.after }) }, m.baselines) };
  saveModel(o.out, refit.model);
  log(`readout refit on the intention: CV R² ${refit.cvR2.toFixed(3)} (alpha ${refit.alpha}); R² against the intention ${refit.before.toFixed(3)} before, ${refit.after.toFixed(3)} after`);
  log(`model written to ${o.out}`);
  return { refit, block: { binMs: block.binMs, channels: block.channels, trials: block.trials, notes: block.notes, spikeStream: block.spikeStream, bins: block.counts.rows, usable }, from: model.id };
}
