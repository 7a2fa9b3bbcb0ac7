/**
 * The whole loop, every part a real process on real sockets: the simulated user (lockstep) →
 * `langevind run` → `langevind task --clock bins` → the user. With the same seed the task's
 * trials come out identical, so a block can be repeated exactly for each decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess, REPO_ROOT } from '../../harness/process.js';
import { tempDir } from '../support/net.js';

async function block(dir: string, name: string): Promise<{ trials: unknown[]; decodes: number }> {
  const sock = (k: string): string => `zmq+ipc://${join(dir, `task-loop-${name}-${k}.sock`)}`;
  const out = join(dir, `${name}.json`);
  const procs: CliProcess[] = [];
  try {
    procs.push(await CliProcess.start(['run', '--model', join(REPO_ROOT, 'models', 'default.safetensors'), '--input', sock('spikes'), '--output', sock('velocity')]));
    const task = await CliProcess.start(['task', '--from', sock('velocity'), '--publish', sock('task'), '--no-lsl', '--clock', 'bins', '--trials', '4',
      '--timeout-ms', '2000', '--radius', '2.5', '--hold-ms', '200', '--iti-ms', '100', '--stall-bins', '500', '--seed', '1', '--out', out], { ready: 'task ready' });
    procs.push(task);
    const user = await CliProcess.start(['simulate-user', '--mode', 'lockstep', '--to', sock('spikes'), '--task', sock('task'), '--channels', '48', '--seed', '1', '--bins', '100000'],
      { ready: 'simulated user ready' });
    procs.push(user);
    const { code } = await task.exited;
    assert.equal(code, 0, task.stderrText.slice(-2000));
    const summary = task.lastJson<{ decodes: number; block: { trials: number } }>();
    assert.equal(summary.block.trials, 4);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { trials: unknown[]; trajectories: unknown[] };
    return { trials: json.trajectories, decodes: summary.decodes };
  } finally {
    for (const p of procs.reverse()) await p.stop('SIGINT').catch(() => p.kill());
  }
}

test('closed loop in lockstep: user, daemon and task as processes; the same seeds give the same trials', { timeout: 240_000 }, async () => {
  const tmp = tempDir('langevind-task-loop-');
  try {
    const a = await block(tmp.dir, 'a');
    const b = await block(tmp.dir, 'b');
    assert.ok(a.decodes > 50, `decodes: ${a.decodes}`);
    // (The decode count may differ by the one bin the user sends while the task closes.)
    assert.deepEqual(a.trials, b.trials);
    // The default model was not calibrated on this user, yet the user's corrections get the cursor in.
    const outcomes = (a.trials as { outcome: string }[]).map((t) => t.outcome);
    assert.ok(outcomes.includes('success'), `outcomes: ${outcomes.join(' ')}`);
  } finally {
    tmp.cleanup();
  }
});
