// End to end through the real daemon: a liblsl outlet pushes binned counts, `langevind run
// --input lsl://… --output lsl://…` decodes them, a liblsl inlet receives the velocities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { CliProcess } from '../../harness/process.js';
import { endpoint, tempDir } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';
import { writeTestModel, syntheticCounts } from '../support/model.js';
import { parseStreamInfo } from '../../streams/stream-info.js';
import { childText, path } from '../../streams/xml.js';
import { localClock } from '../../streams/lsl/clock.js';

const cfgPath = testConfigPath();
process.env.LSLAPICFG = cfgPath;

test('liblsl outlet → langevind run (lsl:// in and out) → liblsl inlet: every bin decoded, stamped with its arrival on the local clock', async () => {
  const tmp = tempDir();
  const nIn = 8;
  const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn, binMs: 20 });
  const input = `M1-binned-${process.pid}`;
  const output = `langevind-velocity-${process.pid}`;
  const rig = new LiblslPeer();
  const task = new LiblslPeer();
  let daemon: CliProcess | undefined;
  try {
    await rig.ready;
    await task.ready;
    const out = await rig.request<{ id: number }>({ op: 'outlet', name: input, type: 'SpikeCounts', source_id: `rig-${input}`, format: 'int16', channels: nIn, srate: 50, bin_ms: 20 });
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${input}`, '--output', `lsl://name=${output}`], { env: { LSLAPICFG: cfgPath } });
    await daemon.waitMsg('lsl input connected', 20000);
    const r = await task.request<{ id: number; info: string }>({ op: 'inlet', prop: 'name', value: output, timeout: 10 });
    const info = parseStreamInfo(r.info);
    assert.equal(info.channelFormat, 'float32');
    assert.equal(info.channelCount, model.config.velocity_labels.length);
    assert.equal(info.nominalSrate, 50);
    assert.deepEqual(path(info.desc, 'channels')!.children.map((c) => childText(c, 'label')), model.config.velocity_labels);
    await rig.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    const bins = syntheticCounts(nIn, 30, 5);
    const t0 = (await rig.request<{ t: number }>({ op: 'clock' })).t;
    // The rig stamps its bins 1 s in the past: an output stamped from the rig's time would show it.
    const pushedAt: number[] = [];
    for (let k = 0; k < bins.length; k++) {
      pushedAt.push(localClock());
      await rig.request({ op: 'push', id: out.id, values: Array.from(bins[k]), ts: t0 - 1 + k * 0.02 });
    }
    const got = await task.request<{ samples: { ts: number; values: number[] }[] }>({ op: 'pull', id: r.id, n: bins.length, timeout: 10 });
    const pulledAt = localClock();
    assert.equal(got.samples.length, bins.length, 'one velocity sample per bin');
    got.samples.forEach((s, k) => {
      // Stamped when bin k reached the daemon, on this machine's LSL clock: after it was pushed, before it was pulled.
      assert.ok(s.ts >= pushedAt[k] && s.ts <= pulledAt, `sample ${k}: ts ${s.ts} not in [${pushedAt[k]}, ${pulledAt}]`);
      assert.equal(s.values.length, model.config.velocity_labels.length);
      assert.ok(s.values.every(Number.isFinite));
    });
    const exit = await daemon.stop('SIGINT');
    assert.equal(exit.code, 0, daemon.stderrText.slice(-2000));
    const summary = daemon.lastJson<{ summary: { messages_received: number; bins_decoded: number; gaps: number; outputs: { sent: number }[] } }>().summary;
    assert.equal(summary.messages_received, bins.length);
    assert.equal(summary.bins_decoded, bins.length);
    assert.equal(summary.gaps, 0);
    assert.equal(summary.outputs[0].sent, bins.length);
  } finally {
    daemon?.kill();
    await rig.quit();
    await task.quit();
    tmp.cleanup();
  }
});

test('ZeroMQ in → langevind run → LSL out and two ZeroMQ outs: LSL samples on the local clock at arrival, sent_ns stamped by each output', async () => {
  const tmp = tempDir();
  const nIn = 8;
  const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn, binMs: 20 });
  const output = `langevind-zmq-in-${process.pid}`;
  const inp = await endpoint('tcp', tmp.dir, 'in');
  const out1 = await endpoint('ipc', tmp.dir, 'out1');
  const out2 = await endpoint('ipc', tmp.dir, 'out2');
  const rig = await RigPublisher.bind(inp.address);
  const task = new LiblslPeer();
  let daemon: CliProcess | undefined;
  const collectors: DecodedCollector[] = [];
  try {
    await task.ready;
    daemon = new CliProcess(['run', '--model', modelPath, '--input', inp.uri, '--output', `lsl://name=${output}`, '--output', out1.uri, '--output', out2.uri, '--status-interval', '0'], { env: { LSLAPICFG: cfgPath } });
    await daemon.waitMsg('ready', 20000);
    await rig.waitForSubscriber();
    collectors.push(new DecodedCollector(out1.address), new DecodedCollector(out2.address));
    await daemon.waitLog(() => daemon!.logs.filter((l) => l.msg === 'subscriber joined').length >= 2);
    const r = await task.request<{ id: number; info: string }>({ op: 'inlet', prop: 'name', value: output, timeout: 10 });
    const bins = syntheticCounts(nIn, 30, 9);
    const sentAt: number[] = [];
    for (let k = 0; k < bins.length; k++) {
      sentAt.push(localClock());
      // The rig's clock is nowhere near ours: 12345 s. An output stamped from it would show.
      await rig.send({ seq: k + 1, timestamp: 12345 + k * 0.02, counts: bins[k], binMs: 20, streamId: 'rig-z' });
      await new Promise((res) => setTimeout(res, 2));
    }
    const got = await task.request<{ samples: { ts: number; values: number[] }[] }>({ op: 'pull', id: r.id, n: bins.length, timeout: 10 });
    const pulledAt = localClock();
    await Promise.all(collectors.map((c) => c.waitFor(bins.length)));
    assert.equal(got.samples.length, bins.length, 'one velocity sample per bin');
    got.samples.forEach((s, k) => assert.ok(s.ts >= sentAt[k] && s.ts <= pulledAt, `sample ${k}: ts ${s.ts} not in [${sentAt[k]}, ${pulledAt}] (local clock)`));
    const [a, b] = collectors.map((c) => c.received);
    let later = 0;
    for (let k = 0; k < bins.length; k++) {
      assert.equal(a[k].seq, k + 1);
      assert.equal(b[k].seq, k + 1);
      assert.equal(a[k].timestamp, 12345 + k * 0.02, 'Decoded.timestamp is the rig\'s, unchanged');
      assert.equal(a[k].decodedNs, b[k].decodedNs, 'one decode for both outputs');
      assert.ok(a[k].receivedNs <= a[k].decodedNs && a[k].decodedNs <= a[k].sentNs, `stamps of ${k + 1} on output 1`);
      // The second output hands the message to its socket after the first did.
      assert.ok(b[k].sentNs >= a[k].sentNs, `output 2 sent_ns ${b[k].sentNs} before output 1's ${a[k].sentNs}`);
      if (b[k].sentNs > a[k].sentNs) later++;
    }
    assert.ok(later > 0, 'each output stamps its own sent_ns (they are not one stamp taken before the outputs)');
    assert.equal((await daemon.stop('SIGINT')).code, 0, daemon.stderrText.slice(-2000));
  } finally {
    for (const c of collectors) c.close();
    daemon?.kill();
    rig.close();
    await task.quit();
    tmp.cleanup();
  }
});

test('langevind run refuses an LSL input whose channel count does not match the model, naming both', async () => {
  const tmp = tempDir();
  const { path: modelPath } = writeTestModel(tmp.dir, { nIn: 8, binMs: 20 });
  const input = `M1-wrong-${process.pid}`;
  const rig = new LiblslPeer();
  let daemon: CliProcess | undefined;
  try {
    await rig.ready;
    await rig.request({ op: 'outlet', name: input, source_id: input, format: 'int16', channels: 6, srate: 50, bin_ms: 20 });
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${input}`, '--output', `lsl://name=out-${process.pid}`], { env: { LSLAPICFG: cfgPath } });
    const exit = await daemon.exited;
    assert.equal(exit.code, 1);
    assert.match(daemon.stderrText, /has 6 channels, the model expects 8/);
  } finally {
    daemon?.kill();
    await rig.quit();
    tmp.cleanup();
  }
});
