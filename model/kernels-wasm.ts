/**
 * WebAssembly-SIMD kernels (sources in model/wasm/assembly/kernels.ts, compiled by scripts/build.mjs
 * to dist/model/wasm/kernels.wasm). Each factory call gets its own instance and linear memory,
 * sized once for every requested buffer and never grown afterwards, so the Float32Array views
 * handed out stay attached for the filter's lifetime and a kernel call allocates nothing.
 */
import { readFileSync } from 'node:fs';
import type { KernelArena, KernelFactory, Kernels } from './kernels.js';
import { packBlocked } from './kernels-ts.js';

const WASM_URL = new URL('./wasm/kernels.wasm', import.meta.url);
const PAGE = 65536;
/** Buffers start above the first page: the AssemblyScript runtime's static data lives there, and 0 can mean "no buffer". */
const BASE = PAGE;
/** Gap after each buffer, so a kernel that reads one vector past a row end never touches the next buffer. */
const PAD = 16;

export class WasmKernelError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'WasmKernelError';
    this.code = code;
  }
}

// The project compiles without the DOM lib, which is where TypeScript declares WebAssembly; these
// are the few parts used here, typed locally rather than adding a global declaration.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface KernelExports {
  memory: WasmMemory;
  gemv(y: number, w: number, x: number, b: number, rows: number, cols: number): void;
  gemvPacked(y: number, w: number, x: number, b: number, rows: number, cols: number): void;
}

let compiled: WasmModule | null = null;
let loadError: Error | null = null;

/** Compiles the module on first use (synchronously: the filter is built before the first bin, not on the hot path). */
function module(): WasmModule {
  if (compiled) return compiled;
  if (loadError) throw loadError;
  try {
    if (!WA) throw new Error('this runtime has no WebAssembly');
    compiled = new WA.Module(readFileSync(WASM_URL));
    return compiled;
  } catch (e) {
    loadError = new WasmKernelError('EWASM', `WebAssembly kernels unavailable (${WASM_URL.pathname}): ${(e as Error).message}`);
    throw loadError;
  }
}

/** True when the compiled kernels exist and this runtime supports WebAssembly SIMD. Never throws. */
export function wasmKernelsAvailable(): boolean {
  try {
    module();
    return true;
  } catch {
    return false;
  }
}

/** Byte layout of an arena: where each buffer starts, and the end of the last one. */
export function arenaLayout(lengths: readonly number[]): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let p = BASE;
  for (const n of lengths) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`kernel buffer length must be a non-negative integer, got ${n}`);
    offsets.push(p);
    p = Math.ceil((p + n * 4 + PAD) / 16) * 16;
    if (p > 2 ** 31) throw new WasmKernelError('EWASMMEM', 'kernel buffers need more than 2 GiB of WebAssembly memory');
  }
  return { offsets, end: p };
}

export const wasmKernels: KernelFactory = (lengths: readonly number[]): KernelArena => {
  const { offsets, end } = arenaLayout(lengths);
  const instance = new WA!.Instance(module(), {
    env: {
      abort: () => {
        throw new WasmKernelError('EWASMABORT', 'WebAssembly kernel aborted');
      },
    },
  });
  const ex = instance.exports as unknown as KernelExports;
  const memory = ex.memory;
  const pages = Math.ceil(end / PAGE);
  const have = memory.buffer.byteLength / PAGE;
  if (pages > have) {
    try {
      memory.grow(pages - have);
    } catch (e) {
      throw new WasmKernelError('EWASMMEM', `cannot allocate ${pages} pages of WebAssembly memory: ${(e as Error).message}`);
    }
  }
  // From here on the memory never grows: the kernels do not allocate, so these views stay attached.
  const heap = memory.buffer;
  const buffers = lengths.map((n, i) => new Float32Array(heap, offsets[i], n));
  const wasmGemv = ex.gemv;
  const wasmGemvPacked = ex.gemvPacked;
  // Cheap guards: a view from elsewhere or a short buffer would make the kernel read or write
  // the wrong memory silently.
  const check = (y: Float32Array, W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): void => {
    if (y.buffer !== heap || W.buffer !== heap || x.buffer !== heap || (b !== null && b.buffer !== heap))
      throw new WasmKernelError('EWASMBUF', 'gemv: every buffer must come from this kernel arena');
    if (!(rows >= 0 && cols >= 0 && rows * cols <= W.length && cols <= x.length && rows <= y.length && (b === null || rows <= b.length)))
      throw new WasmKernelError('EWASMBUF', `gemv: buffers too short for [${rows}×${cols}]`);
  };

  const kernels: Kernels = {
    backend: 'wasm',
    gemv(y, W, x, b, rows, cols) {
      check(y, W, x, b, rows, cols);
      wasmGemv(y.byteOffset, W.byteOffset, x.byteOffset, b === null ? 0 : b.byteOffset, rows, cols);
    },
    packMatrix: packBlocked,
    gemvPacked(y, W, x, b, rows, cols) {
      check(y, W, x, b, rows, cols);
      wasmGemvPacked(y.byteOffset, W.byteOffset, x.byteOffset, b === null ? 0 : b.byteOffset, rows, cols);
    },
  };
  return { kernels, buffers };
};
