/**
 * `npm run bench:simulate-user`: how fast the simulated user runs in lockstep without a daemon,
 * and how well a Wiener filter decodes its open-loop calibration block.
 *
 *  1. lockstep speed: the user (feedback, controller, 192-channel encoder) bin by bin against a
 *     perfect decoder (the cursor moves by the intention) and a centre-out target that changes
 *     every 100 bins; 50,000 bins after 2,000 of warm-up; per-bin time as nearest-rank percentiles;
 *  2. calibration block: for seeds 1–3, a 64-reach block (192 channels, 20 ms) read through the
 *     calibration loader; Wiener (lags 1/3/5 and alpha by CV) and Kalman fitted on the first 80 %,
 *     held-out R² on the rest, as `langevind calibrate` reports its baselines.
 * Writes bench/results/simulate-user.json. `--quick`: 5,000 bins, one seed of 16 reaches.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { useBackend } from '../calibration/backend.js';
import { datasetFromXdf } from '../calibration/dataset.js';
import { baselines } from '../calibration/evaluate.js';
import { rowSlice } from '../calibration/linear.js';
import { calibrationBlock, calibrationBlockXdf } from '../closedloop/user/calibration-block.js';
import { SimulatedUser, type TaskView } from '../closedloop/user/user.js';
import { roundSummary, summarize } from '../report/stats.js';
import { readXdf } from '../streams/xdf/reader.js';

const quick = process.argv.includes('--quick');

function lockstepSpeed(bins: number, warm: number): Record<string, unknown> {
  const user = new SimulatedUser({ seed: 1, session: 1, channels: 192 });
  const view: TaskView = { cursorX: 0, cursorY: 0, targetX: 10, targetY: 0, radius: 1.5, aiming: true };
  const ns = new Float64Array(bins);
  let spikes = 0;
  const t0 = performance.now();
  for (let k = -warm; k < bins; k++) {
    if (k % 100 === 0) {
      const a = ((((k / 100) % 8) + 8) % 8) * (Math.PI / 4);
      view.targetX = 10 * Math.cos(a); view.targetY = 10 * Math.sin(a);
    }
    const s = performance.now();
    const c = user.step(view);
    if (k >= 0) ns[k] = (performance.now() - s) * 1e6;
    view.cursorX += user.intended[0] * 0.02;
    view.cursorY += user.intended[1] * 0.02;
    spikes += c[0];
  }
  const seconds = (performance.now() - t0) / 1000;
  const us = summarize(ns.map((x) => x / 1000));
  return { bins, warmup_bins: warm, channels: 192, bins_per_s: Math.round((bins + warm) / seconds), step_us: roundSummary(us, 2), checksum: spikes };
}

async function calibrationR2(seeds: number[], trials: number): Promise<Record<string, unknown>[]> {
  await useBackend('wasm');
  const out: Record<string, unknown>[] = [];
  for (const seed of seeds) {
    const t0 = performance.now();
    const block = calibrationBlock({ seed, session: 0, trials, channels: 192 });
    const ds = datasetFromXdf(readXdf(calibrationBlockXdf(block), { syncClocks: true }));
    const n = ds.counts.rows, nt = Math.floor(n * 0.8);
    const part = (a: number, b: number) => ({
      counts: rowSlice(ds.counts, a, b), velocity: rowSlice(ds.velocity, a, b), position: ds.position ? rowSlice(ds.position, a, b) : null, labelled: ds.labelled.slice(a, b),
    });
    const r = baselines(part(0, nt), part(nt, n), ds.positionLabels, ds.velocityLabels);
    const row = {
      seed, reaches: trials, bins: n, minutes: +((n * ds.binMs) / 60000).toFixed(2), held_out_bins: n - nt,
      wiener: { r2: +r.wiener.mean.toFixed(4), per_axis: r.wiener.perAxis.map((x) => +x.toFixed(4)), lags: r.wiener.lags, alpha: r.wiener.alpha, cv_r2: +r.wiener.cvR2.toFixed(4) },
      kalman: { r2: +r.kalman.mean.toFixed(4), per_axis: r.kalman.perAxis.map((x) => +x.toFixed(4)) },
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
    };
    process.stderr.write(`calibration block seed ${seed}: ${n} bins, Wiener held-out R² ${row.wiener.r2} (${r.wiener.lags} lags), Kalman ${row.kalman.r2}\n`);
    out.push(row);
  }
  return out;
}

const load0 = loadavg();
const speed = lockstepSpeed(quick ? 5000 : 50_000, quick ? 500 : 2000);
process.stderr.write(`lockstep without a daemon: ${speed.bins_per_s} bins/s (${JSON.stringify(speed.step_us)} µs per bin)\n`);
const calib = await calibrationR2(quick ? [1] : [1, 2, 3], quick ? 16 : 64);
const result = {
  bench: 'simulate-user', date: new Date().toISOString(), quick, node: process.version, cpu: cpus()[0]?.model, cpus: cpus().length,
  loadavg_start: load0, loadavg_end: loadavg(), percentile: 'nearest-rank',
  lockstep_without_daemon: speed, calibration_block: calib,
};
const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}simulate-user.json`, JSON.stringify(result, null, 2) + '\n');
process.stderr.write(`wrote ${dir}simulate-user.json\n`);
