/**
 * Where the targets appear, trial by trial. Seeded with the project's one PRNG (mulberry32).
 *  - centre-out (and back): the outer targets are shown in a shuffled order, each block of them
 *    once, and every outer trial is followed by a trial to the centre; index −1 is the centre;
 *  - random: each target uniformly in the workspace (kept a radius inside its edge), for
 *    throughput across distances; index RANDOM_TARGET (−2), so they summarise as one group.
 */
import { mulberry32 } from '../../model/init.js';

export const CENTRE_TARGET = -1;
export const RANDOM_TARGET = -2;

export type Layout = 'centre-out' | 'random';

export interface TargetOptions {
  layout: Layout;
  seed: number;
  /** Outer targets of the centre-out layout (default 8), evenly spaced from angle 0. */
  count?: number;
  /** Distance of the outer targets from the centre (default 10). */
  distance?: number;
  radius: number;
  /** Workspace half-width, for the random layout. */
  halfWidth: number;
}

export interface Target {
  /** Outer target number (0…count−1), CENTRE_TARGET (−1) or RANDOM_TARGET (−2). */
  index: number;
  x: number;
  y: number;
  radius: number;
}

export class TargetSequence {
  private readonly rand: () => number;
  private order: number[] = [];
  private trial = 0;
  readonly count: number;
  readonly distance: number;

  constructor(private readonly o: TargetOptions) {
    this.rand = mulberry32(o.seed);
    this.count = o.count ?? 8;
    this.distance = o.distance ?? 10;
    if (!Number.isInteger(this.count) || this.count < 1) throw new RangeError(`targets: count must be an integer ≥ 1, got ${this.count}`);
    if (!(o.radius > 0)) throw new RangeError(`targets: radius must be > 0, got ${o.radius}`);
    if (o.layout === 'centre-out' && !(this.distance + o.radius <= o.halfWidth))
      throw new RangeError(`targets: distance + radius (${this.distance + o.radius}) must fit in the workspace half-width ${o.halfWidth}`);
    if (o.layout === 'random' && !(o.radius < o.halfWidth)) throw new RangeError(`targets: radius ${o.radius} must be below the workspace half-width ${o.halfWidth}`);
  }

  /** The position of outer target k of the centre-out layout. */
  outer(k: number): Target {
    const a = (2 * Math.PI * k) / this.count;
    return { index: k, x: this.distance * Math.cos(a), y: this.distance * Math.sin(a), radius: this.o.radius };
  }

  next(): Target {
    const t = this.trial++;
    if (this.o.layout === 'random') {
      const span = this.o.halfWidth - this.o.radius;
      return { index: RANDOM_TARGET, x: (2 * this.rand() - 1) * span, y: (2 * this.rand() - 1) * span, radius: this.o.radius };
    }
    if (t % 2 === 1) return { index: CENTRE_TARGET, x: 0, y: 0, radius: this.o.radius };
    if (this.order.length === 0) {
      this.order = Array.from({ length: this.count }, (_, k) => k);
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
    }
    return this.outer(this.order.shift()!);
  }
}
