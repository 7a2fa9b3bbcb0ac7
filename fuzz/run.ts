/**
 * `npm run fuzz`: ≥ 10⁵ generated malformed inputs per surface, seeded, each case counted by kind
 * and outcome; results to bench/results/fuzz.json. Not part of `npm test` (tests/fuzz/ runs a
 * bounded slice of the same surfaces).
 *
 *   node dist/fuzz/run.js [--cases N] [--seed S] [--surface zmq,lsl_udp,…] [--out FILE] [--update]
 *   (--update replaces only the surfaces run now in an existing results file)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fuzzConfig, fuzzModel, fuzzXdf, modelSources, xdfSources } from './parsers.js';
import { fuzzLslInlet, fuzzLslParsers, fuzzLslTcp, fuzzLslUdp } from './lsl.js';
import { fuzzZmqDaemon } from './zmq.js';
import { fuzzLslDaemon } from './lsl-daemon.js';
import type { SurfaceResult } from './tally.js';
import { recordedXdf } from './recorded.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const SURFACES = ['zmq', 'lsl_daemon', 'lsl_udp', 'lsl_tcp', 'lsl_inlet', 'lsl_parsers', 'xdf', 'model', 'config'] as const;
export type Surface = (typeof SURFACES)[number];

export async function runSurface(s: Surface, cases: number, seed: number, log: (m: string) => void = () => undefined): Promise<SurfaceResult> {
  switch (s) {
    case 'zmq': return fuzzZmqDaemon({ cases, seed, log, overLimitCases: Math.min(200, Math.ceil(cases / 500)) });
    case 'lsl_daemon': return fuzzLslDaemon({ cases, seed, log });
    case 'lsl_udp': return fuzzLslUdp({ cases, seed });
    case 'lsl_tcp': return fuzzLslTcp({ cases, seed });
    case 'lsl_inlet': return fuzzLslInlet({ cases, seed });
    case 'lsl_parsers': return fuzzLslParsers({ cases, seed });
    case 'xdf': return fuzzXdf({ cases, seed, sources: xdfSources([{ name: 'recorded.xdf', bytes: await recordedXdf(), weight: 4 }]) });
    case 'model': return fuzzModel({ cases, seed, sources: modelSources(`${ROOT}models/default.safetensors`) });
    case 'config': return fuzzConfig({ cases, seed });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { cases: { type: 'string' }, seed: { type: 'string' }, surface: { type: 'string' }, out: { type: 'string' }, update: { type: 'boolean' } } });
  const cases = Number(values.cases ?? 100000);
  const seed = Number(values.seed ?? 1);
  const list = (values.surface ?? SURFACES.join(',')).split(',') as Surface[];
  for (const s of list) if (!(SURFACES as readonly string[]).includes(s)) throw new Error(`unknown surface "${s}" (${SURFACES.join(', ')})`);
  const out = values.out ?? `${ROOT}bench/results/fuzz.json`;
  const started = new Date().toISOString();
  const results: SurfaceResult[] = [];
  for (const s of list) {
    process.stderr.write(`fuzz: ${s}, ${cases} cases, seed ${seed} (load ${loadavg().map((x) => x.toFixed(2)).join(' ')})\n`);
    const r = await runSurface(s, cases, seed, (m) => process.stderr.write(`  ${s}: ${m}\n`));
    results.push(r);
    process.stderr.write(`  ${s}: ${r.cases} cases in ${r.duration_s} s, ${r.crashes} crashes, ${r.internal_errors} internal errors, valid after: ${r.valid_after.handled}/${r.valid_after.sent}\n`);
  }
  const earlier = values.update && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { surfaces: Record<string, SurfaceResult & { finished?: string }> }).surfaces : {};
  const finished = new Date().toISOString();
  const surfaces: Record<string, SurfaceResult & { finished?: string }> = { ...earlier, ...Object.fromEntries(results.map((r) => [r.surface, { ...r, finished }])) };
  const all = Object.values(surfaces);
  const doc = {
    started, finished, seed, cases_per_surface: cases,
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gib: Math.round(totalmem() / 2 ** 30), node: process.version },
    totals: { cases: all.reduce((a, r) => a + r.cases, 0), crashes: all.reduce((a, r) => a + r.crashes, 0), internal_errors: all.reduce((a, r) => a + r.internal_errors, 0) },
    surfaces,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  process.stderr.write(`fuzz: wrote ${out}: ${doc.totals.cases} cases, ${doc.totals.crashes} crashes, ${doc.totals.internal_errors} internal errors\n`);
  const bad = results.some((r) => r.crashes > 0 || r.internal_errors > 0 || r.valid_after.handled !== r.valid_after.sent);
  return bad ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then((c) => { process.exitCode = c; setTimeout(() => process.exit(c), 2000).unref(); }, (e) => { process.stderr.write(`fuzz: ${(e as Error).stack}\n`); process.exitCode = 1; });
}
