/**
 * End-to-end benchmark: replay process → daemon process → replay process over ZeroMQ tcp on
 * loopback (the issue's "Must reach"):
 *   m1x   preset M (192 channels, 20 ms bins), `--minutes` of bins at 1×: p99, max, lost bins
 *   mmax  the same model and recording at --speed max (windowed): sustained bins/s
 *   c1024 1024 input channels at 1 ms bins with preset S's other dimensions, `--seconds` at 1×:
 *         deadline-miss fraction, and the daemon's heap before the first bin, at 20 % and after
 *         the last (gc() in the daemon via bench/heap-probe.ts on SIGUSR2)
 *   echo  the same path with the daemon replaced by a bare ZeroMQ echo (this file, --echo): what
 *         the transport and the two processes cost without the filter, for comparison
 *   floor what the machine allows (bench/floor.ts): a spinning thread's stalls, and paced round
 *         trips over plain TCP between two Node processes and over libzmq between two Python
 *         processes; scheduler-placed and with both sides on one CPU
 *   m1x_one_cpu  m1x with the daemon and the replay tool pinned to the same CPU (--cpus): on a
 *         VM, waking a thread on an idle vCPU is what the tail is made of
 *
 *   node dist/bench/e2e.js [--minutes 10] [--seconds 60] [--max-bins 30000]
 *        [--only floor,echo,m1x,m1x_one_cpu,mmax,c1024] [--daemon-cpus L --replay-cpus L] [--quick]
 *
 * --daemon-cpus / --replay-cpus pin the two processes in the other phases (default: unpinned).
 *
 * Each phase starts a fresh `langevind run` and a separate `langevind replay` process; the
 * recording is a synthetic Poisson session (a few minutes, looped by --bins). Writes
 * bench/results/e2e.json. On a shared, loaded machine the numbers are indicative.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Subscriber, XPublisher } from 'zeromq';
import { preset, type ModelConfig } from '../model/config.js';
import { initWeights, mulberry32, poisson } from '../model/init.js';
import { makeModel, saveModel } from '../model/model-file.js';
import { DecodedWriter, SpikeBinReader, newDecoded, newSpikeBin } from '../streams/proto.js';
import { describeChannels, makeStreamInfo } from '../streams/stream-info.js';
import { monotonicNs } from '../streams/types.js';
import { writeXdf } from '../streams/xdf/writer.js';
import { parseCpuList, pinProcess } from '../daemon/affinity.js';
import { measureFloor } from './floor.js';
import { CLI_PATH, CliProcess, REPO_ROOT } from '../harness/process.js';
import { freePort } from '../harness/net.js';
import type { ReplayReport } from '../report/replay.js';

const PROBE = pathToFileURL(fileURLToPath(new URL('./heap-probe.js', import.meta.url))).href;
const SELF = fileURLToPath(import.meta.url);

/**
 * `e2e.js --echo IN OUT`: a bare stand-in for the daemon. SUB connects to IN (topic spikes), XPUB
 * binds OUT (topic velocity), and every SpikeBin goes straight back as a Decoded with the same seq,
 * stamped like the daemon stamps, with no filter in between.
 */
async function echo(input: string, output: string, pin?: string): Promise<void> {
  if (pin) pinProcess(parseCpuList(pin));
  const sub = new Subscriber({ receiveHighWaterMark: 100_000, linger: 0 });
  const pub = new XPublisher({ sendHighWaterMark: 100_000, sendTimeout: 0, linger: 0 });
  sub.subscribe('spikes');
  sub.connect(input.replace('zmq+', ''));
  await pub.bind(output.replace('zmq+', ''));
  const reader = new SpikeBinReader();
  const writer = new DecodedWriter();
  const bin = newSpikeBin();
  const dec = newDecoded(2);
  dec.modelId = 'echo';
  const topic = Buffer.from('velocity');
  process.on('SIGINT', () => {
    sub.close();
    pub.close();
  });
  process.stderr.write(JSON.stringify({ level: 'info', msg: 'ready' }) + '\n');
  for await (const [, payload] of sub) {
    const t = monotonicNs();
    if (!payload || reader.read(payload, bin)) continue;
    dec.seq = bin.seq;
    dec.timestamp = bin.timestamp;
    dec.receivedNs = t;
    dec.decodedNs = t;
    dec.sentNs = monotonicNs();
    // A fresh copy: zeromq keeps a reference to payloads over 128 bytes until it has sent them.
    await pub.send([topic, Buffer.from(writer.encode(dec))]);
  }
}

/** Poisson counts with slowly varying rates (a few sinusoids per channel): realistic sparsity, no simulator needed. */
function syntheticSession(path: string, channels: number, binMs: number, bins: number, seed: number): void {
  const rand = mulberry32(seed);
  const counts = new Int16Array(bins * channels);
  const phase = Float64Array.from({ length: channels }, () => rand() * 2 * Math.PI);
  const base = Float64Array.from({ length: channels }, () => 2 + 30 * rand()); // Hz
  for (let i = 0; i < bins; i++) {
    const t = (i * binMs) / 1000;
    for (let c = 0; c < channels; c++) {
      const hz = base[c] * (1 + 0.8 * Math.sin(2 * Math.PI * 0.5 * t + phase[c]));
      counts[i * channels + c] = poisson(rand, (hz * binMs) / 1000);
    }
  }
  const ts = Float64Array.from({ length: bins }, (_, i) => 100 + ((i + 1) * binMs) / 1000);
  const labels = Array.from({ length: channels }, (_, c) => `ch${c}`);
  const info = makeStreamInfo({ name: 'bench-binned', type: 'SpikeCounts', channelCount: channels, channelFormat: 'int16', nominalSrate: 1000 / binMs, desc: describeChannels(labels, { binMs }) });
  writeFileSync(path, writeXdf([{ info, timeStamps: ts, data: counts }], { datetime: null }));
}

function replayProcess(args: string[], timeoutMs: number): Promise<ReplayReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI_PATH, 'replay', ...args, '--quiet'], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`replay failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as ReplayReport);
    });
  });
}

async function heapProbe(d: CliProcess): Promise<Record<string, number>> {
  const before = d.logs.length;
  d.child.kill('SIGUSR2');
  for (let i = 0; i < 200; i++) {
    const rec = d.logs.slice(before).find((r) => r.msg === 'heap-probe');
    if (rec) return { heap_used: rec.heap_used as number, heap_total: rec.heap_total as number, rss: rec.rss as number, array_buffers: rec.array_buffers as number };
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the daemon did not answer the heap probe');
}

interface PhaseResult {
  params: Record<string, unknown>;
  replay: ReplayReport;
  daemon: Record<string, unknown> | undefined;
  /**
   * Daemon heap after gc(): before the first bin, at 20 % of the run (after warm-up; its gc pause
   * may make a few bins late, counted in the result), and after the last bin.
   */
  heap?: { before: Record<string, number>; mid?: Record<string, number>; after: Record<string, number>; growth_bytes: number; steady_growth_bytes?: number };
}

async function phase(dir: string, o: { name: string; cfg: ModelConfig; recordingBins: number; bins: number; speed: string; window?: number; heap?: boolean; echo?: boolean; daemonCpus?: string; replayCpus?: string }): Promise<PhaseResult> {
  const model = join(dir, `${o.name}.safetensors`);
  saveModel(model, makeModel(o.cfg, initWeights(o.cfg, 1)));
  const rec = join(dir, `${o.name}.xdf`);
  syntheticSession(rec, o.cfg.n_in, o.cfg.bin_ms, Math.min(o.recordingBins, o.bins), 7);
  const [pIn, pOut] = [await freePort(), await freePort()];
  const input = `zmq+tcp://127.0.0.1:${pIn}`;
  const output = `zmq+tcp://127.0.0.1:${pOut}`;
  const pinning = `${o.daemonCpus ? `; daemon on CPU ${o.daemonCpus}` : ''}${o.replayCpus ? `; replay on CPU ${o.replayCpus}` : ''}`;
  process.stderr.write(`e2e ${o.name}: n_in ${o.cfg.n_in}, ${o.cfg.bin_ms} ms bins, ${o.bins} bins at speed ${o.speed}${pinning}\n`);
  const cpuArgs = o.daemonCpus ? ['--cpus', o.daemonCpus] : [];
  const daemon = o.echo
    ? await CliProcess.start(['--echo', input, output, ...cpuArgs], { script: SELF, readyTimeoutMs: 60_000 })
    : await CliProcess.start(['run', '--model', model, '--input', input, '--output', output, '--status-interval', '0', ...cpuArgs], {
      nodeArgs: ['--expose-gc', '--import', PROBE],
      readyTimeoutMs: 60_000,
    });
  let replay: ReplayReport;
  let heap: PhaseResult['heap'];
    try {
    const before = o.heap ? await heapProbe(daemon) : undefined;
    const expectedMs = o.speed === 'max' ? o.bins * 5 : (o.bins * o.cfg.bin_ms) / Number(o.speed);
    const args = [rec, '--to', input, '--from', output, '--speed', o.speed, '--bins', String(o.bins)];
    if (o.window) args.push('--window', String(o.window));
    if (o.replayCpus) args.push('--cpus', o.replayCpus);
    const replaying = replayProcess(args, expectedMs + 120_000);
    let mid: Record<string, number> | undefined;
    const midTimer = o.heap ? setTimeout(() => void heapProbe(daemon).then((h) => (mid = h), () => undefined), 0.2 * expectedMs) : undefined;
    try {
      replay = await replaying;
    } finally {
      clearTimeout(midTimer);
    }
    if (before) {
      const after = await heapProbe(daemon);
      heap = { before, mid, after, growth_bytes: after.heap_used - before.heap_used, steady_growth_bytes: mid ? after.heap_used - mid.heap_used : undefined };
    }
  } finally {
    await daemon.stop();
  }
  const r = replay;
  process.stderr.write(`  sent ${r.sent} received ${r.received} lost ${r.lost} late ${r.late}; latency ms p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} p99.9 ${r.latencyMs.p999} max ${r.latencyMs.max}; ${r.binsPerS} bins/s${heap ? `; heap ${(heap.before.heap_used / 2 ** 20).toFixed(2)} → ${heap.mid ? (heap.mid.heap_used / 2 ** 20).toFixed(2) + ' → ' : ''}${(heap.after.heap_used / 2 ** 20).toFixed(2)} MiB` : ''}\n`);
  return {
    params: { daemon_cpus: o.daemonCpus ?? null, replay_cpus: o.replayCpus ?? null, n_in: o.cfg.n_in, hidden: o.cfg.hidden, latent: o.cfg.latent, window: o.cfg.window, ff: o.cfg.ff, bin_ms: o.cfg.bin_ms, bins: o.bins, recording_bins: Math.min(o.recordingBins, o.bins), speed: o.speed },
    replay: r,
    daemon: daemon.summary(),
    heap,
  };
}

/** The issue's end-to-end targets for a 1× run: p99 ≤ 1 ms, max ≤ 5 ms, nothing lost. */
function latencyTargets(r: ReplayReport): Record<string, unknown> {
  const all = r.latencyMs;
  const steady = r.latencyMsAfterFirstSecond;
  return {
    p99_le_1ms: (all.p99 ?? Infinity) <= 1,
    max_le_5ms: (all.max ?? Infinity) <= 5,
    after_first_second: { p99_le_1ms: (steady.p99 ?? Infinity) <= 1, max_le_5ms: (steady.max ?? Infinity) <= 5 },
    zero_lost: r.lost === 0,
  };
}

async function main(): Promise<void> {
  const { values: v, positionals } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '60' },
      'max-bins': { type: 'string', default: '30000' },
      only: { type: 'string', default: 'floor,echo,m1x,m1x_one_cpu,mmax,c1024' },
      echo: { type: 'boolean', default: false },
      cpus: { type: 'string' },
      'daemon-cpus': { type: 'string' },
      'replay-cpus': { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO_ROOT, 'bench/results/e2e.json') },
    },
    allowPositionals: true,
  });
  if (v.echo) return echo(positionals[0], positionals[1], v.cpus);
  const quick = v.quick;
  const minutes = quick ? 0.25 : Number(v.minutes);
  const seconds = quick ? 5 : Number(v.seconds);
  const maxBins = quick ? 2000 : Number(v['max-bins']);
  const only = new Set(v.only.split(','));
  const pin = { daemonCpus: v['daemon-cpus'], replayCpus: v['replay-cpus'] };
  const dir = mkdtempSync(join(tmpdir(), 'langevind-e2e-'));
  const load0 = loadavg();
  const results: Record<string, unknown> = {};
  try {
    const m = preset('M', { n_in: 192, bin_ms: 20 });
    // The CPU both processes share in the one-CPU layout.
    const oneCpu = cpus().length >= 2 ? String(cpus().length - 1) : undefined;
    if (only.has('floor')) {
      const bins = Math.round((Math.min(minutes, 1) * 60_000) / 20);
      const stallSeconds = Math.min(minutes, 1) * 60;
      process.stderr.write(`e2e floor: stall probe ${stallSeconds} s, then ${bins} paced round trips (Node TCP, pyzmq), scheduler-placed${oneCpu ? ' and on CPU ' + oneCpu : ''}\n`);
      const floor: Record<string, unknown> = {};
      floor.scheduler = await measureFloor({ bins, binMs: 20, stallSeconds, ports: [await freePort(), await freePort()] });
      if (oneCpu) floor.one_cpu = await measureFloor({ bins, binMs: 20, stallSeconds, ports: [await freePort(), await freePort()], aCpus: oneCpu, bCpus: oneCpu });
      process.stderr.write(`  ${JSON.stringify(floor)}\n`);
      results.floor = floor;
    }
    if (only.has('echo')) {
      const bins = Math.round((Math.min(minutes, 1) * 60_000) / 20);
      results.echo = await phase(dir, { name: 'echo', cfg: m, recordingBins: 6000, bins, speed: '1', echo: true, ...pin });
    }
    if (only.has('m1x')) {
      const bins = Math.round((minutes * 60_000) / 20);
      const p = await phase(dir, { name: 'm1x', cfg: m, recordingBins: 6000, bins, speed: '1', ...pin });
      results.m1x = { ...p, targets: latencyTargets(p.replay) };
    }
    if (only.has('m1x_one_cpu') && oneCpu) {
      const bins = Math.round((minutes * 60_000) / 20);
      const p = await phase(dir, { name: 'm1x_one_cpu', cfg: m, recordingBins: 6000, bins, speed: '1', daemonCpus: oneCpu, replayCpus: oneCpu });
      results.m1x_one_cpu = { ...p, targets: latencyTargets(p.replay) };
    }
    if (only.has('mmax')) {
      const p = await phase(dir, { name: 'mmax', cfg: m, recordingBins: 6000, bins: maxBins, speed: 'max', window: 64, ...pin });
      results.mmax = { ...p, sustained_bins_per_s: p.replay.binsPerS };
    }
    if (only.has('c1024')) {
      const s = preset('S', { n_in: 1024, n_out: 1024, bin_ms: 1 });
      const bins = Math.round(seconds * 1000);
      const p = await phase(dir, { name: 'c1024', cfg: s, recordingBins: 10_000, bins, speed: '1', heap: true, ...pin });
      const miss = p.replay.deadlineMissFraction ?? 1;
      results.c1024 = { ...p, targets: { miss_le_0_1pct: miss <= 0.001, heap_growth_bytes: p.heap?.growth_bytes, steady_heap_growth_bytes: p.heap?.steady_growth_bytes } };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out = {
    benchmark: 'e2e',
    generated: new Date().toISOString(),
    quick,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavg_start: load0, loadavg_end: loadavg() },
    note: 'replay process → daemon process → replay process over ZeroMQ tcp on 127.0.0.1; latency is send → receive of the matching Decoded, in the replay process. Numbers from a shared machine are indicative.',
    ...results,
  };
  mkdirSync(join(REPO_ROOT, 'bench/results'), { recursive: true });
  writeFileSync(v.out, JSON.stringify(out, null, 2) + '\n');
  process.stderr.write(`e2e: wrote ${v.out}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`e2e: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
