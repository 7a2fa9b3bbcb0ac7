import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import {
  DecodedReader, DecodedWriter, SpikeBinReader, SpikeBinWriter, decodeDecoded, decodeSpikeBin, encodeDecoded, encodeSpikeBin,
  newDecoded, newSpikeBin, pbDecodeDecoded, pbDecodeSpikeBin, pbEncodeDecoded, pbEncodeSpikeBin, protoTypes, ProtoError,
} from '../../streams/proto.js';
import type { Decoded } from '../../streams/types.js';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof import('protobufjs');

const bins = [
  { seq: 1, timestamp: 12.5, counts: Float64Array.from([0, 1, 2, 127, 128, 300, 65535, 4294967295]), binMs: 20, streamId: 'rig-1' },
  { seq: 2 ** 40 + 3, timestamp: -1e-9, counts: new Float64Array(192).map((_, i) => i % 7), binMs: 1, streamId: 'ümlaut-ストリーム' },
  { seq: 0, timestamp: 0, counts: new Float64Array(0), binMs: 0, streamId: '' },
];

const decodeds: Decoded[] = [
  { seq: 7, timestamp: 3.25, velocity: Float32Array.from([0.5, -1.25, 1e-8]), receivedNs: 1e12 + 5, receivedLslTime: 0, decodedNs: 1e12 + 70000, sentNs: 1e12 + 80000, modelId: '74e58c24764d', streamId: 'rig-1' },
  { seq: 2 ** 50, timestamp: 1e9, velocity: new Float32Array(0), receivedNs: 0, receivedLslTime: 0, decodedNs: 1, sentNs: 2 ** 52, modelId: '', streamId: '' },
];

describe('protobuf codec', () => {
  it('protobufjs reads uint64 as plain numbers (no Long)', () => {
    const { SpikeBin } = protoTypes();
    const m = SpikeBin.decode(pbEncodeSpikeBin(bins[1])) as unknown as { seq: unknown };
    assert.equal(typeof m.seq, 'number');
    assert.equal(m.seq, 2 ** 40 + 3);
  });

  it('hand-rolled SpikeBin encoding decodes identically with protobufjs, and back', () => {
    for (const b of bins) {
      const viaPb = pbDecodeSpikeBin(encodeSpikeBin(b));
      assert.deepEqual({ ...viaPb, counts: Array.from(viaPb.counts) }, { ...b, counts: Array.from(b.counts), receivedNs: 0, receivedLslTime: 0 });
      const viaHand = decodeSpikeBin(pbEncodeSpikeBin(b));
      assert.deepEqual({ ...viaHand, counts: Array.from(viaHand.counts) }, { ...b, counts: Array.from(b.counts), receivedNs: 0, receivedLslTime: 0 });
    }
  });

  it('hand-rolled Decoded encoding decodes identically with protobufjs, and back', () => {
    for (const d of decodeds) {
      const viaPb = pbDecodeDecoded(encodeDecoded(d));
      assert.deepEqual({ ...viaPb, velocity: Array.from(viaPb.velocity) }, { ...d, velocity: Array.from(d.velocity) });
      const viaHand = decodeDecoded(pbEncodeDecoded(d));
      assert.deepEqual({ ...viaHand, velocity: Array.from(viaHand.velocity) }, { ...d, velocity: Array.from(d.velocity) });
    }
  });

  it('monotonic stamps (fractional ns) are written as whole ns', () => {
    const d = { ...decodeds[0], receivedNs: 1234.9, decodedNs: 5678.2, sentNs: 9999.99 };
    const back = decodeDecoded(encodeDecoded(d));
    assert.deepEqual([back.receivedNs, back.decodedNs, back.sentNs], [1234, 5678, 9999]);
  });

  it('reads unpacked counts and skips unknown fields, as proto3 parsers must', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 0).uint64(42);
    w.uint32((3 << 3) | 0).uint32(5);
    w.uint32((3 << 3) | 0).uint32(6);
    w.uint32((99 << 3) | 2).bytes(new Uint8Array([1, 2, 3]));
    w.uint32((98 << 3) | 5).fixed32(7);
    w.uint32((97 << 3) | 1).double(1.5);
    w.uint32((96 << 3) | 0).uint32(300);
    w.uint32((3 << 3) | 2).bytes(new Uint8Array([7, 0x80, 0x01])); // packed 7, 128
    w.uint32((5 << 3) | 2).string('s');
    const b = decodeSpikeBin(w.finish());
    assert.equal(b.seq, 42);
    assert.deepEqual(Array.from(b.counts), [5, 6, 7, 128]);
    assert.equal(b.streamId, 's');
  });

  it('refuses malformed bytes with a message, never a wrong SpikeBin', () => {
    const good = encodeSpikeBin(bins[0]);
    const cases: Array<[Uint8Array, RegExp]> = [
      [good.subarray(0, good.length - 3), /runs past the end|truncated/],
      [Uint8Array.from([0x08, 0xff, 0xff]), /truncated varint/],
      [Uint8Array.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /longer than 10 bytes/],
      [Uint8Array.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8]), /field 1 has wire type 1/],
      [Uint8Array.from([0x2a, 0x02, 0xc3, 0x28]), /not valid UTF-8/],
      [Uint8Array.from([0x03]), /field number 0/],
      [Uint8Array.from([0xfb, 0x01]), /wire type 3/],
      [Buffer.from('hello, this is not protobuf'), /.+/],
    ];
    for (const [bytes, re] of cases) {
      assert.throws(() => decodeSpikeBin(bytes), (e: ProtoError) => e.code === 'EPROTO' && re.test(e.message), `bytes ${Buffer.from(bytes).toString('hex')}`);
    }
  });

  it('readers reuse their storage: a steady stream allocates no new arrays or strings', () => {
    const r = new SpikeBinReader();
    const w = new SpikeBinWriter();
    const into = newSpikeBin();
    assert.equal(r.read(w.encode(bins[0]), into), null);
    const counts = into.counts;
    const sid = into.streamId;
    assert.equal(r.read(w.encode({ ...bins[0], seq: 2, counts: bins[0].counts.map((x) => x + 1) }), into), null);
    assert.equal(into.counts, counts, 'same counts view');
    assert.equal(into.streamId, sid);
    assert.equal(into.seq, 2);
    const dr = new DecodedReader();
    const dw = new DecodedWriter();
    const d = newDecoded();
    assert.equal(dr.read(dw.encode(decodeds[0]), d), null);
    const vel = d.velocity;
    assert.equal(dr.read(dw.encode({ ...decodeds[0], seq: 8 }), d), null);
    assert.equal(d.velocity, vel);
    assert.equal(d.seq, 8);
  });

  it('writers return a view of one reused buffer per length', () => {
    const w = new DecodedWriter();
    const a = w.encode(decodeds[0]);
    const b = w.encode({ ...decodeds[0], seq: 9 });
    assert.equal(a, b, 'same length → the same cached view');
    assert.equal(decodeDecoded(b).seq, 9);
  });
});
