/**
 * Busy-polling ZeroMQ input (`zmq+tcp://…?busypoll`, streams/zmq/busy-poll.ts) against real
 * sockets: the spin ends when a message is there or the socket closes, the event loop keeps
 * running while it spins, and a daemon with a busy-polling input decodes every bin as the
 * OnlineFilter does. No timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Publisher, Subscriber } from 'zeromq';
import { openSink, openSource, type EndpointContext } from '../../daemon/endpoints.js';
import { silentLogger } from '../../daemon/log.js';
import { spinUntilReadable } from '../../streams/zmq/busy-poll.js';
import { CliProcess } from '../../harness/process.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { assertDecodedAsOfflineThenStops } from '../support/offline-decodes.js';
import { endpoint, tempDir } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';

const tmp = tempDir('langevind-busypoll-floor-');
after(() => tmp.cleanup());

describe('spinUntilReadable', () => {
  it('returns once a message is there, and timers still fire while it spins', async () => {
    const e = await endpoint('tcp', tmp.dir, 'spin');
    const pub = new Publisher({ linger: 0 });
    await pub.bind(e.address);
    const sub = new Subscriber({ linger: 0, receiveTimeout: 0 });
    sub.subscribe('');
    sub.connect(e.address);
    try {
      assert.equal(sub.readable, false);
      // The message is sent from a timer: if the spin starved the event loop it would never come.
      let ticks = 0;
      const t = setInterval(() => {
        ticks++;
        void pub.send(['spikes', 'x']);
      }, 10);
      await spinUntilReadable(sub, () => false);
      clearInterval(t);
      assert.ok(ticks >= 1);
      assert.equal(sub.readable, true);
      const [topic, payload] = await sub.receive();
      assert.equal(topic.toString(), 'spikes');
      assert.equal(payload.toString(), 'x');
    } finally {
      pub.close();
      sub.close();
    }
  });

  it('returns when stopped or when the socket is closed', async () => {
    const sub = new Subscriber({ linger: 0 });
    sub.connect('tcp://127.0.0.1:9');
    let stop = false;
    setTimeout(() => (stop = true), 20);
    await spinUntilReadable(sub, () => stop);
    setTimeout(() => sub.close(), 20);
    await spinUntilReadable(sub, () => false);
    assert.equal(sub.closed, true);
  });
});

describe('zmq input ?busypoll', () => {
  const ctx: EndpointContext = {
    config: { n_in: 4, bin_ms: 20, velocity_labels: ['vel_x', 'vel_y'], channel_labels: ['a', 'b', 'c', 'd'] },
    modelId: 'test',
    log: silentLogger,
  };

  it('takes no value and is for inputs only', async () => {
    await assert.rejects(openSource('zmq+tcp://127.0.0.1:9?busypoll=yes', ctx), (e: Error & { code?: string }) => e.code === 'EENDPOINT' && /busypoll takes no value \(got "yes"\)/.test(e.message));
    const out = await endpoint('tcp', tmp.dir, 'bp-sink');
    await assert.rejects(openSink(`${out.uri}?busypoll`, ctx), (e: Error & { code?: string }) => e.code === 'EENDPOINT' && /busypoll is an input option/.test(e.message));
  });

  it('a daemon with a busy-polling input decodes every bin as the OnlineFilter does', async () => {
    const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn: 16, name: 'bp.safetensors' });
    const inp = await endpoint('tcp', tmp.dir, 'bp-in');
    const out = await endpoint('tcp', tmp.dir, 'bp-out');
    const rig = await RigPublisher.bind(inp.address);
    const daemon = new CliProcess(['run', '--model', modelPath, '--input', `${inp.uri}?busypoll`, '--output', out.uri, '--status-interval', '0']);
    let c: DecodedCollector | undefined;
    try {
      const open = await daemon.waitMsg('input open');
      assert.equal(open.busy_poll, true);
      await daemon.waitMsg('ready');
      await rig.waitForSubscriber();
      c = new DecodedCollector(out.address);
      await daemon.waitMsg('subscriber joined');
      const counts = syntheticCounts(16, 50, 12);
      for (let i = 0; i < counts.length; i++) {
        await rig.send({ seq: i + 1, timestamp: i * 0.02, counts: counts[i], binMs: 20, streamId: 'bp' });
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 15));
      }
      // SIGINT is handled while the input spins: the event loop is not starved.
      await assertDecodedAsOfflineThenStops(daemon, c, model, counts);
    } finally {
      c?.close();
      rig.close();
      daemon.kill();
    }
  });
});
