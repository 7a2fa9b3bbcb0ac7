/**
 * The XDF reader against the three reference files of xdf-modules/example-files (their README
 * is the oracle), corrupted and truncated copies of them, and the real contdata95 recording.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { findStream, readXdf, sampleRow, type XdfStream } from '../../streams/xdf/reader.js';
import { childText, path as xmlPath, type XmlElement } from '../../streams/xml.js';
import { channelLabels } from '../../streams/stream-info.js';
import { clockSegments } from '../../streams/xdf/clock-sync.js';

// dist/tests/streams/ → repo root is three levels up; shared/ sits beside the repo.
const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const EX = join(DATA, 'xdf-examples');
const MINIMAL = join(EX, 'minimal.xdf');
const EMPTY = join(EX, 'empty_streams.xdf');
const RESETS = join(EX, 'clock_resets.xdf');
const CONTDATA = join(DATA, 'contdata95', 'contdata95.xdf');

const close = (a: number, b: number, tol: number, msg?: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} ${a} ≠ ${b} (tol ${tol})`);

function rows(s: XdfStream): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < s.timeStamps.length; i++) out.push(Array.from(sampleRow(s, i) as ArrayLike<number>));
  return out;
}

function footer(s: XdfStream): { first: number; last: number; count: number; offsets: { time: number; value: number }[]; el: XmlElement } {
  const el = s.footer!;
  assert.ok(el, `stream ${s.id} has a footer`);
  const offsets = (xmlPath(el, 'clock_offsets')?.children ?? []).map((o) => ({
    time: Number(childText(o, 'time')), value: Number(childText(o, 'value')),
  }));
  return { first: Number(childText(el, 'first_timestamp')), last: Number(childText(el, 'last_timestamp')), count: Number(childText(el, 'sample_count')), offsets, el };
}

test('minimal.xdf: headers, footers, int16 samples, strings, deduced timestamps, clock offsets', () => {
  const f = readXdf(MINIMAL);
  assert.deepEqual(f.warnings, []);
  assert.equal(childText(f.fileHeader, 'version'), '1.0');
  assert.equal(f.streams.length, 2);

  const s0 = findStream(f, { id: 0 })!;
  assert.equal(s0.info.name, 'SendDataC');
  assert.equal(s0.info.type, 'EEG');
  assert.equal(s0.info.channelCount, 3);
  assert.equal(s0.info.nominalSrate, 10);
  assert.equal(s0.info.channelFormat, 'int16');
  assert.equal(s0.info.createdAt, 50942.723319709003);
  assert.equal(s0.info.uid, 'xdfwriter_11_int');
  assert.equal(s0.info.desc.children.length, 0);
  assert.ok(s0.headerXml.includes('<name>SendDataC</name>'));
  assert.ok(s0.data instanceof Int16Array);
  assert.deepEqual(rows(s0), [
    [192, 255, 238], [12, 22, 32], [13, 23, 33], [14, 24, 34], [15, 25, 35],
    [12, 22, 32], [13, 23, 33], [14, 24, 34], [15, 25, 35],
  ]);
  // Samples 5.3, 5.4, 5.6 … are deduced (TimeStampBytes 0) from the previous stamp + 1/10 s, across chunks.
  const expectTs = [5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8, 5.9];
  s0.timeStamps.forEach((t, i) => close(t, expectTs[i], 1e-9, `ts[${i}]`));
  assert.deepEqual(s0.clockOffsets, [{ time: 6.1, value: -0.1 }, { time: 7.1, value: -0.1 }]);
  const f0 = footer(s0);
  assert.equal(childText(f0.el, 'writer'), 'LabRecorder xdfwriter');
  assert.equal(f0.first, 5.1);
  assert.equal(f0.last, 5.9);
  assert.equal(f0.count, 9);
  assert.deepEqual(f0.offsets, [{ time: 50979.76, value: -0.01 }, { time: 50979.86, value: -0.02 }]);

  const s1 = findStream(f, { name: 'SendDataString' })!;
  assert.equal(s1.id, 46202862);
  assert.equal(s1.info.type, 'StringMarker');
  assert.equal(s1.info.channelFormat, 'string');
  assert.equal(s1.info.uid, 'xdfwriter_11_str');
  const strs = s1.data as string[][];
  assert.equal(strs.length, 9);
  assert.ok(strs[0][0].startsWith('<?xml version="1.0"?><info><writer>LabRecorder xdfwriter</writer>'));
  assert.ok(strs[0][0].includes('<sample_count>9</sample_count>'));
  assert.deepEqual(strs.slice(1).map((r) => r[0]), ['Hello', 'World', 'from', 'LSL', 'Hello', 'World', 'from', 'LSL']);
  s1.timeStamps.forEach((t, i) => close(t, expectTs[i], 1e-9, `string ts[${i}]`));
  assert.deepEqual(s1.clockOffsets, []);
  assert.deepEqual(footer(s1).offsets, f0.offsets);
  assert.equal(footer(s1).count, 9);
});

test('minimal.xdf with syncClocks: the one segment\'s offset (−0.1) applies even before the first measurement', () => {
  const f = readXdf(MINIMAL, { syncClocks: true });
  const s0 = findStream(f, { id: 0 })!;
  [5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6, 5.7, 5.8].forEach((t, i) => close(s0.timeStamps[i], t, 1e-9));
  // No clock offsets: no change.
  close(findStream(f, { id: 46202862 })!.timeStamps[0], 5.1, 1e-12);
});

test('empty_streams.xdf: empty streams, a string control stream, an int32 counter, pylsltools metadata', () => {
  const f = readXdf(EMPTY);
  assert.deepEqual(f.warnings, []);
  assert.ok(childText(f.fileHeader, 'datetime'));
  assert.deepEqual(f.streams.map((s) => s.id).sort(), [1, 2, 3, 4]);

  const ctrl = findStream(f, { id: 1 })!;
  assert.equal(ctrl.info.name, 'ctrl');
  assert.equal(ctrl.info.type, 'control');
  assert.equal(ctrl.info.channelFormat, 'string');
  assert.equal(ctrl.info.sourceId, 'kassia');
  assert.equal(ctrl.info.nominalSrate, 0);
  assert.equal(ctrl.info.version, 110);
  assert.equal(ctrl.info.createdAt, 91684.87631725401);
  assert.equal(ctrl.info.uid, '4740b9ba-d45d-4e2b-9a4b-ee966d9b56df');
  assert.equal(ctrl.info.hostname, 'kassia');
  assert.equal(ctrl.info.v4dataPort, 16572);
  assert.equal(ctrl.info.v4servicePort, 16572);
  assert.equal(ctrl.info.v6dataPort, 0);
  assert.equal(childText(ctrl.info.desc, 'manufacturer'), 'pylsltools');
  assert.deepEqual(ctrl.data, [['{"state": 2}']]);
  close(ctrl.timeStamps[0], 91725.014004, 1e-6);
  const fc = footer(ctrl);
  assert.equal(fc.first, 91725.014004246);
  assert.equal(fc.last, 91725.014004246);
  assert.equal(fc.count, 1);
  assert.deepEqual(fc.offsets[0], { time: 91716.691545932, value: -1.889200211735442e-05 });
  assert.deepEqual(fc.offsets.at(-1), { time: 91746.69261952251, value: -3.837950498564169e-05 });

  const marker = findStream(f, { id: 2 })!;
  assert.equal(marker.info.name, 'Empty marker stream: test stream 0 counter');
  assert.equal(marker.info.sourceId, 'test_stream.py:191748:0');
  assert.equal(marker.timeStamps.length, 0);
  assert.deepEqual(marker.data, []);
  assert.equal(footer(marker).count, 0);
  assert.deepEqual(footer(marker).offsets[0], { time: 91716.691513728, value: -2.540599962230772e-05 });

  const emptyData = findStream(f, { name: 'Empty data stream: test stream 0 counter' })!;
  assert.equal(emptyData.id, 3);
  assert.equal(emptyData.info.channelFormat, 'float32');
  assert.equal(emptyData.info.nominalSrate, 1);
  assert.deepEqual(channelLabels(emptyData.info), ['ch:00']);
  assert.ok(emptyData.data instanceof Float32Array);
  assert.equal(emptyData.data.length, 0);
  assert.equal(footer(emptyData).offsets.at(-1)!.value, -1.128000440075994e-05);

  const counter = findStream(f, { id: 4 })!;
  assert.equal(counter.info.channelFormat, 'int32');
  assert.equal(counter.info.createdAt, 91690.553283142);
  assert.deepEqual(Array.from(counter.data as Int32Array), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  counter.timeStamps.forEach((t, i) => close(t, 91725.213948 + i, 1e-6, `counter ts[${i}]`));
  const fk = footer(counter);
  assert.equal(fk.first, 91725.21394789348);
  assert.equal(fk.last, 91735.21394789348);
  assert.equal(fk.count, 10);

  // The clock-offset tables of the README (time to 1e-6, values ≅ 0).
  const tables: Record<number, number[]> = {
    1: [91716.691546, 91721.691770, 91726.692053, 91731.692211, 91736.692330, 91741.692493, 91746.692620],
    2: [91716.691514, 91721.691774, 91726.692058, 91731.692287, 91736.692447, 91741.692554, 91746.692766],
    3: [91716.691530, 91721.691776, 91726.692048, 91731.692247, 91736.692367, 91741.692487, 91746.692694],
    4: [91716.691572, 91721.691773, 91726.692049, 91731.692249, 91736.692457, 91741.692557, 91746.692746],
  };
  for (const [id, times] of Object.entries(tables)) {
    const s = findStream(f, { id: Number(id) })!;
    assert.equal(s.clockOffsets.length, 7);
    s.clockOffsets.forEach((o, i) => { close(o.time, times[i], 1e-6, `stream ${id} offset ${i}`); close(o.value, 0, 1e-4); });
  }
});

test('clock_resets.xdf: headers, footers, markers, float32 EEG, 115 clock offsets across a reset', () => {
  const f = readXdf(RESETS);
  assert.deepEqual(f.warnings, []);
  const m = findStream(f, { type: 'Markers' })!;
  assert.equal(m.id, 1);
  assert.equal(m.info.name, 'MyMarkerStream');
  assert.equal(m.info.channelCount, 1);
  assert.equal(m.info.nominalSrate, 0);
  assert.equal(m.info.sourceId, 'myuidw43536');
  assert.equal(m.info.version, 110);
  assert.equal(m.info.createdAt, 564076.02850699995);
  assert.equal(m.info.uid, '1efcb4a6-8894-4014-b404-4b6f6b2205f2');
  assert.equal(m.info.sessionId, 'default');
  assert.equal(m.info.hostname, 'BP-LP-022');
  assert.equal(m.info.v4dataPort, 16572);
  assert.equal(m.info.v6servicePort, 16572);
  const md = m.data as string[][];
  assert.equal(md.length, 175);
  assert.deepEqual(md.slice(0, 5).map((r) => r[0]), ['XXX', 'Test', 'Blah', 'Test', 'Test-1-2-3']);
  assert.deepEqual(md.slice(-5).map((r) => r[0]), ['Test-1-2-3', 'Testtest', 'Test', 'Test-1-2-3', 'XXX']);
  [653153.212188, 653156.001700, 653158.235593, 653158.674409, 653161.255786].forEach((t, i) => close(m.timeStamps[i], t, 1e-6));
  [255.326187, 255.794242, 257.288286, 258.881481, 259.653828].forEach((t, i) => close(m.timeStamps[170 + i], t, 1e-6));
  const fm = footer(m);
  assert.equal(fm.first, 653153.2121885);
  assert.equal(fm.last, 259.6538279);
  assert.equal(fm.count, 175);
  assert.deepEqual(fm.offsets[0], { time: 653156.02616855, value: -652340.2838639501 });
  assert.deepEqual(fm.offsets.at(-1), { time: 264.6430016000002, value: 1121.165595 });
  assert.equal(m.clockOffsets.length, 115);
  [[653156.026169, -652340.284], [653161.027235, -652340.284], [653166.028073, -652340.284], [653171.029007, -652340.284], [653176.029238, -652340.284]]
    .forEach(([t, v], i) => { close(m.clockOffsets[i].time, t, 1e-6); close(m.clockOffsets[i].value, v, 1e-3); });
  [[244.642270, 1121.166], [249.642364, 1121.166], [254.642595, 1121.166], [259.642718, 1121.166], [264.643002, 1121.166]]
    .forEach(([t, v], i) => { close(m.clockOffsets[110 + i].time, t, 1e-6); close(m.clockOffsets[110 + i].value, v, 1e-3); });

  const b = findStream(f, { name: 'BioSemi' })!;
  assert.equal(b.id, 2);
  assert.equal(b.info.type, 'EEG');
  assert.equal(b.info.channelCount, 8);
  assert.equal(b.info.nominalSrate, 100);
  assert.equal(b.info.channelFormat, 'float32');
  assert.equal(b.info.sourceId, 'myuid34234');
  assert.equal(b.info.createdAt, 653103.26692229998);
  assert.equal(b.info.uid, 'fa3e14ab-b621-480e-a9d5-c740f0e47140');
  assert.equal(b.info.v4dataPort, 16573);
  assert.ok(b.data instanceof Float32Array);
  assert.equal(b.timeStamps.length, 27815);
  assert.equal(b.data.length, 27815 * 8);
  const first = [
    [0.142, 0.463, 0.354, 0.220, 0.761, 0.323, 0.312, 0.861],
    [0.311, 0.740, 0.949, 0.505, 0.034, 0.518, 0.326, 0.788],
    [0.611, 0.838, 0.780, 0.767, 0.065, 0.214, 0.044, 0.238],
    [0.732, 0.318, 0.249, 0.272, 0.923, 0.575, 0.177, 0.086],
    [0.863, 0.334, 0.301, 0.645, 1.000, 0.248, 0.664, 0.246],
  ];
  const last = [
    [0.418, 0.359, 0.277, 0.898, 0.627, 0.562, 0.021, 0.015],
    [0.061, 0.215, 0.190, 0.046, 0.938, 0.523, 0.931, 0.481],
    [0.792, 0.337, 0.299, 0.959, 0.023, 0.603, 0.620, 0.861],
    [0.890, 0.883, 0.638, 0.113, 0.022, 0.533, 0.604, 0.743],
    [0.873, 0.064, 0.684, 0.153, 0.306, 0.123, 0.711, 0.892],
  ];
  const r = rows(b);
  first.forEach((row, i) => row.forEach((v, k) => close(r[i][k], v, 5e-4, `row ${i} ch ${k}`)));
  last.forEach((row, i) => row.forEach((v, k) => close(r[27810 + i][k], v, 5e-4, `row ${27810 + i} ch ${k}`)));
  // The README's time-stamp column is pyxdf's dejittered output; the raw stamps are the footer's.
  const fb = footer(b);
  assert.equal(b.timeStamps[0], fb.first);
  assert.equal(b.timeStamps.at(-1), fb.last);
  assert.equal(fb.first, 653150.379117);
  assert.equal(fb.last, 261.9267033);
  assert.equal(fb.count, 27815);
  assert.deepEqual(fb.offsets[0], { time: 653156.0261441499, value: -652340.28383985 });
  assert.deepEqual(fb.offsets.at(-1), { time: 264.6385764000001, value: 1121.1656319 });
  assert.equal(b.clockOffsets.length, 115);
  [653156.026144, 653161.027186, 653166.028073, 653171.029031, 653176.029199].forEach((t, i) => close(b.clockOffsets[i].time, t, 1e-6));
  [244.637258, 249.637401, 254.637443, 259.638406, 264.638576].forEach((t, i) => close(b.clockOffsets[110 + i].time, t, 1e-6));
});

test('clock_resets.xdf with syncClocks: two segments, and the synced EEG clock runs forward through the reset', () => {
  const raw = readXdf(RESETS);
  const b0 = findStream(raw, { name: 'BioSemi' })!;
  assert.equal(clockSegments(b0.clockOffsets).length, 2);
  let rawJump = 0;
  for (let i = 1; i < b0.timeStamps.length; i++) rawJump = Math.min(rawJump, b0.timeStamps[i] - b0.timeStamps[i - 1]);
  assert.ok(rawJump < -600000, 'raw stamps jump back at the reset');

  const f = readXdf(RESETS, { syncClocks: true });
  const b = findStream(f, { name: 'BioSemi' })!;
  // The stream's clock reset during a 273 s pause in its data (the offsets kept coming, in the old clock, until
  // 653561 ≈ 1221 s recorder time): synced, the stamps run forward across the pause, and nowhere backwards.
  let resetAt = 0;
  for (let i = 1; i < b0.timeStamps.length; i++) if (b0.timeStamps[i] < b0.timeStamps[i - 1]) resetAt = i;
  let minStep = Infinity, maxOther = 0;
  for (let i = 1; i < b.timeStamps.length; i++) {
    const d = b.timeStamps[i] - b.timeStamps[i - 1];
    minStep = Math.min(minStep, d);
    if (i !== resetAt) maxOther = Math.max(maxOther, d);
  }
  assert.ok(minStep > 0, `synced stamps go back by ${-minStep} s`);
  assert.ok(maxOther < 1, `largest step away from the reset ${maxOther} s`);
  close(b.timeStamps[resetAt] - b.timeStamps[resetAt - 1], 273.56, 0.05);
  // First sample: raw + first segment's offset (≈ −652340.284).
  close(b.timeStamps[0], 653150.379117 - 652340.284, 2e-3);
  close(b.timeStamps.at(-1)!, 261.9267033 + 1121.1656, 2e-3);
  const m = findStream(f, { type: 'Markers' })!;
  close(m.timeStamps[0], 653153.2121885 - 652340.284, 2e-3);
  close(m.timeStamps.at(-1)!, 259.6538279 + 1121.1656, 2e-3);
  // Markers and EEG land on the same recorder clock: the synced ranges overlap.
  assert.ok(m.timeStamps[0] > b.timeStamps[0] && m.timeStamps.at(-1)! < b.timeStamps.at(-1)!);
});

test('onlyStreams keeps the selected streams and skips the others', () => {
  const f = readXdf(RESETS, { onlyStreams: (info) => info.type === 'EEG' });
  assert.deepEqual(f.streams.map((s) => s.info.name), ['BioSemi']);
  assert.deepEqual(f.warnings, []);
  assert.equal(f.streams[0].timeStamps.length, 27815);
});

test('gzip-compressed input (.xdfz) reads the same as the plain file', () => {
  const plain = readXdf(MINIMAL);
  const gz = readXdf(gzipSync(readFileSync(MINIMAL)));
  assert.deepEqual(gz.streams.map((s) => Array.from(s.timeStamps)), plain.streams.map((s) => Array.from(s.timeStamps)));
  assert.deepEqual(Array.from(gz.streams[0].data as Int16Array), Array.from(plain.streams[0].data as Int16Array));
});

test('not an XDF file: EXDF_NOT_XDF; missing file: ENOENT', () => {
  assert.throws(() => readXdf(new TextEncoder().encode('hello world')), { code: 'EXDF_NOT_XDF' });
  assert.throws(() => readXdf(new Uint8Array(0)), { code: 'EXDF_NOT_XDF' });
  assert.throws(() => readXdf(new TextEncoder().encode('XDF:')), { code: 'EXDF_NOT_XDF' });
  assert.throws(() => readXdf(Uint8Array.from([0x58, 0x44, 0x46, 0x3a, 0x07, 0x01, 0x02])), { code: 'EXDF_NOT_XDF' });
  assert.throws(() => readXdf(Uint8Array.from([0x1f, 0x8b, 0x00, 0x01])), { code: 'EXDF_DECOMPRESS' });
  assert.throws(() => readXdf('/nonexistent/dir/file.xdf'), { code: 'ENOENT' });
});

/** Offsets of every chunk in a well-formed file, with its tag. */
function chunkOffsets(bytes: Uint8Array): { at: number; tag: number; end: number }[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  let p = 4;
  while (p < bytes.length) {
    const w = bytes[p];
    const len = w === 1 ? bytes[p + 1] : w === 4 ? v.getUint32(p + 1, true) : Number(v.getBigUint64(p + 1, true));
    out.push({ at: p, tag: v.getUint16(p + 1 + w, true), end: p + 1 + w + len });
    p = p + 1 + w + len;
  }
  return out;
}

test('corrupted copies on disk: a smashed chunk header resyncs at the next Boundary, keeping the rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdf-corrupt-'));
  try {
    const orig = new Uint8Array(readFileSync(RESETS));
    const chunks = chunkOffsets(orig);
    const samples = chunks.filter((c) => c.tag === 3);
    const victim = samples[Math.floor(samples.length / 2)];
    const copy = orig.slice();
    copy[victim.at] = 0x07; // width byte: neither 1, 4 nor 8
    const file = join(dir, 'smashed.xdf');
    writeFileSync(file, copy);
    const f = readXdf(file);
    assert.ok(f.warnings.length >= 1);
    assert.match(f.warnings[0], new RegExp(`offset ${victim.at}\\b`));
    assert.match(f.warnings[0], /resynchronised/);
    const b = findStream(f, { name: 'BioSemi' })!;
    const m = findStream(f, { name: 'MyMarkerStream' })!;
    const lost = 27815 + 175 - b.timeStamps.length - m.timeStamps.length;
    assert.ok(lost > 0 && lost < 27815 / 4, `lost ${lost} samples`);
    // What was decoded is right: the first and last EEG rows are intact, footers present.
    close((sampleRow(b, 0) as Float32Array)[0], 0.142, 5e-4);
    close((sampleRow(b, b.timeStamps.length - 1) as Float32Array)[7], 0.892, 5e-4);
    assert.equal(footer(b).count, 27815);

    // A huge length in a middle chunk (high byte of the 4-byte length flipped).
    const copy2 = orig.slice();
    const v2 = samples[10];
    assert.equal(copy2[v2.at], 4);
    copy2[v2.at + 4] ^= 0x7f;
    writeFileSync(file, copy2);
    const f2 = readXdf(file);
    assert.ok(f2.warnings.some((w) => w.includes(`offset ${v2.at}`) && /past the end of the file/.test(w)), f2.warnings.join('\n'));
    assert.ok(findStream(f2, { name: 'BioSemi' })!.timeStamps.length > 27815 * 0.8);

    // Random bytes flipped in the middle third: never throws, everything before the damage is intact.
    const copy3 = orig.slice();
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const lo = Math.floor(orig.length / 3), hi = Math.floor((2 * orig.length) / 3);
    for (let k = 0; k < 200; k++) copy3[lo + Math.floor(rnd() * (hi - lo))] ^= 1 + Math.floor(rnd() * 255);
    writeFileSync(file, copy3);
    const f3 = readXdf(file);
    assert.ok(f3.warnings.length > 0);
    const b3 = findStream(f3, { name: 'BioSemi' })!;
    const before = chunks.filter((c) => c.tag === 3 && c.end <= lo).length;
    assert.ok(before > 0);
    const rb = rows(findStream(readXdf(RESETS), { name: 'BioSemi' })!);
    const r3 = rows(b3);
    for (let i = 0; i < 1000; i++) assert.deepEqual(r3[i], rb[i]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('truncated copy: cut in the middle of a Samples chunk keeps every whole sample before the cut', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xdf-trunc-'));
  try {
    const orig = new Uint8Array(readFileSync(RESETS));
    const chunks = chunkOffsets(orig);
    const eeg = readXdf(RESETS).streams.find((s) => s.info.name === 'BioSemi')!;
    // The last EEG Samples chunk in the first half of the file; cut it after header + 3.5 samples.
    const v = new DataView(orig.buffer);
    const target = chunks.filter((c) => c.tag === 3 && c.at < orig.length / 2 && v.getUint32(c.at + 1 + orig[c.at] + 2, true) === 2).at(-1)!;
    const contentAt = target.at + 1 + orig[target.at] + 2 + 4; // after tag and stream id
    const nInChunk = v.getUint32(contentAt + 1, true);
    assert.ok(nInChunk > 4);
    const sampleBytes = 1 + 8 + 32;
    const cut = contentAt + 5 + Math.floor(3.5 * sampleBytes);
    const file = join(dir, 'truncated.xdf');
    writeFileSync(file, orig.subarray(0, cut));
    const f = readXdf(file);
    const b = findStream(f, { name: 'BioSemi' })!;
    const before = chunks.filter((c) => c.end <= target.at && c.tag === 3 && v.getUint32(c.at + 1 + orig[c.at] + 2, true) === 2)
      .reduce((n, c) => n + v.getUint32(c.at + 1 + orig[c.at] + 2 + 4 + 1, true), 0);
    assert.equal(b.timeStamps.length, before + 3);
    assert.equal(b.footer, undefined);
    assert.ok(f.warnings.some((w) => /truncated|ends inside/.test(w) && w.includes(`offset ${target.at}`)), f.warnings.join('\n'));
    const full = rows(eeg);
    const got = rows(b);
    assert.deepEqual(got, full.slice(0, got.length));
    assert.deepEqual(Array.from(b.timeStamps), Array.from(eeg.timeStamps.subarray(0, got.length)));

    // Cut inside a chunk header (1 byte into the width+length) also reads cleanly up to there.
    writeFileSync(file, orig.subarray(0, target.at + 2));
    const f2 = readXdf(file);
    assert.equal(findStream(f2, { name: 'BioSemi' })!.timeStamps.length, before);
    assert.ok(f2.warnings.some((w) => w.includes(`offset ${target.at}`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('contdata95.xdf: three streams, shapes, first and last values as in contdata95.mat', () => {
  const f = readXdf(CONTDATA);
  assert.deepEqual(f.warnings, []);
  assert.equal(f.streams.length, 3);
  const y = findStream(f, { type: 'SpikeCounts' })!;
  assert.equal(y.info.name, 'M1-binned');
  assert.equal(y.info.channelCount, 95);
  assert.equal(y.info.channelFormat, 'int16');
  assert.equal(y.info.nominalSrate, 20);
  assert.equal(xmlPath(y.info.desc, 'binning', 'bin_ms')?.text, '50');
  assert.equal(channelLabels(y.info)?.length, 95);
  assert.equal(y.timeStamps.length, 31413);
  assert.ok(y.data instanceof Int16Array && y.data.length === 31413 * 95);
  assert.equal(y.timeStamps[0], 1000);
  close(y.timeStamps.at(-1)!, 1000 + 31412 * 0.05, 1e-6);
  // Values from contdata95.mat (scipy.io.loadmat): Y[0, :10], Y[-1, -10:], sum(Y).
  assert.deepEqual(Array.from(sampleRow(y, 0) as Int16Array).slice(0, 10), [3, 0, 0, 2, 0, 0, 1, 0, 1, 0]);
  assert.deepEqual(Array.from(sampleRow(y, 31412) as Int16Array).slice(-10), [1, 0, 1, 2, 0, 2, 1, 12, 1, 5]);
  let sum = 0;
  for (let i = 0; i < y.data.length; i++) sum += (y.data as Int16Array)[i];
  assert.equal(sum, 3813312);

  const x = findStream(f, { type: 'Kinematics' })!;
  assert.equal(x.info.name, 'Hand');
  assert.deepEqual(channelLabels(x.info), ['pos_x', 'pos_y', 'vel_x', 'vel_y']);
  assert.equal(x.timeStamps.length, 31413);
  assert.deepEqual(Array.from(x.timeStamps.subarray(0, 5)), Array.from(y.timeStamps.subarray(0, 5)));
  [-10.76120044103489, 1.6771234454988082, 0, 0].forEach((v, k) => close((sampleRow(x, 0) as Float32Array)[k], v, 1e-5));
  [89.87821840622644, -22.907577253620794, 34.04160791366351, -40.60280967121848].forEach((v, k) => close((sampleRow(x, 31412) as Float32Array)[k], v, 1e-4));

  const t = findStream(f, { name: 'Trials' })!;
  assert.equal(t.info.type, 'Markers');
  assert.equal(t.timeStamps.length, 1456);
  assert.ok((t.data as string[][]).every((r) => r[0] === 'trial_start'));
  assert.ok(y.clockOffsets.length > 300 && x.clockOffsets.length === y.clockOffsets.length);
  assert.equal(footer(y).count, 31413);
});

test('sampleRow range check', () => {
  const f = readXdf(MINIMAL);
  assert.throws(() => sampleRow(f.streams[0], 9), RangeError);
  assert.throws(() => sampleRow(f.streams[0], -1), RangeError);
});

/** A chunk with an explicit length width (1, 4 or 8) so every form a writer may use is exercised. */
function rawChunk(width: 1 | 4 | 8, tag: number, content: Uint8Array): Uint8Array {
  const len = content.length + 2;
  const out = new Uint8Array(1 + width + len);
  const v = new DataView(out.buffer);
  out[0] = width;
  if (width === 1) out[1] = len;
  else if (width === 4) v.setUint32(1, len, true);
  else v.setBigUint64(1, BigInt(len), true);
  v.setUint16(1 + width, tag, true);
  out.set(content, 3 + width);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

test('hand-built file: 1/4/8-byte chunk lengths and sample counts, unknown tags skipped, samples before their header', () => {
  const enc = new TextEncoder();
  const withId = (id: number, body: Uint8Array): Uint8Array => { const b = new Uint8Array(4 + body.length); new DataView(b.buffer).setUint32(0, id, true); b.set(body, 4); return b; };
  const header = enc.encode('<?xml version="1.0"?><info><name>H</name><type>T</type><channel_count>2</channel_count><nominal_srate>4</nominal_srate><channel_format>double64</channel_format></info>');
  // Two samples: an explicit stamp, then a deduced one; NumSamples in the 8-byte varlen form.
  const samples = new Uint8Array(4 + 9 + (1 + 8 + 16) + (1 + 16));
  const v = new DataView(samples.buffer);
  v.setUint32(0, 9, true);
  samples[4] = 8; v.setBigUint64(5, 2n, true);
  let p = 13;
  samples[p] = 8; v.setFloat64(p + 1, 50.5, true); v.setFloat64(p + 9, 1.5, true); v.setFloat64(p + 17, -2.25, true); p += 25;
  samples[p] = 0; v.setFloat64(p + 1, 3e300, true); v.setFloat64(p + 9, Number.MIN_VALUE, true);
  const orphan = withId(77, Uint8Array.of(1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  const bytes = concat(
    enc.encode('XDF:'),
    rawChunk(8, 1, enc.encode('<?xml version="1.0"?><info><version>1.0</version></info>')),
    rawChunk(4, 3, orphan), // a stream never declared
    rawChunk(8, 2, withId(9, header)),
    rawChunk(1, 42, Uint8Array.of(1, 2, 3)), // unknown tag
    rawChunk(8, 3, samples),
    rawChunk(4, 4, (() => { const b = new Uint8Array(20); const d = new DataView(b.buffer); d.setUint32(0, 9, true); d.setFloat64(4, 51, true); d.setFloat64(12, 0.25, true); return b; })()),
  );
  const f = readXdf(bytes);
  assert.equal(f.streams.length, 1);
  const s = f.streams[0];
  assert.equal(s.id, 9);
  assert.deepEqual(Array.from(s.timeStamps), [50.5, 50.75]);
  assert.deepEqual(Array.from(s.data as Float64Array), [1.5, -2.25, 3e300, Number.MIN_VALUE]);
  assert.deepEqual(s.clockOffsets, [{ time: 51, value: 0.25 }]);
  assert.equal(s.footer, undefined);
  assert.equal(f.warnings.length, 2, f.warnings.join('\n'));
  assert.match(f.warnings[0], /stream 77, which has no header/);
  assert.match(f.warnings[1], /unknown chunk tag 42 at offset \d+ skipped/);
  const synced = readXdf(bytes, { syncClocks: true }).streams[0];
  assert.deepEqual(Array.from(synced.timeStamps), [50.75, 51]);
});

test('syncClocks: a robust linear fit of drifting offsets, unmoved by one outlier', async () => {
  const { writeXdf } = await import('../../streams/xdf/writer.js');
  const { makeStreamInfo } = await import('../../streams/stream-info.js');
  const n = 2000;
  const ts = Float64Array.from({ length: n }, (_, i) => 100 + i * 0.05);
  // Offset drifts linearly (clock rate error 20 ppm) from 3.0 s; one measurement is off by 0.5 s.
  const offsets = Array.from({ length: 21 }, (_, k) => ({ time: 100 + 5 * k, value: 3 + 2e-5 * (100 + 5 * k) + (k === 7 ? 0.5 : 0) }));
  const bytes = writeXdf([{ info: makeStreamInfo({ name: 'd', channelCount: 1, channelFormat: 'float32', nominalSrate: 20 }), timeStamps: ts, data: new Float32Array(n), clockOffsets: offsets }], { datetime: null });
  const s = readXdf(bytes, { syncClocks: true }).streams[0];
  for (let i = 0; i < n; i += 50) close(s.timeStamps[i], ts[i] + 3 + 2e-5 * ts[i], 1e-6, `ts[${i}]`);
});

test('every stream-header field the example README lists', () => {
  type H = [name: string, type: string, count: number, srate: number, format: string, sourceId: string, createdAt: number, uid: string, hostname: string, ports: [number, number, number, number]];
  const expected: Record<string, Record<number, H>> = {
    [MINIMAL]: {
      0: ['SendDataC', 'EEG', 3, 10, 'int16', '', 50942.723319709003, 'xdfwriter_11_int', '', [0, 0, 0, 0]],
      46202862: ['SendDataString', 'StringMarker', 1, 10, 'string', '', 50942.723319709003, 'xdfwriter_11_str', '', [0, 0, 0, 0]],
    },
    [RESETS]: {
      1: ['MyMarkerStream', 'Markers', 1, 0, 'string', 'myuidw43536', 564076.02850699995, '1efcb4a6-8894-4014-b404-4b6f6b2205f2', 'BP-LP-022', [16572, 16572, 16572, 16572]],
      2: ['BioSemi', 'EEG', 8, 100, 'float32', 'myuid34234', 653103.26692229998, 'fa3e14ab-b621-480e-a9d5-c740f0e47140', 'BP-LP-022', [16573, 16573, 16573, 16573]],
    },
    [EMPTY]: {
      1: ['ctrl', 'control', 1, 0, 'string', 'kassia', 91684.87631725401, '4740b9ba-d45d-4e2b-9a4b-ee966d9b56df', 'kassia', [16572, 16572, 0, 0]],
      2: ['Empty marker stream: test stream 0 counter', 'data', 1, 0, 'string', 'test_stream.py:191748:0', 91696.18816467900, '6f7e0288-10b8-4f48-89f8-0381ce20922f', 'kassia', [16574, 16574, 0, 0]],
      3: ['Empty data stream: test stream 0 counter', 'data', 1, 1, 'float32', 'test_stream.py:191790:0', 91699.83395166400, 'ff430a18-9954-43f5-bb5f-f5589e3aa6a2', 'kassia', [16575, 16575, 0, 0]],
      4: ['Data stream: test stream 0 counter', 'data', 1, 1, 'int32', 'test_stream.py:191695:0', 91690.55328314200, 'bc60b7bb-e632-407c-b3db-e42f9cad4179', 'kassia', [16573, 16573, 0, 0]],
    },
  };
  for (const [file, streams] of Object.entries(expected)) {
    const f = readXdf(file);
    assert.equal(f.streams.length, Object.keys(streams).length);
    for (const [id, h] of Object.entries(streams)) {
      const i = findStream(f, { id: Number(id) })!.info;
      assert.deepEqual(
        [i.name, i.type, i.channelCount, i.nominalSrate, i.channelFormat, i.sourceId, i.createdAt, i.uid, i.hostname, [i.v4dataPort, i.v4servicePort, i.v6dataPort, i.v6servicePort]],
        h, `${file} stream ${id}`);
      assert.equal(i.version, 110);
      assert.equal(i.sessionId, 'default');
      assert.equal(i.v4address, '');
      assert.equal(i.v6address, '');
    }
  }
});
