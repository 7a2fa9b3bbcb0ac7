// Bugs the fuzzer found, each pinned by the smallest real reproduction (real sockets on 127.0.0.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { configFromText } from '../../streams/lsl/config.js';
import { LslInlet } from '../../streams/lsl/inlet.js';
import { encodeSample110, numericSampleSize, TEST_PATTERN_TIMESTAMP, testPattern } from '../../streams/lsl/codec.js';
import { streamInfoToXml } from '../../streams/stream-info.js';
import { TEST_LSL_CFG } from '../../harness/liblsl.js';
import { feedOkHeader, RogueOutlet } from '../../harness/lsl-rogue.js';

const cfg = configFromText(TEST_LSL_CFG, 'test');

function sample(values: number[], ts: number): Buffer {
  const b = Buffer.alloc(numericSampleSize('float32', values.length));
  return b.subarray(0, encodeSample110(b, 0, 'float32', values, ts));
}

function honestFeed(rogue: RogueOutlet, samples: number) {
  return (sock: net.Socket): void => {
    sock.end(Buffer.concat([
      Buffer.from(feedOkHeader(rogue.info.uid)),
      sample(testPattern('float32', 2, 4) as number[], TEST_PATTERN_TIMESTAMP),
      sample(testPattern('float32', 2, 2) as number[], TEST_PATTERN_TIMESTAMP),
      ...Array.from({ length: samples }, (_, k) => sample([k, -k], 1 + k)),
    ]));
  };
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

test('inlet: a fullinfo naming another data port does not redirect the inlet away from the outlet it reached', async () => {
  let lies = 1;
  let got = 0;
  const rogue: RogueOutlet = await new RogueOutlet({
    name: `fuzz-regress-port-${process.pid}`, channelCount: 2, channelFormat: 'float32',
    // First answer: the same stream (same uid) claiming data port 0; then the truth.
    fullinfo: (info) => (lies-- > 0 ? streamInfoToXml({ ...info, v4dataPort: 0, v4servicePort: 0 }) : streamInfoToXml(info)),
    feed: (sock) => honestFeed(rogue, 5)(sock),
  }).start();
  const inlet = new LslInlet({ info: rogue.info, config: cfg, recover: false, reconnectDelay: 0, timeCorrection: false, headerTimeoutMs: 500, onSample: () => { got++; } }).start();
  try {
    // Before the fix the inlet adopted port 0 from the first fullinfo and never reached the outlet again.
    assert.ok(await until(() => got >= 5, 5000), `samples received: ${got}, inlet following port ${inlet.info?.v4dataPort}`);
    assert.equal(inlet.info?.v4dataPort, rogue.info.v4dataPort);
  } finally {
    await inlet.close();
    await rogue.close();
  }
});

test('inlet: reconnecting many times leaves no abort listeners behind (no MaxListenersExceededWarning)', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`); };
  process.on('warning', onWarning);
  const rogue: RogueOutlet = await new RogueOutlet({
    name: `fuzz-regress-leak-${process.pid}`, channelCount: 2, channelFormat: 'float32',
    feed: (sock) => sock.end('LSL/110 500 no\r\n\r\n'), // every feed refused: the inlet reconnects at once
  }).start();
  const inlet = new LslInlet({ info: rogue.info, config: cfg, recover: false, reconnectDelay: 0, timeCorrection: false, headerTimeoutMs: 500, onSample: () => undefined }).start();
  try {
    assert.ok(await until(() => inlet.stats.reconnects >= 30, 10000), `reconnects: ${inlet.stats.reconnects}`);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.includes('MaxListenersExceeded')), []);
  } finally {
    process.off('warning', onWarning);
    await inlet.close();
    await rogue.close();
  }
});

test('model file: a dimension of 1e308 (an integer to JavaScript) is refused by name, not left to fail as a RangeError in the filter', async () => {
  const { preset } = await import('../../model/config.js');
  const { initWeights } = await import('../../model/init.js');
  const { loadModel, modelToBytes } = await import('../../model/model-file.js');
  const { OnlineFilter } = await import('../../model/filter.js');
  const cfg = preset('S', { n_in: 8, n_out: 8, hidden: 8, latent: 8, ff: 16, window: 4 });
  const weights = initWeights(cfg, 1);
  // window does not shape any tensor, so the file is otherwise consistent.
  const bytes = modelToBytes({ config: { ...cfg, window: 1e308 }, weights, metadata: {} });
  assert.throws(() => new OnlineFilter(loadModel(bytes)), (e: Error & { code?: string }) => e.code === 'ECONFIG' && /window/.test(e.message));
  const ok = loadModel(modelToBytes({ config: cfg, weights, metadata: {} }));
  assert.equal(new OnlineFilter(ok).step(new Float32Array(8)).velocity.length, 2);
});

test('LSL input: a sample stamped NaN, Infinity or 1e300 does not stop seq from advancing (every later bin was a duplicate)', async () => {
  const { BinSequencer } = await import('../../streams/lsl/endpoint.js');
  for (const bad of [Infinity, NaN, -Infinity, 1e300, 1e12]) {
    const s = new BinSequencer(0.02);
    const seqs: number[] = [];
    for (let k = 0; k < 5; k++) seqs.push(s.next(100 + k * 0.02));
    seqs.push(s.next(bad));
    for (let k = 6; k < 12; k++) seqs.push(s.next(100 + k * 0.02));
    for (let k = 1; k < seqs.length; k++) assert.ok(seqs[k] > seqs[k - 1] && seqs[k] < 2 ** 53, `stamp ${bad}: seqs ${seqs.join(' ')}`);
  }
  // A real gap is still a gap.
  const s = new BinSequencer(0.02);
  s.next(100);
  assert.equal(s.next(100.1), 5);
});

test('validate: a bin_ms of NaN is refused like any other wrong bin width (it was accepted)', async () => {
  const { BinValidator } = await import('../../daemon/validate.js');
  const { newSpikeBin } = await import('../../streams/proto.js');
  const v = new BinValidator({ nIn: 2, binMs: 20 });
  const bin = (seq: number, binMs: number) => ({ ...newSpikeBin(), seq, counts: [1, 2], binMs });
  assert.equal(v.check(bin(1, 20)), null);
  assert.equal(v.check(bin(2, NaN)), 'bin_ms');
  assert.equal(v.check(bin(3, 0)), null); // 0: not stated
  assert.equal(v.check(bin(4, 20.5)), 'bin_ms');
});
