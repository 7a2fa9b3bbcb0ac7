/** The ZeroMQ source and publisher on their own, over tcp and ipc, each test with fresh addresses. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Publisher, Subscriber } from 'zeromq';
import { ZmqPublisher } from '../../streams/zmq/publisher.js';
import { fromZmq, openZmqSource, ZmqError } from '../../streams/zmq/subscriber.js';
import { endpoint, tempDir, type Transport } from '../support/net.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** Collects what a plain SUB receives on `address`, waiting until the publisher saw the subscription. */
async function subscriberOf(pubLog: string[], address: string, topic: string): Promise<{ got: Buffer[][]; close(): void }> {
  const sub = new Subscriber({ linger: 0 });
  sub.subscribe(topic);
  sub.connect(address);
  const got: Buffer[][] = [];
  void (async () => {
    try {
      for await (const frames of sub) got.push(frames);
    } catch {
      /* closed */
    }
  })();
  const t0 = Date.now();
  while (!pubLog.includes(`+${topic}`)) {
    if (Date.now() - t0 > 10000) throw new Error('no subscription seen');
    await new Promise((r) => setTimeout(r, 10));
  }
  return { got, close: () => sub.close() };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 10000) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const transport of ['tcp', 'ipc'] as Transport[]) {
  describe(`ZeroMQ transport over ${transport}`, () => {
    it('fromZmq receives topic + payload with a receive stamp, and reports the frame count', async () => {
      const ep = await endpoint(transport, tmp.dir, `src-${transport}`);
      const pub = new Publisher({ linger: 0 });
      await pub.bind(ep.address);
      try {
        // A SUB joins asynchronously: keep publishing until it is there (payloads say which round).
        const snapshots: Array<{ frames: number; topic: string; payload: string; stamped: boolean }> = [];
        const sub = fromZmq({ endpoint: ep.address, topic: 'spikes' }).subscribe((m) => {
          snapshots.push({ frames: m.frames, topic: m.topic.toString(), payload: m.payload.toString(), stamped: m.receivedNs > 0 });
        });
        let round = 0;
        while (snapshots.length === 0) {
          await pub.send(['spikes', `hello ${round++}`]);
          await new Promise((r) => setTimeout(r, 20));
        }
        await pub.send(['spikes', 'a', 'b']);
        await pub.send(['other', 'x']);
        await pub.send(['spikes', 'last']);
        await until(() => snapshots.some((s) => s.payload === 'last'), 'last message');
        sub.unsubscribe();
        const tail = snapshots.slice(snapshots.findIndex((s) => s.frames === 3));
        assert.deepEqual(tail, [
          { frames: 3, topic: 'spikes', payload: 'a', stamped: true },
          { frames: 2, topic: 'spikes', payload: 'last', stamped: true },
        ]);
        assert.ok(snapshots[0].payload.startsWith('hello') && snapshots[0].stamped);
      } finally {
        pub.close();
      }
    });

    it('a message over maxMessageSize never reaches the pipeline; the source keeps receiving, and the peer\'s return is counted as peer_gone', async () => {
      const ep = await endpoint(transport, tmp.dir, `big-${transport}`);
      const src = await openZmqSource({ endpoint: ep.address, bind: true, maxMessageSize: 4096 });
      const sizes: number[] = [];
      const sub = src.subscribe((m) => sizes.push(m.payload.length));
      const pub = new Publisher({ linger: 0 });
      pub.connect(ep.address);
      try {
        const sendUntilSeen = async (size: number) => {
          for (let t0 = Date.now(); !sizes.includes(size); ) {
            if (Date.now() - t0 > 10000) throw new Error(`a ${size}-byte message never arrived`);
            await pub.send(['spikes', Buffer.alloc(size)]);
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        await sendUntilSeen(10);
        await pub.send(['spikes', Buffer.alloc(100000)]);
        await sendUntilSeen(20);
        assert.ok(!sizes.includes(100000));
        // A binding source needs no help: the peer reconnects by itself; the watch counts its return.
        await until(() => src.stats().reconnects.peer_gone === 1, 'peer_gone counted');
        assert.deepEqual(src.stats().reconnects, { protocol: 0, handshake: 0, peer_gone: 1 });
      } finally {
        sub.unsubscribe();
        pub.close();
      }
    });

    it('unsubscribing closes the socket: a bound address can be bound again', async () => {
      const ep = await endpoint(transport, tmp.dir, `rebind-${transport}`);
      const a = (await openZmqSource({ endpoint: ep.address, bind: true })).subscribe();
      a.unsubscribe();
      const b$ = await openZmqSource({ endpoint: ep.address, bind: true });
      b$.subscribe().unsubscribe();
    });

    it('a source observable can be subscribed only once', async () => {
      const ep = await endpoint(transport, tmp.dir, `once-${transport}`);
      const src = await openZmqSource({ endpoint: ep.address, bind: true });
      const first = src.subscribe();
      let err: unknown;
      src.subscribe({ error: (e) => (err = e) });
      first.unsubscribe();
      assert.equal((err as ZmqError).code, 'EZMQUSED');
    });

    it('the publisher delivers to subscribers and reports subscriptions', async () => {
      const ep = await endpoint(transport, tmp.dir, `pub-${transport}`);
      const log: string[] = [];
      const pub = await ZmqPublisher.open({ endpoint: ep.address, topic: 'velocity', onSubscription: (on, t) => log.push(`${on ? '+' : '-'}${t}`) });
      const s = await subscriberOf(log, ep.address, 'velocity');
      try {
        // Payloads larger than zeromq.js's copy limit come from one reused buffer, overwritten
        // right after each send: what arrives must still be what was sent.
        const buf = Buffer.alloc(300);
        for (let i = 0; i < 20; i++) {
          buf.fill(i);
          pub.send(buf);
          await new Promise((r) => setImmediate(r));
        }
        await until(() => s.got.length === 20, '20 messages');
        for (let i = 0; i < 20; i++) {
          assert.equal(s.got[i][0].toString(), 'velocity');
          assert.ok(s.got[i][1].equals(Buffer.alloc(300, i)), `message ${i} intact`);
        }
        assert.deepEqual(pub.stats(), { sent: 20, dropped: 0, queued: 0, lastError: null });
        s.close();
        await until(() => log.includes('-velocity'), 'unsubscription');
      } finally {
        s.close();
        await pub.close();
      }
    });

    it('the send queue is bounded: a burst beyond it is dropped and counted, never thrown or blocked', async () => {
      const ep = await endpoint(transport, tmp.dir, `burst-${transport}`);
      const log: string[] = [];
      const pub = await ZmqPublisher.open({ endpoint: ep.address, topic: 'velocity', queue: 8, onSubscription: (on, t) => log.push(`${on ? '+' : '-'}${t}`) });
      const s = await subscriberOf(log, ep.address, 'velocity');
      try {
        // One synchronous burst: the first send is pending until its promise settles, 8 wait in
        // the queue, the rest are dropped.
        for (let i = 0; i < 1000; i++) pub.send(Buffer.from(`m${i}`));
        assert.equal(pub.stats().dropped, 1000 - 1 - 8);
        await until(() => pub.stats().queued === 0, 'queue drained');
        await until(() => s.got.length === 9, '9 messages');
        assert.deepEqual(s.got.map((f) => f[1].toString()), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
        assert.equal(pub.stats().sent, 9);
      } finally {
        s.close();
        await pub.close();
      }
    });

    it('with no subscriber at all, sends complete and close() does not hang', async () => {
      const ep = await endpoint(transport, tmp.dir, `alone-${transport}`);
      const pub = await ZmqPublisher.open({ endpoint: ep.address, topic: 'velocity' });
      for (let i = 0; i < 100; i++) {
        pub.send(Buffer.from('x'));
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(pub.stats().sent, 100);
      await pub.close();
      pub.send(Buffer.from('after close'));
      assert.equal(pub.stats().dropped, 1);
    });
  });
}

describe('ZeroMQ addresses', () => {
  it('are checked up front', async () => {
    assert.throws(() => fromZmq({ endpoint: 'http://x' }), (e: ZmqError) => e.code === 'EZMQADDR');
    await assert.rejects(ZmqPublisher.open({ endpoint: 'udp://x', topic: 't' }), (e: ZmqError) => e.code === 'EZMQADDR');
  });
});
