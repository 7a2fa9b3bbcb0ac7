/**
 * The online LangevinFlow filter: one bin of spike counts in, one decode out, state carried
 * between bins (model.md §1–7 with posterior means: z_0 = μ_z(h_0), v_0 = μ_v(h_0), ε_t = μ_ε(h_t)).
 *
 * Real-time discipline: every buffer (weights, state, scratch) is requested from the kernel
 * factory in one call at construction; step() allocates nothing, creates no closures and calls
 * no I/O. The decoder keeps a KV cache of the last W tokens (a ring), so each token's key and
 * value are computed once. Per head, keys are stored row-major [W, headDim] and values
 * transposed [headDim, W], so both the attention scores and the weighted sum of values are
 * matrix–vector products that run on the same kernels as the dense layers.
 */
import { dims, type Dims, type FeatureSource, type ModelConfig } from './config.js';
import { InputError, ModelFileError, SnapshotError } from './errors.js';
import type { KernelFactory, Kernels } from './kernels.js';
import { tsKernels } from './kernels-ts.js';
import { wasmKernels, wasmKernelsAvailable } from './kernels-wasm.js';
import type { LangevinModel } from './model-file.js';
import { gradPotential, normaliseKernel } from './potential.js';

/**
 * One bin's decode. The arrays are views into the filter's buffers, reused and overwritten by
 * the next step(), reset() or restore(): copy what you need to keep.
 */
export interface StepOutput {
  velocity: Float32Array;
  logRates: Float32Array;
  z: Float32Array;
  v: Float32Array;
  /** Encoder state h_t (width H). */
  h: Float32Array;
  /** Decoder output o_t (width d = 2D + H), the input of the rate readout. */
  o: Float32Array;
}

/** The filter's complete state between bins; restore() on a filter of the same model resumes exactly. */
export interface FilterSnapshot {
  modelId: string;
  binsSinceReset: number;
  /** Token [z, v, h], KV cache and readout feature history, concatenated. */
  state: Float32Array;
}

/** A readout from OnlineFilter.prepareReadout(), in the kernels' layout. */
export interface PreparedReadout {
  readonly rows: number;
  readonly cols: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export interface FilterOptions {
  /** Kernel backend; default: WebAssembly SIMD when available, else plain TypeScript. */
  kernels?: KernelFactory;
}

/** The default backend: WebAssembly SIMD when it loads here, else plain TypeScript. */
export function defaultKernels(): KernelFactory {
  return wasmKernelsAvailable() ? wasmKernels : tsKernels;
}

/**
 * Checks one counts vector without allocating when it is valid: returns null, or a reason naming
 * the first bad channel and its value.
 */
export function validateCounts(counts: ArrayLike<number>, nIn: number): string | null {
  if (counts === null || typeof counts !== 'object' || typeof counts.length !== 'number') return 'counts must be an array of numbers';
  if (counts.length !== nIn) return `counts has ${counts.length} channels, the model expects ${nIn}`;
  for (let i = 0; i < nIn; i++) {
    const c = counts[i];
    if (typeof c !== 'number') return `channel ${i}: ${String(c)} is not a number`;
    if (c !== c) return `channel ${i}: NaN is not a spike count`;
    if (c === Infinity || c === -Infinity) return `channel ${i}: ${c} is not a spike count`;
    if (c < 0) return `channel ${i}: ${c} is negative`;
    if (Math.floor(c) !== c) return `channel ${i}: ${c} is not an integer`;
  }
  return null;
}

/**
 * Whether a filter of `a` can take `b`'s weights in place (OnlineFilter.reloadSteps): every
 * buffer the same size and the readout features the same.
 */
export function sameFilterShape(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(dims(a)) === JSON.stringify(dims(b)) && JSON.stringify(a.velocity_features) === JSON.stringify(b.velocity_features);
}

const SRC_CODE: Record<FeatureSource, number> = { rates: 0, log_rates: 1, z: 2, v: 3, h: 4, o: 5 };

export class OnlineFilter {
  /** Replaced by reloadSteps(), like the weights. */
  private cfg: ModelConfig;
  private id: string;
  readonly dims: Dims;
  readonly backend: string;

  private readonly k: Kernels;
  /** LayerNorm eps, boxed once (see layerNormInPlace). */
  private readonly lnEps: Float64Array;
  private readonly out: StepOutput;
  private bins = 0;
  /**
   * Every buffer a step reads or writes: weights, state, scratch (with the wasm kernels, views of
   * one WebAssembly memory). For keeping them in cache between bins (daemon/prewarm.ts).
   */
  readonly buffers: readonly Float32Array[];

  // Weights (arena copies).
  private readonly wIh: Float32Array;
  private readonly wHh: Float32Array;
  private readonly bIh: Float32Array;
  private readonly bHh: Float32Array;
  private readonly icZW: Float32Array;
  private readonly icZb: Float32Array;
  private readonly icVW: Float32Array;
  private readonly icVb: Float32Array;
  private readonly corrW: Float32Array;
  private readonly corrB: Float32Array;
  private readonly khat: Float32Array;
  private readonly inW: Float32Array;
  private readonly inB: Float32Array;
  private readonly outW: Float32Array;
  private readonly outB: Float32Array;
  private readonly l1W: Float32Array;
  private readonly l1B: Float32Array;
  private readonly l2W: Float32Array;
  private readonly l2B: Float32Array;
  private readonly n1W: Float32Array;
  private readonly n1B: Float32Array;
  private readonly n2W: Float32Array;
  private readonly n2B: Float32Array;
  private readonly roW: Float32Array;
  private readonly roB: Float32Array;
  private readonly velW: Float32Array;
  private readonly velB: Float32Array;

  // State: one buffer, carved into views, so snapshot/restore is one copy.
  private readonly state: Float32Array;
  /** Token e = [z, v, h]; z, v, h are views of it. */
  private readonly e: Float32Array;
  private readonly z: Float32Array;
  private readonly v: Float32Array;
  private readonly h: Float32Array;
  /** Keys per head [heads][W, headDim]; values per head transposed [heads][headDim, W]. */
  private readonly kc: Float32Array;
  private readonly vt: Float32Array;
  /** Readout features, lag 0 first; shifted by one lag per bin. */
  private readonly feat: Float32Array;

  // Scratch.
  private readonly x: Float32Array;
  private readonly gi: Float32Array;
  private readonly gh: Float32Array;
  private readonly grad: Float32Array;
  private readonly eps: Float32Array;
  private readonly qkv: Float32Array;
  private readonly p: Float32Array;
  private readonly attn: Float32Array;
  private readonly a: Float32Array;
  private readonly y: Float32Array;
  private readonly f1: Float32Array;
  private readonly f2: Float32Array;
  private readonly o: Float32Array;
  private readonly logRates: Float32Array;
  private readonly velocity: Float32Array;

  /** The weight tensors' names and buffers, in arena order, and the [rows, cols] of those stored packed. */
  private readonly wNames: readonly string[];
  private readonly weightBuffers: Float32Array[];
  private readonly packShapes: Map<number, [number, number]>;

  // Views made once so step() creates none.
  private readonly qH: Float32Array[];
  private readonly kH: Float32Array[];
  private readonly vH: Float32Array[];
  private readonly pH: Float32Array[];
  private readonly attnH: Float32Array[];
  private readonly srcCodes: Int32Array;
  private readonly srcOffsets: Int32Array;

  constructor(model: LangevinModel, opts: FilterOptions = {}) {
    const cfg = model.config;
    const dm = dims(cfg);
    this.cfg = cfg;
    this.id = model.id;
    this.dims = dm;
    const { nIn, nOut, H, D, C, d, heads, F, W, K, features } = dm;
    const w = model.weights;
    const wNames = [
      'encoder.weight_ih', 'encoder.weight_hh', 'encoder.bias_ih', 'encoder.bias_hh',
      'ic.z_mean.weight', 'ic.z_mean.bias', 'ic.v_mean.weight', 'ic.v_mean.bias',
      'correction.mean.weight', 'correction.mean.bias', 'potential.kernel',
      'decoder.self_attn.in_proj_weight', 'decoder.self_attn.in_proj_bias',
      'decoder.self_attn.out_proj.weight', 'decoder.self_attn.out_proj.bias',
      'decoder.linear1.weight', 'decoder.linear1.bias', 'decoder.linear2.weight', 'decoder.linear2.bias',
      'decoder.norm1.weight', 'decoder.norm1.bias', 'decoder.norm2.weight', 'decoder.norm2.bias',
      'readout.weight', 'readout.bias', 'velocity.weight', 'velocity.bias',
    ];
    for (const n of wNames) if (!w[n]) throw new ModelFileError('EMISSING', `OnlineFilter: model has no tensor "${n}"`);
    const stateLen = d + 2 * W * d + features;
    const scratch = [nIn, 3 * H, 3 * H, D, D, 3 * d, heads * W, d, d, d, F, d, d, nOut, K];
    const arena = (opts.kernels ?? defaultKernels())([...wNames.map((n) => w[n].length), stateLen, ...scratch]);
    this.lnEps = new Float64Array([cfg.layer_norm_eps]);
    this.k = arena.kernels;
    this.backend = arena.kernels.backend;
    const b = arena.buffers;
    this.buffers = b;
    for (let i = 0; i < wNames.length; i++) b[i].set(w[wNames[i]]);
    [this.wIh, this.wHh, this.bIh, this.bHh, this.icZW, this.icZb, this.icVW, this.icVb, this.corrW, this.corrB, this.khat,
      this.inW, this.inB, this.outW, this.outB, this.l1W, this.l1B, this.l2W, this.l2B, this.n1W, this.n1B, this.n2W, this.n2B,
      this.roW, this.roB, this.velW, this.velB] = b;
    normaliseKernel(this.khat, C, this.khat);
    this.wNames = wNames;
    // The dense weights are read once per bin and dominate the step (memory-bound at preset P):
    // rearrange them once into the kernels' blocked layout, which streams each matrix sequentially.
    const k = this.k;
    this.packShapes = new Map<number, [number, number]>([
      [0, [3 * H, nIn]], [1, [3 * H, H]], [4, [D, H]], [6, [D, H]], [8, [D, H]], [11, [3 * d, d]], [13, [d, d]],
      [15, [F, d]], [17, [d, F]], [23, [nOut, d]], [25, [K, features]],
    ]);
    this.weightBuffers = b.slice(0, wNames.length);
    for (const [j, [rows, cols]] of this.packShapes) k.packMatrix(b[j], rows, cols);
    let i = wNames.length;
    this.state = b[i++];
    [this.x, this.gi, this.gh, this.grad, this.eps, this.qkv, this.p, this.attn, this.a, this.y, this.f1, this.f2, this.o,
      this.logRates, this.velocity] = b.slice(i);

    this.e = this.state.subarray(0, d);
    this.z = this.e.subarray(0, D);
    this.v = this.e.subarray(D, 2 * D);
    this.h = this.e.subarray(2 * D, d);
    this.kc = this.state.subarray(d, d + W * d);
    this.vt = this.state.subarray(d + W * d, d + 2 * W * d);
    this.feat = this.state.subarray(d + 2 * W * d, stateLen);

    const hd = dm.headDim;
    this.qH = [];
    this.kH = [];
    this.vH = [];
    this.pH = [];
    this.attnH = [];
    for (let j = 0; j < heads; j++) {
      this.qH.push(this.qkv.subarray(j * hd, (j + 1) * hd));
      this.kH.push(this.kc.subarray(j * W * hd, (j + 1) * W * hd));
      this.vH.push(this.vt.subarray(j * W * hd, (j + 1) * W * hd));
      this.pH.push(this.p.subarray(j * W, (j + 1) * W));
      this.attnH.push(this.attn.subarray(j * hd, (j + 1) * hd));
    }
    const srcs = cfg.velocity_features.sources;
    this.srcCodes = new Int32Array(srcs.map((s) => SRC_CODE[s]));
    this.srcOffsets = new Int32Array(srcs.length);
    let off = 0;
    for (let j = 0; j < srcs.length; j++) {
      this.srcOffsets[j] = off;
      off += [nOut, nOut, D, D, H, d][SRC_CODE[srcs[j]]];
    }
    this.out = { velocity: this.velocity, logRates: this.logRates, z: this.z, v: this.v, h: this.h, o: this.o };
  }

  get config(): ModelConfig {
    return this.cfg;
  }

  get modelId(): string {
    return this.id;
  }

  /**
   * Steps that turn this filter into one of `model`, whose shapes must be this filter's
   * (sameFilterShape): one tensor per step, a copy into the filter's own buffers and, for a
   * matrix, its repacking (well under a millisecond each at preset M), the configuration and id
   * in the last. No new WebAssembly memory or instance, so a hot reload costs neither a large
   * allocation nor a deoptimisation. The filter must not be stepped until the last step ran;
   * then reset() or restore() it.
   */
  reloadSteps(model: LangevinModel): Array<() => void> {
    if (!sameFilterShape(this.cfg, model.config)) throw new ModelFileError('ESHAPE', `reload: model ${model.id} does not have this filter's shapes`);
    const w = model.weights;
    for (const n of this.wNames) {
      if (!w[n]) throw new ModelFileError('EMISSING', `reload: model has no tensor "${n}"`);
      if (w[n].length !== this.weightBuffers[this.wNames.indexOf(n)].length) throw new ModelFileError('ESHAPE', `reload: tensor "${n}" has ${w[n].length} values, this filter holds ${this.weightBuffers[this.wNames.indexOf(n)].length}`);
    }
    const steps: Array<() => void> = this.wNames.map((n, j) => () => {
      const buf = this.weightBuffers[j];
      buf.set(w[n]);
      if (buf === this.khat) normaliseKernel(this.khat, this.dims.C, this.khat);
      const shape = this.packShapes.get(j);
      if (shape) this.k.packMatrix(buf, shape[0], shape[1]);
    });
    steps.push(() => {
      this.cfg = model.config;
      this.id = model.id;
      this.lnEps[0] = model.config.layer_norm_eps;
      this.state.fill(0);
      this.bins = 0;
    });
    return steps;
  }

  /** Bins stepped since construction or the last reset(). */
  get binsSinceReset(): number {
    return this.bins;
  }

  /** Starts a new sequence: the next bin is bin 0 (h_{−1} = 0, z_0 and v_0 from the initial-condition heads). */
  reset(): void {
    this.state.fill(0);
    this.bins = 0;
  }

  snapshot(): FilterSnapshot {
    return { modelId: this.modelId, binsSinceReset: this.bins, state: this.state.slice() };
  }

  restore(s: FilterSnapshot): void {
    if (s.modelId !== this.modelId) throw new SnapshotError(`snapshot is of model ${s.modelId}, this filter runs ${this.modelId}`);
    if (!(s.state instanceof Float32Array) || s.state.length !== this.state.length)
      throw new SnapshotError(`snapshot state has ${s.state?.length} values, this filter needs ${this.state.length}`);
    if (!Number.isInteger(s.binsSinceReset) || s.binsSinceReset < 0) throw new SnapshotError(`snapshot binsSinceReset ${s.binsSinceReset} is invalid`);
    this.state.set(s.state);
    this.bins = s.binsSinceReset;
  }

  /**
   * Filters one bin. Throws InputError (state unchanged) for a counts vector of the wrong
   * length or with a NaN, infinite, negative or non-integer entry. The result's arrays are
   * overwritten by the next call.
   */
  step(counts: ArrayLike<number>): StepOutput {
    const reason = validateCounts(counts, this.dims.nIn);
    if (reason !== null) throw new InputError(reason);
    return this.stepUnchecked(counts);
  }

  /**
   * step() without the checks, for a caller that already validated the bin (the daemon's validate
   * stage checks every bin once). `counts` must hold nIn finite non-negative integers; anything
   * else gives a meaningless state.
   */
  stepUnchecked(counts: ArrayLike<number>): StepOutput {
    const nIn = this.dims.nIn;
    const x = this.x;
    for (let i = 0; i < nIn; i++) x[i] = counts[i];
    this.encode();
    this.integrate();
    this.decode();
    this.readout();
    this.bins++;
    return this.out;
  }

  /** h_t = GRUCell(x_t, h_{t−1}) in place (h is zero after a reset). */
  private encode(): void {
    const H = this.dims.H;
    const k = this.k;
    const gi = this.gi;
    const gh = this.gh;
    const h = this.h;
    k.gemvPacked(gi, this.wIh, this.x, this.bIh, 3 * H, this.dims.nIn);
    k.gemvPacked(gh, this.wHh, h, this.bHh, 3 * H, H);
    for (let j = 0; j < H; j++) {
      const r = 1 / (1 + Math.exp(-(gi[j] + gh[j])));
      const u = 1 / (1 + Math.exp(-(gi[H + j] + gh[H + j])));
      const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j]);
      h[j] = (1 - u) * n + u * h[j];
    }
  }

  /** Bin 0: z, v from the initial-condition means. Later bins: one Langevin step with the inferred force. */
  private integrate(): void {
    const { H, D, C, L } = this.dims;
    const k = this.k;
    const z = this.z;
    const v = this.v;
    if (this.bins === 0) {
      k.gemvPacked(z, this.icZW, this.h, this.icZb, D, H);
      k.gemvPacked(v, this.icVW, this.h, this.icVb, D, H);
      return;
    }
    const cfg = this.config;
    const dt = cfg.step;
    const keep = 1 - cfg.gamma;
    const noise = Math.sqrt(2 * cfg.gamma);
    const grad = this.grad;
    gradPotential(grad, z, this.khat, C, L);
    if (cfg.corrections) {
      const eps = this.eps;
      k.gemvPacked(eps, this.corrW, this.h, this.corrB, D, H);
      for (let i = 0; i < D; i++) {
        const vi = v[i];
        z[i] += dt * vi;
        v[i] = keep * (vi - dt * grad[i]) + noise * eps[i];
      }
    } else {
      for (let i = 0; i < D; i++) {
        const vi = v[i];
        z[i] += dt * vi;
        v[i] = keep * (vi - dt * grad[i]);
      }
    }
  }

  /** One Transformer encoder layer over the last W tokens, through the KV cache; result in this.o. */
  private decode(): void {
    const { d, heads, headDim: hd, W, F } = this.dims;
    const k = this.k;
    const e = this.e;
    const qkv = this.qkv;
    k.gemvPacked(qkv, this.inW, e, this.inB, 3 * d, d);
    // Store this token's key and value in its ring slot.
    const slot = this.bins % W;
    const n = this.bins + 1 < W ? this.bins + 1 : W;
    const kc = this.kc;
    const vt = this.vt;
    for (let j = 0; j < heads; j++) {
      const kBase = j * W * hd + slot * hd;
      const vBase = j * W * hd + slot;
      const src = j * hd;
      for (let i = 0; i < hd; i++) {
        kc[kBase + i] = qkv[d + src + i];
        vt[vBase + i * W] = qkv[2 * d + src + i];
      }
    }
    const scale = 1 / Math.sqrt(hd);
    for (let j = 0; j < heads; j++) {
      const p = this.pH[j];
      k.gemv(p, this.kH[j], this.qH[j], null, n, hd);
      let m = -Infinity;
      for (let i = 0; i < n; i++) {
        const s = p[i] * scale;
        p[i] = s;
        if (s > m) m = s;
      }
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const q = Math.exp(p[i] - m);
        p[i] = q;
        sum += q;
      }
      const inv = 1 / sum;
      for (let i = 0; i < n; i++) p[i] *= inv;
      for (let i = n; i < W; i++) p[i] = 0;
      k.gemv(this.attnH[j], this.vH[j], p, null, hd, W);
    }
    const a = this.a;
    const y = this.y;
    k.gemvPacked(a, this.outW, this.attn, this.outB, d, d);
    for (let i = 0; i < d; i++) y[i] = e[i] + a[i];
    layerNormInPlace(y, this.n1W, this.n1B, d, this.lnEps);
    const f1 = this.f1;
    k.gemvPacked(f1, this.l1W, y, this.l1B, F, d);
    for (let i = 0; i < F; i++) if (f1[i] < 0) f1[i] = 0;
    const f2 = this.f2;
    k.gemvPacked(f2, this.l2W, f1, this.l2B, d, F);
    const o = this.o;
    for (let i = 0; i < d; i++) o[i] = y[i] + f2[i];
    layerNormInPlace(o, this.n2W, this.n2B, d, this.lnEps);
  }

  /**
   * A velocity readout (`velocity.weight` [K, features] row-major, `velocity.bias` [K]) checked
   * and rearranged into the kernels' layout, ready for setReadout(). Allocates: call it off the
   * bin path.
   */
  prepareReadout(weight: ArrayLike<number>, bias: ArrayLike<number>): PreparedReadout {
    const { K, features } = this.dims;
    if (weight.length !== K * features) throw new ModelFileError('ESHAPE', `readout weight has ${weight.length} values, this model needs [${K}, ${features}] = ${K * features}`);
    if (bias.length !== K) throw new ModelFileError('ESHAPE', `readout bias has ${bias.length} values, this model needs ${K}`);
    const w = Float32Array.from(weight);
    const b = Float32Array.from(bias);
    for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) throw new ModelFileError('EVALUE', `readout weight holds ${w[i]} at flat index ${i}`);
    for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i])) throw new ModelFileError('EVALUE', `readout bias holds ${b[i]} at index ${i}`);
    this.k.packMatrix(w, K, features);
    return { rows: K, cols: features, weight: w, bias: b };
  }

  /**
   * Replaces the velocity readout; the latent state and its feature history are kept. Two
   * copies into the filter's own buffers, no allocation, so it may run between any two bins.
   */
  setReadout(r: PreparedReadout): void {
    if (r.rows !== this.dims.K || r.cols !== this.dims.features || r.weight.length !== this.velW.length || r.bias.length !== this.velB.length)
      throw new ModelFileError('ESHAPE', `readout is [${r.rows}, ${r.cols}], this model needs [${this.dims.K}, ${this.dims.features}]`);
    this.velW.set(r.weight);
    this.velB.set(r.bias);
  }

  /** log-rates, then the velocity readout over the (lagged) features. */
  private readout(): void {
    const { d, nOut, K, features, featuresPerLag } = this.dims;
    const k = this.k;
    const logRates = this.logRates;
    k.gemvPacked(logRates, this.roW, this.o, this.roB, nOut, d);
    const feat = this.feat;
    if (features > featuresPerLag) feat.copyWithin(featuresPerLag, 0, features - featuresPerLag);
    const codes = this.srcCodes;
    for (let j = 0; j < codes.length; j++) {
      const off = this.srcOffsets[j];
      switch (codes[j]) {
        case 0:
          for (let i = 0; i < nOut; i++) feat[off + i] = Math.exp(logRates[i]);
          break;
        case 1:
          feat.set(logRates, off);
          break;
        case 2:
          feat.set(this.z, off);
          break;
        case 3:
          feat.set(this.v, off);
          break;
        case 4:
          feat.set(this.h, off);
          break;
        default:
          feat.set(this.o, off);
          break;
      }
    }
    k.gemvPacked(this.velocity, this.velW, feat, this.velB, K, features);
  }
}

/**
 * x ← LayerNorm(x)·g + b (biased variance, as PyTorch). eps comes in a one-element array: a
 * double passed as an argument to a call V8 does not inline is boxed, 16 bytes a call.
 */
function layerNormInPlace(x: Float32Array, g: Float32Array, b: Float32Array, n: number, epsBox: Float64Array): void {
  const eps = epsBox[0];
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const t = x[i] - mean;
    v += t * t;
  }
  const inv = 1 / Math.sqrt(v / n + eps);
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) * inv * g[i] + b[i];
}
