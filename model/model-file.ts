/**
 * A langevind model: config + weights + metadata, stored as one `.safetensors` file with
 * `__metadata__["format"] = "langevind-model/1"` and the config JSON in
 * `__metadata__["langevind.config"]`, optionally with the baseline decoders calibration fitted
 * beside it (`baseline.*` tensors, model/baselines.ts). Loading refuses anything that is not
 * exactly such a model.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { baselinesToFile, META_BASELINES, readBaselines, type Baselines } from './baselines.js';
import { validateConfig, type ModelConfig } from './config.js';
import { ModelFileError } from './errors.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { tensorShapes } from './tensors.js';

export const MODEL_FORMAT = 'langevind-model/1';
export const META_FORMAT = 'format';
export const META_CONFIG = 'langevind.config';
export const META_MODEL_ID = 'langevind.model_id';
export const META_PROVENANCE = 'langevind.provenance';
export const META_METRICS = 'langevind.metrics';

export interface LangevinModel {
  config: ModelConfig;
  /** Tensor name → data, shapes as tensorShapes(config). */
  weights: Record<string, Float32Array>;
  /** Every `__metadata__` entry, format and config included. */
  metadata: Record<string, string>;
  /** `langevind.model_id` when set, else the first 12 hex digits of the file's SHA-256. */
  id: string;
  /** The Wiener and Kalman filters fitted by the same calibration, when the file has them (model/baselines.ts). */
  baselines: Baselines;
}

function shortHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 12);
}

/** Checks that weights hold exactly the tensors the config needs, with the right sizes. */
function checkWeights(config: ModelConfig, tensors: Map<string, { shape: number[]; data: Float32Array }>): Record<string, Float32Array> {
  const shapes = tensorShapes(config);
  const weights: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const t = tensors.get(name);
    if (!t) throw new ModelFileError('EMISSING', `model: tensor "${name}" is missing (expected shape [${shape.join(', ')}])`);
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
      throw new ModelFileError('ESHAPE', `model: tensor "${name}" has shape [${t.shape.join(', ')}], the config needs [${shape.join(', ')}]`);
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i])) throw new ModelFileError('EVALUE', `model: tensor "${name}" holds ${t.data[i]} at flat index ${i}`);
    weights[name] = t.data;
  }
  for (const name of tensors.keys())
    if (!(name in shapes)) throw new ModelFileError('EUNEXPECTED', `model: tensor "${name}" is not part of a langevind model`);
  return weights;
}

/** Loads and checks a model file (a path or its bytes). Throws ModelFileError / ConfigError naming the problem. */
export function loadModel(pathOrBytes: string | Uint8Array): LangevinModel {
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') {
    try {
      bytes = readFileSync(pathOrBytes);
    } catch (e) {
      throw new ModelFileError('ENOTFOUND', `model: cannot read ${pathOrBytes}: ${(e as Error).message}`);
    }
  } else bytes = pathOrBytes;
  const { tensors, metadata } = readSafetensors(bytes);
  const format = metadata[META_FORMAT];
  if (format !== MODEL_FORMAT)
    throw new ModelFileError('EFORMAT', format === undefined
      ? `model: __metadata__ has no "format" (expected "${MODEL_FORMAT}"); not a langevind model file`
      : `model: unknown format "${format}" (this langevind reads "${MODEL_FORMAT}")`);
  const rawConfig = metadata[META_CONFIG];
  if (rawConfig === undefined) throw new ModelFileError('EHEADER', `model: __metadata__ has no "${META_CONFIG}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawConfig);
  } catch (e) {
    throw new ModelFileError('EJSON', `model: "${META_CONFIG}" is not valid JSON (${(e as Error).message})`);
  }
  const config = validateConfig(parsed);
  const baselines = readBaselines(tensors, metadata, config);
  const weights = checkWeights(config, tensors);
  return { config, weights, metadata, id: metadata[META_MODEL_ID] ?? shortHash(bytes), baselines };
}

/** The file bytes of a model (format and config metadata always written from model.config). */
export function modelToBytes(model: Pick<LangevinModel, 'config' | 'weights' | 'metadata'> & { baselines?: Baselines }): Uint8Array {
  const shapes = tensorShapes(model.config);
  const map = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of Object.entries(shapes)) {
    const data = model.weights[name];
    if (!data) throw new ModelFileError('EMISSING', `model: tensor "${name}" is missing`);
    map.set(name, { shape, data });
  }
  // The baselines' metadata is always written from model.baselines, never copied stale.
  const { [META_BASELINES]: _stale, ...rest } = model.metadata;
  const b = baselinesToFile(model.config, model.baselines ?? {});
  for (const [name, t] of b.tensors) map.set(name, t);
  const metadata = { ...rest, ...b.metadata, [META_FORMAT]: MODEL_FORMAT, [META_CONFIG]: JSON.stringify(model.config) };
  return writeSafetensors(map, metadata);
}

export function saveModel(path: string, model: Pick<LangevinModel, 'config' | 'weights' | 'metadata'> & { baselines?: Baselines }): void {
  writeFileSync(path, modelToBytes(model));
}

/**
 * Builds an in-memory model from a config and weights (checked like a loaded file). Its id is
 * that of the file modelToBytes would write, so a saved and reloaded model keeps the same id.
 */
export function makeModel(config: ModelConfig, weights: Record<string, Float32Array>, extraMetadata: Record<string, string> = {}, baselines: Baselines = {}): LangevinModel {
  const cfg = validateConfig(config);
  const map = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, data] of Object.entries(weights)) map.set(k, { shape: [data.length], data });
  // Shapes are implied by the config; check sizes against it.
  const shapes = tensorShapes(cfg);
  for (const [name, t] of map) {
    const shape = shapes[name];
    if (!shape) throw new ModelFileError('EUNEXPECTED', `model: tensor "${name}" is not part of a langevind model`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new ModelFileError('ESHAPE', `model: tensor "${name}" has ${t.data.length} values, the config needs [${shape.join(', ')}] = ${n}`);
    t.shape = shape;
  }
  const checked = checkWeights(cfg, map);
  // Checked as a loaded file's would be (sizes against the config, finite values).
  const b = baselinesToFile(cfg, baselines);
  const checkedBaselines = readBaselines(b.tensors, b.metadata, cfg);
  const { [META_BASELINES]: _stale, ...rest } = extraMetadata;
  const metadata: Record<string, string> = { ...rest, ...b.metadata, [META_FORMAT]: MODEL_FORMAT, [META_CONFIG]: JSON.stringify(cfg) };
  const id = metadata[META_MODEL_ID] ?? shortHash(modelToBytes({ config: cfg, weights: checked, metadata, baselines: checkedBaselines }));
  return { config: cfg, weights: checked, metadata, id, baselines: checkedBaselines };
}
