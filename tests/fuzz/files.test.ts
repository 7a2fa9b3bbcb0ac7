// A bounded slice of `npm run fuzz` on the files the daemon reads: XDF recordings (the real
// examples and one in the daemon's own layout), model files and --config JSON.
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fuzzConfig, fuzzModel, fuzzXdf, modelSources, xdfSources } from '../../fuzz/parsers.js';
import { recordedXdf } from '../../fuzz/recorded.js';
import { assertClean } from './support.js';

const DEFAULT_MODEL = fileURLToPath(new URL('../../../models/default.safetensors', import.meta.url));

test('xdf: 1000 truncated, bit-flipped and spliced recordings; parsed or refused with XdfError, valid files still parse', async () => {
  const sources = xdfSources([{ name: 'recorded.xdf', bytes: await recordedXdf(), weight: 4 }]);
  assertClean(await fuzzXdf({ cases: 1000, seed: 16, sources, stormSize: 250 }), 1000, ['truncate', 'bitflip', 'insert', 'delete']);
});

test('model: 1000 corrupt safetensors files and model configs; loaded and runnable, or refused with a code', async () => {
  assertClean(await fuzzModel({ cases: 1000, seed: 17, sources: modelSources(DEFAULT_MODEL), stormSize: 250 }), 1000, ['bitflip', 'truncate', 'tensor_entry', 'config_json', 'metadata', 'lying_header_length']);
});

test('config: 1000 malformed --config files; accepted or refused with a usage error, never a TypeError', async () => {
  assertClean(await fuzzConfig({ cases: 1000, seed: 18, stormSize: 250 }), 1000, ['value', 'uri', 'cpus', 'numbers', 'with_flags', 'not_an_object']);
});
