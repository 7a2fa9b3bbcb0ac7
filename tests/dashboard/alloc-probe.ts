/**
 * Run by live-feed.test.ts in a child started with bench/alloc.ts ALLOC_FLAGS: bytes allocated
 * per bin by LiveFeed's observer calls (accepted + decoded), and, so the test knows the method
 * can see an allocation, the same for one small object per iteration. Prints one JSON line.
 */
import { bytesPerIteration } from '../../bench/alloc.js';
import { LiveFeed } from '../../daemon/dashboard/live-feed.js';
import type { Decoded, SpikeBin } from '../../streams/types.js';

const nIn = 95;
const feed = new LiveFeed({ nIn, binMs: 20, velocityLabels: ['vel_x', 'vel_y'], capacity: 512, heatRows: 48 });
const bins: SpikeBin[] = Array.from({ length: 64 }, (_, i) => ({
  seq: i, timestamp: i * 0.02, counts: Int16Array.from({ length: nIn }, (_, c) => (i * 7 + c) % 5), binMs: 20, streamId: 'rig', receivedNs: 1e9 + i * 2e7, receivedLslTime: 0,
}));
const d: Decoded = { seq: 0, timestamp: 0, velocity: new Float32Array(2), receivedNs: 0, decodedNs: 0, sentNs: 0, modelId: 'model-a', streamId: 'rig', receivedLslTime: 0 };
let seq = 0;
const perBin = (n: number): void => {
  for (let i = 0; i < n; i++) {
    const bin = bins[i & 63];
    feed.accepted(bin);
    d.seq = seq++;
    d.velocity[0] = Math.sin(seq * 0.01);
    d.velocity[1] = Math.cos(seq * 0.01);
    d.receivedNs = bin.receivedNs;
    d.sentNs = bin.receivedNs + 150000 + (seq % 1000) * 100;
    feed.decoded(d, bin);
  }
};
// Warm up so the JIT's own allocations happen before the windows.
perBin(20000);
feed.skip();
const M = 5000;
const bytesPerBin = bytesPerIteration(perBin, M);
const holder = new Array<{ i: number }>(4 * M);
const control = bytesPerIteration((n) => {
  for (let t = 0; t < n; t++) holder[t] = { i: t };
}, M);
process.stdout.write(JSON.stringify({ bytes_per_bin: bytesPerBin, control_bytes_per_object: control, bins: seq }) + '\n');
