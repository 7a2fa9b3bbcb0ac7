import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI_PATH } from '../../daemon/commands/demo.js';

const run = promisify(execFile);

test('langevind demo --seconds 3 runs the daemon on a simulated session, exits 0 and prints both summaries', async () => {
  const { stdout } = await run(process.execPath, [CLI_PATH, 'demo', '--seconds', '3'], { timeout: 240_000 });
  assert.match(stdout, /session: simulated \w+ .*\b150 bins\b|session: simulated \w+ .* bins \(3 s\)/);
  assert.match(stdout, /== daemon summary ==\nbins in (\d+), out \1/);
  const m = /bins sent (\d+), received (\d+), lost (\d+)/.exec(stdout);
  assert.ok(m, stdout);
  assert.ok(Number(m[1]) > 0);
  assert.equal(m[1], m[2], 'every bin came back');
  assert.equal(m[3], '0');
  assert.match(stdout, /latency \(ms\)\s+p50 [\d.]+\s+p99 [\d.]+/);
  assert.match(stdout, /decoded velocity R²: vel_x -?[\d.e-]+/);
});

test('langevind demo refuses bad options with a one-line error', async () => {
  await assert.rejects(run(process.execPath, [CLI_PATH, 'demo', '--seconds', '0']), (e: Error & { code?: number; stderr?: string }) => e.code === 1 && /--seconds must be a positive number/.test(e.stderr ?? ''));
});
