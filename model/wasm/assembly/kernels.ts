// Hot kernels of the online filter, compiled by AssemblyScript to WebAssembly with SIMD.
// Every pointer is a byte offset into this instance's linear memory; JS places all buffers there
// once (model/kernels-wasm.ts) and the memory never grows, so the kernels never allocate.
// Pointer 0 means "absent" (JS never places a buffer below the first 64 KiB page).

// @ts-ignore: decorator
@inline function hsum1(a: v128): f32 {
  const s = f32x4.add(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

// Dot product of one row with x: sixteen columns per iteration into four independent
// accumulators, then groups of four, then up to three scalar columns.
// @ts-ignore: decorator
@inline function dotRow(w: usize, x: usize, cols: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const e16 = <usize>(cols & ~15) << 2;
  const e4 = <usize>(cols & ~3) << 2;
  const e = <usize>cols << 2;
  let o: usize = 0;
  for (; o < e16; o += 64) {
    a0 = f32x4.add(a0, f32x4.mul(v128.load(w + o), v128.load(x + o)));
    a1 = f32x4.add(a1, f32x4.mul(v128.load(w + o, 16), v128.load(x + o, 16)));
    a2 = f32x4.add(a2, f32x4.mul(v128.load(w + o, 32), v128.load(x + o, 32)));
    a3 = f32x4.add(a3, f32x4.mul(v128.load(w + o, 48), v128.load(x + o, 48)));
  }
  for (; o < e4; o += 16) a0 = f32x4.add(a0, f32x4.mul(v128.load(w + o), v128.load(x + o)));
  let s = hsum1(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; o < e; o += 4) s += load<f32>(w + o) * load<f32>(x + o);
  return s;
}

/**
 * y = W·x (+ b). W row-major [rows, cols] (PyTorch layout). One row at a time: the weights are
 * then read as a single sequential stream, which measured clearly faster here than blocking
 * four rows together (four concurrent streams) even though that shares each x load.
 */
export function gemv(y: usize, w: usize, x: usize, b: usize, rows: i32, cols: i32): void {
  const stride = <usize>cols << 2;
  let p = w;
  for (let r = 0; r < rows; r++) {
    const yo = <usize>r << 2;
    let s = dotRow(p, x, cols);
    if (b != 0) s += load<f32>(b + yo);
    store<f32>(y + yo, s);
    p += stride;
  }
}

// Sums of four accumulators as one vector [Σa, Σb, Σc, Σd] (a 4×4 transpose-add).
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * y = W·x (+ b) for W in the packed layout of model/kernels-ts.ts packedIndex: blocks of eight
 * rows (then one of four) stored [cols/4][rows][4 cols] followed by the cols % 4 last columns
 * [cols % 4][rows], then the last rows % 4 rows row-major. In a block every x vector is loaded
 * once for eight rows, the weights are one sequential stream, and the eight accumulators are
 * independent; lanes are summed once per block. Measured ahead of row-major one-row-at-a-time
 * and of column-interleaved [cols][8] blocks (which need a lane splat per column).
 */
export function gemvPacked(y: usize, w: usize, x: usize, b: usize, rows: i32, cols: i32): void {
  const groupEnd = <usize>(cols & ~3) << 2;
  const colEnd = <usize>cols << 2;
  const r8 = rows & ~7;
  let p = w;
  let r = 0;
  for (; r < r8; r += 8) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
    let o: usize = 0;
    for (; o < groupEnd; o += 16) {
      const xv = v128.load(x + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p, 16), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p, 32), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p, 48), xv));
      a4 = f32x4.add(a4, f32x4.mul(v128.load(p, 64), xv));
      a5 = f32x4.add(a5, f32x4.mul(v128.load(p, 80), xv));
      a6 = f32x4.add(a6, f32x4.mul(v128.load(p, 96), xv));
      a7 = f32x4.add(a7, f32x4.mul(v128.load(p, 112), xv));
      p += 128;
    }
    let s = hsum4(a0, a1, a2, a3);
    let t = hsum4(a4, a5, a6, a7);
    for (; o < colEnd; o += 4) {
      const xs = v128.load32_splat(x + o);
      s = f32x4.add(s, f32x4.mul(v128.load(p), xs));
      t = f32x4.add(t, f32x4.mul(v128.load(p, 16), xs));
      p += 32;
    }
    const yo = <usize>r << 2;
    if (b != 0) {
      s = f32x4.add(s, v128.load(b + yo));
      t = f32x4.add(t, v128.load(b + yo, 16));
    }
    v128.store(y + yo, s);
    v128.store(y + yo, t, 16);
  }
  if (rows - r >= 4) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let o: usize = 0;
    for (; o < groupEnd; o += 16) {
      const xv = v128.load(x + o);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p), xv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p, 16), xv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p, 32), xv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p, 48), xv));
      p += 64;
    }
    let s = hsum4(a0, a1, a2, a3);
    for (; o < colEnd; o += 4) {
      s = f32x4.add(s, f32x4.mul(v128.load(p), v128.load32_splat(x + o)));
      p += 16;
    }
    const yo = <usize>r << 2;
    if (b != 0) s = f32x4.add(s, v128.load(b + yo));
    v128.store(y + yo, s);
    r += 4;
  }
  for (; r < rows; r++) {
    const yo = <usize>r << 2;
    let s = dotRow(p, x, cols);
    if (b != 0) s += load<f32>(b + yo);
    store<f32>(y + yo, s);
    p += colEnd;
  }
}
