/**
 * Model configuration: every symbol of shared/docs/model.md, with validation whose messages
 * name the bad field. The JSON form (snake_case keys) is what the model file stores in
 * `__metadata__["langevind.config"]`.
 */

/** Which causal quantities feed the linear velocity readout (model.md §7). */
export type FeatureSource = 'rates' | 'log_rates' | 'z' | 'v' | 'h' | 'o';
export const FEATURE_SOURCES: readonly FeatureSource[] = ['rates', 'log_rates', 'z', 'v', 'h', 'o'];

export interface VelocityFeatures {
  /** Concatenated in this order for each lag. */
  sources: FeatureSource[];
  /** Bins of history, ≥ 1: lag 0 (the current bin) first, then lag 1, … Before a reset's history fills, missing lags are zero. */
  lags: number;
}

export interface ModelConfig {
  /** N_in: input channels (binned spike counts). */
  n_in: number;
  /** N_out: neurons whose log-rates the decoder predicts (≥ N_in). */
  n_out: number;
  /** H: GRU encoder hidden size. */
  hidden: number;
  /** D = C·L: size of latent position z and velocity v. */
  latent: number;
  /** C: oscillator channels; L = latent / osc_channels lattice sites. */
  osc_channels: number;
  /** Δ: integrator step. */
  step: number;
  /** γ: damping, in (0, 1]. */
  gamma: number;
  /** Attention heads; must divide d = 2D + H. */
  heads: number;
  /** F: feed-forward width of the Transformer layer. */
  ff: number;
  /** W: attention window in bins (the bin itself and the W−1 before it). */
  window: number;
  /** Bin width in milliseconds. */
  bin_ms: number;
  /** true: ε_t inferred from h_t (langevind); false: the released code's autonomous dynamics (ε_t = 0 online). */
  corrections: boolean;
  velocity_features: VelocityFeatures;
  layer_norm_eps: number;
  /** Names of the N_in input channels, in order. */
  channel_labels: string[];
  /** Names of the K decoded velocity components, e.g. ["vel_x", "vel_y"]. */
  velocity_labels: string[];
}

export class ConfigError extends Error {
  readonly code = 'ECONFIG';
  constructor(readonly field: string, message: string) {
    super(`model config: ${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Derived sizes used everywhere. */
export interface Dims {
  nIn: number;
  nOut: number;
  H: number;
  D: number;
  C: number;
  L: number;
  /** Transformer width 2D + H. */
  d: number;
  heads: number;
  headDim: number;
  F: number;
  W: number;
  K: number;
  /** Length of one lag's feature vector. */
  featuresPerLag: number;
  /** Total readout features: lags × featuresPerLag. */
  features: number;
}

export function featureSourceSize(cfg: ModelConfig, s: FeatureSource): number {
  switch (s) {
    case 'rates':
    case 'log_rates':
      return cfg.n_out;
    case 'z':
    case 'v':
      return cfg.latent;
    case 'h':
      return cfg.hidden;
    case 'o':
      return 2 * cfg.latent + cfg.hidden;
  }
}

export function dims(cfg: ModelConfig): Dims {
  const d = 2 * cfg.latent + cfg.hidden;
  const featuresPerLag = cfg.velocity_features.sources.reduce((a, s) => a + featureSourceSize(cfg, s), 0);
  return {
    nIn: cfg.n_in,
    nOut: cfg.n_out,
    H: cfg.hidden,
    D: cfg.latent,
    C: cfg.osc_channels,
    L: cfg.latent / cfg.osc_channels,
    d,
    heads: cfg.heads,
    headDim: d / cfg.heads,
    F: cfg.ff,
    W: cfg.window,
    K: cfg.velocity_labels.length,
    featuresPerLag,
    features: featuresPerLag * cfg.velocity_features.lags,
  };
}

/**
 * Largest size any dimension may have. Far above any real model, and small enough that products of
 * two sizes stay exact integers, so buffer sizes are refused by name (EWASMMEM) instead of
 * becoming Infinity (1e308 is an integer to JavaScript).
 */
export const MAX_DIMENSION = 2 ** 24;

const posInt = (o: Record<string, unknown>, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) throw new ConfigError(k, `must be a positive integer up to ${MAX_DIMENSION}, got ${JSON.stringify(v)}`);
  return v;
};
const posNum = (o: Record<string, unknown>, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ConfigError(k, `must be a positive finite number, got ${JSON.stringify(v)}`);
  return v;
};
const strings = (o: Record<string, unknown>, k: string, n: number | undefined): string[] => {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ConfigError(k, 'must be an array of strings');
  if (n !== undefined && v.length !== n) throw new ConfigError(k, `must have ${n} entries, got ${v.length}`);
  return v as string[];
};

/** Checks a parsed JSON object and returns a typed config; throws ConfigError naming the field. */
export function validateConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(root)', 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  const known = new Set(['n_in', 'n_out', 'hidden', 'latent', 'osc_channels', 'step', 'gamma', 'heads', 'ff', 'window', 'bin_ms', 'corrections', 'velocity_features', 'layer_norm_eps', 'channel_labels', 'velocity_labels']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError(k, 'unknown key');
  const n_in = posInt(o, 'n_in');
  const n_out = posInt(o, 'n_out');
  if (n_out < n_in) throw new ConfigError('n_out', `must be ≥ n_in (${n_in}), got ${n_out}`);
  const hidden = posInt(o, 'hidden');
  const latent = posInt(o, 'latent');
  const osc_channels = posInt(o, 'osc_channels');
  if (latent % osc_channels !== 0) throw new ConfigError('osc_channels', `must divide latent (${latent}), got ${osc_channels}`);
  const step = posNum(o, 'step');
  const gamma = posNum(o, 'gamma');
  if (gamma > 1) throw new ConfigError('gamma', `must be in (0, 1], got ${gamma}`);
  const heads = posInt(o, 'heads');
  const d = 2 * latent + hidden;
  if (d % heads !== 0) throw new ConfigError('heads', `must divide d = 2·latent + hidden = ${d}, got ${heads}`);
  const ff = posInt(o, 'ff');
  const window = posInt(o, 'window');
  const bin_ms = posNum(o, 'bin_ms');
  if (typeof o.corrections !== 'boolean') throw new ConfigError('corrections', `must be true or false, got ${JSON.stringify(o.corrections)}`);
  const layer_norm_eps = o.layer_norm_eps === undefined ? 1e-5 : posNum(o, 'layer_norm_eps');
  const vf = o.velocity_features ?? { sources: ['rates'], lags: 1 };
  if (typeof vf !== 'object' || vf === null) throw new ConfigError('velocity_features', 'must be an object { sources, lags }');
  const vfo = vf as Record<string, unknown>;
  if (!Array.isArray(vfo.sources) || vfo.sources.length === 0 || !vfo.sources.every((s) => (FEATURE_SOURCES as readonly unknown[]).includes(s)))
    throw new ConfigError('velocity_features.sources', `must be a non-empty array of ${FEATURE_SOURCES.join(', ')}; got ${JSON.stringify(vfo.sources)}`);
  if (typeof vfo.lags !== 'number' || !Number.isInteger(vfo.lags) || vfo.lags < 1 || vfo.lags > window)
    throw new ConfigError('velocity_features.lags', `must be an integer in 1…window (${window}), got ${JSON.stringify(vfo.lags)}`);
  const channel_labels = strings(o, 'channel_labels', n_in);
  const velocity_labels = strings(o, 'velocity_labels', undefined);
  if (velocity_labels.length === 0) throw new ConfigError('velocity_labels', 'must name at least one velocity component');
  return {
    n_in, n_out, hidden, latent, osc_channels, step, gamma, heads, ff, window, bin_ms,
    corrections: o.corrections, layer_norm_eps,
    velocity_features: { sources: [...(vfo.sources as FeatureSource[])], lags: vfo.lags },
    channel_labels, velocity_labels,
  };
}

export type PresetName = 'S' | 'M' | 'P';

/** Benchmark and test presets; P is the paper's MC_Maze size. */
export function preset(name: PresetName, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const base = {
    S: { n_in: 96, n_out: 96, hidden: 64, latent: 64, osc_channels: 4, heads: 2, ff: 128, window: 16 },
    M: { n_in: 192, n_out: 192, hidden: 128, latent: 128, osc_channels: 4, heads: 2, ff: 256, window: 32 },
    P: { n_in: 182, n_out: 182, hidden: 280, latent: 280, osc_channels: 4, heads: 2, ff: 512, window: 50 },
  }[name];
  if (!base) throw new ConfigError('preset', `unknown preset "${name}" (S, M or P)`);
  const n_in = overrides.n_in ?? base.n_in;
  const cfg = {
    ...base,
    step: 0.01,
    gamma: 0.55,
    bin_ms: 20,
    corrections: true,
    velocity_features: { sources: ['rates'], lags: 1 },
    layer_norm_eps: 1e-5,
    channel_labels: Array.from({ length: n_in }, (_, i) => `ch${i}`),
    velocity_labels: ['vel_x', 'vel_y'],
    ...overrides,
  };
  if (overrides.n_in !== undefined && overrides.n_out === undefined) cfg.n_out = Math.max(base.n_out, n_in);
  return validateConfig(cfg);
}
