/**
 * Options of `langevind run`, from the command line and an optional JSON file (--config) with the
 * same options in snake_case; the command line wins. Checked here, with errors that name the option.
 * File paths in the config file (model, record, control_token_file, model_dir, record_dir) are relative to the config file's directory, so a
 * config works from any working directory; on the command line they are relative to the cwd.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DECODERS, type DecoderName } from '../model/baselines.js';
import { AffinityError, parseCpuList } from './affinity.js';
import { numberOf, UsageError } from './usage.js';
import { GAP_POLICIES, type GapPolicy } from './pipeline/index.js';
import { CONTROL_USAGE } from './control/options.js';

/** A usage error of `langevind run` (daemon/usage.ts): bad options or a bad --config file. */
export class RunConfigError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'RunConfigError';
  }
}

export interface RunConfig {
  model: string;
  input: string;
  outputs: string[];
  record?: string;
  gapPolicy: GapPolicy;
  /** Longest gap filled with zeros before the filter is reset instead; default 1 s of bins. */
  maxGap?: number;
  streamId?: string;
  /** Seconds between status log lines; 0 turns them off. */
  statusInterval: number;
  kernels?: 'ts' | 'wasm';
  /** Which decoder of the model file runs: LangevinFlow (default) or a baseline calibration fitted beside it. */
  decoder: DecoderName;
  /** Pin every thread of the daemon to these CPUs (Linux); unset: the scheduler decides. */
  cpus?: number[];
  /** Read the model back into cache this many ms before the next bin is due; 0: off (daemon/prewarm.ts). */
  prewarmMs: number;
  /** Back the model's memory with 2 MiB pages (daemon/hugepages.ts); default true. */
  hugePages: boolean;
  /** Control plane (daemon/control/options.ts): address or off, token file, confinement directories. */
  control?: string;
  controlTokenFile?: string;
  modelDir?: string;
  recordDir?: string;
}

export const RUN_USAGE = `usage: langevind run --model FILE --input URI --output URI [--output URI …] [options]

  --model FILE            model file (.safetensors, from langevind calibrate or langevind model init)
  --input URI             where spike bins come from:
                            zmq+tcp://127.0.0.1:5555   (connects; add ?bind to bind)
                            zmq+ipc:///tmp/spikes      (Unix socket)
                            replay:///path/session.xdf?speed=1
                            lsl://name=M1-binned
  --output URI            where decodes go (repeatable): zmq+tcp://127.0.0.1:5556 (binds; ?connect
                          to connect), zmq+ipc:///tmp/velocity, lsl://name=langevind-velocity
  --record FILE.xdf       record every bin, every refused message and every decode to XDF
  --config FILE.json      the same options as JSON: {"model", "input", "output": [..], "record",
                          "gap_policy", "max_gap", "stream_id", "status_interval", "kernels",
                          "decoder", "cpus", "prewarm_ms", "hugepages", "control",
                          "control_token_file", "model_dir", "record_dir"}; its "model", "record",
                          "control_token_file", "model_dir" and "record_dir" paths are relative
                          to the file's directory
  --gap-policy zeros|reset  a gap in seq: step the filter through the missing bins with zero
                          input (default; a gap longer than --max-gap resets) or reset the filter
  --max-gap N             longest gap filled with zeros, in bins (default: 1 s of bins)
  --stream-id ID          accept only this stream_id (default: the first one seen, and after
                          it has been silent for 1 s, the next stream that sends)
  --status-interval S     seconds between status log lines (default 10; 0: off)
  --kernels ts|wasm       filter kernels (default: wasm when available)
  --decoder langevinflow|wiener|kalman
                          which decoder of the model file runs (default langevinflow); wiener and
                          kalman are the baselines calibrate stores beside the network
  --cpus LIST             pin the daemon's threads to these CPUs, e.g. 2 or 2-3 (Linux); keeps
                          the scheduler from moving it between CPUs, which costs latency
  --prewarm MS            read the model back into the CPU caches MS ms before the next bin is
                          due (e.g. 2; default 0: off): a step after 20 ms idle otherwise fetches
                          its weights from memory
  --hugepages on|off      back the model's memory with 2 MiB pages (Linux transparent huge
                          pages; default on): fewer TLB misses in a step after an idle bin
${CONTROL_USAGE}

Logs are NDJSON on stderr; "ready" is logged once inputs and outputs are open. On SIGINT or
SIGTERM the daemon stops taking input, flushes outputs and the recording, prints a summary (text,
then one JSON line) on stdout and exits 0.`;

const CONFIG_KEYS = ['model', 'input', 'output', 'record', 'gap_policy', 'max_gap', 'stream_id', 'status_interval', 'kernels', 'decoder', 'cpus', 'prewarm_ms', 'hugepages', 'control', 'control_token_file', 'model_dir', 'record_dir'] as const;

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RunConfigError(`--config ${path}: ${(err as Error).message}`);
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    throw new RunConfigError(`--config ${path}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new RunConfigError(`--config ${path}: must be a JSON object`);
  for (const k of Object.keys(o)) if (!(CONFIG_KEYS as readonly string[]).includes(k)) throw new RunConfigError(`--config ${path}: unknown key "${k}" (known: ${CONFIG_KEYS.join(', ')})`);
  return o as Record<string, unknown>;
}

/** null when --help was asked for. */
export function parseRunArgs(argv: string[]): RunConfig | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        input: { type: 'string' },
        output: { type: 'string', multiple: true },
        record: { type: 'string' },
        config: { type: 'string' },
        'gap-policy': { type: 'string' },
        'max-gap': { type: 'string' },
        'stream-id': { type: 'string' },
        'status-interval': { type: 'string' },
        kernels: { type: 'string' },
        decoder: { type: 'string' },
        cpus: { type: 'string' },
        prewarm: { type: 'string' },
        hugepages: { type: 'string' },
        control: { type: 'string' },
        'control-token-file': { type: 'string' },
        'model-dir': { type: 'string' },
        'record-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new RunConfigError(`run: ${(err as Error).message}`);
  }
  const a = parsed.values;
  if (a.help) return null;
  const file = a.config ? readConfigFile(a.config) : {};
  const configDir = a.config ? dirname(resolve(a.config)) : '';
  const str = (cli: string | undefined, key: string): string | undefined => {
    if (cli !== undefined) return cli;
    const v = file[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new RunConfigError(`--config: "${key}" must be a string`);
    return String(v);
  };
  /** A file path: from the command line as given, from the config file resolved against its directory. */
  const path = (cli: string | undefined, key: string): string | undefined => {
    if (cli !== undefined) return cli;
    const v = str(undefined, key);
    return v === undefined ? undefined : resolve(configDir, v);
  };
  const num = (cli: string | undefined, key: string, flag: string, integer: boolean): number | undefined => {
    const s = str(cli, key);
    if (s === undefined) return undefined;
    const n = numberOf(s);
    if (n === null || n < 0 || (integer && !Number.isInteger(n))) throw new RunConfigError(`${flag} must be a non-negative ${integer ? 'integer' : 'number'}, got "${s}"`);
    return n;
  };

  const model = path(a.model, 'model');
  const input = str(a.input, 'input');
  let outputs = a.output;
  if (!outputs || outputs.length === 0) {
    const fo = file.output;
    if (typeof fo === 'string') outputs = [fo];
    else if (Array.isArray(fo) && fo.every((x) => typeof x === 'string')) outputs = fo as string[];
    else if (fo !== undefined) throw new RunConfigError('--config: "output" must be a string or an array of strings');
  }
  if (!model) throw new RunConfigError('run: --model FILE is required');
  if (!input) throw new RunConfigError('run: --input URI is required');
  if (!outputs || outputs.length === 0) throw new RunConfigError('run: at least one --output URI is required');
  const gp = str(a['gap-policy'], 'gap_policy') ?? 'zeros';
  if (!(GAP_POLICIES as readonly string[]).includes(gp)) throw new RunConfigError(`--gap-policy must be ${GAP_POLICIES.join(' or ')}, got "${gp}"`);
  const kernels = str(a.kernels, 'kernels');
  if (kernels !== undefined && kernels !== 'ts' && kernels !== 'wasm') throw new RunConfigError(`--kernels must be ts or wasm, got "${kernels}"`);
  const decoder = str(a.decoder, 'decoder') ?? 'langevinflow';
  if (!(DECODERS as readonly string[]).includes(decoder)) throw new RunConfigError(`--decoder must be ${DECODERS.join(', ')}, got "${decoder}"`);
  let cpus: number[] | undefined;
  const cpuSpec = a.cpus ?? (Array.isArray(file.cpus) ? file.cpus.join(',') : str(undefined, 'cpus'));
  if (cpuSpec !== undefined) {
    try {
      cpus = parseCpuList(String(cpuSpec));
    } catch (err) {
      throw new RunConfigError((err as AffinityError).message);
    }
  }
  const prewarmMs = num(a.prewarm, 'prewarm_ms', '--prewarm', false) ?? 0;
  const hp = a.hugepages ?? (typeof file.hugepages === 'boolean' ? (file.hugepages ? 'on' : 'off') : str(undefined, 'hugepages')) ?? 'on';
  if (hp !== 'on' && hp !== 'off') throw new RunConfigError(`--hugepages must be on or off, got "${hp}"`);
  return {
    model,
    input,
    outputs,
    record: path(a.record, 'record'),
    gapPolicy: gp as GapPolicy,
    maxGap: num(a['max-gap'], 'max_gap', '--max-gap', true),
    streamId: str(a['stream-id'], 'stream_id'),
    statusInterval: num(a['status-interval'], 'status_interval', '--status-interval', false) ?? 10,
    kernels: kernels as RunConfig['kernels'],
    decoder: decoder as DecoderName,
    cpus,
    prewarmMs,
    hugePages: hp === 'on',
    control: str(a.control, 'control'),
    controlTokenFile: path(a['control-token-file'], 'control_token_file'),
    modelDir: path(a['model-dir'], 'model_dir'),
    recordDir: path(a['record-dir'], 'record_dir'),
  };
}
