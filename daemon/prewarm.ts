/**
 * `langevind run --prewarm MS`: read the model back into the CPU caches MS milliseconds before the
 * next bin is due, so the step does not pay for fetching its weights from memory.
 *
 * Why: the step is memory-bound (preset M reads 4.4 MB of weights per bin). Stepped back to back
 * it runs from cache; stepped once per 20 ms bin, other work on the machine has evicted the
 * weights in between and the same step takes about twice as long (bench/lab/paced-step.ts:
 * 159 µs back to back, 304–359 µs with 20 ms sleeps, 162 µs with 2 ms sleeps, on the 2-core dev
 * VM under load). Reading one word per cache line of every buffer shortly before the bin brings
 * them back (what a hardware prefetcher cannot guess across 20 ms of idle).
 *
 * Off the bin path: one Timeout, re-armed by refresh() after every decoded bin (no allocation), so
 * it fires bin_ms − MS after the last bin, i.e. MS before the next one at a steady rate. A late
 * timer can delay a bin by at most one pass over the buffers (about as long as a cold step).
 */
/** What a filter exposes for prewarming: OnlineFilter's buffers; nothing for the baselines. */
export function buffersOf(filter: unknown): readonly ArrayBufferView[] {
  const b = (filter as { buffers?: unknown }).buffers;
  return Array.isArray(b) ? (b as ArrayBufferView[]) : [];
}

export class Prewarmer {
  private views: Int32Array[] = [];
  /** The buffer list the views were made from (they are remade when a hot swap brings another). */
  private source: readonly ArrayBufferView[] | null = null;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Where the reads go, so the compiler cannot drop them. */
  private sink = 0;
  /** Passes made (tests and the summary read it). */
  passes = 0;

  /** `buffers()`: what the next step will read (called at each pass: the filter may have been swapped). */
  constructor(private readonly buffers: () => readonly ArrayBufferView[], binMs: number, leadMs: number) {
    if (!(leadMs > 0 && leadMs < binMs)) throw new RangeError(`prewarm lead must be between 0 and the bin width (${binMs} ms), got ${leadMs}`);
    this.delayMs = binMs - leadMs;
  }

  /** After each bin: the next pass comes bin_ms − lead from now. */
  binDone(): void {
    if (this.timer) this.timer.refresh();
    else if (!this.closed) {
      // Created at the first bin (a cleared Timeout cannot be refreshed back to life).
      this.timer = setTimeout(this.touch, this.delayMs);
      this.timer.unref();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private readonly touch = (): void => {
    const src = this.buffers();
    if (src !== this.source) {
      this.source = src;
      this.views = src.map((b) => new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2));
    }
    let s = 0;
    const vs = this.views;
    // 16 words = 64 bytes, one cache line.
    for (let k = 0; k < vs.length; k++) {
      const v = vs[k];
      for (let i = 0; i < v.length; i += 16) s ^= v[i];
    }
    this.sink ^= s;
    this.passes++;
  };
}
