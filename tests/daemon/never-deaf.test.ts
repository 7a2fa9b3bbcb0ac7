/**
 * Never deaf: a running daemon keeps decoding whatever its ZeroMQ peers do to the connection. The
 * rig is a real, independent libzmq (Debian python3-zmq in a subprocess, tests/support/rig_peer.py);
 * the daemon is the built CLI. Each case checks that every valid bin sent from 1 s after the
 * disruption on is decoded, and that the summary counts the reconnect by reason (input_reconnects).
 * Times are on CLOCK_MONOTONIC in both processes; they go to the test's diagnostics, never into
 * an assertion.
 */
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { RunSummary } from '../../daemon/metrics.js';
import type { SpikeBin } from '../../streams/types.js';
import { CliProcess } from '../../harness/process.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { endpoint, tempDir, type Transport } from '../support/net.js';
import { missingPyZmq, monoNs, PyRig, type RigReport } from '../support/py-rig.js';
import { DecodedCollector } from '../../harness/zmq-peers.js';

const skip = missingPyZmq();
const tmp = tempDir('langevind-deaf-');
const N_IN = 16;
const BIG = 2 << 20; // 2 MiB, over the SUB's 1 MiB maxMessageSize
let modelPath = '';

before(() => {
  modelPath = writeTestModel(tmp.dir, { nIn: N_IN }).path;
});
after(() => tmp.cleanup());

function bins(from: number, n: number): Array<Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>> {
  const counts = syntheticCounts(N_IN, n, from + 1);
  return counts.map((c, i) => ({ seq: from + i, timestamp: (from + i) * 0.02, counts: Array.from(c), binMs: 20, streamId: 'rig' }));
}

interface Daemon {
  proc: CliProcess;
  out: DecodedCollector;
  stop(): Promise<RunSummary>;
}

/** Starts `langevind run` on `input` with one ZeroMQ output and a connected consumer. */
async function startDaemon(input: string, name: string): Promise<Daemon> {
  const out = await endpoint('tcp', tmp.dir, `${name}-out`);
  const proc = new CliProcess(['run', '--model', modelPath, '--input', input, '--output', out.uri, '--status-interval', '0']);
  try {
    await proc.waitMsg('ready');
    const collector = new DecodedCollector(out.address);
    await proc.waitMsg('subscriber joined');
    return {
      proc,
      out: collector,
      async stop() {
        await proc.stop('SIGINT');
        collector.close();
        return proc.lastJson<{ summary: RunSummary }>().summary;
      },
    };
  } catch (err) {
    proc.kill();
    throw err;
  }
}

/** Waits until the consumer has a decode of `seq` (or a while longer than it should take). */
async function decodedUpTo(d: Daemon, seq: number, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!d.out.received.some((x) => x.seq >= seq) && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 20));
  // Whatever is still in flight.
  await new Promise((r) => setTimeout(r, 100));
}

/** Seqs of `first + i` whose bin was sent at or after `fromNs` and that no decode came back for. */
function undecodedFrom(d: Daemon, report: RigReport, first: number, fromNs: number): { eligible: number; missing: number[] } {
  const got = new Set(d.out.received.map((x) => x.seq));
  let eligible = 0;
  const missing: number[] = [];
  report.sent.forEach((t, i) => {
    if (t < fromNs) return;
    eligible++;
    if (!got.has(first + i)) missing.push(first + i);
  });
  return { eligible, missing };
}

/** First decode of a seq ≥ `seq` after `sinceNs`: how long it took, in ms. */
function msToFirstDecode(d: Daemon, seq: number, sinceNs: number): number {
  const i = d.out.received.findIndex((x) => x.seq >= seq);
  return i < 0 ? NaN : Math.round((d.out.arrivedNs[i] - sinceNs) / 1e4) / 100;
}

function diagnose(t: TestContext, what: string, fields: Record<string, unknown>): void {
  t.diagnostic(`${what}: ${JSON.stringify(fields)}`);
}

describe('never deaf: the daemon against a real ZeroMQ rig (python3-zmq)', { skip: skip ?? false }, () => {
  for (const transport of ['tcp', 'ipc'] as Transport[]) {
    for (const burst of [1, 20]) {
      it(`${transport}: after ${burst === 1 ? 'an over-limit message' : `a burst of ${burst} over-limit messages`}, every bin from 1 s later on is decoded, and the reconnect is counted`, async (t) => {
        const ep = await endpoint(transport, tmp.dir, `big${burst}-${transport}`);
        const rig = await PyRig.start(ep.address, 'bind');
        const d = await startDaemon(ep.uri, `big${burst}-${transport}`);
        try {
          await rig.waitSubscribed();
          const report = await rig.run([{ bins: bins(0, 100), everyMs: 5 }, { big: burst, size: BIG }, { bins: bins(100, 400), everyMs: 5 }]);
          await decodedUpTo(d, 499);
          const bigAt = report.big[report.big.length - 1];
          const { eligible, missing } = undecodedFrom(d, report, 0, bigAt + 1e9);
          const before = undecodedFrom(d, { ...report, sent: report.sent.slice(0, 100) }, 0, 0);
          const summary = await d.stop();
          diagnose(t, 'over-limit', {
            burst,
            ms_to_first_decode: msToFirstDecode(d, 100, report.big[0]),
            ms_to_resubscribe: Math.round(((report.subs.find((s) => s > report.big[0]) ?? NaN) - report.big[0]) / 1e4) / 100,
            decoded_after: d.out.received.filter((x) => x.seq >= 100).length,
            input_reconnects: summary.input_reconnects,
          });
          assert.deepEqual(before.missing, [], 'the bins before the over-limit message are all decoded');
          assert.ok(eligible >= 100, `the rig sent ${eligible} bins from 1 s after the over-limit message on`);
          assert.deepEqual(missing, [], `of ${eligible} bins sent from 1 s after the over-limit message on, these were not decoded`);
          assert.ok(summary.input_reconnects.protocol >= 1, `input_reconnects: ${JSON.stringify(summary.input_reconnects)}`);
          const line = d.proc.logs.find((l) => l.msg === 'input reconnected');
          assert.equal(line?.kind, 'protocol');
          assert.match(String(line?.detail), /without a retry/);
        } finally {
          d.proc.kill();
          d.out.close();
          await rig.quit();
        }
      });
    }

    it(`${transport}: a rig that vanishes (SIGKILL) and restarts on the same address is decoded again, counted as peer_gone`, async (t) => {
      const ep = await endpoint(transport, tmp.dir, `gone-${transport}`);
      let rig = await PyRig.start(ep.address, 'bind');
      const d = await startDaemon(ep.uri, `gone-${transport}`);
      try {
        await rig.waitSubscribed();
        await rig.run([{ bins: bins(0, 50), everyMs: 5 }]);
        await rig.kill();
        const goneAt = monoNs();
        await new Promise((r) => setTimeout(r, 300));
        // The control plane says a reconnect is under way while the rig is gone.
        const control = String(d.proc.logs.find((l) => l.msg === 'ready')?.control);
        const gone = await fetch(`${control}/healthz`);
        const goneBody = (await gone.json()) as { reasons: Array<{ code: string }> };
        assert.equal(gone.status, 503, JSON.stringify(goneBody));
        assert.ok(goneBody.reasons.some((r) => r.code === 'reconnecting'), JSON.stringify(goneBody));
        rig = await PyRig.start(ep.address, 'bind');
        const upAt = monoNs();
        const report = await rig.run([{ bins: bins(50, 400), everyMs: 5 }]);
        await decodedUpTo(d, 449);
        const back = (await (await fetch(`${control}/healthz`)).json()) as { reasons: Array<{ code: string }> };
        assert.ok(!back.reasons.some((r) => r.code === 'reconnecting'), `reconnecting after the rig came back: ${JSON.stringify(back)}`);
        const { eligible, missing } = undecodedFrom(d, report, 50, upAt + 1e9);
        const summary = await d.stop();
        diagnose(t, 'peer restart', {
          ms_from_restart_to_first_decode: msToFirstDecode(d, 50, upAt),
          ms_from_kill: msToFirstDecode(d, 50, goneAt),
          input_reconnects: summary.input_reconnects,
        });
        assert.ok(eligible >= 100);
        assert.deepEqual(missing, []);
        assert.ok(summary.input_reconnects.peer_gone >= 1, `input_reconnects: ${JSON.stringify(summary.input_reconnects)}`);
      } finally {
        d.proc.kill();
        d.out.close();
        await rig.quit();
      }
    });
  }

  it('tcp, binding input: the rig connects; after an over-limit message it reconnects by itself and every bin from 1 s later on is decoded', async (t) => {
    const ep = await endpoint('tcp', tmp.dir, 'bigbind');
    const d = await startDaemon(`${ep.uri}?bind`, 'bigbind');
    const rig = await PyRig.start(ep.address, 'connect');
    try {
      await rig.waitSubscribed();
      const report = await rig.run([{ bins: bins(0, 100), everyMs: 5 }, { big: 1, size: BIG }, { bins: bins(100, 400), everyMs: 5 }]);
      await decodedUpTo(d, 499);
      const { eligible, missing } = undecodedFrom(d, report, 0, report.big[0] + 1e9);
      const summary = await d.stop();
      diagnose(t, 'over-limit, binding', { ms_to_first_decode: msToFirstDecode(d, 100, report.big[0]), input_reconnects: summary.input_reconnects });
      assert.ok(eligible >= 100);
      assert.deepEqual(missing, []);
      // A bound SUB cannot tell a peer it dropped from one that left: both are peer_gone.
      assert.ok(summary.input_reconnects.peer_gone >= 1, `input_reconnects: ${JSON.stringify(summary.input_reconnects)}`);
    } finally {
      d.proc.kill();
      d.out.close();
      await rig.quit();
    }
  });

  it('tcp: a rig whose handshake fails (CURVE server vs the daemon\'s NULL) is retried, counted as handshake, and a good rig on the same port is decoded within 1 s', async (t) => {
    const ep = await endpoint('tcp', tmp.dir, 'curve');
    let rig = await PyRig.start(ep.address, 'bind', { curve: true });
    const d = await startDaemon(ep.uri, 'curve');
    try {
      const line = await d.proc.waitLog((l) => l.msg === 'input reconnected' && l.kind === 'handshake');
      assert.match(String(line.detail), /MECHANISM_MISMATCH/);
      await rig.quit();
      rig = await PyRig.start(ep.address, 'bind');
      const upAt = monoNs();
      const report = await rig.run([{ bins: bins(0, 400), everyMs: 5 }]);
      await decodedUpTo(d, 399);
      const { eligible, missing } = undecodedFrom(d, report, 0, upAt + 1e9);
      const summary = await d.stop();
      diagnose(t, 'handshake failure', { ms_from_good_rig_to_first_decode: msToFirstDecode(d, 0, upAt), input_reconnects: summary.input_reconnects });
      assert.ok(eligible >= 100);
      assert.deepEqual(missing, []);
      assert.ok(summary.input_reconnects.handshake >= 1);
    } finally {
      d.proc.kill();
      d.out.close();
      await rig.quit();
    }
  });

  it('tcp, binding input: raw TCP peers sending garbage and a bad ZMTP greeting do not disturb a good rig; the failed handshake is counted', async () => {
    const ep = await endpoint('tcp', tmp.dir, 'garbage');
    const port = Number(new URL(ep.uri).port);
    const d = await startDaemon(`${ep.uri}?bind`, 'garbage');
    const rig = await PyRig.start(ep.address, 'connect');
    const raws: Array<ReturnType<typeof tcpConnect>> = [];
    try {
      await rig.waitSubscribed();
      const running = rig.run([{ bins: bins(0, 300), everyMs: 5 }]);
      await new Promise((r) => setTimeout(r, 300));
      // Not ZeroMQ at all: libzmq takes the first byte for a ZMTP 1.0 length and waits.
      const junk = tcpConnect(port, '127.0.0.1', () => junk.write('GET / HTTP/1.1\r\nHost: langevind\r\n\r\n' + 'x'.repeat(500)));
      // A ZMTP 3.0 greeting asking for CURVE: the handshake fails with a mechanism mismatch.
      const greeting = Buffer.alloc(64);
      greeting[0] = 0xff;
      greeting[9] = 0x7f;
      greeting[10] = 3;
      greeting.write('CURVE', 12);
      const bad = tcpConnect(port, '127.0.0.1', () => bad.write(greeting));
      for (const s of [junk, bad]) {
        s.on('error', () => {});
        raws.push(s);
      }
      const report = await running;
      await decodedUpTo(d, 299);
      const { eligible, missing } = undecodedFrom(d, report, 0, 0);
      const summary = await d.stop();
      assert.equal(eligible, 300);
      assert.deepEqual(missing, []);
      assert.ok(summary.input_reconnects.handshake >= 1, `input_reconnects: ${JSON.stringify(summary.input_reconnects)}`);
    } finally {
      for (const s of raws) s.destroy();
      d.proc.kill();
      d.out.close();
      await rig.quit();
    }
  });

  it('tcp: a consumer of the output that leaves and comes back receives every decode after it is back', async () => {
    const ep = await endpoint('tcp', tmp.dir, 'consumer');
    const rig = await PyRig.start(ep.address, 'bind');
    const d = await startDaemon(ep.uri, 'consumer');
    let second: DecodedCollector | undefined;
    try {
      await rig.waitSubscribed();
      await rig.run([{ bins: bins(0, 50), everyMs: 5 }]);
      await decodedUpTo(d, 49);
      assert.equal(d.out.received.length, 50);
      d.out.close();
      await d.proc.waitMsg('subscriber left');
      second = new DecodedCollector(d.proc.logs.find((l) => l.msg === 'output open')!.address as string);
      await d.proc.waitLog((l) => l.msg === 'subscriber joined' && d.proc.logs.filter((x) => x.msg === 'subscriber joined').length >= 2);
      await rig.run([{ bins: bins(50, 100), everyMs: 5 }]);
      await second.waitFor(100);
      assert.deepEqual(second.received.map((x) => x.seq), Array.from({ length: 100 }, (_, i) => 50 + i));
      await d.stop();
    } finally {
      second?.close();
      d.proc.kill();
      await rig.quit();
    }
  });
});
