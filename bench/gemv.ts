/**
 * Matrix–vector benchmark: the nine products one bin of the online filter needs (GRU input and
 * hidden, correction mean, attention in/out projections, feed-forward, readout, velocity), timed
 * as one sum per "bin", for each preset and each kernel backend.
 *
 *   node dist/bench/gemv.js [--presets S,M,P] [--bins N] [--quick] [--evict] [--pace MS] [--backends ts,wasm]
 *
 * --evict streams a 64 MiB buffer between bins so the weights start each bin outside the caches
 * (a pessimistic stand-in for a daemon whose 20 ms between bins is spent by other processes).
 * --pace MS sleeps MS milliseconds between bins, as a daemon does between 20 ms bins (whatever
 * else runs on the machine meanwhile may evict the weights from the caches).
 * Writes bench/results/gemv.json. Timing needs a quiet machine; numbers under load are indicative.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dims, preset, type PresetName } from '../model/config.js';
import type { KernelFactory } from '../model/kernels.js';
import { tsKernels } from '../model/kernels-ts.js';
import { wasmKernels, wasmKernelsAvailable } from '../model/kernels-wasm.js';
import { mulberry32 as rng } from '../model/init.js';
import { percentileSorted } from '../report/stats.js';

interface Shape {
  name: string;
  rows: number;
  cols: number;
}

export function binShapes(name: PresetName): Shape[] {
  const m = dims(preset(name));
  return [
    { name: 'encoder.weight_ih', rows: 3 * m.H, cols: m.nIn },
    { name: 'encoder.weight_hh', rows: 3 * m.H, cols: m.H },
    { name: 'correction.mean', rows: m.D, cols: m.H },
    { name: 'decoder.in_proj', rows: 3 * m.d, cols: m.d },
    { name: 'decoder.out_proj', rows: m.d, cols: m.d },
    { name: 'decoder.linear1', rows: m.F, cols: m.d },
    { name: 'decoder.linear2', rows: m.d, cols: m.F },
    { name: 'readout', rows: m.nOut, cols: m.d },
    { name: 'velocity', rows: m.K, cols: m.features },
  ];
}

interface Stats {
  bins: number;
  /** Fastest bin: on a loaded machine, the closest to what a quiet core does. */
  min_us: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
  /** Process CPU time per bin (user + system): less disturbed than wall time when other jobs share the cores. */
  cpu_us: number;
}

function stats(ns: Float64Array, cpuUs: number): Stats {
  const s = Float64Array.from(ns).sort();
  const q = (p: number) => percentileSorted(s, p * 100) / 1e3;
  const mean = s.reduce((a, v) => a + v, 0) / s.length / 1e3;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { bins: s.length, min_us: r(s[0] / 1e3), p50_us: r(q(0.5)), p99_us: r(q(0.99)), p999_us: r(q(0.999)), max_us: r(s[s.length - 1] / 1e3), mean_us: r(mean), cpu_us: r(cpuUs) };
}


const sleeper = new Int32Array(new SharedArrayBuffer(4));

function runBins(factory: KernelFactory, packed: boolean, shapes: Shape[], bins: number, warmup: number, evict: Float64Array | null, paceMs: number): Stats {
  // Per shape: W, b, x, y.
  const lengths = shapes.flatMap((s) => [s.rows * s.cols, s.rows, s.cols, s.rows]);
  const { kernels, buffers } = factory(lengths);
  const r = rng(1);
  for (const buf of buffers) for (let i = 0; i < buf.length; i++) buf[i] = r() * 2 - 1;
  if (packed) shapes.forEach((s, k) => kernels.packMatrix(buffers[4 * k], s.rows, s.cols));
  const times = new Float64Array(bins);
  let sink = 0;
  let cpu0 = process.cpuUsage();
  for (let t = -warmup; t < bins; t++) {
    if (t === 0) cpu0 = process.cpuUsage();
    if (evict) for (let i = 0; i < evict.length; i += 8) evict[i] += 1;
    if (paceMs > 0) Atomics.wait(sleeper, 0, 0, paceMs);
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < shapes.length; k++) {
      const s = shapes[k];
      if (packed) kernels.gemvPacked(buffers[4 * k + 3], buffers[4 * k], buffers[4 * k + 2], buffers[4 * k + 1], s.rows, s.cols);
      else kernels.gemv(buffers[4 * k + 3], buffers[4 * k], buffers[4 * k + 2], buffers[4 * k + 1], s.rows, s.cols);
    }
    const t1 = process.hrtime.bigint();
    if (t >= 0) times[t] = Number(t1 - t0);
    sink += buffers[3][0];
  }
  const cpu = process.cpuUsage(cpu0);
  if (!Number.isFinite(sink)) throw new Error('non-finite result');
  // With --evict the CPU time includes the eviction pass; compare cpu_us only without it.
  return stats(times, (cpu.user + cpu.system) / bins);
}

function main(argv: string[]): void {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const presets = (arg('--presets') ?? 'S,M,P').split(',') as PresetName[];
  const quick = argv.includes('--quick');
  const binsArg = arg('--bins') ?? (quick ? '300' : undefined);
  const evict = argv.includes('--evict') ? new Float64Array(8 << 20) : null;
  const paceMs = Number(arg('--pace') ?? 0);
  // gemv: PyTorch row-major weights; packed: weights rearranged once by packMatrix, read by gemvPacked.
  const backends: [string, KernelFactory, boolean][] = [['ts', tsKernels, false], ['ts-packed', tsKernels, true]];
  if (wasmKernelsAvailable()) backends.push(['wasm', wasmKernels, false], ['wasm-packed', wasmKernels, true]);
  else console.error('gemv bench: wasm kernels unavailable, timing ts only');
  const only = arg('--backends')?.split(',');
  const selected = only ? backends.filter(([n]) => only.includes(n)) : backends;
  const results: Record<string, unknown>[] = [];
  const loadBefore = loadavg();
  for (const p of presets) {
    const shapes = binShapes(p);
    const macs = shapes.reduce((a, s) => a + s.rows * s.cols, 0);
    for (const [name, factory, packed] of selected) {
      // Bounded wall time per case: slow paths get fewer bins.
      const bins = binsArg ? Number(binsArg) : name.startsWith('ts') ? (p === 'P' ? 1000 : 5000) : p === 'P' ? 5000 : 20000;
      const st = runBins(factory, packed, shapes, bins, Math.ceil(bins / 10), evict, paceMs);
      results.push({ preset: p, backend: factory === tsKernels ? 'ts' : 'wasm', packed, macs, weight_bytes: macs * 4, evict: evict !== null, pace_ms: paceMs, ...st });
      console.log(
        `${p} ${name.padEnd(11)} ${(macs / 1e6).toFixed(2)} M MACs  min ${st.min_us} µs  p50 ${st.p50_us} µs  p99 ${st.p99_us} µs  p99.9 ${st.p999_us} µs  max ${st.max_us} µs  cpu ${st.cpu_us} µs/bin` +
          `  (${((macs * 4) / (st.p50_us * 1e3)).toFixed(1)} GB/s at p50)`,
      );
    }
  }
  const out = new URL('../../bench/results/gemv.json', import.meta.url);
  mkdirSync(new URL('.', out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        bench: 'gemv',
        date: new Date().toISOString(),
        node: process.version,
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        loadavg_before: loadBefore.map((v) => Math.round(v * 100) / 100),
        loadavg_after: loadavg().map((v) => Math.round(v * 100) / 100),
        note: 'sum of the nine matrix-vector products of one filter bin; taken on a shared 2-core machine under load from other jobs, so indicative',
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

main(process.argv.slice(2));
