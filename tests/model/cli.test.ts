/** The model and decode commands, run as the real CLI in a child process on real files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { OnlineFilter } from '../../model/filter.js';
import { loadModel, saveModel } from '../../model/model-file.js';
import { referenceForward } from '../../model/reference.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { writeXdf } from '../../streams/xdf/writer.js';
import { poissonCounts, randomModel, relErr, smallConfig } from './helpers.js';
import { CLI_PATH, REPO_ROOT } from '../../harness/process.js';

const CLI = CLI_PATH;
const dir = mkdtempSync(join(tmpdir(), 'langevind-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function recording(path: string, counts: number[][], opts: { binMs: number; type?: string; name?: string; t0?: number }): number[] {
  const n = counts[0].length;
  const labels = Array.from({ length: n }, (_, i) => `ch${i}`);
  const ts = counts.map((_, t) => (opts.t0 ?? 100) + (t * opts.binMs) / 1000);
  const spikes = {
    info: makeStreamInfo({ name: opts.name ?? 'Spikes', type: opts.type ?? 'SpikeCounts', channelCount: n, channelFormat: 'int16', nominalSrate: 1000 / opts.binMs, desc: describeChannels(labels, { binMs: opts.binMs }) }),
    timeStamps: ts,
    data: Int16Array.from(counts.flat()),
  };
  const kin = {
    info: makeStreamInfo({ name: 'Hand', type: 'Kinematics', channelCount: 2, channelFormat: 'float32', nominalSrate: 1000 / opts.binMs }),
    timeStamps: ts,
    data: new Float32Array(2 * counts.length),
  };
  writeFileSync(path, writeXdf([kin, spikes], { datetime: null }));
  return ts;
}

test('model init writes a loadable model of the preset with overrides; inspect describes it', () => {
  const file = join(dir, 'm.safetensors');
  const r = cli('model', 'init', '--preset', 'S', '--seed', '5', '--out', file, '--n-in', '12', '--window', '8', '--corrections', 'false', '--features', 'rates,z', '--lags', '2');
  assert.equal(r.status, 0, r.stderr);
  const m = loadModel(file);
  assert.equal(m.config.n_in, 12);
  assert.equal(m.config.hidden, 64);
  assert.equal(m.config.window, 8);
  assert.equal(m.config.corrections, false);
  assert.deepEqual(m.config.velocity_features, { sources: ['rates', 'z'], lags: 2 });
  assert.match(JSON.parse(m.metadata['langevind.provenance']).kind, /random-init/);
  // Seeded: the same seed gives the same weights, another seed others.
  const again = join(dir, 'm2.safetensors');
  cli('model', 'init', '--preset', 'S', '--seed', '5', '--out', again, '--n-in', '12', '--window', '8', '--corrections', 'false', '--features', 'rates,z', '--lags', '2');
  assert.deepEqual(loadModel(again).weights['decoder.linear1.weight'], m.weights['decoder.linear1.weight']);
  const ins = cli('model', 'inspect', file);
  assert.equal(ins.status, 0, ins.stderr);
  assert.match(ins.stdout, /langevind-model\/1/);
  assert.match(ins.stdout, /decoder\.self_attn\.in_proj_weight\s+\[576, 192\]/);
  assert.match(ins.stdout, new RegExp(`id ${m.id}`));
  const js = JSON.parse(cli('model', 'inspect', file, '--json').stdout);
  assert.equal(js.config.n_in, 12);
  assert.equal(js.tensors.length, 33);
  assert.match(ins.stdout, /decoders: langevinflow \(no baselines stored\)/);
  assert.deepEqual(js.decoders, ['langevinflow']);
  assert.deepEqual(js.baseline_tensors, []);
});

test('model inspect lists the baselines a calibrated model carries (the committed default model)', () => {
  const file = join(REPO_ROOT, 'models/default.safetensors');
  const ins = cli('model', 'inspect', file);
  assert.equal(ins.status, 0, ins.stderr);
  assert.match(ins.stdout, /decoders: langevinflow; wiener \(5 lags, alpha [0-9.e-]+\); kalman \(state pos_x, pos_y, vel_x, vel_y, 1\)/);
  assert.match(ins.stdout, /baseline\.wiener\.weight\s+\[2, 240\]/);
  assert.match(ins.stdout, /baseline\.kalman\.R\s+\[48, 48\]/);
  const js = JSON.parse(cli('model', 'inspect', file, '--json').stdout);
  assert.deepEqual(js.decoders, ['langevinflow', 'wiener', 'kalman']);
  assert.deepEqual(js.baselines.kalman, { state: ['pos_x', 'pos_y', 'vel_x', 'vel_y'], velocity_offset: 2 });
  assert.equal(js.baselines.wiener.lags, 5);
  assert.deepEqual(js.baseline_tensors.map((t: { name: string }) => t.name).sort(),
    ['baseline.kalman.A', 'baseline.kalman.C', 'baseline.kalman.Q', 'baseline.kalman.R', 'baseline.kalman.x0', 'baseline.wiener.bias', 'baseline.wiener.weight']);
  assert.equal(js.metadata['langevind.baselines'], undefined, 'shown as baselines, not as raw metadata');
});

test('model init and inspect refuse bad arguments and bad files with one clear line', () => {
  const bad = cli('model', 'init', '--preset', 'Q', '--seed', '1', '--out', join(dir, 'x'));
  assert.equal(bad.status, 2, 'a usage error');
  assert.match(bad.stderr, /--preset must be S, M or P.*\[EUSAGE\]/);
  const badCfg = cli('model', 'init', '--preset', 'S', '--seed', '1', '--out', join(dir, 'x'), '--gamma', '3');
  assert.match(badCfg.stderr, /gamma.*\[ECONFIG\]/);
  const junk = join(dir, 'junk.safetensors');
  writeFileSync(junk, 'not a model at all');
  const ins = cli('model', 'inspect', junk);
  assert.equal(ins.status, 1);
  assert.match(ins.stderr, /header length.*\[EHEADER\]/);
});

test('decode: one CSV row per bin, the filter\'s numbers, and the reference\'s to 1e-4', () => {
  const cfg = smallConfig({ n_in: 6, bin_ms: 25, window: 5 });
  const model = randomModel(cfg, 21);
  const mfile = join(dir, 'small.safetensors');
  saveModel(mfile, model);
  const counts = poissonCounts(cfg.n_in, 37, 22);
  const xdf = join(dir, 'rec.xdf');
  const ts = recording(xdf, counts, { binMs: 25 });
  const out = join(dir, 'out.csv');
  const r = cli('decode', '--model', mfile, xdf, '--out', out, '--with-rates');
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines[0], ['timestamp', 'vel_x', 'vel_y', ...Array.from({ length: cfg.n_out }, (_, i) => `lograte_${i}`)].join(','));
  assert.equal(lines.length, counts.length + 1);
  // Values are printed with the fewest digits that read back as the same float32.
  const rows = lines.slice(1).map((l) => l.split(',').map((x, i) => (i === 0 ? Number(x) : Math.fround(Number(x)))));
  const f = new OnlineFilter(loadModel(mfile));
  for (let t = 0; t < counts.length; t++) {
    assert.ok(Math.abs(rows[t][0] - ts[t]) < 1e-9);
    const o = f.step(counts[t]);
    assert.deepEqual(rows[t].slice(1, 3), Array.from(o.velocity), `bin ${t}`);
    assert.deepEqual(rows[t].slice(3), Array.from(o.logRates), `bin ${t}`);
  }
  const ref = referenceForward(model, counts);
  assert.ok(relErr(rows.map((r) => r.slice(1, 3)), ref.velocity) <= 1e-4);
});

test('decode refuses a recording whose spike stream differs from the model, or has none', () => {
  const cfg = smallConfig({ n_in: 6, bin_ms: 25 });
  const mfile = join(dir, 'refuse.safetensors');
  saveModel(mfile, randomModel(cfg, 3));
  const out = join(dir, 'refused.csv');
  const wrongCount = join(dir, 'count.xdf');
  recording(wrongCount, poissonCounts(7, 5, 1), { binMs: 25 });
  let r = cli('decode', '--model', mfile, wrongCount, '--out', out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has 7 channels, the model expects 6 \[EMISMATCH\]/);
  const wrongBin = join(dir, 'bin.xdf');
  recording(wrongBin, poissonCounts(6, 5, 1), { binMs: 20 });
  r = cli('decode', '--model', mfile, wrongBin, '--out', out);
  assert.match(r.stderr, /has 20 ms bins, the model was made for 25 ms bins \[EMISMATCH\]/);
  const noSpikes = join(dir, 'none.xdf');
  recording(noSpikes, poissonCounts(6, 5, 1), { binMs: 25, type: 'EEG', name: 'Other' });
  r = cli('decode', '--model', mfile, noSpikes, '--out', out);
  assert.match(r.stderr, /no stream of type SpikeCounts .*\[ENOSTREAM\]/);
  // --stream picks a stream by name, whatever its type.
  r = cli('decode', '--model', mfile, noSpikes, '--out', out, '--stream', 'Other');
  assert.equal(r.status, 0, r.stderr);
  const negative = poissonCounts(6, 5, 1);
  negative[3][2] = -1;
  const badBin = join(dir, 'neg.xdf');
  recording(badBin, negative, { binMs: 25 });
  r = cli('decode', '--model', mfile, badBin, '--out', out);
  assert.match(r.stderr, /sample 3 .*channel 2: -1 is negative \[EBADBIN\]/);
  r = cli('decode', '--model', mfile, badBin);
  assert.match(r.stderr, /--out OUT\.csv is required.*/);
});
