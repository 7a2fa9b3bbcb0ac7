/**
 * The simulated user on the wire, standing in for a subject and a rig: it publishes one spike bin
 * per bin as a rig would (ZeroMQ SpikeBin PUB on topic "spikes", binding by default, and/or an LSL
 * SpikeCounts outlet) and watches the task's state (TaskState SUB on topic "task").
 *
 * Two modes:
 *  - realtime: bins go out at 1× on the monotonic clock (streams/replay.ts's pacer); the user
 *    sees whatever task state arrived last, as a subject would;
 *  - lockstep: bin k goes out, then the user waits for the first TaskState with seq ≥ k (the
 *    task's state after decode k) and sees that one when making bin k + 1. Everything the user
 *    sees is then fixed by the seed and the decoder, so a run is deterministic and runs as fast
 *    as daemon and task answer. Bin k is stamped start + (k + 1)·bin on the LSL clock in both
 *    modes (the end of the bin), so timestamps never jump and an LSL input counts no gaps.
 *
 * Never dies on its peers: a task message that does not decode, has the wrong topic or frame
 * count is counted and dropped; a daemon or task that restarts is reconnected by ZeroMQ (the
 * spike PUB binds, the task SUB connects); in lockstep a missing answer costs lockstepTimeoutMs,
 * is counted, and the next bin goes out.
 */
import type { Subscription } from 'rxjs';
import { localClock } from '../../streams/lsl/clock.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { LslOutlet } from '../../streams/lsl/outlet.js';
import { decodeTaskState, SpikeBinWriter, type TaskState } from '../../streams/proto.js';
import { pace } from '../../streams/replay.js';
import { describeChannels } from '../../streams/stream-info.js';
import { ZmqPublisher } from '../../streams/zmq/publisher.js';
import { openZmqSource } from '../../streams/zmq/subscriber.js';
import { simChannelLabels } from '../../calibration/simulator/session.js';
import { UserError } from './errors.js';
import { SimulatedUser, type SimulatedUserOptions, type TaskView } from './user.js';

export type UserMode = 'realtime' | 'lockstep';

export interface LiveUserOptions {
  user: SimulatedUserOptions;
  mode: UserMode;
  /** ZeroMQ address for the spike PUB (tcp:// or ipc://), or null for none. */
  spikes: { address: string; bind: boolean; topic?: string } | null;
  /** An LSL SpikeCounts outlet, or null for none. */
  lsl: { name: string; format: 'int16' | 'float32'; sourceId?: string } | null;
  /** ZeroMQ address of the task's TaskState PUB. */
  task: { address: string; bind: boolean; topic?: string };
  /** Bins to send (default: until the signal aborts). */
  bins?: number;
  /** Lockstep: how long to wait for the task state after a bin (ms, default 1000). */
  lockstepTimeoutMs?: number;
  /** How long to wait for the daemon to subscribe before the first bin (ms, default 10000; then it starts anyway). */
  waitForDaemonMs?: number;
  /** With both outputs, wait for a consumer on each (default: either is enough, the daemon reads one). */
  waitForAll?: boolean;
  streamId?: string;
  signal?: AbortSignal;
  /** Called once the sockets are up and before the first bin (e.g. to log "ready"). */
  onReady?: (info: { lslUid?: string }) => void;
  /** Called about once a second. */
  onProgress?: (s: LiveUserStats) => void;
  /** Called for every bin sent, with its stamp and the velocity the user intended in it (ground truth for the benchmark). */
  onBin?: (seq: number, timestamp: number, intended: Float64Array) => void;
}

export interface LiveUserStats {
  mode: UserMode;
  binsSent: number;
  /** TaskState messages taken and used. */
  taskMessages: number;
  /** Task-topic messages refused (wrong frames or topic, undecodable, bad fields). */
  badTaskMessages: number;
  /** Lockstep bins whose task state did not come within the timeout. */
  lockstepTimeouts: number;
  /** Sends the spike PUB dropped (its queue was full). */
  spikeDrops: number;
  /** Whether the daemon's SUB had subscribed before the first bin. */
  daemonSubscribed: boolean;
  lastTaskSeq: number;
  lastTaskState: string;
  seconds: number;
  binsPerSecond: number;
}

const AIMING = new Set(['target_on', 'hold']);

/** Checks a decoded TaskState's fields; returns why it is unusable, or null. */
export function taskStateProblem(s: TaskState): string | null {
  if (s.cursor.length !== 2 || !s.cursor.every(Number.isFinite)) return `cursor must be 2 finite numbers, got [${s.cursor.join(', ')}]`;
  if (s.target.length !== 0 && (s.target.length !== 2 || !s.target.every(Number.isFinite))) return `target must be empty or 2 finite numbers, got [${s.target.join(', ')}]`;
  if (!(s.targetRadius >= 0) || !Number.isFinite(s.targetRadius)) return `target_radius must be finite and ≥ 0, got ${s.targetRadius}`;
  return null;
}

/** What the user sees from a task state (a fresh object is not needed: the view is overwritten). */
export function viewOf(s: TaskState, into: TaskView): TaskView {
  into.cursorX = s.cursor[0];
  into.cursorY = s.cursor[1];
  const shown = s.target.length === 2;
  into.targetX = shown ? s.target[0] : NaN;
  into.targetY = shown ? s.target[1] : NaN;
  into.radius = s.targetRadius;
  into.aiming = shown && AIMING.has(s.state);
  return into;
}

export async function runLiveUser(o: LiveUserOptions): Promise<LiveUserStats> {
  if (o.mode !== 'realtime' && o.mode !== 'lockstep') throw new UserError('EUSEROPTS', `simulate-user: mode must be realtime or lockstep, got "${String(o.mode)}"`);
  if (!o.spikes && !o.lsl) throw new UserError('EUSEROPTS', 'simulate-user: give a ZeroMQ spike output, an LSL outlet, or both');
  const bins = o.bins ?? Infinity;
  if (!(bins >= 1)) throw new UserError('EUSEROPTS', `simulate-user: bins must be ≥ 1, got ${o.bins}`);
  const timeoutMs = o.lockstepTimeoutMs ?? 1000;
  if (!(timeoutMs > 0)) throw new UserError('EUSEROPTS', `simulate-user: lockstep timeout must be > 0 ms, got ${timeoutMs}`);
  const user = new SimulatedUser(o.user);
  const binMs = user.encoder.binMs;
  const N = user.encoder.channels;
  const streamId = o.streamId ?? `simulated-user-${o.user.seed}`;
  const stats: LiveUserStats = {
    mode: o.mode, binsSent: 0, taskMessages: 0, badTaskMessages: 0, lockstepTimeouts: 0, spikeDrops: 0, daemonSubscribed: false,
    lastTaskSeq: -1, lastTaskState: '', seconds: 0, binsPerSecond: 0,
  };

  let pub: ZmqPublisher | null = null;
  let outlet: LslOutlet | null = null;
  let taskSub: Subscription | null = null;
  let subscribedNow!: () => void;
  const daemonSubscribed = new Promise<void>((r) => (subscribedNow = r));
  // Lockstep: the state that follows bin `awaiting`, and whoever waits for it.
  let awaiting = -1;
  let answered: TaskState | null = null;
  let wake: (() => void) | null = null;
  const latest: TaskView = { cursorX: 0, cursorY: 0, targetX: NaN, targetY: NaN, radius: 0, aiming: false };
  let haveView = false;

  try {
    const spikeTopic = o.spikes?.topic ?? 'spikes';
    if (o.spikes) {
      pub = await ZmqPublisher.open({
        endpoint: o.spikes.address, bind: o.spikes.bind, topic: spikeTopic, queue: 256,
        onSubscription: (on, t) => { if (on && spikeTopic.startsWith(t)) subscribedNow(); },
      }).catch((e: Error) => { throw new UserError('EUSERSOCKET', `simulate-user: spike output ${o.spikes!.address}: ${e.message}`); });
    }
    if (o.lsl) {
      outlet = await LslOutlet.create({
        name: o.lsl.name, type: 'SpikeCounts', channelCount: N, channelFormat: o.lsl.format, nominalSrate: 1000 / binMs,
        sourceId: o.lsl.sourceId ?? streamId, desc: describeChannels(simChannelLabels(N), { unit: 'count', binMs }), config: loadLslConfig(),
      });
    }
    const taskTopic = Buffer.from(o.task.topic ?? 'task');
    const task$ = await openZmqSource({ endpoint: o.task.address, bind: o.task.bind, topic: taskTopic.toString(), maxMessageSize: 64 * 1024 })
      .catch((e: Error) => { throw new UserError('EUSERSOCKET', `simulate-user: task input ${o.task.address}: ${e.message}`); });
    taskSub = task$.subscribe({
      next(m) {
        if (m.frames !== 2 || !m.topic.equals(taskTopic)) { stats.badTaskMessages++; return; }
        let s: TaskState;
        try {
          s = decodeTaskState(m.payload);
        } catch {
          stats.badTaskMessages++;
          return;
        }
        if (taskStateProblem(s) !== null) { stats.badTaskMessages++; return; }
        stats.taskMessages++;
        stats.lastTaskSeq = s.seq;
        stats.lastTaskState = s.state;
        if (o.mode === 'realtime') {
          viewOf(s, latest);
          haveView = true;
        } else if (awaiting >= 0 && s.seq >= awaiting && answered === null) {
          answered = s;
          wake?.();
        }
      },
      // A receive error ends the subscription; the user goes on without task state (counted by timeouts).
      error: () => { stats.badTaskMessages++; },
    });

    // Wait for the daemon's SUB (ZeroMQ) or inlet (LSL), so the first bins are not lost to a slow joiner.
    const waitMs = o.waitForDaemonMs ?? 10_000;
    const waits = [...(pub ? [daemonSubscribed.then(() => true)] : []), ...(outlet ? [outlet.waitForConsumers(waitMs)] : [])];
    const joined = o.waitForAll ? Promise.all(waits).then((r) => r.every(Boolean)) : Promise.race(waits);
    let t: NodeJS.Timeout | undefined;
    stats.daemonSubscribed = await Promise.race([joined, new Promise<boolean>((r) => { t = setTimeout(() => r(false), waitMs); })]);
    clearTimeout(t);
    o.onReady?.({ lslUid: outlet?.info.uid });

    const writer = new SpikeBinWriter();
    const floats = o.lsl?.format === 'float32' ? new Float32Array(N) : null;
    // On this machine's LSL clock from the start; in lockstep the bins then run ahead of it, evenly spaced.
    const t0 = localClock();
    const bin = { seq: 0, timestamp: 0, counts: user.counts as ArrayLike<number>, binMs, streamId };
    const started = performance.now();
    let lastProgress = started;
    const sendBin = (k: number, view: TaskView | null): void => {
      const counts = user.step(view);
      bin.seq = k;
      bin.timestamp = t0 + ((k + 1) * binMs) / 1000;
      if (pub) pub.send(writer.encode(bin));
      if (outlet) {
        if (floats) { for (let i = 0; i < N; i++) floats[i] = counts[i]; outlet.push(floats, bin.timestamp); }
        else outlet.push(counts, bin.timestamp);
      }
      stats.binsSent++;
      o.onBin?.(k, bin.timestamp, user.intended);
      const now = performance.now();
      if (o.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        stats.seconds = (now - started) / 1000;
        stats.binsPerSecond = stats.binsSent / stats.seconds;
        o.onProgress(stats);
      }
    };
    const aborted = (): boolean => o.signal?.aborted === true;

    if (o.mode === 'realtime') {
      await new Promise<void>((resolve) => {
        const count = Number.isFinite(bins) ? bins : Number.MAX_SAFE_INTEGER;
        const pacer = pace({ count, dueMs: (i) => i * binMs, emit: (i) => { sendBin(i, haveView ? latest : null); }, done: resolve });
        o.signal?.addEventListener('abort', () => { pacer.stop(); resolve(); }, { once: true });
      });
    } else {
      const view: TaskView = { ...latest };
      let prev: TaskState | null = null;
      for (let k = 0; k < bins && !aborted(); k++) {
        sendBin(k, prev ? viewOf(prev, view) : null);
        awaiting = k;
        answered = null;
        const got = await new Promise<TaskState | null>((resolve) => {
          const finish = (v: TaskState | null): void => {
            clearTimeout(timer);
            o.signal?.removeEventListener('abort', onAbort);
            wake = null;
            resolve(v);
          };
          const timer = setTimeout(() => finish(null), timeoutMs);
          const onAbort = (): void => finish(null);
          o.signal?.addEventListener('abort', onAbort, { once: true });
          wake = () => finish(answered);
        });
        awaiting = -1;
        if (got === null) { if (!aborted()) stats.lockstepTimeouts++; }
        else prev = got;
      }
    }
    stats.seconds = (performance.now() - started) / 1000;
    stats.binsPerSecond = stats.seconds > 0 ? stats.binsSent / stats.seconds : 0;
  } finally {
    taskSub?.unsubscribe();
    if (pub) {
      await pub.close();
      stats.spikeDrops = pub.stats().dropped;
    }
    await outlet?.close();
  }
  return stats;
}
