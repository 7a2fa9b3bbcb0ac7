/**
 * Checks each SpikeBin at the daemon's edge, before it reaches the filter. Pure bookkeeping, no
 * I/O and no allocation per bin: the caller logs and counts what check() reports.
 *
 * Policy (documented in the README):
 * - stream_id: the daemon locks onto the configured id, or else the first one it sees; bins of any
 *   other stream are rejected (`stream_id`). An empty stream_id is accepted as "unnamed". When the
 *   lock was not configured and the followed stream has been silent for `streamTimeoutNs` (a rig
 *   restarted under a new id), the next stream to send takes over: accepted, `streamChanged` and
 *   `restart` set. A configured id is never given up.
 * - bin_ms: 0 means "not stated"; any other value must equal the model's bin_ms (`bin_ms`).
 * - counts: exactly n_in entries (`channels`), each a finite non-negative integer (`counts`).
 * - seq: equal to the last in-order seq → `duplicate`; lower by at most `maxReorder` → `reordered`;
 *   lower by more → the source restarted: accepted, `restart` set (the filter is reset).
 *   Higher by more than one → a gap: `missing` says how many bins the filter must fill first.
 *   A bin rejected for its content still takes its place in the sequence, so the filter fills it
 *   like a missing bin rather than silently running one bin short.
 */
import { validateCounts } from '../model/filter.js';
import type { SpikeBin } from '../streams/types.js';

export type RejectKind = 'undecodable' | 'stream_id' | 'bin_ms' | 'channels' | 'counts' | 'duplicate' | 'reordered';
export const REJECT_KINDS: readonly RejectKind[] = ['undecodable', 'stream_id', 'bin_ms', 'channels', 'counts', 'duplicate', 'reordered'];

export interface ValidatorOptions {
  nIn: number;
  binMs: number;
  /** Expected stream_id; undefined: lock onto the first seen. */
  streamId?: string;
  /** A seq this far or less below the last is reordered/duplicate; further below is a source restart. */
  maxReorder?: number;
  /**
   * Silence (monotonic ns, from SpikeBin.receivedNs) after which another stream may take over an
   * automatic lock; default 1 s. Two live streams never take turns: the followed one is not silent.
   */
  streamTimeoutNs?: number;
}

export class BinValidator {
  /** After an accepted bin: bins the filter must step through (with zero input) before this one. */
  missing = 0;
  /** After an accepted bin: of `missing`, how many were never seen (a true gap in seq). */
  unseen = 0;
  /** After an accepted bin: the source restarted (seq jumped far back); reset the filter first. */
  restart = false;
  /** After an accepted bin: it comes from a new stream that took over a silent one (restart is set too). */
  streamChanged = false;
  private lastSeq = -1;
  private pendingMissing = 0;
  private lockedStream: string | undefined;
  private lockedLastNs = 0;
  /** A takeover happened; the next accepted bin resets the filter (an intervening bin may be rejected). */
  private takeoverPending = false;
  private readonly maxReorder: number;
  private readonly streamTimeoutNs: number;

  constructor(private readonly opts: ValidatorOptions) {
    this.lockedStream = opts.streamId;
    this.maxReorder = opts.maxReorder ?? 100;
    this.streamTimeoutNs = opts.streamTimeoutNs ?? 1e9;
  }

  /** null: accepted (then read missing / unseen / restart). Otherwise the reason it was dropped. */
  check(bin: SpikeBin): RejectKind | null {
    this.missing = 0;
    this.unseen = 0;
    this.restart = false;
    this.streamChanged = false;
    if (this.lockedStream === undefined) this.lockedStream = bin.streamId;
    else if (bin.streamId !== this.lockedStream && bin.streamId !== '') {
      if (this.opts.streamId !== undefined || bin.receivedNs - this.lockedLastNs < this.streamTimeoutNs) return 'stream_id';
      this.takeoverPending = true;
      this.lockedStream = bin.streamId;
      this.lastSeq = -1;
      this.pendingMissing = 0;
    }
    if (bin.streamId === this.lockedStream) this.lockedLastNs = bin.receivedNs;
    // Written as !(… <= tol) so that a NaN bin_ms is refused too (NaN > tol is false).
    if (bin.binMs !== 0 && !(Math.abs(bin.binMs - this.opts.binMs) <= 1e-9 * this.opts.binMs)) return 'bin_ms';
    const seq = bin.seq;
    let restart = false;
    if (this.lastSeq >= 0 && seq <= this.lastSeq) {
      if (seq === this.lastSeq) return 'duplicate';
      if (this.lastSeq - seq <= this.maxReorder) return 'reordered';
      restart = true;
    }
    const content = countsProblem(bin.counts, this.opts.nIn);
    const jump = this.lastSeq < 0 || restart ? 0 : seq - this.lastSeq - 1;
    if (restart) this.pendingMissing = 0;
    this.lastSeq = seq;
    if (content !== null) {
      this.pendingMissing += jump + 1;
      return content;
    }
    this.unseen = jump;
    this.missing = this.pendingMissing + jump;
    this.pendingMissing = 0;
    this.restart = restart || this.takeoverPending;
    this.streamChanged = this.takeoverPending;
    this.takeoverPending = false;
    return null;
  }

  /** Forget the sequence (after a filter reset by policy); stream lock stays. */
  resync(): void {
    this.lastSeq = -1;
    this.pendingMissing = 0;
  }

  get expectedStream(): string | undefined {
    return this.lockedStream;
  }
}

/**
 * 'channels' or 'counts' when the vector cannot be fed to the filter, else null: the filter's own
 * check (model/filter.ts validateCounts, the one definition of a valid counts vector), which
 * allocates nothing for a valid vector. This is the only place a bin's counts are checked; the
 * filter then steps them unchecked.
 */
export function countsProblem(counts: ArrayLike<number>, nIn: number): 'channels' | 'counts' | null {
  if (counts.length !== nIn) return 'channels';
  return validateCounts(counts, nIn) === null ? null : 'counts';
}

/** Human-readable detail for a rejected bin; called only when a log line is written. */
export function describeReject(kind: RejectKind, bin: SpikeBin | null, opts: { nIn: number; binMs: number; expectedStream?: string; lastSeq?: number }): string {
  if (!bin) return 'message could not be decoded as a SpikeBin';
  switch (kind) {
    case 'stream_id':
      return `stream_id "${bin.streamId}" is not the stream this daemon follows ("${opts.expectedStream ?? ''}")`;
    case 'bin_ms':
      return `bin_ms ${bin.binMs} does not match the model's ${opts.binMs}`;
    case 'channels':
    case 'counts':
      return validateCounts(bin.counts, opts.nIn) ?? 'counts must be finite non-negative integers';
    case 'duplicate':
      return `seq ${bin.seq} repeats the last accepted seq`;
    case 'reordered':
      return `seq ${bin.seq} arrived after a later bin${opts.lastSeq !== undefined ? ` (${opts.lastSeq})` : ''}`;
    case 'undecodable':
      return 'message could not be decoded as a SpikeBin';
  }
}
