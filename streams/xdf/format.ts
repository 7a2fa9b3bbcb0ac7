/**
 * XDF constants and the byte encoding shared by the reader and the writers
 * (layout: ../../shared/docs/xdf.md, from LabRecorder's xdfwriter).
 */
import type { ChannelFormat } from '../stream-info.js';

export const MAGIC = 'XDF:';

export const enum Tag {
  FileHeader = 1,
  StreamHeader = 2,
  Samples = 3,
  ClockOffset = 4,
  Boundary = 5,
  StreamFooter = 6,
}

/** The 16 fixed bytes of a Boundary chunk; readers scan for them to resync after corruption. */
export const BOUNDARY_BYTES = Uint8Array.from([
  0x43, 0xa5, 0x46, 0xdc, 0xcb, 0xf5, 0x41, 0x0f, 0xb3, 0x0e, 0xd5, 0x46, 0x73, 0x83, 0xcb, 0xe4,
]);

/** Bytes per value of each numeric channel format; 0 for string. */
export const FORMAT_BYTES: Record<ChannelFormat, number> = {
  int8: 1, int16: 2, int32: 4, int64: 8, float32: 4, double64: 8, string: 0,
};

export type NumericData = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;
export type XdfData = NumericData | string[][];

export function allocNumeric(format: Exclude<ChannelFormat, 'string'>, n: number): NumericData {
  switch (format) {
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'float32': return new Float32Array(n);
    case 'double64': return new Float64Array(n);
  }
}

/** Error raised by XDF reading and writing; `code` names the kind of failure. */
export class XdfError extends Error {
  constructor(readonly code: 'EXDF_NOT_XDF' | 'EXDF_DECOMPRESS' | 'EXDF_BAD_INPUT' | 'EXDF_CLOSED' | 'EXDF_WRITE', message: string) {
    super(message);
    this.name = 'XdfError';
  }
}

/** Size in bytes of LabRecorder's varlen int (1-byte width prefix + value). */
export function varlenSize(v: number): number {
  return v < 256 ? 2 : v <= 0xffffffff ? 5 : 9;
}

/** Writes LabRecorder's varlen int at `p`; returns the new position. */
export function putVarlen(view: DataView, p: number, v: number): number {
  if (v < 256) {
    view.setUint8(p, 1);
    view.setUint8(p + 1, v);
    return p + 2;
  }
  if (v <= 0xffffffff) {
    view.setUint8(p, 4);
    view.setUint32(p + 1, v, true);
    return p + 5;
  }
  view.setUint8(p, 8);
  view.setBigUint64(p + 1, BigInt(v), true);
  return p + 9;
}

/** Chunk header bytes: width + Length (Tag + content) + Tag. `contentLen` excludes the tag. */
export function chunkHeaderSize(contentLen: number): number {
  return varlenSize(contentLen + 2) + 2;
}

export function putChunkHeader(view: DataView, p: number, tag: Tag, contentLen: number): number {
  p = putVarlen(view, p, contentLen + 2);
  view.setUint16(p, tag, true);
  return p + 2;
}

const encoder = new TextEncoder();

/** A whole chunk with `content` after its tag (and stream id when given). */
export function encodeChunk(tag: Tag, content: Uint8Array, streamId?: number): Uint8Array {
  const idLen = streamId === undefined ? 0 : 4;
  const contentLen = idLen + content.length;
  const out = new Uint8Array(chunkHeaderSize(contentLen) + contentLen);
  const view = new DataView(out.buffer);
  let p = putChunkHeader(view, 0, tag, contentLen);
  if (streamId !== undefined) { view.setUint32(p, streamId >>> 0, true); p += 4; }
  out.set(content, p);
  return out;
}

export function encodeXmlChunk(tag: Tag, xml: string, streamId?: number): Uint8Array {
  return encodeChunk(tag, encoder.encode(xml), streamId);
}

export function encodeBoundaryChunk(): Uint8Array {
  return encodeChunk(Tag.Boundary, BOUNDARY_BYTES);
}

export function encodeClockOffsetChunk(streamId: number, time: number, value: number): Uint8Array {
  const content = new Uint8Array(16);
  const v = new DataView(content.buffer);
  v.setFloat64(0, time, true);
  v.setFloat64(8, value, true);
  return encodeChunk(Tag.ClockOffset, content, streamId);
}

/** `%FT%T%z` as LabRecorder writes it in the FileHeader, in UTC. */
export function formatDatetime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export function fileHeaderXml(datetime: string | null): string {
  return `<?xml version="1.0"?><info><version>1.0</version>${datetime === null ? '' : `<datetime>${datetime}</datetime>`}</info>`;
}

/** Number formatting for footers: shortest round-trip repr, as pugixml would keep a double. */
function fmt(x: number): string {
  return String(x);
}

export function footerXml(f: {
  firstTimestamp: number; lastTimestamp: number; sampleCount: number;
  clockOffsets: readonly { time: number; value: number }[]; extra?: Record<string, string>;
}): string {
  const offs = f.clockOffsets.map((o) => `<offset><time>${fmt(o.time)}</time><value>${fmt(o.value)}</value></offset>`).join('');
  const extra = Object.entries(f.extra ?? {}).map(([k, v]) => `<${k}>${v}</${k}>`).join('');
  return `<?xml version="1.0"?><info><first_timestamp>${fmt(f.firstTimestamp)}</first_timestamp>` +
    `<last_timestamp>${fmt(f.lastTimestamp)}</last_timestamp><sample_count>${f.sampleCount}</sample_count>` +
    `<clock_offsets>${offs}</clock_offsets>${extra}</info>`;
}
