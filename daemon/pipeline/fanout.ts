/**
 * Stage 4: a decode to every output (each stamps the wire's sent_ns as it hands the message to its
 * transport), then the latency stamps, then the observers. An output that throws is counted and
 * does not keep the decode from the others.
 */
import type { Decoded, DecodedSink, SpikeBin } from '../../streams/types.js';
import type { RateLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PipelineObserver } from './observer.js';

export interface FanoutStageOptions {
  sinks: readonly DecodedSink[];
  observers: readonly PipelineObserver[];
  metrics: Metrics;
  limited: RateLimiter;
}

export function fanoutStage(opts: FanoutStageOptions): (d: Decoded, bin: SpikeBin) => void {
  const { sinks, observers, metrics, limited } = opts;
  /** [received, decoded, every output has taken it], ns (see Metrics.recordStamps). */
  const stamps = new Float64Array(3);
  return (d, bin) => {
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i].next(d);
      } catch (err) {
        metrics.internalErrors++;
        // Not `i` itself: a closure over the loop variable costs a context per iteration.
        const output = i;
        limited.warn('sink', 'output failed', () => ({ error: err, output }));
      }
    }
    stamps[0] = d.receivedNs;
    stamps[1] = d.decodedNs;
    stamps[2] = performance.now() * 1e6;
    // From here on (observers, the recording) sent_ns is when every output had taken the decode.
    d.sentNs = stamps[2];
    metrics.recordStamps(stamps);
    metrics.binsDecoded++;
    for (let i = 0; i < observers.length; i++) {
      const o = observers[i];
      if (o.decoded !== undefined) o.decoded(d, bin);
    }
  };
}
