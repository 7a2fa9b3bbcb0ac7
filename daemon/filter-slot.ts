/**
 * The filter the pipeline steps, and the one way to change it while bins flow: a swap or reset is
 * asked for at any time (control plane, recalibration) and applied by the pipeline at the start of
 * the next bin, so no bin is ever stepped half on one filter and half on another, and the bin path
 * itself never awaits anything.
 */

/** What the pipeline needs of model/filter.ts's OnlineFilter. */
export interface StepFilter {
  /** One bin of counts the validate stage already checked (n_in finite non-negative integers). */
  stepUnchecked(counts: ArrayLike<number>): { velocity: ArrayLike<number> };
  reset(): void;
}

export class FilterSlotError extends Error {
  readonly code = 'EFILTERSLOT';
  constructor(message: string) {
    super(message);
    this.name = 'FilterSlotError';
  }
}

interface PendingSwap {
  next: { filter: StepFilter; modelId: string };
  how: 'reset' | 'carry';
  done: () => void;
}

export class FilterSlot {
  private current: StepFilter;
  private currentId: string;
  private swap: PendingSwap | null = null;
  private resetPending = false;
  /** Filters swapped in and resets applied by beforeBin (not the pipeline's own resets). */
  swaps = 0;
  resets = 0;

  constructor(filter: StepFilter, modelId: string) {
    this.current = filter;
    this.currentId = modelId;
  }

  get filter(): StepFilter {
    return this.current;
  }

  get modelId(): string {
    return this.currentId;
  }

  /**
   * Replaces the filter at the start of the next bin. `reset`: the new filter starts from a reset
   * state; `carry`: it is used as it is (e.g. the same filter with a new readout, or one restored
   * from a snapshot). Resolves once the swap happened, so while no bins arrive it stays pending;
   * a later swap asked for before then replaces this one, which resolves too (it never ran).
   */
  swapAtNextBin(next: { filter: StepFilter; modelId: string }, how: 'reset' | 'carry'): Promise<void> {
    if (!next || typeof next.filter?.stepUnchecked !== 'function' || typeof next.filter.reset !== 'function')
      throw new FilterSlotError('swap needs a filter with stepUnchecked() and reset()');
    if (how !== 'reset' && how !== 'carry') throw new FilterSlotError(`swap mode must be reset or carry, got "${String(how)}"`);
    this.swap?.done();
    return new Promise<void>((done) => {
      this.swap = { next, how, done };
    });
  }

  /**
   * The running filter is now another model (a readout swap that made it exactly that model):
   * called between two bins, so every decode names the model that produced it.
   */
  rename(modelId: string): void {
    this.currentId = modelId;
  }

  /** Resets the filter at the start of the next bin. */
  resetAtNextBin(): void {
    this.resetPending = true;
  }

  /** Called by the pipeline at the start of each bin; allocation-free when nothing is pending. */
  beforeBin(): void {
    if (this.swap !== null) {
      const s = this.swap;
      this.swap = null;
      this.current = s.next.filter;
      this.currentId = s.next.modelId;
      if (s.how === 'reset') this.current.reset();
      this.swaps++;
      s.done();
    }
    if (this.resetPending) {
      this.resetPending = false;
      this.current.reset();
      this.resets++;
    }
  }
}
