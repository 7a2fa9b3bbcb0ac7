import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { KernelFactory, Kernels } from '../../model/kernels.js';
import { gemvTs, packBlocked, packedIndex, tsKernels, unpackBlocked } from '../../model/kernels-ts.js';
import { wasmKernels, wasmKernelsAvailable } from '../../model/kernels-wasm.js';
import { mulberry32 as rng } from '../../model/init.js';


const ROWS = [1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 182, 283];
const COLS = [1, 3, 5, 8, 95, 182, 840];

/** Exact-ish reference in f64 and the scale Σ|W_rc x_c| + |b_r| that bounds f32 summation error. */
function reference(W: Float32Array, x: Float32Array, b: Float32Array | null, rows: number, cols: number): { y: Float64Array; scale: Float64Array } {
  const y = new Float64Array(rows);
  const scale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b[r] : 0;
    let a = b ? Math.abs(b[r]) : 0;
    for (let c = 0; c < cols; c++) {
      s += W[r * cols + c] * x[c];
      a += Math.abs(W[r * cols + c] * x[c]);
    }
    y[r] = s;
    scale[r] = a;
  }
  return { y, scale };
}

/**
 * Runs one product on a factory's buffers: y gets 3 sentinel slots past `rows` that must survive.
 * Checks y[0..rows) against the f64 reference: each entry within 1e-6 of its row's Σ|W·x| (f32
 * rounding of a sum in any order stays far below that; a bound relative to |y| itself would
 * fail on rows whose terms cancel).
 */
function checkProduct(factory: KernelFactory, packed: boolean, rows: number, cols: number, bias: boolean, seed: number): void {
  const { kernels, buffers } = factory([rows * cols, rows, cols, rows + 3]);
  const [W, b, x, y] = buffers;
  const r = rng(seed);
  for (const buf of [W, b, x]) for (let i = 0; i < buf.length; i++) buf[i] = r() * 2 - 1;
  y.fill(123.5);
  const ref = reference(W, x, bias ? b : null, rows, cols);
  if (packed) {
    kernels.packMatrix(W, rows, cols);
    kernels.gemvPacked(y, W, x, bias ? b : null, rows, cols);
  } else {
    kernels.gemv(y, W, x, bias ? b : null, rows, cols);
  }
  const what = `${kernels.backend}${packed ? ' packed' : ''} [${rows}×${cols}]${bias ? ' + b' : ''}`;
  for (let i = 0; i < rows; i++) {
    const d = Math.abs(y[i] - ref.y[i]);
    assert.ok(d <= 1e-6 * ref.scale[i] + 1e-30, `${what}: y[${i}] = ${y[i]}, expected ${ref.y[i]} (scale ${ref.scale[i]})`);
  }
  for (let i = rows; i < rows + 3; i++) assert.equal(y[i], 123.5, `${what}: wrote past y[${rows - 1}]`);
}

test('wasm kernels are available here (built, and SIMD supported)', () => {
  assert.equal(wasmKernelsAvailable(), true);
});

for (const [name, factory] of [['ts', tsKernels], ['wasm', wasmKernels]] as const) {
  for (const packed of [false, true]) {
    test(`${name} ${packed ? 'gemvPacked' : 'gemv'} equals the f64 reference for every row/column tail, with and without bias`, () => {
      let seed = 1;
      for (const rows of ROWS) for (const cols of COLS) for (const bias of [true, false]) checkProduct(factory, packed, rows, cols, bias, seed++);
    });
  }
}

test('wasm gemv and gemvPacked match the ts kernels on the preset P shapes to 1e-6 relative (max |Δ| / max |y|)', () => {
  for (const [rows, cols] of [[840, 182], [840, 280], [280, 280], [2520, 840], [2, 182]]) {
    for (const packed of [false, true]) {
      const outs: Float32Array[] = [];
      for (const factory of [tsKernels, wasmKernels]) {
        const { kernels, buffers } = factory([rows * cols, rows, cols, rows]);
        const r = rng(rows * 7919 + cols);
        for (const buf of buffers.slice(0, 3)) for (let i = 0; i < buf.length; i++) buf[i] = r() * 2 - 1;
        if (packed) {
          kernels.packMatrix(buffers[0], rows, cols);
          kernels.gemvPacked(buffers[3], buffers[0], buffers[2], buffers[1], rows, cols);
        } else kernels.gemv(buffers[3], buffers[0], buffers[2], buffers[1], rows, cols);
        outs.push(buffers[3].slice());
      }
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < rows; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(outs[0][i]));
        maxDiff = Math.max(maxDiff, Math.abs(outs[0][i] - outs[1][i]));
      }
      assert.ok(maxDiff <= 1e-6 * maxAbs, `[${rows}×${cols}]${packed ? ' packed' : ''}: relative difference ${maxDiff / maxAbs}`);
    }
  }
});

test('packBlocked: blocks of 8 then 4 rows as [cols/4][rows][4] + trailing columns, last rows row-major; unpackBlocked inverts it', () => {
  // 14 rows = one block of 8, one of 4, 2 row-major rows; 6 columns = one group of 4 + 2 trailing.
  const rows = 14;
  const cols = 6;
  const W = Float32Array.from({ length: rows * cols }, (_, i) => i); // W[r, c] = 6r + c
  packBlocked(W, rows, cols);
  const at = (r: number, c: number) => W[packedIndex(r, c, rows, cols)];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) assert.equal(at(r, c), 6 * r + c);
  // Hand-checked positions: block 0 starts with rows 0..7 of columns 0..3, four values per row.
  assert.deepEqual(Array.from(W.subarray(0, 8)), [0, 1, 2, 3, 6, 7, 8, 9]);
  // …then column 4 of rows 0..7, then column 5.
  assert.deepEqual(Array.from(W.subarray(32, 48)), [4, 10, 16, 22, 28, 34, 40, 46, 5, 11, 17, 23, 29, 35, 41, 47]);
  // The 4-row block (rows 8..11) starts at 8·6 = 48; rows 12, 13 are row-major.
  assert.deepEqual(Array.from(W.subarray(48, 52)), [48, 49, 50, 51]);
  assert.deepEqual(Array.from(W.subarray(72, 84)), Array.from({ length: 12 }, (_, i) => 72 + i));
  const seen = new Set<number>();
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) seen.add(packedIndex(r, c, rows, cols));
  assert.equal(seen.size, rows * cols, 'packedIndex is a permutation');
  unpackBlocked(W, rows, cols);
  assert.deepEqual(Array.from(W), Array.from({ length: rows * cols }, (_, i) => i));
  assert.throws(() => packBlocked(new Float32Array(5), 2, 3), RangeError);
});

test('ts gemv is the plain product (hand-worked example)', () => {
  const y = new Float32Array(2);
  gemvTs(y, Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(1, 0, -1), Float32Array.of(10, 20), 2, 3);
  assert.deepEqual(Array.from(y), [8, 18]);
});

function arenaChecks(factory: KernelFactory): void {
  const lengths = [840 * 182, 1, 3, 0, 5, 2520 * 840, 7];
  const { buffers } = factory(lengths);
  assert.equal(buffers.length, lengths.length);
  const spans: [number, number][] = [];
  buffers.forEach((b, i) => {
    assert.equal(b.length, lengths[i], `buffer ${i} length`);
    assert.equal(b.byteOffset % 16, 0, `buffer ${i} is 16-byte aligned`);
    assert.ok(b.every((v) => v === 0), `buffer ${i} is zeroed`);
    if (b.buffer === buffers[0].buffer) spans.push([b.byteOffset, b.byteOffset + b.byteLength]);
  });
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i][0] >= spans[i - 1][1], 'buffers do not overlap');
  // Writing each buffer fully leaves the others intact.
  buffers.forEach((b, i) => b.fill(i + 1));
  buffers.forEach((b, i) => assert.ok(b.every((v) => v === i + 1), `buffer ${i} kept its contents`));
}

test('ts and wasm arenas: one zeroed, 16-byte aligned, non-overlapping buffer per requested length', () => {
  arenaChecks(tsKernels);
  arenaChecks(wasmKernels);
  const { buffers } = wasmKernels([4, 4]);
  assert.equal(buffers[0].buffer, buffers[1].buffer, 'wasm buffers share one memory');
  assert.notEqual(wasmKernels([4]).buffers[0].buffer, buffers[0].buffer, 'each factory call has its own memory');
  assert.throws(() => tsKernels([-1]), RangeError);
  assert.throws(() => wasmKernels([1.5]), RangeError);
});

test('wasm memory never grows after creation: views stay attached through many calls', () => {
  const rows = 283;
  const cols = 95;
  const { kernels, buffers } = wasmKernels([rows * cols, rows, cols, rows]);
  const [W, b, x, y] = buffers;
  const heap = W.buffer;
  const bytes = heap.byteLength;
  W.fill(0.5);
  x.fill(2);
  b.fill(1);
  kernels.packMatrix(W, rows, cols);
  for (let i = 0; i < 2000; i++) {
    kernels.gemv(y, W, x, b, rows, cols);
    kernels.gemvPacked(y, W, x, null, rows, cols);
  }
  assert.equal(heap.byteLength, bytes, 'memory size unchanged');
  for (const buf of buffers) assert.equal(buf.buffer, heap);
  assert.equal(W.length, rows * cols, 'views still attached');
  assert.equal(y[rows - 1], cols, 'last product landed in the view');
});

test('wasm gemv refuses buffers from another arena or too short for the shape', () => {
  const a = wasmKernels([12, 3, 4, 3]);
  const other = wasmKernels([4]).buffers[0];
  const [W, b, x, y] = a.buffers;
  const k: Kernels = a.kernels;
  assert.throws(() => k.gemv(y, W, other, b, 3, 4), { code: 'EWASMBUF' });
  assert.throws(() => k.gemv(y, W, new Float32Array(4), b, 3, 4), { code: 'EWASMBUF' });
  assert.throws(() => k.gemv(y, W, x, b, 4, 4), { code: 'EWASMBUF' });
  assert.throws(() => k.gemvPacked(y, W, x, b, 3, 5), { code: 'EWASMBUF' });
  assert.throws(() => k.gemv(y.subarray(0, 2), W, x, null, 3, 4), { code: 'EWASMBUF' });
  // Subarrays of arena buffers are fine.
  W.fill(1);
  x.fill(1);
  k.gemv(y.subarray(1), W.subarray(4), x, null, 2, 4);
  assert.deepEqual(Array.from(y), [0, 4, 4]);
});

test('without the compiled .wasm, importing the wasm kernels does not throw and wasmKernelsAvailable() is false', () => {
  // A copy of the compiled modules in a directory with no wasm/kernels.wasm next to them.
  const dir = mkdtempSync(join(tmpdir(), 'langevind-kernels-'));
  try {
    const here = fileURLToPath(new URL('../../model/', import.meta.url));
    for (const f of ['kernels-wasm.js', 'kernels-ts.js', 'kernels.js']) copyFileSync(join(here, f), join(dir, f));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const script =
      `const m = await import(${JSON.stringify(pathToFileURL(join(dir, 'kernels-wasm.js')).href)});` +
      `let code = 'none'; try { m.wasmKernels([4]); } catch (e) { code = e.code; }` +
      `console.log(JSON.stringify({ available: m.wasmKernelsAvailable(), code }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { available: false, code: 'EWASM' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
