/**
 * `langevind demo [--seconds 20] [--speed 1]`: the README's first command. With no files and no
 * hardware it simulates a session, starts `langevind run` as a child process on ZeroMQ tcp
 * loopback (free ports), replays the session into it in real time with a live status line
 * (bins, end-to-end latency p50/p99, decoded-velocity R² so far against the simulated velocity),
 * then stops the daemon with SIGINT and prints both summaries.
 *
 * The session comes from models/default-session.json when it exists (the simulator options the
 * default model was calibrated on), else a built-in reaching session; the model is
 * models/default.safetensors, else a randomly initialised one (said loudly: its R² is meaningless).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { loadModel, makeModel, saveModel } from '../../model/model-file.js';
import { sessionToXdf, simulateSession, type SimulateOptions } from '../../calibration/simulator/index.js';
import { loadRecording, sliceRecording } from '../../streams/replay.js';
import { runReplay, writeReports, type ReplayProgress } from './replay.js';
import { CliProcess, REPO_ROOT } from '../../harness/process.js';
import { freePort } from '../../harness/net.js';
import { UsageError } from '../usage.js';

export class DemoError extends Error {
  constructor(readonly code: 'EMISMATCH' | 'EDAEMON', message: string) {
    super(message);
    this.name = 'DemoError';
  }
}

/** The simulator's options, as in models/default-session.json. */
export type SessionOptions = SimulateOptions & { binMs: number };

const SIMULATE_KEYS = ['kind', 'seed', 'bins', 'binMs', 'channels', 'baseRate', 'modulation', 'origin', 'lorenzSpeed', 'latentNoise'] as const;

/** Only the simulator's own options (the session file may carry notes such as the command that used it). */
function pickSimulateOptions(o: SessionOptions): SessionOptions {
  const out: Record<string, unknown> = {};
  for (const k of SIMULATE_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out as unknown as SessionOptions;
}

const BUILTIN_SESSION: SessionOptions = { kind: 'reaching', seed: 1, bins: 0, binMs: 20, channels: 96 };

/** Writes a simulated session `seconds` long as XDF (spike counts plus the true kinematics). */
export function writeSimulatedSession(path: string, base: SessionOptions, seconds: number): SessionOptions {
  const o = { ...pickSimulateOptions(base), bins: Math.max(1, Math.round((seconds * 1000) / base.binMs)) };
  writeFileSync(path, sessionToXdf(simulateSession(o)));
  return o;
}

const USAGE = `usage: langevind demo [--seconds 20] [--speed 1] [--report FILE.html] [--model FILE] [--session FILE.json] [--keep]

Simulates a session, starts \`langevind run\` on ZeroMQ tcp loopback, replays the session into it
in real time with a live status line, then stops the daemon and prints both summaries.
Uses models/default.safetensors (and models/default-session.json) when present.

  --seconds S      length of the replayed session (default 20)
  --speed X        replay speed (default 1 = real time; "max" = as fast as possible)
  --report FILE    also write the replay's HTML report (and FILE.json)
  --model FILE     the model (default models/default.safetensors)
  --session FILE   simulator options as JSON (default models/default-session.json); the demo then
                   replays the last --seconds of that session (calibration's held-out block)
  --keep           keep the temporary directory (session.xdf, model) and print its path`;

export const usage = USAGE;

export async function main(argv: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string', default: '20' },
        speed: { type: 'string', default: '1' },
        report: { type: 'string' },
        model: { type: 'string' },
        session: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`demo: ${(err as Error).message}`);
  }
  if (a.values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const seconds = Number(a.values.seconds);
  if (!(seconds > 0)) throw new UsageError(`demo: --seconds must be a positive number, got "${a.values.seconds}"`);
  const speed = a.values.speed === 'max' ? 'max' : Number(a.values.speed);
  if (speed !== 'max' && !(speed > 0)) throw new UsageError(`demo: --speed must be a positive number or max, got "${a.values.speed}"`);
  const out = (s: string): void => void process.stdout.write(s + '\n');

  const dir = mkdtempSync(join(tmpdir(), 'langevind-demo-'));
  let daemon: CliProcess | undefined;
  try {
    // 1. Model and session.
    const defModel = a.values.model ?? join(REPO_ROOT, 'models/default.safetensors');
    const defSession = a.values.session ?? join(REPO_ROOT, 'models/default-session.json');
    for (const [opt, f] of [['--model', a.values.model], ['--session', a.values.session]] as const)
      if (f !== undefined && !existsSync(f)) throw new UsageError(`demo: ${opt} ${f}: no such file`);
    let session: SessionOptions = { ...BUILTIN_SESSION };
    if (existsSync(defSession)) session = { ...session, ...(JSON.parse(readFileSync(defSession, 'utf8')) as SessionOptions) };
    let modelPath = defModel;
    let calibrated = existsSync(defModel);
    if (calibrated) {
      const model = loadModel(defModel);
      const cfg = model.config;
      if (!existsSync(defSession)) session = { ...session, channels: cfg.n_in, binMs: cfg.bin_ms };
      if (cfg.n_in !== session.channels || cfg.bin_ms !== session.binMs)
        throw new DemoError('EMISMATCH', `demo: the model takes ${cfg.n_in} channels of ${cfg.bin_ms} ms bins, the session has ${session.channels} channels of ${session.binMs} ms bins`);
      out(`model: ${defModel} (model id ${model.id})`);
    } else {
      modelPath = join(dir, 'uncalibrated.safetensors');
      const cfg = preset('S', { n_in: session.channels, bin_ms: session.binMs, velocity_labels: ['vel_x', 'vel_y'] });
      saveModel(modelPath, makeModel(cfg, initWeights(cfg, 1), { 'langevind.provenance': JSON.stringify({ note: 'langevind demo: random weights, uncalibrated' }) }));
      out('model: NOTE models/default.safetensors is missing, so this demo uses an UNCALIBRATED model with random weights:');
      out('       latency figures are real, the decoded velocity (and its R²) is meaningless.');
    }
    const sessionPath = join(dir, 'session.xdf');
    let rec;
    if (existsSync(defSession) && session.bins > 0) {
      // The calibration session itself, replaying only its last `seconds`: calibration holds out
      // the last 20 %, so as long as that covers them, the decoder never saw these bins.
      const full = writeSimulatedSession(sessionPath, session, (session.bins * session.binMs) / 1000);
      const all = await loadRecording(sessionPath);
      const n = Math.min(all.bins, Math.max(1, Math.round((seconds * 1000) / full.binMs)));
      rec = sliceRecording(all, all.bins - n, all.bins);
      const heldOut = n <= Math.floor(all.bins * 0.2);
      out(`session: simulated ${full.kind} (seed ${full.seed}, as ${defSession}), ${full.channels} channels, ${full.binMs} ms bins; replaying its last ${n} bins (${seconds} s)${heldOut ? ', inside the held-out block' : ', which reaches into the training bins'}`);
    } else {
      const used = writeSimulatedSession(sessionPath, session, seconds);
      rec = await loadRecording(sessionPath);
      out(`session: simulated ${used.kind} (seed ${used.seed}), ${used.channels} channels, ${used.binMs} ms bins, ${used.bins} bins (${seconds} s)`);
    }

    // 2. The daemon as a child process, on loopback.
    const [pIn, pOut] = [await freePort(), await freePort()];
    const input = `zmq+tcp://127.0.0.1:${pIn}`;
    const output = `zmq+tcp://127.0.0.1:${pOut}`;
    out(`daemon: langevind run --model ${modelPath} --input ${input} --output ${output}`);
    daemon = await CliProcess.start(['run', '--model', modelPath, '--input', input, '--output', output, '--status-interval', '0'], {
      onLog: (r) => {
        if (r.level === 'warn' || r.level === 'error') process.stderr.write(`daemon ${String(r.level)}: ${String(r.msg)} ${JSON.stringify(r)}\n`);
      },
    });
    const control = daemon.logs.find((l) => l.msg === 'ready')?.control;
    if (typeof control === 'string') out(`dashboard: ${control}/ (open it in a browser while the demo runs)`);

    // 3. Replay with a live status line.
    const tty = process.stdout.isTTY === true;
    const status = (p: ReplayProgress): void => {
      const line = `  ${p.elapsedS.toFixed(0).padStart(3)} s  bins ${String(p.received).padStart(6)}/${String(rec.bins).padEnd(6)}  latency p50 ${p.p50Ms.toFixed(3)} ms  p99 ${p.p99Ms.toFixed(3)} ms  R² ${Number.isNaN(p.r2) ? '—' : p.r2.toFixed(3)}`;
      if (tty) process.stdout.write(`\r${line}\x1b[K`);
      else out(line);
    };
    const ac = new AbortController();
    const onSig = (): void => ac.abort();
    process.once('SIGINT', onSig);
    let m;
    try {
      m = await runReplay({ recording: rec, to: input, from: output, speed, onProgress: status, signal: ac.signal });
    } finally {
      process.off('SIGINT', onSig);
      if (tty) process.stdout.write('\n');
    }
    const report = writeReports(m, a.values.report);

    // 4. Stop the daemon and print both summaries.
    const stopped = await daemon.stop();
    const daemonStdout = daemon.stdout;
    daemon = undefined;
    out('\n== daemon summary ==');
    out(daemonStdout.split('\n').filter((l) => l && !l.startsWith('{')).join('\n') || '(no summary printed)');
    out('\n== end-to-end (replay → daemon → replay) ==');
    const L = report.latencyMs;
    out(`bins sent ${report.sent}, received ${report.received}, lost ${report.lost}, duplicates ${report.duplicates}, late (> ${report.deadlineMs} ms) ${report.late}`);
    out(`latency (ms)   p50 ${L.p50}   p99 ${L.p99}   p99.9 ${L.p999}   max ${L.max}`);
    if (report.velocity) {
      const per = report.velocity.labels.map((l) => `${l} ${report.velocity!.r2[l]}`).join(', ');
      out(`decoded velocity R²: ${per} (mean ${report.velocity.r2Mean})${calibrated ? '' : '  [uncalibrated model]'}`);
    }
    if (a.values.report) out(`report: ${a.values.report}`);
    if (stopped.code !== 0) throw new DemoError('EDAEMON', `langevind run exited with code ${stopped.code}`);
    if (report.received === 0) throw new DemoError('EDAEMON', 'no decoded bins came back from the daemon');
    return 0;
  } finally {
    if (daemon) await daemon.stop('SIGINT', 5000);
    if (a.values.keep) out(`kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
