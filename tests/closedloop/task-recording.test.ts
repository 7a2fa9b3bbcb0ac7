/**
 * The task's LSL streams are a recording of the block: real LSL inlets take the cursor, target
 * and marker streams of a live task, an XDF is written from what they received, and
 * metricsFromRecording on that file gives the metrics the live task computed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testConfigPath } from '../../harness/liblsl.js';
import { tempDir } from '../support/net.js';
import { aimAt, TaskPeer } from './task-peer.js';
import { blockMetrics } from '../../closedloop/metrics/block.js';
import { metricsFromRecording, MetricsError } from '../../closedloop/metrics/recording.js';
import { LiveTask } from '../../closedloop/task/live.js';
import { createLogger } from '../../daemon/log.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { selectorQuery } from '../../streams/lsl/endpoint.js';
import { LslInlet } from '../../streams/lsl/inlet.js';
import { LslOutlet } from '../../streams/lsl/outlet.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { writeXdf } from '../../streams/xdf/writer.js';

process.env.LSLAPICFG = testConfigPath();

test('a recorded task block gives back the live metrics (metricsFromRecording)', { timeout: 90_000 }, async () => {
  const tmp = tempDir('langevind-task-rec-');
  const vel = `ipc://${join(tmp.dir, 'task-rec-velocity.sock')}`, st = `ipc://${join(tmp.dir, 'task-rec-state.sock')}`;
  const peer = await TaskPeer.open(vel, st);
  const lines: string[] = [];
  const live = await LiveTask.open({
    task: { layout: 'centre-out', seed: 5, binMs: 20, holdS: 0.1, itiS: 0.04, timeoutS: 1.5, maxTrials: 6 },
    clock: 'bins', input: { address: vel, bind: false }, publish: { address: st, bind: true }, lsl: true, page: null, stallBins: 1000,
    log: createLogger({ write: (l) => lines.push(l) }),
  });
  const rec: Record<string, { t: number[]; rows: (number[] | string[])[] }> = { cursor: { t: [], rows: [] }, target: { t: [], rows: [] }, markers: { t: [], rows: [] } };
  const infos = live.lslInfo!;
  const inlets = (Object.keys(rec) as (keyof typeof infos)[]).map((k) => new LslInlet({
    info: { ...infos[k], v4address: '127.0.0.1' }, config: loadLslConfig(), timeCorrection: false,
    onSample: (t, nums, strs) => { rec[k].t.push(t); rec[k].rows.push(strs.length > 0 ? [...strs] : [...nums]); },
  }).start());
  try {
    assert.ok(await live.waitForRecorder(20_000), 'every outlet got its inlet');
    await peer.joined();
    assert.ok(await live.waitForSubscriber(20_000));
    let seq = 0;
    let bad = false;
    while (live.task.trials.length < 6) {
      const k = seq++;
      const got = peer.next((s) => s.seq === k);
      // Trial 3 is not reached: it times out.
      const s = peer.states.at(-1);
      const v = s?.trial === 3 ? [0, 0] : aimAt(s);
      if (s?.trial === 1 && !bad) { bad = true; peer.sendRaw(['velocity', Buffer.from([0xff])]); }
      peer.sendDecoded(k, v[0], v[1]);
      await got;
    }
    await live.done;
    // Let the inlets take the last samples (they arrive over TCP after the push).
    const expect = peer.states.length;
    const deadline = Date.now() + 20_000;
    while (rec.cursor.t.length < live.stats.decodes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(rec.cursor.t.length, live.stats.decodes, `cursor samples for every decode (${expect} states)`);
    while (rec.markers.rows.length === 0 || !String(rec.markers.rows.at(-1)![0]).startsWith('iti') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } catch (e) {
    throw new Error(`${(e as Error).message}\nstats ${JSON.stringify(live.stats)} states ${peer.states.length}\ntask log:\n${lines.join('')}`);
  } finally {
    await Promise.all(inlets.map((i) => i.close()));
    await live.close();
    peer.close();
  }
  const streams = (['cursor', 'target', 'markers'] as const).map((k, i) => ({
    id: i + 1, info: infos[k], timeStamps: rec[k].t,
    data: k === 'markers' ? rec[k].rows as string[][] : Float32Array.from(rec[k].rows.flat() as number[]),
  }));
  const path = join(tmp.dir, 'block.xdf');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path, writeXdf(streams, { datetime: null }));
  try {
    const file = readXdf(path);
    const fromFile = metricsFromRecording(file, 'test');
    const liveM = blockMetrics('test', live.task.trials);
    assert.deepEqual(fromFile.notes, []);
    assert.deepEqual(fromFile.metrics.trials.map((t) => t.outcome), ['success', 'success', 'success', 'timeout', 'success', 'success']);
    assert.deepEqual(fromFile.metrics.trials.map((t) => [t.trial, t.target, t.outcome, t.entries, t.exits]), liveM.trials.map((t) => [t.trial, t.target, t.outcome, t.entries, t.exits]));
    for (let i = 0; i < liveM.trials.length; i++) {
      const a = fromFile.metrics.trials[i], b = liveM.trials[i];
      for (const k of ['timeToTarget', 'dialIn', 'pathEfficiency', 'throughput', 'distance', 'overshoot'] as const) {
        const x = a[k], y = b[k];
        assert.ok((x === null && y === null) || (x !== null && y !== null && Math.abs(x - y) < 1e-4 * Math.max(1, Math.abs(y))), `trial ${i} ${k}: file ${x}, live ${y}`);
      }
    }
    assert.equal(fromFile.metrics.block.successRate, 5 / 6);
    // The markers name the events (first word the state entered, as recalibrate reads them).
    assert.match(String(file.streams[2].data[0]), /^target_on trial=0 target=\d x=\S+ y=\S+ r=1.5 event=start$/);
    assert.ok(lines.some((l) => l.includes('velocity message skipped')));
    // A recording without the task's streams is refused by name.
    assert.throws(() => metricsFromRecording({ ...file, streams: file.streams.slice(0, 2) }), (e: unknown) => e instanceof MetricsError && e.code === 'ENOMARKERS');
    assert.throws(() => metricsFromRecording({ ...file, streams: file.streams.slice(1) }), (e: unknown) => e instanceof MetricsError && e.code === 'ENOCURSOR' && /langevind-cursor/.test(e.message));
  } finally {
    tmp.cleanup();
  }
});

test('the task also takes the daemon\'s LSL velocity output', { timeout: 60_000 }, async () => {
  const outlet = await LslOutlet.create({ name: 'task-test-velocity', type: 'Velocity', channelCount: 2, channelFormat: 'float32', nominalSrate: 50, sourceId: `task-test-${process.pid}`, config: loadLslConfig() });
  const lines: string[] = [];
  const live = await LiveTask.open({
    task: { layout: 'centre-out', seed: 1, binMs: 20, itiS: 10 }, clock: 'bins', input: { lsl: selectorQuery({ sourceId: `task-test-${process.pid}` }) },
    publish: null, lsl: false, page: null, stallBins: 1000, log: createLogger({ write: (l) => lines.push(l) }),
  });
  try {
    assert.ok(await outlet.waitForConsumers(20_000), `the task connected: ${lines.join('')}`);
    const t0 = 500;
    for (let i = 0; i < 10; i++) outlet.push(Float32Array.of(5, -2.5), t0 + i * 0.02);
    outlet.push(Float32Array.of(NaN, 0), t0 + 0.2);
    const deadline = Date.now() + 20_000;
    while (live.stats.decodes + live.stats.garbage.velocity < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(live.stats.decodes, 10);
    assert.equal(live.stats.garbage.velocity, 1);
    assert.ok(Math.abs(live.task.cursor.x - 1) < 1e-9 && Math.abs(live.task.cursor.y + 0.5) < 1e-9, `cursor ${live.task.cursor.x}, ${live.task.cursor.y}`);
    assert.equal(live.stats.restarts, 0);
  } finally {
    await live.close();
    await outlet.close();
  }
});
