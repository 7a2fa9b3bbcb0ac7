/**
 * The daemon's bin path, as small stages composed in one RxJS operator:
 *
 *   Incoming (a source decoded the frames, or says why not)
 *     → validate   count, judge once, reject with a reason     (validate.ts)
 *     → slot       apply a pending filter swap or reset         (../filter-slot.ts)
 *     → gaps       restart reset, gap fill or reset            (gaps.ts)
 *     → step       filter.stepUnchecked into a Decoded ring     (step.ts)
 *     → fanout     outputs, latency stamps, observers           (fanout.ts)
 *
 * Between a message's arrival and its decode reaching the outputs everything runs synchronously in
 * one call: no await, no timers, and no allocation in the steady state. Bad input is counted, logged
 * once per kind with rate limiting, and skipped; nothing a peer sends can end the pipeline.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Decoded, DecodedSink, Incoming } from '../../streams/types.js';
import type { FilterSlot } from '../filter-slot.js';
import { RateLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { fanoutStage } from './fanout.js';
import { gapStage, type GapPolicy } from './gaps.js';
import type { PipelineObserver } from './observer.js';
import { stepStage } from './step.js';
import { validateStage } from './validate.js';

export { GAP_POLICIES, PipelineError, type GapPolicy } from './gaps.js';
export type { PipelineObserver } from './observer.js';

export interface PipelineOptions {
  slot: FilterSlot;
  nIn: number;
  binMs: number;
  /** Number of velocity components (model velocity_labels). */
  velocityDim: number;
  sinks: readonly DecodedSink[];
  /** Used as given, not copied: entries added or removed between bins take effect at the next. */
  observers?: PipelineObserver[];
  metrics: Metrics;
  log: Logger;
  gapPolicy?: GapPolicy;
  maxGap?: number;
  /** Expected stream_id; default: the first one seen. */
  streamId?: string;
  /** Decoded records in the ring (default 16); a consumer may hold one that long. */
  ringSize?: number;
}

/**
 * The decode operator. Emits each Decoded after it went to the outputs and the observers; the
 * emitted object is reused `ringSize` bins later. Options are checked when it is created.
 */
export function decode(opts: PipelineOptions): OperatorFunction<Incoming, Decoded> {
  const observers = opts.observers ?? [];
  const { slot, metrics } = opts;
  const log = opts.log.child({ module: 'pipeline' });
  const stages = (limited: RateLimiter) => ({
    validate: validateStage({ nIn: opts.nIn, binMs: opts.binMs, streamId: opts.streamId, metrics, observers, limited }),
    gaps: gapStage({ slot, nIn: opts.nIn, binMs: opts.binMs, gapPolicy: opts.gapPolicy, maxGap: opts.maxGap, metrics, log, limited }),
    step: stepStage({ slot, velocityDim: opts.velocityDim, ringSize: opts.ringSize, metrics, limited }),
    fanout: fanoutStage({ sinks: opts.sinks, observers, metrics, limited }),
  });
  stages(new RateLimiter(log)); // checks the options now rather than at subscription

  return (source) =>
    new Observable<Decoded>((subscriber) => {
      // Every subscription starts from fresh stage state.
      const limited = new RateLimiter(log);
      const { validate, gaps, step, fanout } = stages(limited);
      return source.subscribe({
        next(m) {
          try {
            if (!validate.take(m)) return;
            const resets = slot.resets;
            slot.beforeBin();
            if (slot.resets !== resets) metrics.resets++;
            gaps(m.bin, validate.verdict, validate.previousSeq);
            const d = step(m.bin);
            fanout(d, m.bin);
            subscriber.next(d);
          } catch (err) {
            // A bug or a filter failure must not end the daemon: count it, log it, keep going.
            metrics.internalErrors++;
            // The log closure captures catch-block locals only: one that captured `m` would make
            // V8 allocate a context for next() on every bin.
            const seq = m?.bin?.seq;
            limited.warn('internal', 'bin processing failed', () => ({ error: err, seq }));
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
