/**
 * `langevind task` end to end over real ZeroMQ: decodes in from a PUB the test drives as a daemon
 * would, TaskState out to the test's SUB, through garbage, a daemon restart and a stall; the
 * metrics JSON and the HTML report it writes at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess } from '../../harness/process.js';
import { tempDir } from '../support/net.js';
import { aimAt, TaskPeer } from './task-peer.js';
import { metricsFromRecording } from '../../closedloop/metrics/recording.js';
import { readXdf } from '../../streams/xdf/reader.js';

test('langevind task: trials driven by decodes, garbage skipped, a restart and a stall survived, metrics written', { timeout: 90_000 }, async () => {
  const tmp = tempDir('langevind-task-');
  const vel = `ipc://${join(tmp.dir, 'task-velocity.sock')}`;
  const taskAddr = `ipc://${join(tmp.dir, 'task-state.sock')}`;
  const out = join(tmp.dir, 'm.json'), report = join(tmp.dir, 'm.html'), xdf = join(tmp.dir, 'task.xdf');
  const peer = await TaskPeer.open(vel, taskAddr);
  const cli = new CliProcess(['task', '--from', `zmq+ipc://${join(tmp.dir, 'task-velocity.sock')}`, '--publish', `zmq+ipc://${join(tmp.dir, 'task-state.sock')}`,
    '--no-lsl', '--clock', 'bins', '--trials', '5', '--hold-ms', '100', '--iti-ms', '40', '--timeout-ms', '2000', '--stall-bins', '100', '--seed', '3',
    '--out', out, '--report', report, '--record', xdf]);
  try {
    await cli.waitMsg('task ready');
    await peer.joined();
    await cli.waitMsg('task state subscriber joined');
    let seq = 0;
    const step = async (): Promise<void> => {
      const [vx, vy] = aimAt(peer.states.at(-1));
      const got = peer.next((s) => s.seq === seq);
      peer.sendDecoded(seq, vx, vy);
      await got;
      seq++;
    };
    // Garbage of every kind before the first good decode: none of it may move the task.
    peer.sendRaw(['velocity', Buffer.from('x'), Buffer.from('y')]);
    peer.sendRaw(['velocityX', Buffer.from([0x08, 0x01])]);
    peer.sendRaw(['velocity', Buffer.from([0xff, 0xff, 0xff])]);
    peer.sendRaw(['velocity', Buffer.from([0x08, 0x05])]); // a Decoded without velocity
    while (peer.states.filter((s) => s.state === 'success').length < 2) await step();
    // The daemon restarts: a new socket on the same address, and its seq starts again from 0.
    await peer.restartPublisher();
    await peer.joined();
    seq = 0;
    while (peer.states.at(-1)!.state !== 'target_on') await step();
    for (let i = 0; i < 3; i++) await step();
    // Then it stalls mid-trial: the trial is aborted, and the next decode resumes.
    const aborted = await peer.next((s) => s.state === 'aborted');
    assert.equal(aborted.trial, 2);
    await step();
    assert.equal(peer.states.at(-1)!.state, 'iti');
    while (cli.child.exitCode === null && peer.states.filter((s) => s.state === 'success').length < 4) await step();
    const { code } = await cli.exited;
    assert.equal(code, 0, cli.stderrText.slice(-2000));
  } finally {
    cli.kill();
    peer.close();
  }
  try {
    const summary = cli.lastJson<{ decodes: number; garbage: Record<string, number>; restarts: number; stalls: number; label: string; block: { trials: number; successes: number; aborted: number; successRate: number } }>();
    assert.deepEqual(summary.garbage, { frames: 1, topic: 1, undecodable: 1, velocity: 1 });
    assert.equal(summary.restarts, 1);
    assert.equal(summary.stalls, 1, JSON.stringify(cli.logs.filter((l) => l.msg === 'decodes stalled')));
    assert.equal(summary.label, 'test-model');
    assert.equal(summary.block.trials, 5);
    assert.equal(summary.block.aborted, 1);
    assert.equal(summary.block.successes, 4);
    assert.equal(summary.block.successRate, 1);
    assert.ok(cli.logs.some((l) => l.msg === 'velocity message skipped' && l.kind === 'undecodable'));
    const json = JSON.parse(readFileSync(out, 'utf8')) as { trials: { outcome: string; timeToTarget: number | null; pathEfficiency: number | null }[]; trajectories: unknown[] };
    assert.deepEqual(json.trials.map((t) => t.outcome), ['success', 'success', 'aborted', 'success', 'success']);
    for (const t of json.trials.filter((x) => x.outcome === 'success')) {
      assert.ok(t.timeToTarget! > 0 && t.pathEfficiency! > 0.95, JSON.stringify(t));
    }
    assert.equal(json.trajectories.length, 5);
    // The task's own recording gives back the same trials and metrics.
    const rec = metricsFromRecording(readXdf(xdf), 'test-model');
    assert.deepEqual(rec.notes, []);
    // The file holds the cursor and target as the task decided on them (doubles, full-precision
    // marker positions): every metric is the live one, up to the stamps' rounding (1e-9 s).
    assert.equal(rec.metrics.trials.length, json.trials.length);
    rec.metrics.trials.forEach((a, i) => {
      const b = json.trials[i] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(a)) {
        const w = b[k];
        if (typeof v === 'number' && typeof w === 'number') assert.ok(Math.abs(v - w) < 1e-9 * Math.max(1, Math.abs(w)), `trial ${i} ${k}: file ${v}, live ${w}`);
        else assert.deepEqual(v, w, `trial ${i} ${k}`);
      }
    });
    const html = readFileSync(report, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /test-model/);
  } finally {
    tmp.cleanup();
  }
});

test('langevind task: bad options are usage errors (exit 2) naming the option', async () => {
  for (const [args, re] of [[['--layout', 'spiral'], /--layout must be centre-out or random/], [['--radius=0'], /--radius must be a number > 0/], [['--from', 'http://x'], /--from must be a zmq/], [['--from', 'lsl://'], /give name=/]] as const) {
    const cli = new CliProcess(['task', ...args]);
    const { code } = await cli.exited;
    assert.equal(code, 2);
    assert.match(cli.stderrText, re);
    assert.match(cli.stderrText, /EUSAGE/);
  }
});
