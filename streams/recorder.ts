/**
 * Records everything that came in and everything that went out to an XDF file in LabRecorder's
 * layout, readable by the foundation's reader, pyxdf and MNE-based tools:
 *   - `<input name>` (type SpikeCounts, int32, one sample per bin, stamped with the bin's timestamp,
 *     channel labels and `<binning><bin_ms>`): the same layout the simulator and the replay read, so
 *     a recording can be replayed or used for calibration as it is;
 *   - `<input name>-receipt` (type SpikeReceipt, double64: seq, received_ns), same timestamps, so the
 *     arrival order and times survive without touching the counts stream's format;
 *   - `langevind-decoded` (type Decoded, double64: velocity…, seq, received_ns, decoded_ns, sent_ns),
 *     stamped with the decoded bin's timestamp, the model id in `<desc><model_id>`;
 *   - `<input name>-rejected` (type InputRejects, one string channel, irregular): every message the
 *     daemon refused, as one JSON object: kind, detail, received_ns, and either the bin as decoded
 *     (seq, timestamp, stream_id, bin_ms, counts) or the raw frames in base64. Stamped with the
 *     bin's timestamp, or for undecodable bytes with the last bin's, so it sorts into the session;
 *   - `langevind-markers` (type Markers, one string channel, irregular): events of the session such
 *     as a model or readout swapped in, a filter reset asked for, the recording started or
 *     stopped, one JSON object each, stamped with the last bin's timestamp.
 *
 * Non-blocking: recordBin/recordDecoded only copy into preallocated buffers; a timer hands the
 * buffered samples to the XdfWriter (which encodes them and writes asynchronously on its own
 * cadence), so neither encoding nor file I/O happens on the bin path. Buffers grow rather than
 * drop when a drain is late; the writer counts what it drops if the disk falls behind (stats()).
 */
import { element } from './xml.js';
import { describeChannels, makeStreamInfo } from './stream-info.js';
import type { Decoded, SpikeBin } from './types.js';
import { XdfWriter, type XdfWriterStats } from './xdf/writer.js';
import { Rows } from './rows.js';

export interface RecorderOptions {
  input: { name: string; channelLabels: string[]; binMs: number };
  output: { velocityLabels: string[]; modelId: string };
  /** ms between hand-overs to the file (default 250). */
  drainMs?: number;
}

/** What the daemon refused, as recordReject takes it. */
export interface RejectedInput {
  kind: string;
  detail: string;
  receivedNs: number;
  /** The bin as decoded, when the message decoded (its counts are copied out). */
  bin?: SpikeBin;
  /** The frames as received, when it did not. */
  raw?: readonly Uint8Array[];
}

export class RecorderError extends Error {
  constructor(readonly code: 'ERECORDEROPTS' | 'ERECORDERCLOSED', message: string) {
    super(message);
    this.name = 'RecorderError';
  }
}

/** LabRecorder measures clock offsets every 5 s; the same cadence keeps footers and readers familiar. */
const CLOCK_OFFSET_EVERY_S = 5;

export class Recorder {
  private readonly counts: Rows<Int32Array>;
  private readonly receipts: Rows<Float64Array>;
  private readonly decoded: Rows<Float64Array>;
  /** Rejected messages waiting for the next drain: [timestamp, JSON] (rare: no preallocation). */
  private rejected: Array<[number, string]> = [];
  /** Markers waiting for the next drain (rare: no preallocation). */
  private markers: Array<[number, string]> = [];
  private readonly nVel: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastOffsetT = -Infinity;
  private lastT = 0;
  private drainError: unknown;
  /** Samples handed to the writer so far. */
  readonly handed = { bins: 0, decoded: 0, rejected: 0 };

  private constructor(
    private readonly writer: XdfWriter,
    private readonly ids: { counts: number; receipts: number; decoded: number; rejected: number; markers: number },
    opts: RecorderOptions,
  ) {
    const c = opts.input.channelLabels.length;
    this.nVel = opts.output.velocityLabels.length;
    const drainMs = opts.drainMs ?? 250;
    // Room for two drains' worth of 1 ms bins before any growth.
    const cap = Math.max(64, Math.ceil((2 * drainMs) / Math.max(0.1, opts.input.binMs)));
    this.counts = new Rows(c, new Int32Array(cap * c), cap);
    this.receipts = new Rows(2, new Float64Array(cap * 2), cap);
    this.decoded = new Rows(this.nVel + 4, new Float64Array(cap * (this.nVel + 4)), cap);
    this.timer = setInterval(() => this.drain(), drainMs);
    this.timer.unref();
  }

  static async open(path: string, opts: RecorderOptions): Promise<Recorder> {
    const { input, output } = opts;
    if (!input.name) throw new RecorderError('ERECORDEROPTS', 'recorder: input.name must not be empty');
    if (input.channelLabels.length === 0) throw new RecorderError('ERECORDEROPTS', 'recorder: input.channelLabels must not be empty');
    if (!(input.binMs > 0)) throw new RecorderError('ERECORDEROPTS', `recorder: input.binMs must be > 0, got ${input.binMs}`);
    const srate = 1000 / input.binMs;
    const writer = await XdfWriter.open(path);
    const counts = writer.addStream(makeStreamInfo({
      name: input.name,
      type: 'SpikeCounts',
      channelCount: input.channelLabels.length,
      channelFormat: 'int32',
      nominalSrate: srate,
      sourceId: `langevind-recorder/${input.name}`,
      desc: describeChannels(input.channelLabels, { unit: 'count', type: 'SpikeCounts', binMs: input.binMs }),
    }));
    const receipts = writer.addStream(makeStreamInfo({
      name: `${input.name}-receipt`,
      type: 'SpikeReceipt',
      channelCount: 2,
      channelFormat: 'double64',
      nominalSrate: srate,
      sourceId: `langevind-recorder/${input.name}-receipt`,
      desc: describeChannels(['seq', 'received_ns'], { binMs: input.binMs }),
    }));
    const decDesc = describeChannels([...output.velocityLabels, 'seq', 'received_ns', 'decoded_ns', 'sent_ns'], { binMs: input.binMs });
    decDesc.children.push(element('model_id', [], output.modelId));
    const decoded = writer.addStream(makeStreamInfo({
      name: 'langevind-decoded',
      type: 'Decoded',
      channelCount: output.velocityLabels.length + 4,
      channelFormat: 'double64',
      nominalSrate: srate,
      sourceId: `langevind-recorder/decoded/${output.modelId}`,
      desc: decDesc,
    }));
    const rejected = writer.addStream(makeStreamInfo({
      name: `${input.name}-rejected`,
      type: 'InputRejects',
      channelCount: 1,
      channelFormat: 'string',
      nominalSrate: 0,
      sourceId: `langevind-recorder/${input.name}-rejected`,
      desc: describeChannels(['message'], { type: 'JSON' }),
    }));
    const markers = writer.addStream(makeStreamInfo({
      name: 'langevind-markers',
      type: 'Markers',
      channelCount: 1,
      channelFormat: 'string',
      nominalSrate: 0,
      sourceId: 'langevind-recorder/markers',
      desc: describeChannels(['event'], { type: 'JSON' }),
    }));
    return new Recorder(writer, { counts, receipts, decoded, rejected, markers }, opts);
  }

  /** Copies the bin; never blocks. Counts are stored as int32 (they are validated integers by then). */
  recordBin(bin: SpikeBin): void {
    if (this.closed) return;
    const r = this.counts.next(bin.timestamp);
    const w = this.counts.width;
    const d = this.counts.data;
    const c = bin.counts;
    const m = Math.min(w, c.length);
    const o = r * w;
    for (let i = 0; i < m; i++) d[o + i] = c[i];
    for (let i = m; i < w; i++) d[o + i] = 0;
    const q = this.receipts.next(bin.timestamp) * 2;
    this.receipts.data[q] = bin.seq;
    this.receipts.data[q + 1] = bin.receivedNs;
    this.lastT = bin.timestamp;
  }

  /**
   * Keeps a refused message; never blocks. Off the accepted bins' path, so it may allocate: bad
   * input is rare, and a flood of it is bounded by what the transport delivers.
   */
  recordReject(r: RejectedInput): void {
    if (this.closed) return;
    const b = r.bin;
    const entry = b
      ? { kind: r.kind, detail: r.detail, received_ns: r.receivedNs, seq: b.seq, timestamp: b.timestamp, stream_id: b.streamId, bin_ms: b.binMs, counts: Array.from(b.counts, (x) => (Number.isFinite(x) ? x : String(x))) }
      : { kind: r.kind, detail: r.detail, received_ns: r.receivedNs, frames_base64: (r.raw ?? []).map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64')) };
    const t = b && Number.isFinite(b.timestamp) ? b.timestamp : this.lastT;
    this.rejected.push([t, JSON.stringify(entry)]);
  }

  /**
   * Keeps a session event (a JSON object: `event` and its details), stamped with the last bin's
   * timestamp so it sorts between the bins it came between. Off the bin path; never blocks.
   */
  recordMarker(event: Record<string, unknown>): void {
    if (this.closed) return;
    this.markers.push([this.lastT, JSON.stringify(event)]);
  }

  /** Copies the decode; never blocks. */
  recordDecoded(dec: Decoded): void {
    if (this.closed) return;
    const w = this.decoded.width;
    const o = this.decoded.next(dec.timestamp) * w;
    const d = this.decoded.data;
    const v = dec.velocity;
    for (let i = 0; i < this.nVel; i++) d[o + i] = i < v.length ? v[i] : NaN;
    d[o + this.nVel] = dec.seq;
    d[o + this.nVel + 1] = dec.receivedNs;
    d[o + this.nVel + 2] = dec.decodedNs;
    d[o + this.nVel + 3] = dec.sentNs;
  }

  /** Hands everything buffered to the writer and flushes it to the file. */
  private drain(): void {
    if (this.drainError) return;
    try {
      this.handed.bins += this.drainRows(this.counts, this.ids.counts);
      this.drainRows(this.receipts, this.ids.receipts);
      this.handed.decoded += this.drainRows(this.decoded, this.ids.decoded);
      for (const [t, json] of this.rejected) this.writer.pushSample(this.ids.rejected, t, [json]);
      this.handed.rejected += this.rejected.length;
      this.rejected = [];
      for (const [t, json] of this.markers) this.writer.pushSample(this.ids.markers, t, [json]);
      this.markers = [];
      if (this.handed.bins > 0 && this.lastT - this.lastOffsetT >= CLOCK_OFFSET_EVERY_S) {
        // The recording is in the source's clock: offset 0 says so to readers that sync clocks.
        for (const id of [this.ids.counts, this.ids.receipts, this.ids.decoded, this.ids.rejected, this.ids.markers]) this.writer.pushClockOffset(id, this.lastT, 0);
        this.lastOffsetT = this.lastT;
      }
    } catch (err) {
      // A full disk must not take the daemon down; close() reports it.
      this.drainError = err;
    }
  }

  private drainRows(rows: Rows<Float64Array | Int32Array>, id: number): number {
    const w = rows.width;
    const n = rows.n;
    for (let r = 0; r < n; r++) this.writer.pushSample(id, rows.ts[r], rows.data.subarray(r * w, (r + 1) * w));
    rows.n = 0;
    return n;
  }

  /** The writer's counts: samples written and dropped per stream (ids: 1 counts, 2 receipts, 3 decoded, 4 rejected, 5 markers). */
  stats(): XdfWriterStats {
    return this.writer.stats();
  }

  /** Stops recording, writes what is buffered and the footers, and closes the file; rejects if writing failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.drain();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writer.close();
    if (this.drainError) throw this.drainError;
  }
}
