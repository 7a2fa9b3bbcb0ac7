/**
 * Sample encoding shared by the whole-file writer and the live writer: a growable byte buffer
 * and the per-sample layout of a Samples chunk (TimeStampBytes, timestamp, channel values).
 */
import type { ChannelFormat } from '../stream-info.js';
import { FORMAT_BYTES } from './format.js';

const textEncoder = new TextEncoder();

export class ByteBuf {
  u8: Uint8Array;
  view: DataView;
  len = 0;
  constructor(capacity = 1 << 16) {
    this.u8 = new Uint8Array(capacity);
    this.view = new DataView(this.u8.buffer);
  }
  /** Makes room for `n` more bytes; returns false (and leaves the buffer alone) if that would pass `max`. */
  ensure(n: number, max = Infinity): boolean {
    const need = this.len + n;
    if (need <= this.u8.length) return true;
    if (need > max) return false;
    let cap = Math.max(this.u8.length * 2, 1024);
    while (cap < need) cap *= 2;
    cap = Math.min(cap, Math.max(max, need));
    const u8 = new Uint8Array(cap);
    u8.set(this.u8.subarray(0, this.len));
    this.u8 = u8;
    this.view = new DataView(u8.buffer);
    return true;
  }
  bytes(): Uint8Array {
    return this.u8.slice(0, this.len);
  }
}

/** Upper bound on the encoded size of one sample (string lengths in UTF-16 units). */
export function maxSampleBytes(format: ChannelFormat, channels: number, values?: ArrayLike<number> | readonly string[]): number {
  if (format !== 'string') return 9 + FORMAT_BYTES[format] * channels;
  let n = 9;
  const v = values as readonly string[];
  for (let k = 0; k < channels; k++) n += 9 + 3 * v[k].length;
  return n;
}

/**
 * Appends one sample to `b` (which must have room, see maxSampleBytes). `deduced` writes
 * TimeStampBytes 0, else 8 and the f64 stamp. Numbers are converted as DataView does
 * (integers wrap, fractions truncate); int64 takes numbers or bigints.
 */
export function putSample(
  b: ByteBuf, format: ChannelFormat, channels: number, ts: number, deduced: boolean,
  values: ArrayLike<number> | ArrayLike<bigint> | readonly string[], offset = 0,
): void {
  const view = b.view;
  let p = b.len;
  if (deduced) {
    b.u8[p++] = 0;
  } else {
    b.u8[p] = 8;
    view.setFloat64(p + 1, ts, true);
    p += 9;
  }
  switch (format) {
    case 'float32': {
      const v = values as ArrayLike<number>;
      for (let k = 0; k < channels; k++, p += 4) view.setFloat32(p, v[offset + k], true);
      break;
    }
    case 'double64': {
      const v = values as ArrayLike<number>;
      for (let k = 0; k < channels; k++, p += 8) view.setFloat64(p, v[offset + k], true);
      break;
    }
    case 'int16': {
      const v = values as ArrayLike<number>;
      for (let k = 0; k < channels; k++, p += 2) view.setInt16(p, v[offset + k], true);
      break;
    }
    case 'int32': {
      const v = values as ArrayLike<number>;
      for (let k = 0; k < channels; k++, p += 4) view.setInt32(p, v[offset + k], true);
      break;
    }
    case 'int8': {
      const v = values as ArrayLike<number>;
      for (let k = 0; k < channels; k++, p += 1) view.setInt8(p, v[offset + k]);
      break;
    }
    case 'int64': {
      const v = values as ArrayLike<number | bigint>;
      for (let k = 0; k < channels; k++, p += 8) {
        const x = v[offset + k];
        view.setBigInt64(p, typeof x === 'bigint' ? x : BigInt(Math.trunc(x)), true);
      }
      break;
    }
    case 'string': {
      const v = values as readonly string[];
      for (let k = 0; k < channels; k++) {
        const s = v[offset + k];
        // Encode as if the length fits one byte (LabRecorder's varlen form); move the bytes if it does not.
        const { written } = textEncoder.encodeInto(s, b.u8.subarray(p + 2));
        if (written < 256) {
          b.u8[p] = 1;
          b.u8[p + 1] = written;
          p += 2 + written;
        } else {
          b.u8.copyWithin(p + 5, p + 2, p + 2 + written);
          b.u8[p] = 4;
          view.setUint32(p + 1, written, true);
          p += 5 + written;
        }
      }
      break;
    }
  }
  b.len = p;
}
