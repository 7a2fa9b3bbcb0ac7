import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { applyAffine, lagged, mat, ridgeCv, type Affine } from '../../calibration/linear.js';
import { calibrationBlock } from '../../closedloop/user/calibration-block.js';
import { runLiveUser, type LiveUserOptions } from '../../closedloop/user/live.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { selectorQuery } from '../../streams/lsl/endpoint.js';
import { LslInlet } from '../../streams/lsl/inlet.js';
import { testConfigPath } from '../../harness/liblsl.js';
import { CliProcess } from '../../harness/process.js';
import { LoopPeer } from './loop-peer.js';

process.env.LSLAPICFG = testConfigPath();
let n = 0;
const ipc = (what: string): string => `ipc://${join(tmpdir(), `langevind-simuser-${process.pid}-${what}-${n++}`)}`;

/** Runs the user in lockstep against a loop peer; returns both sides' records. */
async function lockstep(o: { seed: number; bins: number; decode: (c: ArrayLike<number>, seq: number) => [number, number]; timeoutMs?: number } & Partial<Pick<Parameters<typeof LoopPeer.open>[0], 'stall' | 'garbage'>>, user: Partial<LiveUserOptions['user']> = {}) {
  const spikes = ipc('spikes'), task = ipc('task');
  const peer = await LoopPeer.open({ spikes, task, decode: o.decode, stall: o.stall, garbage: o.garbage });
  try {
    const stats = await runLiveUser({
      user: { seed: o.seed, channels: 48, ...user }, mode: 'lockstep', bins: o.bins, lockstepTimeoutMs: o.timeoutMs ?? 2000,
      spikes: { address: spikes, bind: true }, lsl: null, task: { address: task, bind: false },
    });
    return { stats, peer };
  } finally {
    peer.close();
  }
}

describe('simulate-user over ZeroMQ', () => {
  const still = (): [number, number] => [0, 0];
  // A crude fixed decoder: the first channels push right, the next push up.
  const crude = (c: ArrayLike<number>): [number, number] => [(c[0] + c[1] - c[2] - c[3]) * 3, (c[4] + c[5] - c[6] - c[7]) * 3];

  test('lockstep is deterministic for a seed, bin for bin, and every bin is answered', async () => {
    const a = await lockstep({ seed: 3, bins: 150, decode: crude });
    const b = await lockstep({ seed: 3, bins: 150, decode: crude });
    const c = await lockstep({ seed: 4, bins: 150, decode: crude });
    assert.equal(a.stats.binsSent, 150);
    assert.equal(a.stats.lockstepTimeouts, 0);
    assert.equal(a.stats.taskMessages, 150);
    assert.equal(a.stats.daemonSubscribed, true);
    assert.equal(a.peer.counts.length, 150);
    assert.deepEqual(a.peer.counts, b.peer.counts);
    assert.notDeepEqual(a.peer.counts, c.peer.counts);
  });

  test('garbage on the task topic is counted and survived', async () => {
    const r = await lockstep({
      seed: 1, bins: 40, decode: still,
      garbage: (seq) => seq % 10 === 5 ? [['task', Buffer.from('not a protobuf at all \xff\xff')], ['task'], ['taskx', Buffer.alloc(3)], ['task', Buffer.from('0a00', 'hex')]] : [],
    });
    assert.equal(r.stats.binsSent, 40);
    // Per garbage round: undecodable, one frame, a cursor without coordinates (empty message); "taskx" passes ZeroMQ's prefix filter and is refused by topic.
    assert.equal(r.stats.badTaskMessages, 4 * 4);
    assert.equal(r.stats.taskMessages, 40);
    assert.equal(r.stats.lockstepTimeouts, 0);
  });

  test('a stalled daemon costs a timeout per unanswered bin, and the user carries on', async () => {
    const r = await lockstep({ seed: 2, bins: 30, decode: still, timeoutMs: 50, stall: (seq) => seq >= 10 && seq < 15 });
    assert.equal(r.stats.binsSent, 30);
    assert.equal(r.stats.lockstepTimeouts, 5);
    assert.equal(r.stats.taskMessages, 25);
  });

  test('a daemon and task that restart mid-run: the bins in between time out, then the loop resumes', async () => {
    const spikes = ipc('spikes'), task = ipc('task');
    let peer = await LoopPeer.open({ spikes, task, decode: still });
    const first = peer;
    const run = runLiveUser({
      user: { seed: 7, channels: 16 }, mode: 'lockstep', bins: 300, lockstepTimeoutMs: 100,
      spikes: { address: spikes, bind: true }, lsl: null, task: { address: task, bind: false },
    });
    try {
      while (first.counts.length < 50) await new Promise((r) => setTimeout(r, 5));
      first.close();
      await new Promise((r) => setTimeout(r, 400));
      peer = await LoopPeer.open({ spikes, task, decode: still });
      const stats = await run;
      assert.equal(stats.binsSent, 300);
      assert.ok(stats.lockstepTimeouts >= 2, `${stats.lockstepTimeouts} timeouts while the peer was away`);
      const answeredByNew = peer.counts.filter(Boolean).length;
      assert.ok(answeredByNew >= 100, `the restarted peer got ${answeredByNew} bins`);
      assert.equal(peer.counts.length, 300, 'the last bin reached the restarted peer');
      assert.ok(stats.taskMessages >= 50 + 100, `${stats.taskMessages} task states`);
    } finally {
      first.close();
      peer.close();
    }
  });

  test('realtime sends every bin in order, and follows the task state it is sent', async () => {
    const spikes = ipc('spikes'), task = ipc('task');
    const peer = await LoopPeer.open({ spikes, task, decode: still });
    try {
      const stats = await runLiveUser({
        user: { seed: 5, channels: 16 }, mode: 'realtime', bins: 60, spikes: { address: spikes, bind: true }, lsl: null, task: { address: task, bind: false },
      });
      assert.equal(stats.binsSent, 60);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(peer.counts.filter(Boolean).length, 60);
      assert.ok(stats.taskMessages > 0, 'task states arrived');
      assert.ok(stats.seconds >= 60 * 0.02 * 0.9, `paced at 1×: ${stats.seconds} s for 60 bins of 20 ms`);
    } finally {
      peer.close();
    }
  });
});

describe('langevind simulate-user (the command)', () => {
  test('lockstep for N bins prints its summary; realtime runs until SIGINT and exits 0 with a summary', async () => {
    const spikes = ipc('spikes'), task = ipc('task');
    const peer = await LoopPeer.open({ spikes, task, decode: () => [1, 0] });
    try {
      const uri = (a: string): string => a.replace('ipc://', 'zmq+ipc://');
      const p = new CliProcess(['simulate-user', '--mode', 'lockstep', '--bins', '120', '--channels', '24', '--seed', '3', '--to', uri(spikes), '--task', uri(task)]);
      const { code } = await p.exited;
      assert.equal(code, 0, p.stderrText);
      const s = p.lastJson<Record<string, unknown>>();
      assert.equal(s.bins_sent, 120);
      assert.equal(s.task_messages, 120);
      assert.equal(s.lockstep_timeouts, 0);
      assert.equal(s.daemon_subscribed, true);
      assert.ok(p.logs.some((l) => l.msg === 'simulated user ready' && l.mode === 'lockstep'));

      const q = new CliProcess(['simulate-user', '--channels', '24', '--to', uri(spikes), '--task', uri(task)]);
      await q.waitMsg('simulated user ready');
      await new Promise((r) => setTimeout(r, 300));
      const { code: qc } = await q.stop('SIGINT');
      assert.equal(qc, 0, q.stderrText);
      const t = q.lastJson<Record<string, number | string>>();
      assert.equal(t.mode, 'realtime');
      assert.ok((t.bins_sent as number) > 0);
      const bad = new CliProcess(['simulate-user', '--mode', 'fast']);
      assert.equal((await bad.exited).code, 2, 'a usage error');
      assert.match(bad.stderrText, /--mode must be realtime or lockstep.*\[EUSAGE\]/);
    } finally {
      peer.close();
    }
  });
});

describe('simulate-user over LSL', () => {
  for (const format of ['int16', 'float32'] as const) test(`the LSL outlet carries the same bins as the ZeroMQ output, as ${format} SpikeCounts`, async () => {
    const spikes = ipc('spikes'), task = ipc('task');
    const peer = await LoopPeer.open({ spikes, task, decode: () => [0, 0] });
    const name = `simuser-${process.pid}-${format}`;
    const got: number[][] = [];
    let fmt = '';
    const inlet = new LslInlet({
      query: selectorQuery({ name }), config: loadLslConfig(),
      onSample: (_t, numbers) => { got.push(Array.from(numbers)); },
      onEvent: (e) => { if (e.kind === 'connected') fmt = `${e.info.type}/${e.info.channelFormat}/${e.info.channelCount}/${e.info.nominalSrate}`; },
    }).start();
    try {
      const stats = await runLiveUser({
        user: { seed: 6, channels: 24 }, mode: 'lockstep', bins: 80, waitForDaemonMs: 15000, waitForAll: true,
        spikes: { address: spikes, bind: true }, lsl: { name, format }, task: { address: task, bind: false },
      });
      assert.equal(stats.binsSent, 80);
      const deadline = Date.now() + 5000;
      while (got.length < 80 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(fmt, `SpikeCounts/${format}/24/50`);
      assert.equal(stats.daemonSubscribed, true, 'both consumers joined before the first bin');
      assert.equal(got.length, 80);
      for (let i = 0; i < 80; i++) assert.deepEqual(got[i], peer.counts[i], `bin ${i}`);
    } finally {
      await inlet.close();
      peer.close();
    }
  });
});

describe('the simulated user in closed loop with a decoder fitted on its calibration block', () => {
  let fit: Affine;
  before(async () => {
    await useBackend('wasm');
    const block = calibrationBlock({ seed: 21, trials: 24, channels: 48 });
    const s = block.session;
    const T = s.timestamps.length;
    const X = lagged(mat(Float32Array.from(s.counts), T, 48), 3);
    fit = ridgeCv(X, mat(s.velocity, T, 2)).fit;
  });

  test('it acquires most centre-out targets in lockstep', async () => {
    // The Wiener filter run causally, bin by bin.
    const hist = new Float32Array(3 * 48);
    const v = new Float32Array(2);
    const decode = (c: ArrayLike<number>): [number, number] => {
      hist.copyWithin(48, 0, 2 * 48);
      for (let i = 0; i < 48; i++) hist[i] = c[i];
      const P = applyAffine(fit, mat(hist, 1, 3 * 48));
      v.set(P.data);
      return [v[0], v[1]];
    };
    const r = await lockstep({ seed: 21, bins: 1500, decode }, { channels: 48 });
    const done = r.peer.trials;
    const ok = done.filter((t) => t.success).length;
    assert.equal(r.stats.lockstepTimeouts, 0);
    assert.ok(done.length >= 8, `${done.length} trials finished`);
    assert.ok(ok / done.length >= 0.6, `${ok} of ${done.length} trials succeeded`);
  });
});

