/**
 * XDF writers round-tripped through the reader: every channel format (string and int64
 * included), deduced and explicit timestamps, clock offsets, footers, LabRecorder's chunk
 * layout, the live writer's bounded memory and its errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findStream, readXdf, type XdfStream } from '../../streams/xdf/reader.js';
import { writeXdf, XdfWriter, type XdfStreamInput } from '../../streams/xdf/writer.js';
import { describeChannels, makeStreamInfo, channelLabels, type ChannelFormat } from '../../streams/stream-info.js';
import { childText, path as xmlPath } from '../../streams/xml.js';

const MINIMAL = fileURLToPath(new URL('../../../../shared/data/xdf-examples/minimal.xdf', import.meta.url));

/** Tags of the chunks in order (the file must be well-formed). */
function chunkTags(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tags: number[] = [];
  let p = 4;
  while (p < bytes.length) {
    const w = bytes[p];
    const len = w === 1 ? bytes[p + 1] : w === 4 ? v.getUint32(p + 1, true) : Number(v.getBigUint64(p + 1, true));
    tags.push(v.getUint16(p + 1 + w, true));
    p += 1 + w + len;
  }
  assert.equal(p, bytes.length, 'chunks end exactly at the end of the file');
  return tags;
}

function numericInput(fmt: Exclude<ChannelFormat, 'string'>, n: number, c: number, srate: number): XdfStreamInput {
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) ts[i] = i === 0 ? 100 : ts[i - 1] + 1 / srate; // exactly deducible
  let data: XdfStreamInput['data'];
  switch (fmt) {
    case 'int8': data = Int8Array.from({ length: n * c }, (_, k) => ((k * 37) % 256) - 128); break;
    case 'int16': data = Int16Array.from({ length: n * c }, (_, k) => ((k * 7919) % 65536) - 32768); break;
    case 'int32': data = Int32Array.from({ length: n * c }, (_, k) => (k * 2654435761) | 0); break;
    case 'int64': data = BigInt64Array.from({ length: n * c }, (_, k) => BigInt(k) * 1234567890123n - (1n << 62n)); break;
    case 'float32': data = Float32Array.from({ length: n * c }, (_, k) => Math.sin(k) * 1e3); break;
    case 'double64': data = Float64Array.from({ length: n * c }, (_, k) => Math.cos(k) / 3 + k * 1e-12); break;
  }
  return { info: makeStreamInfo({ name: `s-${fmt}`, type: 'Test', channelCount: c, channelFormat: fmt, nominalSrate: srate, sourceId: `src-${fmt}`,
    desc: describeChannels(Array.from({ length: c }, (_, k) => `c${k}`)) }), timeStamps: ts, data };
}

test('writeXdf → readXdf: every numeric format, strings, deduced and explicit stamps, clock offsets, footers', () => {
  const inputs: XdfStreamInput[] = (['int8', 'int16', 'int32', 'int64', 'float32', 'double64'] as const)
    .map((f, i) => numericInput(f, 700 + i * 13, 1 + i, [100, 20, 50, 1000, 250, 7][i]));
  // Irregular stamps (never deducible) and strings of every length class, including non-ASCII and > 255 bytes.
  const markerTs = Float64Array.from({ length: 40 }, (_, i) => 100 + i * 0.37 + (i % 3) * 0.01);
  const markers = Array.from({ length: 40 }, (_, i) => [`m${i}`, i % 5 === 0 ? '' : i % 7 === 0 ? 'ü→'.repeat(200) : `trial ${i} «ok»`]);
  inputs.push({ info: makeStreamInfo({ name: 'Markers', type: 'Markers', channelCount: 2, channelFormat: 'string' }), timeStamps: markerTs, data: markers,
    clockOffsets: [{ time: 101, value: -0.5 }, { time: 106, value: -0.25 }] });
  inputs[1].clockOffsets = [{ time: 100.5, value: 0.001 }, { time: 105.5, value: 0.002 }, { time: 110.5, value: 0.003 }];
  const bytes = writeXdf(inputs, { datetime: '2026-01-02T03:04:05+0000', maxChunkSamples: 64 });
  const f = readXdf(bytes);
  assert.deepEqual(f.warnings, []);
  assert.equal(childText(f.fileHeader, 'version'), '1.0');
  assert.equal(childText(f.fileHeader, 'datetime'), '2026-01-02T03:04:05+0000');
  assert.equal(f.streams.length, inputs.length);
  inputs.forEach((inp, i) => {
    const s = findStream(f, { id: i + 1 })!;
    assert.equal(s.info.name, inp.info.name);
    assert.equal(s.info.channelFormat, inp.info.channelFormat);
    assert.equal(s.info.channelCount, inp.info.channelCount);
    assert.equal(s.info.nominalSrate, inp.info.nominalSrate);
    assert.equal(s.info.sourceId, inp.info.sourceId);
    assert.deepEqual(channelLabels(s.info), channelLabels(inp.info));
    assert.deepEqual(Array.from(s.timeStamps), Array.from(inp.timeStamps), `${inp.info.name} stamps`);
    if (inp.info.channelFormat === 'string') assert.deepEqual(s.data, inp.data);
    else {
      assert.equal(s.data.constructor, inp.data.constructor);
      assert.deepEqual(Array.from(s.data as ArrayLike<number>), Array.from(inp.data as ArrayLike<number>), `${inp.info.name} values`);
    }
    assert.deepEqual(s.clockOffsets, inp.clockOffsets ?? []);
    const n = inp.timeStamps.length;
    assert.equal(Number(childText(s.footer, 'sample_count')), n);
    assert.equal(Number(childText(s.footer, 'first_timestamp')), inp.timeStamps[0]);
    assert.equal(Number(childText(s.footer, 'last_timestamp')), inp.timeStamps[n - 1]);
    const fo = xmlPath(s.footer, 'clock_offsets')!.children.map((o) => ({ time: Number(childText(o, 'time')), value: Number(childText(o, 'value')) }));
    assert.deepEqual(fo, inp.clockOffsets ?? []);
  });

  // LabRecorder's layout: FileHeader, all StreamHeaders, then data with Boundaries, then all StreamFooters.
  const tags = chunkTags(bytes);
  assert.equal(tags[0], 1);
  assert.deepEqual(tags.slice(1, 1 + inputs.length), inputs.map(() => 2));
  assert.deepEqual(tags.slice(-inputs.length), inputs.map(() => 6));
  const middle = tags.slice(1 + inputs.length, -inputs.length);
  assert.ok(middle.every((t) => t === 3 || t === 4 || t === 5));
  assert.equal(middle.filter((t) => t === 4).length, 5);
  // Data spans 100 … ~200 s (the 7 Hz stream's 778 samples): a Boundary every 10 s of data time.
  const span = Math.max(...inputs.map((x) => x.timeStamps[x.timeStamps.length - 1])) - 100;
  assert.equal(middle.filter((t) => t === 5).length, Math.floor(span / 10));
  // Samples of different streams interleave by time rather than one stream after another.
  assert.ok(middle.filter((t) => t === 3).length > inputs.length * 5);

  // Deduced stamps save 8 bytes per sample and read back identically.
  const explicit = writeXdf(inputs, { datetime: null, deduceTimestamps: false, maxChunkSamples: 64 });
  const deducedOnes = inputs.slice(0, 6).reduce((k, x) => k + x.timeStamps.length - 1, 0);
  // (Plus 3 bytes for each chunk whose longer explicit form needs a 4-byte length instead of a 1-byte one.)
  const extra = explicit.length - writeXdf(inputs, { datetime: null, maxChunkSamples: 64 }).length - 8 * deducedOnes;
  assert.ok(extra >= 0 && extra % 3 === 0 && extra < 3 * 100, `extra ${extra}`);
  const g = readXdf(explicit);
  g.streams.forEach((s, i) => assert.deepEqual(Array.from(s.timeStamps), Array.from(f.streams[i].timeStamps)));
});

test('writeXdf is byte-reproducible with a fixed datetime, and reads back the reference minimal.xdf content', () => {
  const src = readXdf(MINIMAL);
  const inputs = src.streams.map((s: XdfStream) => ({ info: s.info, timeStamps: s.timeStamps, data: s.data, clockOffsets: s.clockOffsets, id: s.id }));
  const a = writeXdf(inputs, { datetime: null });
  const b = writeXdf(inputs, { datetime: null });
  assert.deepEqual(a, b);
  const back = readXdf(a);
  assert.deepEqual(back.warnings, []);
  for (const s of src.streams) {
    const t = findStream(back, { id: s.id })!;
    assert.equal(t.info.name, s.info.name);
    assert.deepEqual(Array.from(t.timeStamps), Array.from(s.timeStamps));
    assert.deepEqual(Array.isArray(t.data) ? t.data : Array.from(t.data as Int16Array), Array.isArray(s.data) ? s.data : Array.from(s.data as Int16Array));
    assert.deepEqual(t.clockOffsets, s.clockOffsets);
  }
});

test('writeXdf refuses malformed input with EXDF_BAD_INPUT', () => {
  const info = makeStreamInfo({ name: 'x', channelCount: 2, channelFormat: 'float32' });
  assert.throws(() => writeXdf([{ info, timeStamps: [1, 2], data: new Float32Array(3) }]), { code: 'EXDF_BAD_INPUT' });
  const sinfo = makeStreamInfo({ name: 'm', channelCount: 1, channelFormat: 'string' });
  assert.throws(() => writeXdf([{ info: sinfo, timeStamps: [1], data: [['a', 'b']] }]), { code: 'EXDF_BAD_INPUT' });
  assert.throws(() => writeXdf([{ info, timeStamps: [], data: [], id: 3 }, { info, timeStamps: [], data: [], id: 3 }]), { code: 'EXDF_BAD_INPUT' });
});

test('XdfWriter: live recording across several flushes reads back exactly, with footers and clock offsets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdf-live-'));
  try {
    const file = join(dir, 'live.xdf');
    const w = await XdfWriter.open(file, { flushIntervalMs: 5 });
    const counts = w.addStream(makeStreamInfo({ name: 'M1-binned', type: 'SpikeCounts', channelCount: 4, channelFormat: 'int16', nominalSrate: 50,
      desc: describeChannels(['a', 'b', 'c', 'd'], { binMs: 20 }) }));
    const big = w.addStream(makeStreamInfo({ name: 'Big', type: 'Test', channelCount: 2, channelFormat: 'int64', nominalSrate: 0 }));
    const marks = w.addStream(makeStreamInfo({ name: 'Trials', type: 'Markers', channelCount: 1, channelFormat: 'string' }));
    const dbl = w.addStream(makeStreamInfo({ name: 'Vel', type: 'Kinematics', channelCount: 2, channelFormat: 'double64', nominalSrate: 50 }));
    assert.deepEqual([counts, big, marks, dbl], [1, 2, 3, 4]);
    const expectCounts: number[] = [];
    const expectTs: number[] = [];
    const row = new Int16Array(4);
    const vel = new Float64Array(2);
    let t = 1000;
    for (let i = 0; i < 1200; i++) {
      t = i === 0 ? 1000 : i % 100 === 50 ? t + 0.0213 : t + 1 / 50; // mostly deduced, some explicit
      for (let k = 0; k < 4; k++) row[k] = (i * 3 + k * 11) % 17;
      w.pushSample(counts, t, row);
      expectCounts.push(...row);
      expectTs.push(t);
      vel[0] = Math.sin(i / 10); vel[1] = i / 7;
      w.pushSample(dbl, t, vel);
      if (i % 100 === 0) w.pushSample(marks, t, [i === 0 ? 'start ✓' : `trial_start ${i}`]);
      if (i % 250 === 0) { w.pushSample(big, t, BigInt64Array.of(BigInt(i) * (1n << 40n), -1n)); w.pushClockOffset(counts, t, -0.001 * i); }
      if (i % 300 === 299) await new Promise((r) => setTimeout(r, 15)); // let the timer hand over mid-recording
    }
    await w.flush();
    assert.equal(w.stats().written[counts], 1200);
    const stats = await w.close();
    assert.equal(stats.droppedTotal, 0);
    assert.equal(stats.bytesWritten, readFileSync(file).length);
    await assert.rejects(() => w.close(), { code: 'EXDF_CLOSED' });
    assert.throws(() => w.pushSample(counts, 1, row), { code: 'EXDF_CLOSED' });

    const f = readXdf(file);
    assert.deepEqual(f.warnings, []);
    assert.ok(childText(f.fileHeader, 'datetime'));
    const c = findStream(f, { type: 'SpikeCounts' })!;
    assert.deepEqual(Array.from(c.data as Int16Array), expectCounts);
    assert.deepEqual(Array.from(c.timeStamps), expectTs);
    assert.equal(xmlPath(c.info.desc, 'binning', 'bin_ms')?.text, '20');
    assert.equal(c.clockOffsets.length, 5);
    assert.deepEqual(c.clockOffsets[1], { time: expectTs[250], value: -0.25 });
    assert.equal(Number(childText(c.footer, 'sample_count')), 1200);
    assert.equal(Number(childText(c.footer, 'first_timestamp')), 1000);
    assert.equal(Number(childText(c.footer, 'last_timestamp')), expectTs[1199]);
    assert.equal(xmlPath(c.footer, 'clock_offsets')!.children.length, 5);
    const v = findStream(f, { name: 'Vel' })!;
    assert.equal((v.data as Float64Array)[2 * 1199 + 1], 1199 / 7);
    const m = findStream(f, { name: 'Trials' })!;
    assert.deepEqual((m.data as string[][]).map((r) => r[0]), ['start ✓', ...Array.from({ length: 11 }, (_, k) => `trial_start ${(k + 1) * 100}`)]);
    const b = findStream(f, { name: 'Big' })!;
    assert.deepEqual(Array.from(b.data as BigInt64Array), [0n, -1n, 250n << 40n, -1n, 500n << 40n, -1n, 750n << 40n, -1n, 1000n << 40n, -1n]);
    // 24 s of data: Boundary chunks every 10 s of data time.
    assert.ok(chunkTags(readFileSync(file)).filter((x) => x === 5).length >= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('XdfWriter: bounded memory — when nothing drains, samples beyond the cap are dropped and counted, never buffered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdf-cap-'));
  try {
    const file = join(dir, 'cap.xdf');
    const w = await XdfWriter.open(file, { flushIntervalMs: 3_600_000, maxBufferedBytesPerStream: 4096 });
    const id = w.addStream(makeStreamInfo({ name: 'x', channelCount: 8, channelFormat: 'float32', nominalSrate: 0 }));
    const row = new Float32Array(8);
    for (let i = 0; i < 1000; i++) { row[0] = i; w.pushSample(id, i, row); }
    const st = w.stats();
    const perSample = 1 + 8 + 32;
    const kept = Math.floor(4096 / perSample);
    assert.equal(st.dropped[id], 1000 - kept);
    assert.ok(st.bufferedBytes <= 4096);
    const final = await w.close();
    assert.equal(final.written[id], kept);
    assert.equal(final.droppedTotal, 1000 - kept);
    const s = readXdf(file).streams[0];
    assert.equal(s.timeStamps.length, kept);
    assert.equal(Number(childText(s.footer, 'sample_count')), kept);
    assert.equal(Number(childText(s.footer, 'dropped_samples')), 1000 - kept);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('XdfWriter: bad input and an unwritable file give coded errors', async () => {
  await assert.rejects(() => XdfWriter.open('/nonexistent-dir/x.xdf'), { code: 'ENOENT' });
  // /dev/full: every write fails with ENOSPC, as on a full disk.
  await assert.rejects(() => XdfWriter.open('/dev/full'), { code: 'EXDF_WRITE' });
  const dir = mkdtempSync(join(tmpdir(), 'xdf-bad-'));
  try {
    const w = await XdfWriter.open(join(dir, 'b.xdf'));
    const id = w.addStream(makeStreamInfo({ name: 'x', channelCount: 3, channelFormat: 'int32' }));
    assert.throws(() => w.pushSample(id, 0, [1, 2]), { code: 'EXDF_BAD_INPUT' });
    assert.throws(() => w.pushSample(99, 0, [1, 2, 3]), { code: 'EXDF_BAD_INPUT' });
    assert.throws(() => w.pushClockOffset(99, 0, 0), { code: 'EXDF_BAD_INPUT' });
    await w.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
