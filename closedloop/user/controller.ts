/**
 * Part 2 of the simulated user: the feedback controller (Willett et al.'s point-at-target
 * policy). The intended velocity points along the unit vector from the user's estimate of the
 * cursor to the target; its speed saturates with distance, v = vmax·d/(d + d0), so the user
 * pushes hard from afar and slows on approach; inside the target (d ≤ r·holdFraction) the user
 * intends to stop and hold. Motor noise is added outside this function (the caller draws it
 * from the seeded PRNG), so the policy stays a pure function of its inputs.
 */

export interface ControllerParams {
  /** Saturating speed, workspace units/s (cm/s by default: 10 cm reaches). */
  vmax: number;
  /** Distance at which the speed is half of vmax. */
  d0: number;
  /** The user stops once the estimate is within holdFraction × target radius of the centre. */
  holdFraction: number;
}

export const DEFAULT_CONTROLLER: ControllerParams = { vmax: 30, d0: 3, holdFraction: 0.5 };

/**
 * Intended velocity into out[0..1] for an estimate (ex, ey) and a target (tx, ty) of radius r.
 * `aiming` false (no target shown, inter-trial interval) means rest: zero.
 */
export function aim(p: ControllerParams, ex: number, ey: number, tx: number, ty: number, r: number, aiming: boolean, out: Float64Array | number[]): void {
  const dx = tx - ex, dy = ty - ey;
  const d = Math.hypot(dx, dy);
  if (!aiming || !(d > r * p.holdFraction) || !Number.isFinite(d)) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const speed = (p.vmax * d) / (d + p.d0);
  out[0] = (speed * dx) / d;
  out[1] = (speed * dy) / d;
}
