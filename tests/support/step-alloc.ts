/**
 * Child process of tests/model/baselines-alloc.test.ts (run with bench/alloc.ts ALLOC_FLAGS):
 * `step-alloc.js MODEL DECODER` prints {bytes_per_step, control_bytes_per_object} as one JSON
 * line: the decoder's stepUnchecked over recorded-like counts, and a loop that allocates one small
 * object per iteration, which shows that the measurement sees a few bytes.
 */
import { bytesPerIteration } from '../../bench/alloc.js';
import { createDecoder } from '../../model/decoders.js';
import type { DecoderName } from '../../model/baselines.js';
import { mulberry32, poisson } from '../../model/init.js';
import { loadModel } from '../../model/model-file.js';

const [path, name] = process.argv.slice(2);
const model = loadModel(path);
const f = createDecoder(model, name as DecoderName);
const rand = mulberry32(5);
const bins = Array.from({ length: 256 }, () => Float64Array.from({ length: model.config.n_in }, () => poisson(rand, 1 + 2 * rand())));
for (let t = 0; t < 5000; t++) f.stepUnchecked(bins[t & 255]);
// Large windows: one-off growth (JIT code, feedback) is divided by 3M in the estimate. A cheap
// step (Kalman, Wiener: ~1-2 µs) needs more of them than the network for the same bound: at
// M = 20000 a one-off 80 kB in a long window read as 1.4 B/step.
// Five windows of each size rather than three: in a full test run a one-off in a long window
// read as 2.1 B/step once.
const M = name === 'langevinflow' ? 50000 : 100000;
// The result goes into a typed array: a captured `let` double would be boxed on every write.
const sink = new Float64Array(1);
const loop = (n: number): void => {
  for (let t = 0; t < n; t++) sink[0] += f.stepUnchecked(bins[t & 255]).velocity[0];
};
loop(4 * M); // compiled before the first window
const bytes = bytesPerIteration(loop, M, 5);
const holder = new Array<{ i: number }>(4 * M);
const control = bytesPerIteration((n) => {
  for (let t = 0; t < n; t++) holder[t] = { i: t };
}, M);
process.stdout.write(JSON.stringify({ decoder: name, bytes_per_step: bytes, control_bytes_per_object: control, finite: Number.isFinite(sink[0]) }) + '\n');
