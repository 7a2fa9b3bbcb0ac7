import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { loadModel, makeModel, modelToBytes, saveModel, MODEL_FORMAT } from '../../model/model-file.js';
import { readSafetensors, writeSafetensors } from '../../model/safetensors.js';
import { parameterCount, tensorShapes } from '../../model/tensors.js';
import { smallConfig } from './helpers.js';

/** Splits a file into its JSON header and data section, and reassembles one. */
function parts(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}
function assemble(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
function refuses(bytes: Uint8Array, code: string, pattern: RegExp): void {
  assert.throws(() => loadModel(bytes), (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

const cfg = smallConfig();
const model = makeModel(cfg, initWeights(cfg, 1), { 'langevind.provenance': '{"data":"synthetic"}', 'langevind.metrics': '{"co_bps":0.1}' });
const bytes = modelToBytes(model);

test('tensor names and PyTorch layouts', () => {
  const s = tensorShapes(preset('P'));
  assert.deepEqual(s['encoder.weight_ih'], [840, 182]);
  assert.deepEqual(s['encoder.weight_hh'], [840, 280]);
  assert.deepEqual(s['decoder.self_attn.in_proj_weight'], [2520, 840]);
  assert.deepEqual(s['decoder.linear1.weight'], [512, 840]);
  assert.deepEqual(s['decoder.linear2.weight'], [840, 512]);
  assert.deepEqual(s['readout.weight'], [182, 840]);
  assert.deepEqual(s['velocity.weight'], [2, 182]);
  assert.deepEqual(s['potential.kernel'], [4, 4, 3]);
  assert.equal(Object.keys(s).length, 33);
  // ~4.7 M parameters, ~18.8 MB of F32 (issue 2 says about 18 MB).
  assert.ok(parameterCount(preset('P')) > 4.6e6 && parameterCount(preset('P')) < 4.8e6);
});

test('round trip: bytes and file keep config, weights, metadata and id', () => {
  const back = loadModel(bytes);
  assert.deepEqual(back.config, model.config);
  assert.equal(back.id, model.id);
  assert.match(back.id, /^[0-9a-f]{12}$/);
  for (const [k, v] of Object.entries(model.weights)) assert.deepEqual(back.weights[k], v, k);
  assert.equal(back.metadata.format, MODEL_FORMAT);
  assert.equal(back.metadata['langevind.provenance'], '{"data":"synthetic"}');
  assert.equal(back.metadata['langevind.metrics'], '{"co_bps":0.1}');
  const dir = mkdtempSync(join(tmpdir(), 'langevind-model-'));
  try {
    const p = join(dir, 'm.safetensors');
    saveModel(p, back);
    const fromFile = loadModel(p); // a Node Buffer, not a plain Uint8Array
    assert.equal(fromFile.id, model.id);
    for (const [k, v] of Object.entries(model.weights)) assert.deepEqual(fromFile.weights[k], v, k);
    const buf = Buffer.concat([Buffer.alloc(3), Buffer.from(bytes)]).subarray(3); // unaligned view
    for (const [k, v] of Object.entries(model.weights)) assert.deepEqual(loadModel(buf).weights[k], v, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The id follows the content, or an explicit langevind.model_id.
  const other = makeModel(cfg, initWeights(cfg, 2));
  assert.notEqual(other.id, model.id);
  assert.equal(makeModel(cfg, initWeights(cfg, 2), { 'langevind.model_id': 'm-42' }).id, 'm-42');
});

test('the header is standard safetensors (8-byte aligned, F32, sorted offsets)', () => {
  const { header, data } = parts(bytes);
  assert.equal((bytes.length - data.length) % 8, 0);
  assert.equal(header['encoder.weight_ih'].dtype, 'F32');
  assert.deepEqual(header['encoder.weight_ih'].shape, [3 * cfg.hidden, cfg.n_in]);
  const t = new Map([['a', { shape: [2, 1], data: new Float32Array([1.5, -2]) }], ['b', { shape: [0], data: new Float32Array(0) }]]);
  const rt = readSafetensors(writeSafetensors(t, {}));
  assert.deepEqual(Array.from(rt.tensors.get('a')!.data), [1.5, -2]);
  assert.deepEqual(rt.tensors.get('b')!.shape, [0]);
  assert.deepEqual(rt.metadata, {});
});

test('refuses a truncated file', () => {
  refuses(bytes.subarray(0, bytes.length - 4), 'ETRUNCATED', /truncated/);
  refuses(bytes.subarray(0, 5), 'ETRUNCATED', /shorter than the 8-byte header length/);
  refuses(bytes.subarray(0, 100), 'ETRUNCATED', /header length says/);
});

test('refuses a wrong header length and a header that is not JSON', () => {
  const b = bytes.slice();
  new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
  refuses(b, 'EHEADER', /header length/);
  const c = bytes.slice();
  const n = Number(new DataView(c.buffer).getBigUint64(0, true));
  new DataView(c.buffer).setBigUint64(0, BigInt(n - 3), true); // cuts the JSON short
  refuses(c, 'EJSON', /not valid JSON/);
  const { data } = parts(bytes);
  refuses(assemble(null, data, '[1, 2]'), 'EHEADER', /JSON object/);
});

test('refuses bad dtype, ranges that do not tile, and trailing bytes', () => {
  const { header, data } = parts(bytes);
  const h1 = structuredClone(header);
  h1['encoder.bias_ih'].dtype = 'F16';
  refuses(assemble(h1, data), 'EDTYPE', /encoder\.bias_ih.*F16/);
  const h2 = structuredClone(header);
  const [b0, e0] = h2['encoder.bias_ih'].data_offsets;
  h2['encoder.bias_ih'].data_offsets = [b0 + 4, e0 + 4];
  refuses(assemble(h2, data), 'ERANGE', /tile|starts at byte/);
  const padded = new Uint8Array(data.length + 8);
  padded.set(data);
  refuses(assemble(header, padded), 'ERANGE', /after the last tensor/);
  const h3 = structuredClone(header);
  h3['encoder.bias_ih'].shape = [999];
  refuses(assemble(h3, data), 'ERANGE', /encoder\.bias_ih/);
});

test('refuses a missing tensor, a mis-shaped tensor and an unknown tensor', () => {
  const w = { ...model.weights };
  const without = new Map(Object.entries(tensorShapes(cfg)).filter(([k]) => k !== 'readout.bias').map(([k, s]) => [k, { shape: s, data: w[k] }]));
  refuses(writeSafetensors(without, model.metadata), 'EMISSING', /"readout\.bias" is missing/);
  const shapes = tensorShapes(cfg);
  const transposed = new Map(Object.entries(shapes).map(([k, s]) => [k, { shape: k === 'readout.weight' ? [s[1], s[0]] : s, data: w[k] }]));
  refuses(writeSafetensors(transposed, model.metadata), 'ESHAPE', /"readout\.weight" has shape \[18, 7\], the config needs \[7, 18\]/);
  const extra = new Map(Object.entries(shapes).map(([k, s]) => [k, { shape: s, data: w[k] }]));
  extra.set('decoder.extra', { shape: [1], data: new Float32Array(1) });
  refuses(writeSafetensors(extra, model.metadata), 'EUNEXPECTED', /decoder\.extra/);
  const nan = new Map(Object.entries(shapes).map(([k, s]) => [k, { shape: s, data: w[k].slice() }]));
  nan.get('decoder.norm2.bias')!.data[3] = NaN;
  refuses(writeSafetensors(nan, model.metadata), 'EVALUE', /"decoder\.norm2\.bias" holds NaN at flat index 3/);
});

test('refuses an unknown or missing format, and a bad config', () => {
  const { header, data } = parts(bytes);
  const h1 = structuredClone(header);
  h1.__metadata__.format = 'langevind-model/2';
  refuses(assemble(h1, data), 'EFORMAT', /unknown format "langevind-model\/2"/);
  const h2 = structuredClone(header);
  delete h2.__metadata__.format;
  refuses(assemble(h2, data), 'EFORMAT', /no "format"/);
  const h3 = structuredClone(header);
  h3.__metadata__['langevind.config'] = '{"n_in": 5,';
  refuses(assemble(h3, data), 'EJSON', /langevind\.config/);
  const h4 = structuredClone(header);
  h4.__metadata__['langevind.config'] = JSON.stringify({ ...cfg, gamma: 2 });
  refuses(assemble(h4, data), 'ECONFIG', /gamma/);
  const h5 = structuredClone(header);
  h5.__metadata__['langevind.config'] = JSON.stringify({ ...cfg, hidden: 8 });
  refuses(assemble(h5, data), 'ESHAPE', /encoder\.weight_ih/);
  assert.throws(() => loadModel('/nonexistent/model.safetensors'), { code: 'ENOTFOUND' });
});
