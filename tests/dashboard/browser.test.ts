/**
 * The dashboard in a real browser: headless Chromium loads the page of a fastify app with the
 * dashboard plugin, fed by the daemon's real pipeline decoding a real recording (contdata95,
 * 95 channels, 50 ms bins) and publishing over ZeroMQ. The test checks that the plotted velocity
 * is what a ZeroMQ subscriber of the daemon's output received, bin for bin, and that the counters
 * on the page are those of /status.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Subject, merge, take, type Subscription } from 'rxjs';
import type { Page } from 'playwright-core';
import { LiveFeed } from '../../daemon/dashboard/live-feed.js';
import { registerDashboard } from '../../daemon/dashboard/plugin.js';
import { openSink, type DecodedSink, type EndpointContext } from '../../daemon/endpoints.js';
import { silentLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/metrics.js';
import { decode } from '../../daemon/pipeline.js';
import { OnlineFilter } from '../../model/filter.js';
import { loadRecording, replayRecording } from '../../streams/replay.js';
import type { SpikeBin } from '../../streams/types.js';
import { launchChromium } from '../support/browser.js';
import { READ_PAGE, type PageState } from './page-state.js';
import { writeTestModel } from '../support/model.js';
import { freePort } from '../../harness/net.js';
import { tempDir } from '../support/net.js';
import { DecodedCollector } from '../support/zmq-peers.js';

const RECORDING = fileURLToPath(new URL('../../../../shared/data/contdata95/contdata95.xdf', import.meta.url));
const BINS = 300;

async function pageState(page: Page): Promise<PageState> {
  return (await page.evaluate(READ_PAGE)) as PageState;
}

describe('dashboard in a real browser', () => {
  const tmp = tempDir('langevind-dashboard-');
  let app: FastifyInstance;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let sink: DecodedSink;
  let collector: DecodedCollector;
  let sub: Subscription | undefined;

  before(async () => {
    chromium = await launchChromium();
  });
  after(async () => {
    sub?.unsubscribe();
    collector?.close();
    await sink?.close();
    await app?.close();
    await chromium?.close();
    tmp.cleanup();
  });

  it('plots the velocity the daemon sent and shows the counters of /status', async () => {
    const rec = await loadRecording(RECORDING);
    const { model } = writeTestModel(tmp.dir, { nIn: rec.channels, binMs: rec.binMs });
    const cfg = model.config;
    const metrics = new Metrics();
    const ctx: EndpointContext = {
      config: { n_in: cfg.n_in, bin_ms: cfg.bin_ms, velocity_labels: cfg.velocity_labels, channel_labels: cfg.channel_labels },
      modelId: model.id,
      log: silentLogger,
      reject() {},
    };
    const port = await freePort();
    sink = await openSink(`zmq+tcp://127.0.0.1:${port}`, ctx);
    collector = new DecodedCollector(`tcp://127.0.0.1:${port}`);
    const feed = new LiveFeed({ nIn: cfg.n_in, binMs: cfg.bin_ms, velocityLabels: cfg.velocity_labels });
    // The shapes of the control server's /status and /healthz.
    const health = (): object => ({ status: 'ok', reasons: [], warnings: [] });
    const status = (): object => ({ summary: metrics.summary([{ uri: `zmq+tcp://127.0.0.1:${port}`, ...sink.stats() }]), model_id: model.id, health: health(), recording: null, last_swap: null });
    app = Fastify();
    registerDashboard(app, { feed, status, health });
    // Stands in for the control server's /status until it serves this app.
    app.get('/status', () => status());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/`;

    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(url);
    await page.waitForFunction('window.langevindDashboard && window.langevindDashboard.meta !== null');
    // The subscriber needs a moment to connect before the first bin (ZeroMQ's slow joiner).
    await new Promise((r) => setTimeout(r, 500));

    // A replay at 4× into the pipeline, with some bad input beside it: every 25th bin again
    // (a duplicate) and every 60th once more with a wrong bin width.
    const extra = new Subject<SpikeBin>();
    const replay$ = replayRecording(rec, 4).pipe(take(BINS));
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    sub = merge(replay$, extra)
      .pipe(decode({
        filter: new OnlineFilter(model), nIn: cfg.n_in, binMs: cfg.bin_ms, velocityDim: cfg.velocity_labels.length, modelId: model.id,
        sinks: [sink], metrics, log: silentLogger,
        onBin: (b) => feed.accepted(b),
        onDecoded: (d) => feed.decoded(d),
        onReject: (kind, b, detail) => feed.rejected(kind, detail, b),
      }))
      .subscribe({
        next: (d) => {
          if (d.seq % 25 === 0) extra.next({ seq: d.seq, timestamp: d.timestamp, counts: new Float64Array(cfg.n_in), binMs: cfg.bin_ms, streamId: rec.name, receivedNs: 0 });
          if (d.seq % 60 === 0) extra.next({ seq: d.seq + 1, timestamp: d.timestamp, counts: new Float64Array(cfg.n_in), binMs: cfg.bin_ms * 2, streamId: rec.name, receivedNs: 0 });
          if (d.seq === BINS - 1) finished();
        },
      });
    await done;
    await collector.waitFor(BINS - 20);

    // The page catches up within a few updates; then its counters must equal /status.
    const statusNow = ((await (await fetch(`${url}status`)).json()) as { summary: Record<string, unknown> & { rejects: Record<string, number> } }).summary;
    let st: PageState | undefined;
    const deadline = Date.now() + 10000;
    for (;;) {
      st = await pageState(page);
      const same = Object.entries(statusNow).every(([k, v]) => typeof v !== 'number' || k === 'uptime_s' || st!.counters[k] === v);
      if ((same && st.seq.at(-1) === BINS - 1) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(errors, [], 'no page errors, no failed requests');
    assert.equal(st.seq.at(-1), BINS - 1, 'the last bin is plotted');

    // Every plotted point is a decode the subscriber received, with the same velocity (float32 exact).
    const sent = new Map(collector.received.map((d) => [d.seq, d]));
    let compared = 0;
    for (let i = 0; i < st.seq.length; i++) {
      const d = sent.get(st.seq[i]);
      if (!d) continue; // sent before the subscriber joined
      for (let k = 0; k < d.velocity.length; k++) assert.equal(st.plotted[k + 1][i], d.velocity[k], `seq ${st.seq[i]} velocity[${k}]`);
      compared++;
    }
    assert.ok(compared >= BINS - 40, `compared ${compared} plotted points with what was sent`);
    // At 80 bins/s and 15 updates/s the feed does not decimate: every bin is on the page.
    assert.deepEqual(st.seq, Array.from({ length: st.seq.length }, (_, i) => BINS - st!.seq.length + i));

    // Counters and rejects on the page are those of /status.
    for (const [k, v] of Object.entries(statusNow)) if (typeof v === 'number' && k !== 'uptime_s') assert.equal(st.counters[k], v, `counter ${k}`);
    assert.ok(statusNow.rejects.duplicate > 0 && statusNow.rejects.bin_ms > 0, 'the run had rejects to show');
    for (const [k, v] of Object.entries(statusNow.rejects)) assert.equal(st.rejects[k], v, `rejects ${k}`);
    assert.equal(st.health, 'ok');
    assert.equal(st.modelId, model.id);
    const lat = metrics.latency.receive_to_sent;
    assert.ok(st.p50 > 0 && st.p99 >= st.p50 && st.p99 <= lat.max / 1000 + 1, `p50 ${st.p50} µs, p99 ${st.p99} µs`);

    const shot = process.env.DASHBOARD_SCREENSHOT ?? join(tmp.dir, 'dashboard.png');
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  });
});
