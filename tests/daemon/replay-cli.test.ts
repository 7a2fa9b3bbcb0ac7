/**
 * `langevind replay` against a real `langevind run` child process with a real model file, over
 * ZeroMQ tcp and ipc; the daemon also records, and the recording is read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { makeModel, saveModel } from '../../model/model-file.js';
import { CLI_PATH, CliProcess } from '../../harness/process.js';
import { freePort } from '../../harness/net.js';
import { runReplay } from '../../daemon/commands/replay.js';
import { buildReplayReport } from '../../report/replay.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { writeSession } from '../streams/replay-fixture.js';
import { tempDir } from '../support/net.js';

const run = promisify(execFile);
const { dir } = tempDir('langevind-replay-cli-');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const CH = 16;
const BIN_MS = 10;
const BINS = 120;
const modelPath = join(dir, 'model.safetensors');
const cfg = preset('S', { n_in: CH, n_out: CH, bin_ms: BIN_MS });
saveModel(modelPath, makeModel(cfg, initWeights(cfg, 7)));
const session = writeSession(dir, 'session.xdf', { bins: BINS, channels: CH, binMs: BIN_MS });

test('replay CLI over tcp: every bin decoded once, JSON on stdout, HTML report with SVG plots; the daemon records it all', async () => {
  const [pIn, pOut] = [await freePort(), await freePort()];
  const rec = join(dir, 'rec.xdf');
  const daemon = await CliProcess.start(['run', '--model', modelPath, '--input', `zmq+tcp://127.0.0.1:${pIn}`, '--output', `zmq+tcp://127.0.0.1:${pOut}`, '--record', rec, '--status-interval', '0']);
  let stopped;
  try {
    const report = join(dir, 'r.html');
    const { stdout } = await run(process.execPath, [CLI_PATH, 'replay', session, '--to', `zmq+tcp://127.0.0.1:${pIn}`, '--from', `zmq+tcp://127.0.0.1:${pOut}`, '--speed', '4', '--report', report, '--quiet']);
    const r = JSON.parse(stdout);
    assert.equal(r.sent, BINS);
    assert.equal(r.received, BINS, 'the first bins are not lost to slow joiners');
    assert.equal(r.lost, 0);
    assert.equal(r.duplicates, 0);
    assert.equal(r.unexpected, 0);
    assert.equal(r.deadlineMs, BIN_MS);
    assert.equal(r.latencyMs.count, BINS);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max);
    assert.ok(r.daemonMs.max <= r.latencyMs.max, 'time inside the daemon is part of the end-to-end time');
    assert.deepEqual(r.velocity.labels, ['vel_x', 'vel_y']);
    assert.ok(typeof r.velocity.r2.vel_x === 'number');
    assert.match(r.modelId, /\S/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')), r);
    const html = readFileSync(report, 'utf8');
    assert.equal((html.match(/<svg /g) ?? []).length, 4, 'histogram, latency over time, vel_x, vel_y');
    assert.ok(html.includes('send → receive latency') && html.includes('vel_x: R²'));
  } finally {
    stopped = await daemon.stop();
  }
  assert.equal(stopped.code, 0);
  assert.equal(daemon.summary()?.messages_received, BINS);
  assert.equal(daemon.summary()?.bins_decoded, BINS);
  const { streams } = readXdf(rec);
  const byType = Object.fromEntries(streams.map((s) => [s.info.type, s]));
  assert.equal(byType.SpikeCounts.timeStamps.length, BINS);
  assert.equal(byType.Decoded.timeStamps.length, BINS);
  assert.equal(byType.SpikeReceipt.timeStamps.length, BINS);
  const seqs = Array.from({ length: BINS }, (_, i) => (byType.Decoded.data as Float64Array)[i * 6 + 2]);
  assert.deepEqual(seqs, Array.from({ length: BINS }, (_, i) => i));
});

test('replay over ipc at speed max (windowed), directions reversed: nothing lost, looping past the recording', async () => {
  const a = join(dir, 'in.sock');
  const b = join(dir, 'out.sock');
  // The daemon binds its input and connects its output; the replay does the opposite.
  const daemon = await CliProcess.start(['run', '--model', modelPath, '--input', `zmq+ipc://${a}?bind`, '--output', `zmq+ipc://${b}?connect`, '--status-interval', '0']);
  try {
    const m = await runReplay({ recording: session, to: `zmq+ipc://${a}?connect`, from: `zmq+ipc://${b}?bind`, speed: 'max', bins: 3 * BINS, window: 32 });
    const r = buildReplayReport(m);
    assert.equal(r.sent, 3 * BINS);
    assert.equal(r.received, 3 * BINS);
    assert.equal(r.lost, 0);
    assert.ok(r.binsPerS! > 0);
    assert.equal(m.truth!.values.length, 3 * BINS * 2);
  } finally {
    const s = await daemon.stop();
    assert.equal(s.code, 0);
    assert.equal(daemon.summary()?.gaps, 0, 'looping keeps seq contiguous');
  }
});

test('replay without a daemon fails after --timeout-ms with a clear message', async () => {
  const [pIn, pOut] = [await freePort(), await freePort()];
  await assert.rejects(
    run(process.execPath, [CLI_PATH, 'replay', session, '--to', `zmq+tcp://127.0.0.1:${pIn}`, '--from', `zmq+tcp://127.0.0.1:${pOut}`, '--timeout-ms', '300', '--quiet']),
    (e: Error & { code?: number; stderr?: string }) => e.code === 1 && /EREPLAYCONNECT/.test(e.stderr ?? '') && /daemon's output/.test(e.stderr ?? ''),
  );
  await assert.rejects(run(process.execPath, [CLI_PATH, 'replay', session, '--to', 'zmq+tcp://127.0.0.1:1']), (e: Error & { stderr?: string }) => /--from URI/.test(e.stderr ?? ''));
  await assert.rejects(run(process.execPath, [CLI_PATH, 'replay', session, '--to', 'x', '--from', 'y', '--speed', '0']), (e: Error & { stderr?: string }) => /speed must be a positive number/.test(e.stderr ?? ''));
});

test('langevind run --input replay:///…?speed=max decodes the whole recording and stops at its end', async () => {
  const out = join(dir, 'replay-in.sock');
  const { stdout } = await run(process.execPath, [CLI_PATH, 'run', '--model', modelPath, '--input', `replay://${session}?speed=max`, '--output', `zmq+ipc://${out}`, '--status-interval', '0'], { timeout: 120_000 });
  const summary = JSON.parse(stdout.split('\n').filter((l) => l.startsWith('{"summary"'))[0]).summary;
  assert.equal(summary.messages_received, BINS);
  assert.equal(summary.bins_decoded, BINS);
  assert.equal(summary.gaps, 0);
  assert.equal((Object.values(summary.rejects) as number[]).reduce((a, b) => a + b, 0), 0);
});

test('langevind run refuses a replay whose channel count differs from the model', async () => {
  const other = writeSession(dir, 'other.xdf', { bins: 10, channels: CH + 1, binMs: BIN_MS });
  await assert.rejects(
    run(process.execPath, [CLI_PATH, 'run', '--model', modelPath, '--input', `replay://${other}`, '--output', `zmq+ipc://${join(dir, 'x.sock')}`], { timeout: 60_000 }),
    (e: Error & { code?: number; stderr?: string }) => e.code === 1 && new RegExp(`${CH + 1} channels, the model expects ${CH}`).test(e.stderr ?? ''),
  );
});
