/**
 * The simulated user: the three separable parts (feedback.ts, controller.ts, encoder.ts) wired
 * bin by bin. The task and the decoder sit outside: the user sees only what the task shows
 * (cursor, target, radius, whether a target is up) and produces spike counts.
 */
import type { Prng } from '../../calibration/simulator/prng.js';
import { aim, DEFAULT_CONTROLLER, type ControllerParams } from './controller.js';
import { NeuralEncoder, sessionPrng, type EncoderOptions } from './encoder.js';
import { UserError } from './errors.js';
import { DelayedFeedback } from './feedback.js';

/** What the user sees this bin. */
export interface TaskView {
  cursorX: number;
  cursorY: number;
  targetX: number;
  targetY: number;
  radius: number;
  /** A target is shown and the trial runs (not the inter-trial interval). */
  aiming: boolean;
}

export interface SimulatedUserOptions extends EncoderOptions {
  /** Visual feedback delay, ms (default 200); rounded to whole bins. */
  delayMs?: number;
  /** Forward model over the delay (default true); see feedback.ts. */
  forwardModel?: boolean;
  controller?: Partial<ControllerParams>;
  /** Std of the motor noise added to the intended velocity, per axis, cm/s (default 2). */
  motorNoise?: number;
}

export class SimulatedUser {
  readonly encoder: NeuralEncoder;
  readonly feedback: DelayedFeedback;
  readonly controller: ControllerParams;
  readonly motorNoise: number;
  /** This bin's intended velocity, motor noise included (what the encoder was driven with). */
  readonly intended = new Float64Array(2);
  /** This bin's spike counts (reused every bin). */
  readonly counts: Int16Array;
  private readonly est = new Float64Array(2);
  private readonly aimOut = new Float64Array(2);
  private readonly motorRng: Prng;

  constructor(o: SimulatedUserOptions) {
    this.encoder = new NeuralEncoder(o);
    const binMs = this.encoder.binMs;
    const delayMs = o.delayMs ?? 200;
    if (!(delayMs >= 0 && delayMs <= 10_000)) throw new UserError('EUSEROPTS', `user: delayMs must be in 0–10000, got ${delayMs}`);
    this.feedback = new DelayedFeedback({ delayBins: Math.round(delayMs / binMs), dt: binMs / 1000, forwardModel: o.forwardModel });
    this.controller = { ...DEFAULT_CONTROLLER, ...o.controller };
    for (const [k, v] of Object.entries(this.controller))
      if (!(Number.isFinite(v) && v >= 0)) throw new UserError('EUSEROPTS', `user: controller ${k} must be a finite number ≥ 0, got ${v}`);
    this.motorNoise = o.motorNoise ?? 2;
    if (!(this.motorNoise >= 0)) throw new UserError('EUSEROPTS', `user: motorNoise must be ≥ 0 cm/s, got ${o.motorNoise}`);
    this.motorRng = sessionPrng(o, 4);
    this.counts = new Int16Array(this.encoder.channels);
  }

  /** Closed loop: sees the task (null before any task state arrived: rest), aims, spikes. */
  step(view: TaskView | null): Int16Array {
    let ux = 0, uy = 0;
    let aiming = false;
    if (view) {
      this.feedback.observe(view.cursorX, view.cursorY);
      aiming = view.aiming;
      if (this.feedback.estimate(this.est)) {
        aim(this.controller, this.est[0], this.est[1], view.targetX, view.targetY, view.radius, aiming, this.aimOut);
        ux = this.aimOut[0];
        uy = this.aimOut[1];
      }
    }
    return this.drive(ux, uy, aiming);
  }

  /** Open loop: the user intends along a given velocity (calibration block); feedback still tracks the cursor. */
  stepAlong(cursorX: number, cursorY: number, vx: number, vy: number, engaged: boolean): Int16Array {
    this.feedback.observe(cursorX, cursorY);
    return this.drive(vx, vy, engaged);
  }

  private drive(ux: number, uy: number, engaged: boolean): Int16Array {
    const s = this.motorNoise;
    const ix = ux + s * this.motorRng.normal();
    const iy = uy + s * this.motorRng.normal();
    this.intended[0] = ix;
    this.intended[1] = iy;
    this.feedback.intend(ix, iy);
    this.encoder.step(ix, iy, engaged, this.counts);
    return this.counts;
  }
}
