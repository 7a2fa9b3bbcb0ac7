/**
 * In-process surfaces: every parser that reads a file or a message the daemon did not write
 * itself. Each case is a mutated valid input (or generated garbage); the parser must either accept
 * it or refuse it with its named error (a `code`), never a TypeError / RangeError. What a parser
 * accepts is also handed to the next consumer the daemon would hand it to (filter, URI parsing,
 * replay loading), so "accepted but unusable" is caught too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preset } from '../model/config.js';
import { OnlineFilter } from '../model/filter.js';
import { initWeights } from '../model/init.js';
import { loadModel, makeModel, modelToBytes } from '../model/model-file.js';
import { parseRunArgs } from '../daemon/run-config.js';
import { parseEndpoint } from '../daemon/endpoints.js';
import { readXdf } from '../streams/xdf/reader.js';
import { loadRecording } from '../streams/replay.js';
import { caseSeed, Gen } from './gen.js';
import { catchingCrashes, classifyThrow, Tally, type SurfaceResult } from './tally.js';

export interface SurfaceOptions {
  cases: number;
  seed: number;
  /** Valid input is re-checked after every `stormSize` cases. */
  stormSize?: number;
}

/** Runs `body` on one case and counts how it ended. */
function attempt(t: Tally, kind: string, index: number, body: () => string): void {
  try {
    t.outcome(body());
  } catch (err) {
    const c = classifyThrow(err);
    if (c.refused) t.outcome(`refused:${c.code}`);
    else t.internal(kind, index, c.detail);
  }
}

// ---------------------------------------------------------------------------------------------
// XDF

export const XDF_EXAMPLES = '/work/shared/data/xdf-examples';

export interface XdfSource { name: string; bytes: Uint8Array; weight: number }

/** The example files, with the 1 MiB one drawn rarely so that 10⁵ parses stay within minutes. */
export function xdfSources(extra: XdfSource[] = []): XdfSource[] {
  const dir = process.env.LANGEVIND_XDF_EXAMPLES ?? XDF_EXAMPLES;
  const files: Array<[string, number]> = [['minimal.xdf', 4], ['empty_streams.xdf', 4], ['clock_resets.xdf', 0.05]];
  return [...files.map(([f, w]) => ({ name: f, bytes: readFileSync(join(dir, f)), weight: w })), ...extra];
}

function pickWeighted<T extends { weight: number }>(g: Gen, xs: readonly T[]): T {
  let total = 0;
  for (const x of xs) total += x.weight;
  let r = g.next() * total;
  for (const x of xs) if ((r -= x.weight) < 0) return x;
  return xs[xs.length - 1];
}

/** What a parse of a valid file must reproduce: streams and their sample counts. */
function xdfShape(bytes: Uint8Array): string {
  return readXdf(bytes).streams.map((s) => `${s.id}:${s.timeStamps.length}`).join(',');
}

export async function fuzzXdf(opts: SurfaceOptions & { sources: XdfSource[] }): Promise<SurfaceResult> {
  const t = new Tally('xdf', opts.seed);
  const storm = opts.stormSize ?? 1000;
  const baseline = opts.sources.map((s) => xdfShape(s.bytes));
  const dir = mkdtempSync(join(tmpdir(), 'langevind-fuzz-xdf-'));
  const file = join(dir, 'case.xdf');
  try {
    await catchingCrashes(t, async () => {
      for (let i = 0; i < opts.cases; i++) {
        const g = new Gen(caseSeed(opts.seed, i));
        const src = pickWeighted(g, opts.sources);
        let bytes: Uint8Array;
        let kind: string;
        if (g.chance(0.03)) {
          bytes = Buffer.concat([Buffer.from('XDF:'), g.bytes(g.size(4096))]);
          kind = 'random_after_magic';
        } else {
          const m = g.mutate(src.bytes);
          // Mutations past the first chunks of the big file would mostly hit sample data; aim at its start.
          bytes = m.bytes;
          kind = m.how;
        }
        t.case(kind);
        // Every 16th case also goes through the replay loader, as `replay:///…` would read it.
        const viaReplay = i % 16 === 0;
        if (viaReplay) writeFileSync(file, bytes);
        attempt(t, kind, i, () => {
          const f = readXdf(bytes);
          for (const s of f.streams) {
            if (s.info.channelCount < 0 || !Number.isFinite(s.info.nominalSrate)) return 'parsed_inconsistent';
            void s.timeStamps.length;
          }
          return f.warnings.length > 0 ? 'parsed_with_warnings' : 'parsed';
        });
        if (viaReplay) {
          try {
            await loadRecording(file);
            t.outcome('replay:loaded');
          } catch (err) {
            const c = classifyThrow(err);
            if (c.refused) t.outcome(`replay:refused:${c.code}`);
            else t.internal(`replay:${kind}`, i, c.detail);
          }
        }
        if ((i + 1) % storm === 0 || i === opts.cases - 1) {
          let ok = 0;
          opts.sources.forEach((s, k) => { if (xdfShape(s.bytes) === baseline[k]) ok++; });
          t.validCheck(`after case ${i}`, opts.sources.length, ok);
        }
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.result.notes.sources = opts.sources.map((s) => ({ name: s.name, bytes: s.bytes.length, weight: s.weight }));
  return t.finish();
}

// ---------------------------------------------------------------------------------------------
// Model files

/** A small real model file (preset S shape, 16 channels) and the committed default model. */
export function modelSources(defaultModelPath?: string): Array<{ name: string; bytes: Uint8Array }> {
  const cfg = preset('S', { n_in: 16, n_out: 16, hidden: 16, latent: 16, ff: 32, window: 8 });
  const small = modelToBytes(makeModel(cfg, initWeights(cfg, 7)));
  const out = [{ name: 'small-S16', bytes: small }];
  if (defaultModelPath) out.push({ name: 'default', bytes: readFileSync(defaultModelPath) });
  return out;
}

/** Rewrites the JSON header of a safetensors file (kept length-consistent unless `lie`). */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void, lie?: number): Buffer {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.readBigUInt64LE(0));
  const header = JSON.parse(view.toString('utf8', 8, 8 + n)) as Record<string, unknown>;
  edit(header);
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(lie ?? h.length));
  return Buffer.concat([len, h, view.subarray(8 + n)]);
}

const JSON_ODDITIES: unknown[] = [null, true, -1, 0, 1.5, 1e308, -0, 2 ** 53 + 2, '', 'x', '-1', 'NaN', [], [-1], [1, 2, 3], [0.5], {}, { a: 1 }, [2 ** 40, 2 ** 40]];

function oddValue(g: Gen): unknown {
  // A copy: a shared array set inside itself would make the case circular.
  return g.chance(0.7) ? structuredClone(g.pick(JSON_ODDITIES)) : g.text(24);
}

/** Sets a random key (existing or new) of a JSON object to an odd value, or deletes one. */
function mutateObject(g: Gen, o: Record<string, unknown>): void {
  const keys = Object.keys(o);
  const r = g.int(10);
  if (r < 2 && keys.length) delete o[g.pick(keys)];
  else if (r < 3) o[g.text(12)] = oddValue(g);
  else if (keys.length) {
    const k = g.pick(keys);
    const v = o[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && g.chance(0.5)) mutateObject(g, v as Record<string, unknown>);
    else if (Array.isArray(v) && v.length && g.chance(0.5)) v[g.int(v.length)] = oddValue(g);
    else o[k] = oddValue(g);
  }
}

export async function fuzzModel(opts: SurfaceOptions & { sources: Array<{ name: string; bytes: Uint8Array }> }): Promise<SurfaceResult> {
  const t = new Tally('model', opts.seed);
  const storm = opts.stormSize ?? 1000;
  await catchingCrashes(t, async () => {
    for (let i = 0; i < opts.cases; i++) {
      const g = new Gen(caseSeed(opts.seed, i));
      const src = g.chance(0.9) ? opts.sources[0] : g.pick(opts.sources);
      let bytes: Uint8Array;
      let kind: string;
      const r = g.int(10);
      if (r < 4) {
        const m = g.mutate(src.bytes);
        bytes = m.bytes;
        kind = m.how;
      } else if (r < 6) {
        kind = 'tensor_entry';
        bytes = withHeader(src.bytes, (h) => {
          const names = Object.keys(h).filter((k) => k !== '__metadata__');
          mutateObject(g, h[g.pick(names)] as Record<string, unknown>);
        });
      } else if (r < 8) {
        kind = 'config_json';
        bytes = withHeader(src.bytes, (h) => {
          const meta = h.__metadata__ as Record<string, string>;
          const cfg = JSON.parse(meta['langevind.config']) as Record<string, unknown>;
          for (let k = 1 + g.int(3); k > 0; k--) mutateObject(g, cfg);
          meta['langevind.config'] = g.chance(0.1) ? JSON.stringify(cfg).slice(0, g.int(200)) : JSON.stringify(cfg);
        });
      } else if (r < 9) {
        kind = 'metadata';
        bytes = withHeader(src.bytes, (h) => mutateObject(g, (g.chance(0.8) ? h.__metadata__ : h) as Record<string, unknown>));
      } else {
        kind = 'lying_header_length';
        bytes = withHeader(src.bytes, () => undefined, g.pick([0, 1, 2, 7, 2 ** 31, 2 ** 53, g.int(100000)]));
      }
      t.case(kind);
      attempt(t, kind, i, () => {
        const m = loadModel(bytes);
        // Accepted: the daemon builds a filter and steps it; that must work and give finite output.
        const f = new OnlineFilter(m);
        const v = f.step(new Float32Array(m.config.n_in)).velocity;
        for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) return 'loaded_nonfinite_output';
        return 'loaded';
      });
      if ((i + 1) % storm === 0 || i === opts.cases - 1) {
        let ok = 0;
        for (const s of opts.sources) {
          try { loadModel(s.bytes); ok++; } catch { /* counted as a failure below */ }
        }
        t.validCheck(`after case ${i}`, opts.sources.length, ok);
      }
    }
  });
  return t.finish();
}

// ---------------------------------------------------------------------------------------------
// --config files

const VALID_CONFIG = {
  model: 'models/default.safetensors',
  input: 'zmq+tcp://127.0.0.1:5555',
  output: ['zmq+tcp://127.0.0.1:5556', 'lsl://name=langevind-velocity'],
  gap_policy: 'zeros',
  max_gap: 50,
  stream_id: 'rig-1',
  status_interval: 10,
  kernels: 'wasm',
  cpus: '0-1',
};

const URI_ODDITIES = ['', ':', 'zmq+tcp://', 'zmq+tcp://127.0.0.1', 'zmq+tcp://[::1', 'zmq+tcp://127.0.0.1:99999', 'zmq+ipc://', 'zmq+ipc:///',
  'lsl://', 'lsl://?pred=count(((', 'lsl://name=%ZZ', 'replay://', 'replay:///nonexistent.xdf?speed=-1', 'http://x', '%', '\u0000', 'zmq+tcp://127.0.0.1:5555?bind&connect',
  'zmq+tcp://127.0.0.1:5555?hwm=-1', 'zmq+tcp://127.0.0.1:5555?queue=abc', 'zmq+tcp://127.0.0.1:5555/path', 'lsl://name=a&type=b&bogus=c'];
const CPU_ODDITIES = ['', '-', '3-1', '0-99999999', ',,', '1,a', '1.5', '-1', '0-1-2', '9'.repeat(40), [0, 1], [-1], [[1]], [null]];

function configCase(g: Gen): { kind: string; text: string; argv: string[] } {
  const o: Record<string, unknown> = JSON.parse(JSON.stringify(VALID_CONFIG)) as Record<string, unknown>;
  const argv: string[] = [];
  const r = g.int(12);
  let kind: string;
  if (r < 3) {
    kind = 'value';
    for (let k = 1 + g.int(3); k > 0; k--) mutateObject(g, o);
  } else if (r < 5) {
    kind = 'uri';
    const key = g.pick(['input', 'output']);
    const u = g.chance(0.7) ? g.pick(URI_ODDITIES) : `${g.pick(['zmq+tcp', 'zmq+ipc', 'lsl', 'replay', 'x'])}://${g.text(40)}`;
    o[key] = key === 'output' && g.chance(0.5) ? [u] : u;
  } else if (r < 6) {
    kind = 'cpus';
    o.cpus = g.pick(CPU_ODDITIES);
  } else if (r < 7) {
    kind = 'numbers';
    o[g.pick(['max_gap', 'status_interval'])] = g.pick([-1, 0.5, 1e309, '1e400', 'NaN', 'Infinity', ' ', '0x10', 2 ** 60, '']);
  } else if (r < 8) {
    kind = 'with_flags';
    argv.push(...g.pick([['--max-gap', '-3'], ['--gap-policy', 'x'], ['--stream-id', ''], ['--cpus', '7-3'], ['--output', '%%'], ['--status-interval', 'NaN'], ['--bogus'], ['--kernels']]));
  } else if (r < 9) {
    kind = 'not_an_object';
    const text = g.pick(['[]', '1', '"s"', 'null', 'true', '', '{', '\ufeff{}', '{"model": }', '{"__proto__": {"model": "x"}}', '{"constructor": 1}']);
    return { kind, text, argv };
  } else {
    const m = g.mutate(Buffer.from(JSON.stringify(o)));
    return { kind: `bytes_${m.how}`, text: m.bytes.toString('latin1'), argv };
  }
  return { kind, text: JSON.stringify(o), argv };
}

export async function fuzzConfig(opts: SurfaceOptions): Promise<SurfaceResult> {
  const t = new Tally('config', opts.seed);
  const storm = opts.stormSize ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'langevind-fuzz-config-'));
  const file = join(dir, 'run.json');
  try {
    await catchingCrashes(t, async () => {
      for (let i = 0; i < opts.cases; i++) {
        const g = new Gen(caseSeed(opts.seed, i));
        const c = configCase(g);
        t.case(c.kind);
        writeFileSync(file, c.text, 'latin1');
        attempt(t, c.kind, i, () => {
          const cfg = parseRunArgs(['--config', file, ...c.argv]);
          if (!cfg) return 'help';
          // What run.ts does next with the strings: parse every endpoint URI.
          for (const u of [cfg.input, ...cfg.outputs]) parseEndpoint(u);
          return 'accepted';
        });
        if ((i + 1) % storm === 0 || i === opts.cases - 1) {
          writeFileSync(file, JSON.stringify(VALID_CONFIG));
          let ok = 0;
          try { if (parseRunArgs(['--config', file])?.outputs.length === 2) ok = 1; } catch { /* a failure */ }
          t.validCheck(`after case ${i}`, 1, ok);
        }
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return t.finish();
}
