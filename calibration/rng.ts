/** A seeded PRNG (model/init.ts's mulberry32) whose state can be saved in a checkpoint and restored. */
import { mulberry32Advance, mulberry32Value } from '../model/init.js';

export class Rng {
  constructor(public state: number) { this.state >>>= 0; }
  /** Uniform [0, 1). */
  next(): number {
    this.state = mulberry32Advance(this.state);
    return mulberry32Value(this.state);
  }
  /** An integer seed for TF.js random ops. */
  seed(): number { return Math.floor(this.next() * 2 ** 31); }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}
