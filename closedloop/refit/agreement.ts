/**
 * How well ReFIT's intention estimate matches the intention the user really had, where the truth
 * is known (the simulated user writes it: `simulate-user --intention-out`). No lab has this; it
 * says which of ReFIT's assumptions hold for a block: the direction (re-aimed at the target), the
 * speed (the decoder's, kept) and zero while on the target.
 *
 * Per phase of the estimate (reach: outside the target; target: the hold or inside the radius),
 * over the bins the estimate uses: R² of the estimate against the truth (both axes pooled about
 * their means), the mean angle between them where both move, and the ratio of mean speeds.
 */
import type { Mat } from '../../calibration/linear.js';
import type { Phase } from './intention.js';
import { nearest } from './recording.js';

export interface PhaseAgreement {
  bins: number;
  /** 1 − Σ‖estimate − truth‖² / Σ‖truth − mean truth‖². */
  r2: number | null;
  /** Mean absolute angle (degrees) between estimate and truth, over bins where both exceed 1 cm/s. */
  angleDeg: number | null;
  /** Mean estimated speed ÷ mean true speed. */
  speedRatio: number | null;
  /** Mean true speed, cm/s (what the user wanted while the estimate says this phase). */
  trueSpeed: number | null;
}

export interface IntentionAgreement {
  reach: PhaseAgreement;
  onTarget: PhaseAgreement;
  /** Bins used by the estimate that had a true intention within half a bin. */
  matched: number;
}

const MOVING = 1;

function agreement(est: Float32Array, truth: Float64Array, rows: number[]): PhaseAgreement {
  const n = rows.length;
  if (n === 0) return { bins: 0, r2: null, angleDeg: null, speedRatio: null, trueSpeed: null };
  let mx = 0, my = 0;
  for (const t of rows) { mx += truth[2 * t]; my += truth[2 * t + 1]; }
  mx /= n; my /= n;
  let sse = 0, sst = 0, se = 0, st = 0, ang = 0, moving = 0;
  for (const t of rows) {
    const ex = est[2 * t], ey = est[2 * t + 1], tx = truth[2 * t], ty = truth[2 * t + 1];
    sse += (ex - tx) ** 2 + (ey - ty) ** 2;
    sst += (tx - mx) ** 2 + (ty - my) ** 2;
    const es = Math.hypot(ex, ey), ts = Math.hypot(tx, ty);
    se += es; st += ts;
    if (es > MOVING && ts > MOVING) {
      ang += Math.acos(Math.max(-1, Math.min(1, (ex * tx + ey * ty) / (es * ts))));
      moving++;
    }
  }
  return {
    bins: n,
    r2: sst > 0 ? 1 - sse / sst : null,
    angleDeg: moving > 0 ? (ang / moving) * (180 / Math.PI) : null,
    speedRatio: st > 0 ? se / st : null,
    trueSpeed: st / n,
  };
}

/**
 * estimate [T × 2] and valid [T] from estimateIntention; cursor [T × 2] and target [T × 3] as
 * given to it; bin stamps [T]; the truth as stamps and [M × 2] velocities (sorted stamps).
 */
export function intentionAgreement(
  estimate: Mat, valid: readonly boolean[], phase: readonly Phase[], cursor: Mat, target: Mat,
  binStamps: Float64Array, truthStamps: Float64Array, truth: ArrayLike<number>, binS: number,
): IntentionAgreement {
  const T = estimate.rows;
  const aligned = new Float64Array(2 * T);
  const reach: number[] = [], onTarget: number[] = [];
  const hint = { i: 0 };
  for (let t = 0; t < T; t++) {
    if (!valid[t]) continue;
    const k = nearest(truthStamps, binStamps[t], binS / 2, hint);
    if (k < 0) continue;
    aligned[2 * t] = truth[2 * k];
    aligned[2 * t + 1] = truth[2 * k + 1];
    const c = cursor.data, g = target.data;
    const inside = phase[t] === 'hold' || Math.hypot(g[3 * t] - c[2 * t], g[3 * t + 1] - c[2 * t + 1]) <= g[3 * t + 2];
    (inside ? onTarget : reach).push(t);
  }
  const est = estimate.data as Float32Array;
  return { reach: agreement(est, aligned, reach), onTarget: agreement(est, aligned, onTarget), matched: reach.length + onTarget.length };
}
