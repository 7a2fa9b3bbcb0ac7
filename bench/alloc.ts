/**
 * The project's one way to measure allocation per iteration of a loop (bench/step.ts for the
 * filter, tests for the bin-path observers). Needs `--expose-gc`, and a fixed young generation
 * (`--min-semi-space-size=64 --max-semi-space-size=64`) so no scavenge hides growth in a window.
 */
import v8 from 'node:v8';

/** Node flags a process measuring allocation must be started with. */
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
 * Bytes allocated per iteration of fn. Heap growth over a window is c + A·n + (one-off noise ≥ 0:
 * JIT code, a background task's objects), so the least growth over three windows of each size
 * keeps the per-iteration part A and drops the noise; A = (min g(4M) − min g(M)) / 3M.
 */
export function bytesPerIteration(fn: (n: number) => void, M: number): number {
  let g1 = Infinity;
  let g4 = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    g1 = Math.min(g1, heapGrowth(fn, M));
    g4 = Math.min(g4, heapGrowth(fn, 4 * M));
  }
  return (g4 - g1) / (3 * M);
}
