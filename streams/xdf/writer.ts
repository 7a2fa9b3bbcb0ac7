/**
 * XDF writers in LabRecorder's layout (../../shared/docs/xdf.md): FileHeader, StreamHeaders,
 * interleaved Samples and ClockOffset chunks, a Boundary chunk every 10 s of data time, and
 * StreamFooters (first/last timestamp, sample_count, clock_offsets) at the end.
 *
 * `writeXdf` builds a whole file in memory; `XdfWriter` records live for the daemon without
 * ever blocking its caller: samples are encoded into a per-stream buffer and a timer hands
 * the buffers to the file asynchronously, as LabRecorder pulls its inlets every 500 ms.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { streamInfoToXml, validateStreamInfo, type StreamInfo } from '../stream-info.js';
import {
  MAGIC, Tag, XdfError, encodeBoundaryChunk, encodeClockOffsetChunk, encodeXmlChunk, fileHeaderXml, footerXml,
  formatDatetime, putChunkHeader, chunkHeaderSize, type NumericData,
} from './format.js';
import { ByteBuf, maxSampleBytes, putSample } from './encode.js';

export { XdfError } from './format.js';

export interface ClockOffsetRecord { time: number; value: number }

export interface XdfStreamInput {
  info: StreamInfo;
  timeStamps: ArrayLike<number>;
  /** Numeric: row-major [n × channelCount] (a typed array or numbers); string: one string[] per sample. */
  data: NumericData | ArrayLike<number> | readonly (readonly string[])[];
  clockOffsets?: readonly ClockOffsetRecord[];
  /** Stream id in the file; default 1, 2, 3 … in order. */
  id?: number;
}

export interface WriteXdfOptions {
  /** Most samples per Samples chunk (default 500). */
  maxChunkSamples?: number;
  /** Data time covered by one round of chunks, like LabRecorder's 500 ms pulls (default 0.5 s). */
  chunkSeconds?: number;
  /** Data time between Boundary chunks (default 10 s). */
  boundarySeconds?: number;
  /** FileHeader `<datetime>`: a Date, a preformatted string, or null for none (byte-reproducible files). Default now. */
  datetime?: Date | string | null;
  /** Write TimeStampBytes 0 when a stamp is exactly the previous + 1/nominal_srate (default true). */
  deduceTimestamps?: boolean;
}

/** Per stream: whether `ts` can be written as deduced, given the previous stamp a reader will hold. */
function deducible(prev: number, ts: number, srate: number): boolean {
  return srate > 0 && ts === prev + 1 / srate;
}

function checkInput(s: XdfStreamInput): number {
  validateStreamInfo(s.info);
  const n = s.timeStamps.length;
  const c = s.info.channelCount;
  if (s.info.channelFormat === 'string') {
    const d = s.data as readonly (readonly string[])[];
    if (!Array.isArray(d) || d.length !== n) {
      throw new XdfError('EXDF_BAD_INPUT', `stream "${s.info.name}": string data must be ${n} rows of ${c} strings`);
    }
    d.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== c || row.some((x) => typeof x !== 'string')) {
        throw new XdfError('EXDF_BAD_INPUT', `stream "${s.info.name}": sample ${i} is not ${c} strings`);
      }
    });
  } else if ((s.data as ArrayLike<number>).length !== n * c) {
    throw new XdfError('EXDF_BAD_INPUT', `stream "${s.info.name}": ${(s.data as ArrayLike<number>).length} values for ${n} samples × ${c} channels`);
  }
  return n;
}

/** A whole XDF file as bytes. */
export function writeXdf(streams: readonly XdfStreamInput[], opts: WriteXdfOptions = {}): Uint8Array {
  const maxChunk = opts.maxChunkSamples ?? 500;
  const chunkSeconds = opts.chunkSeconds ?? 0.5;
  const boundarySeconds = opts.boundarySeconds ?? 10;
  const deduce = opts.deduceTimestamps ?? true;
  const dt = opts.datetime === undefined ? new Date() : opts.datetime;
  const datetime = dt === null ? null : typeof dt === 'string' ? dt : formatDatetime(dt);
  if (!(maxChunk >= 1) || !(chunkSeconds > 0) || !(boundarySeconds > 0)) {
    throw new XdfError('EXDF_BAD_INPUT', 'writeXdf: maxChunkSamples ≥ 1, chunkSeconds > 0 and boundarySeconds > 0 are required');
  }
  const ids = streams.map((s, i) => s.id ?? i + 1);
  if (new Set(ids).size !== ids.length) throw new XdfError('EXDF_BAD_INPUT', `writeXdf: duplicate stream ids ${ids.join(', ')}`);
  const counts = streams.map(checkInput);

  let t0 = Infinity;
  streams.forEach((s, i) => { if (counts[i] > 0) t0 = Math.min(t0, s.timeStamps[0]); });
  if (!Number.isFinite(t0)) t0 = 0;
  const windowOf = (t: number): number => Math.max(0, Math.floor((t - t0) / chunkSeconds));

  // Plan every Samples and ClockOffset chunk with the data-time window it belongs to.
  interface Planned { window: number; order: number; stream: number; from?: number; to?: number; offset?: ClockOffsetRecord }
  const plan: Planned[] = [];
  streams.forEach((s, si) => {
    const n = counts[si];
    let from = 0;
    while (from < n) {
      const w = windowOf(s.timeStamps[from]);
      let to = from + 1;
      while (to < n && to - from < maxChunk && windowOf(s.timeStamps[to]) === w) to++;
      plan.push({ window: w, order: plan.length, stream: si, from, to });
      from = to;
    }
    for (const o of s.clockOffsets ?? []) plan.push({ window: windowOf(o.time), order: plan.length, stream: si, offset: o });
  });
  plan.sort((a, b) => a.window - b.window || a.stream - b.stream || a.order - b.order);

  const out = new ByteBuf(1 << 16);
  const append = (bytes: Uint8Array): void => {
    out.ensure(bytes.length);
    out.u8.set(bytes, out.len);
    out.len += bytes.length;
  };
  append(new TextEncoder().encode(MAGIC));
  append(encodeXmlChunk(Tag.FileHeader, fileHeaderXml(datetime)));
  streams.forEach((s, i) => append(encodeXmlChunk(Tag.StreamHeader, streamInfoToXml(s.info), ids[i])));

  const prevTs = streams.map(() => 0);
  const body = new ByteBuf(1 << 16);
  let nextBoundary = boundarySeconds;
  for (const p of plan) {
    const tWindow = p.window * chunkSeconds;
    if (tWindow >= nextBoundary) {
      append(encodeBoundaryChunk());
      while (nextBoundary <= tWindow) nextBoundary += boundarySeconds;
    }
    const s = streams[p.stream];
    const id = ids[p.stream];
    if (p.offset) {
      append(encodeClockOffsetChunk(id, p.offset.time, p.offset.value));
      continue;
    }
    const fmt = s.info.channelFormat;
    const c = s.info.channelCount;
    body.len = 0;
    for (let i = p.from!; i < p.to!; i++) {
      const ts = s.timeStamps[i];
      const isStr = fmt === 'string';
      const row = isStr ? (s.data as readonly (readonly string[])[])[i] : undefined;
      body.ensure(maxSampleBytes(fmt, c, row));
      const ded = deduce && deducible(prevTs[p.stream], ts, s.info.nominalSrate);
      if (isStr) putSample(body, fmt, c, ts, ded, row!);
      else putSample(body, fmt, c, ts, ded, s.data as ArrayLike<number>, i * c);
      prevTs[p.stream] = ts;
    }
    const contentLen = 4 + 5 + body.len;
    out.ensure(chunkHeaderSize(contentLen) + contentLen);
    let q = putChunkHeader(out.view, out.len, Tag.Samples, contentLen);
    out.view.setUint32(q, id >>> 0, true);
    out.u8[q + 4] = 4; // LabRecorder always writes the sample count in the 4-byte form
    out.view.setUint32(q + 5, p.to! - p.from!, true);
    q += 9;
    out.u8.set(body.u8.subarray(0, body.len), q);
    out.len = q + body.len;
  }
  streams.forEach((s, i) => {
    const n = counts[i];
    append(encodeXmlChunk(Tag.StreamFooter, footerXml({
      firstTimestamp: n > 0 ? s.timeStamps[0] : 0,
      lastTimestamp: n > 0 ? s.timeStamps[n - 1] : 0,
      sampleCount: n,
      clockOffsets: s.clockOffsets ?? [],
    }), ids[i]));
  });
  return out.bytes();
}

// ---------------------------------------------------------------------------------------------
// Live writer

export interface XdfWriterOptions {
  /** ms between hand-overs to the file (default 500, as LabRecorder). */
  flushIntervalMs?: number;
  /** Most bytes one stream may hold while the disk is behind; samples beyond it are dropped and counted (default 32 MiB). */
  maxBufferedBytesPerStream?: number;
  /** Data time between Boundary chunks (default 10 s). */
  boundarySeconds?: number;
  /** FileHeader `<datetime>` (default now; null for none). */
  datetime?: Date | string | null;
  /** Called once when a write fails; later samples are dropped and counted, and flush()/close() reject. */
  onError?: (err: XdfError) => void;
}

export interface XdfWriterStats {
  /** Samples handed to the file (or to the chunk being written), per stream id. */
  written: Record<number, number>;
  /** Samples dropped from the recording because the disk fell behind or a write failed, per stream id. */
  dropped: Record<number, number>;
  droppedTotal: number;
  bytesWritten: number;
  bufferedBytes: number;
}

class LiveStream {
  /** The buffer being filled; `spare` is the other one, out of reach while its bytes are being written. */
  active: ByteBuf;
  spare: ByteBuf | null;
  pending = 0;
  written = 0;
  dropped = 0;
  firstTs = NaN;
  lastTs = NaN;
  /** The previous stamp as a reader will see it (for deduced stamps); readers start at 0. */
  prevEncoded = 0;
  readonly clockOffsets: ClockOffsetRecord[] = [];
  readonly fixedSampleBytes: number;
  constructor(readonly id: number, readonly info: StreamInfo, maxBytes: number) {
    this.active = new ByteBuf(Math.min(1 << 14, maxBytes));
    this.spare = new ByteBuf(Math.min(1 << 14, maxBytes));
    this.fixedSampleBytes = info.channelFormat === 'string' ? 0 : maxSampleBytes(info.channelFormat, info.channelCount);
  }
}

export class XdfWriter {
  private readonly streams: LiveStream[] = [];
  private readonly byId = new Map<number, LiveStream>();
  /** Header and clock-offset chunks waiting for the next hand-over, in order. */
  private control: Uint8Array[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private error: XdfError | null = null;
  private closed = false;
  private bytesWritten = 0;
  private maxTs = -Infinity;
  private lastBoundaryTs = NaN;
  private readonly maxBytes: number;
  private readonly boundarySeconds: number;

  private constructor(private readonly fh: FileHandle, readonly path: string, private readonly opts: XdfWriterOptions) {
    this.maxBytes = opts.maxBufferedBytesPerStream ?? 32 * 1024 * 1024;
    this.boundarySeconds = opts.boundarySeconds ?? 10;
  }

  /** Creates (truncates) the file and writes the magic and FileHeader. */
  static async open(path: string, opts: XdfWriterOptions = {}): Promise<XdfWriter> {
    const fh = await open(path, 'w');
    const w = new XdfWriter(fh, path, opts);
    const dt = opts.datetime === undefined ? new Date() : opts.datetime;
    const datetime = dt === null ? null : typeof dt === 'string' ? dt : formatDatetime(dt);
    const head = encodeXmlChunk(Tag.FileHeader, fileHeaderXml(datetime));
    const magic = new TextEncoder().encode(MAGIC);
    try {
      await fh.writev([magic, head]);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw new XdfError('EXDF_WRITE', `cannot write XDF file ${path}: ${(e as Error).message}`);
    }
    w.bytesWritten = magic.length + head.length;
    w.timer = setInterval(() => w.kick(), opts.flushIntervalMs ?? 500);
    w.timer.unref();
    return w;
  }

  /** Declares a stream (its header goes out with the next hand-over); returns its id (1, 2, …). */
  addStream(info: StreamInfo): number {
    if (this.closed) throw new XdfError('EXDF_CLOSED', `XDF writer for ${this.path} is closed`);
    validateStreamInfo(info);
    const id = this.streams.length + 1;
    const s = new LiveStream(id, info, this.maxBytes);
    this.streams.push(s);
    this.byId.set(id, s);
    this.control.push(encodeXmlChunk(Tag.StreamHeader, streamInfoToXml(info), id));
    return id;
  }

  /**
   * Encodes one sample into the stream's buffer. Synchronous and allocation-free in the steady
   * state; if the buffer is full because the disk is behind, the sample is dropped and counted.
   */
  pushSample(id: number, timestamp: number, values: ArrayLike<number> | ArrayLike<bigint> | readonly string[]): void {
    const s = this.byId.get(id);
    if (!s) throw new XdfError('EXDF_BAD_INPUT', `XDF writer: no stream ${id}`);
    if (this.closed) throw new XdfError('EXDF_CLOSED', `XDF writer for ${this.path} is closed`);
    const c = s.info.channelCount;
    if (values.length !== c) throw new XdfError('EXDF_BAD_INPUT', `XDF writer: stream ${id} has ${c} channels, got ${values.length} values`);
    if (this.error) { s.dropped++; return; }
    const need = s.fixedSampleBytes || maxSampleBytes('string', c, values as readonly string[]);
    if (!s.active.ensure(need, this.maxBytes)) { s.dropped++; return; }
    const ded = s.info.nominalSrate > 0 && timestamp === s.prevEncoded + 1 / s.info.nominalSrate;
    putSample(s.active, s.info.channelFormat, c, timestamp, ded, values);
    s.prevEncoded = timestamp;
    s.pending++;
    if (s.written + s.pending === 1) s.firstTs = timestamp;
    s.lastTs = timestamp;
    if (timestamp > this.maxTs) this.maxTs = timestamp;
  }

  /** Records a clock offset (time in the stream's clock, value to add to map it into ours). */
  pushClockOffset(id: number, time: number, value: number): void {
    const s = this.byId.get(id);
    if (!s) throw new XdfError('EXDF_BAD_INPUT', `XDF writer: no stream ${id}`);
    if (this.closed) throw new XdfError('EXDF_CLOSED', `XDF writer for ${this.path} is closed`);
    s.clockOffsets.push({ time, value });
    this.control.push(encodeClockOffsetChunk(id, time, value));
  }

  stats(): XdfWriterStats {
    const written: Record<number, number> = {};
    const dropped: Record<number, number> = {};
    let droppedTotal = 0;
    let bufferedBytes = 0;
    for (const s of this.streams) {
      written[s.id] = s.written;
      dropped[s.id] = s.dropped;
      droppedTotal += s.dropped;
      bufferedBytes += s.active.len;
    }
    return { written, dropped, droppedTotal, bytesWritten: this.bytesWritten, bufferedBytes };
  }

  /** Waits until everything pushed so far is in the file. Rejects with the write error if one happened. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (!this.error) await this.startDrain();
    if (this.error) throw this.error;
  }

  /** Writes the remaining samples and the footers, and closes the file. Returns the final stats. */
  async close(): Promise<XdfWriterStats> {
    if (this.closed) throw new XdfError('EXDF_CLOSED', `XDF writer for ${this.path} is already closed`);
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      while (this.inFlight) await this.inFlight;
      if (!this.error) await this.drain();
      if (!this.error) {
        const footers = this.streams.map((s) => encodeXmlChunk(Tag.StreamFooter, footerXml({
          firstTimestamp: s.written > 0 ? s.firstTs : 0,
          lastTimestamp: s.written > 0 ? s.lastTs : 0,
          sampleCount: s.written,
          clockOffsets: s.clockOffsets,
          extra: s.dropped > 0 ? { dropped_samples: String(s.dropped) } : undefined,
        }), s.id));
        await this.writeAll(footers);
      }
    } finally {
      await this.fh.close().catch(() => undefined);
    }
    if (this.error) throw this.error;
    return this.stats();
  }

  private kick(): void {
    if (this.inFlight || this.error) return;
    void this.startDrain();
  }

  /** Runs one hand-over as the only one in flight (drain never rejects: it records errors). */
  private startDrain(): Promise<void> {
    const p = this.drain().finally(() => { if (this.inFlight === p) this.inFlight = null; });
    this.inFlight = p;
    return p;
  }

  /** One hand-over: queued headers/offsets, a Boundary when due, one Samples chunk per stream with data. */
  private async drain(): Promise<void> {
    const parts: Uint8Array[] = this.control;
    this.control = [];
    if (this.maxTs > -Infinity) {
      if (Number.isNaN(this.lastBoundaryTs)) this.lastBoundaryTs = this.maxTs;
      else if (this.maxTs - this.lastBoundaryTs >= this.boundarySeconds) {
        parts.push(encodeBoundaryChunk());
        this.lastBoundaryTs = this.maxTs;
      }
    }
    const swapped: [LiveStream, ByteBuf, number][] = [];
    for (const s of this.streams) {
      if (s.pending === 0 || !s.spare) continue;
      const buf = s.active;
      const contentLen = 4 + 5 + buf.len;
      const head = new Uint8Array(chunkHeaderSize(contentLen) + 9);
      const view = new DataView(head.buffer);
      const q = putChunkHeader(view, 0, Tag.Samples, contentLen);
      view.setUint32(q, s.id, true);
      head[q + 4] = 4;
      view.setUint32(q + 5, s.pending, true);
      parts.push(head, buf.u8.subarray(0, buf.len));
      s.written += s.pending;
      swapped.push([s, buf, s.pending]);
      s.pending = 0;
      s.active = s.spare;
      s.active.len = 0;
      s.spare = null;
    }
    try {
      if (parts.length > 0) await this.writeAll(parts);
    } catch (e) {
      // Samples in the failed hand-over never reached the file.
      for (const [s, , n] of swapped) {
        s.written -= n;
        s.dropped += n;
      }
      this.error = e instanceof XdfError ? e : new XdfError('EXDF_WRITE', `writing XDF file ${this.path} failed: ${(e as Error).message}`);
      this.opts.onError?.(this.error);
    } finally {
      for (const [s, buf] of swapped) { buf.len = 0; s.spare = buf; }
    }
  }

  private async writeAll(parts: Uint8Array[]): Promise<void> {
    let total = 0;
    for (const p of parts) total += p.length;
    let done = 0;
    while (done < total) {
      const { bytesWritten } = await this.fh.writev(done === 0 ? parts : remaining(parts, done));
      if (bytesWritten <= 0) throw new XdfError('EXDF_WRITE', `writing XDF file ${this.path}: no progress`);
      done += bytesWritten;
    }
    this.bytesWritten += total;
  }
}

/** The parts after the first `skip` bytes (after a short write). */
function remaining(parts: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (skip >= p.length) { skip -= p.length; continue; }
    out.push(skip > 0 ? p.subarray(skip) : p);
    skip = 0;
  }
  return out;
}
