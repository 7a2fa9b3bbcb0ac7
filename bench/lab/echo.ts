/**
 * Lab (not part of `npm run bench`): zeromq.js echoes that each add one thing the daemon does, run
 * as targets of bench/roundtrip.ts (`--targets lab:plain,lab:watch,…`), to see which costs what.
 *
 *   node dist/bench/lab/echo.js --variant V [--model M] IN OUT
 *
 *   plain     SUB receive loop (await receive()), Decoded encoded, XPUB send with sendTimeout 0
 *             (resolves synchronously), nothing awaited on the send
 *   awaitsend plain, but `await pub.send()` as bench/e2e.ts --echo does
 *   watch     plain + the XPUB subscription watch (verbosity allSubs, a receive always pending), as
 *             streams/zmq/publisher.ts has
 *   step      plain + OnlineFilter.step of --model on every bin (the daemon's work, no RxJS)
 *   warm      step + the model's memory read once, 2 ms before the next bin is due
 *   spin      step, and from 2 ms before the next bin is due the thread spins on `readable`
 *             (ZMQ_EVENTS) instead of sleeping in epoll, for at most 4 ms
 *   spinwarm  spin + warm
 *   spinall   step, and the thread never sleeps: it spins on `readable`, yielding to the event
 *             loop (setImmediate) once per ms
 *   delay     plain + 0.3 ms of busy-waiting between receive and send (a step's duration
 *             without its memory traffic)
 *
 *   worker    step, on a worker thread (worker_threads) of its own; the main thread only waits
 *
 * --cpus LIST pins every thread (daemon/affinity.ts), as `langevind run --cpus` does.
 */
import { parseArgs } from 'node:util';
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { Subscriber, XPublisher } from 'zeromq';
import { parseCpuList, pinProcess } from '../../daemon/affinity.js';
import { OnlineFilter } from '../../model/filter.js';
import { loadModel } from '../../model/model-file.js';
import { DecodedWriter, SpikeBinReader, newDecoded, newSpikeBin } from '../../streams/proto.js';

const { values: v, positionals } = parseArgs({ options: { variant: { type: 'string', default: 'plain' }, model: { type: 'string' }, cpus: { type: 'string' } }, allowPositionals: true });
if (v.cpus && isMainThread) pinProcess(parseCpuList(v.cpus));
/** performance.now() in ms on CLOCK_MONOTONIC's origin: a worker's performance.now() starts at the worker's start. */
const originMs = (): number => Number(process.hrtime.bigint()) / 1e6 - performance.now();
if (v.variant === 'worker' && isMainThread) {
  const w = new Worker(new URL(import.meta.url), { argv: process.argv.slice(2), workerData: { mainOriginMs: originMs() } });
  process.on('SIGINT', () => void w.terminate().then(() => process.exit(0)));
  await new Promise(() => undefined);
}
// Stamps written as the main thread's performance.now(), which is what clock-probe.js logged.
const shiftNs = isMainThread ? 0 : (originMs() - (workerData as { mainOriginMs: number }).mainOriginMs) * 1e6;
const variant = v.variant === 'worker' ? 'step' : v.variant!;
const [input, output] = positionals.map((p) => p.replace('zmq+', ''));
const sub = new Subscriber({ receiveHighWaterMark: 1000, linger: 0 });
const pub = new XPublisher({ sendHighWaterMark: 1000, sendTimeout: 0, linger: 0 });
sub.subscribe('spikes');
sub.connect(input);
await pub.bind(output);
const withStep = !['plain', 'awaitsend', 'watch', 'delay'].includes(variant);
const warm = variant === 'warm' || variant === 'spinwarm';
const spin = variant === 'spin' || variant === 'spinwarm';
const spinAll = variant === 'spinall';
if (variant === 'watch') {
  pub.verbosity = 'allSubs';
  void (async () => {
    for (;;) {
      try {
        await pub.receive();
      } catch {
        return;
      }
    }
  })();
}
const filter = withStep ? new OnlineFilter(loadModel(v.model!)) : null;
if (filter) {
  const z = new Float32Array(filter.config.n_in);
  for (let i = 0; i < 200; i++) filter.step(z);
  filter.reset();
}
const heap = filter ? new Int32Array((filter as unknown as { state: Float32Array }).state.buffer) : new Int32Array(16);
let sink = 0;
const touch = (): void => {
  let s = 0;
  for (let j = 0; j < heap.length; j += 16) s ^= heap[j];
  sink ^= s;
};
const reader = new SpikeBinReader();
const writer = new DecodedWriter();
const bin = newSpikeBin();
const dec = newDecoded(2);
dec.modelId = `lab-${variant}`;
const topic = Buffer.from('velocity');
const frames: [Buffer, Buffer] = [topic, topic];
const BIN_MS = 20;
const LEAD_MS = 2;
let lastArrival = 0;
let warmTimer: NodeJS.Timeout | undefined;
process.on('SIGINT', () => {
  sub.close();
  pub.close();
  process.exit(sink === 0.5 ? 1 : 0);
});
process.stderr.write(JSON.stringify({ level: 'info', msg: 'ready' }) + '\n');

const onMessage = (payload: Buffer | undefined, t: number): Promise<void> | undefined => {
  if (!payload || reader.read(payload, bin)) return undefined;
  dec.seq = bin.seq;
  dec.timestamp = bin.timestamp;
  dec.streamId = bin.streamId;
  dec.receivedNs = t + shiftNs;
  if (filter) {
    const out = filter.step(bin.counts);
    dec.velocity[0] = out.velocity[0];
    dec.velocity[1] = out.velocity[1];
  }
  if (variant === 'delay') {
    const until = performance.now() + 0.3;
    while (performance.now() < until);
  }
  dec.decodedNs = performance.now() * 1e6 + shiftNs;
  dec.sentNs = performance.now() * 1e6 + shiftNs;
  frames[1] = Buffer.from(writer.encode(dec));
  const p = pub.send(frames);
  p.catch(() => undefined);
  return p;
};

for (;;) {
  if (spin && lastArrival > 0) {
    // Sleep (in the event loop) until LEAD_MS before the next bin is due, then poll ZMQ_EVENTS.
    const wake = lastArrival + BIN_MS - LEAD_MS - performance.now();
    if (wake > 0) await new Promise((r) => setTimeout(r, wake));
    const until = performance.now() + 2 * LEAD_MS;
    while (!sub.readable && performance.now() < until);
  }
  if (spinAll) {
    let yieldAt = performance.now() + 1;
    while (!sub.readable) {
      if (performance.now() > yieldAt) {
        await new Promise((r) => setImmediate(r));
        yieldAt = performance.now() + 1;
      }
    }
  }
  let msg: Buffer[];
  try {
    msg = await sub.receive();
  } catch {
    break;
  }
  const t = performance.now() * 1e6;
  lastArrival = t / 1e6;
  const sent = onMessage(msg[1], t);
  if (variant === 'awaitsend' && sent) await sent.catch(() => undefined);
  if (warm) {
    clearTimeout(warmTimer);
    warmTimer = setTimeout(touch, BIN_MS - LEAD_MS);
  }
}
