/**
 * A closed-loop block run in-process for tests: the simulated user, a model's OnlineFilter as the
 * decoder and the minimal task, bin by bin in lockstep, written as the XDF a session would leave
 * (the daemon's recorder streams and the task's streams).
 */
import { fitKalman, kalmanToStored } from '../../calibration/kalman.js';
import { mat, ridgeCv } from '../../calibration/linear.js';
import { designMatrix, streamFeatures } from '../../calibration/readout.js';
import type { ModelConfig } from '../../model/config.js';
import { OnlineFilter } from '../../model/filter.js';
import { loadModel, makeModel, type LangevinModel } from '../../model/model-file.js';
import { calibrationBlock } from '../../closedloop/user/calibration-block.js';
import { simChannelLabels } from '../../calibration/simulator/session.js';
import { SimulatedUser, type SimulatedUserOptions, type TaskView } from '../../closedloop/user/user.js';
import { DECODED_STREAM, TASK_STREAMS } from '../../closedloop/streams.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';
import { MINI_TASK, MiniTask, type TrialResult } from './mini-task.js';

/**
 * A biased decoder, as after a day's drift: the committed default model's latent filter with a
 * readout fitted on the user's open-loop calibration block (seed, session 0), turned by 50°.
 * Needs the TensorFlow.js backend (calibration/backend.ts useBackend) for the features.
 */
export function rotatedDecoder(seed = 8, channels = 48): LangevinModel {
  const dm = loadModel(new URL('../../../models/default.safetensors', import.meta.url).pathname);
  const cfg: ModelConfig = { ...dm.config, velocity_features: { sources: ['rates', 'h'], lags: 3 } };
  const { 'velocity.weight': _w, 'velocity.bias': _b, ...w } = dm.weights;
  const block = calibrationBlock({ seed, session: 0, trials: 16, channels });
  const T = block.session.timestamps.length;
  const X = designMatrix(streamFeatures(cfg, w, mat(Float32Array.from(block.session.counts), T, channels)), cfg.velocity_features);
  const fit = ridgeCv(X, mat(block.session.velocity, T, 2)).fit;
  const p = X.cols, rot = (50 * Math.PI) / 180, c = Math.cos(rot), s = Math.sin(rot);
  const W = new Float32Array(2 * p);
  for (let j = 0; j < p; j++) { W[j] = c * fit.weight[j] - s * fit.weight[p + j]; W[p + j] = s * fit.weight[j] + c * fit.weight[p + j]; }
  const bias = Float32Array.of(c * fit.bias[0] - s * fit.bias[1], s * fit.bias[0] + c * fit.bias[1]);
  return makeModel(cfg, { ...w, 'velocity.weight': W, 'velocity.bias': bias });
}

/** The model with a Kalman baseline (state pos, vel, 1) fitted on the same open-loop block. */
export function withKalmanBaseline(model: LangevinModel, seed = 8, channels = 48): LangevinModel {
  const block = calibrationBlock({ seed, session: 0, trials: 16, channels });
  const T = block.session.timestamps.length;
  const kin = new Float32Array(T * 4);
  const pos = block.session.position!;
  for (let t = 0; t < T; t++) kin.set([pos[2 * t], pos[2 * t + 1], block.session.velocity[2 * t], block.session.velocity[2 * t + 1]], 4 * t);
  const km = fitKalman(mat(kin, T, 4), mat(Float32Array.from(block.session.counts), T, channels));
  return makeModel(model.config, model.weights, {}, { kalman: kalmanToStored(km, ['pos_x', 'pos_y', 'vel_x', 'vel_y'], 2) });
}

export interface ClosedLoopRun { xdf: (omit?: string[], extra?: XdfStreamInput[]) => Uint8Array; trials: TrialResult[]; bins: number }

export function runClosedLoop(model: LangevinModel, user: SimulatedUserOptions, bins: number): ClosedLoopRun {
  const u = new SimulatedUser(user);
  const N = u.encoder.channels, binMs = u.encoder.binMs, dt = binMs / 1000;
  const f = new OnlineFilter(model);
  const task = new MiniTask(dt);
  const ts = new Float64Array(bins), counts = new Int16Array(bins * N), dec = new Float64Array(bins * 6);
  const cur = new Float32Array(bins * 2), tgt = new Float32Array(bins * 3);
  const mts: number[] = [], marks: string[][] = [];
  const view: TaskView = { cursorX: 0, cursorY: 0, targetX: NaN, targetY: NaN, radius: MINI_TASK.radius, aiming: false };
  for (let k = 0; k < bins; k++) {
    ts[k] = 1000 + (k + 1) * dt;
    const c = u.step(k === 0 ? null : view);
    counts.set(c, k * N);
    const v = f.step(c).velocity;
    dec.set([v[0], v[1], k, 0, 0, 0], k * 6);
    task.advance([v[0], v[1]]);
    for (const e of task.events) { mts.push(ts[k]); marks.push([e]); }
    const shown = task.state !== 'iti';
    const t = task.target();
    cur.set(task.cursor, 2 * k);
    tgt.set([shown ? t[0] : NaN, shown ? t[1] : NaN, MINI_TASK.radius], 3 * k);
    view.cursorX = task.cursor[0]; view.cursorY = task.cursor[1];
    view.targetX = tgt[3 * k]; view.targetY = tgt[3 * k + 1];
    view.aiming = shown;
  }
  const base = { nominalSrate: 1000 / binMs, createdAt: 990, hostname: 'test', sessionId: 'default' };
  const streams: XdfStreamInput[] = [
    { info: makeStreamInfo({ ...base, name: 'M1-binned', type: 'SpikeCounts', channelCount: N, channelFormat: 'int16', sourceId: 's', desc: describeChannels(simChannelLabels(N), { unit: 'count', binMs }) }), timeStamps: ts, data: counts },
    { info: makeStreamInfo({ ...base, ...DECODED_STREAM, channelCount: 6, channelFormat: 'double64', sourceId: 'd', desc: describeChannels(['vel_x', 'vel_y', 'seq', 'received_ns', 'decoded_ns', 'sent_ns'], { binMs }) }), timeStamps: ts, data: dec },
    { info: makeStreamInfo({ ...base, ...TASK_STREAMS.cursor, channelCount: 2, channelFormat: 'float32', sourceId: 'c', desc: describeChannels(['x', 'y']) }), timeStamps: ts, data: cur },
    { info: makeStreamInfo({ ...base, ...TASK_STREAMS.target, channelCount: 3, channelFormat: 'float32', sourceId: 't', desc: describeChannels(['x', 'y', 'radius']) }), timeStamps: ts, data: tgt },
    { info: makeStreamInfo({ ...base, ...TASK_STREAMS.markers, nominalSrate: 0, channelCount: 1, channelFormat: 'string', sourceId: 'm' }), timeStamps: Float64Array.from(mts), data: marks },
  ];
  return {
    xdf: (omit = [], extra = []) => writeXdf([...streams.filter((s) => !omit.includes(s.info.type)), ...extra.map((e, i) => ({ ...e, id: streams.length + 1 + i }))], { datetime: null }),
    trials: task.trials,
    bins,
  };
}
