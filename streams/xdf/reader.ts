/**
 * XDF reader: every chunk type LabRecorder writes, 1/4/8-byte lengths, deduced timestamps,
 * string channels, clock offsets (optionally applied with a robust per-segment linear fit),
 * and recovery from corrupted or truncated files by scanning for Boundary chunks.
 *
 * Numeric samples land in one growable typed array per stream (row-major), never in
 * per-sample objects, so a 7 MB recording decodes in tens of milliseconds.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { gunzipSync, inflateSync } from 'node:zlib';
import { element, parseXml, type XmlElement } from '../xml.js';
import { parseStreamInfo, type StreamInfo } from '../stream-info.js';
import { allocNumeric, BOUNDARY_BYTES, FORMAT_BYTES, MAGIC, Tag, XdfError, type NumericData, type XdfData } from './format.js';
import { syncTimestamps } from './clock-sync.js';

export { XdfError } from './format.js';

export interface XdfStream {
  id: number;
  info: StreamInfo;
  headerXml: string;
  timeStamps: Float64Array;
  /** Numeric formats: row-major [n × channelCount]; string: one string[] per sample. */
  data: XdfData;
  /** Raw clock offsets as recorded (time in the stream's clock, value to add). */
  clockOffsets: { time: number; value: number }[];
  footer?: XmlElement;
}

export interface XdfFile {
  fileHeader: XmlElement;
  streams: XdfStream[];
  /** Recoverable problems met while reading (corruption, truncation, unknown chunks), each naming its byte offset. */
  warnings: string[];
}

export interface ReadXdfOptions {
  /** Map timestamps into the recorder's clock using the clock offsets (pyxdf-like). Default false: raw timestamps. */
  syncClocks?: boolean;
  /** Keep only the streams whose header matches; the others' samples are skipped unparsed. */
  onlyStreams?: (info: StreamInfo) => boolean;
}

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const utf8 = new TextDecoder('utf-8');

/** Per-stream decoding state: growable buffers that are trimmed at the end. */
class StreamAccumulator {
  n = 0;
  ts = new Float64Array(256);
  numeric: NumericData | null;
  numericBytes: Uint8Array | null;
  strings: string[][] = [];
  lastTimestamp = 0;
  readonly tdiff: number;
  readonly rowBytes: number;
  readonly clockOffsets: { time: number; value: number }[] = [];
  footer?: XmlElement;

  constructor(readonly id: number, readonly info: StreamInfo, readonly headerXml: string) {
    this.tdiff = info.nominalSrate > 0 ? 1 / info.nominalSrate : 0;
    const fmt = info.channelFormat;
    this.rowBytes = FORMAT_BYTES[fmt] * info.channelCount;
    if (fmt === 'string') {
      this.numeric = null;
      this.numericBytes = null;
    } else {
      this.numeric = allocNumeric(fmt, 256 * info.channelCount);
      this.numericBytes = new Uint8Array(this.numeric.buffer);
    }
  }

  reserve(extra: number): void {
    const need = this.n + extra;
    if (need <= this.ts.length) return;
    let cap = this.ts.length;
    while (cap < need) cap *= 2;
    const ts = new Float64Array(cap);
    ts.set(this.ts.subarray(0, this.n));
    this.ts = ts;
    if (this.numeric) {
      const fmt = this.info.channelFormat as Exclude<typeof this.info.channelFormat, 'string'>;
      const d = allocNumeric(fmt, cap * this.info.channelCount);
      (d as Float64Array).set(this.numeric.subarray(0, this.n * this.info.channelCount) as unknown as Float64Array);
      this.numeric = d;
      this.numericBytes = new Uint8Array(d.buffer);
    }
  }

  finish(): XdfStream {
    const c = this.info.channelCount;
    return {
      id: this.id,
      info: this.info,
      headerXml: this.headerXml,
      timeStamps: this.ts.slice(0, this.n),
      data: this.numeric ? this.numeric.slice(0, this.n * c) : this.strings,
      clockOffsets: this.clockOffsets,
      footer: this.footer,
    };
  }
}

/** Thrown inside chunk decoding; caught by the chunk loop, which records a warning and resyncs. */
class ChunkError extends Error {}

function toBytes(pathOrBytes: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof pathOrBytes === 'string') bytes = readFileSync(pathOrBytes);
  else bytes = pathOrBytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try { return gunzipSync(bytes); } catch (e) {
      throw new XdfError('EXDF_DECOMPRESS', `XDF: gzip-compressed input does not decompress: ${(e as Error).message}`);
    }
  }
  // zlib stream (xdfz written with zlib framing): 0x78 then a check byte.
  if (bytes.length >= 2 && bytes[0] === 0x78 && ((bytes[0] << 8) | bytes[1]) % 31 === 0) {
    try { return inflateSync(bytes); } catch (e) {
      throw new XdfError('EXDF_DECOMPRESS', `XDF: zlib-compressed input does not decompress: ${(e as Error).message}`);
    }
  }
  return bytes;
}

function findBoundary(bytes: Uint8Array, from: number): number {
  const first = BOUNDARY_BYTES[0];
  for (let i = bytes.indexOf(first, from); i >= 0 && i + 16 <= bytes.length; i = bytes.indexOf(first, i + 1)) {
    let ok = true;
    for (let k = 1; k < 16; k++) if (bytes[i + k] !== BOUNDARY_BYTES[k]) { ok = false; break; }
    if (ok) return i;
  }
  return -1;
}

/**
 * Reads an XDF (or gzip/zlib-compressed .xdfz) file from a path or bytes.
 * Throws XdfError EXDF_NOT_XDF when the input is not XDF at all; every recoverable problem
 * becomes a warning in the result instead.
 */
export function readXdf(pathOrBytes: string | Uint8Array, opts: ReadXdfOptions = {}): XdfFile {
  const bytes = toBytes(pathOrBytes);
  const what = typeof pathOrBytes === 'string' ? pathOrBytes : 'input';
  if (bytes.length < 4 || String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) !== MAGIC) {
    throw new XdfError('EXDF_NOT_XDF', `${what} is not an XDF file (it does not start with "XDF:")`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = bytes.length;
  const warnings: string[] = [];
  const streams = new Map<number, StreamAccumulator>();
  const skipped = new Set<number>();
  const unknownStreamWarned = new Set<number>();
  let fileHeader: XmlElement | undefined;

  const readVarlen = (p: number, end: number): [number, number] => {
    if (p >= end) throw new ChunkError('a length runs past the chunk end');
    const w = bytes[p];
    if (w === 1) {
      if (p + 2 > end) throw new ChunkError('a length runs past the chunk end');
      return [bytes[p + 1], p + 2];
    }
    if (w === 4) {
      if (p + 5 > end) throw new ChunkError('a length runs past the chunk end');
      return [view.getUint32(p + 1, true), p + 5];
    }
    if (w === 8) {
      if (p + 9 > end) throw new ChunkError('a length runs past the chunk end');
      const v = view.getBigUint64(p + 1, true);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChunkError(`an 8-byte length ${v} is implausible`);
      return [Number(v), p + 9];
    }
    throw new ChunkError(`a length has width byte ${w} (expected 1, 4 or 8)`);
  };

  const decodeXml = (from: number, to: number, what: string): [string, XmlElement] => {
    const text = utf8.decode(bytes.subarray(from, to));
    try {
      return [text, parseXml(text)];
    } catch (e) {
      throw new ChunkError(`${what} XML does not parse: ${(e as Error).message}`);
    }
  };

  const decodeSamples = (s: StreamAccumulator, p: number, end: number, chunkAt: number, truncated: boolean): void => {
    const [count, p0] = readVarlen(p, end);
    p = p0;
    const c = s.info.channelCount;
    const isString = s.numeric === null;
    // A lower bound on the sample size bounds the reservation, so a corrupted count cannot make us allocate gigabytes.
    const minSample = 1 + (isString ? 2 * c : s.rowBytes);
    s.reserve(Math.min(count, Math.floor((end - p) / minSample) + 1));
    let i = 0;
    for (; i < count; i++) {
      if (p >= end) break;
      const tsBytes = bytes[p];
      let ts: number;
      if (tsBytes === 0) {
        ts = s.lastTimestamp + s.tdiff;
        p += 1;
      } else if (tsBytes === 8) {
        if (p + 9 > end) break;
        ts = view.getFloat64(p + 1, true);
        p += 9;
      } else {
        throw new ChunkError(`samples chunk for stream ${s.id}: sample ${i} has TimeStampBytes ${tsBytes} (expected 0 or 8)`);
      }
      if (isString) {
        const row = new Array<string>(c);
        let ok = true;
        for (let k = 0; k < c; k++) {
          let len: number;
          try { [len, p] = readVarlen(p, end); } catch { ok = false; break; }
          if (p + len > end) { ok = false; break; }
          row[k] = utf8.decode(bytes.subarray(p, p + len));
          p += len;
        }
        if (!ok) break;
        s.reserve(1);
        s.strings.push(row);
      } else {
        const rb = s.rowBytes;
        if (p + rb > end) break;
        s.reserve(1);
        decodeRow(s, p);
        p += rb;
      }
      s.ts[s.n++] = ts;
      s.lastTimestamp = ts;
    }
    if (i < count) {
      const why = truncated ? 'the file ends inside it' : 'its samples run past the chunk end';
      warnings.push(`samples chunk at offset ${chunkAt} (stream ${s.id}): kept ${i} of ${count} samples; ${why}`);
    } else if (p !== end && !truncated) {
      warnings.push(`samples chunk at offset ${chunkAt} (stream ${s.id}): ${end - p} unexpected bytes after ${count} samples`);
    }
  };

  const decodeRow = (s: StreamAccumulator, p: number): void => {
    const c = s.info.channelCount;
    const base = s.n * c;
    if (LITTLE_ENDIAN_HOST) {
      // The file's little-endian values are the host's in-memory layout: a byte copy suffices.
      s.numericBytes!.set(bytes.subarray(p, p + s.rowBytes), base * FORMAT_BYTES[s.info.channelFormat]);
      return;
    }
    const d = s.numeric!;
    for (let k = 0; k < c; k++) {
      switch (s.info.channelFormat) {
        case 'int8': d[base + k] = view.getInt8(p + k); break;
        case 'int16': d[base + k] = view.getInt16(p + 2 * k, true); break;
        case 'int32': d[base + k] = view.getInt32(p + 4 * k, true); break;
        case 'float32': d[base + k] = view.getFloat32(p + 4 * k, true); break;
        case 'double64': d[base + k] = view.getFloat64(p + 8 * k, true); break;
        case 'int64': (d as BigInt64Array)[base + k] = view.getBigInt64(p + 8 * k, true); break;
      }
    }
  };

  const streamFor = (id: number, chunkAt: number, what: string): StreamAccumulator | undefined => {
    const s = streams.get(id);
    if (s || skipped.has(id)) return s;
    if (!unknownStreamWarned.has(id)) {
      unknownStreamWarned.add(id);
      warnings.push(`${what} chunk at offset ${chunkAt} refers to stream ${id}, which has no header before it; its chunks are skipped`);
    }
    return undefined;
  };

  const decodeChunk = (tag: number, p: number, end: number, chunkAt: number, truncated: boolean): void => {
    switch (tag) {
      case Tag.FileHeader: {
        const [, el] = decodeXml(p, end, 'file header');
        if (fileHeader) warnings.push(`second FileHeader chunk at offset ${chunkAt} ignored`);
        else fileHeader = el;
        return;
      }
      case Tag.StreamHeader: {
        if (p + 4 > end) throw new ChunkError('stream header chunk too short for a stream id');
        const id = view.getUint32(p, true);
        const [xml, el] = decodeXml(p + 4, end, `stream ${id} header`);
        if (streams.has(id) || skipped.has(id)) {
          warnings.push(`duplicate StreamHeader for stream ${id} at offset ${chunkAt} ignored`);
          return;
        }
        let info: StreamInfo;
        try {
          info = parseStreamInfo(el);
        } catch (e) {
          throw new ChunkError(`stream ${id} header: ${(e as Error).message}`);
        }
        if (opts.onlyStreams && !opts.onlyStreams(info)) { skipped.add(id); return; }
        streams.set(id, new StreamAccumulator(id, info, xml));
        return;
      }
      case Tag.Samples: {
        if (p + 4 > end) throw new ChunkError('samples chunk too short for a stream id');
        const s = streamFor(view.getUint32(p, true), chunkAt, 'Samples');
        if (s) decodeSamples(s, p + 4, end, chunkAt, truncated);
        return;
      }
      case Tag.ClockOffset: {
        if (end - p !== 20) throw new ChunkError(`clock offset chunk has ${end - p} content bytes (expected 20)`);
        const s = streamFor(view.getUint32(p, true), chunkAt, 'ClockOffset');
        if (s) s.clockOffsets.push({ time: view.getFloat64(p + 4, true), value: view.getFloat64(p + 12, true) });
        return;
      }
      case Tag.Boundary: {
        if (end - p !== 16) throw new ChunkError(`boundary chunk has ${end - p} content bytes (expected 16)`);
        for (let k = 0; k < 16; k++) if (bytes[p + k] !== BOUNDARY_BYTES[k]) throw new ChunkError('boundary chunk with wrong bytes');
        return;
      }
      case Tag.StreamFooter: {
        if (p + 4 > end) throw new ChunkError('stream footer chunk too short for a stream id');
        const s = streamFor(view.getUint32(p, true), chunkAt, 'StreamFooter');
        if (!s) return;
        const [, el] = decodeXml(p + 4, end, `stream ${s.id} footer`);
        s.footer = el;
        return;
      }
      default:
        warnings.push(`unknown chunk tag ${tag} at offset ${chunkAt} skipped`);
    }
  };

  /** After corruption at `at`: continue after the next Boundary chunk, or stop. */
  const resync = (at: number, why: string): number => {
    const b = findBoundary(bytes, at + 1);
    if (b < 0) {
      warnings.push(`${why}; no Boundary chunk follows, so reading stopped there (${size - at} bytes dropped)`);
      return size;
    }
    warnings.push(`${why}; resynchronised at the Boundary chunk ending at offset ${b + 16} (${b + 16 - at} bytes skipped)`);
    return b + 16;
  };

  let pos = 4;
  let chunks = 0;
  while (pos < size) {
    const chunkAt = pos;
    const w = bytes[pos];
    if (w !== 1 && w !== 4 && w !== 8) {
      pos = resync(chunkAt, `corrupt chunk at offset ${chunkAt}: length width byte ${w} (expected 1, 4 or 8)`);
      continue;
    }
    if (pos + 1 + w > size) {
      warnings.push(`file truncated at offset ${chunkAt}: ${size - chunkAt} bytes left, too few for a chunk header`);
      break;
    }
    const len = w === 1 ? bytes[pos + 1] : w === 4 ? view.getUint32(pos + 1, true) : Number(view.getBigUint64(pos + 1, true));
    const tagAt = pos + 1 + w;
    if (len < 2) {
      pos = resync(chunkAt, `corrupt chunk at offset ${chunkAt}: length ${len} is shorter than its tag`);
      continue;
    }
    if (tagAt + 2 > size) {
      warnings.push(`file truncated at offset ${chunkAt}: the chunk header is incomplete`);
      break;
    }
    const tag = view.getUint16(tagAt, true);
    const declaredEnd = tagAt + len;
    let truncated = false;
    let end = declaredEnd;
    if (declaredEnd > size) {
      // Either the file was cut inside this chunk, or the length is corrupt. A Boundary chunk further on means the latter.
      const b = findBoundary(bytes, tagAt);
      if (b >= 0 || tag < Tag.FileHeader || tag > Tag.StreamFooter) {
        pos = resync(chunkAt, `corrupt chunk at offset ${chunkAt}: length ${len} runs past the end of the file (${size} bytes)`);
        continue;
      }
      truncated = true;
      end = size;
    }
    try {
      decodeChunk(tag, tagAt + 2, end, chunkAt, truncated);
    } catch (e) {
      if (!(e instanceof ChunkError)) throw e;
      if (truncated) {
        warnings.push(`file truncated inside the chunk at offset ${chunkAt} (tag ${tag}): ${e.message}`);
        break;
      }
      pos = resync(chunkAt, `corrupt chunk at offset ${chunkAt} (tag ${tag}): ${e.message}`);
      continue;
    }
    if (truncated) {
      warnings.push(`file truncated at offset ${size} inside the chunk at offset ${chunkAt} (tag ${tag}, length ${len})`);
      break;
    }
    chunks++;
    pos = declaredEnd;
  }

  if (!fileHeader) {
    if (chunks === 0 && streams.size === 0) {
      throw new XdfError('EXDF_NOT_XDF', `${what}: no readable chunk after the "XDF:" magic (${warnings.join('; ') || 'empty file'})`);
    }
    warnings.push('no FileHeader chunk found');
  }

  const out = [...streams.values()].map((s) => s.finish());
  if (opts.syncClocks) {
    for (const s of out) {
      if (s.clockOffsets.length > 0 && s.timeStamps.length > 0) syncTimestamps(s.timeStamps, s.clockOffsets);
    }
  }
  return { fileHeader: fileHeader ?? element('info'), streams: out, warnings };
}

/** First stream matching every given criterion. */
export function findStream(file: XdfFile, q: { name?: string; type?: string; id?: number }): XdfStream | undefined {
  return file.streams.find((s) =>
    (q.name === undefined || s.info.name === q.name) &&
    (q.type === undefined || s.info.type === q.type) &&
    (q.id === undefined || s.id === q.id));
}

/** Sample `i`: a typed-array view of its channels for numeric streams (no copy), the string[] for string streams. */
export function sampleRow(stream: XdfStream, i: number): NumericData | string[] {
  const n = stream.timeStamps.length;
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`sample ${i} out of range [0, ${n}) for stream ${stream.id}`);
  if (Array.isArray(stream.data)) return stream.data[i];
  const c = stream.info.channelCount;
  return (stream.data as NumericData).subarray(i * c, (i + 1) * c);
}
