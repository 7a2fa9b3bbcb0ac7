/**
 * CPU affinity for the whole process: `--cpus 2` or `--cpus 0,2-3`.
 *
 * Why: on a shared or virtualised machine the scheduler moves the daemon's threads (Node's main
 * thread, libzmq's I/O thread, V8's helpers) between CPUs and packs them beside other work; each
 * hand-off to a CPU that was idle costs a wake-up. On the 2-core VM the benchmarks run on,
 * pinning the daemon and the replay tool to one CPU cut the end-to-end p99 from about 9 ms to
 * about 3 ms. Rigs pin their decoder to a core of its own for the same reason.
 *
 * Linux only. Every thread that exists now is pinned (through /proc/self/task); threads created
 * later inherit the mask from the thread that creates them. Called once at startup, before
 * anything is served, so the synchronous /proc read is fine.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

export class AffinityError extends Error {
  constructor(readonly code: 'ECPUS' | 'EAFFINITY', message: string) {
    super(message);
    this.name = 'AffinityError';
  }
}

/** Bytes in the kernel's cpu_set_t as glibc defines it (1024 CPUs). */
const MASK_BYTES = 128;

/** "2", "0,2-3" → sorted distinct CPU numbers. Throws ECPUS naming what is wrong. */
export function parseCpuList(spec: string): number[] {
  const cpus = new Set<number>();
  const parts = spec.split(',');
  for (const raw of parts) {
    const part = raw.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new AffinityError('ECPUS', `--cpus: "${part}" in "${spec}" is not a CPU number or a range like 2-3`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new AffinityError('ECPUS', `--cpus: range "${part}" runs backwards`);
    if (hi >= MASK_BYTES * 8) throw new AffinityError('ECPUS', `--cpus: CPU ${hi} is beyond the ${MASK_BYTES * 8} a CPU mask can hold`);
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The inverse of parseCpuList, compressed into ranges: [0,2,3] → "0,2-3". */
export function formatCpuList(cpus: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++;
    out.push(i === j ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

function maskOf(cpus: readonly number[]): Buffer {
  const mask = Buffer.alloc(MASK_BYTES);
  for (const c of cpus) mask[c >> 3] |= 1 << (c & 7);
  return mask;
}

function cpusOf(mask: Buffer): number[] {
  const cpus: number[] = [];
  for (let c = 0; c < MASK_BYTES * 8; c++) if (mask[c >> 3] & (1 << (c & 7))) cpus.push(c);
  return cpus;
}

interface Libc {
  setaffinity(tid: number, size: number, mask: Buffer): number;
  getaffinity(tid: number, size: number, mask: Buffer): number;
  errno(): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') throw new AffinityError('EAFFINITY', `--cpus works on Linux only (this is ${process.platform})`);
  // koffi is loaded only when pinning is asked for: nothing else in the daemon needs FFI.
  let koffi: typeof import('koffi');
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  } catch (err) {
    throw new AffinityError('EAFFINITY', `--cpus needs the koffi package to call sched_setaffinity: ${(err as Error).message}`);
  }
  const lib = koffi.load('libc.so.6');
  const set = lib.func('int sched_setaffinity(int pid, size_t cpusetsize, const uint8_t *mask)');
  const get = lib.func('int sched_getaffinity(int pid, size_t cpusetsize, _Out_ uint8_t *mask)');
  libc = {
    setaffinity: (tid, size, mask) => set(tid, size, mask) as number,
    getaffinity: (tid, size, mask) => get(tid, size, mask) as number,
    errno: () => koffi.errno(),
  };
  return libc;
}

/** The CPUs the calling thread may run on now. */
export function currentAffinity(): number[] {
  const c = loadLibc();
  const mask = Buffer.alloc(MASK_BYTES);
  if (c.getaffinity(0, MASK_BYTES, mask) !== 0) throw new AffinityError('EAFFINITY', `sched_getaffinity failed (errno ${c.errno()})`);
  return cpusOf(mask);
}

/**
 * Pins every thread of this process to `cpus`. Changes nothing when a CPU is not available to the
 * process: the error names the CPUs that are.
 */
export function pinProcess(cpus: readonly number[]): { cpus: number[]; threads: number } {
  if (cpus.length === 0) throw new AffinityError('ECPUS', '--cpus: no CPUs given');
  const c = loadLibc();
  const allowed = currentAffinity();
  const missing = cpus.filter((x) => !allowed.includes(x));
  if (missing.length) throw new AffinityError('ECPUS', `--cpus: CPU ${formatCpuList(missing)} is not available to this process (available: ${formatCpuList(allowed)})`);
  const mask = maskOf(cpus);
  let threads = 0;
  for (const name of readdirSync('/proc/self/task')) {
    const tid = Number(name);
    if (c.setaffinity(tid, MASK_BYTES, mask) === 0) threads++;
    // ESRCH: the thread ended between the listing and the call; nothing to pin.
    else if (c.errno() !== 3) throw new AffinityError('EAFFINITY', `sched_setaffinity(${tid}, ${formatCpuList(cpus)}) failed (errno ${c.errno()})`);
  }
  return { cpus: [...cpus], threads };
}
