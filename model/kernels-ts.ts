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
 * Row blocks of the packed layout: [start row, height] for blocks of eight rows, then one of four
 * if at least four rows are left; the rows after the last block (at most three) stay row-major.
 */
function blockRows(rows: number): number {
  const r8 = rows & ~7;
  return rows - r8 >= 4 ? r8 + 4 : r8;
}

/**
 * Where element (r, c) of a row-major [rows, cols] matrix lives in the packed layout of the
 * Kernels contract. A block of h rows (h = 8, or 4 for the last block) starting at row r0
 * occupies [r0·cols, (r0 + h)·cols): first, for each group of four columns g, the h rows' four
 * values of that group ([cols/4][h][4]), then the cols % 4 trailing columns, column by column
 * ([cols % 4][h]). The rows below the last block are row-major. A matrix–vector product then
 * reads the weights as one sequential stream, every x vector load serves h rows, and no lane
 * shuffles are needed inside the loop.
 */
export function packedIndex(r: number, c: number, rows: number, cols: number): number {
  const blocked = blockRows(rows);
  if (r >= blocked) return r * cols + c;
  const r0 = r < (rows & ~7) ? r & ~7 : rows & ~7;
  const h = r < (rows & ~7) ? 8 : 4;
  const i = r - r0;
  const G = cols & ~3;
  if (c < G) return r0 * cols + (c >> 2) * 4 * h + i * 4 + (c & 3);
  return r0 * cols + G * h + (c - G) * h + i;
}

/** Packs a row-major [rows, cols] matrix in place into the layout of packedIndex. */
export function packBlocked(W: Float32Array, rows: number, cols: number): Float32Array {
  checkShape(W, rows, cols);
  const n = blockRows(rows) * cols;
  const src = W.slice(0, n);
  for (let r = 0; r < blockRows(rows); r++) for (let c = 0; c < cols; c++) W[packedIndex(r, c, rows, cols)] = src[r * cols + c];
  return W;
}

/** Inverse of packBlocked (tests, and anyone who needs the PyTorch layout back). */
export function unpackBlocked(W: Float32Array, rows: number, cols: number): Float32Array {
  checkShape(W, rows, cols);
  const n = blockRows(rows) * cols;
  const src = W.slice(0, n);
  for (let r = 0; r < blockRows(rows); r++) for (let c = 0; c < cols; c++) W[r * cols + c] = src[packedIndex(r, c, rows, cols)];
  return W;
}

/** gemv for a W in packBlocked layout: the same sums as gemvTs, reading each weight where packedIndex put it. */
export function gemvPackedTs(y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void {
  const blocked = blockRows(rows);
  const r8 = rows & ~7;
  const G = cols & ~3;
  for (let r0 = 0; r0 < blocked; r0 += r0 < r8 ? 8 : 4) {
    const h = r0 < r8 ? 8 : 4;
    const base = r0 * cols;
    for (let i = 0; i < h; i++) {
      let s = b === null ? 0 : b[r0 + i];
      for (let c = 0; c < G; c++) s += W[base + (c >> 2) * 4 * h + i * 4 + (c & 3)] * x[c];
      for (let c = G; c < cols; c++) s += W[base + G * h + (c - G) * h + i] * x[c];
      y[r0 + i] = s;
    }
  }
  for (let r = blocked, o = blocked * cols; r < rows; r++, o += cols) {
    let s = b === null ? 0 : b[r];
    for (let c = 0; c < cols; c++) s += W[o + c] * x[c];
    y[r] = s;
  }
}

const kernels: Kernels = { backend: 'ts', gemv: gemvTs, packMatrix: packBlocked, gemvPacked: gemvPackedTs };

export const tsKernels: KernelFactory = (lengths: readonly number[]): KernelArena => {
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`kernel buffer length must be a non-negative integer, got ${n}`);
  }
  // Each buffer has its own ArrayBuffer (offset 0), so 16-byte alignment holds trivially.
  return { kernels, buffers: lengths.map((n) => new Float32Array(n)) };
};
