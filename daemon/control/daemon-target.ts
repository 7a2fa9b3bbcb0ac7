/**
 * The control plane's view of a running `langevind run` (ControlTarget): counters read from the
 * pipeline's Metrics, swaps through the FilterSlot, the recorder attached and detached between
 * bins. Everything here runs on the event loop between bins; the only things it puts on the bin
 * path are the FilterSlot's pending swap (applied at the start of a bin) and the recorder.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { DecoderName } from '../../model/baselines.js';
import { createDecoder, decoderId } from '../../model/decoders.js';
import { OnlineFilter, sameFilterShape, type FilterOptions } from '../../model/filter.js';
import { KalmanFilter } from '../../model/kalman-filter.js';
import type { LangevinModel } from '../../model/model-file.js';
import { WienerFilter } from '../../model/wiener-filter.js';
import type { FilterSlot } from '../filter-slot.js';
import type { Histogram } from '../histogram.js';
import type { Logger } from '../log.js';
import type { Metrics, Stage } from '../metrics.js';
import { adviseDecoderHugePages, hugePagesOf } from '../hugepages.js';
import { packageVersion } from '../version.js';
import { BetweenBins, type Slice } from './between-bins.js';
import { swapConflicts } from './compat.js';
import { ControlError } from './errors.js';
import { loadModelOffThread } from './model-loader.js';
import { stateNorms } from './norms.js';
import type { CarryPolicy, ControlTarget, LiveCounters, OutputInfo, ReadoutWeights, RecordingInfo, SwapReport } from './target.js';

/** What the recorder (streams/recorder.ts) offers the daemon. */
export interface RecorderLike {
  recordBin(bin: import('../../streams/types.js').SpikeBin): void;
  recordDecoded(d: import('../../streams/types.js').Decoded): void;
  recordReject(r: import('../../streams/recorder.js').RejectedInput): void;
  recordMarker(event: Record<string, unknown>): void;
  close(): Promise<void>;
}

export interface DaemonParts {
  model: LangevinModel;
  /** The decoder the slot runs (`run --decoder`; default langevinflow): reloads build the same kind. */
  decoder?: DecoderName;
  filterOptions: FilterOptions;
  /** Back every LangevinFlow filter it builds with huge pages (`run --hugepages`), as the first one was. */
  hugePages?: boolean;
  slot: FilterSlot;
  metrics: Metrics;
  /** [monotonic ns of the last decoded bin, its seq], written by the decoded observer. */
  lastBin: Float64Array;
  outputs(): OutputInfo[];
  summary(): unknown;
  counters(): LiveCounters;
  /** Called when a swap happened (the hot-swap counter lives in Metrics). */
  countSwap(kind: 'model' | 'readout'): void;
  recorder(): RecorderLike | undefined;
  /** Attaches (or with undefined detaches) the recorder between two bins. */
  setRecorder(r: RecorderLike | undefined, path?: string): void;
  openRecorder(path: string, model: LangevinModel): Promise<RecorderLike>;
  /** The run configuration, hashed for langevind_info. */
  config: unknown;
  recordPath?: string;
  log: Logger;
}

/** Zero-input bins run through a new filter before it goes live (first-touch of its memory, caches). */
const WARM_BINS = 32;
const WARM_PER_SLICE = 4;
/** Operations waiting behind the running one before further requests get EBUSY. */
const MAX_QUEUED = 4;

export class DaemonTarget implements ControlTarget {
  readonly version = packageVersion();
  readonly configHash: string;
  readonly binMs: number;
  readonly startedNs = performance.now() * 1e6;
  private model: LangevinModel;
  private error: string | null = null;
  private reconnect: string | null = null;
  private last: SwapReport | null = null;
  private rec: RecordingInfo | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  /** The filter swapped out last: the next reload of the same shapes loads into it in place. */
  private standby: OnlineFilter | null = null;
  private readonly slicer: BetweenBins;
  private readonly log: Logger;
  private readonly decoder: DecoderName;

  constructor(private readonly p: DaemonParts) {
    this.model = p.model;
    this.decoder = p.decoder ?? 'langevinflow';
    this.binMs = p.model.config.bin_ms;
    this.configHash = createHash('sha256').update(JSON.stringify(p.config ?? {})).digest('hex').slice(0, 12);
    this.slicer = new BetweenBins(() => p.counters().binsDecoded, this.binMs);
    this.log = p.log.child({ module: 'control' });
    if (p.recordPath) this.rec = { path: p.recordPath, started_at: new Date().toISOString() };
    // A second filter made at start-up, so that even the first reload loads in place in small
    // slices instead of building WebAssembly memory in one long one. A baseline decoder is small
    // and built afresh on each reload. It gets huge pages too: swaps alternate between the two
    // filters, and one on 4 KiB pages takes ~90 µs longer per paced preset-M step (hugepages.ts).
    if (this.decoder === 'langevinflow') {
      this.standby = new OnlineFilter(p.model, p.filterOptions);
      if (p.hugePages) adviseDecoderHugePages(this.standby);
    }
  }

  modelId(): string {
    return this.p.slot.modelId;
  }
  counters(): LiveCounters {
    return this.p.counters();
  }
  latency(stage: Stage): Histogram {
    return this.p.metrics.latency[stage];
  }
  outputs(): OutputInfo[] {
    return this.p.outputs();
  }
  summary(): unknown {
    return this.p.summary();
  }
  lastBinNs(): number {
    return this.p.lastBin[0];
  }
  private lastSeq(): number {
    return this.p.lastBin[0] > 0 ? this.p.lastBin[1] : -1;
  }
  stateNorms(): { z: number; v: number; h: number } {
    // A baseline's state is kinematics or lagged counts, not [z, v, h].
    if (!(this.p.slot.filter instanceof OnlineFilter)) return { z: NaN, v: NaN, h: NaN };
    const f = this.p.slot.filter;
    return stateNorms(f.snapshot().state, f.dims.D, f.dims.H);
  }
  modelError(): string | null {
    return this.error;
  }
  reconnecting(): string | null {
    return this.reconnect;
  }
  /** The input says a reconnect started (a reason) or finished (null). */
  setReconnecting(reason: string | null): void {
    this.reconnect = reason;
  }
  lastSwap(): SwapReport | null {
    return this.last;
  }
  recording(): RecordingInfo | null {
    return this.p.recorder() ? this.rec : null;
  }
  readoutShape(): { rows: number; cols: number } {
    if (!(this.p.slot.filter instanceof OnlineFilter))
      throw new ControlError(409, 'EINCOMPATIBLE', `the daemon decodes with the ${this.decoder} baseline, which has no LangevinFlow readout to swap; load a model with its new ${this.decoder} baseline instead (POST /model)`);
    const f = this.p.slot.filter;
    return { rows: f.dims.K, cols: f.dims.features };
  }

  /** One control operation at a time, in the order asked; a long queue is refused. */
  private serial<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.queued >= MAX_QUEUED) return Promise.reject(new ControlError(409, 'EBUSY', `${this.queued} control operations are already waiting; ${what} refused`));
    this.queued++;
    const run = this.queue.then(fn, fn);
    this.queue = run.then(() => { this.queued--; }, () => { this.queued--; });
    return run;
  }

  /**
   * Waits for the slot to apply what was asked at the next bin; if the input is silent and no bin
   * comes within a few bin widths, applies it now (no bin is in flight on this event loop).
   */
  private async applied(done: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(100, 5 * this.binMs))));
    if ((await Promise.race([done, waited])) === 'late') this.p.slot.beforeBin();
    clearTimeout(timer);
    await done;
  }

  /** The compare-and-swap guard: a swap meant for one running model is not applied to another. */
  private expect(expectModelId: string | undefined, what: string): void {
    if (expectModelId !== undefined && expectModelId !== this.modelId())
      throw new ControlError(409, 'EMODELMISMATCH', `${what} expects the running model to be ${expectModelId}, but ${this.modelId()} is running; nothing was changed`, { running_model_id: this.modelId() });
  }

  private marker(event: Record<string, unknown>): void {
    this.p.recorder()?.recordMarker({ ...event, time: new Date().toISOString() });
  }

  reloadModel(path: string, state: CarryPolicy, expectModelId?: string): Promise<SwapReport> {
    return this.serial('model reload', async () => {
      const t0 = performance.now();
      this.expect(expectModelId, `the reload of ${path}`);
      let model: LangevinModel;
      try {
        model = await loadModelOffThread(path);
      } catch (err) {
        const e = err as ControlError;
        this.error = `model ${path} failed to load: ${e.message}; ${this.modelId()} keeps decoding`;
        this.log.error('model reload failed', { path, error: e });
        throw e;
      }
      // A baseline's carried state is its own (checked when carried), not LangevinFlow's.
      const conflicts = swapConflicts(this.model.config, model.config, this.decoder === 'langevinflow' ? state : 'reset');
      if (this.decoder !== 'langevinflow' && model.baselines[this.decoder] === undefined) conflicts.push(`it has no ${this.decoder} baseline, which the daemon decodes with (run --decoder ${this.decoder})`);
      if (conflicts.length > 0) throw new ControlError(409, 'EINCOMPATIBLE', `model ${path} cannot replace the running one: ${conflicts.join('; ')}`, { reasons: conflicts });
      if (this.decoder !== 'langevinflow') return this.reloadBaseline(model, path, state, t0);
      // In place into the filter swapped out last when the shapes allow (one tensor per slice, no
      // new WebAssembly memory), else a new filter (one longer slice).
      const reuse = this.standby !== null && sameFilterShape(this.standby.config, model.config) ? this.standby : null;
      let next: OnlineFilter = reuse as OnlineFilter;
      const zeros = new Float32Array(model.config.n_in);
      const slices: Slice[] = reuse ? reuse.reloadSteps(model) : [() => { next = new OnlineFilter(model, this.p.filterOptions); }];
      // A new memory is backed in a slice of its own (madvise + MADV_COLLAPSE: ~3 ms for preset M).
      if (!reuse && this.p.hugePages) slices.push(() => { adviseDecoderHugePages(next); });
      for (let i = 0; i < WARM_BINS; i += WARM_PER_SLICE) slices.push(() => { for (let j = 0; j < WARM_PER_SLICE; j++) next.step(zeros); });
      slices.push(() => next.reset());
      const stats = await this.slicer.run(slices);
      const previous = this.modelId();
      const outgoing = this.p.slot.filter as unknown as OnlineFilter;
      // One synchronous block: the carried state is the old filter's after the last bin it will see.
      if (state === 'carry') {
        const cur = this.p.slot.filter as unknown as OnlineFilter;
        next.restore({ ...cur.snapshot(), modelId: next.modelId });
      }
      const afterSeq = this.lastSeq();
      await this.applied(this.p.slot.swapAtNextBin({ filter: next as never, modelId: model.id }, state));
      this.model = model;
      this.standby = outgoing;
      this.error = null;
      this.p.countSwap('model');
      const report: SwapReport = {
        kind: 'model', model_id: model.id, previous_model_id: previous, state, after_seq: afterSeq,
        prepare_ms: round(performance.now() - t0), longest_slice_ms: round(stats.longestMs), slices: stats.slices, in_place: reuse !== null, path,
        ...(this.p.hugePages ? { huge_pages: hugePagesReport(next) } : {}),
      };
      this.last = report;
      this.log.info('model swapped', { ...report });
      this.marker({ event: 'model_swapped', ...report });
      return report;
    });
  }

  /**
   * The same reload for a Wiener or Kalman decoder (`run --decoder`): the new model's baseline of
   * that kind, built and warmed up off the bin path, swapped in between two bins; `carry` continues
   * from the running filter's state (Kalman x and P, Wiener's lagged bins), as a ReFIT-KF
   * observation model is applied.
   */
  private async reloadBaseline(model: LangevinModel, path: string, state: CarryPolicy, t0: number): Promise<SwapReport> {
    const name = this.decoder;
    let next!: KalmanFilter | WienerFilter;
    const zeros = new Float32Array(model.config.n_in);
    const slices: Slice[] = [() => { next = createDecoder(model, name, this.p.filterOptions) as KalmanFilter | WienerFilter; }];
    for (let i = 0; i < WARM_BINS; i += WARM_PER_SLICE) slices.push(() => { for (let j = 0; j < WARM_PER_SLICE; j++) next.stepUnchecked(zeros); });
    slices.push(() => next.reset());
    let stats;
    try {
      stats = await this.slicer.run(slices);
    } catch (err) {
      throw new ControlError(409, 'EINCOMPATIBLE', `model ${path}: its ${name} baseline does not fit the stream: ${(err as Error).message}`);
    }
    const previous = this.modelId();
    const id = decoderId(model, name);
    if (state === 'carry') {
      // One synchronous block, as for LangevinFlow: the state carried is the one after the last bin the old filter sees.
      const cur = this.p.slot.filter as unknown;
      try {
        if (next instanceof KalmanFilter && cur instanceof KalmanFilter) next.carryFrom(cur);
        else if (next instanceof WienerFilter && cur instanceof WienerFilter) next.carryFrom(cur);
        else throw new Error('the running filter is of another kind');
      } catch (err) {
        throw new ControlError(409, 'EINCOMPATIBLE', `model ${path}: state "carry" needs the same ${name} state shape (${(err as Error).message}); use "reset"`);
      }
    }
    const afterSeq = this.lastSeq();
    await this.applied(this.p.slot.swapAtNextBin({ filter: next, modelId: id }, state));
    this.model = model;
    this.error = null;
    this.p.countSwap('model');
    const report: SwapReport = {
      kind: 'model', model_id: id, previous_model_id: previous, state, after_seq: afterSeq,
      prepare_ms: round(performance.now() - t0), longest_slice_ms: round(stats.longestMs), slices: stats.slices, in_place: false, path,
    };
    this.last = report;
    this.log.info('model swapped', { ...report, decoder: name });
    this.marker({ event: 'model_swapped', decoder: name, ...report });
    return report;
  }

  /**
   * When the readout comes from a whole model file that is the running model in everything but its
   * readout (a ReFIT of it), the filter is that model after the swap, and takes its id: the
   * decodes, /status and a next ReFIT round then name the model that is really running. The
   * comparison runs between bins, one tensor per slice. Null for anything else.
   */
  private async identityAfterReadout(file: string | undefined): Promise<LangevinModel | null> {
    if (file === undefined || !file.endsWith('.safetensors')) return null;
    let m: LangevinModel;
    try {
      m = await loadModelOffThread(file);
    } catch {
      return null; // A file with only the readout tensors: it names no model.
    }
    const cur = this.model;
    const keys = Object.keys(cur.weights).filter((k) => !k.startsWith('velocity.'));
    if (!isDeepStrictEqual(m.config, cur.config) || Object.keys(m.weights).length !== Object.keys(cur.weights).length || keys.some((k) => m.weights[k]?.length !== cur.weights[k].length)) return null;
    let same = true;
    await this.slicer.run(keys.map((k) => () => {
      if (!same) return;
      const a = m.weights[k], b = cur.weights[k];
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) { same = false; return; }
    }));
    return same ? m : null;
  }

  swapReadout(w: ReadoutWeights, expectModelId?: string): Promise<SwapReport> {
    return this.serial('readout swap', async () => {
      const t0 = performance.now();
      this.expect(expectModelId, `the readout swap from ${w.source}`);
      this.readoutShape(); // refuses a baseline decoder
      const f = this.p.slot.filter as OnlineFilter;
      let prepared;
      try {
        prepared = f.prepareReadout(w.weight, w.bias);
      } catch (err) {
        throw new ControlError(409, 'EINCOMPATIBLE', (err as Error).message);
      }
      const named = await this.identityAfterReadout(w.file);
      const previous = this.modelId();
      let afterSeq = -1;
      // Two copies into the filter's buffers, placed right after a bin like every other change.
      const stats = await this.slicer.run([() => {
        if (this.p.slot.filter !== f) return;
        afterSeq = this.lastSeq();
        f.setReadout(prepared);
        if (named) this.p.slot.rename(named.id);
      }]);
      if (this.p.slot.filter !== f) throw new ControlError(409, 'EBUSY', 'the model was swapped while the readout was being prepared; send it again');
      if (named) this.model = named;
      this.p.countSwap('readout');
      const report: SwapReport = {
        kind: 'readout', model_id: this.modelId(), previous_model_id: previous, state: 'carry', after_seq: afterSeq,
        prepare_ms: round(performance.now() - t0), longest_slice_ms: round(stats.longestMs), path: w.source,
      };
      this.last = report;
      this.log.info('readout swapped', { ...report });
      this.marker({ event: 'readout_swapped', ...report });
      return report;
    });
  }

  resetFilter(): void {
    this.p.slot.resetAtNextBin();
    this.marker({ event: 'filter_reset', model_id: this.modelId(), after_seq: this.lastSeq() });
  }

  startRecording(path: string): Promise<RecordingInfo> {
    return this.serial('recording start', async () => {
      if (this.p.recorder()) throw new ControlError(409, 'ERECORDING', `already recording to ${this.rec?.path}; stop it first`);
      let r: RecorderLike;
      try {
        r = await this.p.openRecorder(path, this.model);
      } catch (err) {
        throw new ControlError(400, 'ERECORDING', `cannot record to ${path}: ${(err as Error).message}`);
      }
      this.p.setRecorder(r, path);
      this.rec = { path, started_at: new Date().toISOString() };
      r.recordMarker({ event: 'recording_started', model_id: this.modelId(), after_seq: this.lastSeq(), time: this.rec.started_at });
      this.log.info('recording started', { path });
      return this.rec;
    });
  }

  stopRecording(): Promise<RecordingInfo & { stopped_at: string }> {
    return this.serial('recording stop', async () => {
      const r = this.p.recorder();
      if (!r || !this.rec) throw new ControlError(409, 'ERECORDING', 'not recording');
      const info = { ...this.rec, stopped_at: new Date().toISOString() };
      r.recordMarker({ event: 'recording_stopped', model_id: this.modelId(), after_seq: this.lastSeq(), time: info.stopped_at });
      this.p.setRecorder(undefined);
      this.rec = null;
      try {
        await r.close();
      } catch (err) {
        throw new ControlError(500, 'ERECORDING', `recording ${info.path} did not close cleanly: ${(err as Error).message}`);
      }
      this.log.info('recording stopped', { path: info.path });
      return info;
    });
  }
}

/** The swapped-in filter's huge pages, as the swap report gives them. */
function hugePagesReport(filter: object): SwapReport['huge_pages'] {
  const r = hugePagesOf(filter);
  return r ? { bytes: r.bytes, collapsed: r.collapsed } : null;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
