/**
 * The Wiener filter as the daemon runs it: velocity = bias + W · [counts_t, counts_t−1, …,
 * counts_t−lags+1], the lags in a ring of the last bins, zero before the first bin after a reset
 * (as calibration/linear.ts lagged() pads the start of a block), so its output equals
 * applyAffine(fit, lagged(counts, lags)) over the same bins. Allocates nothing per bin.
 */
import type { WienerBaseline } from './baselines.js';
import { InputError } from './errors.js';
import { validateCounts } from './filter.js';

export class WienerFilter {
  readonly kind = 'wiener';
  private readonly n: number;
  private readonly lags: number;
  private readonly weight: Float32Array;
  private readonly bias: Float32Array;
  /** The last `lags` bins, `head` the newest. */
  private readonly ring: Float32Array;
  private head = 0;
  private readonly velocity: Float32Array;
  private readonly out: { velocity: Float32Array };

  constructor(b: WienerBaseline, nIn: number, velocityDim: number) {
    if (b.weight.length !== velocityDim * b.lags * nIn || b.bias.length !== velocityDim)
      throw new RangeError(`wiener: weights [${b.weight.length}] and bias [${b.bias.length}] do not fit ${velocityDim} outputs × ${b.lags} lags × ${nIn} channels`);
    this.n = nIn;
    this.lags = b.lags;
    this.weight = b.weight;
    this.bias = b.bias;
    this.ring = new Float32Array(b.lags * nIn);
    this.velocity = new Float32Array(velocityDim);
    this.out = { velocity: this.velocity };
  }

  reset(): void {
    this.ring.fill(0);
    this.head = 0;
    this.velocity.fill(0);
  }

  /** Continues from another Wiener filter's last bins (a hot swap between two bins); same lags and channels only. */
  carryFrom(other: WienerFilter): void {
    if (other.lags !== this.lags || other.n !== this.n) throw new RangeError(`wiener: cannot carry ${other.lags} lags × ${other.n} channels into ${this.lags} × ${this.n}`);
    this.ring.set(other.ring);
    this.head = other.head;
    this.velocity.set(other.velocity);
  }

  step(counts: ArrayLike<number>): { velocity: Float32Array } {
    const bad = validateCounts(counts, this.n);
    if (bad !== null) throw new InputError(bad);
    return this.stepUnchecked(counts);
  }

  /** One bin; sums in applyAffine's order (lag 0 first, channels ascending). The output is a view. */
  stepUnchecked(counts: ArrayLike<number>): { velocity: Float32Array } {
    const { n, lags, ring, weight, bias } = this;
    this.head = this.head + 1 === lags ? 0 : this.head + 1;
    const o = this.head * n;
    for (let i = 0; i < n; i++) ring[o + i] = counts[i];
    const p = lags * n;
    const v = this.velocity;
    for (let c = 0; c < v.length; c++) {
      let acc = bias[c];
      for (let l = 0; l < lags; l++) {
        const row = (this.head - l + lags) % lags * n;
        const w = c * p + l * n;
        for (let i = 0; i < n; i++) acc += weight[w + i] * ring[row + i];
      }
      v[c] = acc;
    }
    return this.out;
  }
}
