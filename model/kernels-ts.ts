/**
 * Reference kernels in plain TypeScript: ordinary Float32Array buffers and a straightforward
 * row-by-row matrix–vector product. Slow but obviously correct; the WebAssembly kernels are
 * tested against it.
 */
import type { KernelArena, KernelFactory, Kernels } from './kernels.js';

/** y = W·x (+ b), W row-major [rows, cols]. Accumulates in f64 (JS numbers), rounds once per row. */
export function gemvTs(y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void {
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let s = b === null ? 0 : b[r];
    for (let c = 0; c < cols; c++) s += W[o + c] * x[c];
    y[r] = s;
  }
}

const kernels: Kernels = { backend: 'ts', gemv: gemvTs };

export const tsKernels: KernelFactory = (lengths: readonly number[]): KernelArena => {
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`kernel buffer length must be a non-negative integer, got ${n}`);
  }
  // Float32Array storage from the JS heap is always at least 8-byte aligned; give each buffer its
  // own ArrayBuffer so 16-byte alignment holds trivially (offset 0).
  return { kernels, buffers: lengths.map((n) => new Float32Array(n)) };
};
