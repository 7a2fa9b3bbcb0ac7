/**
 * Replay of a recording's spike stream as a source of SpikeBins: paced by the recorded
 * timestamps at 1× or N×, or as fast as possible. As the daemon's input: fromReplay(opts), named
 * by `replay:///path.xdf?speed=1` (replayOptionsFromUri).
 *
 * Pacing is drift-free: every bin's release time is computed from one monotonic start time,
 * never from the previous release. Each wait is a timer to about 1.5 ms before the release,
 * then a cooperative spin on setImmediate: it releases within tens of µs, yet the event loop
 * keeps polling I/O between iterations, so a process that replays and also receives (the
 * replay CLI) does not delay its own receive stamps the way a synchronous spin would. While
 * more than NAP_MS remains, each spin iteration first naps NAP_MS (a futex wait, not a busy
 * loop), so at 1 ms bins the replay leaves the CPU to the daemon it measures; I/O is then
 * polled at least every ~0.1 ms.
 */
import { existsSync } from 'node:fs';
import { Observable } from 'rxjs';
import { binMs as infoBinMs, channelLabels, type StreamInfo } from './stream-info.js';
import { asIncoming } from './incoming.js';
import { MONOTONIC_TO_LSL_S } from './lsl/clock.js';
import { monotonicNs, type Source, type SpikeBin } from './types.js';
import { readXdf, type XdfStream } from './xdf/reader.js';

export class ReplayError extends Error {
  constructor(readonly code: 'EREPLAYOPTS' | 'ENORECORDING' | 'ENOSTREAM' | 'EBADSTREAM' | 'EEMPTY', message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

export interface ReplayOptions {
  path: string;
  /** Multiple of real time (1 = as recorded), or 'max' for as fast as possible. */
  speed: number | 'max';
  /** Name or type of the spike stream; default: the first stream of type SpikeCounts. */
  stream?: string;
  /** Start over at the end, forever, with seq and timestamps continuing. */
  loop?: boolean;
}

/** A recording's spike stream, loaded once, with the recorded velocity aligned to its bins when there is one. */
export interface Recording {
  path: string;
  info: StreamInfo;
  name: string;
  channels: number;
  labels: string[];
  binMs: number;
  bins: number;
  /** Seconds, one per bin. */
  timestamps: Float64Array;
  /** Row-major bins × channels. */
  counts: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };
  /** The Kinematics stream's velocity channels (`vel*`), one row per bin (NaN where none within half a bin). */
  kinematics?: { labels: string[]; velocity: Float64Array };
}

/** Loads the spike stream (by name or type; default the first `SpikeCounts`) and the velocity of the first `Kinematics` stream. */
export async function loadRecording(path: string, stream?: string): Promise<Recording> {
  if (!existsSync(path)) throw new ReplayError('ENORECORDING', `replay: no recording at ${path}`);
  return recordingFromStreams(path, readXdf(path).streams, stream);
}

/** loadRecording on streams already read (e.g. several files of one session merged); path names them in messages. */
export function recordingFromStreams(path: string, streams: readonly XdfStream[], stream?: string): Recording {
  const s = stream
    ? streams.find((x) => x.info.name === stream) ?? streams.find((x) => x.info.type === stream)
    : streams.find((x) => x.info.type === 'SpikeCounts');
  if (!s) {
    const have = streams.map((x) => `"${x.info.name}" (${x.info.type || 'no type'})`).join(', ') || 'none';
    throw new ReplayError('ENOSTREAM', `${path}: no stream ${stream ? `named or typed "${stream}"` : 'of type SpikeCounts'}; streams: ${have}`);
  }
  if (s.info.channelFormat === 'string' || s.info.channelFormat === 'int64' || !ArrayBuffer.isView(s.data))
    throw new ReplayError('EBADSTREAM', `${path}: stream "${s.info.name}" holds ${s.info.channelFormat} samples, not spike counts`);
  const n = s.timeStamps.length;
  if (n === 0) throw new ReplayError('EEMPTY', `${path}: stream "${s.info.name}" has no samples`);
  const channels = s.info.channelCount;
  const counts = s.data as unknown as Recording['counts'];
  if (counts.length !== n * channels)
    throw new ReplayError('EBADSTREAM', `${path}: stream "${s.info.name}" has ${counts.length} values for ${n} samples × ${channels} channels`);
  let bw = infoBinMs(s.info);
  if (bw === undefined) {
    if (n < 2) throw new ReplayError('EBADSTREAM', `${path}: stream "${s.info.name}" has no bin width (no <binning><bin_ms>, no nominal rate, one sample)`);
    bw = ((s.timeStamps[n - 1] - s.timeStamps[0]) / (n - 1)) * 1000;
  }
  const rec: Recording = {
    path,
    info: s.info,
    name: s.info.name,
    channels,
    labels: channelLabels(s.info) ?? Array.from({ length: channels }, (_, i) => `ch${i + 1}`),
    binMs: bw,
    bins: n,
    timestamps: s.timeStamps,
    counts,
  };
  const kin = streams.find((x) => x.info.type === 'Kinematics' && ArrayBuffer.isView(x.data) && !(x.data instanceof BigInt64Array));
  if (kin) rec.kinematics = alignVelocity(rec, kin);
  return rec;
}

/** Velocity channels of a kinematics stream resampled to the bins by nearest timestamp (both sorted). */
function alignVelocity(rec: Recording, kin: XdfStream): Recording['kinematics'] {
  const labels = channelLabels(kin.info) ?? [];
  const idx = labels.map((l, i) => [l, i] as const).filter(([l]) => /^vel/i.test(l));
  if (idx.length === 0) return undefined;
  const data = kin.data as ArrayLike<number>;
  const kc = kin.info.channelCount;
  const kt = kin.timeStamps;
  const out = new Float64Array(rec.bins * idx.length).fill(NaN);
  const tol = rec.binMs / 2000;
  let j = 0;
  for (let b = 0; b < rec.bins; b++) {
    const t = rec.timestamps[b];
    while (j + 1 < kt.length && Math.abs(kt[j + 1] - t) <= Math.abs(kt[j] - t)) j++;
    if (kt.length === 0 || Math.abs(kt[j] - t) > tol) continue;
    for (let k = 0; k < idx.length; k++) out[b * idx.length + k] = data[j * kc + idx[k][1]];
  }
  return { labels: idx.map(([l]) => l), velocity: out };
}

/** Bins [from, to) of a recording, sharing its memory (e.g. to replay only a held-out block). */
export function sliceRecording(rec: Recording, from: number, to: number): Recording {
  const a = Math.max(0, Math.min(rec.bins, Math.floor(from)));
  const b = Math.max(a, Math.min(rec.bins, Math.floor(to)));
  if (b === a) throw new ReplayError('EEMPTY', `${rec.path}: bins [${from}, ${to}) of ${rec.bins} are empty`);
  const k = rec.kinematics?.labels.length ?? 0;
  return {
    ...rec,
    bins: b - a,
    timestamps: rec.timestamps.subarray(a, b),
    counts: rec.counts.subarray(a * rec.channels, b * rec.channels) as Recording['counts'],
    kinematics: rec.kinematics ? { labels: rec.kinematics.labels, velocity: rec.kinematics.velocity.subarray(a * k, b * k) } : undefined,
  };
}

/** Seconds from the first bin to the start of the next pass when looping. */
export function loopPeriodS(rec: Recording): number {
  return rec.timestamps[rec.bins - 1] - rec.timestamps[0] + rec.binMs / 1000;
}

/** The recording's bin for global index i (seq = i), wrapping with continuing timestamps. */
export function binAt(rec: Recording, i: number): SpikeBin {
  const j = i % rec.bins;
  const pass = (i - j) / rec.bins;
  return {
    seq: i,
    timestamp: rec.timestamps[j] + pass * loopPeriodS(rec),
    counts: rec.counts.subarray(j * rec.channels, (j + 1) * rec.channels),
    binMs: rec.binMs,
    streamId: rec.name,
    receivedNs: 0,
    receivedLslTime: 0,
  };
}

/** Release time of bin i in ms after the start, at `speed`× real time. */
export function releaseMs(rec: Recording, i: number, speed: number): number {
  const j = i % rec.bins;
  const pass = (i - j) / rec.bins;
  return ((rec.timestamps[j] - rec.timestamps[0] + pass * loopPeriodS(rec)) * 1000) / speed;
}

const SPIN_MS = 1.5;
const NAP_MS = 0.08;
const MAX_BATCH = 64;
const napCell = new Int32Array(new SharedArrayBuffer(4));

export interface Pacer {
  stop(): void;
}

/**
 * Calls `emit(i)` for i = 0 … count−1 at `startMs + dueMs(i)` (performance.now() clock);
 * dueMs undefined means as fast as possible, in batches that yield to the event loop.
 * `emit` returning false stops the pacer (e.g. a send window is full; call `resume`).
 */
export function pace(opts: { count: number; dueMs?: (i: number) => number; emit: (i: number) => boolean | void; done: () => void }): Pacer & { resume(): void } {
  const { count, dueMs, emit, done } = opts;
  const start = performance.now();
  let i = 0;
  let stopped = false;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const tick = (): void => {
    timer = undefined;
    immediate = undefined;
    if (stopped) return;
    if (!dueMs) {
      for (let b = 0; b < MAX_BATCH && i < count && !stopped; b++)
        if (emit(i++) === false) {
          paused = true;
          break;
        }
    } else {
      let now = performance.now();
      while (i < count && !stopped && start + dueMs(i) <= now) {
        if (emit(i++) === false) {
          paused = true;
          break;
        }
        now = performance.now();
      }
    }
    if (stopped || paused) return;
    if (i >= count) {
      stopped = true;
      done();
      return;
    }
    const wait = dueMs ? start + dueMs(i) - performance.now() : 0;
    if (wait > SPIN_MS) timer = setTimeout(tick, wait - SPIN_MS);
    else {
      // Nothing ever notifies napCell: this is a precise sub-millisecond sleep.
      if (wait > 2 * NAP_MS) Atomics.wait(napCell, 0, 0, NAP_MS);
      immediate = setImmediate(tick);
    }
  };
  immediate = setImmediate(tick);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
    resume() {
      if (!paused || stopped) return;
      paused = false;
      immediate = setImmediate(tick);
    },
  };
}

export function checkSpeed(speed: unknown): number | 'max' {
  if (speed === 'max') return 'max';
  const v = typeof speed === 'string' ? Number(speed) : speed;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new ReplayError('EREPLAYOPTS', `replay: speed must be a positive number or "max", got ${JSON.stringify(speed)}`);
  return v;
}

/** The recording's spike stream as SpikeBins (seq 0, 1, 2 …), paced by its timestamps; completes at the end unless `loop`. Bins are reused: copy to keep. */
export function replaySource(opts: ReplayOptions): Observable<SpikeBin> {
  const speed = checkSpeed(opts.speed);
  if (!opts.path) throw new ReplayError('EREPLAYOPTS', 'replay: path must not be empty');
  return new Observable<SpikeBin>((subscriber) => {
    let inner: { unsubscribe(): void } | undefined;
    let closed = false;
    loadRecording(opts.path, opts.stream).then(
      (rec) => {
        if (!closed) inner = replayRecording(rec, speed, opts.loop ?? false).subscribe(subscriber);
      },
      (err: unknown) => subscriber.error(err),
    );
    return () => {
      closed = true;
      inner?.unsubscribe();
    };
  });
}

/**
 * A loaded recording as SpikeBins; each subscription starts its own clock at seq 0. Allocation-free
 * per bin: the emitted SpikeBin and its counts are reused for the next bin (as the daemon's sources
 * do), so a subscriber that keeps bins must copy them.
 */
export function replayRecording(rec: Recording, speed: number | 'max', loop = false): Observable<SpikeBin> {
  const sp = checkSpeed(speed);
  return new Observable<SpikeBin>((subscriber) => {
    const counts = new Float64Array(rec.channels);
    const bin: SpikeBin = { seq: 0, timestamp: 0, counts, binMs: rec.binMs, streamId: rec.name, receivedNs: 0, receivedLslTime: 0 };
    const period = loopPeriodS(rec);
    const pacer = pace({
      count: loop ? Number.POSITIVE_INFINITY : rec.bins,
      dueMs: sp === 'max' ? undefined : (i) => releaseMs(rec, i, sp),
      emit: (i) => {
        const j = i % rec.bins;
        const o = j * rec.channels;
        for (let c = 0; c < rec.channels; c++) counts[c] = rec.counts[o + c];
        bin.seq = i;
        bin.timestamp = rec.timestamps[j] + ((i - j) / rec.bins) * period;
        bin.receivedNs = monotonicNs();
        bin.receivedLslTime = bin.receivedNs * 1e-9 + MONOTONIC_TO_LSL_S;
        subscriber.next(bin);
      },
      done: () => subscriber.complete(),
    });
    return () => pacer.stop();
  });
}

/** `replay:///abs/path.xdf?speed=2&stream=M1&loop=1` → options (for the endpoint registry). */
export function replayOptionsFromUri(uri: URL): ReplayOptions {
  if (uri.protocol !== 'replay:') throw new ReplayError('EREPLAYOPTS', `replay: expected a replay: URI, got ${uri.href}`);
  const path = decodeURIComponent(uri.pathname);
  const speedParam = uri.searchParams.get('speed') ?? '1';
  const loop = uri.searchParams.get('loop');
  return {
    path,
    speed: checkSpeed(speedParam),
    stream: uri.searchParams.get('stream') ?? undefined,
    loop: loop !== null && loop !== '0' && loop !== 'false',
  };
}

export interface ReplayInputOptions extends ReplayOptions {
  /** The model's channel count and bin width: a recording that does not match is refused, naming both. */
  nIn: number;
  binMs: number;
}

/**
 * A recording as the daemon's input. The recording is loaded and checked against the model before
 * this resolves (before the daemon reports ready), so a mismatch is refused at start.
 */
export async function fromReplay(opts: ReplayInputOptions): Promise<{ source: Source; recording: Recording }> {
  const speed = checkSpeed(opts.speed);
  if (!opts.path) throw new ReplayError('EREPLAYOPTS', 'replay: path must not be empty');
  const rec = await loadRecording(opts.path, opts.stream);
  if (rec.channels !== opts.nIn)
    throw new ReplayError('EBADSTREAM', `${rec.path}: stream "${rec.name}" has ${rec.channels} channels, the model expects ${opts.nIn}`);
  if (Math.abs(rec.binMs - opts.binMs) > 1e-6 * opts.binMs)
    throw new ReplayError('EBADSTREAM', `${rec.path}: stream "${rec.name}" has ${rec.binMs} ms bins, the model expects ${opts.binMs} ms`);
  return { source: asIncoming(replayRecording(rec, speed, opts.loop ?? false)), recording: rec };
}
