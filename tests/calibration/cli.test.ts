import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sessionToXdf, simulateSession } from '../../calibration/simulator/index.js';
import { loadModel } from '../../model/model-file.js';
import { tempDir } from '../support/net.js';
import { CLI_PATH, CliProcess } from '../../harness/process.js';

const cli = CLI_PATH;
const { dir } = tempDir('langevind-cal-');
const rec = join(dir, 'rec.xdf');
writeFileSync(rec, sessionToXdf(simulateSession({ kind: 'reaching', seed: 5, bins: 1500, binMs: 20, channels: 12 })));
const small = ['--hidden', '12', '--latent', '6', '--ff', '12', '--window', '8', '--seq-len', '8', '--batch', '16'];

describe('langevind calibrate (CLI)', () => {
  test('option errors name the problem and exit 2 (a usage error)', () => {
    const r = spawnSync(process.execPath, [cli, 'calibrate', rec], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--out MODEL.safetensors is required/);
    const b = spawnSync(process.execPath, [cli, 'calibrate', rec, '--out', join(dir, 'x'), '--backend', 'gpu'], { encoding: 'utf8' });
    assert.equal(b.status, 2);
    assert.match(b.stderr, /--backend must be wasm, cpu or tensorflow/);
    // A blank value is not zero epochs: Number('') is 0, and calibrate once took it as such.
    const blank = spawnSync(process.execPath, [cli, 'calibrate', rec, '--out', join(dir, 'x'), '--epochs', ' '], { encoding: 'utf8' });
    assert.equal(blank.status, 2);
    assert.match(blank.stderr, /--epochs must be an integer ≥ 1, got " "/);
    const h = spawnSync(process.execPath, [cli, 'calibrate', '--help'], { encoding: 'utf8' });
    assert.equal(h.status, 0);
    assert.match(h.stdout, /--max-minutes/);
  });

  test('Ctrl-C writes a checkpoint; --resume finishes the run', async () => {
    const out = join(dir, 'm.safetensors');
    const child = new CliProcess(['calibrate', rec, '--out', out, ...small, '--epochs', '100']);
    await child.waitLog((l) => /epoch 1:/.test(l.msg), 300_000);
    const { code } = await child.stop('SIGINT', 120_000);
    const err = child.stderrText;
    assert.equal(code, 130, err);
    assert.match(err, /checkpoint written to .*m\.safetensors\.ckpt; continue with --resume/);
    assert.ok(existsSync(`${out}.ckpt`));
    assert.ok(!existsSync(out));
    const r = spawnSync(process.execPath, [cli, 'calibrate', rec, '--out', out, '--resume', `${out}.ckpt`, '--epochs', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming from/);
    assert.match(r.stderr, /held-out velocity R²: LangevinFlow/);
    assert.equal(loadModel(out).config.hidden, 12);
    assert.ok(!existsSync(`${out}.ckpt`));
  });
});
