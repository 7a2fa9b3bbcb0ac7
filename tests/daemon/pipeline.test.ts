import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Subject } from 'rxjs';
import { OnlineFilter } from '../../model/filter.js';
import { FilterSlot } from '../../daemon/filter-slot.js';
import { silentLogger, createLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/metrics.js';
import { decode, PipelineError, type GapPolicy } from '../../daemon/pipeline/index.js';
import { asIncoming } from '../../streams/incoming.js';
import type { Decoded, DecodedSink, SpikeBin } from '../../streams/types.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { tempDir } from '../support/net.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const { model } = writeTestModel(tmp.dir, { nIn: 12 });
const N = model.config.n_in;

class ArraySink implements DecodedSink {
  readonly got: Array<{ seq: number; timestamp: number; velocity: number[]; streamId?: string; stamps: [number, number, number] }> = [];
  next(d: Decoded): void {
    // A sink stamps sent_ns itself as it hands the message on (here: to the array).
    d.sentNs = performance.now() * 1e6;
    this.got.push({ seq: d.seq, timestamp: d.timestamp, velocity: Array.from(d.velocity), streamId: d.streamId, stamps: [d.receivedNs, d.decodedNs, d.sentNs] });
  }
  async close(): Promise<void> {}
  stats() {
    return { sent: this.got.length, dropped: 0 };
  }
}

function bin(seq: number, counts: ArrayLike<number>, extra: Partial<SpikeBin> = {}): SpikeBin {
  return { seq, timestamp: seq * 0.02, counts, binMs: 20, streamId: 'rig-1', receivedNs: 0, receivedLslTime: 0, ...extra };
}

function harness(opts: { gapPolicy?: GapPolicy; maxGap?: number; streamId?: string; log?: boolean } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log = opts.log ? createLogger({ write: (l) => lines.push(JSON.parse(l)) }) : silentLogger;
  const filter = new OnlineFilter(model);
  const metrics = new Metrics();
  const sink = new ArraySink();
  const src = new Subject<SpikeBin>();
  const out: number[] = [];
  let completed = false;
  asIncoming(src).pipe(decode({ slot: new FilterSlot(filter, model.id), nIn: N, binMs: 20, velocityDim: 2, sinks: [sink], metrics, log, gapPolicy: opts.gapPolicy, maxGap: opts.maxGap, streamId: opts.streamId }))
    .subscribe({ next: (d) => out.push(d.seq), complete: () => (completed = true) });
  return { src, sink, metrics, lines, out, isComplete: () => completed };
}

/** What a fresh OnlineFilter gives for a sequence of inputs (null = zero input, 'reset' = reset). */
function expected(steps: Array<ArrayLike<number> | null | 'reset'>): number[][] {
  const f = new OnlineFilter(model);
  const zeros = new Float64Array(N);
  const res: number[][] = [];
  for (const s of steps) {
    if (s === 'reset') f.reset();
    else if (s === null) f.step(zeros);
    else res.push(Array.from(f.step(s).velocity));
  }
  return res;
}

describe('decode pipeline', () => {
  const counts = syntheticCounts(N, 40, 11);

  it('decodes every bin exactly as the OnlineFilter does, with monotonic stamps', () => {
    const h = harness();
    counts.forEach((c, i) => h.src.next(bin(i + 1, c)));
    h.src.complete();
    assert.equal(h.sink.got.length, 40);
    assert.deepEqual(h.sink.got.map((g) => g.seq), counts.map((_, i) => i + 1));
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected(counts));
    for (const g of h.sink.got) {
      assert.ok(g.stamps[0] > 0 && g.stamps[0] <= g.stamps[1] && g.stamps[1] <= g.stamps[2], `stamps ${g.stamps}`);
      assert.equal(g.streamId, 'rig-1');
    }
    assert.equal(h.metrics.messagesReceived, 40);
    assert.equal(h.metrics.binsAccepted, 40);
    assert.equal(h.metrics.binsDecoded, 40);
    assert.equal(h.metrics.latency.receive_to_sent.count, 40);
    assert.ok(h.isComplete());
  });

  it('counts and skips every kind of bad bin, logs each kind once, and keeps decoding', () => {
    const h = harness({ log: true });
    const bad = Float64Array.from(counts[0]);
    h.src.next(bin(1, counts[0]));
    h.src.next(bin(2, counts[1]));
    h.src.next(bin(2, counts[1])); // duplicate
    h.src.next(bin(1, counts[1])); // reordered
    h.src.next(bin(3, counts[2], { streamId: 'other-rig' })); // stream_id
    h.src.next(bin(3, counts[2], { binMs: 50 })); // bin_ms
    h.src.next(bin(3, counts[2].subarray(1))); // channels: still takes seq 3's place
    bad[3] = NaN;
    h.src.next(bin(4, bad)); // counts (NaN)
    bad[3] = -1;
    h.src.next(bin(5, bad)); // counts (negative)
    bad[3] = 1.5;
    h.src.next(bin(6, Float64Array.from(bad))); // counts (fraction)
    h.src.next(bin(7, counts[3]));
    h.src.next(bin(8, counts[4]));
    const m = h.metrics;
    assert.deepEqual(m.rejects, { undecodable: 0, stream_id: 1, bin_ms: 1, channels: 1, counts: 3, duplicate: 1, reordered: 1 });
    assert.equal(m.messagesReceived, 12);
    assert.equal(m.binsAccepted, 4);
    assert.equal(m.binsDecoded, 4);
    assert.equal(m.gaps, 0, 'bins rejected for their content are not gaps');
    assert.equal(m.filledBins, 4, 'seq 3 to 6 were rejected for their content and filled with zeros');
    assert.deepEqual(h.sink.got.map((g) => g.seq), [1, 2, 7, 8]);
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], counts[1], null, null, null, null, counts[3], counts[4]]));
    const warned = h.lines.filter((l) => l.msg === 'input rejected');
    assert.deepEqual(warned.map((l) => l.kind).sort(), ['bin_ms', 'channels', 'counts', 'duplicate', 'reordered', 'stream_id']);
    const nan = warned.find((l) => l.kind === 'counts')!;
    assert.match(String(nan.detail), /channel 3: NaN is not a spike count/);
  });

  it('locks onto a configured stream_id', () => {
    const h = harness({ streamId: 'rig-2' });
    h.src.next(bin(1, counts[0]));
    h.src.next(bin(2, counts[1], { streamId: 'rig-2' }));
    assert.equal(h.metrics.rejects.stream_id, 1);
    assert.deepEqual(h.sink.got.map((g) => g.seq), [2]);
  });

  it('lets a new stream take over once the followed one has been silent for 1 s (a rig restarted under a new id)', () => {
    const h = harness({ log: true });
    const s = 1e9;
    h.src.next(bin(1, counts[0], { receivedNs: 10 * s }));
    h.src.next(bin(2, counts[1], { receivedNs: 10.02 * s }));
    h.src.next(bin(1, counts[2], { streamId: 'rig-new', receivedNs: 10.5 * s })); // rig-1 silent 0.48 s: rejected
    assert.equal(h.metrics.rejects.stream_id, 1);
    h.src.next(bin(0, counts[2], { streamId: 'rig-new', receivedNs: 11.03 * s })); // silent 1.01 s: takes over
    h.src.next(bin(1, counts[3], { streamId: 'rig-new', receivedNs: 11.05 * s }));
    h.src.next(bin(3, counts[0], { receivedNs: 11.06 * s })); // the old stream is now the foreign one
    assert.equal(h.metrics.rejects.stream_id, 2);
    assert.deepEqual(h.sink.got.map((g) => [g.seq, g.streamId]), [[1, 'rig-1'], [2, 'rig-1'], [0, 'rig-new'], [1, 'rig-new']]);
    // The new stream starts from a reset filter, and its seq from scratch (no gap, no restart by seq).
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], counts[1], 'reset', counts[2], counts[3]]));
    assert.equal(h.metrics.gaps, 0);
    assert.equal(h.metrics.resets, 1);
    const changed = h.lines.filter((l) => String(l.msg).startsWith('input stream changed'));
    assert.equal(changed.length, 1);
    assert.equal(changed[0].stream_id, 'rig-new');
    assert.equal(changed[0].previous_stream_id, 'rig-1');
  });

  it('never gives up a configured stream_id, however long it is silent', () => {
    const h = harness({ streamId: 'rig-1' });
    h.src.next(bin(1, counts[0], { receivedNs: 1e9 }));
    h.src.next(bin(1, counts[1], { streamId: 'rig-new', receivedNs: 100e9 }));
    h.src.next(bin(2, counts[2], { streamId: 'rig-new', receivedNs: 101e9 }));
    assert.equal(h.metrics.rejects.stream_id, 2);
    assert.deepEqual(h.sink.got.map((g) => g.seq), [1]);
  });

  it('gap policy zeros: steps the filter through the missing bins with zero input', () => {
    const h = harness({ gapPolicy: 'zeros' });
    h.src.next(bin(10, counts[0]));
    h.src.next(bin(11, counts[1]));
    h.src.next(bin(15, counts[2])); // 12, 13, 14 missing
    h.src.next(bin(16, counts[3]));
    assert.equal(h.metrics.gaps, 1);
    assert.equal(h.metrics.gapBins, 3);
    assert.equal(h.metrics.filledBins, 3);
    assert.equal(h.metrics.resets, 0);
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], counts[1], null, null, null, counts[2], counts[3]]));
  });

  it('gap policy zeros: a gap longer than max-gap resets instead', () => {
    const h = harness({ gapPolicy: 'zeros', maxGap: 2 });
    h.src.next(bin(1, counts[0]));
    h.src.next(bin(5, counts[1]));
    assert.equal(h.metrics.resets, 1);
    assert.equal(h.metrics.filledBins, 0);
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], 'reset', counts[1]]));
  });

  it('gap policy reset: resets the filter at a gap', () => {
    const h = harness({ gapPolicy: 'reset' });
    h.src.next(bin(1, counts[0]));
    h.src.next(bin(2, counts[1]));
    h.src.next(bin(4, counts[2]));
    assert.equal(h.metrics.gaps, 1);
    assert.equal(h.metrics.resets, 1);
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], counts[1], 'reset', counts[2]]));
  });

  it('a seq far below the last is a source restart: filter reset, bin accepted', () => {
    const h = harness();
    h.src.next(bin(5000, counts[0]));
    h.src.next(bin(5001, counts[1]));
    h.src.next(bin(0, counts[2]));
    h.src.next(bin(1, counts[3]));
    assert.equal(h.metrics.restarts, 1);
    assert.equal(h.metrics.rejects.reordered, 0);
    assert.deepEqual(h.sink.got.map((g) => g.seq), [5000, 5001, 0, 1]);
    assert.deepEqual(h.sink.got.map((g) => g.velocity), expected([counts[0], counts[1], 'reset', counts[2], counts[3]]));
  });

  it('a sink that throws is counted and does not stop the others', () => {
    const good = new ArraySink();
    const metrics = new Metrics();
    const src = new Subject<SpikeBin>();
    const thrower: DecodedSink = { next() { throw new Error('boom'); }, close: async () => {}, stats: () => ({ sent: 0, dropped: 0 }) };
    asIncoming(src).pipe(decode({ slot: new FilterSlot(new OnlineFilter(model), model.id), nIn: N, binMs: 20, velocityDim: 2, sinks: [thrower, good], metrics, log: silentLogger })).subscribe();
    src.next(bin(1, counts[0]));
    src.next(bin(2, counts[1]));
    assert.equal(good.got.length, 2);
    assert.equal(metrics.internalErrors, 2);
  });

  it('refuses bad options when the operator is created', () => {
    const base = { slot: new FilterSlot(new OnlineFilter(model), model.id), nIn: N, binMs: 20, velocityDim: 2, sinks: [], metrics: new Metrics(), log: silentLogger };
    assert.throws(() => decode({ ...base, gapPolicy: 'skip' as GapPolicy }), (e: PipelineError) => e.code === 'EPIPELINE' && /gap policy/.test(e.message));
    assert.throws(() => decode({ ...base, maxGap: -1 }), (e: PipelineError) => e.code === 'EPIPELINE');
    assert.throws(() => decode({ ...base, ringSize: 0 }), (e: PipelineError) => e.code === 'EPIPELINE' && /ring size/.test(e.message));
  });

  it('allocates no Decoded per bin: the emitted records cycle through a fixed ring', () => {
    const metrics = new Metrics();
    const src = new Subject<SpikeBin>();
    const seen = new Set<Decoded>();
    asIncoming(src).pipe(decode({ slot: new FilterSlot(new OnlineFilter(model), model.id), nIn: N, binMs: 20, velocityDim: 2, sinks: [], metrics, log: silentLogger, ringSize: 4 }))
      .subscribe((d) => seen.add(d));
    for (let i = 0; i < 40; i++) src.next(bin(i + 1, counts[i]));
    assert.equal(seen.size, 4);
  });
});
