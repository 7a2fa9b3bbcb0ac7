/**
 * Lab (not part of `npm run bench`): the step of one OnlineFilter timed at different pacings, to
 * tell a slow step from a slow pipeline. tight = back to back; sleep:X = setTimeout X ms between
 * steps; spin:X = busy-wait X ms between steps (the thread never sleeps).
 *   node dist/bench/lab/paced-step.js MODEL [--modes tight,sleep:20,spin:20] [--bins 500]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { OnlineFilter } from '../../model/filter.js';
import { mulberry32, poisson } from '../../model/init.js';
import { loadModel } from '../../model/model-file.js';
import { roundSummary, summarize } from '../../report/stats.js';

const { values: v, positionals } = parseArgs({ options: { modes: { type: 'string', default: 'tight,sleep:20,spin:20,sleep:2,sleep:5' }, bins: { type: 'string', default: '500' }, thp: { type: 'boolean', default: false } }, allowPositionals: true });
const model = loadModel(positionals[0]);
const filter = new OnlineFilter(model);
const n = model.config.n_in;
const rand = mulberry32(11);
const counts = Array.from({ length: 64 }, () => Float64Array.from({ length: n }, () => poisson(rand, 0.3)));
for (let i = 0; i < 500; i++) filter.step(counts[i % 64]);
const bins = Number(v.bins);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const out: Record<string, unknown> = {};
const heap = new Int32Array(((filter as unknown as { state: Float32Array }).state).buffer);
let acc = 0;
const touch = (): number => {
  let s = 0;
  for (let j = 0; j < heap.length; j += 16) s ^= heap[j];
  return s;
};
process.stderr.write(`wasm memory ${(heap.byteLength / 2 ** 20).toFixed(2)} MiB\n`);
if (v.thp) {
  // --thp: back the wasm memory with 2 MiB pages (MADV_HUGEPAGE, then MADV_COLLAPSE, Linux ≥ 6.1).
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const memmove = lib.func('void *memmove(void *dst, const void *src, size_t n)');
  const madvise = lib.func('int madvise(uintptr_t addr, size_t len, int advice)');
  const base = koffi.address(memmove(heap, heap, 0)) as bigint;
  const HP = 2n << 20n;
  const start = (base + HP - 1n) & ~(HP - 1n);
  const end = (base + BigInt(heap.byteLength)) & ~(HP - 1n);
  const len = end > start ? end - start : 0n;
  const r1 = madvise(start, len, 14);
  const r2 = madvise(start, len, 25);
  process.stderr.write(`thp: base 0x${base.toString(16)}, advised ${Number(len) >> 20} MiB from 0x${start.toString(16)}: MADV_HUGEPAGE ${r1}, MADV_COLLAPSE ${r2} (errno ${koffi.errno()})\n`);
  const smaps = readFileSync('/proc/self/smaps_rollup', 'utf8').match(/AnonHugePages:\s+(\d+)/);
  process.stderr.write(`thp: AnonHugePages ${smaps?.[1]} kB\n`);
}
for (const mode of v.modes.split(',')) {
  const [kind, arg] = mode.split(':');
  const ms = Number(arg ?? 0);
  const us = new Float64Array(bins);
  const warmUs = new Float64Array(bins);
  for (let i = 0; i < bins; i++) {
    if (kind === 'sleep') await sleep(ms);
    else if (kind === 'warm') {
      // warm:X:L = sleep X−L ms, read one word per cache line of the whole wasm memory, sleep L ms.
      const lead = Number(mode.split(':')[2] ?? 2);
      await sleep(ms - lead);
      const t0 = performance.now();
      acc += touch();
      warmUs[i] = (performance.now() - t0) * 1e3;
      await sleep(lead);
    } else if (kind === 'shadow') {
      const lead = Number(mode.split(':')[2] ?? 2);
      await sleep(ms - lead);
      const t0 = performance.now();
      const snap = filter.snapshot();
      filter.step(counts[0]);
      filter.restore(snap);
      warmUs[i] = (performance.now() - t0) * 1e3;
      await sleep(lead);
    }
    else if (kind === 'spin') {
      const until = performance.now() + ms;
      while (performance.now() < until);
    }
    const t = performance.now();
    filter.step(counts[i % 64]);
    us[i] = (performance.now() - t) * 1e3;
  }
  const s = roundSummary(summarize(us));
  out[mode] = s;
  const w = roundSummary(summarize(warmUs));
  process.stderr.write(`${mode}: p50 ${s.p50} p99 ${s.p99} max ${s.max} µs${kind === 'warm' || kind === 'shadow' ? ` (warming p50 ${w.p50} p99 ${w.p99} µs)` : ''}\n`);
}
process.stdout.write(JSON.stringify(out) + '\n' + (acc === 0.5 ? 'x' : ''));
