/**
 * `langevind run --decoder wiener|kalman` end to end: the built CLI as its own process, fed the
 * held-out block of a calibration fit over real ZeroMQ sockets; what comes out must be what
 * calibration's offline evaluation computed for those bins. Then a swap between decoders through
 * the FilterSlot of an in-process daemon, and the refusals.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyAffine, lagged, rowSlice, type Mat } from '../../calibration/linear.js';
import { runDaemon, type DaemonHandle } from '../../daemon/commands/run.js';
import { createLogger } from '../../daemon/log.js';
import type { RunSummary } from '../../daemon/metrics.js';
import { parseRunArgs } from '../../daemon/run-config.js';
import { createDecoder, decoderId } from '../../model/decoders.js';
import { baselineFixture, type BaselineFixture } from '../support/baselines.js';
import { CliProcess, type LogLine } from '../../harness/process.js';
import { writeTestModel } from '../support/model.js';
import { endpoint, tempDir } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';

const tmp = tempDir('langevind-baselines-');
after(() => tmp.cleanup());
let fx: BaselineFixture;
before(async () => { fx = await baselineFixture(tmp.dir); });

const row = (m: Mat, t: number): Float32Array => m.data.subarray(t * m.cols, (t + 1) * m.cols);

/** Sends bins [from, to) of the held-out block, seq from+1… */
async function feed(rig: RigPublisher, from: number, to: number): Promise<void> {
  for (let t = from; t < to; t++) await rig.send({ seq: t + 1, timestamp: 50 + t * 0.02, counts: row(fx.test, t), binMs: 20, streamId: 'rig-B' });
}

/** Largest |received − offline| relative to the offline block's largest velocity. */
function relDiff(received: { velocity: ArrayLike<number> }[], pred: Mat, from = 0): number {
  let scale = 0;
  for (const x of pred.data) scale = Math.max(scale, Math.abs(x));
  let worst = 0;
  received.forEach((d, i) => {
    for (let k = 0; k < pred.cols; k++) worst = Math.max(worst, Math.abs(d.velocity[k] - pred.data[(from + i) * pred.cols + k]));
  });
  return worst / scale;
}

describe('langevind run --decoder (a separate process over ZeroMQ)', () => {
  for (const name of ['wiener', 'kalman'] as const) {
    it(`${name}: every held-out bin decoded as the offline evaluation predicted it (to 1e-6), under the id ${'<model>/' + name}`, async () => {
      const inp = await endpoint('tcp', tmp.dir, `${name}-in`);
      const out = await endpoint('tcp', tmp.dir, `${name}-out`);
      const rig = await RigPublisher.bind(inp.address);
      const daemon = await CliProcess.start(['run', '--model', fx.path, '--decoder', name, '--input', inp.uri, '--output', out.uri, '--status-interval', '0']);
      try {
        const ready = await daemon.waitMsg('ready');
        assert.equal(ready.decoder, name);
        assert.equal(ready.model_id, `${fx.model.id}/${name}`);
        const loaded = daemon.logs.find((l: LogLine) => l.msg === 'model loaded')!;
        assert.deepEqual(loaded.decoders, ['langevinflow', 'wiener', 'kalman']);
        await rig.waitForSubscriber();
        const c = new DecodedCollector(out.address);
        await daemon.waitMsg('subscriber joined');
        await feed(rig, 0, fx.test.rows);
        await c.waitFor(fx.test.rows);
        assert.deepEqual(c.received.map((d) => d.seq), Array.from({ length: fx.test.rows }, (_, i) => i + 1));
        assert.ok(c.received.every((d) => d.modelId === `${fx.model.id}/${name}`));
        const d = relDiff(c.received, name === 'wiener' ? fx.fit.wienerPred : fx.fit.kalmanPred);
        assert.ok(d <= 1e-6, `max relative difference ${d}`);
        assert.deepEqual(await daemon.stop('SIGINT'), { code: 0, signal: null });
        const summary = daemon.summary<RunSummary>()!;
        assert.equal(summary.bins_decoded, fx.test.rows);
        assert.equal(summary.internal_errors, 0);
        c.close();
      } finally {
        daemon.kill();
        rig.close();
      }
    });
  }

  it('a model without baselines: --decoder wiener exits 1 with ENOBASELINE naming the missing tensors; an unknown decoder is a usage error', async () => {
    const { path } = writeTestModel(tmp.dir, { nIn: 8, name: 'bare.safetensors' });
    const inp = await endpoint('tcp', tmp.dir, 'bare-in');
    const out = await endpoint('tcp', tmp.dir, 'bare-out');
    const d = new CliProcess(['run', '--model', path, '--decoder', 'wiener', '--input', inp.uri, '--output', out.uri]);
    assert.deepEqual(await d.exited, { code: 1, signal: null });
    assert.match(d.stderrText, /has no Wiener baseline \(no baseline\.wiener\.weight\/bias tensors.*\[ENOBASELINE\]/);
    const u = new CliProcess(['run', '--model', fx.path, '--decoder', 'ridge', '--input', inp.uri, '--output', out.uri]);
    const exit = await u.exited;
    assert.notEqual(exit.code, 0);
    assert.match(u.stderrText, /--decoder must be langevinflow, wiener, kalman, got "ridge".*\[EUSAGE\]/);
  });
});

describe('the decoder option', () => {
  it('defaults to langevinflow; --decoder and the config file key "decoder" choose; the command line wins', () => {
    const base = ['--model', fx.path, '--input', 'zmq+tcp://127.0.0.1:9', '--output', 'zmq+tcp://127.0.0.1:10'];
    assert.equal(parseRunArgs(base)!.decoder, 'langevinflow');
    assert.equal(parseRunArgs([...base, '--decoder', 'kalman'])!.decoder, 'kalman');
    const file = join(tmp.dir, 'run.json');
    writeFileSync(file, JSON.stringify({ decoder: 'wiener' }));
    assert.equal(parseRunArgs([...base, '--config', file])!.decoder, 'wiener');
    assert.equal(parseRunArgs([...base, '--config', file, '--decoder', 'langevinflow'])!.decoder, 'langevinflow');
    writeFileSync(file, JSON.stringify({ decoder: 'ridge' }));
    assert.throws(() => parseRunArgs([...base, '--config', file]), { code: 'EUSAGE', message: /--decoder must be langevinflow, wiener, kalman, got "ridge"/ });
  });
});

describe('a swap between decoders through the FilterSlot', () => {
  it('kalman → wiener (reset) → langevinflow between two bins: each decodes from its own reset, as offline', async () => {
    const inp = await endpoint('ipc', tmp.dir, 'swap-in');
    const out = await endpoint('ipc', tmp.dir, 'swap-out');
    const rig = await RigPublisher.bind(inp.address);
    let stop!: () => void;
    let handle: DaemonHandle | undefined;
    const lines: Array<Record<string, unknown>> = [];
    const ran = runDaemon(parseRunArgs(['--model', fx.path, '--decoder', 'kalman', '--input', inp.uri, '--output', out.uri, '--status-interval', '0'])!, {
      log: createLogger({ write: (l) => lines.push(JSON.parse(l)) }),
      signals: false,
      stopSignal: new Promise<void>((r) => (stop = r)),
      onReady: (h) => (handle = h),
    });
    const c = new DecodedCollector(out.address);
    try {
      await rig.waitForSubscriber();
      while (!handle || !lines.some((l) => l.msg === 'subscriber joined')) await new Promise((r) => setTimeout(r, 10));
      const h = handle;
      const A = 100;
      const B = 200;
      await feed(rig, 0, A);
      await c.waitFor(A);
      const toWiener = h.slot.swapAtNextBin({ filter: createDecoder(h.model, 'wiener'), modelId: decoderId(h.model, 'wiener') }, 'reset');
      await feed(rig, A, B);
      await toWiener;
      await c.waitFor(B);
      const lf = createDecoder(h.model, 'langevinflow');
      const toFlow = h.slot.swapAtNextBin({ filter: lf, modelId: decoderId(h.model, 'langevinflow') }, 'reset');
      await feed(rig, B, fx.test.rows);
      await toFlow;
      await c.waitFor(fx.test.rows);
      const ids = c.received.map((d) => d.modelId);
      assert.deepEqual(ids, Array.from({ length: fx.test.rows }, (_, t) => (t < A ? `${fx.model.id}/kalman` : t < B ? `${fx.model.id}/wiener` : fx.model.id)));
      // Kalman from its reset over bins 0…A−1: the offline run's first A predictions.
      assert.ok(relDiff(c.received.slice(0, A), fx.fit.kalmanPred) <= 1e-6);
      // Wiener from a reset at bin A: the offline Wiener filter over the block that starts there (zero lags before it).
      const lags = h.model.baselines.wiener!.lags;
      const w = h.model.baselines.wiener!;
      const offline = applyAffine({ weight: w.weight, bias: w.bias, inputs: w.weight.length / w.bias.length, outputs: w.bias.length }, lagged(rowSlice(fx.test, A, B), lags));
      assert.ok(relDiff(c.received.slice(A, B), offline) <= 1e-6);
      assert.ok(relDiff(c.received.slice(A, A + lags), fx.fit.wienerPred, A) > 1e-3, 'the swap reset the lags (differs from the uninterrupted run)');
      // LangevinFlow from a reset at bin B.
      const ref = createDecoder(h.model, 'langevinflow');
      const expected = Array.from({ length: fx.test.rows - B }, (_, i) => Array.from(ref.stepUnchecked(row(fx.test, B + i)).velocity));
      assert.deepEqual(c.received.slice(B).map((d) => Array.from(d.velocity)), expected);
      assert.equal(h.slot.swaps, 2);
      stop();
      const { summary, exitCode } = await ran;
      assert.equal(exitCode, 0);
      assert.equal(summary.bins_decoded, fx.test.rows);
    } catch (err) {
      stop();
      throw new Error(`${(err as Error).message}; daemon log: ${JSON.stringify(lines.slice(-10))}`);
    } finally {
      c.close();
      rig.close();
    }
  });
});
