/**
 * Bytes allocated per iteration of a loop, from v8's heap statistics: the one measurement of
 * per-step allocation, used by bench/step.ts and by the allocation tests of the decoders. Run the
 * process with `--expose-gc --min-semi-space-size=64 --max-semi-space-size=64`: with a young
 * generation of fixed size, a loop that allocated would grow the heap by that many bytes per
 * iteration in every window (no scavenge can hide it unless a window allocates > 64 MiB).
 */
import v8 from 'node:v8';

export const ALLOC_FLAGS = ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'];

/** Heap growth in bytes over fn(n), after two full collections. */
export function heapGrowth(fn: (n: number) => void, n: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('heapGrowth needs node --expose-gc');
  gc();
  gc();
  const before = v8.getHeapStatistics().used_heap_size;
  fn(n);
  return v8.getHeapStatistics().used_heap_size - before;
}

/**
 * Runs fn in windows of M until three windows in a row grow the heap by the same amount (within
 * 1 KiB or 1 %): until then the JIT is still tiering fn up, and unoptimised code boxes numbers it
 * will not box once optimised (measured: 136 B/iteration in the first window, 0 from the third; on
 * a loaded machine the optimising compile finishes later, and a fixed warm-up missed it).
 * Returns the windows it took, at most `maxWindows`.
 */
export function settle(fn: (n: number) => void, M: number, maxWindows = 40): number {
  let previous = heapGrowth(fn, M);
  let steady = 0;
  for (let w = 2; w <= maxWindows; w++) {
    const g = heapGrowth(fn, M);
    steady = Math.abs(g - previous) <= Math.max(1024, 0.01 * Math.abs(g)) ? steady + 1 : 0;
    if (steady === 2) return w;
    previous = g;
  }
  return maxWindows;
}

/**
 * Bytes allocated per iteration of fn, once settled. Heap growth over a window is c + A·n + (one-off
 * noise ≥ 0: JIT code, a background task's objects), so the least growth over three windows of each
 * size keeps the per-iteration part A and drops the noise; A = (min g(4M) − min g(M)) / 3M (more
 * windows: `reps`).
 */
export function bytesPerIteration(fn: (n: number) => void, M: number, reps = 3): number {
  settle(fn, M);
  let g1 = Infinity;
  let g4 = Infinity;
  for (let rep = 0; rep < reps; rep++) {
    g1 = Math.min(g1, heapGrowth(fn, M));
    g4 = Math.min(g4, heapGrowth(fn, 4 * M));
  }
  return (g4 - g1) / (3 * M);
}
