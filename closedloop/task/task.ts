/**
 * The cursor task: the cursor, the targets and the trial state machine, driven one decode at a
 * time, with time from one injected clock. No I/O: `langevind task` feeds it decodes and
 * publishes what it reports, and tests drive it directly.
 *
 *   iti ──start──▶ target_on ──enter──▶ hold ──held──▶ success ──next──▶ iti
 *                   ▲  │  ◀──leave──────┘
 *                   │  └──timeout──▶ timeout ──next──▶ iti
 *   (iti, target_on, hold) ──abort──▶ aborted ──resume──▶ iti
 *
 * `start` waits the inter-trial interval, `timeout` counts from target onset (a failed hold does
 * not restart it), `held` needs the hold time inside the target, `abort` fires while the decodes
 * have stalled (the caller says so with stall()), `resume` on the first decode after.
 */
import { isInside, type Outcome, type TrialRecord } from '../metrics/trial.js';
import type { Clock } from './clock.js';
import { Cursor } from './cursor.js';
import { Fsm, type FiredEvent, type FsmTable } from './fsm.js';
import { TargetSequence, type Layout, type Target } from './targets.js';
import type { TaskStateName } from '../streams.js';

export interface TaskOptions {
  layout: Layout;
  seed: number;
  binMs: number;
  /** Outer targets (centre-out), default 8. */
  targets?: number;
  /** Outer target distance, default 10 (cm, as the simulated user's workspace). */
  distance?: number;
  /** Target radius, default 1.5. */
  radius?: number;
  /** Seconds (defaults 0.5, 5, 0.3). */
  holdS?: number;
  timeoutS?: number;
  itiS?: number;
  gain?: number;
  smoothing?: number;
  /** Workspace half-width, default 15. */
  halfWidth?: number;
  /** Trials to start (default unlimited); after the last one ends the task stays in iti. */
  maxTrials?: number;
}

/** One marker: the state entered (its first word), then key=value pairs. */
export interface TaskEvent {
  state: TaskStateName;
  event: string;
  trial: number;
  /** Clock time, s. */
  t: number;
  text: string;
}

interface Ctx {
  inside: boolean;
  stalled: boolean;
  trialTime: number;
  more: boolean;
}

export class CursorTask {
  readonly cursor: Cursor;
  readonly options: Required<Omit<TaskOptions, 'maxTrials'>> & { maxTrials: number };
  /** Finished trials, in order. */
  readonly trials: TrialRecord[] = [];
  private readonly fsm: Fsm<TaskStateName, Ctx>;
  private readonly sequence: TargetSequence;
  private readonly ctx: Ctx = { inside: false, stalled: false, trialTime: 0, more: true };
  private current: Target | null = null;
  private record: TrialRecord | null = null;
  private started = 0;
  private onsetT = 0;

  constructor(o: TaskOptions, private readonly clock: Clock) {
    this.options = {
      layout: o.layout, seed: o.seed, binMs: o.binMs, targets: o.targets ?? 8, distance: o.distance ?? 10, radius: o.radius ?? 1.5,
      holdS: o.holdS ?? 0.5, timeoutS: o.timeoutS ?? 5, itiS: o.itiS ?? 0.3, gain: o.gain ?? 1, smoothing: o.smoothing ?? 0,
      halfWidth: o.halfWidth ?? 15, maxTrials: o.maxTrials ?? Infinity,
    };
    const p = this.options;
    for (const [k, v] of [['holdS', p.holdS], ['timeoutS', p.timeoutS], ['itiS', p.itiS]] as const)
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`task: ${k} must be a finite number ≥ 0, got ${v}`);
    this.cursor = new Cursor({ binMs: p.binMs, gain: p.gain, smoothing: p.smoothing, halfWidth: p.halfWidth });
    this.sequence = new TargetSequence({ layout: p.layout, seed: p.seed, count: p.targets, distance: p.distance, radius: p.radius, halfWidth: p.halfWidth });
    const abort = { event: 'abort', test: (c: Ctx) => c.stalled, next: 'aborted' } as const;
    const table: FsmTable<TaskStateName, Ctx> = {
      iti: [abort, { event: 'start', test: (c, dt) => c.more && dt >= p.itiS, next: 'target_on' }],
      target_on: [abort, { event: 'enter', test: (c) => c.inside, next: 'hold' }, { event: 'timeout', test: (c) => c.trialTime >= p.timeoutS, next: 'timeout' }],
      hold: [abort, { event: 'leave', test: (c) => !c.inside, next: 'target_on' }, { event: 'held', test: (_c, dt) => dt >= p.holdS, next: 'success' }],
      success: [{ event: 'next', test: () => true, next: 'iti' }],
      timeout: [{ event: 'next', test: () => true, next: 'iti' }],
      aborted: [{ event: 'resume', test: (c) => !c.stalled, next: 'iti' }],
    };
    this.fsm = new Fsm(table, 'iti', clock);
  }

  get state(): TaskStateName {
    return this.fsm.state;
  }

  /** Trial number of the current (or last) trial, from 0. */
  get trial(): number {
    return Math.max(0, this.started - 1);
  }

  get trialsStarted(): number {
    return this.started;
  }

  /** The target shown (target_on, hold, success), else null. */
  get target(): Target | null {
    const s = this.fsm.state;
    return s === 'target_on' || s === 'hold' || s === 'success' ? this.current : null;
  }

  /** Applies one decode's velocity, then runs the state machine. Returns the marker, if a state changed. */
  decode(vx: number, vy: number): TaskEvent | null {
    this.ctx.stalled = false;
    this.cursor.step(vx, vy);
    if (this.record) this.sample();
    return this.tick();
  }

  /** The decodes have stalled: aborts a trial in progress (a marker), else nothing. */
  stall(): TaskEvent | null {
    this.ctx.stalled = true;
    return this.tick();
  }

  private sample(): void {
    const r = this.record!;
    r.t.push(this.clock.now());
    r.x.push(this.cursor.x);
    r.y.push(this.cursor.y);
  }

  private tick(): TaskEvent | null {
    const c = this.ctx;
    const tg = this.current;
    c.inside = tg !== null && isInside(this.cursor.x, this.cursor.y, tg.x, tg.y, tg.radius);
    c.trialTime = this.clock.now() - this.onsetT;
    c.more = this.started < this.options.maxTrials;
    const f = this.fsm.tick(c);
    return f ? this.apply(f) : null;
  }

  private apply(f: FiredEvent<TaskStateName>): TaskEvent {
    const trial = this.trial;
    if (f.to === 'target_on' && f.event === 'start') {
      this.current = this.sequence.next();
      this.started++;
      this.onsetT = f.t;
      const tg = this.current;
      this.record = { trial: this.started - 1, target: { ...tg }, outcome: 'timeout', t: [], x: [], y: [] };
      this.sample();
      return { state: f.to, event: f.event, trial: this.started - 1, t: f.t,
        text: `target_on trial=${this.started - 1} target=${tg.index} x=${tg.x} y=${tg.y} r=${tg.radius} event=start` };
    }
    if (f.to === 'success' || f.to === 'timeout' || (f.to === 'aborted' && this.record)) this.finish(f.to);
    return { state: f.to, event: f.event, trial, t: f.t, text: `${f.to} trial=${trial} event=${f.event}` };
  }

  private finish(outcome: Outcome): void {
    this.record!.outcome = outcome;
    this.trials.push(this.record!);
    this.record = null;
  }
}
