/**
 * Backs the model's WebAssembly memory with 2 MiB pages (Linux transparent huge pages), once at
 * startup (`langevind run --hugepages on`, the default on Linux).
 *
 * Why: a step after 20 ms of idle finds its 4.4 MB of weights (preset M) out of cache and, with
 * 4 KiB pages, out of the TLB: about 1,100 page walks, each a cache miss of its own. Measured on
 * the 2-core dev VM under load (bench/lab/paced-step.ts, one step per 20 ms, p50 over 150 steps,
 * three alternating pairs): 457–464 µs with 4 KiB pages, 369–378 µs with the memory collapsed into
 * 2 MiB pages; back to back both take 160 µs. A pass that only reads one word per cache line of
 * the memory takes 470 µs with 4 KiB pages and 264 µs with 2 MiB pages: the walks, not the data.
 *
 * How: madvise(MADV_HUGEPAGE) on the 2 MiB-aligned part of the memory, then MADV_COLLAPSE (Linux
 * ≥ 6.1) to move the pages already written into huge pages now rather than whenever khugepaged
 * gets to them. Nothing changes in what the memory holds. Where any of this is unavailable
 * (another OS, THP "never", an older kernel, no koffi) the daemon runs as before and says why.
 */
import { createRequire } from 'node:module';
import { OnlineFilter } from '../model/filter.js';

const MADV_HUGEPAGE = 14;
const MADV_COLLAPSE = 25;
const HUGE = 2n << 20n;

export interface HugePagesResult {
  /** Bytes advised (the 2 MiB-aligned part of the memory); 0 when nothing was done. */
  bytes: number;
  /** MADV_COLLAPSE succeeded: the pages are huge now, not eventually. */
  collapsed: boolean;
  /** Why nothing (or only part) was done, in words. */
  note?: string;
}

interface Libc {
  address(view: Uint8Array): bigint;
  madvise(addr: bigint, len: bigint, advice: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | string {
  if (libc) return libc;
  if (process.platform !== 'linux') return `huge pages are a Linux feature (this is ${process.platform})`;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    // memmove(p, p, 0) returns p: the address koffi passes for the view, i.e. the memory's own.
    const memmove = lib.func('void *memmove(void *dst, const void *src, size_t n)');
    const madvise = lib.func('int madvise(uintptr_t addr, size_t len, int advice)');
    libc = {
      address: (view) => koffi.address(memmove(view, view, 0)) as bigint,
      madvise: (addr, len, advice) => madvise(addr, len, advice) as number,
      errno: () => koffi.errno(),
    };
    return libc;
  } catch (err) {
    return `cannot call madvise through koffi: ${(err as Error).message}`;
  }
}

/** Asks for huge pages under `memory` (a WebAssembly memory's buffer); never throws. */
export function adviseHugePages(memory: ArrayBuffer): HugePagesResult {
  const c = loadLibc();
  if (typeof c === 'string') return { bytes: 0, collapsed: false, note: c };
  const base = c.address(new Uint8Array(memory, 0, 1));
  const start = (base + HUGE - 1n) & ~(HUGE - 1n);
  const end = (base + BigInt(memory.byteLength)) & ~(HUGE - 1n);
  if (end <= start) return { bytes: 0, collapsed: false, note: `the memory (${memory.byteLength} bytes) spans no whole 2 MiB page` };
  const len = end - start;
  if (c.madvise(start, len, MADV_HUGEPAGE) !== 0) return { bytes: 0, collapsed: false, note: `madvise(MADV_HUGEPAGE) failed (errno ${c.errno()}; transparent huge pages disabled?)` };
  const collapsed = c.madvise(start, len, MADV_COLLAPSE) === 0;
  return { bytes: Number(len), collapsed, note: collapsed ? undefined : `MADV_COLLAPSE failed (errno ${c.errno()}): the pages become huge when khugepaged collapses them` };
}

/** What adviseDecoderHugePages did for each decoder, so a swap report can say it of the filter it swaps in. */
const advised = new WeakMap<object, HugePagesResult>();

/**
 * The same for a decoder: a LangevinFlow filter on the wasm kernels has one WebAssembly memory
 * to back; any other decoder (plain TypeScript kernels, a Wiener or Kalman baseline) is a few
 * kB and null says there was nothing to do.
 */
export function adviseDecoderHugePages(decoder: object): HugePagesResult | null {
  if (!(decoder instanceof OnlineFilter) || decoder.backend !== 'wasm') return null;
  const r = adviseHugePages(decoder.buffers[0].buffer as ArrayBuffer);
  advised.set(decoder, r);
  return r;
}

/** What adviseDecoderHugePages did for this decoder, or null if it never ran on it. */
export function hugePagesOf(decoder: object): HugePagesResult | null {
  return advised.get(decoder) ?? null;
}
