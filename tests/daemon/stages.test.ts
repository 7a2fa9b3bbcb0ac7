// The bin path's stages one at a time, without sockets or a scheduler (Timeflux style): seeded
// synthetic bins in, the stage called directly, its output and counters checked. The composed
// operator is covered by pipeline.test.ts and, end to end over real sockets, by run.test.ts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { OnlineFilter } from '../../model/filter.js';
import { FilterSlot, FilterSlotError, type StepFilter } from '../../daemon/filter-slot.js';
import { createLogger, RateLimiter, silentLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/metrics.js';
import { fanoutStage } from '../../daemon/pipeline/fanout.js';
import { gapStage } from '../../daemon/pipeline/gaps.js';
import { decode, type PipelineObserver } from '../../daemon/pipeline/index.js';
import { stepStage } from '../../daemon/pipeline/step.js';
import { validateStage } from '../../daemon/pipeline/validate.js';
import type { RejectKind } from '../../daemon/validate.js';
import { localClock, lslTimeOfNs } from '../../streams/lsl/clock.js';
import type { Decoded, DecodedSink, Incoming, SpikeBin } from '../../streams/types.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { tempDir } from '../support/net.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const { model } = writeTestModel(tmp.dir, { nIn: 10 });
const N = model.config.n_in;
const counts = syntheticCounts(N, 30, 42);

function bin(seq: number, c: ArrayLike<number>, extra: Partial<SpikeBin> = {}): SpikeBin {
  return { seq, timestamp: 100 + seq * 0.02, counts: c, binMs: 20, streamId: 'rig', receivedNs: 0, receivedLslTime: 0, ...extra };
}
const ok = (b: SpikeBin): Incoming => ({ bin: b, undecodable: null, raw: null });
const garbage = (why: string, frames: Uint8Array[]): Incoming => ({ bin: bin(0, []), undecodable: why, raw: frames });

/** A filter that is its own record: the sum of each input, and what was asked of it. */
class SumFilter implements StepFilter {
  readonly calls: string[] = [];
  private readonly out = { velocity: new Float64Array(2) };
  constructor(readonly tag = 0) {}
  stepUnchecked(c: ArrayLike<number>) {
    let s = 0;
    for (let i = 0; i < c.length; i++) s += c[i];
    this.calls.push(s === 0 ? 'zeros' : `step ${s}`);
    this.out.velocity[0] = s;
    this.out.velocity[1] = this.tag;
    return this.out;
  }
  reset(): void {
    this.calls.push('reset');
  }
}

type Seen = { kind: RejectKind; detail: string; bin?: number; raw?: number; receivedNs: number };
function watcher(): { obs: PipelineObserver; accepted: number[]; rejected: Seen[]; decoded: number[] } {
  const w = { accepted: [] as number[], rejected: [] as Seen[], decoded: [] as number[] };
  const obs: PipelineObserver = {
    accepted: (b) => w.accepted.push(b.seq),
    decoded: (d) => w.decoded.push(d.seq),
    rejected: (kind, detail, b, raw, receivedNs) => w.rejected.push({ kind, detail, bin: b?.seq, raw: raw?.length, receivedNs }),
  };
  return { obs, ...w };
}

describe('validate stage', () => {
  it('counts every message once; an undecodable one is a reject of kind undecodable, with its frames, like a bad bin', () => {
    const metrics = new Metrics();
    const lines: Array<Record<string, unknown>> = [];
    const w = watcher();
    const v = validateStage({ nIn: N, binMs: 20, metrics, observers: [w.obs], limited: new RateLimiter(createLogger({ write: (l) => lines.push(JSON.parse(l)) })) });
    const frames = [Buffer.from('spikes'), Buffer.from([0xff, 0xff])];
    const results = [
      v.take(ok(bin(1, counts[0]))),
      v.take(garbage('SpikeBin: truncated varint', frames)),
      v.take(ok(bin(2, counts[1].subarray(1)))), // channels
      v.take(garbage('message has 3 frames, expected 2 (topic, SpikeBin)', [frames[0], frames[1], frames[1]])),
      v.take(ok(bin(3, counts[2]))),
    ];
    assert.deepEqual(results, [true, false, false, false, true]);
    assert.equal(metrics.messagesReceived, 5);
    assert.equal(metrics.binsAccepted, 2);
    assert.equal(metrics.rejects.undecodable, 2);
    assert.equal(metrics.rejects.channels, 1);
    assert.deepEqual(w.accepted, [1, 3]);
    assert.deepEqual(w.rejected.map((r) => [r.kind, r.bin, r.raw]), [['undecodable', undefined, 2], ['channels', 2, undefined], ['undecodable', undefined, 3]]);
    assert.equal(w.rejected[0].detail, 'SpikeBin: truncated varint');
    assert.match(w.rejected[1].detail, new RegExp(`${N - 1} channels, the model expects ${N}`));
    for (const r of w.rejected) assert.ok(r.receivedNs > 0, 'every reject carries its arrival');
    // Both kinds are logged through the same rate limiter: one line per kind.
    assert.deepEqual(lines.filter((l) => l.msg === 'input rejected').map((l) => l.kind), ['undecodable', 'channels']);
    // The bin rejected for its content keeps its place: seq 3 follows a bin to fill.
    assert.equal(v.verdict.missing, 1);
    assert.equal(v.previousSeq, 1);
  });

  it('stamps arrival on both clocks for a source that did not, and keeps a source\'s own stamps', () => {
    const v = validateStage({ nIn: N, binMs: 20, metrics: new Metrics(), observers: [], limited: new RateLimiter(silentLogger) });
    const before = localClock();
    const b = bin(1, counts[0]);
    v.take(ok(b));
    const afterT = localClock();
    assert.ok(b.receivedNs > 0);
    assert.ok(b.receivedLslTime >= before - 1e-5 && b.receivedLslTime <= afterT + 1e-5, `${b.receivedLslTime} in [${before}, ${afterT}]`);
    const own = bin(2, counts[1], { receivedNs: 5e9, receivedLslTime: 77 });
    v.take(ok(own));
    assert.deepEqual([own.receivedNs, own.receivedLslTime], [5e9, 77]);
  });

  it('the LSL time of a monotonic stamp is the LSL local clock', () => {
    const a = localClock();
    const t = lslTimeOfNs(performance.now() * 1e6);
    const b = localClock();
    assert.ok(t >= a - 1e-5 && t <= b + 1e-5, `${t} in [${a}, ${b}]`);
  });

  it('checks each bin\'s counts exactly once on the whole path (the filter steps them unchecked)', () => {
    let reads = 0;
    const counted = (c: Float64Array): ArrayLike<number> =>
      new Proxy(c, { get: (t, k) => (typeof k === 'string' && /^\d+$/.test(k) && reads++, Reflect.get(t, k)) }) as ArrayLike<number>;
    const src = new Subject<Incoming>();
    src.pipe(decode({ slot: new FilterSlot(new OnlineFilter(model), model.id), nIn: N, binMs: 20, velocityDim: 2, sinks: [], metrics: new Metrics(), log: silentLogger })).subscribe();
    src.next(ok(bin(1, counted(counts[0]))));
    // N reads to validate, N to copy into the filter's input: no second or third check.
    assert.equal(reads, 2 * N);
  });
});

describe('gap stage', () => {
  const run = (policy: 'zeros' | 'reset', seqs: Array<number | 'bad'>, maxGap?: number) => {
    const metrics = new Metrics();
    const f = new SumFilter();
    const slot = new FilterSlot(f, 'm');
    const limited = new RateLimiter(silentLogger);
    const v = validateStage({ nIn: 2, binMs: 20, metrics, observers: [], limited });
    const gaps = gapStage({ slot, nIn: 2, binMs: 20, gapPolicy: policy, maxGap, metrics, log: silentLogger, limited });
    let last = 0;
    for (const s of seqs) {
      const b = s === 'bad' ? bin(++last, [1, NaN]) : bin((last = s), [s, 0]);
      if (v.take(ok(b))) {
        gaps(b, v.verdict, v.previousSeq);
        f.stepUnchecked(b.counts);
      }
    }
    return { calls: f.calls, metrics };
  };

  it('zeros: steps through unseen and rejected bins with zero input', () => {
    const { calls, metrics } = run('zeros', [1, 2, 5, 'bad', 7]);
    assert.deepEqual(calls, ['step 1', 'step 2', 'zeros', 'zeros', 'step 5', 'zeros', 'step 7']);
    assert.deepEqual([metrics.gaps, metrics.gapBins, metrics.filledBins, metrics.resets], [1, 2, 3, 0]);
  });

  it('zeros beyond max gap, and reset: reset the filter instead', () => {
    assert.deepEqual(run('zeros', [1, 5], 2).calls, ['step 1', 'reset', 'step 5']);
    const r = run('reset', [1, 3]);
    assert.deepEqual(r.calls, ['step 1', 'reset', 'step 3']);
    assert.deepEqual([r.metrics.gaps, r.metrics.resets, r.metrics.filledBins], [1, 1, 0]);
  });

  it('a seq far back is a restart: reset, counted as a restart', () => {
    const { calls, metrics } = run('zeros', [500, 501, 3]);
    assert.deepEqual(calls, ['step 500', 'step 501', 'reset', 'step 3']);
    assert.deepEqual([metrics.restarts, metrics.resets, metrics.gaps], [1, 1, 0]);
  });
});

describe('step stage and FilterSlot', () => {
  it('fills the next ring record from the filter in the slot, with the bin\'s stamps and the slot\'s model id', () => {
    const slot = new FilterSlot(new SumFilter(), 'model-a');
    const step = stepStage({ slot, velocityDim: 2, ringSize: 2, metrics: new Metrics(), limited: new RateLimiter(silentLogger) });
    const b = bin(9, [3, 4], { receivedNs: 123e6, receivedLslTime: 55.5 });
    const d1 = step(b);
    assert.deepEqual([d1.seq, d1.timestamp, Array.from(d1.velocity), d1.receivedNs, d1.receivedLslTime, d1.modelId, d1.streamId, d1.sentNs], [9, b.timestamp, [7, 0], 123e6, 55.5, 'model-a', 'rig', 0]);
    assert.ok(d1.decodedNs > 0);
    const d2 = step(bin(10, [1, 1]));
    assert.notEqual(d1, d2);
    assert.equal(step(bin(11, [1, 1])), d1, 'the ring wraps');
  });

  it('a decode that comes out NaN or infinite sends zero velocity, resets the filter and is counted; the next bin decodes again', () => {
    const f = new SumFilter();
    const slot = new FilterSlot(f, 'm');
    const metrics = new Metrics();
    const step = stepStage({ slot, velocityDim: 2, metrics, limited: new RateLimiter(silentLogger) });
    assert.deepEqual(Array.from(step(bin(1, [1, 2])).velocity), [3, 0]);
    const bad = step(bin(2, [Infinity, 1]));
    assert.deepEqual(Array.from(bad.velocity), [0, 0], 'zero velocity, never NaN or Infinity, goes out');
    assert.deepEqual([metrics.nonFiniteResets, metrics.resets], [1, 1]);
    assert.deepEqual(f.calls.slice(-2), ['step Infinity', 'reset']);
    assert.deepEqual(Array.from(step(bin(3, [2, 2])).velocity), [4, 0]);
    assert.equal(metrics.summary().nonfinite_resets, 1);
  });

  it('a swap or reset asked for between bins applies at the start of the next, and the promise resolves then', async () => {
    const a = new SumFilter(1);
    const b = new SumFilter(2);
    const slot = new FilterSlot(a, 'a');
    let swapped = false;
    const p = slot.swapAtNextBin({ filter: b, modelId: 'b' }, 'reset').then(() => (swapped = true));
    await Promise.resolve();
    assert.equal(slot.filter, a, 'nothing changes before the next bin');
    assert.equal(swapped, false);
    slot.beforeBin();
    await p;
    assert.deepEqual([slot.filter, slot.modelId, swapped, slot.swaps], [b, 'b', true, 1]);
    assert.deepEqual(b.calls, ['reset']);
    slot.resetAtNextBin();
    slot.beforeBin();
    slot.beforeBin();
    assert.deepEqual(b.calls, ['reset', 'reset'], 'one reset per request');
    // carry: the new filter keeps its state; a later request supersedes a pending one, which still resolves.
    const first = slot.swapAtNextBin({ filter: a, modelId: 'a' }, 'carry');
    const second = slot.swapAtNextBin({ filter: new SumFilter(3), modelId: 'c' }, 'carry');
    await first;
    slot.beforeBin();
    await second;
    assert.equal(slot.modelId, 'c');
    assert.deepEqual(a.calls, []);
    assert.throws(() => slot.swapAtNextBin({ filter: {} as StepFilter, modelId: 'x' }, 'reset'), (e: FilterSlotError) => e.code === 'EFILTERSLOT');
    assert.throws(() => slot.swapAtNextBin({ filter: a, modelId: 'x' }, 'later' as 'reset'), (e: FilterSlotError) => e.code === 'EFILTERSLOT');
  });

  it('through the pipeline: decodes after a swap come from the new filter, under its model id; an asked-for reset is counted', () => {
    const slot = new FilterSlot(new SumFilter(1), 'a');
    const metrics = new Metrics();
    const out: Array<[number, number, string]> = [];
    const src = new Subject<Incoming>();
    src.pipe(decode({ slot, nIn: 2, binMs: 20, velocityDim: 2, sinks: [], metrics, log: silentLogger })).subscribe((d) => out.push([d.seq, d.velocity[1], d.modelId]));
    src.next(ok(bin(1, [1, 1])));
    void slot.swapAtNextBin({ filter: new SumFilter(2), modelId: 'b' }, 'reset');
    src.next(ok(bin(2, [1, 1])));
    slot.resetAtNextBin();
    src.next(ok(bin(3, [1, 1])));
    assert.deepEqual(out, [[1, 1, 'a'], [2, 2, 'b'], [3, 2, 'b']]);
    assert.equal(metrics.resets, 1);
  });
});

describe('fanout stage', () => {
  /** A sink that takes `holdMs` to hand each message on, and records the sent_ns it stamped. */
  const sink = (holdMs: number, got: number[]): DecodedSink => ({
    next(d: Decoded) {
      d.sentNs = performance.now() * 1e6;
      got.push(d.sentNs);
      const until = performance.now() + holdMs;
      while (performance.now() < until);
    },
    close: async () => {},
    stats: () => ({ sent: got.length, dropped: 0 }),
  });

  it('each output stamps its own sent_ns; observers see the time every output had it; then binsDecoded', () => {
    const a: number[] = [];
    const b: number[] = [];
    const metrics = new Metrics();
    const w = watcher();
    let seenSent = 0;
    const observers: PipelineObserver[] = [w.obs, { decoded: (d) => (seenSent = d.sentNs) }];
    const fan = fanoutStage({ sinks: [sink(2, a), sink(0, b)], observers, metrics, limited: new RateLimiter(silentLogger) });
    const slot = new FilterSlot(new SumFilter(), 'm');
    const d = stepStage({ slot, velocityDim: 2, metrics, limited: new RateLimiter(silentLogger) })(bin(1, [1, 2], { receivedNs: performance.now() * 1e6 }));
    fan(d, bin(1, [1, 2]));
    assert.ok(a[0] >= d.decodedNs, 'sent after decoded');
    // The second output handed the message on after the first spent 2 ms: its own stamp shows it.
    assert.ok(b[0] - a[0] >= 2e6, `second output stamped ${(b[0] - a[0]) / 1e6} ms after the first`);
    assert.ok(seenSent >= b[0]);
    assert.deepEqual(w.decoded, [1]);
    assert.equal(metrics.binsDecoded, 1);
    assert.equal(metrics.latency.receive_to_sent.count, 1);
  });

  it('observers added or removed between bins take effect at the next bin', () => {
    const observers: PipelineObserver[] = [];
    const src = new Subject<Incoming>();
    src.pipe(decode({ slot: new FilterSlot(new SumFilter(), 'm'), nIn: 2, binMs: 20, velocityDim: 2, sinks: [], observers, metrics: new Metrics(), log: silentLogger })).subscribe();
    const w = watcher();
    src.next(ok(bin(1, [1, 1])));
    observers.push(w.obs);
    src.next(ok(bin(2, [1, 1])));
    src.next(garbage('nope', [Buffer.from('x')]));
    observers.splice(0, 1);
    src.next(ok(bin(3, [1, 1])));
    assert.deepEqual([w.accepted, w.decoded, w.rejected.map((r) => r.kind)], [[2], [2], ['undecodable']]);
  });
});
