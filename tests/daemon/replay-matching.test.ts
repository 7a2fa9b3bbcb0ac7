/**
 * The replay's matching by seq against a misbehaving peer over real ZeroMQ sockets: a stand-in
 * daemon that drops some bins, duplicates one and invents one. Lost bins must not stall the
 * windowed sending at speed max (a window of 4 with 3 lost forces the stall path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Subscriber, XPublisher } from 'zeromq';
import { runReplay } from '../../daemon/commands/replay.js';
import { buildReplayReport } from '../../report/replay.js';
import { DecodedWriter, SpikeBinReader, newDecoded, newSpikeBin } from '../../streams/proto.js';
import { writeSession } from '../streams/replay-fixture.js';
import { tempDir } from '../support/net.js';

const { dir } = tempDir('langevind-replay-match-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function faultyPeer(input: string, output: string): Promise<{ close(): void; seen: number[] }> {
  const sub = new Subscriber({ linger: 0 });
  const pub = new XPublisher({ linger: 0, sendTimeout: 0 });
  sub.subscribe('spikes');
  sub.connect(input);
  await pub.bind(output);
  const reader = new SpikeBinReader();
  const writer = new DecodedWriter();
  const bin = newSpikeBin();
  const dec = newDecoded(2);
  const seen: number[] = [];
  const send = async (seq: number): Promise<void> => {
    dec.seq = seq;
    dec.velocity[0] = seq;
    dec.velocity[1] = -seq;
    dec.receivedNs = 1000;
    dec.sentNs = 2000;
    await pub.send(['velocity', Buffer.from(writer.encode(dec))]);
  };
  void (async () => {
    for await (const [, payload] of sub) {
      assert.equal(reader.read(payload, bin), null);
      seen.push(bin.seq);
      if (bin.seq % 50 === 7) continue; // lost
      await send(bin.seq);
      if (bin.seq === 9) await send(9); // duplicate
      if (bin.seq === 10) await send(1_000_000); // never sent
    }
  })();
  return {
    seen,
    close() {
      sub.close();
      pub.close();
    },
  };
}

for (const speed of ['max', 8] as const) {
  test(`speed ${speed}: lost, duplicate and unexpected decodes are counted, nothing stalls`, async () => {
    const session = writeSession(dir, `s-${speed}.xdf`, { bins: 120, channels: 4, binMs: 10 });
    const a = `ipc://${join(dir, `a-${speed}.sock`)}`;
    const b = `ipc://${join(dir, `b-${speed}.sock`)}`;
    const peer = await faultyPeer(a, b);
    try {
      const m = await runReplay({ recording: session, to: `zmq+${a}`, from: `zmq+${b}`, speed, window: 4, drainMs: 300 });
      const r = buildReplayReport(m);
      assert.deepEqual(peer.seen, Array.from({ length: 120 }, (_, i) => i), 'every bin sent once, in order');
      assert.equal(r.sent, 120);
      assert.equal(r.lost, 3);
      assert.deepEqual(r.lostSeqs, [7, 57, 107]);
      assert.equal(r.received, 117);
      assert.equal(r.duplicates, 1);
      assert.equal(r.unexpected, 1);
      assert.equal(r.deadlineMissFraction! >= 3 / 120, true);
      assert.equal(m.velocity[2 * 42], 42, 'decoded velocity is stored by seq');
      assert.ok(Number.isNaN(m.velocity[2 * 7]), 'a lost bin has no velocity');
      assert.equal(r.daemonMs.p50, 0.001, 'the peer stamps (sent − received) are read from each Decoded');
    } finally {
      peer.close();
    }
  });
}
