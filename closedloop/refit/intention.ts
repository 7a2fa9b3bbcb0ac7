/**
 * ReFIT intention estimation (Gilja et al. 2012), a pure function of what a closed-loop
 * recording holds for one bin: the decoded velocity, the cursor, the target and the task phase.
 * The user is assumed to have wanted to go straight at the target at the speed the decoder
 * produced: the decoded vector is rotated onto the cursor→target direction, its length kept.
 * While the cursor is on the target (the hold, or inside the radius) the user wanted to stay
 * put: zero. Bins with no target to aim at (inter-trial interval, ended trials) say nothing
 * about the intention and are left out of the refit.
 */
import { mat, type Mat } from '../../calibration/linear.js';

/** What the task was doing in a bin, as far as the intention goes. */
export type Phase = 'reach' | 'hold' | 'none';

/**
 * What the bins on the target say: 'zero' (Gilja et al.: the user wants to stay put), or 'skip'
 * (left out of the refit: for a user who keeps aiming at the centre while inside, whose gentle
 * push labelled zero teaches the readout to stall at the target's edge).
 */
export type OnTarget = 'zero' | 'skip';
export const ON_TARGET: readonly OnTarget[] = ['zero', 'skip'];

/**
 * One bin: writes the intended velocity into out[0..1] and returns whether the bin is usable.
 * (tx, ty, r): target centre and radius in cursor space.
 */
export function intentionOf(vx: number, vy: number, cx: number, cy: number, tx: number, ty: number, r: number, phase: Phase, out: Float64Array | Float32Array | number[], outOffset = 0, onTarget: OnTarget = 'zero'): boolean {
  out[outOffset] = 0;
  out[outOffset + 1] = 0;
  if (phase === 'none') return false;
  const vals = [vx, vy, cx, cy, tx, ty];
  for (const v of vals) if (!Number.isFinite(v)) return false;
  if (phase === 'hold') return onTarget === 'zero';
  const dx = tx - cx, dy = ty - cy;
  const d = Math.hypot(dx, dy);
  if (d <= r) return onTarget === 'zero'; // on the target: zero, or no label
  const speed = Math.hypot(vx, vy);
  out[outOffset] = (speed * dx) / d;
  out[outOffset + 1] = (speed * dy) / d;
  return true;
}

/**
 * Every bin of a block: decoded [T × 2], cursor [T × 2], target [T × 3] (x, y, radius), phase [T].
 * Returns the relabelled velocity [T × 2] and which bins are usable.
 */
export function estimateIntention(decoded: Mat, cursor: Mat, target: Mat, phase: readonly Phase[], onTarget: OnTarget = 'zero'): { intention: Mat; valid: boolean[] } {
  const T = decoded.rows;
  if (decoded.cols !== 2 || cursor.cols !== 2 || target.cols !== 3 || cursor.rows !== T || target.rows !== T || phase.length !== T)
    throw new RangeError(`intention: expected decoded [T × 2], cursor [T × 2], target [T × 3], phase [T] with one T; got [${decoded.rows} × ${decoded.cols}], [${cursor.rows} × ${cursor.cols}], [${target.rows} × ${target.cols}], ${phase.length}`);
  const out = new Float32Array(T * 2);
  const valid: boolean[] = new Array(T);
  const d = decoded.data, c = cursor.data, g = target.data;
  for (let t = 0; t < T; t++)
    valid[t] = intentionOf(d[2 * t], d[2 * t + 1], c[2 * t], c[2 * t + 1], g[3 * t], g[3 * t + 1], g[3 * t + 2], phase[t], out, 2 * t, onTarget);
  return { intention: mat(out, T, 2), valid };
}
