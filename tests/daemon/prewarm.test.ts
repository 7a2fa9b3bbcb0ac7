/**
 * `langevind run --prewarm MS` (daemon/prewarm.ts): a pass over the model's buffers between bins
 * that only reads them, once per bin, and a daemon that decodes exactly as without it. No timing
 * is asserted: the checks wait for events, with generous limits.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OnlineFilter } from '../../model/filter.js';
import { Prewarmer } from '../../daemon/prewarm.js';
import { parseRunArgs } from '../../daemon/run-config.js';
import { CliProcess } from '../../harness/process.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { assertDecodedAsOfflineThenStops } from '../support/offline-decodes.js';
import { endpoint, tempDir } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';

const tmp = tempDir('langevind-prewarm-floor-');
after(() => tmp.cleanup());
const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn: 16 });
const N = model.config.n_in;

async function until(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Prewarmer', () => {
  it('makes one pass per bin, after the bin, over every buffer of the filter, and changes nothing', async () => {
    const warmed = new OnlineFilter(model);
    const plain = new OnlineFilter(model);
    const w = new Prewarmer(() => warmed.buffers, 20, 15);
    try {
      assert.equal(w.passes, 0, 'no pass before the first bin');
      const counts = syntheticCounts(N, 6, 5);
      for (const [i, c] of counts.entries()) {
        const a = Array.from(warmed.step(c).velocity);
        w.binDone();
        await until(() => w.passes === i + 1, `pass ${i + 1}`);
        assert.deepEqual(a, Array.from(plain.step(c).velocity), `bin ${i}`);
      }
      // No bin, no further pass: the timer is re-armed only by binDone().
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(w.passes, counts.length);
      // Bins closer together than the delay: the pass waits for the last of them.
      w.binDone();
      w.binDone();
      w.binDone();
      await until(() => w.passes === counts.length + 1, 'the pass after a burst');
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(w.passes, counts.length + 1);
    } finally {
      w.close();
    }
  });

  it('covers the whole WebAssembly memory the step uses', () => {
    const f = new OnlineFilter(model);
    const bytes = f.buffers.reduce((s, b) => s + b.byteLength, 0);
    assert.ok(f.buffers.length > 20, 'weights, state and scratch');
    assert.ok(bytes >= 4 * Object.values(model.weights).reduce((s, t) => s + t.length, 0), 'at least every weight');
  });

  it('refuses a lead outside (0, bin width)', () => {
    assert.throws(() => new Prewarmer(() => [], 20, 0), RangeError);
    assert.throws(() => new Prewarmer(() => [], 20, 20), /between 0 and the bin width \(20 ms\)/);
  });

  it('is closed by close(): no pass after it', async () => {
    const w = new Prewarmer(() => new OnlineFilter(model).buffers, 20, 15);
    w.binDone();
    w.close();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(w.passes, 0);
  });
});

describe('run --prewarm', () => {
  const base = ['--model', 'm', '--input', 'zmq+tcp://127.0.0.1:1', '--output', 'zmq+tcp://127.0.0.1:2'];

  it('parses --prewarm and prewarm_ms; off by default; refuses a negative or non-numeric value', () => {
    assert.equal(parseRunArgs(base)?.prewarmMs, 0);
    assert.equal(parseRunArgs([...base, '--prewarm', '2.5'])?.prewarmMs, 2.5);
    for (const bad of ['-1', 'soon', ''])
      assert.throws(() => parseRunArgs([...base, `--prewarm=${bad}`]), (e: Error & { code?: string }) => e.code === 'EUSAGE' && /--prewarm must be a non-negative number/.test(e.message));
  });

  it('decodes every bin exactly as without it', async () => {
    const inp = await endpoint('tcp', tmp.dir, 'pw-in');
    const out = await endpoint('tcp', tmp.dir, 'pw-out');
    const rig = await RigPublisher.bind(inp.address);
    const daemon = new CliProcess(['run', '--model', modelPath, '--input', inp.uri, '--output', out.uri, '--status-interval', '0', '--prewarm', '5']);
    let c: DecodedCollector | undefined;
    try {
      await daemon.waitMsg('ready');
      await rig.waitForSubscriber();
      c = new DecodedCollector(out.address);
      await daemon.waitMsg('subscriber joined');
      const counts = syntheticCounts(N, 40, 9);
      for (let i = 0; i < counts.length; i++) {
        await rig.send({ seq: i + 1, timestamp: 10 + i * 0.02, counts: counts[i], binMs: 20, streamId: 'pw' });
        // Paced, so the passes run between bins as they would on a rig.
        await new Promise((r) => setTimeout(r, 20));
      }
      await assertDecodedAsOfflineThenStops(daemon, c, model, counts);
    } finally {
      c?.close();
      rig.close();
      daemon.kill();
    }
  });

  it('refuses a lead as long as the bin, naming both', async () => {
    const daemon = new CliProcess(['run', '--model', modelPath, '--input', 'zmq+tcp://127.0.0.1:9', '--output', (await endpoint('tcp', tmp.dir, 'pw-bad')).uri, '--prewarm', '20']);
    const exit = await Promise.race([daemon.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000).unref())]);
    daemon.kill();
    if (exit === 'hung') assert.fail('the daemon did not exit after refusing the option');
    assert.notEqual(exit.code, 0);
    assert.match(daemon.stderrText, /--prewarm must be less than the bin width \(20 ms\), got 20.*EUSAGE/);
  });
});
