/**
 * Closed-loop metrics of one trial, from its cursor trajectory alone, so the live task and a
 * recording give the same numbers. Pure functions.
 *
 * A trial's trajectory runs from target onset (sample 0: the cursor where the target appeared)
 * to its end (success, timeout or abort), one sample per decode. The cursor is inside the target
 * when its distance to the centre is ≤ the radius (`isInside`, the task's own test). An entry is
 * a sample inside after one outside, or sample 1 inside (the task tests from the first decode
 * after onset, so a cursor already in the target enters there); an exit the reverse.
 *
 * Definitions (s for times; workspace units for lengths):
 *  - timeToTarget: onset → start of the successful hold (the last entry of a successful trial);
 *  - dialIn: first entry → start of the successful hold (0 when the first entry was held);
 *  - pathEfficiency: straight distance from the start to the first-entry point ÷ path length
 *    travelled until then (1 = straight line; null if never entered or nothing travelled);
 *  - exits: exits after the first entry (overshoots and failed holds);
 *  - overshoot: the furthest the cursor got outside the target's edge after the first entry,
 *    up to the successful hold or the end (0 if it never left);
 *  - reentries: entries after the first;
 *  - orbit: how far the cursor circled the target, in turns: Σ|Δθ|/2π of its bearing from the
 *    target centre over consecutive samples that are both outside the target, from onset up to
 *    the successful hold or the end. A straight approach turns 0 (its bearing does not change),
 *    a cursor that goes round the target once turns 1, one that passes it and comes back ½;
 *  - throughput (Fitts, Shannon form): ID = log₂(D/W + 1) bits with D the distance from the start
 *    to the target centre and W the target diameter, ÷ timeToTarget, bits/s.
 * Metrics a trial does not define (time to target of a failure, …) are null.
 */

export type Outcome = 'success' | 'timeout' | 'aborted';

export interface TrialTarget {
  /** Outer target number, −1 for the centre, −2 for a random target. */
  index: number;
  x: number;
  y: number;
  radius: number;
}

export interface TrialRecord {
  trial: number;
  target: TrialTarget;
  outcome: Outcome;
  /** Sample times, s (one clock), from onset to the end, ascending. */
  t: number[];
  x: number[];
  y: number[];
}

export interface TrialMetrics {
  trial: number;
  target: number;
  outcome: Outcome;
  success: boolean;
  /** Onset to end, s. */
  duration: number;
  distance: number;
  indexOfDifficulty: number;
  timeToTarget: number | null;
  dialIn: number | null;
  pathEfficiency: number | null;
  entries: number;
  reentries: number;
  exits: number;
  overshoot: number | null;
  orbit: number;
  throughput: number | null;
}

export function isInside(x: number, y: number, tx: number, ty: number, radius: number): boolean {
  return Math.hypot(x - tx, y - ty) <= radius;
}

/** Shannon index of difficulty, bits. */
export function indexOfDifficulty(distance: number, width: number): number {
  return Math.log2(distance / width + 1);
}

export function trialMetrics(r: TrialRecord): TrialMetrics {
  const n = r.t.length;
  if (n === 0 || r.x.length !== n || r.y.length !== n) throw new RangeError(`trial ${r.trial}: t, x, y must have the same non-zero length (got ${n}, ${r.x.length}, ${r.y.length})`);
  const { x: tx, y: ty, radius } = r.target;
  const inside = (i: number): boolean => isInside(r.x[i], r.y[i], tx, ty, radius);
  const entries: number[] = [];
  // From sample 1: the task tests for an entry from the first decode after onset on.
  for (let i = 1; i < n; i++) if (inside(i) && (i === 1 || !inside(i - 1))) entries.push(i);
  const success = r.outcome === 'success';
  const first = entries.length > 0 ? entries[0] : -1;
  // A successful trial ends in its hold, which began at the last entry.
  const holdStart = success && entries.length > 0 ? entries[entries.length - 1] : -1;
  const stop = holdStart >= 0 ? holdStart : n - 1;

  let exits = 0;
  let overshoot: number | null = null;
  if (first >= 0) {
    overshoot = 0;
    for (let i = first + 1; i <= stop; i++) {
      if (!inside(i) && inside(i - 1)) exits++;
      overshoot = Math.max(overshoot, Math.hypot(r.x[i] - tx, r.y[i] - ty) - radius);
    }
  }
  let turned = 0;
  for (let i = 1; i <= stop; i++) {
    if (inside(i) || inside(i - 1)) continue;
    let d = Math.atan2(r.y[i] - ty, r.x[i] - tx) - Math.atan2(r.y[i - 1] - ty, r.x[i - 1] - tx);
    if (d > Math.PI) d -= 2 * Math.PI;
    else if (d < -Math.PI) d += 2 * Math.PI;
    turned += Math.abs(d);
  }

  let pathEfficiency: number | null = null;
  if (first >= 0) {
    let path = 0;
    for (let i = 1; i <= first; i++) path += Math.hypot(r.x[i] - r.x[i - 1], r.y[i] - r.y[i - 1]);
    const straight = Math.hypot(r.x[first] - r.x[0], r.y[first] - r.y[0]);
    pathEfficiency = path > 0 ? straight / path : null;
  }

  const distance = Math.hypot(tx - r.x[0], ty - r.y[0]);
  const id = indexOfDifficulty(distance, 2 * radius);
  const ttt = holdStart >= 0 ? r.t[holdStart] - r.t[0] : null;
  return {
    trial: r.trial,
    target: r.target.index,
    outcome: r.outcome,
    success,
    duration: r.t[n - 1] - r.t[0],
    distance,
    indexOfDifficulty: id,
    timeToTarget: ttt,
    dialIn: holdStart >= 0 ? r.t[holdStart] - r.t[first] : null,
    pathEfficiency,
    entries: entries.length,
    reentries: Math.max(0, entries.length - 1),
    exits,
    overshoot,
    orbit: turned / (2 * Math.PI),
    throughput: ttt !== null && ttt > 0 ? id / ttt : null,
  };
}
