/**
 * Seeded generators of malformed input, on the project's one PRNG (model/init.ts mulberry32), so a
 * failing case is reproduced by its surface, seed and index alone.
 */
import { mulberry32 } from '../model/init.js';

/** Values that break parsers more often than uniform bytes do: boundaries of every integer width. */
const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export class Gen {
  private readonly rand: () => number;
  constructor(readonly seed: number) {
    this.rand = mulberry32(seed);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.rand();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** A length skewed towards small values (most parsers fail at the first few bytes). */
  size(max: number): number {
    return Math.floor(max * this.rand() ** 3);
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = (this.rand() * 256) | 0;
    return b;
  }
  interesting(): number {
    return this.pick(INTERESTING_U32);
  }
  /** A string of random code units, including lone surrogates, NUL, quotes and markup. */
  text(max: number): string {
    const n = this.size(max);
    const special = ['<', '>', '&', "'", '"', '\u0000', '\r', '\n', '\ud800', '\uffff', '/', '[', ']', '(', ')', '=', '@', '*', '\\', '{', '}', ':', ','];
    let s = '';
    for (let i = 0; i < n; i++) s += this.chance(0.3) ? this.pick(special) : String.fromCharCode(this.chance(0.9) ? 32 + this.int(95) : this.int(0x10000));
    return s;
  }

  /**
   * One of the classic mutations of a valid input: truncation, bit flips, byte overwrites with
   * boundary values, a deleted, duplicated or inserted span. Returns the mutated copy and its kind.
   */
  mutate(src: Uint8Array): { bytes: Buffer; how: 'truncate' | 'bitflip' | 'overwrite' | 'delete' | 'duplicate' | 'insert' } {
    const b = Buffer.from(src);
    const n = b.length;
    const how = this.pick(['truncate', 'bitflip', 'bitflip', 'overwrite', 'delete', 'duplicate', 'insert'] as const);
    if (n === 0) return { bytes: this.bytes(1 + this.int(8)), how: 'insert' };
    switch (how) {
      case 'truncate':
        return { bytes: b.subarray(0, this.int(n)), how };
      case 'bitflip': {
        const flips = 1 + this.size(16);
        for (let k = 0; k < flips; k++) b[this.int(n)] ^= 1 << this.int(8);
        return { bytes: b, how };
      }
      case 'overwrite': {
        const at = this.int(n);
        const v = this.interesting();
        const width = this.pick([1, 2, 4]);
        for (let k = 0; k < width && at + k < n; k++) b[at + k] = (v >>> (8 * k)) & 0xff;
        return { bytes: b, how };
      }
      case 'delete': {
        const at = this.int(n), len = 1 + this.size(n - at);
        return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(Math.min(n, at + len))]), how };
      }
      case 'duplicate': {
        const at = this.int(n), len = 1 + this.size(Math.min(4096, n - at));
        const span = b.subarray(at, at + len);
        return { bytes: Buffer.concat([b.subarray(0, at), span, span, b.subarray(at + len)]), how };
      }
      case 'insert': {
        const at = this.int(n + 1);
        return { bytes: Buffer.concat([b.subarray(0, at), this.bytes(1 + this.size(64)), b.subarray(at)]), how };
      }
    }
  }
}

/** The seed of case i of a surface: every case can be regenerated on its own. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}
