/**
 * `langevind replay … --metrics`: the closed-loop metrics of recorded sessions. Two real blocks
 * (simulated user → `langevind run --record` → `langevind task --record --out`, in lockstep), one
 * with LangevinFlow and one with the Wiener baseline; the real CLI then gives back, from the
 * recordings alone, the metrics the live task wrote, labelled by the decoder the daemon recorded,
 * and one page that compares the blocks. Played into a daemon, the recording's own session
 * metrics ride along in the latency report.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockMetrics } from '../../closedloop/metrics/block.js';
import { targetName } from '../../closedloop/metrics/report.js';
import { CLI_PATH, CliProcess } from '../../harness/process.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { mergeXdfFiles, streamInputs } from '../../streams/xdf/merge.js';
import { writeXdf } from '../../streams/xdf/writer.js';
import { intentionAgreement } from '../../closedloop/refit/agreement.js';
import { estimateIntention } from '../../closedloop/refit/intention.js';
import { closedLoopFromXdf } from '../../closedloop/refit/recording.js';
import { DEFAULT_MODEL, processBlock, type ProcessBlock } from '../closedloop/process-block.js';
import { tempDir } from '../support/net.js';

const tmp = tempDir('langevind-replaymetrics-');
after(() => tmp.cleanup());
const TRIALS = 10;
const MODEL_ID = '7a0a2b0bff7d';
let lf: ProcessBlock;
let wi: ProcessBlock;

before(async () => {
  lf = await processBlock({ dir: tmp.dir, name: 'lf', trials: TRIALS, record: true });
  wi = await processBlock({ dir: tmp.dir, name: 'wi', trials: TRIALS, record: true, decoder: 'wiener' });
}, { timeout: 120_000 });

test('the simulated user\'s true intention (simulate-user --intention-out) has a sample stamped as each spike bin, and scores ReFIT\'s estimate of the block', () => {
  const file = readXdf(mergeXdfFiles([lf.daemonXdf, lf.taskXdf, lf.intentionXdf]), { syncClocks: true });
  const truth = file.streams.find((s) => s.info.type === 'GroundTruthIntention');
  assert.ok(truth, 'the intention stream is there');
  assert.deepEqual([truth.info.channelCount, truth.info.channelFormat], [2, 'float32']);
  const spikes = file.streams.find((s) => s.info.type === 'SpikeCounts')!;
  // The user stops after the task ends, so it may have sent bins the daemon recorded after the last trial, never fewer.
  assert.ok(truth.timeStamps.length >= spikes.timeStamps.length, `${truth.timeStamps.length} intentions, ${spikes.timeStamps.length} spike bins`);
  const at = new Set(truth.timeStamps);
  assert.ok(Array.from(spikes.timeStamps).every((t) => at.has(t)), 'every recorded bin has its intention, stamped alike');
  const b = closedLoopFromXdf(file);
  const { intention, valid } = estimateIntention(b.decoded, b.cursor, b.target, b.phase);
  const a = intentionAgreement(intention, valid, b.phase, b.cursor, b.target, b.timestamps, truth.timeStamps, truth.data as Float32Array, b.binMs / 1000);
  assert.equal(a.matched, valid.filter(Boolean).length, 'every relabelled bin is matched to its truth');
  assert.ok(a.reach.bins > 50 && a.onTarget.bins > 10, `reach ${a.reach.bins}, on target ${a.onTarget.bins} bins`);
  // Re-aimed at the target, the estimate points where the user wanted (the user aims at it, up to motor noise).
  assert.ok(a.reach.angleDeg! < 30, `estimate vs truth: ${a.reach.angleDeg}° apart while reaching`);
  assert.ok(a.reach.trueSpeed! > 5, `the user wanted ${a.reach.trueSpeed} cm/s while reaching`);
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_PATH, 'replay', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface BlockJson { label: string; labelFrom: string; files: string[]; decoder: { modelId: string; decoder: string } | null; notes: string[]; block: BlockMetrics['block']; perTarget: BlockMetrics['perTarget']; trials: BlockMetrics['trials'] }

/** The recording's trials are the live task's: the same outcomes and times to target (stamps are the same doubles). */
function assertSameTrials(got: BlockJson, live: ProcessBlock, what: string): void {
  assert.deepEqual(got.notes, [], what);
  assert.deepEqual(got.trials.map((t) => [t.trial, t.target, t.outcome]), live.out.trials.map((t) => [t.trial, t.target, t.outcome]), what);
  got.trials.forEach((t, i) => {
    const ttt = live.out.trials[i].timeToTarget;
    assert.ok(ttt === null ? t.timeToTarget === null : t.timeToTarget !== null && Math.abs(t.timeToTarget - ttt) < 1e-9, `${what} trial ${i}: time to target ${t.timeToTarget}, live ${ttt}`);
  });
  assert.equal(got.block.successes, live.out.block.successes, what);
  assert.equal(got.block.successRate, live.out.block.successRate, what);
}

test('replay --metrics, no daemon: two blocks from their task and daemon recordings give the live task\'s metrics, labelled by the recorded decoder, on one page', () => {
  assert.ok(lf.out.trials.some((t) => t.outcome === 'success'), 'the block has successes to time');
  const report = join(tmp.dir, 'cmp.html');
  const r = cli([lf.taskXdf, '--with', lf.daemonXdf, wi.taskXdf, '--with', wi.daemonXdf, '--metrics', '--report', report]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { blocks: BlockJson[] };
  assert.deepEqual(JSON.parse(readFileSync(join(tmp.dir, 'cmp.json'), 'utf8')), json);
  assert.deepEqual(json.blocks.map((b) => [b.label, b.labelFrom, b.decoder?.decoder]), [[`langevinflow · ${MODEL_ID}`, 'decoder', 'langevinflow'], [`wiener · ${MODEL_ID}`, 'decoder', 'wiener']]);
  assert.deepEqual(json.blocks[0].files, [lf.taskXdf, lf.daemonXdf]);
  assertSameTrials(json.blocks[0], lf, 'langevinflow');
  assertSameTrials(json.blocks[1], wi, 'wiener');

  const html = readFileSync(report, 'utf8');
  // One trajectory plot per target per block, titled by the target and its successes.
  const plots = json.blocks.flatMap((b) => b.perTarget.map((p) => `${targetName(p.target)} (${p.successes}/${p.trials})`));
  assert.equal((html.match(/<svg /g) ?? []).length, plots.length);
  for (const p of plots) assert.ok(html.includes(`>${p}</text>`), `plot "${p}"`);
  assert.ok(json.blocks[0].perTarget.some((p) => p.target === -1) && json.blocks[0].perTarget.some((p) => p.target >= 0), 'centre and outer targets');
  for (const b of json.blocks) assert.ok(html.includes(`<h2>${b.label}: per target</h2>`), b.label);
  // A trajectory drawn for every trial of both blocks.
  assert.equal((html.match(/<path d="M/g) ?? []).length, 2 * TRIALS);
});

test('replay --metrics: a merged recording, --label before its recording, JSON only, and the file name when nothing names the decoder', () => {
  const merged = join(tmp.dir, 'lf-merged.xdf');
  writeFileSync(merged, mergeXdfFiles([lf.daemonXdf, lf.taskXdf]));
  const out = join(tmp.dir, 'labels.json');
  const r = cli(['--label', 'LF day 1', merged, lf.taskXdf, '--metrics', '--report', out]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { blocks: BlockJson[] };
  assert.deepEqual(json.blocks.map((b) => [b.label, b.labelFrom, b.decoder?.modelId ?? null]), [['LF day 1', 'option', MODEL_ID], ['lf-task', 'file', null]]);
  assertSameTrials(json.blocks[0], lf, 'merged');
  assertSameTrials(json.blocks[1], lf, 'task only');
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), json);
  assert.equal(existsSync(join(tmp.dir, 'labels.html')), false, 'a .json --report is the JSON alone');
});

test('replay into a daemon: a recording with the task\'s streams adds the recorded session\'s metrics, labelled as such; one without adds none', async () => {
  const sock = (k: string): string => `zmq+ipc://${join(tmp.dir, `replay-${k}.sock`)}`;
  const daemon = await CliProcess.start(['run', '--model', DEFAULT_MODEL, '--input', sock('spikes'), '--output', sock('velocity'), '--status-interval', '0']);
  try {
    const report = join(tmp.dir, 'played.html');
    const r = cli([lf.daemonXdf, '--with', lf.taskXdf, '--to', sock('spikes'), '--from', sock('velocity'), '--speed', 'max', '--report', report, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { sent: number; received: number; recordedSession: BlockJson & { note: string } };
    assert.equal(json.sent, readXdf(lf.daemonXdf).streams.find((s) => s.info.type === 'SpikeCounts')!.timeStamps.length);
    assert.equal(json.received, json.sent);
    assert.match(json.recordedSession.note, /recorded session.*not fed back into a task/);
    assert.equal(json.recordedSession.label, `langevinflow · ${MODEL_ID}`);
    assertSameTrials(json.recordedSession, lf, 'recorded session');
    const html = readFileSync(report, 'utf8');
    assert.ok(html.includes('<h2>Recorded session: closed-loop metrics</h2>') && html.includes(`<h2>Recorded session: langevinflow · ${MODEL_ID}: per target</h2>`));
    assert.ok(html.includes('send → receive latency'), 'the latency report is still there');
    assert.deepEqual(JSON.parse(readFileSync(join(tmp.dir, 'played.json'), 'utf8')), json);

    const plain = cli([lf.daemonXdf, '--to', sock('spikes'), '--from', sock('velocity'), '--speed', 'max', '--bins', '50', '--quiet']);
    assert.equal(plain.status, 0, plain.stderr);
    const p = JSON.parse(plain.stdout) as Record<string, unknown>;
    assert.equal(p.received, 50);
    assert.equal('recordedSession' in p, false);
  } finally {
    assert.equal((await daemon.stop()).code, 0);
  }
});

test('replay --metrics refuses a recording without the task\'s streams by name and code, and bad flags as usage errors', () => {
  // The daemon's recording alone: neither markers nor cursor; both named, with the file.
  const d = cli([lf.daemonXdf, '--metrics']);
  assert.equal(d.status, 1);
  assert.match(d.stderr, /^langevind: .*lf-daemon\.xdf: metrics: the recording has no task markers .*langevind-task-markers.* and no cursor .*langevind-cursor.* \[ENOMARKERS\]$/m);
  // Markers without the cursor.
  const noCursor = join(tmp.dir, 'no-cursor.xdf');
  writeFileSync(noCursor, writeXdf(streamInputs(readXdf(lf.taskXdf)).filter((s) => s.info.type !== 'Cursor')));
  const c = cli([noCursor, '--metrics']);
  assert.equal(c.status, 1);
  assert.match(c.stderr, /has no cursor .*"langevind-cursor".*\[ENOCURSOR\]$/m);
  assert.doesNotMatch(c.stderr, /no task markers/);
  // With --to/--from, --metrics is checked before any socket opens (no EREPLAYCONNECT wait).
  const played = cli([lf.daemonXdf, '--metrics', '--to', 'zmq+tcp://127.0.0.1:1', '--from', 'zmq+tcp://127.0.0.1:2', '--timeout-ms', '300']);
  assert.equal(played.status, 1);
  assert.match(played.stderr, /\[ENOMARKERS\]$/m);
  const missing = cli([join(tmp.dir, 'nowhere.xdf'), '--metrics']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no recording at .*nowhere\.xdf \[ENORECORDING\]/);

  for (const [args, why] of [
    [['--metrics'], /--metrics needs at least one SESSION\.xdf/],
    [[lf.taskXdf, '--metrics', '--speed', '2'], /--speed is for playing into a daemon/],
    [[lf.taskXdf, wi.taskXdf, '--to', 'zmq+tcp://127.0.0.1:1', '--from', 'zmq+tcp://127.0.0.1:2'], /exactly one RECORDING\.xdf to play into a daemon \(got 2\)/],
    [[lf.taskXdf, '--label', 'a', '--label', 'b', '--metrics'], /two --label for .*lf-task\.xdf/],
    [[lf.taskXdf], /--to URI and --from URI are required \(or --metrics/],
  ] as [string[], RegExp][]) {
    const u = cli(args);
    assert.equal(u.status, 2, `${args.join(' ')}: ${u.stderr}`);
    assert.match(u.stderr, why);
    assert.match(u.stderr, /\[EUSAGE\]/);
    assert.match(u.stderr, /usage: langevind replay/);
  }
});
