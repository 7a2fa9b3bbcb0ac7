// Hot kernels of the online filter, compiled by AssemblyScript to WebAssembly with SIMD.
// Every pointer is a byte offset into this instance's linear memory; JS places all buffers there
// once (model/kernels-wasm.ts) and the memory never grows, so the kernels never allocate.
// Pointer 0 means "absent" (JS never places a buffer below the first 64 KiB page).

// Sum of each of four accumulators, returned as one vector [Σa, Σb, Σc, Σd] (a 4×4 transpose-add).
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

// @ts-ignore: decorator
@inline function hsum1(a: v128): f32 {
  const s = f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// One row at a time (rows left over after the blocked loop): dot product of a row with x.
// @ts-ignore: decorator
@inline function dotRow(w: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  const c8 = cols & ~7;
  const c4 = cols & ~3;
  let c = 0;
  for (; c < c8; c += 8) {
    const o = <usize>c << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w + o), v128.load(x + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w + o, 16), v128.load(x + o, 16)));
  }
  if (c < c4) {
    const o = <usize>c << 2;
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w + o), v128.load(x + o)));
    c += 4;
  }
  let s = hsum1(f32x4.add(a0, a1));
  for (; c < cols; c++) {
    const o = <usize>c << 2;
    s += load<f32>(w + o) * load<f32>(x + o);
  }
  return s;
}

/**
 * y = W·x (+ b). W row-major [rows, cols] (PyTorch layout). Four rows at a time, eight columns per
 * iteration (two vectors per row, eight independent accumulators), so each x vector is loaded
 * once for four rows and the additions of one row do not wait on each other.
 */
export function gemv(y: usize, w: usize, x: usize, b: usize, rows: i32, cols: i32): void {
  const stride = <usize>cols << 2;
  const c8 = cols & ~7;
  const hasTail4 = (cols & 4) != 0;
  const c4 = cols & ~3;
  const r4 = rows & ~3;
  let r = 0;
  for (; r < r4; r += 4) {
    const w0 = w + <usize>r * stride;
    const w1 = w0 + stride;
    const w2 = w1 + stride;
    const w3 = w2 + stride;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (let o: usize = 0, e = <usize>c8 << 2; o < e; o += 32) {
      const xa = v128.load(x + o);
      const xb = v128.load(x + o, 16);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + o), xa));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + o), xa));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + o), xa));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + o), xa));
      b0 = f32x4.add(b0, f32x4.mul(v128.load(w0 + o, 16), xb));
      b1 = f32x4.add(b1, f32x4.mul(v128.load(w1 + o, 16), xb));
      b2 = f32x4.add(b2, f32x4.mul(v128.load(w2 + o, 16), xb));
      b3 = f32x4.add(b3, f32x4.mul(v128.load(w3 + o, 16), xb));
    }
    if (hasTail4) {
      const o = <usize>c8 << 2;
      const xa = v128.load(x + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(w0 + o), xa));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(w1 + o), xa));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(w2 + o), xa));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(w3 + o), xa));
    }
    let s = hsum4(f32x4.add(a0, b0), f32x4.add(a1, b1), f32x4.add(a2, b2), f32x4.add(a3, b3));
    if (c4 < cols) {
      // Up to three trailing columns, scalar.
      let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
      for (let c = c4; c < cols; c++) {
        const o = <usize>c << 2;
        const xv = load<f32>(x + o);
        t0 += load<f32>(w0 + o) * xv;
        t1 += load<f32>(w1 + o) * xv;
        t2 += load<f32>(w2 + o) * xv;
        t3 += load<f32>(w3 + o) * xv;
      }
      s = f32x4.add(s, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(t0), 1, t1), 2, t2), 3, t3));
    }
    const yo = <usize>r << 2;
    if (b != 0) s = f32x4.add(s, v128.load(b + yo));
    v128.store(y + yo, s);
  }
  for (; r < rows; r++) {
    const yo = <usize>r << 2;
    let s = dotRow(w + <usize>r * stride, x, cols);
    if (b != 0) s += load<f32>(b + yo);
    store<f32>(y + yo, s);
  }
}

/**
 * y = W·x (+ b) for W in the packed layout of model/kernels-ts.ts packRows4: blocks of four rows
 * stored [cols][4], then the rows % 4 last rows row-major. Each column's four weights are one
 * vector multiplied by that x value splatted, so the weights stream sequentially; four
 * accumulators (one per column of a group of four) keep the additions independent.
 */
export function gemvPacked(y: usize, w: usize, x: usize, b: usize, rows: i32, cols: i32): void {
  const blockBytes = <usize>cols << 4;
  const groupEnd = <usize>(cols & ~3) << 2;
  const colEnd = <usize>cols << 2;
  const r4 = rows & ~3;
  let p = w;
  for (let r = 0; r < r4; r += 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let o: usize = 0;
    for (; o < groupEnd; o += 16) {
      const xv = v128.load(x + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p), v128.shuffle<f32>(xv, xv, 0, 0, 0, 0)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p, 16), v128.shuffle<f32>(xv, xv, 1, 1, 1, 1)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p, 32), v128.shuffle<f32>(xv, xv, 2, 2, 2, 2)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p, 48), v128.shuffle<f32>(xv, xv, 3, 3, 3, 3)));
      p += 64;
    }
    for (; o < colEnd; o += 4) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p), v128.load32_splat(x + o)));
      p += 16;
    }
    let s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
    const yo = <usize>r << 2;
    if (b != 0) s = f32x4.add(s, v128.load(b + yo));
    v128.store(y + yo, s);
  }
  for (let r = r4; r < rows; r++) {
    const yo = <usize>r << 2;
    let s = dotRow(p, x, cols);
    if (b != 0) s += load<f32>(b + yo);
    store<f32>(y + yo, s);
    p += colEnd;
  }
}
