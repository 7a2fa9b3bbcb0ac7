/**
 * `langevind calibrate` as a library function: load and align the recording, split off the
 * held-out block, train, fit the readout, evaluate against Wiener and Kalman, save the model
 * (with provenance and metrics in its metadata) and the report.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { preset, validateConfig, type ModelConfig, type PresetName, type VelocityFeatures } from '../model/config.js';
import { initWeights } from '../model/init.js';
import { loadModel, makeModel, META_METRICS, META_PROVENANCE, saveModel, type LangevinModel } from '../model/model-file.js';
import { useBackend, type BackendName } from './backend.js';
import { loadCheckpoint, saveCheckpoint, type DataFingerprint } from './checkpoint.js';
import { loadDataset, type Dataset } from './dataset.js';
import { CalibrationError } from './errors.js';
import type { KalmanState } from '../model/baselines.js';
import { baselines, evaluateModel, type R2Result } from './evaluate.js';
import { rowSlice, type Mat } from './linear.js';
import { ProgressBar } from './progress.js';
import { chooseReadout, streamFeatures } from './readout.js';
import { reportHtml } from './report.js';
import { DEFAULT_TRAIN, train, type StopReason, type TrainConfig } from './train.js';

export interface ModelSize {
  preset?: PresetName;
  hidden?: number;
  latent?: number;
  osc_channels?: number;
  heads?: number;
  ff?: number;
  window?: number;
  step?: number;
  gamma?: number;
  corrections?: boolean;
}

export interface CalibrateOptions {
  recording: string;
  out: string;
  spikes?: string;
  behaviour?: string;
  velocityChannels?: string;
  binMs?: number;
  /** Held-out fraction at the end (default 0.2). */
  heldOut?: number;
  /** The Kalman baseline's state (default 'velocity'; calibration/evaluate.ts). */
  kalmanState?: KalmanState;
  size?: ModelSize;
  train?: Partial<TrainConfig>;
  backend?: BackendName;
  report?: string;
  /** Resume from this checkpoint (written on Ctrl-C). */
  resume?: string;
  /** Where Ctrl-C writes the checkpoint (default OUT.ckpt). */
  checkpoint?: string;
  /** The command line, for provenance. */
  command?: string;
  log?: (line: string) => void;
  progress?: boolean;
  /** Polled between batches; true interrupts training and writes a checkpoint. */
  interrupted?: () => boolean;
}

export interface CalibrationMetrics {
  heldOut: { bins: number; fraction: number; firstBin: number };
  trainBins: number;
  velocityR2: {
    langevin: R2Result;
    wiener: R2Result & { lags: number; alpha: number; cvR2: number };
    kalman: R2Result & { state: string[] };
  };
  velocityLabels: string[];
  bitsPerSpike: number;
  rateR2: number | null;
  readout: { features: VelocityFeatures; alpha: number; cvR2: number; candidates: { features: VelocityFeatures; cvR2: number; alpha: number }[] };
  training: { epochs: number; bestEpoch: number; bestValNll: number; stopReason: StopReason; seconds: number; backend: string; notes: string[] };
  seconds: { total: number; load: number; train: number; readout: number; evaluate: number };
}

export interface CalibrateResult {
  /** null when training was interrupted (a checkpoint was written instead). */
  model: LangevinModel | null;
  metrics: CalibrationMetrics | null;
  checkpoint?: string;
}

/** The calibration default size: small enough to train in minutes on two CPU cores. */
/**
 * The calibration default size: small enough to train in minutes on two CPU cores.
 * One oscillator channel and a larger step than the authors' (C = 4, Δ = 0.01): the daemon runs
 * the filter continuously for hours, not over 2-s trials. With C > 1 the potential has flat
 * directions (Σ_c Z[c, l] = 0 leaves U unchanged) and with Δ = 0.01 its force is ~Δ² small, so z
 * is in effect an undamped integrator of v and drifts without bound online. With C = 1 and
 * Δ = 0.2 a positive-definite potential damps z within tens of bins; training keeps it so (the
 * stability penalty of train.ts).
 */
export const DEFAULT_SIZE: Required<Omit<ModelSize, 'preset'>> = {
  hidden: 64, latent: 32, osc_channels: 1, heads: 2, ff: 128, window: 32, step: 0.2, gamma: 0.55, corrections: true,
};

/**
 * Starting weights: PyTorch-like, with the potential kernel's centre tap set (K[o, i, 1] = 1) so
 * U starts positive definite (for C = 1, G = 2I) instead of zero: a zero kernel leaves z an
 * integrator and its normalisation has no useful gradient at exactly zero.
 */
export function initialWeights(cfg: ModelConfig, seed: number, counts?: Mat): Record<string, Float32Array> {
  const w = initWeights(cfg, seed, { potentialScale: 0 });
  const K = w['potential.kernel'];
  for (let r = 0; r < cfg.osc_channels * cfg.osc_channels; r++) K[3 * r + 1] = 1;
  if (counts) w['readout.bias'].set(meanLogRates(counts));
  return w;
}

/**
 * Each channel's log mean count per bin: the log-rate readout starts at the per-channel mean
 * rates. PyTorch-like bias init (≈ 0, one count a bin) only suits bins with about one count
 * (contdata95: 1.28 at 50 ms); at 20 ms and ~15 Hz (0.3 a bin, channels spread over a decade)
 * the biases alone must travel 1–3 nats, and training stalled worse than mean rates before they got there.
 */
export function meanLogRates(counts: Mat): Float32Array {
  const n = counts.cols, T = counts.rows;
  const sum = new Float64Array(n);
  for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) sum[i] += counts.data[t * n + i];
  // Half a count over the block for a silent channel, so its log-rate stays finite.
  return Float32Array.from(sum, (s) => Math.log(Math.max(s, 0.5) / Math.max(T, 1)));
}

export function buildConfig(ds: Pick<Dataset, 'counts' | 'binMs' | 'channelLabels' | 'velocityLabels'>, size: ModelSize = {}): ModelConfig {
  const base = size.preset ? preset(size.preset) : { ...DEFAULT_SIZE };
  const pick = <K extends keyof typeof DEFAULT_SIZE>(k: K): (typeof DEFAULT_SIZE)[K] => (size[k] ?? (base as typeof DEFAULT_SIZE)[k]) as (typeof DEFAULT_SIZE)[K];
  return validateConfig({
    n_in: ds.counts.cols, n_out: ds.counts.cols,
    hidden: pick('hidden'), latent: pick('latent'), osc_channels: pick('osc_channels'), heads: pick('heads'), ff: pick('ff'), window: pick('window'),
    step: pick('step'), gamma: pick('gamma'), corrections: pick('corrections'), bin_ms: ds.binMs,
    velocity_features: { sources: ['rates'], lags: 1 }, layer_norm_eps: 1e-5,
    channel_labels: ds.channelLabels, velocity_labels: ds.velocityLabels,
  });
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const sliceMat = (m: Mat | null, from: number, to: number): Mat | null => (m ? rowSlice(m, from, to) : null);

export async function calibrate(o: CalibrateOptions): Promise<CalibrateResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const t0 = performance.now() / 1000;
  const backend = await useBackend(o.backend ?? 'wasm');
  log(`backend: ${backend.detail}`);
  const ds = loadDataset(o.recording, { spikes: o.spikes, behaviour: o.behaviour, velocityChannels: o.velocityChannels, binMs: o.binMs });
  log(`recording: ${ds.counts.rows} bins × ${ds.counts.cols} channels of "${ds.spikeStream}" (${ds.binMs} ms), velocity ${ds.velocityLabels.join(', ')} from "${ds.behaviourStream}"`);
  for (const n of ds.notes) log(`note: ${n}`);
  const tLoad = performance.now() / 1000;

  const heldOut = o.heldOut ?? 0.2;
  if (!(heldOut > 0 && heldOut < 1)) throw new CalibrationError('EUSAGE', `--held-out must be a fraction in (0, 1), got ${heldOut}`);
  const n = ds.counts.rows;
  const nTrain = Math.floor(n * (1 - heldOut));
  const nTest = n - nTrain;
  let cfg: ModelConfig;
  let tc: TrainConfig;
  let resumeState;
  const fp: DataFingerprint = { bins: n, channels: ds.counts.cols, first: ds.timestamps[0], last: ds.timestamps[n - 1], trainBins: nTrain };
  if (o.resume) {
    const ck = loadCheckpoint(o.resume);
    if (ck.data.bins !== fp.bins || ck.data.channels !== fp.channels || ck.data.trainBins !== fp.trainBins || Math.abs(ck.data.first - fp.first) > 1e-6)
      throw new CalibrationError('ERESUME', `checkpoint ${o.resume} was made on different data (${ck.data.bins} bins × ${ck.data.channels} channels, ${ck.data.trainBins} training bins); this recording gives ${fp.bins} × ${fp.channels}, ${fp.trainBins}`);
    cfg = ck.config;
    tc = { ...ck.train, ...o.train };
    resumeState = ck.state;
    log(`resuming from ${o.resume} at epoch ${ck.state.epoch} (best validation NLL ${ck.state.bestVal.toFixed(4)})`);
  } else {
    cfg = buildConfig(ds, o.size);
    tc = { ...DEFAULT_TRAIN, window: Math.min(cfg.window, DEFAULT_TRAIN.window), ...o.train };
  }
  const minTrain = 4 * tc.window / (1 - tc.valFraction) + tc.window;
  if (nTrain < minTrain || nTest < Math.max(20, tc.window))
    throw new CalibrationError('ETOOSHORT', `${n} bins are too few: the held-out ${Math.round(heldOut * 100)} % leaves ${nTrain} training bins (need ≥ ${Math.ceil(minTrain)} for windows of ${tc.window}) and ${nTest} held-out bins (need ≥ ${Math.max(20, tc.window)})`);
  if (ds.labelled.slice(0, nTrain).filter(Boolean).length < 50) throw new CalibrationError('ETOOSHORT', 'fewer than 50 training bins have usable behaviour; cannot fit a velocity readout');
  log(`model: N=${cfg.n_in} H=${cfg.hidden} D=${cfg.latent} (C=${cfg.osc_channels}) d=${2 * cfg.latent + cfg.hidden} heads=${cfg.heads} F=${cfg.ff} W=${cfg.window}; windows T=${tc.window}, batch ${tc.batch}`);
  log(`split: training bins 0…${nTrain - 1} (validation = its last ${Math.round(tc.valFraction * 100)} %), held-out ${nTrain}…${n - 1} (${nTest} bins, never used in training or early stopping)`);

  const trainCounts = rowSlice(ds.counts, 0, nTrain);
  const bar = o.progress === false ? null : new ProgressBar(process.stderr, tc.maxEpochs);
  // Mean rates from the bins the optimiser fits (train.ts: validation is the training part's end).
  const nFit = nTrain - Math.max(tc.window, Math.floor(nTrain * tc.valFraction));
  const init = initialWeights(cfg, tc.seed, rowSlice(ds.counts, 0, nFit));
  const tr = await train(cfg, trainCounts, init, tc, {
    resume: resumeState,
    interrupted: o.interrupted,
    onProgress: (e) => bar?.update(e),
    onEpoch: (r) => (bar ? bar.epoch(r) : log(`epoch ${r.epoch}: val nll ${r.valNll.toFixed(4)}`)),
  });
  bar?.done();
  const tTrain = performance.now() / 1000;
  if (tr.reason === 'interrupted') {
    const path = o.checkpoint ?? `${o.out}.ckpt`;
    saveCheckpoint(path, { config: cfg, train: tc, state: tr.state, data: fp });
    log(`interrupted at epoch ${tr.state.epoch}: checkpoint written to ${path}; continue with --resume ${path}`);
    return { model: null, metrics: null, checkpoint: path };
  }
  for (const note of tr.notes) log(`note: ${note}`);
  log(`training stopped (${tr.reason}) after ${tr.state.epoch} epochs; using the best checkpoint, epoch ${tr.state.bestEpoch + 1} (validation NLL ${tr.state.bestVal.toFixed(4)})`);
  if (tr.reason === 'diverged' && tr.state.best === null) throw new CalibrationError('EDIVERGED', `training diverged (NaN loss) before any epoch completed; try a smaller --lr. ${tr.notes.join(' ')}`);

  // Readout on the training part's continuous features, chosen by CV there.
  const weights = tr.weights;
  const trainSrc = streamFeatures(cfg, weights, trainCounts);
  const trainVel = rowSlice(ds.velocity, 0, nTrain);
  const trainLab = ds.labelled.slice(0, nTrain);
  const choice = chooseReadout(trainSrc, trainVel, trainLab, cfg.window, log);
  const finalCfg: ModelConfig = { ...cfg, velocity_features: choice.features };
  const fit = choice.ridge.fit;
  const tReadout = performance.now() / 1000;

  // Held-out evaluation.
  const test = {
    counts: rowSlice(ds.counts, nTrain, n), velocity: rowSlice(ds.velocity, nTrain, n), position: sliceMat(ds.position, nTrain, n),
    labelled: ds.labelled.slice(nTrain), trueLogRates: sliceMat(ds.trueLogRates, nTrain, n),
  };
  const meanRates = new Float64Array(ds.counts.cols);
  for (let t = 0; t < nTrain; t++) for (let i = 0; i < ds.counts.cols; i++) meanRates[i] += ds.counts.data[t * ds.counts.cols + i] / nTrain;
  const provisional = makeModel(finalCfg, { ...weights, 'velocity.weight': fit.weight, 'velocity.bias': fit.bias });
  const ours = evaluateModel(provisional, test, meanRates);
  const base = baselines({ counts: trainCounts, velocity: trainVel, position: sliceMat(ds.position, 0, nTrain), labelled: trainLab }, test, ds.positionLabels, ds.velocityLabels, log, o.kalmanState);
  const tEval = performance.now() / 1000;

  const metrics: CalibrationMetrics = {
    heldOut: { bins: nTest, fraction: heldOut, firstBin: nTrain },
    trainBins: nTrain,
    velocityR2: { langevin: ours.velocity, wiener: base.wiener, kalman: base.kalman },
    velocityLabels: ds.velocityLabels,
    bitsPerSpike: ours.bitsPerSpike,
    rateR2: ours.rateR2,
    readout: { features: choice.features, alpha: choice.ridge.alpha, cvR2: choice.ridge.cvR2, candidates: choice.candidates },
    training: { epochs: tr.state.epoch, bestEpoch: tr.state.bestEpoch + 1, bestValNll: tr.state.bestVal, stopReason: tr.reason, seconds: tTrain - tLoad, backend: backend.detail, notes: tr.notes },
    seconds: { total: tEval - t0, load: tLoad - t0, train: tTrain - tLoad, readout: tReadout - tTrain, evaluate: tEval - tReadout },
  };
  const provenance = {
    data: o.recording, spike_stream: ds.spikeStream, behaviour_stream: ds.behaviourStream, bins: n, held_out_from_bin: nTrain,
    date: new Date().toISOString(), command: o.command ?? null, backend: backend.detail, seed: tc.seed, langevind_version: version(),
    train: tc, notes: [...ds.notes, ...tr.notes],
  };
  const model = makeModel(finalCfg, { ...weights, 'velocity.weight': fit.weight, 'velocity.bias': fit.bias }, {
    [META_PROVENANCE]: JSON.stringify(provenance),
    [META_METRICS]: JSON.stringify(metrics),
  }, base.stored);
  saveModel(o.out, model);
  if (o.resume && o.resume === (o.checkpoint ?? `${o.out}.ckpt`) && existsSync(o.resume)) unlinkSync(o.resume);
  const fmtR = (r: R2Result): string => `${r.mean.toFixed(3)} (${r.perAxis.map((x, i) => `${ds.velocityLabels[i]} ${x.toFixed(3)}`).join(', ')})`;
  log(`held-out velocity R²: LangevinFlow ${fmtR(ours.velocity)} | Wiener ${fmtR(base.wiener)} | Kalman ${fmtR(base.kalman)}`);
  log(`bits/spike ${ours.bitsPerSpike.toFixed(3)}${ours.rateR2 !== null ? `, rate R² vs truth ${ours.rateR2.toFixed(3)}` : ''}; total ${metrics.seconds.total.toFixed(0)} s (train ${metrics.seconds.train.toFixed(0)} s)`);
  log(`model written to ${o.out}`);
  if (o.report) {
    writeFileSync(o.report, reportHtml({
      title: `Calibration: ${o.recording}`, metrics, history: tr.state.history, binMs: ds.binMs, velocityLabels: ds.velocityLabels,
      truth: test.velocity, ours: ours.velocityPred, wiener: base.wienerPred, kalman: base.kalmanPred, counts: test.counts,
      logRates: ours.logRates, trueLogRates: test.trueLogRates, notes: provenance.notes,
    }));
    log(`report written to ${o.report}`);
  }
  return { model, metrics };
}

export interface RefitBaselinesOptions {
  recording: string;
  /** The model whose baselines are (re)fitted; its network tensors are written back unchanged. */
  model: string;
  out: string;
  spikes?: string;
  behaviour?: string;
  velocityChannels?: string;
  binMs?: number;
  /** The Kalman baseline's state (default 'velocity'). */
  kalmanState?: KalmanState;
  /** The command line, recorded in the provenance. */
  command?: string;
  log?: (line: string) => void;
}

/**
 * Fits only the Wiener and Kalman baselines of an existing model on the recording it was
 * calibrated on, with the same split (the provenance's held_out_from_bin), and writes the model
 * with them: for models made before calibration stored its baselines. The LangevinFlow tensors,
 * config and other metadata are kept as they are; the metrics' baseline entries are replaced.
 */
export async function refitBaselines(o: RefitBaselinesOptions): Promise<{ model: LangevinModel; baselines: ReturnType<typeof baselines> }> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  await useBackend('wasm');
  const m = loadModel(o.model);
  const ds = loadDataset(o.recording, { spikes: o.spikes, behaviour: o.behaviour, velocityChannels: o.velocityChannels, binMs: o.binMs });
  const n = ds.counts.rows;
  if (ds.counts.cols !== m.config.n_in || ds.binMs !== m.config.bin_ms)
    throw new CalibrationError('EBADDATA', `${o.recording} has ${ds.counts.cols} channels of ${ds.binMs} ms bins, the model ${m.config.n_in} of ${m.config.bin_ms} ms`);
  if (ds.velocityLabels.join(',') !== m.config.velocity_labels.join(','))
    throw new CalibrationError('EBADDATA', `${o.recording} gives velocity ${ds.velocityLabels.join(', ')}, the model decodes ${m.config.velocity_labels.join(', ')}`);
  let prov: { bins?: number; held_out_from_bin?: number; [k: string]: unknown } = {};
  try {
    prov = JSON.parse(m.metadata[META_PROVENANCE] ?? '{}');
  } catch {
    // No usable provenance: fall back to calibrate's default split.
  }
  if (prov.bins !== undefined && prov.bins !== n)
    throw new CalibrationError('EBADDATA', `${o.recording} has ${n} bins, the model was calibrated on ${prov.bins}: not the same recording`);
  const nTrain = prov.held_out_from_bin ?? Math.floor(n * 0.8);
  const test = { counts: rowSlice(ds.counts, nTrain, n), velocity: rowSlice(ds.velocity, nTrain, n), position: sliceMat(ds.position, nTrain, n), labelled: ds.labelled.slice(nTrain) };
  const train = { counts: rowSlice(ds.counts, 0, nTrain), velocity: rowSlice(ds.velocity, 0, nTrain), position: sliceMat(ds.position, 0, nTrain), labelled: ds.labelled.slice(0, nTrain) };
  const base = baselines(train, test, ds.positionLabels, ds.velocityLabels, log, o.kalmanState);
  const metadata = { ...m.metadata };
  if (metadata[META_PROVENANCE] !== undefined)
    metadata[META_PROVENANCE] = JSON.stringify({ ...prov, baselines_refit: { date: new Date().toISOString(), data: o.recording, held_out_from_bin: nTrain, command: o.command ?? null } });
  try {
    const metrics = JSON.parse(metadata[META_METRICS] ?? 'null') as CalibrationMetrics | null;
    if (metrics?.velocityR2) {
      metrics.velocityR2.wiener = base.wiener;
      metrics.velocityR2.kalman = base.kalman;
      metadata[META_METRICS] = JSON.stringify(metrics);
    }
  } catch {
    // Metrics that do not parse are left as they were.
  }
  const model = makeModel(m.config, m.weights, metadata, base.stored);
  saveModel(o.out, model);
  log(`held-out velocity R² (bins ${nTrain}…${n - 1}): Wiener ${base.wiener.mean.toFixed(3)} (${base.wiener.lags} lags), Kalman ${base.kalman.mean.toFixed(3)}; model written to ${o.out}`);
  return { model, baselines: base };
}
