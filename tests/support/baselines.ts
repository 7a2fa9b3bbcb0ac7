/**
 * A model file with baselines fitted as calibration fits them (calibration/evaluate.ts baselines())
 * on a simulated reaching session, and that fit's held-out block and offline predictions: what
 * the live Wiener and Kalman decoders must reproduce bin by bin.
 */
import { join } from 'node:path';
import { useBackend } from '../../calibration/backend.js';
import { baselines, type Baselines, type Split } from '../../calibration/evaluate.js';
import { mat, rowSlice, type Mat } from '../../calibration/linear.js';
import { simulateSession } from '../../calibration/simulator/index.js';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import type { KalmanState } from '../../model/baselines.js';
import { loadModel, makeModel, saveModel, type LangevinModel } from '../../model/model-file.js';

export interface BaselineFixture {
  path: string;
  model: LangevinModel;
  /** Held-out counts, one bin per row, as the offline evaluation ran over them from a reset. */
  test: Mat;
  fit: Baselines;
}

export async function baselineFixture(dir: string, opts: { channels?: number; bins?: number; seed?: number; name?: string; kalmanState?: KalmanState } = {}): Promise<BaselineFixture> {
  await useBackend('wasm');
  const channels = opts.channels ?? 32;
  const s = simulateSession({ kind: 'reaching', seed: opts.seed ?? 3, bins: opts.bins ?? 1500, channels });
  const n = s.timestamps.length;
  const nTrain = Math.floor(n * 0.8);
  const counts = mat(Float32Array.from(s.counts), n, channels);
  const vel = mat(s.velocity, n, 2);
  const pos = mat(s.position!, n, 2);
  const labelled = Array.from({ length: n }, () => true);
  const split = (a: number, b: number): Split => ({ counts: rowSlice(counts, a, b), velocity: rowSlice(vel, a, b), position: rowSlice(pos, a, b), labelled: labelled.slice(a, b) });
  const fit = baselines(split(0, nTrain), split(nTrain, n), ['pos_x', 'pos_y'], s.velocityLabels, undefined, opts.kalmanState);
  const cfg = preset('S', { n_in: channels, n_out: channels, bin_ms: s.binMs, hidden: 16, latent: 16, ff: 32, window: 8, channel_labels: s.channelLabels, velocity_labels: s.velocityLabels });
  const path = join(dir, opts.name ?? 'with-baselines.safetensors');
  saveModel(path, makeModel(cfg, initWeights(cfg, 7), {}, fit.stored));
  return { path, model: loadModel(path), test: rowSlice(counts, nTrain, n), fit };
}
