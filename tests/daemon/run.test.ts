/**
 * `langevind run` end to end: the built CLI as a separate process, real ZeroMQ sockets over tcp
 * (127.0.0.1, unique ports) and ipc (temp dir), a real model file.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Subscriber } from 'zeromq';
import { OnlineFilter } from '../../model/filter.js';
import { loadModel, makeModel, saveModel } from '../../model/model-file.js';
import type { RunSummary } from '../../daemon/metrics.js';
import { runDaemon, type DaemonHandle } from '../../daemon/commands/run.js';
import { createLogger } from '../../daemon/log.js';
import type { PipelineObserver } from '../../daemon/pipeline/index.js';
import { parseRunArgs } from '../../daemon/run-config.js';
import { findStream, readXdf, sampleRow } from '../../streams/xdf/reader.js';
import { CliProcess } from '../../harness/process.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { endpoint, tempDir, type Transport } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';
import { join } from 'node:path';

const tmp = tempDir();
after(() => tmp.cleanup());
const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn: 16 });
const N = model.config.n_in;

function expectedVelocities(counts: ArrayLike<number>[]): number[][] {
  const f = new OnlineFilter(model);
  return counts.map((c) => Array.from(f.step(c).velocity));
}

interface Setup {
  daemon: CliProcess;
  rig: RigPublisher;
  out: { uri: string; address: string };
  cleanup(): void;
}

async function start(transport: Transport, extra: string[] = [], name = 'd'): Promise<Setup> {
  const inp = await endpoint(transport, tmp.dir, `${name}-in`);
  const out = await endpoint(transport, tmp.dir, `${name}-out`);
  const rig = await RigPublisher.bind(inp.address);
  const daemon = new CliProcess(['run', '--model', modelPath, '--input', inp.uri, '--output', out.uri, '--status-interval', '0', ...extra]);
  try {
    await daemon.waitMsg('ready');
    await rig.waitForSubscriber();
  } catch (err) {
    daemon.kill();
    rig.close();
    throw err;
  }
  return { daemon, rig, out, cleanup: () => { daemon.kill(); rig.close(); } };
}

/** Connects a collector and waits until the daemon has seen its subscription (no slow-joiner loss). */
async function collector(s: Setup, nth = 1): Promise<DecodedCollector> {
  const c = new DecodedCollector(s.out.address);
  await s.daemon.waitLog(() => s.daemon.logs.filter((l) => l.msg === 'subscriber joined').length >= nth);
  return c;
}

for (const transport of ['tcp', 'ipc'] as const) {
  describe(`langevind run over zmq+${transport}`, () => {
    it('decodes every bin as the OnlineFilter does, prints the summary on SIGINT and exits 0', async () => {
      const s = await start(transport, [], `ok-${transport}`);
      const c = await collector(s);
      try {
        const counts = syntheticCounts(N, 60, 21);
        for (let i = 0; i < counts.length; i++) await s.rig.send({ seq: i + 1, timestamp: 100 + i * 0.02, counts: counts[i], binMs: 20, streamId: 'rig-A' });
        await c.waitFor(counts.length);
        assert.deepEqual(c.received.map((d) => d.seq), counts.map((_, i) => i + 1));
        assert.deepEqual(c.received.map((d) => Array.from(d.velocity)), expectedVelocities(counts));
        for (const [i, d] of c.received.entries()) {
          assert.equal(d.timestamp, 100 + i * 0.02);
          assert.equal(d.modelId, model.id);
          assert.equal(d.streamId, 'rig-A');
          assert.ok(d.receivedNs > 0 && d.receivedNs <= d.decodedNs && d.decodedNs <= d.sentNs, `stamps of ${d.seq}`);
        }
        const exit = await s.daemon.stop('SIGINT');
        assert.deepEqual(exit, { code: 0, signal: null });
        const { summary } = s.daemon.lastJson<{ summary: RunSummary }>();
        assert.equal(summary.messages_received, 60);
        assert.equal(summary.bins_accepted, 60);
        assert.equal(summary.bins_decoded, 60);
        assert.deepEqual(Object.values(summary.rejects).filter((n) => n !== 0), []);
        assert.deepEqual(summary.input_reconnects, { protocol: 0, handshake: 0, peer_gone: 0 });
        assert.deepEqual(summary.hot_swaps, { model: 0, readout: 0 });
        assert.equal(summary.internal_errors, 0);
        assert.equal(summary.outputs[0].sent, 60);
        assert.equal(summary.latency_us.receive_to_sent.count, 60);
        assert.ok(summary.latency_us.receive_to_sent.max >= summary.latency_us.receive_to_sent.p50);
        assert.match(s.daemon.stdout, /messages received 60, bins accepted 60, decoded 60/);
        assert.match(s.daemon.stdout, /receive_to_sent/);
      } finally {
        c.close();
        s.cleanup();
      }
    });
  });
}

describe('langevind run: bad input at the edge', () => {
  it('counts each kind of bad message, logs it, and keeps decoding', async () => {
    const s = await start('tcp', ['--gap-policy', 'zeros'], 'bad');
    const c = await collector(s);
    try {
      const counts = syntheticCounts(N, 10, 5);
      const send = (seq: number, i: number, extra: object = {}) => s.rig.send({ seq, timestamp: seq * 0.02, counts: counts[i], binMs: 20, streamId: 'rig-B', ...extra });
      await send(1, 0);
      await send(2, 1);
      await s.rig.sendRaw(['spikes', Buffer.from('definitely not protobuf \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff')]);
      await s.rig.sendRaw(['spikes', Buffer.alloc(0), Buffer.from('x')]); // three frames
      await s.rig.sendRaw(['spikesX', Buffer.alloc(0)]); // prefix of the subscription, not the topic
      await send(2, 1); // duplicate
      await send(1, 0); // reordered
      await send(3, 2, { counts: counts[2].subarray(2) }); // wrong channel count
      await send(4, 3, { streamId: 'intruder' });
      await send(4, 3, { binMs: 25 });
      await send(6, 4); // seq 3 rejected (filled), 4 and 5 missing: a gap of 2
      await send(7, 5);
      await c.waitFor(4);
      assert.deepEqual(c.received.map((d) => d.seq), [1, 2, 6, 7]);
      const f = new OnlineFilter(model);
      const z = new Float64Array(N);
      const exp = [Array.from(f.step(counts[0]).velocity), Array.from(f.step(counts[1]).velocity)];
      f.step(z); f.step(z); f.step(z);
      exp.push(Array.from(f.step(counts[4]).velocity), Array.from(f.step(counts[5]).velocity));
      assert.deepEqual(c.received.map((d) => Array.from(d.velocity)), exp);
      await s.daemon.stop('SIGTERM');
      assert.equal(s.daemon.child.exitCode, 0);
      const { summary } = s.daemon.lastJson<{ summary: RunSummary }>();
      assert.deepEqual(summary.rejects, { undecodable: 3, stream_id: 1, bin_ms: 1, channels: 1, counts: 0, duplicate: 1, reordered: 1 });
      assert.equal(summary.gaps, 1);
      assert.equal(summary.gap_bins, 2);
      assert.equal(summary.filled_bins, 3);
      // Undecodable messages are received messages too, counted by the same validate stage.
      assert.equal(summary.messages_received, 12);
      assert.equal(summary.bins_accepted, 4);
      assert.equal(summary.bins_decoded, 4);
      const kinds = new Set(s.daemon.logs.filter((l) => l.msg === 'input rejected').map((l) => l.kind));
      assert.deepEqual([...kinds].sort(), ['bin_ms', 'channels', 'duplicate', 'reordered', 'stream_id', 'undecodable']);
      assert.ok(s.daemon.logs.some((l) => l.msg === 'gap in seq' && l.missing === 2));
    } finally {
      c.close();
      s.cleanup();
    }
  });
});

describe('langevind run: slow and absent consumers', () => {
  it('a vanished and a stalled subscriber do not block the others or the shutdown', async () => {
    const st = await start('tcp', [], 'slow2');
    const vanished = await collector(st, 1);
    vanished.close();
    await st.daemon.waitMsg('subscriber left');
    // A consumer that subscribes and never reads, with the smallest queue ZeroMQ allows.
    const stalled = new Subscriber({ receiveHighWaterMark: 1, linger: 0 });
    stalled.subscribe('velocity');
    stalled.connect(st.out.address);
    await st.daemon.waitLog(() => st.daemon.logs.filter((l) => l.msg === 'subscriber joined').length >= 2);
    const live = await collector(st, 3);
    try {
      const counts = syntheticCounts(N, 50, 9);
      const total = 1500;
      for (let i = 0; i < total; i++) {
        await st.rig.send({ seq: i + 1, timestamp: i * 0.02, counts: counts[i % 50], binMs: 20, streamId: 'rig-C' });
        if ((i + 1) % 100 === 0) await live.waitFor(i + 1);
      }
      await live.waitFor(total);
      assert.deepEqual(live.received.map((d) => d.seq), Array.from({ length: total }, (_, i) => i + 1));
      const t0 = performance.now();
      const exit = await st.daemon.stop('SIGINT');
      assert.equal(exit.code, 0);
      assert.ok(performance.now() - t0 < 10000, 'shutdown did not hang on the stalled subscriber');
      const { summary } = st.daemon.lastJson<{ summary: RunSummary }>();
      assert.equal(summary.bins_decoded, total);
      assert.equal(summary.outputs[0].sent + summary.outputs[0].dropped, total);
    } finally {
      live.close();
      stalled.close();
      st.cleanup();
    }
  });
});

describe('langevind run: recording and failures', () => {
  it('--record writes every accepted bin, every refused message and every decode to an XDF file', async () => {
    const file = join(tmp.dir, 'session.xdf');
    const s = await start('ipc', ['--record', file], 'rec');
    const c = await collector(s);
    try {
      const counts = syntheticCounts(N, 20, 13);
      for (let i = 0; i < counts.length; i++) {
        await s.rig.send({ seq: i + 1, timestamp: 50 + i * 0.02, counts: counts[i], binMs: 20, streamId: 'rig-D' });
        if (i === 4) {
          await s.rig.sendRaw(['spikes', Buffer.from([0xff, 0xff, 0xff])]);
          await s.rig.send({ seq: 6, timestamp: 50.1, counts: counts[5].subarray(1), binMs: 20, streamId: 'rig-D' });
        }
      }
      await c.waitFor(19);
      assert.equal((await s.daemon.stop('SIGINT')).code, 0);
      const x = readXdf(file);
      const spikes = findStream(x, { type: 'SpikeCounts' });
      const dec = findStream(x, { type: 'Decoded' });
      assert.ok(spikes && dec, `streams: ${x.streams.map((st) => st.info.type).join(', ')}`);
      // seq 6 came first with a channel missing: refused, and the well-formed seq 6 after it is a duplicate.
      assert.equal(spikes.timeStamps.length, 19);
      assert.deepEqual(Array.from(sampleRow(spikes, 7) as ArrayLike<number>), Array.from(counts[8]));
      assert.equal(dec.timeStamps.length, 19);
      const row = sampleRow(dec, 3) as ArrayLike<number>;
      assert.deepEqual([row[0], row[1]], Array.from(c.received[3].velocity));
      const rejected = findStream(x, { type: 'InputRejects' });
      assert.ok(rejected, 'a stream of refused messages');
      const msgs = Array.from({ length: rejected.timeStamps.length }, (_, i) => JSON.parse((sampleRow(rejected, i) as string[])[0]) as Record<string, unknown>);
      assert.deepEqual(msgs.map((m) => m.kind), ['undecodable', 'channels', 'duplicate']);
      assert.deepEqual(msgs[0].frames_base64, [Buffer.from('spikes').toString('base64'), Buffer.from([0xff, 0xff, 0xff]).toString('base64')]);
      assert.match(String(msgs[1].detail), new RegExp(`${N - 1} channels, the model expects ${N}`));
      assert.deepEqual(msgs[1].counts, Array.from(counts[5].subarray(1)));
      assert.equal(msgs[1].seq, 6);
      assert.equal(msgs[1].stream_id, 'rig-D');
      assert.equal(rejected.timeStamps[1], 50.1);
      assert.equal(msgs[2].seq, 6);
    } finally {
      c.close();
      s.cleanup();
    }
  });

  it('a finite input (a replay of that recording) ends the run by itself: summary, exit 0', async () => {
    const file = join(tmp.dir, 'session.xdf');
    const out = await endpoint('ipc', tmp.dir, 'replay-out');
    const d = new CliProcess(['run', '--model', modelPath, '--input', `replay://${file}?speed=1`, '--output', out.uri, '--status-interval', '0.1']);
    try {
      const exit = await d.exited;
      assert.equal(exit.code, 0, d.stderrText);
      const { summary } = d.lastJson<{ summary: RunSummary }>();
      // The recording holds the 19 accepted bins (its refused messages are in their own stream).
      assert.equal(summary.messages_received, 19);
      assert.equal(summary.bins_decoded, 19);
      assert.ok(d.logs.some((l) => l.msg === 'stopping' && l.reason === 'input ended'));
      assert.ok(d.logs.some((l) => l.msg === 'status' && typeof l.p99_us === 'number'), 'periodic status lines');
    } finally {
      d.kill();
    }
  });

  it('a model that cannot be loaded is a one-line error and exit 1', async () => {
    const d = new CliProcess(['run', '--model', join(tmp.dir, 'missing.safetensors'), '--input', 'zmq+tcp://127.0.0.1:9', '--output', 'zmq+ipc://' + join(tmp.dir, 'x.sock')]);
    const exit = await d.exited;
    assert.equal(exit.code, 1);
    assert.match(d.stderrText, /^langevind: .*missing\.safetensors/m);
  });

  it('a model whose weights are finite but decode to NaN is refused at start-up (EVALUE), before any socket opens', async () => {
    const weights = Object.fromEntries(Object.entries(model.weights).map(([k, w]) => [k, w.map((x) => x * 1e30)]));
    const path = join(tmp.dir, 'huge.safetensors');
    saveModel(path, makeModel(model.config, weights));
    assert.ok(Object.values(loadModel(path).weights).every((w) => w.every(Number.isFinite)), 'the file itself loads: every weight is finite');
    const d = new CliProcess(['run', '--model', path, '--input', 'zmq+tcp://127.0.0.1:9', '--output', 'zmq+ipc://' + join(tmp.dir, 'huge.sock'), '--control', 'off']);
    const exit = await d.exited;
    assert.equal(exit.code, 1);
    assert.match(d.stderrText, /^langevind: .*not finite.*\[EVALUE\]$/m);
  });
});

describe('runDaemon in process: the handle for what plugs in (control plane, dashboard)', () => {
  it('an observer added after ready sees every bin from then on; a filter swapped through the slot decodes the next bin under its model id', async () => {
    const inp = await endpoint('ipc', tmp.dir, 'handle-in');
    const out = await endpoint('ipc', tmp.dir, 'handle-out');
    const rig = await RigPublisher.bind(inp.address);
    const other = writeTestModel(tmp.dir, { nIn: N, seed: 99, name: 'other.safetensors' }).model;
    let stop!: () => void;
    let handle: DaemonHandle | undefined;
    const ready = new Promise<void>((r) => (stop = r));
    const lines: Array<Record<string, unknown>> = [];
    const ran = runDaemon(parseRunArgs(['--model', modelPath, '--input', inp.uri, '--output', out.uri, '--status-interval', '0'])!, {
      log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
      signals: false,
      stopSignal: ready,
      onReady: (h) => (handle = h),
    });
    const c = new DecodedCollector(out.address);
    try {
      await rig.waitForSubscriber();
      while (!handle || handle.sinks.length === 0) await new Promise((r) => setTimeout(r, 10));
      const h = handle;
      assert.equal(h.model.id, model.id);
      assert.equal(h.slot.modelId, model.id);
      const counts = syntheticCounts(N, 6, 17);
      const seen: Array<[string, number]> = [];
      const observer: PipelineObserver = { accepted: (b) => seen.push(['accepted', b.seq]), decoded: (d) => seen.push([d.modelId, d.seq]) };
      while (!lines.some((l) => l.msg === 'subscriber joined')) await new Promise((r) => setTimeout(r, 10));
      await rig.send({ seq: 1, timestamp: 0.02, counts: counts[0], binMs: 20, streamId: 'rig-H' });
      await c.waitFor(1);
      h.observers.push(observer);
      for (let i = 1; i < 3; i++) await rig.send({ seq: i + 1, timestamp: (i + 1) * 0.02, counts: counts[i], binMs: 20, streamId: 'rig-H' });
      await c.waitFor(3);
      const swapped = h.slot.swapAtNextBin({ filter: new OnlineFilter(other), modelId: other.id }, 'reset');
      for (let i = 3; i < 6; i++) await rig.send({ seq: i + 1, timestamp: (i + 1) * 0.02, counts: counts[i], binMs: 20, streamId: 'rig-H' });
      await swapped;
      await c.waitFor(6);
      assert.deepEqual(seen, [['accepted', 2], [model.id, 2], ['accepted', 3], [model.id, 3], ['accepted', 4], [other.id, 4], ['accepted', 5], [other.id, 5], ['accepted', 6], [other.id, 6]]);
      // After the swap the new model decodes from a reset state, exactly as a fresh filter would.
      const f = new OnlineFilter(other);
      assert.deepEqual(c.received.slice(3).map((d) => Array.from(d.velocity)), counts.slice(3).map((x) => Array.from(f.step(x).velocity)));
      assert.deepEqual(c.received.map((d) => d.modelId), [model.id, model.id, model.id, other.id, other.id, other.id]);
      stop();
      const { summary, exitCode } = await ran;
      assert.equal(exitCode, 0);
      assert.equal(summary.bins_decoded, 6);
    } catch (err) {
      throw new Error(`${(err as Error).message}; daemon log: ${JSON.stringify(lines.slice(-20))}`);
    } finally {
      stop();
      c.close();
      rig.close();
      await ran.catch(() => undefined);
    }
  });
});
