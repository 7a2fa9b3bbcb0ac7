/**
 * A closed-loop block run in-process for tests: the simulated user, a model's OnlineFilter as the
 * decoder and the minimal task, bin by bin in lockstep, written as the XDF a session would leave
 * (the daemon's recorder streams and the task's streams).
 */
import { OnlineFilter } from '../../model/filter.js';
import type { LangevinModel } from '../../model/model-file.js';
import { simChannelLabels } from '../../calibration/simulator/session.js';
import { SimulatedUser, type SimulatedUserOptions, type TaskView } from '../../closedloop/user/user.js';
import { DECODED_STREAM, TASK_STREAMS } from '../../closedloop/streams.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';
import { MINI_TASK, MiniTask, type TrialResult } from './mini-task.js';

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
