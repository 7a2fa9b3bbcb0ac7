/**
 * The dashboard's view of the bin path. LiveFeed is a pipeline observer: per bin it copies a few
 * numbers into rings allocated once (velocity, the cursor it integrates to, the daemon's own
 * latency, summed input counts), with no allocation, no I/O and no serialisation. The dashboard's
 * timer calls take() ~15 times a second; only there is what arrived since the last call turned
 * into one small, decimated update. If more bins arrive between two takes than the rings hold,
 * the oldest are overwritten: the page misses points, the decoder never waits.
 */
import { Histogram } from '../histogram.js';
import type { Decoded, SpikeBin } from '../../streams/types.js';
import type { PipelineObserver } from '../pipeline/observer.js';
import type { RejectKind } from '../validate.js';

export interface LiveFeedOptions {
  nIn: number;
  binMs: number;
  velocityLabels: readonly string[];
  /** Bins kept between two takes (default: 10 s of bins, at least 256). */
  capacity?: number;
  /** Most points per series in one update; beyond that every k-th bin is sent (default 64). */
  maxPoints?: number;
  /** Rows of the input heatmap: channels are summed in groups of ceil(nIn / rows) (default 48). */
  heatRows?: number;
  /** Time one heatmap column sums, rounded to whole bins (default 100 ms). */
  heatColumnMs?: number;
  /** Heatmap columns kept between two takes (default 256). */
  heatCapacity?: number;
  /** Refused inputs remembered between two takes (default 16). */
  rejectCapacity?: number;
}

export class LiveFeedError extends Error {
  readonly code = 'ELIVEFEED';
  constructor(message: string) {
    super(message);
    this.name = 'LiveFeedError';
  }
}

/** What the page is told once, when it connects. */
export interface FeedMeta {
  n_in: number;
  bin_ms: number;
  velocity_labels: readonly string[];
  heat_rows: number;
  channels_per_row: number;
  heat_column_ms: number;
  /** The latency histogram's bar edges in µs (bars.length + 1 values). */
  latency_edges_us: number[];
}

/** One update: what arrived since the previous take. Arrays are parallel, one entry per sent point. */
export interface FeedUpdate {
  /** Bins decoded since the previous take, and every how many of them a point was sent. */
  bins: number;
  stride: number;
  /** Bins the ring overwrote before they could be sent (more arrived than it holds). */
  overwritten: number;
  seq: number[];
  /** Seconds since the feed started, at each bin's arrival. */
  t: number[];
  /** velocity[k][i]: component k of point i, exactly as decoded (float32). */
  velocity: number[][];
  /** cursor[k][i]: the velocity integrated with gain 1 over bin_ms, since the feed started. */
  cursor: number[][];
  /** sent_ns − received_ns of each point, µs. */
  latency_us: number[];
  /** Completed heatmap columns, oldest first, each heat_rows summed counts. */
  heat: number[][];
  rejects: Array<{ kind: string; detail: string; seq: number | null; t: number }>;
  /** The last change of model id seen in the decodes (a hot swap), when there is one. */
  last_model_change: { from: string; to: string; seq: number; t: number } | null;
  model_id: string;
  /** The latency histogram since the feed started (only when take(true)). */
  latency?: { count: number; p50_us: number; p99_us: number; max_us: number; bars: number[] };
}

/** Bar edges of the latency histogram: 8 per decade from 1 µs to 100 ms. */
const EDGES_US = Array.from({ length: 41 }, (_, i) => Math.round(10 ** (i / 8) * 1000) / 1000);

/** 6 significant digits: enough for a plot, a third of the bytes of a full double. */
const sig = (x: number): number => (x === 0 || !Number.isFinite(x) ? 0 : +x.toPrecision(6));

export class LiveFeed implements PipelineObserver {
  readonly nIn: number;
  readonly binMs: number;
  readonly dim: number;
  readonly capacity: number;
  readonly maxPoints: number;
  readonly heatRows: number;
  readonly channelsPerRow: number;
  readonly binsPerColumn: number;
  /** Every decoded bin's sent_ns − received_ns, ns (the project's one histogram). */
  readonly latency = new Histogram();
  private readonly velocityLabels: readonly string[];
  private readonly startedNs = performance.now() * 1e6;

  // Bin rings: slot = n % capacity, for the n-th decode.
  private readonly seqs: Float64Array;
  private readonly times: Float64Array;
  private readonly vel: Float32Array;
  private readonly pos: Float64Array;
  private readonly lat: Float64Array;
  private readonly cursor: Float64Array;
  private written = 0;
  private read = 0;

  // Heatmap: the column being summed, and a ring of finished ones.
  private readonly rowOf: Int32Array;
  private readonly acc: Float64Array;
  private readonly cols: Float32Array;
  private readonly heatCapacity: number;
  private accBins = 0;
  private colsWritten = 0;
  private colsRead = 0;

  // Refused inputs: references to strings the caller already made, never a new one.
  private readonly rejectCapacity: number;
  private readonly rejectKind: string[];
  private readonly rejectDetail: string[];
  private readonly rejectSeq: Float64Array;
  private readonly rejectTime: Float64Array;
  private rejectsWritten = 0;
  private rejectsRead = 0;

  private modelId = '';
  private changeFrom = '';
  private changeTo = '';
  private changeSeq = 0;
  private changeNs = 0;

  constructor(opts: LiveFeedOptions) {
    const { nIn, binMs } = opts;
    if (!Number.isInteger(nIn) || nIn < 1) throw new LiveFeedError(`n_in must be a positive integer, got ${nIn}`);
    if (!(binMs > 0)) throw new LiveFeedError(`bin_ms must be positive, got ${binMs}`);
    if (opts.velocityLabels.length < 1) throw new LiveFeedError('at least one velocity label is needed');
    this.nIn = nIn;
    this.binMs = binMs;
    this.velocityLabels = [...opts.velocityLabels];
    this.dim = opts.velocityLabels.length;
    this.capacity = positiveInt('capacity', opts.capacity ?? Math.max(256, Math.ceil(10000 / binMs)));
    this.maxPoints = positiveInt('maxPoints', opts.maxPoints ?? 64);
    this.heatRows = Math.min(nIn, positiveInt('heatRows', opts.heatRows ?? 48));
    this.channelsPerRow = Math.ceil(nIn / this.heatRows);
    this.heatRows = Math.ceil(nIn / this.channelsPerRow);
    this.binsPerColumn = Math.max(1, Math.round((opts.heatColumnMs ?? 100) / binMs));
    this.heatCapacity = positiveInt('heatCapacity', opts.heatCapacity ?? 256);
    this.rejectCapacity = positiveInt('rejectCapacity', opts.rejectCapacity ?? 16);

    this.seqs = new Float64Array(this.capacity);
    this.times = new Float64Array(this.capacity);
    this.vel = new Float32Array(this.capacity * this.dim);
    this.pos = new Float64Array(this.capacity * this.dim);
    this.lat = new Float64Array(this.capacity);
    this.cursor = new Float64Array(this.dim);
    this.rowOf = Int32Array.from({ length: nIn }, (_, c) => Math.floor(c / this.channelsPerRow));
    this.acc = new Float64Array(this.heatRows);
    this.cols = new Float32Array(this.heatCapacity * this.heatRows);
    this.rejectKind = new Array<string>(this.rejectCapacity).fill('');
    this.rejectDetail = new Array<string>(this.rejectCapacity).fill('');
    this.rejectSeq = new Float64Array(this.rejectCapacity);
    this.rejectTime = new Float64Array(this.rejectCapacity);
  }

  // ---- the observer: called on the bin path, allocation-free ----

  /** An accepted bin: its counts go into the heatmap column being summed. */
  accepted(bin: SpikeBin): void {
    const c = bin.counts;
    const n = c.length < this.nIn ? c.length : this.nIn;
    const acc = this.acc;
    const rowOf = this.rowOf;
    for (let i = 0; i < n; i++) acc[rowOf[i]] += c[i];
    if (++this.accBins < this.binsPerColumn) return;
    const base = (this.colsWritten % this.heatCapacity) * this.heatRows;
    for (let r = 0; r < acc.length; r++) {
      this.cols[base + r] = acc[r];
      acc[r] = 0;
    }
    this.accBins = 0;
    this.colsWritten++;
  }

  /** A decode: velocity, the integrated cursor and the latency, copied into the rings. */
  decoded(d: Decoded, _bin?: SpikeBin): void {
    const slot = this.written % this.capacity;
    this.written++;
    this.seqs[slot] = d.seq;
    this.times[slot] = d.receivedNs - this.startedNs;
    const lat = d.sentNs - d.receivedNs;
    this.lat[slot] = lat;
    // Integers below 2^30 pass to record() without V8 boxing a heap number.
    this.latency.record(lat >= 0 && lat < 1073741824 ? lat | 0 : lat);
    const v = d.velocity;
    const dt = this.binMs / 1000;
    const base = slot * this.dim;
    for (let k = 0; k < this.dim; k++) {
      const x = v[k];
      this.vel[base + k] = x;
      this.cursor[k] += x * dt;
      this.pos[base + k] = this.cursor[k];
    }
    if (d.modelId !== this.modelId) {
      if (this.modelId !== '') {
        this.changeFrom = this.modelId;
        this.changeTo = d.modelId;
        this.changeSeq = d.seq;
        this.changeNs = d.receivedNs - this.startedNs;
      }
      this.modelId = d.modelId;
    }
  }

  /** A refused input: kept by reference (kind and detail are strings the caller already has). */
  rejected(kind: RejectKind, detail: string, bin?: SpikeBin, _raw?: readonly Uint8Array[], receivedNs?: number): void {
    const slot = this.rejectsWritten % this.rejectCapacity;
    this.rejectsWritten++;
    this.rejectKind[slot] = kind;
    this.rejectDetail[slot] = detail;
    this.rejectSeq[slot] = bin ? bin.seq : -1;
    this.rejectTime[slot] = (receivedNs !== undefined && receivedNs > 0 ? receivedNs : bin && bin.receivedNs > 0 ? bin.receivedNs : performance.now() * 1e6) - this.startedNs;
  }

  // ---- off the bin path ----

  meta(): FeedMeta {
    return {
      n_in: this.nIn,
      bin_ms: this.binMs,
      velocity_labels: this.velocityLabels,
      heat_rows: this.heatRows,
      channels_per_row: this.channelsPerRow,
      heat_column_ms: this.binsPerColumn * this.binMs,
      latency_edges_us: EDGES_US,
    };
  }

  /** Forget what arrived since the last take (nobody is watching). */
  skip(): void {
    this.read = this.written;
    this.colsRead = this.colsWritten;
    this.rejectsRead = this.rejectsWritten;
  }

  /** What arrived since the last take, decimated to at most maxPoints points per series. */
  take(withHistogram = false): FeedUpdate {
    const bins = this.written - this.read;
    const from = Math.max(this.read, this.written - this.capacity);
    const avail = this.written - from;
    const stride = Math.max(1, Math.ceil(avail / this.maxPoints));
    // The newest bin is always sent; the stride counts back from it.
    const first = from + ((avail - 1) % stride);
    const seq: number[] = [];
    const t: number[] = [];
    const latencyUs: number[] = [];
    const velocity = Array.from({ length: this.dim }, () => [] as number[]);
    const cursor = Array.from({ length: this.dim }, () => [] as number[]);
    for (let n = first; n < this.written; n += stride) {
      const s = n % this.capacity;
      seq.push(this.seqs[s]);
      t.push(Math.round(this.times[s] / 1e6) / 1e3);
      latencyUs.push(Math.round(this.lat[s] / 100) / 10);
      for (let k = 0; k < this.dim; k++) {
        velocity[k].push(this.vel[s * this.dim + k]);
        cursor[k].push(sig(this.pos[s * this.dim + k]));
      }
    }
    this.read = this.written;

    const heat: number[][] = [];
    for (let c = Math.max(this.colsRead, this.colsWritten - this.heatCapacity); c < this.colsWritten; c++) {
      const base = (c % this.heatCapacity) * this.heatRows;
      heat.push(Array.from(this.cols.subarray(base, base + this.heatRows)));
    }
    this.colsRead = this.colsWritten;

    const rejects: FeedUpdate['rejects'] = [];
    for (let r = Math.max(this.rejectsRead, this.rejectsWritten - this.rejectCapacity); r < this.rejectsWritten; r++) {
      const s = r % this.rejectCapacity;
      rejects.push({ kind: this.rejectKind[s], detail: this.rejectDetail[s], seq: this.rejectSeq[s] < 0 ? null : this.rejectSeq[s], t: Math.round(this.rejectTime[s] / 1e6) / 1e3 });
    }
    this.rejectsRead = this.rejectsWritten;

    const u: FeedUpdate = {
      bins, stride, overwritten: Math.max(0, bins - avail), seq, t, velocity, cursor, latency_us: latencyUs, heat, rejects,
      last_model_change: this.changeTo ? { from: this.changeFrom, to: this.changeTo, seq: this.changeSeq, t: Math.round(this.changeNs / 1e6) / 1e3 } : null,
      model_id: this.modelId,
    };
    if (withHistogram) u.latency = this.histogram();
    return u;
  }

  /** p50/p99 (the histogram's nearest-rank percentile) and counts per bar of EDGES_US. */
  histogram(): NonNullable<FeedUpdate['latency']> {
    const h = this.latency;
    const bars = new Array<number>(EDGES_US.length - 1).fill(0);
    for (const b of h.buckets()) {
      const us = (b.lo + b.hi) / 2 / 1000;
      let i = 0;
      while (i < bars.length - 1 && us >= EDGES_US[i + 1]) i++;
      bars[i] += b.count;
    }
    const us = (ns: number): number => Math.round(ns / 100) / 10;
    return { count: h.count, p50_us: us(h.percentile(50)), p99_us: us(h.percentile(99)), max_us: h.count ? us(h.max) : 0, bars };
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new LiveFeedError(`${name} must be a positive integer, got ${v}`);
  return v;
}
