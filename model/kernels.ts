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
}

export interface KernelArena {
  kernels: Kernels;
  /** One zeroed buffer per requested length, each 16-byte aligned, in request order. */
  buffers: Float32Array[];
}

/** Allocates buffers of the given lengths and returns kernels that operate on them. */
export type KernelFactory = (lengths: readonly number[]) => KernelArena;
