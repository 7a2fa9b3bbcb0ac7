/**
 * Stage 3: one accepted bin through the filter in the slot, into the next record of a fixed ring
 * of Decoded (no allocation per bin: a consumer may hold a record `ringSize` bins long).
 */
import type { Decoded, SpikeBin } from '../../streams/types.js';
import type { FilterSlot } from '../filter-slot.js';
import type { RateLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import { PipelineError } from './gaps.js';

export interface StepStageOptions {
  slot: FilterSlot;
  /** Number of velocity components (model velocity_labels). */
  velocityDim: number;
  /** Decoded records in the ring (default 16). */
  ringSize?: number;
  metrics: Metrics;
  limited: RateLimiter;
}

export function stepStage(opts: StepStageOptions): (bin: SpikeBin) => Decoded {
  const ringSize = opts.ringSize ?? 16;
  if (!Number.isInteger(ringSize) || ringSize < 1) throw new PipelineError(`ring size must be a positive integer, got ${ringSize}`);
  if (!Number.isInteger(opts.velocityDim) || opts.velocityDim < 1) throw new PipelineError(`velocity dimension must be a positive integer, got ${opts.velocityDim}`);
  const { slot } = opts;
  const ring: Decoded[] = Array.from({ length: ringSize }, () => ({
    seq: 0, timestamp: 0, velocity: new Float32Array(opts.velocityDim),
    receivedNs: 0, receivedLslTime: 0, decodedNs: 0, sentNs: 0, modelId: slot.modelId, streamId: '',
  }));
  let next = 0;

  return (bin) => {
    const out = slot.filter.stepUnchecked(bin.counts);
    const d = ring[next];
    next = next + 1 === ringSize ? 0 : next + 1;
    const v = out.velocity;
    const dv = d.velocity;
    let finite = true;
    for (let i = 0; i < dv.length; i++) {
      dv[i] = v[i];
      if (!Number.isFinite(dv[i])) finite = false;
    }
    // A filter whose state went non-finite (a model that diverges on this input, huge weights)
    // would send NaN for the rest of the session: a cursor must never get that. Send zero
    // velocity for this bin and start the filter afresh from the next.
    if (!finite) {
      dv.fill(0);
      slot.filter.reset();
      opts.metrics.nonFiniteResets++;
      opts.metrics.resets++;
      const seq = bin.seq;
      opts.limited.warn('nonfinite', 'decode was not finite: zero velocity sent, filter reset', () => ({ seq, model_id: slot.modelId }));
    }
    d.seq = bin.seq;
    d.timestamp = bin.timestamp;
    d.streamId = bin.streamId;
    d.modelId = slot.modelId;
    d.receivedNs = bin.receivedNs;
    d.receivedLslTime = bin.receivedLslTime;
    // Inline rather than monotonicNs(): a double returned from a call is boxed on the heap.
    d.decodedNs = performance.now() * 1e6;
    d.sentNs = 0;
    return d;
  };
}
