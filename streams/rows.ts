/**
 * A growable row buffer with a parallel timestamp column: rows of `width` numbers appended one at a
 * time, capacity doubled when full (the recorder drains it often, so that is rare there).
 */
export class Rows<T extends Float64Array | Int32Array> {
  n = 0;
  ts: Float64Array;
  constructor(readonly width: number, public data: T, capacity: number) {
    this.ts = new Float64Array(capacity);
  }
  get capacity(): number {
    return this.ts.length;
  }
  /** Index of a fresh row; doubles the capacity when full (rare: only when a drain is late). */
  next(t: number): number {
    if (this.n === this.capacity) {
      const ts = new Float64Array(this.capacity * 2);
      ts.set(this.ts);
      this.ts = ts;
      const d = new (this.data.constructor as { new (n: number): T })(this.capacity * this.width);
      d.set(this.data);
      this.data = d;
    }
    this.ts[this.n] = t;
    return this.n++;
  }
}
