/**
 * streams/zmq/watch.ts through the source and the publisher, against zeromq.js peers, over tcp and
 * ipc with fresh addresses: a connection libzmq ends for good is connected again, and counted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Publisher, Push, Subscriber } from 'zeromq';
import { ZmqPublisher } from '../../streams/zmq/publisher.js';
import { openZmqSource, type ReconnectReason } from '../../streams/zmq/subscriber.js';
import { endpoint, tempDir, type Transport } from '../support/net.js';

const tmp = tempDir('langevind-deaf-watch-');
after(() => tmp.cleanup());

async function until(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const transport of ['tcp', 'ipc'] as Transport[]) {
  describe(`connection watch over ${transport}`, () => {
    it('a connecting source whose peer sent an over-limit message is connected again, with its options, and counts it as protocol', async () => {
      const ep = await endpoint(transport, tmp.dir, `src-big-${transport}`);
      const pub = new Publisher({ linger: 0 });
      await pub.bind(ep.address);
      const calls: Array<[ReconnectReason, string]> = [];
      const src = await openZmqSource({ endpoint: ep.address, maxMessageSize: 4096, onReconnect: (r, d) => calls.push([r, d]) });
      const sizes: number[] = [];
      const sub = src.subscribe((m) => sizes.push(m.payload.length));
      try {
        const sendUntilSeen = async (size: number) => {
          for (let t0 = Date.now(); !sizes.includes(size); ) {
            if (Date.now() - t0 > 10000) throw new Error(`a ${size}-byte message never arrived`);
            await pub.send(['spikes', Buffer.alloc(size)]);
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        await sendUntilSeen(10);
        assert.equal(src.stats().connections, 1);
        for (let round = 1; round <= 3; round++) {
          await pub.send(['spikes', Buffer.alloc(100000)]);
          await until(() => src.stats().reconnects.protocol === round, `reconnect ${round}`);
          await sendUntilSeen(10 + round);
        }
        // The size limit still holds on the new connection: each oversized message cost one reconnect.
        assert.ok(!sizes.includes(100000));
        assert.deepEqual(src.stats().reconnects, { protocol: 3, handshake: 0, peer_gone: 0 });
        assert.equal(calls.length, 3);
        assert.ok(calls.every(([r, d]) => r === 'protocol' && d.includes(ep.address)), JSON.stringify(calls));
        assert.equal(src.stats().connections, 1);
      } finally {
        sub.unsubscribe();
        pub.close();
      }
    });

    it('a connecting source whose peer has the wrong socket type (PUSH) keeps retrying, counted as handshake, and takes the real rig when it comes', async () => {
      const ep = await endpoint(transport, tmp.dir, `src-push-${transport}`);
      const push = new Push({ linger: 0 });
      await push.bind(ep.address);
      const calls: Array<[ReconnectReason, string]> = [];
      const src = await openZmqSource({ endpoint: ep.address, onReconnect: (r, d) => calls.push([r, d]) });
      const got: string[] = [];
      const sub = src.subscribe((m) => got.push(m.payload.toString()));
      let pub: Publisher | undefined;
      try {
        // libzmq refuses a PUSH peer for a SUB after connecting and does not retry.
        await until(() => src.stats().reconnects.handshake >= 2, 'two forced reconnects to the PUSH peer');
        assert.ok(calls.every(([r, d]) => r === 'handshake' && /during the ZMTP handshake/.test(d)), JSON.stringify(calls));
        assert.equal(src.stats().connections, 0);
        push.close();
        pub = new Publisher({ linger: 0 });
        for (let t0 = Date.now(); ; ) {
          try {
            await pub.bind(ep.address);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== 'EADDRINUSE' || Date.now() - t0 > 5000) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        for (let t0 = Date.now(); !got.includes('rig'); ) {
          if (Date.now() - t0 > 10000) throw new Error('the rig was never heard');
          await pub.send(['spikes', 'rig']);
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.equal(src.stats().connections, 1);
      } finally {
        sub.unsubscribe();
        push.close();
        pub?.close();
      }
    });

    it('a connecting publisher whose consumer dropped it (the consumer\'s size limit) reaches the consumer again', async () => {
      const ep = await endpoint(transport, tmp.dir, `pub-${transport}`);
      const consumer = new Subscriber({ linger: 0, maxMessageSize: 1000 });
      consumer.subscribe('velocity');
      await consumer.bind(ep.address);
      const got: number[] = [];
      void (async () => {
        try {
          for await (const [, p] of consumer) got.push(p.length);
        } catch {
          /* closed */
        }
      })();
      const calls: ReconnectReason[] = [];
      const pub = await ZmqPublisher.open({ endpoint: ep.address, bind: false, topic: 'velocity', onReconnect: (r) => calls.push(r) });
      try {
        const sendUntilSeen = async (size: number) => {
          for (let t0 = Date.now(); !got.includes(size); ) {
            if (Date.now() - t0 > 10000) throw new Error(`a ${size}-byte decode never arrived`);
            pub.send(new Uint8Array(size));
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        await sendUntilSeen(10);
        pub.send(new Uint8Array(5000));
        await until(() => pub.connectionStats().reconnects.peer_gone + pub.connectionStats().reconnects.protocol >= 1, 'reconnect counted');
        await sendUntilSeen(20);
        assert.ok(!got.includes(5000));
        assert.equal(calls.length, 1, JSON.stringify(calls));
      } finally {
        await pub.close();
        consumer.close();
      }
    });
  });
}
