/**
 * A short closed-loop block with every part a real process on real sockets: the simulated user
 * (lockstep) → `langevind run` (the committed default model) → `langevind task --clock bins` →
 * the user. Short trials (radius 2.5, hold 200 ms, timeout 2 s) keep a block to a second or two.
 * With `record`, the daemon and the task each write their recording, as on a rig.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockMetrics, Summary } from '../../closedloop/metrics/block.js';
import type { TrialRecord } from '../../closedloop/metrics/trial.js';
import { CliProcess, REPO_ROOT } from '../../harness/process.js';

export const DEFAULT_MODEL = join(REPO_ROOT, 'models', 'default.safetensors');

export interface ProcessBlockOptions {
  dir: string;
  /** Unique within dir: names the sockets and files. */
  name: string;
  trials: number;
  decoder?: 'langevinflow' | 'wiener' | 'kalman';
  /** Write `<name>-daemon.xdf` (run --record), `<name>-task.xdf` (task --record) and `<name>-intention.xdf` (simulate-user --intention-out). */
  record?: boolean;
  seed?: number;
}

/** What `task --out` writes. */
export interface TaskOut {
  label: string;
  decodes: number;
  block: Summary;
  perTarget: BlockMetrics['perTarget'];
  trials: BlockMetrics['trials'];
  trajectories: TrialRecord[];
}

export interface ProcessBlock {
  out: TaskOut;
  /** The task's one-line summary on stdout. */
  summary: { decodes: number; block: Summary };
  daemonXdf: string;
  taskXdf: string;
  intentionXdf: string;
}

export async function processBlock(o: ProcessBlockOptions): Promise<ProcessBlock> {
  const sock = (k: string): string => `zmq+ipc://${join(o.dir, `${o.name}-${k}.sock`)}`;
  const outPath = join(o.dir, `${o.name}.json`);
  const daemonXdf = join(o.dir, `${o.name}-daemon.xdf`), taskXdf = join(o.dir, `${o.name}-task.xdf`), intentionXdf = join(o.dir, `${o.name}-intention.xdf`);
  const seed = String(o.seed ?? 1);
  const procs: CliProcess[] = [];
  try {
    procs.push(await CliProcess.start(['run', '--model', DEFAULT_MODEL, '--input', sock('spikes'), '--output', sock('velocity'), '--status-interval', '0',
      ...(o.decoder ? ['--decoder', o.decoder] : []), ...(o.record ? ['--record', daemonXdf] : [])]));
    const task = await CliProcess.start(['task', '--from', sock('velocity'), '--publish', sock('task'), '--no-lsl', '--clock', 'bins', '--trials', String(o.trials),
      '--timeout-ms', '2000', '--radius', '2.5', '--hold-ms', '200', '--iti-ms', '100', '--stall-bins', '500', '--seed', seed, '--out', outPath,
      ...(o.record ? ['--record', taskXdf] : [])], { ready: 'task ready' });
    procs.push(task);
    procs.push(await CliProcess.start(['simulate-user', '--mode', 'lockstep', '--to', sock('spikes'), '--task', sock('task'), '--channels', '48', '--seed', seed, '--bins', '100000',
      ...(o.record ? ['--intention-out', intentionXdf] : [])],
      { ready: 'simulated user ready' }));
    const { code } = await task.exited;
    assert.equal(code, 0, task.stderrText.slice(-2000));
    const summary = task.lastJson<ProcessBlock['summary']>();
    assert.equal(summary.block.trials, o.trials);
    return { out: JSON.parse(readFileSync(outPath, 'utf8')) as TaskOut, summary, daemonXdf, taskXdf, intentionXdf };
  } finally {
    // The daemon last, so that its recording holds every decode the task saw.
    for (const p of procs.reverse()) await p.stop('SIGINT').catch(() => p.kill());
  }
}
