/**
 * The control API of a real `langevind run` child process, fed by a real replay over ZeroMQ:
 * /metrics parsed by python3-prometheus-client and checked against /status and against what the
 * replay sent; /healthz; and every refusal the API makes (token, paths, body size, JSON).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_PATH } from '../../../harness/process.js';
import { runReplay } from '../../../daemon/commands/replay.js';
import { LATENCY_BUCKETS_S } from '../../../daemon/control/prom.js';
import { dims, preset } from '../../../model/config.js';
import { initWeights } from '../../../model/init.js';
import { makeModel, saveModel } from '../../../model/model-file.js';
import { tempDir } from '../../support/net.js';
import { writeSession } from '../../streams/replay-fixture.js';
import { http, parseProm, promAvailable, sample, startControlled, type Controlled } from './support.js';

const tmp = tempDir('langevind-control-api-');
const dir = tmp.dir;
after(() => tmp.cleanup());
const models = join(dir, 'models');
const outside = join(dir, 'outside');
mkdirSync(models);
mkdirSync(outside);
const CH = 16;
const BIN_MS = 10;
const BINS = 150;
const cfg = preset('S', { n_in: CH, n_out: CH, bin_ms: BIN_MS, hidden: 16, latent: 16, ff: 32, window: 8 });
const modelA = join(models, 'a.safetensors');
saveModel(modelA, makeModel(cfg, initWeights(cfg, 1)));
const otherCh = preset('S', { n_in: CH + 1, n_out: CH + 1, bin_ms: BIN_MS, hidden: 16, latent: 16, ff: 32, window: 8 });
saveModel(join(models, 'wide.safetensors'), makeModel(otherCh, initWeights(otherCh, 2)));
const otherBin = preset('S', { n_in: CH, n_out: CH, bin_ms: 20, hidden: 16, latent: 16, ff: 32, window: 8 });
saveModel(join(models, 'slow.safetensors'), makeModel(otherBin, initWeights(otherBin, 3)));
saveModel(join(outside, 'b.safetensors'), makeModel(cfg, initWeights(cfg, 4)));
symlinkSync(join(outside, 'b.safetensors'), join(models, 'escape.safetensors'));
writeFileSync(join(models, 'junk.safetensors'), 'not a model');
const session = writeSession(dir, 'session.xdf', { bins: BINS, channels: CH, binMs: BIN_MS });
const TOKEN = 'k3y-0f-the-c0ntrol-plane-tests';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN + '\n');

describe('metrics and status of a daemon fed by a replay', { skip: promAvailable() }, () => {
  let d: Controlled;
  before(async () => {
    d = await startControlled(modelA);
  });
  after(async () => {
    await d?.daemon.stop();
  });

  it('/healthz is 503 (input silent) before any bin, 200 while decoding', async () => {
    // 50 bins of 10 ms: half a second without input makes it unhealthy.
    await new Promise((r) => setTimeout(r, 700));
    const h = await http(d.url, 'GET', '/healthz');
    assert.equal(h.status, 503);
    assert.equal(h.body.status, 'unhealthy');
    assert.deepEqual(h.body.reasons.map((r: { code: string }) => r.code), ['input_silent']);
    assert.deepEqual(h.body.warnings.map((r: { code: string; message: string }) => [r.code, r.message]), [['no_subscribers', `output ${d.output} has no subscriber`]]);
  });

  it('counters parsed by prometheus_client match /status and what the replay sent', async () => {
    let during: number | undefined;
    const m = await runReplay({
      recording: session, to: d.input, from: d.output, speed: 1,
      onProgress: () => {
        void http(d.url, 'GET', '/healthz').then((r) => (during ??= r.status));
      },
    });
    assert.equal(m.sent, BINS);
    assert.equal(during, 200, '/healthz is 200 while bins flow');
    const text = (await http(d.url, 'GET', '/metrics')).text;
    const f = parseProm(text);
    const status = (await http(d.url, 'GET', '/status')).body;
    const s = status.summary;
    assert.equal(s.messages_received, BINS);
    assert.equal(s.bins_accepted, BINS);
    assert.equal(s.bins_decoded, BINS);
    // prometheus_client names a counter family without its _total suffix.
    assert.equal(sample(f, 'langevind_messages_received', 'langevind_messages_received_total'), BINS);
    assert.equal(sample(f, 'langevind_bins_accepted', 'langevind_bins_accepted_total'), BINS);
    assert.equal(sample(f, 'langevind_bins_decoded', 'langevind_bins_decoded_total'), BINS);
    assert.equal(f.langevind_bins_decoded.type, 'counter');
    for (const [kind, n] of Object.entries(s.rejects as Record<string, number>)) assert.equal(sample(f, 'langevind_rejects', 'langevind_rejects_total', { kind }), n);
    assert.equal(sample(f, 'langevind_gaps', 'langevind_gaps_total'), s.gaps);
    assert.equal(sample(f, 'langevind_resets', 'langevind_resets_total'), s.resets);
    assert.equal(sample(f, 'langevind_output_sent', 'langevind_output_sent_total', { output: d.output }), BINS);
    assert.equal(sample(f, 'langevind_output_drops', 'langevind_output_drops_total', { output: d.output }), 0);
    assert.equal(sample(f, 'langevind_hot_swaps', 'langevind_hot_swaps_total', { kind: 'model' }), 0);
    // The stage histogram: buckets 10 µs … 50 ms, cumulative, +Inf = count = bins decoded.
    const hist = f.langevind_stage_latency_seconds;
    assert.equal(hist.type, 'histogram');
    for (const stage of ['receive_to_decoded', 'decoded_to_sent', 'receive_to_sent']) {
      const buckets = hist.samples.filter((x) => x.name === 'langevind_stage_latency_seconds_bucket' && x.labels.stage === stage);
      assert.deepEqual(buckets.map((b) => b.labels.le), [...LATENCY_BUCKETS_S.map((le) => String(le)), '+Inf'].map((le) => (le === '+Inf' ? le : String(Number(le)))));
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, `${stage}: cumulative`);
      assert.equal(buckets[buckets.length - 1].value, BINS);
      assert.equal(sample(f, 'langevind_stage_latency_seconds', 'langevind_stage_latency_seconds_count', { stage }), BINS);
      const p50 = s.latency_us[stage].p50 / 1e6;
      const firstAbove = buckets.find((b) => b.labels.le !== '+Inf' && Number(b.labels.le) >= p50 * 1.01);
      if (firstAbove) assert.ok(firstAbove.value >= BINS / 2, `${stage}: half the bins at or below the bucket above p50`);
    }
    const sum = sample(f, 'langevind_stage_latency_seconds', 'langevind_stage_latency_seconds_sum', { stage: 'receive_to_sent' });
    assert.ok(Math.abs(sum / BINS - s.latency_us.receive_to_sent.mean / 1e6) < 1e-6 + 0.01 * sum / BINS, 'sum / count is the mean');
    const info = f.langevind_info.samples[0];
    assert.equal(info.labels.model_id, status.model_id);
    assert.match(info.labels.version, /^\d+\.\d+\.\d+/);
    assert.match(info.labels.config_hash, /^[0-9a-f]{12}$/);
    for (const part of ['z', 'v', 'h']) assert.ok(sample(f, 'langevind_filter_state_norm', 'langevind_filter_state_norm', { part }) > 0, `${part} norm after ${BINS} bins`);
    const since = sample(f, 'langevind_seconds_since_last_bin', 'langevind_seconds_since_last_bin');
    assert.ok(since >= 0 && since < 60);
    assert.ok(f.langevind_event_loop_lag_seconds.samples.length === 3);
    assert.equal(m.modelId, status.model_id);
  });
});

describe('refusals', () => {
  let d: Controlled;
  before(async () => {
    d = await startControlled(modelA, ['--control-token-file', tokenFile]);
  });
  after(async () => {
    await d?.daemon.stop();
  });
  const post = (path: string, o: Parameters<typeof http>[3] = {}) => http(d.url, 'POST', path, { token: TOKEN, ...o });
  const refused = (r: Awaited<ReturnType<typeof http>>, status: number, code: string) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.body?.error?.code, code, r.text);
    assert.match(r.body.error.message, /\S/);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  };

  it('on loopback with a token: reads are open, mutations need the right bearer token', async () => {
    assert.equal((await http(d.url, 'GET', '/status')).status, 200);
    const none = await http(d.url, 'POST', '/reset', { json: {} });
    refused(none, 401, 'EUNAUTHORIZED');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    refused(await http(d.url, 'POST', '/reset', { json: {}, token: TOKEN + 'x' }), 403, 'EFORBIDDEN');
    refused(await http(d.url, 'POST', '/reset', { json: {}, token: 'short' }), 403, 'EFORBIDDEN');
    refused(await http(d.url, 'POST', '/reset', { json: {}, headers: { authorization: `Basic ${TOKEN}` } }), 401, 'EUNAUTHORIZED');
    assert.equal((await post('/reset', { json: {} })).status, 202);
  });

  it('with a token: the dashboard page and scripts are public (no token looked at), its data is not', async () => {
    // Beyond loopback these would load with no token at all; a wrong one shows the routes are public here.
    for (const path of ['/', '/dashboard/app.js', '/dashboard/uPlot.js']) assert.equal((await http(d.url, 'GET', path, { token: 'not-the-token' })).status, 200, path);
    refused(await http(d.url, 'GET', '/status', { token: 'not-the-token' }), 403, 'EFORBIDDEN');
    refused(await http(d.url, 'POST', '/', { json: {}, token: 'not-the-token' }), 403, 'EFORBIDDEN');
    const events = await fetch(`${d.url}/events`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(events.status, 403);
    await events.body?.cancel();
  });

  it('model paths outside --model-dir are refused, also through .. and symbolic links', async () => {
    refused(await post('/model', { json: { path: '../outside/b.safetensors' } }), 403, 'EPATH');
    refused(await post('/model', { json: { path: join(outside, 'b.safetensors') } }), 403, 'EPATH');
    refused(await post('/model', { json: { path: 'escape.safetensors' } }), 403, 'EPATH');
    refused(await post('/model', { json: { path: '/etc/passwd' } }), 403, 'EPATH');
    refused(await post('/readout', { json: { path: '../outside/b.safetensors' } }), 403, 'EPATH');
    refused(await post('/model', { json: { path: 'missing.safetensors' } }), 404, 'EPATH');
    refused(await post('/model', { json: { path: 42 } }), 400, 'EBADREQUEST');
    refused(await post('/record', { json: { start: 'r.xdf' } }), 403, 'EPATH');
  });

  it('bad bodies: oversized, malformed JSON, not JSON, wrong shape', async () => {
    refused(await post('/readout', { raw: JSON.stringify({ weight: new Array(300_000).fill(0.5), bias: [0, 0] }) }), 413, 'ETOOLARGE');
    refused(await post('/model', { raw: '{"path": ' }), 400, 'EBADJSON');
    refused(await post('/model', { raw: '{"path": "a.safetensors",}' }), 400, 'EBADJSON');
    refused(await post('/model', { raw: 'path=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'EUNSUPPORTED');
    refused(await post('/model', { json: [1, 2] }), 400, 'EBADREQUEST');
    refused(await post('/model', { json: { path: 'a.safetensors', state: 'keep' } }), 400, 'EBADREQUEST');
    refused(await post('/model', { json: { file: 'a.safetensors' } }), 400, 'EBADREQUEST');
    refused(await post('/readout', { json: { weight: [[1, 2]], bias: [0] } }), 409, 'EINCOMPATIBLE');
    refused(await post('/readout', { json: { weight: 'x', bias: [0, 0] } }), 400, 'EBADREQUEST');
    refused(await post('/record', { json: { stop: true, start: 'x.xdf' } }), 400, 'EBADREQUEST');
    refused(await http(d.url, 'GET', '/nope'), 404, 'ENOTFOUND');
  });

  it('models that do not fit the stream get 409 with the reason; a file that is no model gets EMODEL', async () => {
    const wide = await post('/model', { json: { path: 'wide.safetensors' } });
    refused(wide, 409, 'EINCOMPATIBLE');
    assert.match(wide.body.error.message, /n_in is 17, the running model has 16/);
    const slow = await post('/model', { json: { path: 'slow.safetensors' } });
    refused(slow, 409, 'EINCOMPATIBLE');
    assert.match(slow.body.error.message, /bin_ms is 20, the running model has 10/);
    refused(await post('/model', { json: { path: 'junk.safetensors' } }), 400, 'EMODEL');
    const h = await http(d.url, 'GET', '/healthz');
    assert.ok(h.body.reasons.some((r: { code: string }) => r.code === 'model_failed'), 'a model that failed to load is reported by /healthz');
  });

  it('expect_model_id: a swap meant for another running model is refused with EMODELMISMATCH, nothing changed', async () => {
    const id = (await http(d.url, 'GET', '/status')).body.model_id as string;
    const { K, features } = dims(cfg);
    const readout = { weight: new Array(K * features).fill(0), bias: new Array(K).fill(0) };
    const m = await post('/model', { json: { path: 'a.safetensors', expect_model_id: 'another-model' } });
    refused(m, 409, 'EMODELMISMATCH');
    assert.equal(m.body.error.running_model_id, id);
    assert.match(m.body.error.message, new RegExp(`expects the running model to be another-model, but ${id} is running`));
    refused(await post('/readout', { json: { ...readout, expect_model_id: 'another-model' } }), 409, 'EMODELMISMATCH');
    refused(await post('/readout', { json: { ...readout, expect_model_id: 7 } }), 400, 'EBADREQUEST');
    assert.deepEqual((await http(d.url, 'GET', '/status')).body.summary.hot_swaps, { model: 0, readout: 0 });
    assert.equal((await post('/readout', { json: { ...readout, expect_model_id: id } })).status, 200);
  });

  it('a request addressed to another host name (DNS rebinding) or from another origin is refused', async () => {
    const port = new URL(d.url).port;
    const r = spawnSync('curl', ['-s', '-H', `Host: attacker.example:${port}`, `${d.url}/status`], { encoding: 'utf8' });
    assert.equal(JSON.parse(r.stdout).error.code, 'EFORBIDDEN');
    refused(await post('/reset', { json: {}, headers: { origin: 'http://attacker.example' } }), 403, 'EFORBIDDEN');
  });

  it('the daemon keeps decoding state after all of that: still answers, no internal errors', async () => {
    const s = (await http(d.url, 'GET', '/status')).body.summary;
    assert.equal(s.internal_errors, 0);
  });
});

describe('start-up refusals', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI_PATH, 'run', '--model', modelA, '--input', 'zmq+tcp://127.0.0.1:1', '--output', 'zmq+tcp://127.0.0.1:2', ...args], { encoding: 'utf8', timeout: 30_000 });

  it('a non-loopback --control without --control-token-file: refused before anything opens, with ECONTROLTOKEN', () => {
    const r = run(['--control', '0.0.0.0:0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not a loopback address.*--control-token-file.*\[ECONTROLTOKEN\]/);
  });

  it('a bad --control, a short token, a missing --model-dir are refused with their codes', () => {
    assert.match(run(['--control', 'localhost']).stderr, /\[ECONTROLADDR\]/);
    assert.match(run(['--control', '127.0.0.1:70000']).stderr, /\[ECONTROLADDR\]/);
    const short = join(dir, 'short-token');
    writeFileSync(short, 'abc\n');
    assert.match(run(['--control-token-file', short]).stderr, /at least 16 characters.*\[ECONTROLTOKEN\]/);
    assert.match(run(['--model-dir', join(dir, 'nowhere')]).stderr, /--model-dir .*\[ECONTROLDIR\]/);
  });
});
