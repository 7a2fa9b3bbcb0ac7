/**
 * The protobuf messages of proto/langevind.proto in two implementations:
 *
 * - protobufjs, loaded at run time from the .proto (dist/proto/langevind.proto): the reference,
 *   used by tests and anywhere allocation does not matter;
 * - hand-rolled readers and writers for the real-time path, which decode into preallocated
 *   objects and encode into a reused buffer, allocating nothing per message once warmed up.
 *
 * Encoding is canonical proto3 (fields in number order, default values omitted, repeated
 * scalars packed), so it is byte-identical to what Python's protobuf produces. uint64 fields
 * decode as JS numbers (exact up to 2^53): protobufjs is configured without Long below.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Decoded, SpikeBin } from './types.js';

// protobufjs is CommonJS; require() keeps its namespace intact under NodeNext.
const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof import('protobufjs');

export class ProtoError extends Error {
  readonly code = 'EPROTO';
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

/** Path of the .proto next to the compiled code (scripts/build.mjs copies proto/ to dist/proto/). */
export const PROTO_PATH = fileURLToPath(new URL('../proto/langevind.proto', import.meta.url));

/** Largest channel count a SpikeBin may carry; bigger messages are refused before allocating. */
export const MAX_CHANNELS = 65536;

let root: import('protobufjs').Root | undefined;

/** protobufjs types for langevind.v1.SpikeBin, Decoded and TaskState. */
export function protoTypes(): { SpikeBin: import('protobufjs').Type; Decoded: import('protobufjs').Type; TaskState: import('protobufjs').Type } {
  if (!root) {
    // Without Long, protobufjs reads 64-bit integers as JS numbers; make that explicit rather than
    // depend on whether the `long` package happens to be installed.
    (protobuf.util as { Long: unknown }).Long = null;
    protobuf.configure();
    root = protobuf.loadSync(PROTO_PATH);
  }
  return { SpikeBin: root.lookupType('langevind.v1.SpikeBin'), Decoded: root.lookupType('langevind.v1.Decoded'), TaskState: root.lookupType('langevind.v1.TaskState') };
}

const TO_OBJECT = { longs: Number, defaults: true, arrays: true } as const;

/** Reference encoder (protobufjs). */
export function pbEncodeSpikeBin(bin: Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>): Uint8Array {
  const { SpikeBin: T } = protoTypes();
  return T.encode(T.create({ seq: bin.seq, timestamp: bin.timestamp, counts: Array.from(bin.counts), binMs: bin.binMs, streamId: bin.streamId })).finish();
}

/** Reference decoder (protobufjs); throws ProtoError. */
export function pbDecodeSpikeBin(bytes: Uint8Array): SpikeBin {
  const { SpikeBin: T } = protoTypes();
  let o: Record<string, unknown>;
  try {
    o = T.toObject(T.decode(bytes), TO_OBJECT);
  } catch (err) {
    throw new ProtoError(`SpikeBin: ${(err as Error).message}`);
  }
  return { seq: o.seq as number, timestamp: o.timestamp as number, counts: Float64Array.from(o.counts as number[]), binMs: o.binMs as number, streamId: o.streamId as string, receivedNs: 0, receivedLslTime: 0 };
}

export function pbEncodeDecoded(d: Decoded): Uint8Array {
  const { Decoded: T } = protoTypes();
  return T.encode(T.create({
    seq: d.seq, timestamp: d.timestamp, velocity: Array.from(d.velocity),
    receivedNs: Math.floor(d.receivedNs), decodedNs: Math.floor(d.decodedNs), sentNs: Math.floor(d.sentNs),
    modelId: d.modelId, streamId: d.streamId ?? '',
  })).finish();
}

export function pbDecodeDecoded(bytes: Uint8Array): Decoded {
  const { Decoded: T } = protoTypes();
  let o: Record<string, unknown>;
  try {
    o = T.toObject(T.decode(bytes), TO_OBJECT);
  } catch (err) {
    throw new ProtoError(`Decoded: ${(err as Error).message}`);
  }
  return {
    seq: o.seq as number, timestamp: o.timestamp as number, velocity: Float32Array.from(o.velocity as number[]),
    // receivedLslTime is not on the wire (Decoded carries the daemon's monotonic stamps only).
    receivedNs: o.receivedNs as number, receivedLslTime: 0, decodedNs: o.decodedNs as number, sentNs: o.sentNs as number,
    modelId: o.modelId as string, streamId: o.streamId as string,
  };
}

/** The task's state (proto TaskState); off the daemon's bin path, so protobufjs is the only codec. */
export interface TaskState {
  seq: number;
  /** [x, y]. */
  cursor: number[];
  /** [x, y], or empty while no target is shown. */
  target: number[];
  targetRadius: number;
  /** "iti", "target_on", "hold", "success", "timeout", "aborted". */
  state: string;
  trial: number;
  timestamp: number;
}

export function encodeTaskState(s: TaskState): Uint8Array {
  const { TaskState: T } = protoTypes();
  return T.encode(T.create({ seq: s.seq, cursor: s.cursor, target: s.target, targetRadius: s.targetRadius, state: s.state, trial: s.trial, timestamp: s.timestamp })).finish();
}

/** Throws ProtoError on bytes that are not a TaskState. */
export function decodeTaskState(bytes: Uint8Array): TaskState {
  const { TaskState: T } = protoTypes();
  let o: Record<string, unknown>;
  try {
    o = T.toObject(T.decode(bytes), TO_OBJECT);
  } catch (err) {
    throw new ProtoError(`TaskState: ${(err as Error).message}`);
  }
  return {
    seq: o.seq as number, cursor: o.cursor as number[], target: o.target as number[], targetRadius: o.targetRadius as number,
    state: o.state as string, trial: o.trial as number, timestamp: o.timestamp as number,
  };
}

// ---------------------------------------------------------------------------------------------
// Hand-rolled codec.

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A reusable output buffer; views of each length are cached so a steady stream allocates nothing. */
class Scratch {
  buf: Buffer;
  view: DataView;
  private views = new Map<number, Buffer>();
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  ensure(size: number): void {
    if (size <= this.buf.length) return;
    this.buf = Buffer.alloc(Math.max(size, this.buf.length * 2));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.views.clear();
  }
  slice(len: number): Buffer {
    let v = this.views.get(len);
    if (!v) {
      v = this.buf.subarray(0, len);
      this.views.set(len, v);
    }
    return v;
  }
}

/** Caches the UTF-8 bytes of the last string written (model_id and stream_id rarely change). */
class StringBytes {
  private s = '';
  bytes: Uint8Array = new Uint8Array(0);
  get(s: string): Uint8Array {
    if (s !== this.s) {
      this.s = s;
      this.bytes = utf8.encode(s);
    }
    return this.bytes;
  }
}

function writeVarint(buf: Buffer, p: number, v: number): number {
  while (v >= 128) {
    buf[p++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[p++] = v;
  return p;
}

/** Non-negative integer for a uint64 field (monotonic stamps are fractional doubles). */
function u64(v: number): number {
  return v > 0 && v < 18446744073709552000 ? Math.floor(v) : 0;
}

/**
 * Encodes SpikeBins into a reused buffer. The returned Buffer is a view that stays valid until the
 * next encode() on this writer.
 */
export class SpikeBinWriter {
  private s = new Scratch(256);
  private sid = new StringBytes();

  encode(bin: Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>): Buffer {
    const counts = bin.counts;
    const n = counts.length;
    let packed = 0;
    for (let i = 0; i < n; i++) packed += varintSize(counts[i] >>> 0);
    const sid = this.sid.get(bin.streamId);
    this.s.ensure(11 + 9 + 1 + 5 + packed + 9 + 1 + 5 + sid.length);
    const b = this.s.buf;
    let p = 0;
    if (bin.seq !== 0) {
      b[p++] = 0x08;
      p = writeVarint(b, p, u64(bin.seq));
    }
    if (bin.timestamp !== 0) {
      b[p++] = 0x11;
      this.s.view.setFloat64(p, bin.timestamp, true);
      p += 8;
    }
    if (n > 0) {
      b[p++] = 0x1a;
      p = writeVarint(b, p, packed);
      for (let i = 0; i < n; i++) {
        let v = counts[i] >>> 0;
        while (v >= 128) {
          b[p++] = (v & 127) | 128;
          v >>>= 7;
        }
        b[p++] = v;
      }
    }
    if (bin.binMs !== 0) {
      b[p++] = 0x21;
      this.s.view.setFloat64(p, bin.binMs, true);
      p += 8;
    }
    if (sid.length > 0) {
      b[p++] = 0x2a;
      p = writeVarint(b, p, sid.length);
      b.set(sid, p);
      p += sid.length;
    }
    return this.s.slice(p);
  }
}

/** Encodes Decoded messages into a reused buffer (view valid until the next encode()). */
export class DecodedWriter {
  private s = new Scratch(128);
  private mid = new StringBytes();
  private sid = new StringBytes();

  encode(d: Decoded): Buffer {
    const vel = d.velocity;
    const k = vel.length;
    const mid = this.mid.get(d.modelId);
    const sid = this.sid.get(d.streamId ?? '');
    this.s.ensure(11 + 9 + 6 + 4 * k + 33 + 6 + mid.length + 6 + sid.length);
    const b = this.s.buf;
    const dv = this.s.view;
    let p = 0;
    if (d.seq !== 0) {
      b[p++] = 0x08;
      p = writeVarint(b, p, u64(d.seq));
    }
    if (d.timestamp !== 0) {
      b[p++] = 0x11;
      dv.setFloat64(p, d.timestamp, true);
      p += 8;
    }
    if (k > 0) {
      b[p++] = 0x1a;
      p = writeVarint(b, p, 4 * k);
      for (let i = 0; i < k; i++, p += 4) dv.setFloat32(p, vel[i], true);
    }
    const r = u64(d.receivedNs), dn = u64(d.decodedNs), s = u64(d.sentNs);
    if (r !== 0) {
      b[p++] = 0x20;
      p = writeVarint(b, p, r);
    }
    if (dn !== 0) {
      b[p++] = 0x28;
      p = writeVarint(b, p, dn);
    }
    if (s !== 0) {
      b[p++] = 0x30;
      p = writeVarint(b, p, s);
    }
    if (mid.length > 0) {
      b[p++] = 0x3a;
      p = writeVarint(b, p, mid.length);
      b.set(mid, p);
      p += mid.length;
    }
    if (sid.length > 0) {
      b[p++] = 0x42;
      p = writeVarint(b, p, sid.length);
      b.set(sid, p);
      p += sid.length;
    }
    return this.s.slice(p);
  }
}

/**
 * Reading state over one message. Errors are reported by returning a constant message string (no
 * Error allocated on a flood of garbage).
 */
/** 8 scratch bytes viewed as a double and a float: reads fixed-width fields without a DataView per message. */
const SCRATCH = new ArrayBuffer(8);
const SCRATCH_U8 = new Uint8Array(SCRATCH);
const SCRATCH_F64 = new Float64Array(SCRATCH);
const SCRATCH_F32 = new Float32Array(SCRATCH);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class Cursor {
  b!: Uint8Array;
  p = 0;
  end = 0;
  err: string | null = null;

  reset(b: Uint8Array): void {
    this.b = b;
    this.p = 0;
    this.end = b.length;
    this.err = null;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.p >= this.end) {
        this.err = 'truncated varint';
        return 0;
      }
      const byte = this.b[this.p++];
      result += (byte & 127) * mul;
      if (byte < 128) return result;
      mul *= 128;
    }
    this.err = 'varint longer than 10 bytes';
    return 0;
  }
  /** Copies n little-endian bytes into the scratch in host order. */
  private fixed(n: number): boolean {
    if (this.p + n > this.end) {
      this.err = n === 8 ? 'truncated double' : 'truncated float';
      return false;
    }
    const b = this.b, p = this.p;
    if (LITTLE_ENDIAN) for (let i = 0; i < n; i++) SCRATCH_U8[i] = b[p + i];
    else for (let i = 0; i < n; i++) SCRATCH_U8[n - 1 - i] = b[p + i];
    this.p += n;
    return true;
  }
  double(): number {
    return this.fixed(8) ? SCRATCH_F64[0] : 0;
  }
  float(): number {
    return this.fixed(4) ? SCRATCH_F32[0] : 0;
  }
  /** Length of a length-delimited field; checks it fits. */
  len(): number {
    const n = this.varint();
    if (this.err) return 0;
    if (n > this.end - this.p) {
      this.err = 'length-delimited field runs past the end';
      return 0;
    }
    return n;
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.p + 8 > this.end) this.err = 'truncated fixed64';
        else this.p += 8;
        return;
      case 2: {
        const n = this.len();
        this.p += n;
        return;
      }
      case 5:
        if (this.p + 4 > this.end) this.err = 'truncated fixed32';
        else this.p += 4;
        return;
      default:
        this.err = `unsupported wire type ${wireType}`;
    }
  }
}

/** Decodes the UTF-8 of a string field, reusing the last string when the bytes are the same. */
class StringReader {
  private last = new Uint8Array(0);
  private lastS = '';
  read(b: Uint8Array, start: number, n: number): string | null {
    const last = this.last;
    if (n === last.length) {
      let same = true;
      for (let i = 0; i < n; i++) if (b[start + i] !== last[i]) { same = false; break; }
      if (same) return this.lastS;
    }
    try {
      this.lastS = utf8d.decode(b.subarray(start, start + n));
    } catch {
      return null;
    }
    this.last = b.slice(start, start + n);
    return this.lastS;
  }
}

/** Typed-array storage with cached views per length, so decoding a steady stream allocates nothing. */
class Store<T extends Float64Array | Float32Array> {
  private views = new Map<number, T>();
  constructor(public buf: T, private readonly make: (n: number) => T) {}
  ensure(n: number): void {
    if (n <= this.buf.length) return;
    this.buf = this.make(Math.max(n, this.buf.length * 2));
    this.views.clear();
  }
  view(n: number): T {
    let v = this.views.get(n);
    if (!v) {
      v = this.buf.subarray(0, n) as T;
      if (this.views.size < 64) this.views.set(n, v);
    }
    return v;
  }
}

export function newSpikeBin(): SpikeBin {
  return { seq: 0, timestamp: 0, counts: new Float64Array(0), binMs: 0, streamId: '', receivedNs: 0, receivedLslTime: 0 };
}

export function newDecoded(k = 0): Decoded {
  return { seq: 0, timestamp: 0, velocity: new Float32Array(k), receivedNs: 0, receivedLslTime: 0, decodedNs: 0, sentNs: 0, modelId: '', streamId: '' };
}

/**
 * Decodes SpikeBin messages into a caller-owned object. `counts` becomes a view of this reader's
 * storage (valid until the next read). Accepts packed and unpacked counts and skips unknown fields,
 * as every proto3 parser must.
 */
export class SpikeBinReader {
  private c = new Cursor();
  private counts = new Store(new Float64Array(256), (n) => new Float64Array(n));
  private sid = new StringReader();

  /** null on success, else what is wrong with the message. `into.receivedNs` is left alone. */
  read(bytes: Uint8Array, into: SpikeBin): string | null {
    const c = this.c;
    c.reset(bytes);
    let seq = 0, timestamp = 0, binMs = 0, streamId = '', n = 0;
    while (c.p < c.end) {
      const tag = c.varint();
      if (c.err) return c.err;
      const field = Math.floor(tag / 8), wt = tag & 7;
      if (field === 1 && wt === 0) seq = c.varint();
      else if (field === 2 && wt === 1) timestamp = c.double();
      else if (field === 3 && wt === 2) {
        const len = c.len();
        if (c.err) return c.err;
        const stop = c.p + len;
        if (n + len > MAX_CHANNELS) return `more than ${MAX_CHANNELS} counts`;
        this.counts.ensure(n + len);
        const buf = this.counts.buf;
        while (c.p < stop) {
          buf[n++] = c.varint() % 4294967296;
          if (c.err) return c.err;
        }
        if (c.p !== stop) return 'packed counts overrun their length';
      } else if (field === 3 && wt === 0) {
        if (n + 1 > MAX_CHANNELS) return `more than ${MAX_CHANNELS} counts`;
        this.counts.ensure(n + 1);
        this.counts.buf[n++] = c.varint() % 4294967296;
      } else if (field === 4 && wt === 1) binMs = c.double();
      else if (field === 5 && wt === 2) {
        const len = c.len();
        if (c.err) return c.err;
        const s = this.sid.read(c.b, c.p, len);
        if (s === null) return 'stream_id is not valid UTF-8';
        streamId = s;
        c.p += len;
      } else if (field === 0) return 'field number 0';
      else if (field <= 5) return `field ${field} has wire type ${wt}`;
      else c.skip(wt);
      if (c.err) return c.err;
    }
    into.seq = seq;
    into.timestamp = timestamp;
    into.counts = this.counts.view(n);
    into.binMs = binMs;
    into.streamId = streamId;
    return null;
  }
}

/** Decodes Decoded messages into a caller-owned object (`velocity` is a view, valid until the next read). */
export class DecodedReader {
  private c = new Cursor();
  private vel = new Store(new Float32Array(16), (n) => new Float32Array(n));
  private mid = new StringReader();
  private sid = new StringReader();

  read(bytes: Uint8Array, into: Decoded): string | null {
    const c = this.c;
    c.reset(bytes);
    let seq = 0, timestamp = 0, r = 0, dn = 0, s = 0, modelId = '', streamId = '', n = 0;
    while (c.p < c.end) {
      const tag = c.varint();
      if (c.err) return c.err;
      const field = Math.floor(tag / 8), wt = tag & 7;
      if (field === 1 && wt === 0) seq = c.varint();
      else if (field === 2 && wt === 1) timestamp = c.double();
      else if (field === 3 && wt === 2) {
        const len = c.len();
        if (c.err) return c.err;
        if (len % 4 !== 0) return 'packed velocity length is not a multiple of 4';
        this.vel.ensure(n + len / 4);
        const stop = c.p + len;
        while (c.p < stop) this.vel.buf[n++] = c.float();
      } else if (field === 3 && wt === 5) {
        this.vel.ensure(n + 1);
        this.vel.buf[n++] = c.float();
      } else if (field === 4 && wt === 0) r = c.varint();
      else if (field === 5 && wt === 0) dn = c.varint();
      else if (field === 6 && wt === 0) s = c.varint();
      else if ((field === 7 || field === 8) && wt === 2) {
        const len = c.len();
        if (c.err) return c.err;
        const str = (field === 7 ? this.mid : this.sid).read(c.b, c.p, len);
        if (str === null) return `field ${field} is not valid UTF-8`;
        if (field === 7) modelId = str;
        else streamId = str;
        c.p += len;
      } else if (field === 0) return 'field number 0';
      else if (field <= 8) return `field ${field} has wire type ${wt}`;
      else c.skip(wt);
      if (c.err) return c.err;
    }
    into.seq = seq;
    into.timestamp = timestamp;
    into.velocity = this.vel.view(n);
    into.receivedNs = r;
    into.decodedNs = dn;
    into.sentNs = s;
    into.modelId = modelId;
    into.streamId = streamId;
    return null;
  }
}

// Convenience functions (fresh results; use the classes above on the real-time path).

const sbWriter = new SpikeBinWriter();
const dWriter = new DecodedWriter();

/** Canonical proto3 bytes of a SpikeBin (a fresh copy). */
export function encodeSpikeBin(bin: Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>): Uint8Array {
  return new Uint8Array(sbWriter.encode(bin));
}

/** Decodes into `into` (counts then belong to `into`: a fresh array) or a new SpikeBin; throws ProtoError. */
export function decodeSpikeBin(bytes: Uint8Array, into: SpikeBin = newSpikeBin()): SpikeBin {
  const err = new SpikeBinReader().read(bytes, into);
  if (err) throw new ProtoError(`SpikeBin: ${err}`);
  return into;
}

export function encodeDecoded(d: Decoded): Uint8Array {
  return new Uint8Array(dWriter.encode(d));
}

export function decodeDecoded(bytes: Uint8Array, into: Decoded = newDecoded()): Decoded {
  const err = new DecodedReader().read(bytes, into);
  if (err) throw new ProtoError(`Decoded: ${err}`);
  return into;
}
