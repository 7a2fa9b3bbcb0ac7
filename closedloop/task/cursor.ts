/**
 * The cursor: decoded velocity integrated over one bin per decode, with a gain, optional
 * exponential smoothing of the velocity and a clamp to the workspace.
 */
export interface CursorOptions {
  /** Bin width, ms: each decode moves the cursor by v·binMs/1000. */
  binMs: number;
  /** Multiplies the decoded velocity (default 1). */
  gain?: number;
  /** Exponential smoothing factor α ∈ [0, 1): v̂ ← α·v̂ + (1 − α)·v (default 0: none). */
  smoothing?: number;
  /** Workspace half-width, same units as position: the cursor stays in [−w, w]² (default 15). */
  halfWidth?: number;
}

export class Cursor {
  x = 0;
  y = 0;
  private vx = 0;
  private vy = 0;
  private readonly dt: number;
  private readonly gain: number;
  private readonly alpha: number;
  readonly halfWidth: number;

  constructor(o: CursorOptions) {
    if (!(o.binMs > 0)) throw new RangeError(`cursor: binMs must be > 0, got ${o.binMs}`);
    this.dt = o.binMs / 1000;
    this.gain = o.gain ?? 1;
    this.alpha = o.smoothing ?? 0;
    this.halfWidth = o.halfWidth ?? 15;
    if (!(this.alpha >= 0 && this.alpha < 1)) throw new RangeError(`cursor: smoothing must be in [0, 1), got ${this.alpha}`);
    if (!(this.halfWidth > 0)) throw new RangeError(`cursor: workspace half-width must be > 0, got ${this.halfWidth}`);
  }

  /** Applies one decode's velocity. */
  step(vx: number, vy: number): void {
    const a = this.alpha;
    this.vx = a * this.vx + (1 - a) * this.gain * vx;
    this.vy = a * this.vy + (1 - a) * this.gain * vy;
    const w = this.halfWidth;
    this.x = Math.min(w, Math.max(-w, this.x + this.vx * this.dt));
    this.y = Math.min(w, Math.max(-w, this.y + this.vy * this.dt));
  }

  /** Places the cursor and forgets the smoothed velocity. */
  moveTo(x: number, y: number): void {
    this.x = x;
    this.y = y;
    this.vx = 0;
    this.vy = 0;
  }
}
