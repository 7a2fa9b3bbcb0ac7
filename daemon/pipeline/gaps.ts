/**
 * Stage 2: before an accepted bin is stepped, bring the filter to where that bin belongs: reset it
 * after a source restart, and through a gap in seq either step it with zero input (`zeros`, up to
 * maxGap bins) or reset it (`reset`, or a gap beyond maxGap). Bins rejected for their content
 * count as missing here too, so the filter never silently runs a bin short.
 */
import type { SpikeBin } from '../../streams/types.js';
import type { FilterSlot } from '../filter-slot.js';
import type { Logger, RateLimiter } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { BinValidator } from '../validate.js';

export type GapPolicy = 'zeros' | 'reset';
export const GAP_POLICIES: readonly GapPolicy[] = ['zeros', 'reset'];

export class PipelineError extends Error {
  readonly code = 'EPIPELINE';
  constructor(message: string) {
    super(message);
    this.name = 'PipelineError';
  }
}

export interface GapStageOptions {
  slot: FilterSlot;
  nIn: number;
  binMs: number;
  /** `zeros` (default): step the filter through missing bins with zero input; `reset`: reset it. */
  gapPolicy?: GapPolicy;
  /** Longest gap (in bins) that `zeros` fills; a longer one resets the filter (default: 1 s of bins). */
  maxGap?: number;
  metrics: Metrics;
  log: Logger;
  limited: RateLimiter;
}

/** The stage, its options checked: call it with each accepted bin, the validator's verdict and the seq accepted before it. */
export function gapStage(opts: GapStageOptions): (bin: SpikeBin, verdict: Readonly<BinValidator>, previousSeq: number) => void {
  const gapPolicy = opts.gapPolicy ?? 'zeros';
  if (!GAP_POLICIES.includes(gapPolicy)) throw new PipelineError(`gap policy must be ${GAP_POLICIES.join(' or ')}, got "${gapPolicy}"`);
  const maxGap = opts.maxGap ?? Math.max(1, Math.round(1000 / opts.binMs));
  if (!Number.isInteger(maxGap) || maxGap < 0) throw new PipelineError(`max gap must be a non-negative integer, got ${maxGap}`);
  const { slot, metrics, log, limited } = opts;
  const zeros = new Float64Array(opts.nIn);
  let previousStream = '';

  // Log closures below capture only locals of their own block: capturing a parameter would make V8
  // allocate a context on every bin.
  return (bin, verdict, previousSeq) => {
    if (verdict.restart) {
      slot.filter.reset();
      metrics.restarts++;
      metrics.resets++;
      if (verdict.streamChanged) log.warn('input stream changed after the followed one went silent: filter reset', { stream_id: bin.streamId, previous_stream_id: previousStream, seq: bin.seq });
      else log.warn('source restarted: seq jumped back, filter reset', { seq: bin.seq, last_seq: previousSeq });
    }
    if (bin.streamId !== '') previousStream = bin.streamId;
    const missing = verdict.missing;
    if (missing === 0) return;
    if (verdict.unseen > 0) {
      const unseen = verdict.unseen;
      const seq = bin.seq;
      const last = previousSeq;
      metrics.gaps++;
      metrics.gapBins += unseen;
      limited.warn('gap', 'gap in seq', () => ({ missing: unseen, seq, last_seq: last, policy: gapPolicy }));
    }
    if (gapPolicy === 'reset' || missing > maxGap) {
      slot.filter.reset();
      metrics.resets++;
    } else {
      const f = slot.filter;
      for (let i = 0; i < missing; i++) f.stepUnchecked(zeros);
      metrics.filledBins += missing;
    }
  };
}
