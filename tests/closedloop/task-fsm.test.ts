/** The trial state machine, the cursor and the target sequence, driven by hand on a bin clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BinClock } from '../../closedloop/task/clock.js';
import { Cursor } from '../../closedloop/task/cursor.js';
import { Fsm } from '../../closedloop/task/fsm.js';
import { CursorTask, type TaskEvent, type TaskOptions } from '../../closedloop/task/task.js';
import { TargetSequence } from '../../closedloop/task/targets.js';
import { trialMetrics } from '../../closedloop/metrics/trial.js';

const BIN_MS = 20;
const OPTS: TaskOptions = { layout: 'centre-out', seed: 7, binMs: BIN_MS, radius: 1.5, distance: 10, holdS: 0.1, timeoutS: 1, itiS: 0.04 };

/** Runs the task for n decodes with a velocity chosen from its state; returns every marker. */
function drive(task: CursorTask, clock: BinClock, n: number, vel: (t: CursorTask) => [number, number]): TaskEvent[] {
  const events: TaskEvent[] = [];
  for (let i = 0; i < n; i++) {
    clock.advance();
    const [vx, vy] = vel(task);
    const e = task.decode(vx, vy);
    if (e) events.push(e);
  }
  return events;
}

/** Straight at the target at 25 units/s, stopping inside. */
function aim(task: CursorTask): [number, number] {
  const tg = task.target;
  if (!tg) return [0, 0];
  const dx = tg.x - task.cursor.x, dy = tg.y - task.cursor.y;
  const d = Math.hypot(dx, dy);
  if (d < 0.5) return [0, 0];
  const s = Math.min(25, d / (BIN_MS / 1000)) / d;
  return [dx * s, dy * s];
}

test('FSM: one transition per tick, in table order, each test given the time in its state', () => {
  const clock = new BinClock(0.5);
  const seen: number[] = [];
  const fsm = new Fsm<'a' | 'b', { go: boolean }>({
    a: [{ event: 'slow', test: (_c, dt) => { seen.push(dt); return dt >= 1; }, next: 'b' }, { event: 'go', test: (c) => c.go, next: 'b' }],
    b: [{ event: 'back', test: () => true, next: 'a' }],
  }, 'a', clock);
  assert.equal(fsm.tick({ go: false }), null);
  clock.advance();
  assert.deepEqual(fsm.tick({ go: true }), { event: 'go', from: 'a', to: 'b', t: 0.5 });
  // b's test holds at once, but the state is seen for one tick first.
  assert.equal(fsm.state, 'b');
  clock.advance();
  assert.equal(fsm.tick({ go: false })!.event, 'back');
  clock.advance(2);
  assert.equal(fsm.tick({ go: false })!.event, 'slow');
  assert.deepEqual(seen, [0, 0.5, 1]);
});

test('cursor: gain, exponential smoothing and the workspace clamp', () => {
  const c = new Cursor({ binMs: 100, gain: 2, halfWidth: 1 });
  c.step(1, -1);
  assert.deepEqual([c.x, c.y], [0.2, -0.2]);
  for (let i = 0; i < 10; i++) c.step(1, -1);
  assert.deepEqual([c.x, c.y], [1, -1]);
  const s = new Cursor({ binMs: 1000, smoothing: 0.5 });
  s.step(2, 0);
  s.step(2, 0);
  assert.deepEqual([s.x, s.y], [1 + 1.5, 0]);
  assert.throws(() => new Cursor({ binMs: 20, smoothing: 1 }), /smoothing/);
});

test('targets: centre-out-and-back visits every outer target once per block, the centre between; seeded', () => {
  const seq = (seed: number): number[] => {
    const s = new TargetSequence({ layout: 'centre-out', seed, radius: 1.5, halfWidth: 15 });
    return Array.from({ length: 32 }, () => s.next().index);
  };
  const a = seq(3);
  assert.deepEqual(a, seq(3));
  assert.notDeepEqual(a, seq(4));
  assert.ok(a.every((k, i) => (i % 2 === 1) === (k === -1)), `centre every second trial: ${a}`);
  const outer = a.filter((k) => k >= 0);
  assert.deepEqual([...outer.slice(0, 8)].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...outer.slice(8, 16)].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  const r = new TargetSequence({ layout: 'random', seed: 1, radius: 2, halfWidth: 10 });
  for (let i = 0; i < 200; i++) {
    const t = r.next();
    assert.ok(Math.abs(t.x) <= 8 && Math.abs(t.y) <= 8 && t.index === -2);
  }
  assert.throws(() => new TargetSequence({ layout: 'centre-out', seed: 1, distance: 14, radius: 2, halfWidth: 15 }), /fit in the workspace/);
});

test('task: iti → target_on → hold → success → iti; the metrics agree with the state machine', () => {
  const clock = new BinClock(BIN_MS / 1000);
  const task = new CursorTask({ ...OPTS, maxTrials: 6 }, clock);
  const ev = drive(task, clock, 600, aim);
  assert.equal(task.trials.length, 6);
  assert.ok(task.trials.every((t) => t.outcome === 'success'));
  assert.equal(task.state, 'iti');
  const names = ev.slice(0, 5).map((e) => `${e.state}:${e.event}`);
  assert.deepEqual(names, ['target_on:start', 'hold:enter', 'success:held', 'iti:next', 'target_on:start']);
  assert.match(ev[0].text, /^target_on trial=0 target=\d x=\S+ y=\S+ r=1.5 event=start$/);
  // The ITI lasted 0.04 s; the hold 0.1 s.
  assert.ok(Math.abs(ev[2].t - ev[1].t - 0.1) < 1e-9);
  assert.ok(Math.abs(ev[4].t - ev[3].t - 0.04) < 1e-9);
  for (const r of task.trials) {
    const on = ev.find((e) => e.trial === r.trial && e.event === 'start')!;
    const hold = ev.find((e) => e.trial === r.trial && e.state === 'hold')!;
    const m = trialMetrics(r);
    assert.ok(Math.abs(m.timeToTarget! - (hold.t - on.t)) < 1e-9, `trial ${r.trial}: ${m.timeToTarget} vs ${hold.t - on.t}`);
    assert.ok(m.pathEfficiency! > 0.99);
  }
  // Centre-out and back: every second target is the centre.
  assert.deepEqual(task.trials.map((t) => t.target.index === -1), [false, true, false, true, false, true]);
});

test('task: a target never reached times out after timeoutS from onset', () => {
  const clock = new BinClock(BIN_MS / 1000);
  const task = new CursorTask({ ...OPTS, maxTrials: 1 }, clock);
  const ev = drive(task, clock, 100, () => [0, 0]);
  assert.deepEqual(ev.map((e) => e.state), ['target_on', 'timeout', 'iti']);
  assert.ok(Math.abs(ev[1].t - ev[0].t - 1) < 1e-9);
  assert.equal(task.trials[0].outcome, 'timeout');
});

test('task: leaving during the hold goes back to target_on, and the hold restarts on re-entry', () => {
  const clock = new BinClock(BIN_MS / 1000);
  const task = new CursorTask({ ...OPTS, maxTrials: 1 }, clock);
  let bumped = false;
  const ev = drive(task, clock, 200, (t) => {
    // Once in the hold for one bin, knock the cursor out, then aim again.
    if (t.state === 'hold' && !bumped) { bumped = true; const tg = t.target!; return [(tg.x - t.cursor.x) * 0 + 150 * Math.sign(tg.x || 1), 150 * Math.sign(tg.y)]; }
    return aim(t);
  });
  const names = ev.map((e) => `${e.state}:${e.event}`);
  assert.deepEqual(names.slice(0, 6), ['target_on:start', 'hold:enter', 'target_on:leave', 'hold:enter', 'success:held', 'iti:next']);
  const m = trialMetrics(task.trials[0]);
  assert.equal(m.exits, 1);
  assert.equal(m.reentries, 1);
  assert.ok(Math.abs(m.timeToTarget! - (ev[3].t - ev[0].t)) < 1e-9);
  assert.ok(m.dialIn! > 0);
});

test('task: a stall aborts the trial in progress; the next decode resumes with an ITI', () => {
  const clock = new BinClock(BIN_MS / 1000);
  const task = new CursorTask({ ...OPTS, maxTrials: 3 }, clock);
  const ev = drive(task, clock, 5, () => [0, 0]);
  assert.equal(task.state, 'target_on');
  const a = task.stall();
  assert.equal(a!.state, 'aborted');
  assert.equal(task.stall(), null, 'a longer stall changes nothing');
  ev.push(a!, ...drive(task, clock, 300, aim));
  assert.deepEqual(ev.slice(0, 4).map((e) => `${e.state}:${e.event}`), ['target_on:start', 'aborted:abort', 'iti:resume', 'target_on:start']);
  assert.deepEqual(task.trials.map((t) => t.outcome), ['aborted', 'success', 'success']);
  // Trials go on numbering after the abort.
  assert.deepEqual(task.trials.map((t) => t.trial), [0, 1, 2]);
});

test('task: the same seed gives the same trials; options are checked', () => {
  const run = (): string => {
    const clock = new BinClock(BIN_MS / 1000);
    const task = new CursorTask({ ...OPTS, layout: 'random', seed: 11, maxTrials: 4 }, clock);
    drive(task, clock, 600, aim);
    return JSON.stringify(task.trials);
  };
  assert.equal(run(), run());
  assert.throws(() => new CursorTask({ ...OPTS, holdS: -1 }, new BinClock(0.02)), /holdS/);
});
