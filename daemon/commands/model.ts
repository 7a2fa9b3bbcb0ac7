/**
 * `langevind model init …` writes a randomly initialised model (benchmarks, tests, a starting
 * point); `langevind model inspect FILE` prints what a model file holds.
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { numberOf, UsageError } from '../usage.js';
import { dims, preset, type FeatureSource, type ModelConfig, type PresetName } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { baselinesToFile, META_BASELINES } from '../../model/baselines.js';
import { availableDecoders } from '../../model/decoders.js';
import { loadModel, makeModel, saveModel, META_CONFIG, META_FORMAT } from '../../model/model-file.js';
import { parameterCount, tensorShapes } from '../../model/tensors.js';


const USAGE = `usage:
  langevind model init --preset S|M|P --seed N --out FILE [overrides]
      overrides: --n-in N --n-out N --hidden N --latent N --osc-channels N --heads N --ff N --window N
                 --bin-ms X --step X --gamma X --corrections true|false --features rates,z,… --lags N
                 --channel-labels a,b,… --velocity-labels vel_x,vel_y --potential-scale X --model-id ID
  langevind model inspect FILE [--json]`;

export const usage = USAGE;

const INT_OPTS: [string, keyof ModelConfig][] = [
  ['n-in', 'n_in'], ['n-out', 'n_out'], ['hidden', 'hidden'], ['latent', 'latent'], ['osc-channels', 'osc_channels'],
  ['heads', 'heads'], ['ff', 'ff'], ['window', 'window'],
];
const NUM_OPTS: [string, keyof ModelConfig][] = [['bin-ms', 'bin_ms'], ['step', 'step'], ['gamma', 'gamma']];

function num(name: string, v: string, integer: boolean): number {
  const x = numberOf(v);
  if (x === null || (integer && !Number.isInteger(x))) throw new UsageError(`--${name}: expected ${integer ? 'an integer' : 'a number'}, got "${v}"`);
  return x;
}

async function init(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' }> = {};
  for (const k of ['preset', 'seed', 'out', 'corrections', 'features', 'lags', 'channel-labels', 'velocity-labels', 'potential-scale', 'model-id', ...INT_OPTS.map((o) => o[0]), ...NUM_OPTS.map((o) => o[0])])
    options[k] = { type: 'string' };
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (e) {
    throw new UsageError(`model init: ${(e as Error).message}`);
  }
  const p = values.preset;
  if (p !== 'S' && p !== 'M' && p !== 'P') throw new UsageError(`model init: --preset must be S, M or P, got ${JSON.stringify(p)}`);
  if (values.seed === undefined) throw new UsageError('model init: --seed N is required');
  const seed = num('seed', values.seed, true);
  if (!values.out) throw new UsageError('model init: --out FILE is required');
  const overrides: Partial<ModelConfig> = {};
  const o = overrides as Record<string, unknown>;
  for (const [flag, key] of INT_OPTS) if (values[flag] !== undefined) o[key] = num(flag, values[flag]!, true);
  for (const [flag, key] of NUM_OPTS) if (values[flag] !== undefined) o[key] = num(flag, values[flag]!, false);
  if (values.corrections !== undefined) {
    if (values.corrections !== 'true' && values.corrections !== 'false') throw new UsageError(`--corrections: expected true or false, got "${values.corrections}"`);
    overrides.corrections = values.corrections === 'true';
  }
  if (values.features !== undefined || values.lags !== undefined) {
    overrides.velocity_features = {
      sources: (values.features ?? 'rates').split(',') as FeatureSource[],
      lags: values.lags === undefined ? 1 : num('lags', values.lags, true),
    };
  }
  if (values['channel-labels'] !== undefined) overrides.channel_labels = values['channel-labels'].split(',');
  else if (overrides.n_in !== undefined) overrides.channel_labels = Array.from({ length: overrides.n_in }, (_, i) => `ch${i}`);
  if (values['velocity-labels'] !== undefined) overrides.velocity_labels = values['velocity-labels'].split(',');
  const cfg = preset(p as PresetName, overrides);
  const potentialScale = values['potential-scale'] === undefined ? undefined : num('potential-scale', values['potential-scale'], false);
  const extra: Record<string, string> = {
    'langevind.provenance': JSON.stringify({ kind: 'random-init', preset: p, seed, potential_scale: potentialScale ?? 1, created: new Date().toISOString() }),
  };
  if (values['model-id']) extra['langevind.model_id'] = values['model-id'];
  const model = makeModel(cfg, initWeights(cfg, seed, { potentialScale }), extra);
  saveModel(values.out, model);
  process.stdout.write(`wrote ${values.out}: preset ${p}, seed ${seed}, ${parameterCount(cfg)} parameters, id ${model.id}\n`);
  return 0;
}

function stats(a: Float32Array): { min: number; max: number; rms: number } {
  let min = Infinity;
  let max = -Infinity;
  let ss = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < min) min = a[i];
    if (a[i] > max) max = a[i];
    ss += a[i] * a[i];
  }
  return { min, max, rms: a.length ? Math.sqrt(ss / a.length) : 0 };
}

async function inspect(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true });
  } catch (e) {
    throw new UsageError(`model inspect: ${(e as Error).message}`);
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) throw new UsageError(`model inspect: expected one FILE`);
  const model = loadModel(file);
  const cfg = model.config;
  const dm = dims(cfg);
  const shapes = tensorShapes(cfg);
  const size = statSync(file).size;
  const params = parameterCount(cfg);
  const tensors = Object.entries(shapes).map(([name, shape]) => ({ name, shape, ...stats(model.weights[name]) }));
  const b = model.baselines;
  const stored = baselinesToFile(cfg, b).tensors;
  const baselineTensors = [...stored].map(([name, t]) => ({ name, shape: t.shape, ...stats(t.data) }));
  const decoders = availableDecoders(model);
  const baselines = {
    ...(b.wiener ? { wiener: { lags: b.wiener.lags, alpha: b.wiener.alpha, cv_r2: b.wiener.cvR2 } } : {}),
    ...(b.kalman ? { kalman: { state: b.kalman.state, velocity_offset: b.kalman.velocityOffset } } : {}),
  };
  const otherMeta = Object.fromEntries(Object.entries(model.metadata).filter(([k]) => k !== META_CONFIG && k !== META_BASELINES));
  if (parsed.values.json) {
    process.stdout.write(JSON.stringify({ file, id: model.id, bytes: size, parameters: params, config: cfg, dims: dm, tensors, decoders, baselines, baseline_tensors: baselineTensors, metadata: otherMeta }, null, 2) + '\n');
    return 0;
  }
  const lines: string[] = [];
  lines.push(`${file}`);
  lines.push(`  format ${model.metadata[META_FORMAT]}, id ${model.id}, ${size} bytes, ${params} parameters (${((params * 4) / 1e6).toFixed(2)} MB F32)`);
  lines.push(`  dims: N_in ${dm.nIn}, N_out ${dm.nOut}, H ${dm.H}, D ${dm.D} = C ${dm.C} × L ${dm.L}, d ${dm.d}, heads ${dm.heads} × ${dm.headDim}, F ${dm.F}, W ${dm.W}, K ${dm.K}, features ${dm.features} (${cfg.velocity_features.sources.join('+')} × ${cfg.velocity_features.lags} lag${cfg.velocity_features.lags > 1 ? 's' : ''})`);
  lines.push(`  dynamics: Δ ${cfg.step}, γ ${cfg.gamma}, corrections ${cfg.corrections}, bin ${cfg.bin_ms} ms, LayerNorm eps ${cfg.layer_norm_eps}`);
  const labels = cfg.channel_labels;
  lines.push(`  channels: ${labels.length <= 8 ? labels.join(', ') : `${labels.slice(0, 4).join(', ')}, …, ${labels.slice(-2).join(', ')}`}`);
  lines.push(`  velocity: ${cfg.velocity_labels.join(', ')}`);
  const desc = decoders.map((d) => d === 'wiener' ? `wiener (${b.wiener!.lags} lag${b.wiener!.lags > 1 ? 's' : ''}, alpha ${b.wiener!.alpha})`
    : d === 'kalman' ? `kalman (state ${b.kalman!.state.join(', ')}, 1)` : d);
  lines.push(`  decoders: ${desc.join('; ')}${decoders.length === 1 ? ' (no baselines stored)' : ''}`);
  lines.push('  tensors:');
  const w = Math.max(...[...tensors, ...baselineTensors].map((t) => t.name.length));
  for (const t of [...tensors, ...baselineTensors])
    lines.push(`    ${t.name.padEnd(w)}  ${`[${t.shape.join(', ')}]`.padEnd(12)}  min ${t.min.toPrecision(4).padStart(10)}  max ${t.max.toPrecision(4).padStart(10)}  rms ${t.rms.toPrecision(4).padStart(10)}`);
  lines.push('  metadata:');
  for (const [k, v] of Object.entries(otherMeta)) lines.push(`    ${k}: ${v.length > 200 ? v.slice(0, 200) + '…' : v}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'init') return init(rest);
  if (sub === 'inspect') return inspect(rest);
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub === undefined ? 2 : 0;
  }
  throw new UsageError(`model: unknown subcommand "${sub}"`);
}
