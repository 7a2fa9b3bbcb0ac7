/**
 * `langevind calibrate RECORDING.xdf --out MODEL.safetensors [options]`: trains a LangevinFlow
 * model on a recorded calibration block and reports how it decodes the held-out end of it.
 */
import { parseArgs } from 'node:util';
import { numberOf, UsageError } from '../usage.js';
import { KALMAN_STATES, type KalmanState } from '../../model/baselines.js';

const HELP = `usage: langevind calibrate RECORDING.xdf --out MODEL.safetensors [options]

Data
  --spikes NAME|TYPE          spike-count stream (default: type SpikeCounts)
  --behaviour NAME|TYPE       behaviour stream (default: type Kinematics)
  --velocity-channels LIST    velocity channels, labels or globs, comma-separated (default vel_*)
  --bin-ms MS                 bin width when the stream does not state it
  --held-out FRACTION         held-out block at the end, never trained on (default 0.2)
Model
  --preset S|M|P              a preset size instead of the calibration default
                              (H=64, D=32 with C=1 oscillator channel, step 0.2, F=128, 2 heads, W=32)
  --hidden H --latent D --osc-channels C --heads N --ff F --window W --gamma G --step DT --no-corrections
Training
  --epochs N                  maximum epochs (default 400)
  --max-minutes M             training time budget (default none)
  --batch B --seq-len T --lr LR --keep-prob P --dropout P --beta-max B --patience N --seed N
  --backend wasm|cpu|tensorflow   TensorFlow.js backend (default wasm; tensorflow needs @tensorflow/tfjs-node)
  --resume CHECKPOINT         continue an interrupted run (Ctrl-C writes OUT.ckpt)
Baselines
  --baselines-only --model M  fit only the Wiener and Kalman filters of model M on RECORDING (the
                              one M was calibrated on, same split) and write M with them to --out;
                              M's LangevinFlow weights are kept as they are
  --kalman-state velocity|position-velocity
                              the Kalman filter's state (default velocity: the velocity Kalman
                              filter, Kim et al. 2008; position-velocity: Wu et al. 2003, when the
                              behaviour stream has pos_* channels)
Output
  --report FILE.html          HTML report with plots
  --quiet                     no progress bar
`;

export const usage = HELP;

function usageError(msg: string): UsageError {
  return new UsageError(`calibrate: ${msg}`);
}

function num(v: string | undefined, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = numberOf(v);
  if (x === null || (opts.int && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min) || (opts.max !== undefined && x > opts.max))
    throw usageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}, got "${v}"`);
  return x;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        out: { type: 'string', short: 'o' }, spikes: { type: 'string' }, behaviour: { type: 'string' }, 'velocity-channels': { type: 'string' },
        'bin-ms': { type: 'string' }, 'held-out': { type: 'string' }, preset: { type: 'string' }, hidden: { type: 'string' }, latent: { type: 'string' },
        'osc-channels': { type: 'string' }, heads: { type: 'string' }, ff: { type: 'string' }, window: { type: 'string' }, gamma: { type: 'string' },
        step: { type: 'string' }, 'no-corrections': { type: 'boolean' }, epochs: { type: 'string' }, 'max-minutes': { type: 'string' },
        batch: { type: 'string' }, 'seq-len': { type: 'string' }, lr: { type: 'string' }, 'keep-prob': { type: 'string' }, dropout: { type: 'string' },
        'beta-max': { type: 'string' }, patience: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' }, resume: { type: 'string' },
        report: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        'baselines-only': { type: 'boolean' }, model: { type: 'string' }, 'kalman-state': { type: 'string' },
      },
    });
  } catch (e) {
    throw usageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw usageError(`expected one RECORDING.xdf, got ${parsed.positionals.length}`);
  if (!v.out) throw usageError('--out MODEL.safetensors is required');
  if (v.preset !== undefined && !['S', 'M', 'P'].includes(v.preset)) throw usageError(`--preset must be S, M or P, got "${v.preset}"`);
  if (v.backend !== undefined && !['wasm', 'cpu', 'tensorflow'].includes(v.backend)) throw usageError(`--backend must be wasm, cpu or tensorflow, got "${v.backend}"`);
  const kalmanState = (v['kalman-state'] ?? 'velocity') as KalmanState;
  if (!KALMAN_STATES.includes(kalmanState)) throw usageError(`--kalman-state must be ${KALMAN_STATES.join(' or ')}, got "${v['kalman-state']}"`);
  if (v['baselines-only'] || v.model !== undefined) {
    if (!v['baselines-only'] || !v.model) throw usageError('--baselines-only and --model M go together');
    const { refitBaselines } = await import('../../calibration/pipeline.js');
    await refitBaselines({
      recording: parsed.positionals[0], model: v.model, out: v.out,
      spikes: v.spikes, behaviour: v.behaviour, velocityChannels: v['velocity-channels'], binMs: num(v['bin-ms'], 'bin-ms', { min: 1e-3 }), kalmanState,
      command: ['langevind', 'calibrate', ...argv].join(' '),
    });
    return 0;
  }
  const drop = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;

  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) process.stderr.write('\ninterrupt: finishing this batch and writing a checkpoint (Ctrl-C again to quit at once)\n');
    else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  try {
    // Loaded here so `calibrate --help` and option errors do not pay for TensorFlow.js.
    const { calibrate } = await import('../../calibration/pipeline.js');
    const res = await calibrate({
      recording: parsed.positionals[0],
      out: v.out,
      spikes: v.spikes, behaviour: v.behaviour, velocityChannels: v['velocity-channels'],
      binMs: num(v['bin-ms'], 'bin-ms', { min: 1e-3 }),
      heldOut: num(v['held-out'], 'held-out', { min: 0.01, max: 0.9 }),
      kalmanState,
      size: drop({
        preset: v.preset as 'S' | 'M' | 'P' | undefined,
        hidden: num(v.hidden, 'hidden', { int: true, min: 1 }), latent: num(v.latent, 'latent', { int: true, min: 1 }),
        osc_channels: num(v['osc-channels'], 'osc-channels', { int: true, min: 1 }), heads: num(v.heads, 'heads', { int: true, min: 1 }),
        ff: num(v.ff, 'ff', { int: true, min: 1 }), window: num(v.window, 'window', { int: true, min: 1 }),
        gamma: num(v.gamma, 'gamma', { min: 1e-6, max: 1 }), step: num(v.step, 'step', { min: 1e-9 }),
        corrections: v['no-corrections'] ? false : undefined,
      }),
      train: drop({
        maxEpochs: num(v.epochs, 'epochs', { int: true, min: 1 }), maxMinutes: num(v['max-minutes'], 'max-minutes', { min: 0 }),
        batch: num(v.batch, 'batch', { int: true, min: 1 }), window: num(v['seq-len'], 'seq-len', { int: true, min: 2 }),
        lr: num(v.lr, 'lr', { min: 1e-9 }), keepProb: num(v['keep-prob'], 'keep-prob', { min: 0.05, max: 1 }),
        dropout: num(v.dropout, 'dropout', { min: 0, max: 0.9 }), betaMax: num(v['beta-max'], 'beta-max', { min: 0 }),
        patience: num(v.patience, 'patience', { int: true, min: 1 }), seed: num(v.seed, 'seed', { int: true, min: 0 }),
      }),
      backend: v.backend as 'wasm' | 'cpu' | 'tensorflow' | undefined,
      report: v.report,
      resume: v.resume,
      command: ['langevind', 'calibrate', ...argv].join(' '),
      progress: !v.quiet,
      interrupted: () => interrupts > 0,
    });
    return res.model ? 0 : 130;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
