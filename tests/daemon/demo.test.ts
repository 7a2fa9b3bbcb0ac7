import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { makeModel, saveModel } from '../../model/model-file.js';
import { promisify } from 'node:util';
import { CLI_PATH } from '../../harness/process.js';

const run = promisify(execFile);

test('langevind demo --seconds 3 runs the daemon on a simulated session, exits 0 and prints both summaries', async () => {
  const { stdout } = await run(process.execPath, [CLI_PATH, 'demo', '--seconds', '3'], { timeout: 240_000 });
  assert.match(stdout, /session: simulated \w+ .*\b150 bins\b|session: simulated \w+ .* bins \(3 s\)/);
  assert.match(stdout, /== daemon summary ==\nmessages received (\d+), bins accepted \1, decoded \1;/);
  const m = /bins sent (\d+), received (\d+), lost (\d+)/.exec(stdout);
  assert.ok(m, stdout);
  assert.ok(Number(m[1]) > 0);
  assert.equal(m[1], m[2], 'every bin came back');
  assert.equal(m[3], '0');
  assert.match(stdout, /latency \(ms\)\s+p50 [\d.]+\s+p99 [\d.]+/);
  assert.match(stdout, /decoded velocity R²: vel_x -?[\d.e-]+/);
});

test('langevind demo refuses bad options with a one-line error', async () => {
  await assert.rejects(run(process.execPath, [CLI_PATH, 'demo', '--seconds', '0']), (e: Error & { code?: number; stderr?: string }) => e.code === 2 && /--seconds must be a positive number/.test(e.stderr ?? ''));
});

test('langevind demo --model --session replays the held-out end of the session the model belongs to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'langevind-demo-test-'));
  try {
    const model = join(dir, 'm.safetensors');
    const cfg = preset('S', { n_in: 24, n_out: 24, bin_ms: 20 });
    saveModel(model, makeModel(cfg, initWeights(cfg, 3)));
    const session = join(dir, 'session.json');
    writeFileSync(session, JSON.stringify({ kind: 'reaching', seed: 2, bins: 500, binMs: 20, channels: 24, command: 'not a simulator option' }));
    const { stdout } = await run(process.execPath, [CLI_PATH, 'demo', '--seconds', '2', '--model', model, '--session', session, '--speed', '4'], { timeout: 240_000 });
    assert.match(stdout, /replaying its last 100 bins \(2 s\), inside the held-out block/);
    assert.match(stdout, /bins sent 100, received 100, lost 0/);
    const mismatch = join(dir, 'other.json');
    writeFileSync(mismatch, JSON.stringify({ kind: 'reaching', seed: 2, bins: 500, binMs: 20, channels: 25 }));
    await assert.rejects(run(process.execPath, [CLI_PATH, 'demo', '--model', model, '--session', mismatch]), (e: Error & { stderr?: string }) => /model takes 24 channels of 20 ms bins, the session has 25 channels/.test(e.stderr ?? ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
