/**
 * Per-bin latency and allocation of OnlineFilter.step() for presets S, M and P, for every kernel
 * backend that runs here.
 *
 *   node dist/bench/step.js [--presets S,M,P] [--backends ts,wasm] [--bins N] [--quick]
 *
 * Each (preset, backend) runs in its own child process (a fresh heap and JIT), started with
 * `--expose-gc --min-semi-space-size=64 --max-semi-space-size=64`.
 *
 * Latency: after a warm-up (JIT, and the KV cache ring full), every step is timed with
 * performance.now() into a preallocated Float64Array; we report p50/p99/p99.9/max in µs.
 *
 * Allocation: the slope of heap growth against the number of steps. gc() twice, read v8's
 * used_heap_size, run n steps with nothing else in the loop, read it again; do this for n = M and
 * n = 4M, three times each, and take (least growth(4M) − least growth(M)) / 3M. With a 64 MiB
 * young generation of fixed size, a step that allocated would grow the heap by that many bytes
 * per step in every window (no scavenge can hide it unless a window allocates > 64 MiB, which the
 * gc observer reports), while one-off growth that does not scale with n (JIT code and feedback,
 * the statistics objects, background tasks) cancels in the difference or is dropped by the minimum. The same estimate for a control loop that allocates one small object
 * per iteration shows that the method sees allocations of a few bytes per iteration.
 *
 * Writes bench/results/step.json. On a shared, loaded machine the numbers are indicative.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { ALLOC_FLAGS, bytesPerIteration } from './alloc.js';
import { dims, preset, type PresetName } from '../model/config.js';
import { OnlineFilter } from '../model/filter.js';
import { initWeights, mulberry32, poisson } from '../model/init.js';
import type { KernelFactory } from '../model/kernels.js';
import { tsKernels } from '../model/kernels-ts.js';
import { wasmKernels, wasmKernelsAvailable } from '../model/kernels-wasm.js';
import { makeModel } from '../model/model-file.js';
import { parameterCount } from '../model/tensors.js';
import { percentileSorted } from '../report/stats.js';

interface Result {
  preset: PresetName;
  backend: string;
  params: number;
  window: number;
  bins: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  mean_us: number;
  bytes_per_step: number;
  alloc_window_steps: number;
  gc_in_alloc_window: number;
  control_bytes_per_object: number;
  /** 1-minute load average when this row's run ended (the machine is shared; high load inflates the tail). */
  loadavg_1m: number;
}

const CHILD_FLAGS = ALLOC_FLAGS;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

function percentiles(lat: Float64Array): Pick<Result, 'p50_us' | 'p99_us' | 'p999_us' | 'max_us' | 'mean_us'> {
  const s = Float64Array.from(lat).sort();
  const q = (p: number): number => percentileSorted(s, p * 100) * 1e3;
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return { p50_us: round1(q(0.5)), p99_us: round1(q(0.99)), p999_us: round1(q(0.999)), max_us: round1(s[s.length - 1] * 1e3), mean_us: round1((sum / s.length) * 1e3) };
}

async function child(name: PresetName, backend: string, bins: number): Promise<Omit<Result, 'loadavg_1m'>> {
  const kernels: KernelFactory = backend === 'wasm' ? wasmKernels : tsKernels;
  const cfg = preset(name);
  const model = makeModel(cfg, initWeights(cfg, 1));
  const f = new OnlineFilter(model, { kernels });
  const rand = mulberry32(2);
  const nSeq = 500;
  const counts: Int16Array[] = [];
  for (let t = 0; t < nSeq; t++) {
    const c = new Int16Array(cfg.n_in);
    for (let i = 0; i < c.length; i++) c[i] = poisson(rand, 0.5 + 2 * rand());
    counts.push(c);
  }
  const warm = Math.max(3 * cfg.window, Math.min(2000, bins));
  for (let t = 0; t < warm; t++) f.step(counts[t % nSeq]);

  const lat = new Float64Array(bins);
  for (let t = 0; t < bins; t++) {
    const t0 = performance.now();
    f.step(counts[t % nSeq]);
    lat[t] = performance.now() - t0;
  }

  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const M = Math.max(500, Math.min(2000, Math.floor(bins / 5)));
  const stepBytes = bytesPerIteration((n) => {
    for (let t = 0; t < n; t++) f.step(counts[t % nSeq]);
  }, M);
  // Let the observer deliver the entries of collections inside the windows; each window's own two gc() are expected.
  await new Promise((r) => setImmediate(r));
  const gcInWindow = Math.max(0, gcs - 12);
  const holder = new Array<{ i: number }>(4 * M);
  const control = bytesPerIteration((n) => {
    for (let t = 0; t < n; t++) holder[t] = { i: t };
  }, M);
  obs.disconnect();
  return {
    preset: name,
    backend: f.backend,
    params: parameterCount(cfg),
    window: cfg.window,
    bins,
    ...percentiles(lat),
    bytes_per_step: Math.max(0, round1(stepBytes)),
    alloc_window_steps: M,
    gc_in_alloc_window: gcInWindow,
    control_bytes_per_object: round1(control),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--child')) {
    const r = await child(arg(args, '--preset') as PresetName, arg(args, '--backend')!, Number(arg(args, '--bins')));
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const quick = args.includes('--quick');
  const presets = (arg(args, '--presets') ?? 'S,M,P').split(',') as PresetName[];
  const bins = Number(arg(args, '--bins') ?? (quick ? 2000 : 20000));
  const wanted = (arg(args, '--backends') ?? 'ts,wasm').split(',');
  const available = wanted.filter((b) => b === 'ts' || (b === 'wasm' && wasmKernelsAvailable()));
  for (const b of wanted) if (!available.includes(b)) process.stderr.write(`bench step: backend ${b} not available, skipped\n`);
  const self = fileURLToPath(import.meta.url);
  const startLoad = round1(loadavg()[0]);
  const results: Result[] = [];
  for (const p of presets) {
    dims(preset(p)); // fail early on an unknown preset
    for (const b of available) {
      // P on the TS backend is ~5 ms a bin: fewer bins keep the run short.
      const n = p === 'P' && b === 'ts' ? Math.min(bins, 1000) : bins;
      const r = spawnSync(process.execPath, [...CHILD_FLAGS, self, '--child', '--preset', p, '--backend', b, '--bins', String(n)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bench step: ${p}/${b} failed: ${r.stderr}`);
      const res = { ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Result), loadavg_1m: round1(loadavg()[0]) };
      results.push(res);
      process.stdout.write(
        `${p} ${res.backend.padEnd(4)}  p50 ${res.p50_us} µs  p99 ${res.p99_us} µs  p99.9 ${res.p999_us} µs  max ${res.max_us} µs  ` +
          `${res.bytes_per_step} B/step (gc in window: ${res.gc_in_alloc_window}; control ${res.control_bytes_per_object} B/object)\n`,
      );
    }
  }
  const out = {
    bench: 'step',
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    cores_note: 'one filter per process, one core; the load average (per row) says how busy the other core(s) were',
    loadavg_1m_start: startLoad,
    loadavg_1m_end: round1(loadavg()[0]),
    method:
      'latency: performance.now() around each step after warm-up; allocation: slope of v8 used_heap_size growth (after gc()) ' +
      'between windows of M and 4M steps (least growth of 3 each), fixed 64 MiB young generation; control = one small object per iteration',
    results,
  };
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}step.json`, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`wrote ${dir}step.json\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
