/**
 * POST /readout bodies: the velocity readout `velocity.weight` [K, features] (row-major, nested
 * or flat) and `velocity.bias` [K], either in the body as JSON or in a file under --model-dir:
 * the same JSON, or a .safetensors file holding those two tensors (a whole model file works:
 * only its readout is taken). Pure parsing and shape checks; the swap itself is the target's.
 */
import { readFile } from 'node:fs/promises';
import { readSafetensors } from '../../model/safetensors.js';
import { ControlError } from './errors.js';
import type { ReadoutWeights } from './target.js';

export interface ReadoutShape {
  rows: number;
  cols: number;
}

function floats(x: unknown, n: number, what: string): Float32Array {
  const flat: unknown[] = Array.isArray(x) && x.length > 0 && Array.isArray(x[0]) ? (x as unknown[][]).flat() : (x as unknown[]);
  if (!Array.isArray(flat)) throw new ControlError(400, 'EBADREQUEST', `"${what}" must be an array of numbers`);
  if (flat.length !== n) throw new ControlError(409, 'EINCOMPATIBLE', `"${what}" has ${flat.length} values, the running model's readout needs ${n}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ControlError(400, 'EBADREQUEST', `"${what}"[${i}] is ${JSON.stringify(v)}, not a finite number`);
    out[i] = v;
  }
  return out;
}

/** From a JSON object {weight, bias} (the body, or a JSON file's content). */
export function readoutFromJson(o: unknown, shape: ReadoutShape, source: string): ReadoutWeights {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ControlError(400, 'EBADREQUEST', 'readout must be a JSON object {"weight": [[…]], "bias": […]}');
  const r = o as Record<string, unknown>;
  const w = r.weight ?? r['velocity.weight'];
  const b = r.bias ?? r['velocity.bias'];
  if (w === undefined || b === undefined) throw new ControlError(400, 'EBADREQUEST', 'readout needs "weight" ([K][features] or flat) and "bias" ([K])');
  if (Array.isArray(w) && Array.isArray(w[0]) && w.length !== shape.rows)
    throw new ControlError(409, 'EINCOMPATIBLE', `"weight" has ${w.length} rows, the running model has ${shape.rows} velocity components`);
  return { weight: floats(w, shape.rows * shape.cols, 'weight'), bias: floats(b, shape.rows, 'bias'), source };
}

/** From a file already confined to the allowed directory (paths.ts). */
export async function readoutFromFile(path: string, shape: ReadoutShape): Promise<ReadoutWeights> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ControlError(400, 'EPATH', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.json')) {
    let o: unknown;
    try {
      o = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new ControlError(400, 'EBADJSON', `${path}: not valid JSON (${(err as Error).message})`);
    }
    return readoutFromJson(o, shape, path);
  }
  let tensors;
  try {
    tensors = readSafetensors(bytes).tensors;
  } catch (err) {
    throw new ControlError(400, 'EMODEL', `${path}: ${(err as Error).message}`);
  }
  const w = tensors.get('velocity.weight');
  const b = tensors.get('velocity.bias');
  if (!w || !b) throw new ControlError(400, 'EMODEL', `${path}: no "velocity.weight" and "velocity.bias" tensors`);
  if (w.shape.length !== 2 || w.shape[0] !== shape.rows || w.shape[1] !== shape.cols)
    throw new ControlError(409, 'EINCOMPATIBLE', `${path}: velocity.weight is [${w.shape.join(', ')}], the running model's readout is [${shape.rows}, ${shape.cols}]`);
  if (b.shape.length !== 1 || b.shape[0] !== shape.rows)
    throw new ControlError(409, 'EINCOMPATIBLE', `${path}: velocity.bias is [${b.shape.join(', ')}], the running model needs [${shape.rows}]`);
  for (const [name, t] of [['velocity.weight', w], ['velocity.bias', b]] as const)
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) throw new ControlError(400, 'EMODEL', `${path}: ${name} holds ${t.data[i]} at flat index ${i}`);
  return { weight: Float32Array.from(w.data), bias: Float32Array.from(b.data), source: path, file: path };
}
