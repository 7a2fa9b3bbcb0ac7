/**
 * The filter the pipeline steps, and the one way to change it while bins flow: a swap or a reset
 * is asked for at any time and applied by the pipeline at the start of the next bin (beforeBin),
 * so no bin is stepped half on one filter and half on another and the bin path never awaits.
 * (INTERFACES.md; the core engineer's version replaces this one when merged.)
 */

export interface StepFilter {
  stepUnchecked(counts: ArrayLike<number>): { velocity: ArrayLike<number> };
  reset(): void;
}

interface Pending {
  next: { filter: StepFilter; modelId: string };
  how: 'reset' | 'carry';
  done: () => void;
}

export class FilterSlot {
  private current: StepFilter;
  private currentId: string;
  private pending: Pending | null = null;
  private resetPending = false;

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

  /** Resolves once the swap happened; a later swap asked for before then replaces this one (which resolves too). */
  swapAtNextBin(next: { filter: StepFilter; modelId: string }, how: 'reset' | 'carry'): Promise<void> {
    this.pending?.done();
    return new Promise<void>((done) => {
      this.pending = { next, how, done };
    });
  }

  resetAtNextBin(): void {
    this.resetPending = true;
  }

  /** At the start of each bin; allocation-free when nothing is pending. */
  beforeBin(): void {
    if (this.pending !== null) {
      const p = this.pending;
      this.pending = null;
      this.current = p.next.filter;
      this.currentId = p.next.modelId;
      if (p.how === 'reset') this.current.reset();
      p.done();
    }
    if (this.resetPending) {
      this.resetPending = false;
      this.current.reset();
    }
  }
}
