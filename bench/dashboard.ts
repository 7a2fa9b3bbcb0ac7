/**
 * What one dashboard update costs the event loop the decoder runs on: LiveFeed.take() plus the
 * JSON of the update, and every fifth update also the status snapshot (Metrics.summary()) and
 * the latency histogram, at 50 and 1000 bins/s (20 ms and 1 ms bins, 96 channels). Each update
 * is timed with performance.now(); p50/p99/p99.9/max in µs (nearest rank, daemon/report/stats.ts).
 * A bin that arrives during an update waits for it, so this bounds what a viewer adds to the
 * daemon's latency. Writes bench/results/dashboard.json.
 *
 *   node dist/bench/dashboard.js [--quick]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LiveFeed } from '../daemon/dashboard/live-feed.js';
import { Metrics } from '../daemon/metrics.js';
import { summarize } from '../report/stats.js';
import { mulberry32, poisson } from '../model/init.js';
import type { Decoded, SpikeBin } from '../streams/types.js';

interface Row {
  bin_ms: number;
  bins_per_update: number;
  updates: number;
  update_p50_us: number;
  update_p99_us: number;
  update_p999_us: number;
  update_max_us: number;
  snapshot_p50_us: number;
  snapshot_p99_us: number;
  snapshot_max_us: number;
  mean_update_bytes: number;
}

const HZ = 15;
const round1 = (x: number): number => Math.round(x * 10) / 10;

function run(binMs: number, updates: number): Row {
  const nIn = 96;
  const feed = new LiveFeed({ nIn, binMs, velocityLabels: ['vel_x', 'vel_y'] });
  const metrics = new Metrics();
  const rand = mulberry32(5);
  const counts = Array.from({ length: 64 }, () => Float64Array.from({ length: nIn }, () => poisson(rand, 1.5)));
  const bin: SpikeBin = { seq: 0, timestamp: 0, counts: counts[0], binMs, streamId: 'rig', receivedNs: 0, receivedLslTime: 0 };
  const d: Decoded = { seq: 0, timestamp: 0, velocity: new Float32Array(2), receivedNs: 0, decodedNs: 0, sentNs: 0, modelId: 'm', streamId: 'rig', receivedLslTime: 0 };
  const perUpdate = Math.max(1, Math.round(1000 / HZ / binMs));
  const plain: number[] = [];
  const snap: number[] = [];
  let bytes = 0;
  let seq = 0;
  for (let u = 0; u < updates; u++) {
    for (let i = 0; i < perUpdate; i++, seq++) {
      bin.seq = seq;
      bin.counts = counts[seq & 63];
      bin.receivedNs = performance.now() * 1e6;
      d.seq = seq;
      d.velocity[0] = Math.sin(seq / 50);
      d.velocity[1] = Math.cos(seq / 50);
      d.receivedNs = bin.receivedNs;
      d.sentNs = bin.receivedNs + 40_000 + 60_000 * rand();
      metrics.recordLatency(d.receivedNs, d.receivedNs + 30_000, d.sentNs);
      metrics.messagesReceived++;
      metrics.binsAccepted++;
      metrics.binsDecoded++;
      feed.accepted(bin);
      feed.decoded(d, bin);
    }
    const withSnapshot = u % 5 === 0;
    const t0 = performance.now();
    const update = feed.take(withSnapshot);
    const json = JSON.stringify(withSnapshot ? { feed: update, status: metrics.summary(), health: { status: 'ok' } } : { feed: update });
    const dt = (performance.now() - t0) * 1000;
    bytes += json.length;
    (withSnapshot ? snap : plain).push(dt);
  }
  const p = summarize(plain);
  const s = summarize(snap);
  return {
    bin_ms: binMs, bins_per_update: perUpdate, updates,
    update_p50_us: round1(p.p50), update_p99_us: round1(p.p99), update_p999_us: round1(p.p999), update_max_us: round1(p.max),
    snapshot_p50_us: round1(s.p50), snapshot_p99_us: round1(s.p99), snapshot_max_us: round1(s.max),
    mean_update_bytes: Math.round(bytes / updates),
  };
}

const updates = process.argv.includes('--quick') ? 300 : 3000;
const load0 = round1(loadavg()[0]);
run(20, 200); // warm-up: JIT
const results = [run(20, updates), run(1, updates)];
for (const r of results)
  process.stdout.write(`${r.bin_ms} ms bins (${r.bins_per_update}/update): update p50 ${r.update_p50_us} µs p99 ${r.update_p99_us} µs max ${r.update_max_us} µs; with snapshot p50 ${r.snapshot_p50_us} µs p99 ${r.snapshot_p99_us} µs; ${r.mean_update_bytes} B/update\n`);
const out = {
  bench: 'dashboard',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  hz: HZ,
  loadavg_1m_start: load0,
  loadavg_1m_end: round1(loadavg()[0]),
  method: 'performance.now() around LiveFeed.take() + JSON.stringify of the update (every 5th with Metrics.summary() and the latency histogram), after a warm-up; percentiles nearest rank',
  results,
};
const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}dashboard.json`, JSON.stringify(out, null, 2) + '\n');
process.stdout.write(`wrote ${dir}dashboard.json\n`);
