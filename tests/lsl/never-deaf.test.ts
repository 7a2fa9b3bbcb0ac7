// Never deaf over LSL: a link that drops mid-stream, garbage mid-stream, an outlet that restarts
// under the running daemon, and a consumer of the daemon's outlet that leaves and comes back.
// Real sockets throughout: a rogue outlet whose bytes the test writes, and liblsl 1.12 peers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { feedOkHeader, RogueOutlet } from '../../harness/lsl-rogue.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { localClock } from '../../streams/lsl/clock.js';
import { LslInlet, type InletEvent } from '../../streams/lsl/inlet.js';
import { encodeSample110, TEST_PATTERN_TIMESTAMP, testPattern } from '../../streams/lsl/codec.js';
import type { RunSummary } from '../../daemon/metrics.js';
import { CliProcess } from '../../harness/process.js';
import { endpoint, tempDir } from '../support/net.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { DecodedCollector } from '../../harness/zmq-peers.js';

const cfgPath = testConfigPath();
process.env.LSLAPICFG = cfgPath;
let n = 0;
const uniq = (s: string): string => `${s}-deaf-${process.pid}-${++n}`;

async function until(pred: () => boolean, what: string, ms = 15000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function samples110(values: number[][], ts0: number): Buffer {
  const b = Buffer.alloc(values.length * 17 + 2 * 17);
  let off = encodeSample110(b, 0, 'float32', testPattern('float32', 2, 4), TEST_PATTERN_TIMESTAMP);
  off = encodeSample110(b, off, 'float32', testPattern('float32', 2, 2), TEST_PATTERN_TIMESTAMP);
  values.forEach((v, i) => (off = encodeSample110(b, off, 'float32', v, ts0 + i)));
  return b.subarray(0, off);
}

test('inlet: a link dropped mid-stream and garbage mid-stream each cost one reconnect; every sample sent after it arrives', async () => {
  const rogue = await new RogueOutlet({
    name: uniq('drop'), channelCount: 2, channelFormat: 'float32',
    feed: (s, k) => {
      s.write(feedOkHeader(rogue.info.uid));
      const first = 1 + (k - 1) * 5;
      s.write(samples110(Array.from({ length: 5 }, (_, i) => [first + i, first + i]), first));
      if (k === 1) setTimeout(() => s.destroy(), 50); // the link drops with the outlet alive
      else if (k === 2) setTimeout(() => s.write(Buffer.from([0x07, 0xde, 0xad, 0xbe, 0xef])), 50); // no such tag byte
    },
  }).start();
  const events: InletEvent[] = [];
  const got: number[] = [];
  const inlet = new LslInlet({ info: rogue.info, config: loadLslConfig(), reconnectDelay: 0.05, onSample: (_t, v) => got.push(v[0]), onEvent: (e) => events.push(e) }).start();
  try {
    await until(() => got.length >= 15, 'samples of three connections');
    assert.deepEqual(got, Array.from({ length: 15 }, (_, i) => i + 1));
    assert.equal(rogue.connections, 3);
    assert.equal(inlet.stats.reconnects, 2);
    assert.equal(inlet.stats.protocolErrors, 1);
    assert.ok(events.some((e) => e.kind === 'disconnected' && e.reason === 'connection closed'), JSON.stringify(events.map((e) => e.kind)));
    assert.ok(events.some((e) => e.kind === 'problem' && /tag byte 0x7/.test(e.message)));
    assert.equal(inlet.state, 'streaming');
  } finally {
    await inlet.close();
    await rogue.close();
  }
});

interface LslRig {
  peer: LiblslPeer;
  id: number;
}

async function lslRig(name: string, nIn: number): Promise<LslRig> {
  const peer = new LiblslPeer();
  await peer.ready;
  const { id } = await peer.request<{ id: number }>({ op: 'outlet', name, type: 'SpikeCounts', source_id: `rig-${name}`, format: 'int16', channels: nIn, srate: 50, bin_ms: 20 });
  return { peer, id };
}

function mono(): number {
  return Number(process.hrtime.bigint());
}

test('daemon, LSL input: a bad sample mid-stream is rejected and the rest decoded; after the outlet restarts (same source_id) the daemon decodes again', async (t: TestContext) => {
  const tmp = tempDir('langevind-deaf-lsl-');
  const nIn = 8;
  const { path: modelPath } = writeTestModel(tmp.dir, { nIn, binMs: 20 });
  const name = uniq('M1');
  const out = await endpoint('tcp', tmp.dir, 'lsl-out');
  let rig = await lslRig(name, nIn);
  let daemon: CliProcess | undefined;
  const collector = new DecodedCollector(out.address);
  try {
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${name}`, '--output', out.uri, '--status-interval', '0'], { env: { LSLAPICFG: cfgPath } });
    await daemon.waitMsg('lsl input connected', 20000);
    await daemon.waitMsg('subscriber joined');
    await rig.peer.request({ op: 'wait_consumers', id: rig.id, timeout: 5 });
    const bins = syntheticCounts(nIn, 60, 9);
    const t0 = (await rig.peer.request<{ t: number }>({ op: 'clock' })).t;
    const push = (r: LslRig, k: number, values: number[]) => r.peer.request({ op: 'push', id: r.id, values, ts: t0 + k * 0.02 });
    for (let k = 0; k < 20; k++) await push(rig, k, k === 10 ? Array(nIn).fill(-3) : Array.from(bins[k]));
    await until(() => collector.received.length >= 19, '19 decodes');
    // Bin 10 carried negative counts: refused for its content, and the filter stepped through it.
    assert.ok(!collector.received.some((d) => d.seq === 10));
    await rig.peer.kill();
    await new Promise((r) => setTimeout(r, 200));
    rig = await lslRig(name, nIn);
    const upAt = mono();
    // Push a bin every 20 ms for 3 s; the seq follows the timestamps, so each push is identifiable.
    const sentAt: number[] = [];
    for (let k = 20; k < 170; k++) {
      await push(rig, k, Array.from(bins[k % bins.length]));
      sentAt.push(mono());
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    const firstAfter = collector.received.findIndex((d) => d.seq >= 20);
    const recoveryMs = firstAfter < 0 ? NaN : Math.round((collector.arrivedNs[firstAfter] - upAt) / 1e6);
    const got = new Set(collector.received.map((d) => d.seq));
    // LSL recovery waits liblsl's reconnect delay (0.5 s) and re-resolves the stream, so the bound here is 2 s.
    const missing = sentAt.map((at, i) => (at >= upAt + 2e9 && !got.has(20 + i) ? 20 + i : -1)).filter((s) => s >= 0);
    const exit = await daemon.stop('SIGINT');
    assert.equal(exit.code, 0);
    const summary = daemon.lastJson<{ summary: RunSummary }>().summary;
    t.diagnostic(`lsl outlet restart: ${JSON.stringify({ ms_from_new_outlet_to_first_decode: recoveryMs, decoded_after: collector.received.filter((d) => d.seq >= 20).length, rejects: summary.rejects })}`);
    assert.ok(Number.isFinite(recoveryMs), 'decodes resumed after the restart');
    assert.deepEqual(missing, []);
    assert.equal(summary.rejects.counts, 1);
    assert.ok(daemon.logs.some((l) => l.msg === 'lsl input recovered onto a restarted outlet'));
  } finally {
    daemon?.kill();
    collector.close();
    await rig.peer.quit();
    tmp.cleanup();
  }
});

test('daemon, LSL output: a liblsl consumer that leaves and comes back receives every decode after it is back', async () => {
  const tmp = tempDir('langevind-deaf-lslout-');
  const nIn = 8;
  const { path: modelPath } = writeTestModel(tmp.dir, { nIn, binMs: 20 });
  const name = uniq('M1o');
  const output = uniq('vel');
  const rig = await lslRig(name, nIn);
  const task = new LiblslPeer();
  let daemon: CliProcess | undefined;
  try {
    await task.ready;
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${name}`, '--output', `lsl://name=${output}`, '--status-interval', '0'], { env: { LSLAPICFG: cfgPath } });
    await daemon.waitMsg('lsl input connected', 20000);
    await rig.peer.request({ op: 'wait_consumers', id: rig.id, timeout: 5 });
    const bins = syntheticCounts(nIn, 40, 4);
    const t0 = (await rig.peer.request<{ t: number }>({ op: 'clock' })).t;
    const pushRange = async (from: number, to: number) => {
      for (let k = from; k < to; k++) await rig.peer.request({ op: 'push', id: rig.id, values: Array.from(bins[k]), ts: t0 + k * 0.02 });
    };
    let inl = await task.request<{ id: number }>({ op: 'inlet', prop: 'name', value: output, timeout: 10 });
    await new Promise((r) => setTimeout(r, 200));
    await pushRange(0, 10);
    let got = await task.request<{ samples: { ts: number }[] }>({ op: 'pull', id: inl.id, n: 10, timeout: 10 });
    assert.equal(got.samples.length, 10);
    await task.request({ op: 'destroy_inlet', id: inl.id });
    await pushRange(10, 20); // nobody listening
    inl = await task.request<{ id: number }>({ op: 'inlet', prop: 'name', value: output, timeout: 10 });
    await new Promise((r) => setTimeout(r, 200));
    const backAt = localClock();
    await pushRange(20, 40);
    got = await task.request<{ samples: { ts: number }[] }>({ op: 'pull', id: inl.id, n: 20, timeout: 10 });
    const pulledAt = localClock();
    assert.equal(got.samples.length, 20);
    // Stamped with their bins' arrival on the local clock, in order: the decodes of bins 20..39
    // (the ten pushed while nobody listened arrived before backAt; samples read in one chunk share a stamp).
    got.samples.forEach((s, i) => assert.ok(s.ts >= backAt && s.ts <= pulledAt && (i === 0 || s.ts >= got.samples[i - 1].ts), `sample ${i}: ${s.ts} not in [${backAt}, ${pulledAt}], or before the one before`));
    const exit = await daemon.stop('SIGINT');
    assert.equal(exit.code, 0);
    const summary = daemon.lastJson<{ summary: RunSummary }>().summary;
    assert.equal(summary.bins_decoded, 40);
  } finally {
    daemon?.kill();
    await rig.peer.quit();
    await task.quit();
    tmp.cleanup();
  }
});
