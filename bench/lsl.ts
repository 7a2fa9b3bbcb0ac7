/**
 * LSL benchmark: liblsl outlet → our inlet → daemon (`langevind run`, preset M, 192 channels,
 * 20 ms bins) → our outlet → liblsl inlet, all on loopback; and in the same run the baseline
 * liblsl outlet → liblsl inlet on the same input stream. Then the recovery time after the rig's
 * outlet process is killed and restarted with the same source_id.
 *
 *   node dist/bench/lsl.js [--minutes 5] [--quick]        → bench/results/lsl.json
 *
 * All stamps are lsl_local_clock() on this machine (the same CLOCK_MONOTONIC for liblsl and us).
 * A velocity sample is stamped with its bin's arrival at the daemon, so it belongs to the latest
 * push stamped at or before it (pushes are 20 ms apart, the transport takes well under that):
 * e2e latency = task inlet's arrival time − that push's stamp; baseline = a liblsl inlet's
 * arrival time − the same push stamps; added = e2e − baseline at each percentile; added_paired =
 * for each bin, the task inlet's arrival of its velocity minus the baseline inlet's arrival of the
 * bin itself (same push, two paths). The receivers are Python ctypes inlets pulling one sample at
 * a time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preset } from '../model/config.js';
import { initWeights } from '../model/init.js';
import { makeModel, saveModel } from '../model/model-file.js';
import { LiblslPeer, testConfigPath } from '../harness/liblsl.js';
import { CliProcess } from '../harness/process.js';
import { localClock } from '../streams/lsl/clock.js';
import { percentileSorted } from '../report/stats.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const minutesArg = args.indexOf('--minutes');
const minutes = minutesArg >= 0 ? Number(args[minutesArg + 1]) : quick ? 0.33 : 5;
const N = 192;
const BIN_MS = 20;
const RATE = 1000 / BIN_MS;
const count = Math.round(minutes * 60 * RATE);

const cfgPath = testConfigPath();
process.env.LSLAPICFG = cfgPath;
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));

type Rec = { ts: number[]; at: number[] };

function pct(xs: number[]): { n: number; p50: number; p99: number; p999: number; max: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => percentileSorted(s, p * 100);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r3(q(0.5)), p99: r3(q(0.99)), p999: r3(q(0.999)), max: r3(s[s.length - 1] ?? NaN), mean: r3(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lsl-bench-'));
  const modelPath = join(dir, 'm.safetensors');
  const cfg = preset('M', { n_in: N, n_out: N, bin_ms: BIN_MS });
  saveModel(modelPath, makeModel(cfg, initWeights(cfg, 1)));
  const input = `bench-M1-binned-${process.pid}`;
  const output = `bench-velocity-${process.pid}`;
  const sourceId = `bench-rig-${process.pid}`;
  const peers: LiblslPeer[] = [];
  const peer = async (): Promise<LiblslPeer> => { const p = new LiblslPeer(); peers.push(p); await p.ready; return p; };
  const daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${input}`, '--output', `lsl://name=${output}`], { env: { LSLAPICFG: cfgPath } });
  try {
    let rig = await peer();
    let out = await rig.request<{ id: number }>({ op: 'outlet', name: input, type: 'SpikeCounts', source_id: sourceId, format: 'int16', channels: N, srate: RATE, bin_ms: BIN_MS });
    await daemon.waitLog((l) => /lsl input connected/.test(l.msg), 30_000);
    const task = await peer();
    const base = await peer();
    const ti = await task.request<{ id: number }>({ op: 'inlet', prop: 'name', value: output, timeout: 20, max_buflen: 10 });
    const bi = await base.request<{ id: number }>({ op: 'inlet', prop: 'name', value: input, timeout: 20, max_buflen: 10 });
    await rig.request({ op: 'sleep', s: 1 });
    process.stderr.write(`lsl bench: streaming ${count} bins (${minutes} min) of ${N} channels at ${RATE} Hz\n`);
    const values = Array.from({ length: N }, (_, i) => (i * 7) % 5);
    const wall = (count / RATE) + 10;
    const [taskRec, baseRec, pushed] = await Promise.all([
      task.request<Rec>({ op: 'record', id: ti.id, n: count, timeout: wall }),
      base.request<Rec>({ op: 'record', id: bi.id, n: count, timeout: wall }),
      rig.request<{ pushed: number; first: number; last: number }>({ op: 'stream', id: out.id, rate: RATE, count, values }),
    ]);
    // Each velocity sample's bin: the latest push stamped at or before its arrival stamp.
    const baseByTs = baseRec.ts.map((t, k) => [t, baseRec.at[k]] as const).sort((a, b) => a[0] - b[0]);
    const binOf = (t: number): readonly [number, number] | undefined => {
      let lo = 0, hi = baseByTs.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (baseByTs[mid][0] <= t) lo = mid + 1; else hi = mid; }
      const c = baseByTs[lo - 1];
      return c !== undefined && t - c[0] < 0.75 * BIN_MS / 1000 ? c : undefined;
    };
    const e2e: number[] = [];
    const paired: number[] = [];
    for (let k = 0; k < taskRec.ts.length; k++) {
      const b = binOf(taskRec.ts[k]);
      if (!b) continue;
      e2e.push((taskRec.at[k] - b[0]) * 1000);
      paired.push((taskRec.at[k] - b[1]) * 1000);
    }
    const baseline = baseRec.ts.map((t, k) => (baseRec.at[k] - t) * 1000);
    const pe = pct(e2e), pb = pct(baseline);
    const added = { p50: +(pe.p50 - pb.p50).toFixed(3), p99: +(pe.p99 - pb.p99).toFixed(3), p999: +(pe.p999 - pb.p999).toFixed(3), max: +(pe.max - pb.max).toFixed(3) };
    const pp = pct(paired);
    const lost = pushed.pushed - taskRec.ts.length;
    const lostBaseline = pushed.pushed - new Set(baseRec.ts).size;
    process.stderr.write(`e2e ms ${JSON.stringify(pe)}\nbaseline ms ${JSON.stringify(pb)}\nadded ms (percentile difference) ${JSON.stringify(added)}\nadded ms (paired per sample) ${JSON.stringify(pp)}; lost ${lost} (baseline lost ${lostBaseline})\n`);

    // Recovery: kill the rig process (no clean shutdown), restart it with the same source_id at once.
    const recN = Math.round(8 * RATE);
    const recPromise = task.request<Rec>({ op: 'record', id: ti.id, n: recN, timeout: 30 });
    await rig.kill();
    const killedAt = localClock();
    rig = await peer();
    out = await rig.request<{ id: number }>({ op: 'outlet', name: input, type: 'SpikeCounts', source_id: sourceId, format: 'int16', channels: N, srate: RATE, bin_ms: BIN_MS });
    const restartedAt = localClock();
    const pushed2 = await rig.request<{ pushed: number; first: number; last: number }>({ op: 'stream', id: out.id, rate: RATE, count: Math.round(6 * RATE), values });
    const rec = await recPromise;
    const firstAfter = rec.ts.findIndex((t) => t >= pushed2.first);
    const recovery = firstAfter >= 0 ? {
      outlet_restarted_to_first_velocity_s: +(rec.at[firstAfter] - restartedAt).toFixed(3),
      kill_to_first_velocity_s: +(rec.at[firstAfter] - killedAt).toFixed(3),
      restarted_bins_lost_before_reconnect: rec.ts.length - firstAfter < pushed2.pushed ? pushed2.pushed - (rec.ts.length - firstAfter) : 0,
    } : { error: 'no velocity after the restart' };
    process.stderr.write(`recovery ${JSON.stringify(recovery)}\n`);

    await daemon.stop('SIGINT');
    const summary = daemon.summary() ?? {};
    const result = {
      bench: 'lsl',
      when: new Date().toISOString(),
      note: 'liblsl 1.12 peers are Python ctypes processes pulling one sample at a time',
      loadavg_end: loadavg(),
      setup: { channels: N, bin_ms: BIN_MS, minutes, bins: count, model: 'preset M (random weights, seed 1)', transport: 'loopback, machine scope' },
      e2e_ms: pe,
      baseline_liblsl_to_liblsl_ms: pb,
      added_ms: added,
      added_paired_ms: pp,
      lost_samples: lost,
      baseline_lost_samples: lostBaseline,
      daemon_summary: { messages_received: summary.messages_received, bins_decoded: summary.bins_decoded, gaps: summary.gaps, gap_bins: summary.gap_bins, latency_us: summary.latency_us },
      recovery,
      targets: { added_p99_ms_max: 1.5, lost_samples: 0, recovery_s_max: 2 },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'lsl.json'), JSON.stringify(result, null, 2) + '\n');
    process.stderr.write(`daemon: ${JSON.stringify(result.daemon_summary)}\nwrote bench/results/lsl.json\n`);
  } finally {
    daemon.kill();
    await Promise.allSettled(peers.map((p) => p.quit()));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`lsl bench failed: ${(e as Error).stack}\n`); process.exit(1); });
