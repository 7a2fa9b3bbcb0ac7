/**
 * The daemon's one pipeline: source → validate → filter → sinks, as an RxJS operator.
 *
 * Between a bin's arrival and its decode reaching the sinks everything runs synchronously in one
 * call: no await, no timers, and no allocation in the steady state (the Decoded records come
 * from a preallocated ring, the velocity is copied into their own arrays, gap filling steps the
 * filter on a preallocated zero vector). Bad input is counted, logged once per kind with rate
 * limiting, and skipped; nothing a peer sends can end the pipeline.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Decoded, SpikeBin } from '../streams/types.js';
import { monotonicNs } from '../streams/types.js';
import type { DecodedSink } from './endpoints.js';
import { RateLimiter, type Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { BinValidator, describeReject, type RejectKind } from './validate.js';

/** What the pipeline needs of model/filter.ts's OnlineFilter. */
export interface StepFilter {
  step(counts: ArrayLike<number>): { velocity: ArrayLike<number> };
  reset(): void;
}

/**
 * monotonicNs() written straight into a typed array: returning the double from a call V8 does
 * not inline would box it in a fresh heap number on every bin.
 */
function stampNs(into: Float64Array, i: number): void {
  into[i] = performance.now() * 1e6;
}

export type GapPolicy = 'zeros' | 'reset';
export const GAP_POLICIES: readonly GapPolicy[] = ['zeros', 'reset'];

export interface PipelineOptions {
  filter: StepFilter;
  nIn: number;
  binMs: number;
  /** Number of velocity components (model velocity_labels). */
  velocityDim: number;
  modelId: string;
  sinks: readonly DecodedSink[];
  metrics: Metrics;
  log: Logger;
  /** `zeros` (default): step the filter through missing bins with zero input; `reset`: reset it. */
  gapPolicy?: GapPolicy;
  /** Longest gap (in bins) that `zeros` fills; a longer one resets the filter (default: 1 s of bins). */
  maxGap?: number;
  /** Expected stream_id; default: the first one seen. */
  streamId?: string;
  /** Every accepted bin, before it is filtered (the recorder). Must not block. */
  onBin?: (bin: SpikeBin) => void;
  /** Every decode, after the sinks (the recorder). Must not block. */
  onDecoded?: (d: Decoded) => void;
  /** Every bin refused by validation, with the reason in words (the recorder). Must not block. */
  onReject?: (kind: RejectKind, bin: SpikeBin, detail: string) => void;
  /** Decoded records in the ring (default 16); a consumer may hold one that long. */
  ringSize?: number;
}

export class PipelineError extends Error {
  readonly code = 'EPIPELINE';
  constructor(message: string) {
    super(message);
    this.name = 'PipelineError';
  }
}

/**
 * The decode operator. Emits each Decoded after it went to the sinks; the emitted object is
 * reused `ringSize` bins later.
 */
export function decode(opts: PipelineOptions): OperatorFunction<SpikeBin, Decoded> {
  const gapPolicy = opts.gapPolicy ?? 'zeros';
  if (!GAP_POLICIES.includes(gapPolicy)) throw new PipelineError(`gap policy must be ${GAP_POLICIES.join(' or ')}, got "${gapPolicy}"`);
  const maxGap = opts.maxGap ?? Math.max(1, Math.round(1000 / opts.binMs));
  if (!Number.isInteger(maxGap) || maxGap < 0) throw new PipelineError(`max gap must be a non-negative integer, got ${maxGap}`);
  const ringSize = opts.ringSize ?? 16;
  if (!Number.isInteger(ringSize) || ringSize < 1) throw new PipelineError(`ring size must be a positive integer, got ${ringSize}`);

  return (source) =>
    new Observable<Decoded>((subscriber) => {
      const { filter, metrics, sinks, nIn, binMs } = opts;
      const log = opts.log.child({ module: 'pipeline' });
      const limited = new RateLimiter(log);
      const validator = new BinValidator({ nIn, binMs, streamId: opts.streamId });
      const zeros = new Float64Array(nIn);
      /** [received, decoded, after the sinks, wire sent_ns], ns. */
      const stamps = new Float64Array(4);
      const ring: Decoded[] = Array.from({ length: ringSize }, () => ({
        seq: 0, timestamp: 0, velocity: new Float32Array(opts.velocityDim),
        receivedNs: 0, decodedNs: 0, sentNs: 0, modelId: opts.modelId, streamId: '',
      }));
      let slot = 0;
      let lastSeq = -1;
      let previousStream = '';

      const reject = (kind: RejectKind, bin: SpikeBin): void => {
        metrics.rejects[kind]++;
        // Worded at most once, and only when the recorder or a log line wants it.
        let detail: string | undefined;
        const describe = (): string => (detail ??= describeReject(kind, bin, { nIn, binMs, expectedStream: validator.expectedStream, lastSeq }));
        opts.onReject?.(kind, bin, describe());
        limited.warn(kind, 'input rejected', () => ({ detail: describe(), seq: bin.seq }));
      };

      const onBin = (bin: SpikeBin): void => {
        if (bin.receivedNs === 0) bin.receivedNs = monotonicNs();
        metrics.binsIn++;
        const kind = validator.check(bin);
        if (kind !== null) {
          reject(kind, bin);
          return;
        }
        opts.onBin?.(bin);
        if (validator.restart) {
          filter.reset();
          metrics.restarts++;
          metrics.resets++;
          if (validator.streamChanged) log.warn('input stream changed after the followed one went silent: filter reset', { stream_id: bin.streamId, previous_stream_id: previousStream, seq: bin.seq });
          else log.warn('source restarted: seq jumped back, filter reset', { seq: bin.seq, last_seq: lastSeq });
        }
        if (bin.streamId !== '') previousStream = bin.streamId;
        const missing = validator.missing;
        if (missing > 0) {
          const unseen = validator.unseen;
          if (unseen > 0) {
            metrics.gaps++;
            metrics.gapBins += unseen;
            limited.warn('gap', 'gap in seq', () => ({ missing: unseen, seq: bin.seq, last_seq: lastSeq, policy: gapPolicy }));
          }
          if (gapPolicy === 'reset' || missing > maxGap) {
            filter.reset();
            metrics.resets++;
          } else {
            for (let i = 0; i < missing; i++) filter.step(zeros);
            metrics.filledBins += missing;
          }
        }
        lastSeq = bin.seq;
        const out = filter.step(bin.counts);
        const d = ring[slot];
        slot = slot + 1 === ringSize ? 0 : slot + 1;
        const v = out.velocity;
        const dv = d.velocity;
        for (let i = 0; i < dv.length; i++) dv[i] = v[i];
        d.seq = bin.seq;
        d.timestamp = bin.timestamp;
        d.streamId = bin.streamId;
        stamps[0] = bin.receivedNs;
        stampNs(stamps, 1);
        stampNs(stamps, 3);
        d.receivedNs = stamps[0];
        d.decodedNs = stamps[1];
        d.sentNs = stamps[3];
        for (let i = 0; i < sinks.length; i++) {
          try {
            sinks[i].next(d);
          } catch (err) {
            metrics.internalErrors++;
            limited.warn('sink', 'output failed', () => ({ error: err, output: i }));
          }
        }
        // The metrics' "sent" is after every sink took the message (the wire's sent_ns is before).
        stampNs(stamps, 2);
        metrics.recordStamps(stamps);
        metrics.binsOut++;
        opts.onDecoded?.(d);
        subscriber.next(d);
      };

      return source.subscribe({
        next(bin) {
          try {
            onBin(bin);
          } catch (err) {
            // A bug or a filter failure must not end the daemon: count it, log it, keep going.
            metrics.internalErrors++;
            limited.warn('internal', 'bin processing failed', () => ({ error: err, seq: bin?.seq }));
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
