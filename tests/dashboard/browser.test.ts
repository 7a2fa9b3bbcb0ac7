/**
 * The dashboard of a real daemon, in a real browser: `langevind run` with its control server on
 * loopback, fed by `langevind replay` (the committed default model and the simulated session it
 * was calibrated on), and headless Chromium on the control address's page. The plotted velocity
 * must be what a ZeroMQ subscriber of the daemon's output received, bin for bin; the counters,
 * rejects and latency percentiles on the page those of GET /status; health that of /healthz.
 * Also takes the README's screenshot (DASHBOARD_SCREENSHOT=docs/dashboard.png to keep it).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { writeSimulatedSession, type SessionOptions } from '../../daemon/commands/demo.js';
import { freePort } from '../../harness/net.js';
import { CliProcess, REPO_ROOT } from '../../harness/process.js';
import { launchChromium } from '../support/browser.js';
import { tempDir } from '../support/net.js';
import { loadRecording } from '../../streams/replay.js';
import { writeTestModel } from '../support/model.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';
import { READ_PAGE, type PageState } from './page-state.js';

const ROOT = REPO_ROOT;
const MODEL = join(ROOT, 'models/default.safetensors');
const BINS = 600;
const CONTDATA = join(REPO_ROOT, '../shared/data/contdata95/contdata95.xdf');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StatusBody {
  summary: Record<string, unknown> & { rejects: Record<string, number>; latency_us: Record<string, { p50: number; p99: number }> };
  model_id: string;
}

describe('dashboard of a running daemon fed by langevind replay', () => {
  const tmp = tempDir('langevind-dashboard-daemon-');
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let daemon: CliProcess | undefined;
  let collector: DecodedCollector | undefined;
  let replay: CliProcess | undefined;

  before(async () => {
    chromium = await launchChromium();
  });
  after(async () => {
    replay?.kill();
    collector?.close();
    await daemon?.stop();
    await chromium?.close();
    tmp.cleanup();
  });

  it('shows the velocity the daemon sent, and the counters of /status', async () => {
    const session = join(tmp.dir, 'session.xdf');
    const opts = JSON.parse(readFileSync(join(ROOT, 'models/default-session.json'), 'utf8')) as SessionOptions;
    writeSimulatedSession(session, opts, (BINS * opts.binMs) / 1000);
    const [pIn, pOut] = [await freePort(), await freePort()];
    const input = `zmq+tcp://127.0.0.1:${pIn}`;
    const output = `zmq+tcp://127.0.0.1:${pOut}`;
    daemon = await CliProcess.start(['run', '--model', MODEL, '--input', input, '--output', output, '--status-interval', '0', '--control', '127.0.0.1:0']);
    const ready = daemon.logs.find((l) => l.msg === 'ready') as { control?: string };
    assert.ok(ready.control, 'the ready line names the control URL');
    const url = ready.control;
    const get = async <T>(path: string): Promise<T> => (await (await fetch(url + path)).json()) as T;

    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(`${url}/`);
    await page.waitForFunction('window.langevindDashboard && window.langevindDashboard.meta !== null');
    collector = new DecodedCollector(`tcp://127.0.0.1:${pOut}`);
    await sleep(500); // ZeroMQ's slow joiner: let the subscriber connect before the first decode

    replay = new CliProcess(['replay', session, '--to', input, '--from', output, '--speed', '3', '--bins', String(BINS)]);
    // While bins flow the page is healthy; the screenshot is taken then, near the end of the replay.
    let healthyDuringRun = false;
    const shot = process.env.DASHBOARD_SCREENSHOT ?? join(tmp.dir, 'dashboard.png');
    let shotTaken = false;
    while (replay.child.exitCode === null) {
      const st = (await page.evaluate(READ_PAGE)) as PageState;
      if (st.health === 'ok') healthyDuringRun = true;
      if (!shotTaken && (st.seq.at(-1) ?? 0) >= BINS * 0.92) {
        mkdirSync(dirname(shot), { recursive: true });
        await page.screenshot({ path: shot, fullPage: true });
        shotTaken = true;
      }
      await sleep(150);
    }
    const ended = await replay.exited;
    assert.equal(ended.code, 0, `replay failed: ${replay.stderrText.slice(-2000)}`);
    assert.ok(healthyDuringRun, 'the page showed health ok while bins flowed');
    assert.ok(shotTaken, 'the screenshot was taken during the replay');
    await collector.waitFor(BINS - 20);

    // Once the daemon is idle its counters stop; the page must catch up with /status exactly.
    const status = await get<StatusBody>('/status');
    const s = status.summary;
    let st: PageState;
    const deadline = Date.now() + 10000;
    for (;;) {
      st = (await page.evaluate(READ_PAGE)) as PageState;
      const same = Object.entries(s).every(([k, v]) => typeof v !== 'number' || k === 'uptime_s' || st.counters[k] === v);
      if ((same && st.seq.at(-1) === BINS - 1) || Date.now() > deadline) break;
      await sleep(200);
    }
    assert.deepEqual(errors, [], 'no page errors, no failed requests');
    assert.equal(st.seq.at(-1), BINS - 1, 'the last bin is plotted');
    const sent = new Map(collector.received.map((d) => [d.seq, d]));
    let compared = 0;
    for (let i = 0; i < st.seq.length; i++) {
      const d = sent.get(st.seq[i]);
      if (!d) continue;
      for (let k = 0; k < d.velocity.length; k++) assert.equal(st.plotted[k + 1][i], d.velocity[k], `seq ${st.seq[i]} velocity[${k}]`);
      compared++;
    }
    assert.ok(compared >= BINS - 40, `compared ${compared} plotted points with what the daemon sent`);
    for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && k !== 'uptime_s') assert.equal(st.counters[k], v, `counter ${k}`);
    for (const [k, v] of Object.entries(s.rejects)) assert.equal(st.rejects[k], v, `rejects ${k}`);
    assert.equal(st.modelId, status.model_id);
    // The page's histogram and /status's receive→sent histogram hold the same bins.
    const lat = s.latency_us.receive_to_sent;
    assert.equal(st.p50, lat.p50, 'p50 as in /status');
    assert.equal(st.p99, lat.p99, 'p99 as in /status');
    // Idle now: /healthz says why, and so does the page.
    await sleep(1500);
    const health = await get<{ status: string }>('/healthz');
    await page.waitForFunction(`document.getElementById('health').dataset.health === ${JSON.stringify(health.status)}`, undefined, { timeout: 5000 });
  });
  it('shows the rejects of /status and the last refused inputs, from a rig that sends a real recording with bad bins among them', async () => {
    // contdata95 (95 channels, 50 ms bins) through a 95-channel model; every 25th bin again (a
    // duplicate) and every 60th once more with the wrong bin width.
    const rec = await loadRecording(CONTDATA);
    const { path: model } = writeTestModel(tmp.dir, { nIn: rec.channels, binMs: rec.binMs, name: 'contdata.safetensors' });
    const [pIn, pOut] = [await freePort(), await freePort()];
    const rig = await RigPublisher.bind(`tcp://127.0.0.1:${pIn}`);
    const d = await CliProcess.start(['run', '--model', model, '--input', `zmq+tcp://127.0.0.1:${pIn}`, '--output', `zmq+tcp://127.0.0.1:${pOut}`, '--status-interval', '0', '--control', '127.0.0.1:0']);
    try {
      const url = (d.logs.find((l) => l.msg === 'ready') as unknown as { control: string }).control;
      const page = await chromium.context.newPage();
      await page.goto(`${url}/`);
      await page.waitForFunction('window.langevindDashboard && window.langevindDashboard.meta !== null');
      await rig.waitForSubscriber();
      const n = 200;
      for (let i = 0; i < n; i++) {
        const counts = Array.from(rec.counts.subarray(i * rec.channels, (i + 1) * rec.channels));
        const bin = { seq: i, timestamp: rec.timestamps[i], counts, binMs: rec.binMs, streamId: rec.name };
        await rig.send(bin);
        if (i % 25 === 0) await rig.send(bin);
        if (i % 60 === 0) await rig.send({ ...bin, seq: i + 1, binMs: rec.binMs * 2 });
        await sleep(2);
      }
      const want = { duplicate: Math.ceil(n / 25), bin_ms: Math.ceil(n / 60) };
      let st: PageState;
      let status: StatusBody;
      const deadline = Date.now() + 15000;
      for (;;) {
        status = (await (await fetch(`${url}/status`)).json()) as StatusBody;
        st = (await page.evaluate(READ_PAGE)) as PageState;
        const r = status.summary.rejects;
        if ((r.duplicate === want.duplicate && r.bin_ms === want.bin_ms && st.rejects.duplicate === r.duplicate && st.rejects.bin_ms === r.bin_ms && status.summary.bins_decoded === n && st.seq.at(-1) === n - 1) || Date.now() > deadline) break;
        await sleep(200);
      }
      assert.deepEqual({ duplicate: status.summary.rejects.duplicate, bin_ms: status.summary.rejects.bin_ms }, want, 'the daemon refused what the rig sent wrong');
      for (const [k, v] of Object.entries(status.summary.rejects)) assert.equal(st.rejects[k], v, `rejects ${k} on the page`);
      const recent = await page.evaluate(`Array.from(document.querySelectorAll('#recent-rejects li')).map((li) => li.textContent)`) as string[];
      assert.ok(recent.length > 0 && recent.every((t) => /^(duplicate|bin_ms) /.test(t)), `last refused inputs listed: ${JSON.stringify(recent)}`);
      assert.equal(st.seq.at(-1), n - 1, 'the last bin is plotted');
    } finally {
      await d.stop();
      rig.close();
    }
  });

  it('with a control token: the page sends the token of its #token= address for /events, takes it out of the address bar, and says when it is wrong', async () => {
    const TOKEN = 'dashboard-token-0123456789';
    const tokenFile = join(tmp.dir, 'token');
    writeFileSync(tokenFile, TOKEN + '\n');
    const [pIn, pOut] = [await freePort(), await freePort()];
    const d = await CliProcess.start(['run', '--model', MODEL, '--input', `zmq+tcp://127.0.0.1:${pIn}`, '--output', `zmq+tcp://127.0.0.1:${pOut}`, '--status-interval', '0', '--control', '127.0.0.1:0', '--control-token-file', tokenFile]);
    try {
      const url = (d.logs.find((l) => l.msg === 'ready') as unknown as { control: string }).control;
      const right = await chromium.context.newPage();
      const seen: Array<string | undefined> = [];
      right.on('request', (r) => { if (r.url().endsWith('/events')) seen.push(r.headers().authorization); });
      await right.goto(`${url}/#token=${TOKEN}`);
      await right.waitForFunction('window.langevindDashboard && window.langevindDashboard.meta !== null', undefined, { timeout: 10000 });
      assert.deepEqual(seen, [`Bearer ${TOKEN}`], 'GET /events carried the bearer token');
      assert.equal(await right.evaluate('location.href'), `${url}/`, 'the token is out of the address bar');
      // A reload of the tab keeps it (sessionStorage), with nothing in the address.
      await right.reload();
      await right.waitForFunction('window.langevindDashboard && window.langevindDashboard.meta !== null', undefined, { timeout: 10000 });
      assert.equal(seen.at(-1), `Bearer ${TOKEN}`);
      // A wrong token is refused (403) even on loopback, where reads need none, and the page says so.
      const wrong = await chromium.context.newPage();
      await wrong.goto(`${url}/#token=not-the-token-at-all`);
      await wrong.waitForFunction(`document.getElementById('health').dataset.health === 'wrong token'`, undefined, { timeout: 10000 });
      assert.equal(await wrong.evaluate('window.langevindDashboard.meta'), null);
      assert.match(await wrong.evaluate(`document.getElementById('health-reasons').textContent`) as string, /#token=/);
    } finally {
      await d.stop();
    }
  });
});
