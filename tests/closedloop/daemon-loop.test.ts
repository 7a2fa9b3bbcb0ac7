/**
 * The simulated user through a real daemon (`langevind run`, the committed default model) in
 * lockstep, with a minimal task in the test process between the daemon's velocity output and the
 * user's task input: two runs from fresh daemons see the same decodes, bin for bin.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Subscriber, XPublisher } from 'zeromq';
import { DecodedReader, encodeTaskState, newDecoded } from '../../streams/proto.js';
import { CliProcess } from '../../harness/process.js';
import { tempDir } from '../support/net.js';
import { MINI_TASK, MiniTask } from './mini-task.js';

const MODEL = fileURLToPath(new URL('../../../models/default.safetensors', import.meta.url));
const tmp = tempDir('langevind-simuser-loop-');
after(() => tmp.cleanup());
let n = 0;

async function oneRun(bins: number): Promise<{ velocities: number[][]; summary: Record<string, unknown>; trials: number }> {
  const k = n++;
  const spikes = `zmq+ipc://${join(tmp.dir, `spikes-${k}`)}`, velocity = `zmq+ipc://${join(tmp.dir, `velocity-${k}`)}`, task = `ipc://${join(tmp.dir, `task-${k}`)}`;
  const daemon = new CliProcess(['run', '--model', MODEL, '--input', spikes, '--output', velocity]);
  const sub = new Subscriber({ linger: 0 });
  const pub = new XPublisher({ linger: 0 });
  let user: CliProcess | undefined;
  try {
    await daemon.waitMsg('ready');
    await pub.bind(task);
    sub.subscribe('velocity');
    sub.connect(velocity.replace('zmq+ipc://', 'ipc://'));
    const mini = new MiniTask(0.02);
    const velocities: number[][] = [];
    const reader = new DecodedReader();
    const d = newDecoded();
    const loop = (async () => {
      for await (const [topic, payload] of sub) {
        if (topic.toString() !== 'velocity' || reader.read(payload, d) !== null) continue;
        velocities[d.seq] = Array.from(d.velocity);
        mini.advance([d.velocity[0], d.velocity[1]]);
        const shown = mini.state !== 'iti';
        await pub.send(['task', Buffer.from(encodeTaskState({
          seq: d.seq, cursor: mini.cursor, target: shown ? mini.target() : [], targetRadius: MINI_TASK.radius, state: mini.state, trial: mini.trial, timestamp: d.timestamp,
        }))]);
      }
    })().catch(() => {});
    await new Promise((r) => setTimeout(r, 200)); // the SUB's handshake with the daemon's output
    user = new CliProcess(['simulate-user', '--mode', 'lockstep', '--bins', String(bins), '--channels', '48', '--seed', '2', '--to', spikes, '--task', task.replace('ipc://', 'zmq+ipc://'), '--lockstep-timeout-ms', '3000']);
    const { code } = await user.exited;
    assert.equal(code, 0, user.stderrText);
    sub.close();
    await loop;
    return { velocities, summary: user.lastJson<Record<string, unknown>>(), trials: mini.trials.length };
  } finally {
    user?.kill();
    sub.close();
    pub.close();
    await daemon.stop();
  }
}

describe('the simulated user in lockstep through langevind run', () => {
  test('every bin is decoded and answered, and a second run from a fresh daemon is the same bin for bin', async () => {
    const a = await oneRun(400);
    const b = await oneRun(400);
    assert.equal(a.summary.bins_sent, 400);
    assert.equal(a.summary.lockstep_timeouts, 0, JSON.stringify(a.summary));
    assert.equal(a.summary.task_messages, 400);
    assert.equal(a.velocities.filter(Boolean).length, 400);
    assert.deepEqual(a.velocities, b.velocities);
    assert.ok(a.trials >= 1, 'trials ran');
  });
});
