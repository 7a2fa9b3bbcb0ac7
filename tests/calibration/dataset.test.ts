import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadDataset } from '../../calibration/dataset.js';
import { calibrate } from '../../calibration/pipeline.js';
import { writeRecording } from './helpers.js';
import { tempDir } from '../support/net.js';

const { dir } = tempDir('langevind-cal-');
const rejects = (fn: () => unknown, code: string, re: RegExp): void => {
  assert.throws(fn, (e: Error & { code?: string }) => { assert.equal(e.code, code, e.message); assert.match(e.message, re); return true; });
};

describe('calibration dataset: alignment and bad input', () => {
  test('aligned recording loads with every bin labelled', () => {
    const p = writeRecording(dir, 'ok.xdf', { bins: 200, channels: 6 });
    const ds = loadDataset(p);
    assert.equal(ds.counts.rows, 200);
    assert.equal(ds.counts.cols, 6);
    assert.deepEqual(ds.velocityLabels, ['vel_x', 'vel_y']);
    assert.equal(ds.binMs, 20);
    assert.ok(ds.labelled.every(Boolean));
    assert.deepEqual(ds.notes, []);
    assert.ok(Math.abs(ds.velocity.data[2 * 10] - Math.sin(1.5)) < 1e-6);
  });

  test('a missing stream is named, with the streams that exist', () => {
    const p = writeRecording(dir, 'nobeh.xdf', { bins: 50, channels: 3, omitBehaviour: true });
    rejects(() => loadDataset(p), 'ENOSTREAM', /no behaviour stream named or typed "Kinematics".*"M1" \(type SpikeCounts\)/);
    rejects(() => loadDataset(p, { spikes: 'EEG' }), 'ENOSTREAM', /no spike stream named or typed "EEG"/);
  });

  test('no velocity channels: the error lists the channels', () => {
    const p = writeRecording(dir, 'labels.xdf', { bins: 50, channels: 3, behaviourLabels: ['x', 'y'] });
    rejects(() => loadDataset(p), 'ENOCHANNEL', /no channel matching vel_\*; its channels: x, y/);
    assert.deepEqual(loadDataset(p, { velocityChannels: 'x,y' }).velocityLabels, ['x', 'y']);
  });

  test('clocks that do not overlap are refused', () => {
    const p = writeRecording(dir, 'apart.xdf', { bins: 50, channels: 3, behaviourShift: 500 });
    rejects(() => loadDataset(p), 'EALIGN', /do not overlap in time/);
  });

  test('mismatched lengths and offset clocks: aligned by timestamp, drops reported', () => {
    // Behaviour starts 10 bins late and has 30 fewer samples.
    const p = writeRecording(dir, 'shift.xdf', { bins: 200, channels: 4, behaviourShift: 0.2, behaviourBins: 170 });
    const ds = loadDataset(p);
    assert.equal(ds.counts.rows, 170);
    assert.ok(ds.notes.some((n) => /dropped 10 spike bins before/.test(n)), ds.notes.join('; '));
    assert.ok(ds.notes.some((n) => /dropped 20 spike bins after/.test(n)), ds.notes.join('; '));
    // Bin 10 of the spikes meets behaviour sample 0.
    assert.ok(Math.abs(ds.velocity.data[0] - 0) < 1e-6 && Math.abs(ds.velocity.data[1] - 1) < 1e-6);
  });

  test('NaN behaviour: bins kept as input, left out of fits, reported', () => {
    const p = writeRecording(dir, 'nan.xdf', { bins: 100, channels: 4, nanBins: [5, 6, 50] });
    const ds = loadDataset(p);
    assert.equal(ds.counts.rows, 100);
    assert.equal(ds.labelled.filter((x) => !x).length, 3);
    assert.equal(ds.labelled[5], false);
    assert.ok(ds.notes.some((n) => /3 spike bins have NaN/.test(n)));
  });

  test('an unreadable file is a clear error', () => {
    rejects(() => loadDataset(`${dir}/absent.xdf`), 'EBADDATA', /cannot read recording/);
  });

  test('too little data for the held-out split is refused before training', async () => {
    const p = writeRecording(dir, 'short.xdf', { bins: 120, channels: 4 });
    await assert.rejects(calibrate({ recording: p, out: `${dir}/m.safetensors`, log: () => {}, progress: false, backend: 'cpu' }),
      (e: Error & { code?: string }) => e.code === 'ETOOSHORT' && /too few/.test(e.message));
    await assert.rejects(calibrate({ recording: p, out: `${dir}/m.safetensors`, heldOut: 1.5, log: () => {}, progress: false, backend: 'cpu' }),
      (e: Error & { code?: string }) => e.code === 'EUSAGE');
  });
});
