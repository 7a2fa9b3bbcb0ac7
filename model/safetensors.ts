/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON naming each tensor's dtype, shape and byte range within the
 * data section, then the data section. langevind stores F32 little-endian only.
 *
 * Reading is strict: every problem is refused with a ModelFileError whose code names it, because
 * a model file that loads "mostly" would decode silently wrong.
 */
import { ModelFileError } from './errors.js';

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Headers beyond this are not a model file (safetensors itself caps them at 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new ModelFileError('ETRUNCATED', `safetensors: file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n < 2n || n > BigInt(MAX_HEADER)) throw new ModelFileError('EHEADER', `safetensors: header length ${n} is not plausible (2…${MAX_HEADER} bytes)`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length)
    throw new ModelFileError('ETRUNCATED', `safetensors: header length says ${headerLen} bytes but only ${bytes.length - 8} follow (truncated file or wrong header length)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new ModelFileError('EJSON', `safetensors: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(header)) throw new ModelFileError('EHEADER', 'safetensors: header must be a JSON object');

  const metadata: Record<string, string> = {};
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!isObject(meta)) throw new ModelFileError('EHEADER', 'safetensors: __metadata__ must be an object of strings');
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw new ModelFileError('EHEADER', `safetensors: __metadata__["${k}"] must be a string`);
      metadata[k] = v;
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isObject(raw)) throw new ModelFileError('EHEADER', `safetensors: tensor "${name}": entry must be an object`);
    if (raw.dtype !== 'F32') throw new ModelFileError('EDTYPE', `safetensors: tensor "${name}": dtype ${JSON.stringify(raw.dtype)} is not supported (F32 only)`);
    const shape = raw.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw new ModelFileError('EHEADER', `safetensors: tensor "${name}": shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    const off = raw.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((s) => Number.isSafeInteger(s) && s >= 0) || off[1] < off[0])
      throw new ModelFileError('EHEADER', `safetensors: tensor "${name}": data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(off)}`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== count * 4)
      throw new ModelFileError('ERANGE', `safetensors: tensor "${name}": byte range ${off[0]}…${off[1]} holds ${off[1] - off[0]} bytes but shape ${JSON.stringify(shape)} needs ${count * 4}`);
    if (off[1] > dataLen)
      throw new ModelFileError('ETRUNCATED', `safetensors: tensor "${name}": byte range ends at ${off[1]} but the data section has only ${dataLen} bytes (truncated file)`);
    entries.push({ name, shape: shape as number[], begin: off[0], end: off[1] });
  }

  // The ranges must tile the data section exactly: no gaps, no overlaps, nothing after the last.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    if (e.begin !== pos)
      throw new ModelFileError('ERANGE', `safetensors: tensor "${e.name}" starts at byte ${e.begin}, expected ${pos} (ranges must tile the data without gaps or overlaps)`);
    pos = e.end;
  }
  if (pos !== dataLen) throw new ModelFileError('ERANGE', `safetensors: ${dataLen - pos} bytes after the last tensor (ranges must tile the data section)`);

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const n = (e.end - e.begin) / 4;
    let data: Float32Array;
    if (littleEndian) {
      // Copy so that the result is 4-byte aligned and independent of the input buffer. (Not
      // bytes.slice(): on a Node Buffer that is a view of the whole, shared backing store.)
      const copy = new Uint8Array(e.end - e.begin);
      copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
      data = new Float32Array(copy.buffer);
    } else {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + e.begin + 4 * i, true);
    }
    tensors.set(e.name, { dtype: 'F32', shape: [...e.shape], data });
  }
  return { tensors, metadata };
}

/**
 * Serialises tensors (in name order, so the same model always gives the same bytes) as F32 LE.
 * The header is padded with spaces to a multiple of 8 bytes, as the reference implementation does.
 */
export function writeSafetensors(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string>): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let pos = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new ModelFileError('EHEADER', 'safetensors: "__metadata__" cannot be a tensor name');
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new ModelFileError('ESHAPE', `safetensors: tensor "${name}": shape ${JSON.stringify(t.shape)} needs ${count} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [pos, pos + 4 * count] };
    pos += 4 * count;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + pos);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let o = 8 + padded;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    if (littleEndian) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), o);
    else for (let i = 0; i < d.length; i++) view.setFloat32(o + 4 * i, d[i], true);
    o += d.byteLength;
  }
  return out;
}
