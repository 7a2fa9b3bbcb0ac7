import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Recorder } from '../../streams/recorder.js';
import { loadRecording } from '../../streams/replay.js';
import { binMs, channelLabels } from '../../streams/stream-info.js';
import { path as xmlPath } from '../../streams/xml.js';
import { readXdf } from '../../streams/xdf/reader.js';
import type { Decoded, SpikeBin } from '../../streams/types.js';
import { tempDir } from '../support/net.js';

const { dir } = tempDir('langevind-recorder-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const C = 6;
const N = 700; // more than the initial buffer, so growth is exercised between drains

function bins(): { bins: SpikeBin[]; decs: Decoded[] } {
  const bins: SpikeBin[] = [];
  const decs: Decoded[] = [];
  for (let i = 0; i < N; i++) {
    const counts = Array.from({ length: C }, (_, c) => (i * 13 + c * 5) % 17);
    bins.push({ seq: i, timestamp: 500 + i * 0.001, counts, binMs: 1, streamId: 'rig', receivedNs: 1e12 + i * 1e6, receivedLslTime: 1000 + i * 1e-3 });
    decs.push({ seq: i, timestamp: 500 + i * 0.001, velocity: Float32Array.from([i / 10, -i / 20]), receivedNs: 1e12 + i * 1e6, receivedLslTime: 1000 + i * 1e-3, decodedNs: 1e12 + i * 1e6 + 2e5, sentNs: 1e12 + i * 1e6 + 2.5e5, modelId: 'abc123' });
  }
  return { bins, decs };
}

async function record(file: string): Promise<void> {
  const rec = await Recorder.open(file, {
    input: { name: 'M1-binned', channelLabels: Array.from({ length: C }, (_, c) => `e${c}`), binMs: 1 },
    output: { velocityLabels: ['vel_x', 'vel_y'], modelId: 'abc123' },
    drainMs: 20,
  });
  const { bins: bs, decs } = bins();
  const reused = new Float32Array(2);
  for (let i = 0; i < N; i++) {
    rec.recordBin(bs[i]);
    // The daemon reuses its Decoded object: the recorder must copy.
    reused.set(decs[i].velocity);
    rec.recordDecoded({ ...decs[i], velocity: reused });
    reused.fill(NaN);
    if (i === 300) {
      const bad = Float64Array.from(bs[i].counts as number[]);
      bad[2] = NaN;
      rec.recordReject({ kind: 'counts', detail: 'counts[2] = NaN', receivedNs: 5e12, bin: { ...bs[i], seq: 301, timestamp: 500.3005, counts: bad } });
      bad.fill(0); // the daemon reuses its bins too
      rec.recordReject({ kind: 'undecodable', detail: 'SpikeBin: truncated', receivedNs: 6e12, raw: [Buffer.from('spikes'), Uint8Array.of(1, 2, 3)] });
      rec.recordMarker({ event: 'model_swapped', model_id: 'def456' });
    }
    if (i % 200 === 199) await new Promise((r) => setTimeout(r, 30));
  }
  await rec.close();
}

test('recorder round trip through the XDF reader: counts, receipts, decodes, metadata', async () => {
  const file = join(dir, 'rt.xdf');
  await record(file);
  const { streams } = readXdf(file);
  assert.equal(streams.length, 5);
  const [counts, receipts, decoded, rejected, markers] = streams;
  assert.equal(counts.info.type, 'SpikeCounts');
  assert.equal(counts.info.name, 'M1-binned');
  assert.equal(counts.info.channelFormat, 'int32');
  assert.equal(counts.info.nominalSrate, 1000);
  assert.equal(binMs(counts.info), 1);
  assert.deepEqual(channelLabels(counts.info), ['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
  assert.equal(receipts.info.type, 'SpikeReceipt');
  assert.deepEqual(channelLabels(receipts.info), ['seq', 'received_ns']);
  assert.equal(decoded.info.type, 'Decoded');
  assert.deepEqual(channelLabels(decoded.info), ['vel_x', 'vel_y', 'seq', 'received_ns', 'decoded_ns', 'sent_ns']);
  assert.equal(xmlPath(decoded.info.desc, 'model_id')?.text, 'abc123');
  const ref = bins();
  for (const s of [counts, receipts, decoded]) assert.equal(s.timeStamps.length, N, `${s.info.name}: every sample`);
  assert.equal(rejected.info.type, 'InputRejects');
  assert.equal(rejected.info.name, 'M1-binned-rejected');
  assert.equal(rejected.info.channelFormat, 'string');
  assert.deepEqual(Array.from(rejected.timeStamps), [500.3005, ref.bins[300].timestamp]);
  const msgs = (rejected.data as string[][]).map((row) => JSON.parse(row[0]) as Record<string, unknown>);
  assert.deepEqual(msgs[0], { kind: 'counts', detail: 'counts[2] = NaN', received_ns: 5e12, seq: 301, timestamp: 500.3005, stream_id: 'rig', bin_ms: 1, counts: [...(ref.bins[300].counts as number[]).slice(0, 2), 'NaN', ...(ref.bins[300].counts as number[]).slice(3)] });
  assert.deepEqual(msgs[1], { kind: 'undecodable', detail: 'SpikeBin: truncated', received_ns: 6e12, frames_base64: ['c3Bpa2Vz', 'AQID'] });
  assert.equal(markers.info.type, 'Markers');
  assert.equal(markers.info.name, 'langevind-markers');
  assert.deepEqual(Array.from(markers.timeStamps), [ref.bins[300].timestamp]);
  assert.deepEqual((markers.data as string[][]).map((row) => JSON.parse(row[0]) as unknown), [{ event: 'model_swapped', model_id: 'def456' }]);
  const cd = counts.data as Int32Array;
  const rd = receipts.data as Float64Array;
  const dd = decoded.data as Float64Array;
  for (let i = 0; i < N; i++) {
    assert.equal(counts.timeStamps[i], ref.bins[i].timestamp);
    assert.deepEqual(Array.from(cd.subarray(i * C, (i + 1) * C)), ref.bins[i].counts);
    assert.deepEqual([rd[2 * i], rd[2 * i + 1]], [i, ref.bins[i].receivedNs]);
    const d = ref.decs[i];
    assert.deepEqual(Array.from(dd.subarray(i * 6, i * 6 + 6)), [Math.fround(i / 10), Math.fround(-i / 20), i, d.receivedNs, d.decodedNs, d.sentNs]);
    assert.equal(decoded.timeStamps[i], d.timestamp);
  }
  assert.ok(counts.footer, 'footers written');
});

test('a recording can be replayed as it is', async () => {
  const file = join(dir, 'again.xdf');
  await record(file);
  const rec = await loadRecording(file);
  assert.equal(rec.name, 'M1-binned');
  assert.equal(rec.bins, N);
  assert.equal(rec.binMs, 1);
  assert.equal(rec.channels, C);
});

test('bad recorder options are refused with ERECORDEROPTS', async () => {
  const out = { velocityLabels: ['vel_x'], modelId: 'm' };
  await assert.rejects(Recorder.open(join(dir, 'x.xdf'), { input: { name: '', channelLabels: ['a'], binMs: 1 }, output: out }), { code: 'ERECORDEROPTS' });
  await assert.rejects(Recorder.open(join(dir, 'x.xdf'), { input: { name: 'a', channelLabels: [], binMs: 1 }, output: out }), { code: 'ERECORDEROPTS' });
  await assert.rejects(Recorder.open(join(dir, 'x.xdf'), { input: { name: 'a', channelLabels: ['a'], binMs: 0 }, output: out }), { code: 'ERECORDEROPTS' });
});

/** libxdf (xdf-modules/libxdf, Debian's libxdf-dev): the C++ reader other XDF tools build on. */
const LIBXDF_PROGRAM = `#include <xdf.h>
#include <cstdio>
int main(int argc, char** argv) {
  Xdf x;
  if (x.load_xdf(argv[1]) != 0) return 2;
  for (auto& s : x.streams) {
    std::printf("S\\t%s\\t%s\\t%s\\t%d\\t%zu", s.info.name.c_str(), s.info.type.c_str(), s.info.channel_format.c_str(), s.info.channel_count, s.time_stamps.size());
    std::printf("\\t%.6f", s.time_stamps.size() > 1 ? s.time_stamps[1] : -1.0);
    for (auto& ch : s.time_series) std::printf("\\t%.9g", ch.size() > 1 ? (double)ch[1] : -1.0);
    std::printf("\\n");
  }
  return 0;
}
`;

function buildLibxdfReader(): string | undefined {
  const exe = join(dir, 'libxdf-read');
  writeFileSync(exe + '.cpp', LIBXDF_PROGRAM);
  const r = spawnSync('g++', ['-O1', '-std=c++17', exe + '.cpp', '-o', exe, '-lxdf'], { stdio: 'ignore' });
  return r.status === 0 ? exe : undefined;
}
const libxdfReader = buildLibxdfReader();

test('libxdf reads the recording (independent C++ reader)', { skip: libxdfReader ? false : 'needs g++ and Debian\'s libxdf-dev' }, async () => {
  const file = join(dir, 'libxdf.xdf');
  await record(file);
  const out = execFileSync(libxdfReader!, [file]).toString();
  const rows = out.split('\n').filter((l) => l.startsWith('S\t')).map((l) => l.split('\t').slice(1));
  const byName = Object.fromEntries(rows.map((r) => [r[0], r]));
  const ref = bins();
  assert.deepEqual(byName['M1-binned'].slice(0, 5), ['M1-binned', 'SpikeCounts', 'int32', String(C), String(N)]);
  assert.equal(Number(byName['M1-binned'][5]), ref.bins[1].timestamp);
  assert.deepEqual(byName['M1-binned'].slice(6).map(Number), ref.bins[1].counts);
  assert.deepEqual(byName['M1-binned-receipt'].slice(1, 5), ['SpikeReceipt', 'double64', '2', String(N)]);
  const dec = byName['langevind-decoded'];
  assert.deepEqual(dec.slice(1, 5), ['Decoded', 'double64', '6', String(N)]);
  // libxdf holds values as float: velocity and seq survive exactly, ns stamps only to float precision.
  assert.deepEqual(dec.slice(6, 9).map((x) => Math.fround(Number(x))), [Math.fround(0.1), Math.fround(-0.05), 1]);
});
