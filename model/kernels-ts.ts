/**
 * Reference kernels in plain TypeScript: ordinary Float32Array buffers and straightforward loops.
 * Obviously correct rather than fast; the WebAssembly kernels are tested against them.
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

function checkShape(W: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows * cols > W.length)
    throw new RangeError(`packMatrix: [${rows}×${cols}] does not fit a buffer of ${W.length}`);
}

/**
 * The packed layout of the Kernels contract, in place: row block k (rows 4k…4k+3) becomes
 * [cols][4] (element (4k+i, c) at 4k·cols + 4c + i); the rows % 4 last rows stay row-major.
 * A matrix–vector product then reads the weights as one sequential stream and four rows share
 * every load of x, which is what lets the WebAssembly kernel run near memory bandwidth.
 */
export function packRows4(W: Float32Array, rows: number, cols: number): Float32Array {
  checkShape(W, rows, cols);
  const full = rows & ~3;
  const src = W.slice(0, full * cols);
  for (let r = 0; r < full; r += 4) {
    const base = r * cols;
    for (let i = 0; i < 4; i++) {
      const row = base + i * cols;
      for (let c = 0; c < cols; c++) W[base + 4 * c + i] = src[row + c];
    }
  }
  return W;
}

/** Inverse of packRows4 (tests, and anyone who needs the PyTorch layout back). */
export function unpackRows4(W: Float32Array, rows: number, cols: number): Float32Array {
  checkShape(W, rows, cols);
  const full = rows & ~3;
  const src = W.slice(0, full * cols);
  for (let r = 0; r < full; r += 4) {
    const base = r * cols;
    for (let i = 0; i < 4; i++) {
      const row = base + i * cols;
      for (let c = 0; c < cols; c++) W[row + c] = src[base + 4 * c + i];
    }
  }
  return W;
}

/** gemv for a W in packRows4 layout. */
export function gemvPackedTs(y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void {
  const full = rows & ~3;
  for (let r = 0; r < full; r += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let c = 0, o = r * cols; c < cols; c++, o += 4) {
      const xc = x[c];
      s0 += W[o] * xc;
      s1 += W[o + 1] * xc;
      s2 += W[o + 2] * xc;
      s3 += W[o + 3] * xc;
    }
    if (b !== null) {
      s0 += b[r];
      s1 += b[r + 1];
      s2 += b[r + 2];
      s3 += b[r + 3];
    }
    y[r] = s0;
    y[r + 1] = s1;
    y[r + 2] = s2;
    y[r + 3] = s3;
  }
  for (let r = full, o = full * cols; r < rows; r++, o += cols) {
    let s = b === null ? 0 : b[r];
    for (let c = 0; c < cols; c++) s += W[o + c] * x[c];
    y[r] = s;
  }
}

const kernels: Kernels = { backend: 'ts', gemv: gemvTs, packMatrix: packRows4, gemvPacked: gemvPackedTs };

export const tsKernels: KernelFactory = (lengths: readonly number[]): KernelArena => {
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`kernel buffer length must be a non-negative integer, got ${n}`);
  }
  // Each buffer has its own ArrayBuffer (offset 0), so 16-byte alignment holds trivially.
  return { kernels, buffers: lengths.map((n) => new Float32Array(n)) };
};
