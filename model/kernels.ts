/**
 * The contract between the online filter and its hot kernels. The filter asks for all of its
 * buffers (weights, state, scratch) in one call before the first bin, so a WebAssembly
 * implementation can place them in one linear memory that never grows afterwards (growing would
 * detach the views). Every Float32Array passed to a kernel must come from that call (subarrays
 * of those buffers are fine).
 */
export type KernelBackend = 'ts' | 'wasm';

export interface Kernels {
  readonly backend: KernelBackend;
  /**
   * y[0..rows) = W · x[0..cols) (+ b[0..rows) when b is given). W is row-major [rows, cols]
   * (PyTorch Linear layout). y must not alias x or W.
   */
  gemv(y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void;
  /**
   * Rearranges a row-major [rows, cols] matrix in place into the layout gemvPacked reads, and
   * returns the same array. Done once at setup (it may allocate): afterwards W is no longer in
   * PyTorch layout and must only be passed to gemvPacked with the same rows and cols.
   * The layout (same for every backend; packedIndex in kernels-ts.ts says where each element
   * goes): blocks of eight rows (one of four at the end), each stored as [cols/4][rows][4 cols]
   * then the cols % 4 last columns, so the product reads one sequential stream and each load of
   * x serves a whole block; the rows % 4 last rows stay row-major.
   */
  packMatrix(W: Float32Array, rows: number, cols: number): Float32Array;
  /** y[0..rows) = W · x (+ b) for a W rearranged by packMatrix(W, rows, cols). Same contract as gemv otherwise. */
  gemvPacked(y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void;
}

export interface KernelArena {
  kernels: Kernels;
  /** One zeroed buffer per requested length, each 16-byte aligned, in request order. */
  buffers: Float32Array[];
}

/** Allocates buffers of the given lengths and returns kernels that operate on them. */
export type KernelFactory = (lengths: readonly number[]) => KernelArena;
