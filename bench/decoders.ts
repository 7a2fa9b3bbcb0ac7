/**
 * Per-bin latency and allocation of the three decoders of one model file (LangevinFlow, and the
 * Wiener and Kalman baselines calibration stored beside it), stepped with stepUnchecked as the
 * daemon steps them. Default model: models/default.safetensors (48 channels).
 *
 *   node dist/bench/decoders.js [--model FILE] [--bins N] [--quick]
 *
 * Each decoder runs in its own child process (`bench/alloc.ts` ALLOC_FLAGS: a fresh heap and JIT).
 * Latency: performance.now() around each step after a warm-up, into a preallocated array;
 * percentiles by nearest rank (report/stats.ts). Allocation: bench/alloc.ts bytesPerIteration,
 * beside a control loop that allocates one small object per iteration.
 *
 * Writes bench/results/decoders.json. On a shared, loaded machine the numbers are indicative.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DECODERS, type DecoderName } from '../model/baselines.js';
import { createDecoder } from '../model/decoders.js';
import { mulberry32, poisson } from '../model/init.js';
import { loadModel } from '../model/model-file.js';
import { percentileSorted } from '../report/stats.js';
import { ALLOC_FLAGS, bytesPerIteration } from './alloc.js';

const round2 = (x: number): number => Math.round(x * 100) / 100;

function child(path: string, name: DecoderName, bins: number): Record<string, unknown> {
  const model = loadModel(path);
  const f = createDecoder(model, name);
  const rand = mulberry32(2);
  const counts = Array.from({ length: 500 }, () => Float64Array.from({ length: model.config.n_in }, () => poisson(rand, 0.3 + rand())));
  for (let t = 0; t < 5000; t++) f.stepUnchecked(counts[t % 500]);
  const lat = new Float64Array(bins);
  for (let t = 0; t < bins; t++) {
    const t0 = performance.now();
    f.stepUnchecked(counts[t % 500]);
    lat[t] = performance.now() - t0;
  }
  lat.sort();
  const us = (p: number): number => round2(percentileSorted(lat, p) * 1e3);
  const sink = new Float64Array(1);
  const loop = (n: number): void => {
    for (let t = 0; t < n; t++) sink[0] += f.stepUnchecked(counts[t % 500]).velocity[0];
  };
  const M = 20000;
  loop(4 * M);
  const bytes = bytesPerIteration(loop, M);
  const holder = new Array<{ i: number }>(4 * M);
  const control = bytesPerIteration((n) => {
    for (let t = 0; t < n; t++) holder[t] = { i: t };
  }, M);
  return { decoder: name, n_in: model.config.n_in, bins, p50_us: us(50), p99_us: us(99), p999_us: us(99.9), max_us: round2(lat[bins - 1] * 1e3),
    bytes_per_step: Math.max(0, round2(bytes)), alloc_window_steps: M, control_bytes_per_object: round2(control) };
}

function main(): void {
  const { values } = parseArgs({ options: { model: { type: 'string' }, bins: { type: 'string' }, quick: { type: 'boolean' }, child: { type: 'string' } } });
  const path = values.model ?? fileURLToPath(new URL('../../models/default.safetensors', import.meta.url));
  const bins = Number(values.bins ?? (values.quick ? 5000 : 50000));
  if (values.child) {
    process.stdout.write(JSON.stringify(child(path, values.child as DecoderName, bins)) + '\n');
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const load0 = loadavg()[0];
  const results = [];
  for (const d of DECODERS) {
    const r = spawnSync(process.execPath, [...ALLOC_FLAGS, self, '--child', d, '--model', path, '--bins', String(bins)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench decoders: ${d} failed: ${r.stderr}`);
    const res = { ...JSON.parse(r.stdout.trim().split('\n').pop()!), loadavg_1m: round2(loadavg()[0]) };
    results.push(res);
    process.stdout.write(`${d.padEnd(12)}  p50 ${res.p50_us} µs  p99 ${res.p99_us} µs  p99.9 ${res.p999_us} µs  max ${res.max_us} µs  ${res.bytes_per_step} B/step (control ${res.control_bytes_per_object} B/object)\n`);
  }
  const out = {
    bench: 'decoders', date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    model: path, loadavg_1m_start: round2(load0), loadavg_1m_end: round2(loadavg()[0]),
    method: 'stepUnchecked per bin after 5000 warm-up bins; latency: performance.now() around each step, nearest-rank percentiles; allocation: bench/alloc.ts (least heap growth of 3 windows of 4M minus M steps over 3M, 64 MiB fixed young generation); control = one small object per iteration',
    results,
  };
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}decoders.json`, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`wrote ${dir}decoders.json\n`);
}

main();
