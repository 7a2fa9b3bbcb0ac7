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

/**
 * y = W·x (+ b) for W in the packed layout of model/kernels-ts.ts packRows4: blocks of four rows
 * stored [cols][4], then the rows % 4 last rows row-major. Each column's four weights are one
 * vector multiplied by that x value splatted, so the weights stream sequentially; four
 * accumulators (one per column of a group of four) keep the additions independent.
 */
export function gemvPacked(y: usize, w: usize, x: usize, b: usize, rows: i32, cols: i32): void {
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
