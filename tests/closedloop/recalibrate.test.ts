import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useBackend } from '../../calibration/backend.js';
import { loadDataset } from '../../calibration/dataset.js';
import { loadModel, saveModel, type LangevinModel } from '../../model/model-file.js';
import { makeStreamInfo } from '../../streams/stream-info.js';
import { META_REFIT } from '../../closedloop/refit/recalibrate.js';
import { CliProcess } from '../../harness/process.js';
import { tempDir } from '../support/net.js';
import { rotatedDecoder, runClosedLoop, withKalmanBaseline, type ClosedLoopRun } from './closed-loop-fixture.js';

const N = 48;
const successRate = (r: { trials: { success: boolean }[] }): number => r.trials.filter((t) => t.success).length / r.trials.length;

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(args);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderrText };
}

describe('langevind recalibrate (ReFIT) on a closed-loop recording of the simulated user', () => {
  const tmp = tempDir('langevind-simuser-');
  let rotated: LangevinModel;
  const rotatedPath = join(tmp.dir, 'rotated.safetensors');
  const recording = join(tmp.dir, 'closed-loop.xdf');
  let runXdf: ClosedLoopRun['xdf'];

  before(async () => {
    await useBackend('wasm');
    rotated = rotatedDecoder(8, N);
    saveModel(rotatedPath, rotated);
    const run = runClosedLoop(rotated, { seed: 8, session: 1, channels: N }, 3000);
    runXdf = run.xdf;
    writeFileSync(recording, run.xdf());
  });
  after(() => tmp.cleanup());

  test('one round refits the readout on the intention and the refit decoder acquires targets the biased one missed', async () => {
    const out = join(tmp.dir, 'refit.safetensors');
    const r = await cli(['recalibrate', recording, '--model', rotatedPath, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    assert.ok((summary.r2_after as number) > (summary.r2_before as number) + 0.5, `R² against the intention ${summary.r2_before} → ${summary.r2_after}`);
    assert.ok((summary.usable_bins as number) > 2000 && (summary.trials as number) >= 10, JSON.stringify(summary));
    const refit = loadModel(out);
    assert.equal(refit.id, summary.model_id);
    assert.equal(JSON.parse(refit.metadata[META_REFIT]).from_model, rotated.id);
    for (const [k, v] of Object.entries(rotated.weights)) if (!k.startsWith('velocity.')) assert.deepEqual(refit.weights[k], v, `${k} kept`);
    // A fresh block (new noise, same population) with each decoder.
    const before = runClosedLoop(rotated, { seed: 8, session: 2, channels: N }, 3000);
    const afterRefit = runClosedLoop(refit, { seed: 8, session: 2, channels: N }, 3000);
    assert.ok(successRate(afterRefit) >= 0.6, `refit decoder: ${successRate(afterRefit)} of ${afterRefit.trials.length} trials`);
    assert.ok(successRate(afterRefit) > successRate(before) + 0.3, `success ${successRate(before)} → ${successRate(afterRefit)}`);
  });

  test('ReFIT-KF (--decoder kalman) refits the Kalman baseline\'s observation model on the intention (velocity only); the LangevinFlow refit keeps the baselines', async () => {
    // The rotated decoder with a Kalman baseline fitted on the open-loop block (state pos, vel, 1).
    const withKf = withKalmanBaseline(rotated, 8, N);
    const kalman = withKf.baselines.kalman!;
    const modelPath = join(tmp.dir, 'with-kalman.safetensors');
    saveModel(modelPath, withKf);
    const out = join(tmp.dir, 'refit-kf.safetensors');
    const r = await cli(['recalibrate', recording, '--model', modelPath, '--decoder', 'kalman', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const m = loadModel(out);
    const k = m.baselines.kalman!;
    assert.deepEqual(k.A, kalman.A);
    assert.deepEqual(k.Q, kalman.Q);
    assert.deepEqual(k.state, kalman.state);
    for (const [name, v] of Object.entries(withKf.weights)) assert.deepEqual(m.weights[name], v, `${name} kept`);
    assert.equal(JSON.parse(m.metadata[META_REFIT]).decoder, 'kalman');
    // Same population, so the refit tuning to the intention's velocity (C's velocity columns) follows
    // the open-loop fit's; the position columns carry nothing (the counts are tied to velocity only).
    const s = 5;
    const a: number[] = [], b: number[] = [];
    for (let c = 0; c < N; c++) for (const j of [2, 3]) { a.push(k.C[c * s + j]); b.push(kalman.C[c * s + j]); }
    const corr = (x: number[], y: number[]): number => {
      const mx = x.reduce((p, q) => p + q, 0) / x.length, my = y.reduce((p, q) => p + q, 0) / y.length;
      let sxy = 0, sxx = 0, syy = 0;
      for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
      return sxy / Math.sqrt(sxx * syy);
    };
    assert.ok(corr(a, b) > 0.7, `velocity tuning correlation ${corr(a, b)}`);
    assert.ok(k.C.some((x, i) => x !== kalman.C[i]));
    for (let c = 0; c < N; c++) for (const j of [0, 1]) assert.ok(Math.abs(k.C[c * s + j]) < 1e-6, `C[${c}, ${j}] = ${k.C[c * s + j]}`);
    // The readout refit of a model with baselines keeps them as they were.
    const lfOut = join(tmp.dir, 'refit-lf-keeps.safetensors');
    assert.equal((await cli(['recalibrate', recording, '--model', modelPath, '--out', lfOut])).code, 0);
    assert.deepEqual(loadModel(lfOut).baselines.kalman!.C, kalman.C);
    // Without a Kalman baseline there is nothing to refit.
    const none = await cli(['recalibrate', recording, '--model', rotatedPath, '--decoder', 'kalman', '--out', join(tmp.dir, 'never-kf.safetensors')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /needs a Kalman baseline.*\[EMODEL\]/s);
    const bad = await cli(['recalibrate', recording, '--model', modelPath, '--decoder', 'wiener', '--out', join(tmp.dir, 'never-w.safetensors')]);
    assert.equal(bad.code, 2);
    const badOnTarget = await cli(['recalibrate', recording, '--model', modelPath, '--on-target', 'half', '--out', join(tmp.dir, 'never-o.safetensors')]);
    assert.equal(badOnTarget.code, 2);
    assert.match(badOnTarget.stderr, /--on-target must be zero or skip, got "half"/);
    const kfSpeed = await cli(['recalibrate', recording, '--model', modelPath, '--decoder', 'kalman', '--fitted-speed', '--out', join(tmp.dir, 'never-s.safetensors')]);
    assert.equal(kfSpeed.code, 2);
    // --on-target skip relabels fewer bins, and the JSON line says how the fit's speed was kept.
    const skipOut = join(tmp.dir, 'refit-skip.safetensors');
    const skip = await cli(['recalibrate', recording, '--model', modelPath, '--on-target', 'skip', '--out', skipOut]);
    assert.equal(skip.code, 0, skip.stderr);
    const zero = await cli(['recalibrate', recording, '--model', modelPath, '--out', join(tmp.dir, 'refit-zero.safetensors')]);
    const [js, jz] = [skip, zero].map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!) as { usable_bins: number; fitted_speed: number; speed_scale: number });
    assert.ok(js.usable_bins < jz.usable_bins, `skip ${js.usable_bins} bins, zero ${jz.usable_bins}`);
    assert.ok(Math.abs(jz.fitted_speed * jz.speed_scale - 1) < 1e-9, `scaled back to the labels' speed: ${jz.fitted_speed} × ${jz.speed_scale}`);
  });

  test('a recording without task markers or decoded velocity is refused, naming what is missing', async () => {
    const noMarkers = join(tmp.dir, 'no-markers.xdf');
    const noDecoded = join(tmp.dir, 'no-decoded.xdf');
    const neither = join(tmp.dir, 'neither.xdf');
    writeFileSync(noMarkers, runXdf(['Markers']));
    writeFileSync(noDecoded, runXdf(['Decoded']));
    writeFileSync(neither, runXdf(['Markers', 'Decoded']));
    const out = join(tmp.dir, 'never.safetensors');
    const a = await cli(['recalibrate', noMarkers, '--model', rotatedPath, '--out', out]);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /no task markers .*\[ENOMARKERS\]/s);
    const b = await cli(['recalibrate', noDecoded, '--model', rotatedPath, '--out', out]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /no decoded velocity \(stream "langevind-decoded".*\[ENODECODED\]/s);
    const c = await cli(['recalibrate', neither, '--model', rotatedPath, '--out', out]);
    assert.match(c.stderr, /decoded velocity.*task markers.*\[ENODECODED\]/s);
    // The calibration block has markers, cursor and target but no decodes: not a closed-loop block.
    const open = join(tmp.dir, 'open-loop.xdf');
    assert.equal((await cli(['simulate-user', '--calibration-block', '--trials', '2', '--channels', String(N), '--out', open])).code, 0);
    const d = await cli(['recalibrate', open, '--model', rotatedPath, '--out', out]);
    assert.match(d.stderr, /\[ENODECODED\]/);
    // The daemon's own markers (swaps, resets) are not task markers.
    const daemonMarkers = { info: makeStreamInfo({ name: 'langevind-markers', type: 'Markers', channelCount: 1, channelFormat: 'string', sourceId: 'rec' }), timeStamps: [1000.5, 1002], data: [['readout swap'], ['reset']] };
    const onlyDaemon = join(tmp.dir, 'only-daemon-markers.xdf');
    writeFileSync(onlyDaemon, runXdf(['Markers'], [daemonMarkers]));
    const f = await cli(['recalibrate', onlyDaemon, '--model', rotatedPath, '--out', out]);
    assert.match(f.stderr, /"langevind-markers": 2 in all\) name no task state.*\[ENOMARKERS\]/s);
    const both = join(tmp.dir, 'both-markers.xdf');
    writeFileSync(both, runXdf([], [daemonMarkers]));
    const g = await cli(['recalibrate', both, '--model', rotatedPath, '--out', join(tmp.dir, 'both.safetensors')]);
    assert.equal(g.code, 0, g.stderr);
    const e = await cli(['recalibrate', recording, '--model', join(tmp.dir, 'missing.safetensors'), '--out', out]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /\[ENOTFOUND\]/);
  });
});

describe('langevind simulate-user --calibration-block', () => {
  const tmp = tempDir('langevind-simuser-');
  after(() => tmp.cleanup());

  test('writes a block the calibration loader reads as it is; bad options exit non-zero with a code', async () => {
    const out = join(tmp.dir, 'block.xdf');
    const r = await cli(['simulate-user', '--calibration-block', '--trials', '3', '--channels', '32', '--seed', '5', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6 trials \(3 reaches and their returns\)/);
    const ds = loadDataset(out);
    assert.equal(ds.counts.cols, 32);
    assert.deepEqual(ds.velocityLabels, ['vel_x', 'vel_y']);
    assert.deepEqual(ds.notes, []);
    const bad = await cli(['simulate-user', '--calibration-block', '--trials', 'x', '--out', out]);
    assert.equal(bad.code, 2, 'a usage error');
    assert.match(bad.stderr, /--trials must be an integer.*\[EUSAGE\]/);
    const zero = await cli(['simulate-user', '--calibration-block', '--channels', '0', '--out', out]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /simulate-user: channels must be an integer in 1–65535, got 0 \[EUSAGE\]/);
    const noOut = await cli(['simulate-user', '--calibration-block']);
    assert.match(noOut.stderr, /needs --out.*\[EUSAGE\]/);
  });
});
