/**
 * The task on the wire: decoded velocity in (the daemon's ZeroMQ PUB, topic "velocity", or its
 * LSL outlet), the
 * task's state out after every decode (TaskState on a ZeroMQ PUB, topic "task"), LSL streams for
 * the recording (cursor and target per decode, stamped with the decode's timestamp as the
 * daemon's recorder stamps `langevind-decoded`; trial events as string markers, names in
 * closedloop/streams.ts), optionally the same streams in an XDF file, and the subject's page
 * (page.ts).
 *
 * Never dies on its input: a message with the wrong frames or topic, one that does not decode or
 * whose velocity is not two finite numbers is counted by kind, logged (first of each kind, then
 * at most once per 5 s) and skipped. A daemon that restarts is reconnected by ZeroMQ (the SUB
 * connects) and its seq going back is counted; one that stalls for more than stallBins bins
 * aborts the trial in progress.
 */
import { randomUUID } from 'node:crypto';
import type { Subscription } from 'rxjs';
import type { Logger } from '../../daemon/log.js';
import { localClock } from '../../streams/lsl/clock.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { BinSequencer } from '../../streams/lsl/endpoint.js';
import { LslInlet } from '../../streams/lsl/inlet.js';
import { LslOutlet } from '../../streams/lsl/outlet.js';
import { DecodedReader, encodeTaskState, newDecoded } from '../../streams/proto.js';
import { describeChannels, makeStreamInfo, type StreamInfo } from '../../streams/stream-info.js';
import { XdfWriter } from '../../streams/xdf/writer.js';
import { ZmqPublisher } from '../../streams/zmq/publisher.js';
import { openZmqSource } from '../../streams/zmq/subscriber.js';
import { TASK_STREAMS } from '../streams.js';
import { BinClock, monotonicClock, type Clock } from './clock.js';
import { TaskPage } from './page.js';
import { CursorTask, type TaskEvent, type TaskOptions } from './task.js';

export const GARBAGE_KINDS = ['frames', 'topic', 'undecodable', 'velocity'] as const;
export type GarbageKind = (typeof GARBAGE_KINDS)[number];

export interface LiveTaskOptions {
  task: TaskOptions;
  /** monotonic: real time (a subject); bins: each decode is binMs of task time (lockstep, simulation). */
  clock: 'monotonic' | 'bins';
  /** The daemon's velocity output: a ZeroMQ PUB (Decoded, topic "velocity"), or an LSL outlet (float32 vx, vy, … per decode). */
  input: { address: string; bind: boolean; topic?: string } | { lsl: string };
  publish: { address: string; bind: boolean; topic?: string } | null;
  /** Open the LSL outlets (cursor, target, markers). */
  lsl: boolean;
  /** Also write the same three streams to this XDF file (written off the decode path, as the daemon's recorder). */
  record?: string;
  /** Serve the subject's page on 127.0.0.1:port (0: any free port), or null. */
  page: { port: number } | null;
  /** Decodes missing for longer than this many bins abort the trial (default 25). */
  stallBins?: number;
  log: Logger;
}

export interface LiveTaskStats {
  decodes: number;
  garbage: Record<GarbageKind, number>;
  /** Times the decode seq went back (a daemon restarted). */
  restarts: number;
  /** Stalls that began (each aborts the trial in progress, if any). */
  stalls: number;
  published: number;
  publishDrops: number;
  pageDrops: number;
  /** model_id of the decodes (the last one seen). */
  modelId: string;
}

export class LiveTask {
  readonly task: CursorTask;
  readonly stats: LiveTaskStats;
  private readonly clock: Clock;
  private readonly binClock: BinClock | null;
  private readonly reader = new DecodedReader();
  private readonly decoded = newDecoded(2);
  private readonly topic: Buffer;
  private sub: Subscription | null = null;
  private inlet: LslInlet | null = null;
  private pub: ZmqPublisher | null = null;
  private outlets: { cursor: LslOutlet; target: LslOutlet; markers: LslOutlet } | null = null;
  private recorder: { writer: XdfWriter; cursor: number; target: number; markers: number } | null = null;
  page: TaskPage | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private lastSeq = -1;
  private lastStamp = 0;
  private lastWallMs = 0;
  private stalled = false;
  private subscribers = 0;
  private readonly subscriberWaiters: (() => void)[] = [];
  private readonly lastLogged = new Map<string, number>();
  // Doubles, as the task decided on them: a recording then gives back the live task's entries to the bin.
  private readonly cursorSample = new Float64Array(2);
  private readonly targetSample = new Float64Array(3);
  private doneResolve!: () => void;
  /** Resolves once maxTrials trials have ended. */
  readonly done = new Promise<void>((r) => (this.doneResolve = r));
  /** Called after every state published (tests, progress). */
  onState?: (task: CursorTask, event: TaskEvent | null) => void;

  private constructor(private readonly o: LiveTaskOptions) {
    this.binClock = o.clock === 'bins' ? new BinClock(o.task.binMs / 1000) : null;
    this.clock = this.binClock ?? monotonicClock;
    this.task = new CursorTask(o.task, this.clock);
    this.topic = Buffer.from(('topic' in o.input ? o.input.topic : undefined) ?? 'velocity');
    this.stats = { decodes: 0, garbage: { frames: 0, topic: 0, undecodable: 0, velocity: 0 }, restarts: 0, stalls: 0, published: 0, publishDrops: 0, pageDrops: 0, modelId: '' };
  }

  static async open(o: LiveTaskOptions): Promise<LiveTask> {
    const t = new LiveTask(o);
    try {
      await t.start();
    } catch (e) {
      await t.close();
      throw e;
    }
    return t;
  }

  private async start(): Promise<void> {
    const o = this.o;
    const log = o.log;
    if (o.publish) {
      const topic = o.publish.topic ?? 'task';
      this.pub = await ZmqPublisher.open({
        endpoint: o.publish.address, bind: o.publish.bind, topic, queue: 256,
        onSubscription: (on, t) => {
          if (!on || !topic.startsWith(t)) return;
          this.subscribers++;
          log.info('task state subscriber joined', { subscribers: this.subscribers });
          for (const w of this.subscriberWaiters.splice(0)) w();
        },
      });
      log.info('task state output open', { address: o.publish.address, bind: o.publish.bind, topic: o.publish.topic ?? 'task' });
    }
    const binMs = o.task.binMs;
    const shapes = {
      cursor: { ...TASK_STREAMS.cursor, channelCount: 2, channelFormat: 'double64', nominalSrate: 1000 / binMs, sourceId: 'langevind-task-cursor', desc: describeChannels(['x', 'y'], { unit: 'cm', binMs }) },
      target: { ...TASK_STREAMS.target, channelCount: 3, channelFormat: 'double64', nominalSrate: 1000 / binMs, sourceId: 'langevind-task-target', desc: describeChannels(['x', 'y', 'radius'], { unit: 'cm', binMs }) },
      markers: { ...TASK_STREAMS.markers, channelCount: 1, channelFormat: 'string', nominalSrate: 0, sourceId: 'langevind-task-markers' },
    } as const;
    if (o.record) {
      const writer = await XdfWriter.open(o.record);
      const add = (k: keyof typeof shapes): number => writer.addStream(makeStreamInfo({ ...shapes[k], uid: randomUUID(), createdAt: localClock() }));
      this.recorder = { writer, cursor: add('cursor'), target: add('target'), markers: add('markers') };
      log.info('recording', { path: o.record });
    }
    if (o.lsl) {
      const cfg = loadLslConfig();
      const [cursor, target, markers] = await Promise.all([
        LslOutlet.create({ ...shapes.cursor, config: cfg }),
        LslOutlet.create({ ...shapes.target, config: cfg }),
        LslOutlet.create({ ...shapes.markers, config: cfg }),
      ]);
      this.outlets = { cursor, target, markers };
      log.info('LSL outlets open', { streams: [cursor, target, markers].map((s) => s.info.name) });
    }
    if (o.page) {
      this.page = await TaskPage.open({ port: o.page.port, halfWidth: this.task.options.halfWidth });
      log.info('task page', { url: this.page.url });
      this.page.show(this.frame());
    }
    const input = o.input;
    if ('lsl' in input) {
      // The daemon's LSL output carries velocity only: seq counts samples, from the stamps (gaps show).
      const sequencer = new BinSequencer(o.task.binMs / 1000);
      const cfg = loadLslConfig();
      this.inlet = new LslInlet({
        query: `session_id='${cfg.sessionId}' and ${input.lsl}`, config: cfg, recover: true, recoverWithoutSourceId: true,
        onSample: (ts, v) => {
          const seq = sequencer.next(ts + this.inlet!.timeCorrection());
          if (v.length < 2 || !Number.isFinite(v[0]) || !Number.isFinite(v[1])) return this.garbage('velocity', `velocity must hold two finite numbers (vx, vy), got [${Array.from(v.subarray(0, 4)).join(', ')}]`);
          this.onVelocity(seq, ts, v[0], v[1], '');
        },
        onEvent: (e) => {
          if (e.kind === 'connected') log.info('lsl velocity input connected', { name: e.info.name, uid: e.info.uid });
          else if (e.kind === 'disconnected' || e.kind === 'problem') log.warn('lsl velocity input', { ...e });
          else if (e.kind === 'fatal') log.error('lsl velocity input refused', { error: e.error });
        },
      }).start();
      log.info('velocity input open', { lsl: input.lsl });
    } else {
      const source = await openZmqSource({ endpoint: input.address, bind: input.bind, topic: this.topic.toString(), maxMessageSize: 64 * 1024,
        onReconnect: (reason, detail) => log.info('velocity input reconnected', { reason, detail }) });
      this.sub = source.subscribe({
        next: (m) => this.onMessage(m.frames, m.topic, m.payload),
        error: (e: Error) => log.error('velocity input failed', { err: e }),
      });
      log.info('velocity input open', { address: input.address, bind: input.bind, topic: this.topic.toString() });
    }
    const stallMs = (o.stallBins ?? 25) * binMs;
    this.stallTimer = setInterval(() => this.checkStall(stallMs), Math.max(5, binMs));
  }

  private garbage(kind: GarbageKind, detail: string): void {
    this.stats.garbage[kind]++;
    const now = performance.now();
    const last = this.lastLogged.get(kind);
    if (last === undefined || now - last >= 5000) {
      this.lastLogged.set(kind, now);
      this.o.log.warn('velocity message skipped', { kind, detail, count: this.stats.garbage[kind] });
    }
  }

  private onMessage(frames: number, topic: Buffer, payload: Buffer): void {
    if (frames !== 2) return this.garbage('frames', `message has ${frames} frames, expected 2 (topic, Decoded)`);
    if (!topic.equals(this.topic)) return this.garbage('topic', `topic "${topic.toString('latin1').slice(0, 40)}" is not "${this.topic}"`);
    const d = this.decoded;
    const err = this.reader.read(payload, d);
    if (err !== null) return this.garbage('undecodable', `not a Decoded message: ${err}`);
    if (d.velocity.length < 2 || !Number.isFinite(d.velocity[0]) || !Number.isFinite(d.velocity[1]))
      return this.garbage('velocity', `velocity must hold two finite numbers (vx, vy), got [${Array.from(d.velocity.subarray(0, 4)).join(', ')}]`);
    this.onVelocity(d.seq, d.timestamp, d.velocity[0], d.velocity[1], d.modelId);
  }

  private onVelocity(seq: number, stamp: number, vx: number, vy: number, modelId: string): void {
    if (seq <= this.lastSeq && this.lastSeq >= 0) {
      this.stats.restarts++;
      this.o.log.info('decode seq went back: the daemon restarted', { from: this.lastSeq, to: seq });
    }
    this.lastSeq = seq;
    this.lastStamp = stamp;
    this.lastWallMs = performance.now();
    if (this.stalled) {
      this.stalled = false;
      this.o.log.info('decodes resumed', { seq });
    }
    this.stats.decodes++;
    if (modelId) this.stats.modelId = modelId;
    this.binClock?.advance();
    const ev = this.task.decode(vx, vy);
    this.emit(ev, stamp, true);
  }

  private checkStall(stallMs: number): void {
    if (this.stalled || this.lastWallMs === 0) return;
    const since = performance.now() - this.lastWallMs;
    if (since <= stallMs) return;
    this.stalled = true;
    this.stats.stalls++;
    this.o.log.warn('decodes stalled', { ms: Math.round(since), lastSeq: this.lastSeq, state: this.task.state });
    const ev = this.task.stall();
    // Stamped like the last decode, the trial's last sample: decode stamps may be virtual (lockstep)
    // and must stay in order with the next decode's.
    if (ev) this.emit(ev, this.lastStamp, false);
  }

  /** The state, on every output; `perBin` adds the cursor and target samples of a decode. */
  private emit(ev: TaskEvent | null, stamp: number, perBin: boolean): void {
    const task = this.task;
    const tg = task.target;
    if (this.pub) {
      const before = this.pub.stats().dropped;
      this.pub.send(encodeTaskState({
        seq: Math.max(0, this.lastSeq), cursor: [task.cursor.x, task.cursor.y], target: tg ? [tg.x, tg.y] : [], targetRadius: task.options.radius,
        state: task.state, trial: task.trial, timestamp: localClock(),
      }));
      this.stats.published++;
      this.stats.publishDrops += this.pub.stats().dropped - before;
    }
    if (perBin) {
      this.cursorSample[0] = task.cursor.x;
      this.cursorSample[1] = task.cursor.y;
      this.targetSample[0] = tg ? tg.x : NaN;
      this.targetSample[1] = tg ? tg.y : NaN;
      this.targetSample[2] = task.options.radius;
    }
    if (this.outlets) {
      if (ev) this.outlets.markers.push([ev.text], stamp);
      if (perBin) {
        this.outlets.cursor.push(this.cursorSample, stamp);
        this.outlets.target.push(this.targetSample, stamp);
      }
    }
    const rec = this.recorder;
    if (rec) {
      if (ev) rec.writer.pushSample(rec.markers, stamp, [ev.text]);
      if (perBin) {
        rec.writer.pushSample(rec.cursor, stamp, this.cursorSample);
        rec.writer.pushSample(rec.target, stamp, this.targetSample);
      }
    }
    if (this.page) {
      this.page.show(this.frame());
      this.stats.pageDrops = this.page.dropped;
    }
    this.onState?.(task, ev);
    if (ev && task.state !== 'target_on' && task.trials.length >= task.options.maxTrials) this.doneResolve();
  }

  private frame(): import('./page.js').PageFrame {
    const t = this.task;
    const tg = t.target;
    return { cursor: [t.cursor.x, t.cursor.y], target: tg ? [tg.x, tg.y] : null, radius: t.options.radius, state: t.state, trial: t.trial };
  }

  /** Waits until a consumer has subscribed to the TaskState output (up to timeoutMs); true if one has. */
  waitForSubscriber(timeoutMs: number): Promise<boolean> {
    if (!this.pub || this.subscribers > 0) return Promise.resolve(this.subscribers > 0);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.subscriberWaiters.push(() => { clearTimeout(t); resolve(true); });
    });
  }

  /** Waits for LSL consumers of every outlet (a recorder), up to timeoutMs; true if all came. */
  async waitForRecorder(timeoutMs: number): Promise<boolean> {
    if (!this.outlets) return true;
    const r = await Promise.all(Object.values(this.outlets).map((x) => x.waitForConsumers(timeoutMs)));
    return r.every(Boolean);
  }

  /** The LSL streams' infos (null without --lsl), e.g. for a recorder to connect to. */
  get lslInfo(): Record<'cursor' | 'target' | 'markers', StreamInfo> | null {
    return this.outlets ? { cursor: this.outlets.cursor.info, target: this.outlets.target.info, markers: this.outlets.markers.info } : null;
  }

  async close(): Promise<void> {
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    this.sub?.unsubscribe();
    this.sub = null;
    await this.inlet?.close();
    this.inlet = null;
    await this.pub?.close();
    this.pub = null;
    if (this.outlets) await Promise.all(Object.values(this.outlets).map((x) => x.close()));
    this.outlets = null;
    await this.page?.close();
    this.page = null;
    await this.recorder?.writer.close();
    this.recorder = null;
  }
}
