/**
 * LSL sample wire formats (lsl-protocol.md §5.3–5.6): protocol 1.10 (tag, optional timestamp, raw
 * values in the negotiated byte order) and protocol 1.00 (eos portable archive var-ints), plus the
 * test patterns both sides exchange at the start of a feed. Numeric samples travel as numbers
 * (int64 beyond 2^53 loses precision), strings as JS strings (UTF-8 on the wire).
 */
import type { ChannelFormat } from '../stream-info.js';
import { LslError } from './errors.js';

export const DEDUCED_TIMESTAMP = -1.0;
export const TAG_DEDUCED = 1;
export const TAG_TRANSMITTED = 2;
export const TEST_PATTERN_TIMESTAMP = 123456.789;

export const VALUE_SIZE: Record<ChannelFormat, number> = { float32: 4, double64: 8, string: 0, int32: 4, int16: 2, int8: 1, int64: 8 };

export type SampleValues = ArrayLike<number> | readonly string[];

/** The values of test pattern `offset` (4 first, then 2), identical in liblsl 1.12 and 1.17. */
export function testPattern(fmt: ChannelFormat, n: number, offset: number): number[] | string[] {
  const out: (number | string)[] = [];
  for (let k = 0; k < n; k++) {
    const sign = k % 2 === 0 ? 1 : -1;
    switch (fmt) {
      case 'float32': out.push(sign * (k + offset)); break;
      case 'double64': out.push(sign * (k + offset + 16777217)); break;
      case 'int32': out.push(sign * ((k + offset + 65537) % 2147483647)); break;
      case 'int16': out.push(sign * ((k + offset + 257) % 32767)); break;
      case 'int8': out.push(sign * ((k + offset + 1) % 127)); break;
      case 'int64': out.push(sign * (k + offset + 2147483649)); break;
      case 'string': out.push(String(sign * (k + 10))); break;
    }
  }
  return out as number[] | string[];
}

/** Upper bound of the 1.10 encoding of one numeric sample (strings: call stringSampleSize). */
export function numericSampleSize(fmt: ChannelFormat, n: number): number {
  return 1 + 8 + n * VALUE_SIZE[fmt];
}

export function stringSampleSize(values: readonly string[]): number {
  let s = 1 + 8;
  for (const v of values) {
    const len = Buffer.byteLength(v, 'utf8');
    s += 1 + (len <= 0xff ? 1 : len <= 0xffffffff ? 4 : 8) + len;
  }
  return s;
}

/** Writes one protocol-1.10 sample at `off`; returns the end offset. `buf` must be large enough. */
export function encodeSample110(buf: Buffer, off: number, fmt: ChannelFormat, values: SampleValues, timestamp: number, le = true): number {
  if (timestamp === DEDUCED_TIMESTAMP) buf[off++] = TAG_DEDUCED;
  else {
    buf[off++] = TAG_TRANSMITTED;
    off = le ? buf.writeDoubleLE(timestamp, off) : buf.writeDoubleBE(timestamp, off);
  }
  const n = values.length;
  switch (fmt) {
    case 'float32': for (let k = 0; k < n; k++) off = le ? buf.writeFloatLE(values[k] as number, off) : buf.writeFloatBE(values[k] as number, off); break;
    case 'double64': for (let k = 0; k < n; k++) off = le ? buf.writeDoubleLE(values[k] as number, off) : buf.writeDoubleBE(values[k] as number, off); break;
    case 'int32': for (let k = 0; k < n; k++) off = le ? buf.writeInt32LE(clampInt(values[k] as number, 2147483647), off) : buf.writeInt32BE(clampInt(values[k] as number, 2147483647), off); break;
    case 'int16': for (let k = 0; k < n; k++) off = le ? buf.writeInt16LE(clampInt(values[k] as number, 32767), off) : buf.writeInt16BE(clampInt(values[k] as number, 32767), off); break;
    case 'int8': for (let k = 0; k < n; k++) off = buf.writeInt8(clampInt(values[k] as number, 127), off); break;
    case 'int64': for (let k = 0; k < n; k++) {
      const v = BigInt(Math.trunc(values[k] as number));
      off = le ? buf.writeBigInt64LE(v, off) : buf.writeBigInt64BE(v, off);
    } break;
    case 'string': for (let k = 0; k < n; k++) {
      const s = String(values[k]);
      const len = Buffer.byteLength(s, 'utf8');
      if (len <= 0xff) { buf[off++] = 1; buf[off++] = len; }
      else { buf[off++] = 4; off = le ? buf.writeUInt32LE(len, off) : buf.writeUInt32BE(len, off); }
      off += buf.write(s, off, 'utf8');
    } break;
  }
  return off;
}

function clampInt(v: number, max: number): number {
  // Round like a C cast would truncate, but saturate instead of wrapping: a wrapped count is a silent wrong value.
  const t = Math.trunc(v);
  return t > max ? max : t < -max - 1 ? -max - 1 : Number.isNaN(t) ? 0 : t;
}

/**
 * Incremental decoder of protocol-1.10 samples: `decode` reads one sample from `buf[off..end)` into
 * `out` and returns the end offset, or -1 when the sample is not complete yet. Throws LslError on
 * corruption (unknown tag, bad string length size).
 */
export class Sample110Decoder {
  /** The last decoded timestamp (DEDUCED_TIMESTAMP when the sample carried none). */
  timestamp = 0;
  readonly numbers: Float64Array;
  readonly strings: string[];
  private readonly size: number;
  constructor(readonly fmt: ChannelFormat, readonly n: number, readonly le: boolean) {
    this.numbers = new Float64Array(fmt === 'string' ? 0 : n);
    this.strings = fmt === 'string' ? new Array<string>(n).fill('') : [];
    this.size = VALUE_SIZE[fmt];
  }
  decode(buf: Buffer, off: number, end: number): number {
    if (off >= end) return -1;
    const tag = buf[off];
    let p = off + 1;
    if (tag === TAG_TRANSMITTED) {
      if (p + 8 > end) return -1;
      this.timestamp = this.le ? buf.readDoubleLE(p) : buf.readDoubleBE(p);
      p += 8;
    } else if (tag === TAG_DEDUCED) this.timestamp = DEDUCED_TIMESTAMP;
    else throw new LslError('ELSLPROTO', `corrupt sample: tag byte 0x${tag.toString(16)} (expected 1 or 2)`);
    const n = this.n, le = this.le, out = this.numbers;
    if (this.fmt !== 'string') {
      if (p + n * this.size > end) return -1;
      switch (this.fmt) {
        case 'float32': for (let k = 0; k < n; k++, p += 4) out[k] = le ? buf.readFloatLE(p) : buf.readFloatBE(p); break;
        case 'double64': for (let k = 0; k < n; k++, p += 8) out[k] = le ? buf.readDoubleLE(p) : buf.readDoubleBE(p); break;
        case 'int32': for (let k = 0; k < n; k++, p += 4) out[k] = le ? buf.readInt32LE(p) : buf.readInt32BE(p); break;
        case 'int16': for (let k = 0; k < n; k++, p += 2) out[k] = le ? buf.readInt16LE(p) : buf.readInt16BE(p); break;
        case 'int8': for (let k = 0; k < n; k++, p += 1) out[k] = buf.readInt8(p); break;
        case 'int64': for (let k = 0; k < n; k++, p += 8) out[k] = Number(le ? buf.readBigInt64LE(p) : buf.readBigInt64BE(p)); break;
      }
      return p;
    }
    for (let k = 0; k < n; k++) {
      if (p >= end) return -1;
      const lb = buf[p++];
      if (lb !== 1 && lb !== 2 && lb !== 4 && lb !== 8) throw new LslError('ELSLPROTO', `corrupt string sample: length size ${lb} (expected 1, 2, 4 or 8)`);
      if (p + lb > end) return -1;
      let len: number;
      if (lb === 1) len = buf[p];
      else if (lb === 2) len = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
      else if (lb === 4) len = le ? buf.readUInt32LE(p) : buf.readUInt32BE(p);
      else len = Number(le ? buf.readBigUInt64LE(p) : buf.readBigUInt64BE(p));
      p += lb;
      if (len > 64 * 1024 * 1024) throw new LslError('ELSLPROTO', `corrupt string sample: length ${len} exceeds 64 MiB`);
      if (p + len > end) return -1;
      this.strings[k] = buf.toString('utf8', p, p + len);
      p += len;
    }
    return p;
  }
}

// ---- protocol 1.00: eos portable archive ----

/** Archive header: magic signed char 127, then archive version 9 as a var-int. */
export const ARCHIVE_HEADER = Buffer.from([0x7f, 0x01, 0x09]);

/** Writes a signed integer var-int (size byte, then |size| LE bytes). */
export function writeVarInt(out: number[], v: bigint): void {
  if (v === 0n) { out.push(0); return; }
  const bytes: number[] = [];
  let x = v;
  if (v > 0n) {
    while (x !== 0n) { bytes.push(Number(x & 0xffn)); x >>= 8n; }
    out.push(bytes.length, ...bytes);
  } else {
    // At least one byte: -1 is written FF FF, not as a bare size.
    do { bytes.push(Number(x & 0xffn)); x >>= 8n; } while (x !== -1n);
    out.push((256 - bytes.length) & 0xff, ...bytes);
  }
}

const scratch = Buffer.alloc(8);
function floatBits(fmt: 'float32' | 'double64', v: number): bigint {
  if (fmt === 'float32') { scratch.writeFloatLE(v, 0); return BigInt(scratch.readUInt32LE(0)); }
  scratch.writeDoubleLE(v, 0);
  return scratch.readBigUInt64LE(0);
}

/** One protocol-1.00 sample; `first` adds the two class-info bytes Boost writes before the first object. */
export function encodeSample100(fmt: ChannelFormat, values: SampleValues, timestamp: number, first: boolean): Buffer {
  const out: number[] = first ? [0, 0] : [];
  if (timestamp === DEDUCED_TIMESTAMP) writeVarInt(out, 1n);
  else { writeVarInt(out, 2n); writeVarInt(out, floatBits('double64', timestamp)); }
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    switch (fmt) {
      case 'float32': case 'double64': writeVarInt(out, floatBits(fmt, v as number)); break;
      case 'int8': { const c = clampInt(v as number, 127); out.push(c < 0 ? 0xff : 1, c & 0xff); break; }
      case 'int16': writeVarInt(out, BigInt(clampInt(v as number, 32767))); break;
      case 'int32': writeVarInt(out, BigInt(clampInt(v as number, 2147483647))); break;
      case 'int64': writeVarInt(out, BigInt(Math.trunc(v as number))); break;
      case 'string': { const b = Buffer.from(String(v), 'utf8'); writeVarInt(out, BigInt(b.length)); for (const x of b) out.push(x); break; }
    }
  }
  return Buffer.from(out);
}

export function encodeArchiveString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const head: number[] = [];
  writeVarInt(head, BigInt(b.length));
  return Buffer.concat([Buffer.from(head), b]);
}

/** Reads a var-int at p into `scratch` (sign-extended to 8 bytes); returns the end offset or -1 if incomplete. */
function readVarInt(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const s = (buf[p] << 24) >> 24;
  const n = Math.abs(s);
  if (n > 8) throw new LslError('ELSLPROTO', `corrupt 1.00 archive: var-int size ${s}`);
  if (p + 1 + n > end) return -1;
  scratch.fill(s < 0 ? 0xff : 0);
  buf.copy(scratch, 0, p + 1, p + 1 + n);
  return p + 1 + n;
}

/** Incremental decoder of a protocol-1.00 feed after the archive header: samples with var-int fields. */
export class Sample100Decoder {
  timestamp = 0;
  readonly numbers: Float64Array;
  readonly strings: string[];
  private first = true;
  constructor(readonly fmt: ChannelFormat, readonly n: number) {
    this.numbers = new Float64Array(fmt === 'string' ? 0 : n);
    this.strings = fmt === 'string' ? new Array<string>(n).fill('') : [];
  }
  /** The shortinfo string that precedes the samples. Returns [xml, end] or undefined if incomplete. */
  static decodeString(buf: Buffer, off: number, end: number): [string, number] | undefined {
    const p = readVarInt(buf, off, end);
    if (p < 0) return undefined;
    const len = Number(scratch.readBigInt64LE(0));
    if (len < 0 || len > 16 * 1024 * 1024) throw new LslError('ELSLPROTO', `corrupt 1.00 archive: string length ${len}`);
    if (p + len > end) return undefined;
    return [buf.toString('utf8', p, p + len), p + len];
  }
  decode(buf: Buffer, off: number, end: number): number {
    let p = off;
    if (this.first) { if (p + 2 > end) return -1; p += 2; }
    p = readVarInt(buf, p, end);
    if (p < 0) return -1;
    const tag = scratch.readInt32LE(0);
    if (tag === TAG_TRANSMITTED) {
      p = readVarInt(buf, p, end);
      if (p < 0) return -1;
      this.timestamp = scratch.readDoubleLE(0);
    } else if (tag === TAG_DEDUCED) this.timestamp = DEDUCED_TIMESTAMP;
    else throw new LslError('ELSLPROTO', `corrupt 1.00 sample: tag ${tag}`);
    for (let k = 0; k < this.n; k++) {
      p = readVarInt(buf, p, end);
      if (p < 0) return -1;
      switch (this.fmt) {
        case 'float32': this.numbers[k] = scratch.readFloatLE(0); break;
        case 'double64': this.numbers[k] = scratch.readDoubleLE(0); break;
        case 'int8': this.numbers[k] = scratch.readInt8(0); break;
        case 'int16': this.numbers[k] = scratch.readInt16LE(0); break;
        case 'int32': this.numbers[k] = scratch.readInt32LE(0); break;
        case 'int64': this.numbers[k] = Number(scratch.readBigInt64LE(0)); break;
        case 'string': {
          const len = Number(scratch.readBigInt64LE(0));
          if (len < 0 || len > 64 * 1024 * 1024) throw new LslError('ELSLPROTO', `corrupt 1.00 string: length ${len}`);
          if (p + len > end) return -1;
          this.strings[k] = buf.toString('utf8', p, p + len);
          p += len;
        }
      }
    }
    this.first = false;
    return p;
  }
}

/** Exact comparison of a decoded sample with a test pattern (liblsl compares timestamp and values exactly). */
export function matchesTestPattern(fmt: ChannelFormat, n: number, offset: number, ts: number, numbers: Float64Array, strings: readonly string[]): boolean {
  if (ts !== TEST_PATTERN_TIMESTAMP) return false;
  const want = testPattern(fmt, n, offset);
  for (let k = 0; k < n; k++) {
    if (fmt === 'string' ? strings[k] !== want[k] : numbers[k] !== Math.fround(want[k] as number) && numbers[k] !== want[k]) return false;
  }
  return true;
}
