/** Two recordings of one session merged (streams/xdf/merge.ts), written and read back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readXdf } from '../../streams/xdf/reader.js';
import { mergeXdf, mergeXdfFiles } from '../../streams/xdf/merge.js';
import { writeXdf } from '../../streams/xdf/writer.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { tempDir } from '../support/net.js';

test('merging keeps every stream, its samples, stamps and clock offsets, in file order with ids 1, 2, 3', () => {
  const tmp = tempDir('langevind-replaymetrics-merge-');
  try {
    const a = join(tmp.dir, 'daemon.xdf'), b = join(tmp.dir, 'task.xdf');
    const counts = makeStreamInfo({ name: 'M1-binned', type: 'SpikeCounts', channelCount: 2, channelFormat: 'int16', nominalSrate: 50, desc: describeChannels(['a', 'b'], { binMs: 20 }) });
    const cursor = makeStreamInfo({ name: 'langevind-cursor', type: 'Cursor', channelCount: 2, channelFormat: 'float32', nominalSrate: 50 });
    const markers = makeStreamInfo({ name: 'langevind-task-markers', type: 'Markers', channelCount: 1, channelFormat: 'string', nominalSrate: 0 });
    writeFileSync(a, writeXdf([{ info: counts, timeStamps: [1, 1.02, 1.04], data: Int16Array.of(1, 2, 3, 4, 5, 6), clockOffsets: [{ time: 1, value: -0.5 }] }]));
    writeFileSync(b, writeXdf([
      { info: cursor, timeStamps: [1, 1.02, 1.04], data: Float32Array.of(0, 0, 0.5, 0.25, 1, 0.5) },
      { info: markers, timeStamps: [1.02], data: [['target_on trial=0 target=1 x=1 y=0 r=1']] },
    ]));
    const merged = mergeXdf([readXdf(a), readXdf(b)]);
    assert.deepEqual(merged.streams.map((s) => [s.id, s.info.name]), [[1, 'M1-binned'], [2, 'langevind-cursor'], [3, 'langevind-task-markers']]);
    const back = readXdf(mergeXdfFiles([a, b]));
    assert.deepEqual(back.warnings, []);
    assert.deepEqual(back.streams.map((s) => [s.id, s.info.name, s.info.type, Array.from(s.timeStamps)]), [
      [1, 'M1-binned', 'SpikeCounts', [1, 1.02, 1.04]], [2, 'langevind-cursor', 'Cursor', [1, 1.02, 1.04]], [3, 'langevind-task-markers', 'Markers', [1.02]],
    ]);
    assert.deepEqual(Array.from(back.streams[0].data as Int16Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(back.streams[1].data as Float32Array), [0, 0, 0.5, 0.25, 1, 0.5]);
    assert.deepEqual(back.streams[2].data, [['target_on trial=0 target=1 x=1 y=0 r=1']]);
    assert.deepEqual(back.streams[0].clockOffsets, [{ time: 1, value: -0.5 }]);
    assert.throws(() => mergeXdf([]), RangeError);
  } finally {
    tmp.cleanup();
  }
});
