/**
 * Stage 1: every message a source took off its transport, decodable or not, is counted and judged
 * here, once (daemon/validate.ts BinValidator): an undecodable message and a bin with bad content
 * go through the same counters, log lines and observers.
 */
import type { Incoming, SpikeBin } from '../../streams/types.js';
import { MONOTONIC_TO_LSL_S } from '../../streams/lsl/clock.js';
import type { RateLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import { BinValidator, describeReject, type RejectKind } from '../validate.js';
import type { PipelineObserver } from './observer.js';

export interface ValidateStageOptions {
  nIn: number;
  binMs: number;
  /** Expected stream_id; default: the first one seen. */
  streamId?: string;
  metrics: Metrics;
  /** Read on every message, so changes between bins take effect at the next. */
  observers: readonly PipelineObserver[];
  limited: RateLimiter;
}

export interface ValidateStage {
  /** True when the message is an accepted bin; then `verdict` says what the filter must do first. */
  take(m: Incoming): boolean;
  /** After an accepted bin: missing / unseen / restart / streamChanged (see BinValidator). */
  readonly verdict: BinValidator;
  /** After an accepted bin: the seq of the accepted bin before it (-1 if none). */
  readonly previousSeq: number;
}

export function validateStage(opts: ValidateStageOptions): ValidateStage {
  const { nIn, binMs, metrics, observers, limited } = opts;
  const validator = new BinValidator({ nIn, binMs, streamId: opts.streamId });
  let lastSeq = -1;
  let previousSeq = -1;

  const reject = (kind: RejectKind, m: Incoming): void => {
    metrics.rejects[kind]++;
    const bin = m.bin;
    const decoded = m.undecodable === null;
    // Worded at most once, and only when an observer or a log line wants it.
    let detail: string | undefined;
    const describe = (): string =>
      (detail ??= decoded ? describeReject(kind, bin, { nIn, binMs, expectedStream: validator.expectedStream, lastSeq }) : (m.undecodable as string));
    for (let i = 0; i < observers.length; i++) {
      const o = observers[i];
      if (o.rejected !== undefined) o.rejected(kind, describe(), decoded ? bin : undefined, m.raw ?? undefined, bin.receivedNs);
    }
    limited.warn(kind, 'input rejected', () => (decoded ? { detail: describe(), seq: bin.seq } : { detail: describe() }));
  };

  return {
    verdict: validator,
    get previousSeq() {
      return previousSeq;
    },
    take(m: Incoming): boolean {
      metrics.messagesReceived++;
      const bin: SpikeBin = m.bin;
      if (bin.receivedNs === 0) {
        // A source that does not stamp (a test, a custom source): arrival is now.
        bin.receivedNs = performance.now() * 1e6;
        bin.receivedLslTime = bin.receivedNs * 1e-9 + MONOTONIC_TO_LSL_S;
      }
      const kind = m.undecodable !== null ? 'undecodable' : validator.check(bin);
      if (kind !== null) {
        reject(kind, m);
        return false;
      }
      metrics.binsAccepted++;
      previousSeq = lastSeq;
      lastSeq = bin.seq;
      for (let i = 0; i < observers.length; i++) {
        const o = observers[i];
        if (o.accepted !== undefined) o.accepted(bin);
      }
      return true;
    },
  };
}
