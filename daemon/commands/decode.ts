/**
 * `langevind decode --model FILE RECORDING.xdf --out OUT.csv [--with-rates] [--stream NAME]`:
 * every bin of the recording's spike stream through the OnlineFilter, one CSV row per bin:
 * timestamp, the velocity columns (named by the model's velocity_labels), then lograte_<i> with
 * --with-rates. The recording is one sequence: the filter is reset once, before its first bin,
 * and the bins go through the same OnlineFilter.step the daemon runs live, so the numbers are
 * the daemon's.
 *
 * The spike stream is the one named by --stream, else the first stream of type SpikeCounts. A
 * stream whose channel count or bin width differs from the model's is refused.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../usage.js';
import { OnlineFilter, validateCounts } from '../../model/filter.js';
import { loadModel } from '../../model/model-file.js';
import { binMs, channelLabels, type StreamInfo } from '../../streams/stream-info.js';
import { readXdf } from '../../streams/xdf/reader.js';

export type DecodeErrorCode = 'ENOSTREAM' | 'EMISMATCH' | 'EBADBIN';

export class DecodeError extends Error {
  constructor(readonly code: DecodeErrorCode, message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

const USAGE = 'usage: langevind decode --model FILE RECORDING.xdf --out OUT.csv [--with-rates] [--stream NAME]';
export const usage = USAGE;

/** A float32 value in the fewest digits that still read back as the same float32. */
export function formatF32(x: number): string {
  return String(Number(x.toPrecision(9)));
}

export interface DecodeOptions {
  model: string;
  recording: string;
  out: string;
  withRates?: boolean;
  stream?: string;
}

export interface DecodeSummary {
  bins: number;
  stream: string;
  modelId: string;
  backend: string;
  seconds: number;
}

export function decodeRecording(opts: DecodeOptions): DecodeSummary {
  const model = loadModel(opts.model);
  const cfg = model.config;
  const pick = (info: StreamInfo): boolean => (opts.stream !== undefined ? info.name === opts.stream : info.type === 'SpikeCounts');
  const file = readXdf(opts.recording, { onlyStreams: pick });
  const stream = file.streams.find((s) => pick(s.info));
  if (!stream)
    throw new DecodeError('ENOSTREAM', opts.stream !== undefined
      ? `decode: ${opts.recording} has no stream named "${opts.stream}"`
      : `decode: ${opts.recording} has no stream of type SpikeCounts (name one with --stream)`);
  const info = stream.info;
  const label = `stream ${stream.id} "${info.name}"`;
  if (info.channelCount !== cfg.n_in)
    throw new DecodeError('EMISMATCH', `decode: ${label} has ${info.channelCount} channels, the model expects ${cfg.n_in}`);
  const bin = binMs(info);
  if (bin === undefined) throw new DecodeError('EMISMATCH', `decode: ${label} states no bin width (no <desc><binning><bin_ms> and no nominal rate); the model needs ${cfg.bin_ms} ms`);
  if (Math.abs(bin - cfg.bin_ms) > 1e-6 * cfg.bin_ms)
    throw new DecodeError('EMISMATCH', `decode: ${label} has ${bin} ms bins, the model was made for ${cfg.bin_ms} ms bins`);
  if (Array.isArray(stream.data)) throw new DecodeError('EMISMATCH', `decode: ${label} holds strings, not spike counts`);
  const labels = channelLabels(info);
  if (labels && labels.some((l, i) => l !== cfg.channel_labels[i]))
    process.stderr.write(`decode: warning: ${label}'s channel labels differ from the model's (first: "${labels.find((l, i) => l !== cfg.channel_labels[i])}"); decoding by position\n`);

  const data = stream.data as ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };
  const ts = stream.timeStamps;
  const n = ts.length;
  const c = info.channelCount;
  const filter = new OnlineFilter(model);
  const header = ['timestamp', ...cfg.velocity_labels];
  if (opts.withRates) for (let i = 0; i < cfg.n_out; i++) header.push(`lograte_${i}`);
  const fd = openSync(opts.out, 'w');
  const t0 = performance.now();
  try {
    let chunk: string[] = [header.join(',')];
    const row: string[] = [];
    for (let t = 0; t < n; t++) {
      const counts = data.subarray(t * c, (t + 1) * c);
      const bad = validateCounts(counts, c);
      if (bad !== null) throw new DecodeError('EBADBIN', `decode: ${label} sample ${t} (timestamp ${ts[t]}): ${bad}`);
      const out = filter.step(counts);
      row.length = 0;
      row.push(String(ts[t]));
      for (let k = 0; k < out.velocity.length; k++) row.push(formatF32(out.velocity[k]));
      if (opts.withRates) for (let k = 0; k < out.logRates.length; k++) row.push(formatF32(out.logRates[k]));
      chunk.push(row.join(','));
      if (chunk.length >= 1024) {
        writeSync(fd, chunk.join('\n') + '\n');
        chunk = [];
      }
    }
    if (chunk.length > 0) writeSync(fd, chunk.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
  return { bins: n, stream: info.name, modelId: model.id, backend: filter.backend, seconds: (performance.now() - t0) / 1e3 };
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { model: { type: 'string' }, out: { type: 'string' }, 'with-rates': { type: 'boolean' }, stream: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(`decode: ${(e as Error).message}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!v.model) throw new UsageError('decode: --model FILE is required');
  if (!v.out) throw new UsageError('decode: --out OUT.csv is required');
  if (parsed.positionals.length !== 1) throw new UsageError(`decode: expected one RECORDING.xdf, got ${parsed.positionals.length}`);
  const s = decodeRecording({ model: v.model, recording: parsed.positionals[0], out: v.out, withRates: v['with-rates'], stream: v.stream });
  process.stderr.write(`decode: ${s.bins} bins of "${s.stream}" through model ${s.modelId} (${s.backend} kernels) in ${s.seconds.toFixed(2)} s → ${v.out}\n`);
  return 0;
}
