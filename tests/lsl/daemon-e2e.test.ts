// End to end through the real daemon: a liblsl outlet pushes binned counts, `langevind run
// --input lsl://… --output lsl://…` decodes them, a liblsl inlet receives the velocities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { CliProcess } from '../../harness/process.js';
import { tempDir } from '../support/net.js';
import { writeTestModel, syntheticCounts } from '../support/model.js';
import { parseStreamInfo } from '../../streams/stream-info.js';
import { childText, path } from '../../streams/xml.js';

const cfgPath = testConfigPath();
process.env.LSLAPICFG = cfgPath;

test('liblsl outlet → langevind run (lsl:// in and out) → liblsl inlet: every bin decoded, stamped with its bin time', async () => {
  const tmp = tempDir();
  const nIn = 8;
  const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn, binMs: 20 });
  const input = `M1-binned-${process.pid}`;
  const output = `langevind-velocity-${process.pid}`;
  const rig = new LiblslPeer();
  const task = new LiblslPeer();
  let daemon: CliProcess | undefined;
  try {
    await rig.ready;
    await task.ready;
    const out = await rig.request<{ id: number }>({ op: 'outlet', name: input, type: 'SpikeCounts', source_id: `rig-${input}`, format: 'int16', channels: nIn, srate: 50, bin_ms: 20 });
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${input}`, '--output', `lsl://name=${output}`], { env: { LSLAPICFG: cfgPath } });
    await daemon.waitMsg('lsl input connected', 20000);
    const r = await task.request<{ id: number; info: string }>({ op: 'inlet', prop: 'name', value: output, timeout: 10 });
    const info = parseStreamInfo(r.info);
    assert.equal(info.channelFormat, 'float32');
    assert.equal(info.channelCount, model.config.velocity_labels.length);
    assert.equal(info.nominalSrate, 50);
    assert.deepEqual(path(info.desc, 'channels')!.children.map((c) => childText(c, 'label')), model.config.velocity_labels);
    await rig.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    const bins = syntheticCounts(nIn, 30, 5);
    const t0 = (await rig.request<{ t: number }>({ op: 'clock' })).t;
    for (let k = 0; k < bins.length; k++) await rig.request({ op: 'push', id: out.id, values: Array.from(bins[k]), ts: t0 + k * 0.02 });
    const got = await task.request<{ samples: { ts: number; values: number[] }[] }>({ op: 'pull', id: r.id, n: bins.length, timeout: 10 });
    assert.equal(got.samples.length, bins.length, 'one velocity sample per bin');
    got.samples.forEach((s, k) => {
      // Same machine: the clock offset is ~0 (within half the probe RTT), so the stamp is the bin's own, well inside ±half a bin.
      assert.ok(Math.abs(s.ts - (t0 + k * 0.02)) < 0.01, `sample ${k}: ts ${s.ts} vs bin ${t0 + k * 0.02}`);
      assert.equal(s.values.length, model.config.velocity_labels.length);
      assert.ok(s.values.every(Number.isFinite));
    });
    const exit = await daemon.stop('SIGINT');
    assert.equal(exit.code, 0, daemon.stderrText.slice(-2000));
    const summary = daemon.lastJson<{ summary: { bins_in: number; bins_out: number; gaps: number; outputs: { sent: number }[] } }>().summary;
    assert.equal(summary.bins_in, bins.length);
    assert.equal(summary.bins_out, bins.length);
    assert.equal(summary.gaps, 0);
    assert.equal(summary.outputs[0].sent, bins.length);
  } finally {
    daemon?.kill();
    await rig.quit();
    await task.quit();
    tmp.cleanup();
  }
});

test('langevind run refuses an LSL input whose channel count does not match the model, naming both', async () => {
  const tmp = tempDir();
  const { path: modelPath } = writeTestModel(tmp.dir, { nIn: 8, binMs: 20 });
  const input = `M1-wrong-${process.pid}`;
  const rig = new LiblslPeer();
  let daemon: CliProcess | undefined;
  try {
    await rig.ready;
    await rig.request({ op: 'outlet', name: input, source_id: input, format: 'int16', channels: 6, srate: 50, bin_ms: 20 });
    daemon = new CliProcess(['run', '--model', modelPath, '--input', `lsl://name=${input}`, '--output', `lsl://name=out-${process.pid}`], { env: { LSLAPICFG: cfgPath } });
    const exit = await daemon.exited;
    assert.equal(exit.code, 1);
    assert.match(daemon.stderrText, /has 6 channels, the model expects 8/);
  } finally {
    daemon?.kill();
    await rig.quit();
    tmp.cleanup();
  }
});
