/**
 * `npm run bench:calibrate`: calibration on the real contdata95 recording (held-out velocity R²
 * of the online filter vs Wiener and Kalman, calibration time with the default backend) and on a
 * simulated Lorenz session (rate R² against the true rates). Writes bench/results/calibrate.json.
 * The machine's load average and the process's CPU time are recorded beside wall time, since on
 * a shared machine wall time alone says little.
 *
 *   node dist/bench/calibrate.js [--quick] [--only contdata95|lorenz] [--max-minutes M] [--lorenz-bins N]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrate, type CalibrateOptions } from '../calibration/pipeline.js';
import { sessionToXdf, simulateSession } from '../calibration/simulator/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const maxMinutes = args.includes('--max-minutes') ? Number(args[args.indexOf('--max-minutes') + 1]) : quick ? 0.5 : 8;
const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'langevind-bench-cal-'));

async function run(name: string, o: Omit<CalibrateOptions, 'out'>): Promise<Record<string, unknown>> {
  const load0 = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await calibrate({ ...o, out: join(tmp, `${name}.safetensors`), progress: false, report: join(root, `bench/results/calibrate-${name}.html`) });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const m = res.metrics!;
  return {
    wall_s: wall,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    load_avg_1m: { start: load0, end: loadavg()[0] },
    epochs: m.training.epochs,
    best_epoch: m.training.bestEpoch,
    stop: m.training.stopReason,
    train_s: m.seconds.train,
    s_per_epoch: m.seconds.train / Math.max(1, m.training.epochs),
    backend: m.training.backend,
    velocity_r2: {
      labels: m.velocityLabels,
      langevinflow_online: m.velocityR2.langevin,
      wiener: m.velocityR2.wiener,
      kalman: m.velocityR2.kalman,
    },
    readout: m.readout.features,
    bits_per_spike: m.bitsPerSpike,
    rate_r2_vs_truth: m.rateR2,
    seconds: m.seconds,
  };
}

const resultsPath = join(root, 'bench/results/calibrate.json');
// --only keeps the other case's last results.
const previous = only && existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>) : {};
const results: Record<string, unknown> = { ...previous, date: new Date().toISOString(), quick, max_minutes: maxMinutes, cores: 2 };
if (!only || only === 'contdata95') {
  results.contdata95 = await run('contdata95', {
    recording: join(root, '../shared/data/contdata95/contdata95.xdf'), train: { maxMinutes, ...(quick ? { maxEpochs: 1 } : {}) },
  });
  process.stderr.write(`contdata95: ${JSON.stringify((results.contdata95 as { velocity_r2: unknown }).velocity_r2)}\n`);
}
if (!only || only === 'lorenz') {
  const lorenzBins = args.includes('--lorenz-bins') ? Number(args[args.indexOf('--lorenz-bins') + 1]) : 30000;
  const sim = { kind: 'lorenz' as const, seed: 7, bins: quick ? 3000 : lorenzBins, binMs: 20, channels: 96 };
  const rec = join(tmp, 'lorenz.xdf');
  writeFileSync(rec, sessionToXdf(simulateSession(sim)));
  results.lorenz = { session: sim, ...(await run('lorenz', { recording: rec, train: { maxMinutes: quick ? 0.5 : maxMinutes } })) };
  process.stderr.write(`lorenz: rate R² ${(results.lorenz as { rate_r2_vs_truth: number }).rate_r2_vs_truth}\n`);
}
mkdirSync(join(root, 'bench/results'), { recursive: true });
const path = resultsPath;
writeFileSync(path, JSON.stringify(results, null, 2) + '\n');
process.stderr.write(`wrote ${path}\n`);
