/**
 * Resumable training checkpoints: one safetensors file holding the current and best weights,
 * Adam's moments, and (in its metadata) the config, training options, loop state and a
 * fingerprint of the data, so --resume refuses to continue on a different recording.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { validateConfig, type ModelConfig } from '../model/config.js';
import { readSafetensors, writeSafetensors } from '../model/safetensors.js';
import { tensorShapes } from '../model/tensors.js';
import { CalibrationError } from './errors.js';
import type { TrainConfig, TrainState } from './train.js';

export interface DataFingerprint { bins: number; channels: number; first: number; last: number; trainBins: number }

export interface Checkpoint {
  config: ModelConfig;
  train: TrainConfig;
  state: TrainState;
  data: DataFingerprint;
}

const META = 'langevind.checkpoint';

export function saveCheckpoint(path: string, ck: Checkpoint): void {
  const shapes = tensorShapes(ck.config);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const put = (prefix: string, w: Record<string, Float32Array>): void => {
    for (const [k, v] of Object.entries(w)) tensors.set(`${prefix}/${k}`, { shape: shapes[k] ?? [v.length], data: v });
  };
  put('current', ck.state.current);
  if (ck.state.best) put('best', ck.state.best);
  ck.state.adam?.m.forEach((m, i) => tensors.set(`adam/m/${i}`, { shape: [m.length], data: m }));
  ck.state.adam?.v.forEach((v, i) => tensors.set(`adam/v/${i}`, { shape: [v.length], data: v }));
  const { current: _c, best: _b, adam, ...loop } = ck.state;
  const meta = { version: 1, config: ck.config, train: ck.train, data: ck.data, loop, adamIter: adam?.iter ?? null, adamCount: adam?.m.length ?? 0, hasBest: ck.state.best !== null };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, writeSafetensors(tensors, { format: 'langevind-checkpoint/1', [META]: JSON.stringify(meta) }));
  renameSync(tmp, path); // never leave a half-written checkpoint behind
}

export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CalibrationError('ERESUME', `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  let file;
  try {
    file = readSafetensors(bytes);
  } catch (e) {
    throw new CalibrationError('ERESUME', `checkpoint ${path} is not readable: ${(e as Error).message}`);
  }
  const raw = file.metadata[META];
  if (file.metadata.format !== 'langevind-checkpoint/1' || !raw) throw new CalibrationError('ERESUME', `${path} is not a langevind calibration checkpoint`);
  const meta = JSON.parse(raw) as { config: unknown; train: TrainConfig; data: DataFingerprint; loop: Omit<TrainState, 'current' | 'best' | 'adam'>; adamIter: number | null; adamCount: number; hasBest: boolean };
  const config = validateConfig(meta.config);
  const get = (prefix: string): Record<string, Float32Array> => {
    const out: Record<string, Float32Array> = {};
    for (const [k, t] of file.tensors) if (k.startsWith(`${prefix}/`)) out[k.slice(prefix.length + 1)] = t.data;
    return out;
  };
  const adam = meta.adamIter === null ? null : {
    iter: meta.adamIter,
    m: Array.from({ length: meta.adamCount }, (_, i) => file.tensors.get(`adam/m/${i}`)!.data),
    v: Array.from({ length: meta.adamCount }, (_, i) => file.tensors.get(`adam/v/${i}`)!.data),
  };
  const state: TrainState = { ...meta.loop, current: get('current'), best: meta.hasBest ? get('best') : null, adam };
  return { config, train: meta.train, state, data: meta.data };
}
