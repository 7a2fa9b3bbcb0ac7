import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, map, take, toArray } from 'rxjs';
import { binAt, checkSpeed, loadRecording, releaseMs, replayOptionsFromUri, replaySource, sliceRecording } from '../../streams/replay.js';
import { openSource } from '../../daemon/endpoints.js';
import { silentLogger } from '../../daemon/log.js';
import type { SpikeBin } from '../../streams/types.js';
import { makeSession, writeSession } from './replay-fixture.js';
import { tempDir } from '../support/net.js';

const { dir } = tempDir();
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Emitted bins are reused by the source: copy each as it comes.
const copy = map((b: SpikeBin) => ({ ...b, counts: Array.from(b.counts) }));

test('loadRecording: spike stream, bin width from <binning>, velocity channels picked by label', async () => {
  const p = writeSession(dir, 'a.xdf', { bins: 30, channels: 5, binMs: 20 });
  const ref = makeSession({ bins: 30, channels: 5, binMs: 20 });
  const rec = await loadRecording(p);
  assert.equal(rec.name, 'M1-binned');
  assert.equal(rec.channels, 5);
  assert.equal(rec.bins, 30);
  assert.equal(rec.binMs, 20);
  assert.deepEqual(rec.labels, ['ch0', 'ch1', 'ch2', 'ch3', 'ch4']);
  assert.deepEqual(Array.from(rec.counts), Array.from(ref.counts));
  assert.deepEqual(rec.kinematics!.labels, ['vel_x', 'vel_y']);
  for (let i = 0; i < 60; i++) assert.ok(Math.abs(rec.kinematics!.velocity[i] - ref.velocity[i]) < 1e-6);
});

test('speed max emits every bin once, in order, seq 0…n−1, with the recorded counts and timestamps', async () => {
  const p = writeSession(dir, 'b.xdf', { bins: 500, channels: 3, binMs: 10 });
  const ref = makeSession({ bins: 500, channels: 3, binMs: 10 });
  const bins = await firstValueFrom(replaySource({ path: p, speed: 'max' }).pipe(copy, toArray()));
  assert.equal(bins.length, 500);
  bins.forEach((b, i) => {
    assert.equal(b.seq, i);
    assert.equal(b.timestamp, ref.timestamps[i]);
    assert.deepEqual(b.counts, Array.from(ref.counts.subarray(i * 3, i * 3 + 3)));
    assert.equal(b.binMs, 10);
    assert.equal(b.streamId, 'M1-binned');
    assert.ok(b.receivedNs > 0);
  });
});

test('paced replay releases every bin in order and never before its scheduled time', async () => {
  const p = writeSession(dir, 'c.xdf', { bins: 25, channels: 2, binMs: 8 });
  const rec = await loadRecording(p);
  for (const speed of [1, 4]) {
    const start = performance.now();
    const got: { seq: number; at: number }[] = [];
    await new Promise<void>((resolve, reject) =>
      replaySource({ path: p, speed }).subscribe({ next: (b) => got.push({ seq: b.seq, at: performance.now() - start }), complete: resolve, error: reject }));
    assert.deepEqual(got.map((g) => g.seq), Array.from({ length: 25 }, (_, i) => i));
    // The schedule is relative to the pacer's own start, which is after `start`: a release can only be later.
    got.forEach((g) => assert.ok(g.at >= releaseMs(rec, g.seq, speed), `bin ${g.seq} released at ${g.at} ms, due ${releaseMs(rec, g.seq, speed)} ms`));
  }
});

test('loop continues seq and timestamps across passes', async () => {
  const p = writeSession(dir, 'd.xdf', { bins: 4, channels: 2, binMs: 50 });
  const ref = makeSession({ bins: 4, channels: 2, binMs: 50 });
  const bins = await firstValueFrom(replaySource({ path: p, speed: 'max', loop: true }).pipe(take(10), copy, toArray()));
  assert.deepEqual(bins.map((b) => b.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const period = ref.timestamps[3] - ref.timestamps[0] + 0.05;
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(bins[i].timestamp - (ref.timestamps[i % 4] + Math.floor(i / 4) * period)) < 1e-9);
    assert.deepEqual(bins[i].counts, Array.from(ref.counts.subarray((i % 4) * 2, (i % 4) * 2 + 2)));
  }
  for (let i = 1; i < 10; i++) assert.ok(bins[i].timestamp > bins[i - 1].timestamp);
});

test('unsubscribing stops the replay', async () => {
  const p = writeSession(dir, 'e.xdf', { bins: 100, channels: 2, binMs: 5 });
  let n = 0;
  const sub = replaySource({ path: p, speed: 1 }).subscribe(() => {
    if (++n === 3) sub.unsubscribe();
  });
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(n, 3);
});

test('bad options and recordings are refused with a code that names the problem', async () => {
  assert.throws(() => checkSpeed(0), { code: 'EREPLAYOPTS' });
  assert.throws(() => checkSpeed('fast'), { code: 'EREPLAYOPTS' });
  assert.throws(() => replaySource({ path: '', speed: 1 }), { code: 'EREPLAYOPTS' });
  const p = writeSession(dir, 'f.xdf', { bins: 3, channels: 2, binMs: 5 });
  await assert.rejects(loadRecording(p, 'EEG'), (e: Error & { code?: string }) => e.code === 'ENOSTREAM' && /M1-binned/.test(e.message));
  await assert.rejects(firstValueFrom(replaySource({ path: join(dir, 'missing.xdf'), speed: 1 })), { code: 'ENORECORDING' });
  const o = replayOptionsFromUri(new URL(`replay://${p}?speed=max&loop=1&stream=M1-binned`));
  assert.deepEqual(o, { path: p, speed: 'max', stream: 'M1-binned', loop: true });
  assert.equal(replayOptionsFromUri(new URL(`replay://${p}`)).speed, 1);
});

test('the replay: endpoint checks the recording against the model before starting', async () => {
  const p = writeSession(dir, 'g.xdf', { bins: 20, channels: 4, binMs: 20 });
  const ctx = (n_in: number, bin_ms: number) => ({
    config: { n_in, bin_ms, velocity_labels: ['vel_x', 'vel_y'], channel_labels: [] as string[] },
    modelId: 'test',
    log: silentLogger,
    reject: () => {},
  });
  await assert.rejects(openSource(`replay://${p}?speed=max`, ctx(5, 20)), (e: Error & { code?: string }) => e.code === 'EBADSTREAM' && /4 channels.*expects 5/.test(e.message));
  await assert.rejects(openSource(`replay://${p}?speed=max`, ctx(4, 50)), (e: Error & { code?: string }) => e.code === 'EBADSTREAM' && /20 ms.*50 ms/.test(e.message));
  const src = await openSource(`replay://${p}?speed=max`, ctx(4, 20));
  const bins = await firstValueFrom(src.pipe(toArray()));
  assert.equal(bins.length, 20);
});

test('sliceRecording keeps bins [from, to) with their counts, timestamps and velocity', async () => {
  const p = writeSession(dir, 'h.xdf', { bins: 50, channels: 3, binMs: 20 });
  const rec = await loadRecording(p);
  const s = sliceRecording(rec, 40, 50);
  assert.equal(s.bins, 10);
  assert.equal(s.timestamps[0], rec.timestamps[40]);
  assert.deepEqual(Array.from(binAt(s, 0).counts), Array.from(binAt(rec, 40).counts));
  assert.equal(binAt(s, 0).seq, 0, 'a slice replays from seq 0');
  assert.deepEqual(Array.from(s.kinematics!.velocity.subarray(0, 2)), Array.from(rec.kinematics!.velocity.subarray(80, 82)));
  assert.throws(() => sliceRecording(rec, 50, 60), { code: 'EEMPTY' });
});
