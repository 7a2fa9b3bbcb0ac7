import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { ALLOC_FLAGS } from '../../bench/alloc.js';
import { LiveFeed, LiveFeedError } from '../../daemon/dashboard/live-feed.js';
import { registerDashboard } from '../../daemon/dashboard/plugin.js';
import type { Decoded, SpikeBin } from '../../streams/types.js';

const LABELS = ['vel_x', 'vel_y'];

function bin(seq: number, counts: ArrayLike<number>, receivedNs = 1e9 + seq * 2e7): SpikeBin {
  return { seq, timestamp: seq * 0.02, counts, binMs: 20, streamId: 'rig', receivedNs, receivedLslTime: 0 };
}

function decodedOf(b: SpikeBin, vx: number, vy: number, latencyNs: number, modelId = 'm1'): Decoded {
  return { seq: b.seq, timestamp: b.timestamp, velocity: Float32Array.of(vx, vy), receivedNs: b.receivedNs, decodedNs: b.receivedNs + 1000, sentNs: b.receivedNs + latencyNs, modelId, streamId: 'rig', receivedLslTime: 0 };
}

/** Feeds n bins with velocity (sin, cos) of seq and latency 100 µs + seq ns; returns what was fed. */
function feedBins(feed: LiveFeed, n: number, from = 0): Decoded[] {
  const out: Decoded[] = [];
  for (let s = from; s < from + n; s++) {
    const b = bin(s, new Int16Array(feed.nIn).fill(1));
    const d = decodedOf(b, Math.sin(s / 10), Math.cos(s / 10), 100_000 + s);
    feed.accepted(b);
    feed.decoded(d, b);
    out.push(d);
  }
  return out;
}

describe('LiveFeed', () => {
  it('sends every bin while few arrive, each value exactly as decoded', () => {
    const feed = new LiveFeed({ nIn: 4, binMs: 20, velocityLabels: LABELS });
    const fed = feedBins(feed, 10);
    const u = feed.take();
    assert.equal(u.bins, 10);
    assert.equal(u.stride, 1);
    assert.deepEqual(u.seq, fed.map((d) => d.seq));
    assert.deepEqual(u.velocity[0], fed.map((d) => d.velocity[0]));
    assert.deepEqual(u.velocity[1], fed.map((d) => d.velocity[1]));
    assert.deepEqual(u.latency_us, fed.map((d) => Math.round((d.sentNs - d.receivedNs) / 100) / 10));
    // The cursor is the running sum of velocity × bin width (gain 1).
    let x = 0;
    const xs = fed.map((d) => (x += d.velocity[0] * 0.02));
    for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(u.cursor[0][i] - xs[i]) <= 1e-5 * Math.max(1, Math.abs(xs[i])), `cursor x at ${i}`);
    // Nothing new: an empty update.
    const empty = feed.take();
    assert.equal(empty.bins, 0);
    assert.deepEqual(empty.seq, []);
  });

  it('decimates to at most maxPoints points, always ending on the newest bin', () => {
    const feed = new LiveFeed({ nIn: 4, binMs: 1, velocityLabels: LABELS, maxPoints: 64, capacity: 2048 });
    const fed = feedBins(feed, 1000);
    const u = feed.take();
    assert.equal(u.bins, 1000);
    assert.equal(u.stride, Math.ceil(1000 / 64));
    assert.ok(u.seq.length <= 64 && u.seq.length >= 62, `points ${u.seq.length}`);
    assert.equal(u.seq.at(-1), 999);
    for (let i = 1; i < u.seq.length; i++) assert.equal(u.seq[i] - u.seq[i - 1], u.stride);
    for (let i = 0; i < u.seq.length; i++) assert.equal(u.velocity[1][i], fed[u.seq[i]].velocity[1]);
    assert.equal(u.overwritten, 0);
  });

  it('overwrites the oldest bins when more arrive between two takes than it holds, and says how many', () => {
    const feed = new LiveFeed({ nIn: 4, binMs: 20, velocityLabels: LABELS, capacity: 100, maxPoints: 1000 });
    feedBins(feed, 250);
    const u = feed.take();
    assert.equal(u.bins, 250);
    assert.equal(u.overwritten, 150);
    assert.deepEqual(u.seq, Array.from({ length: 100 }, (_, i) => 150 + i));
  });

  it('sums channels into heatmap rows and bins into columns', () => {
    // 95 channels into at most 48 rows: 2 channels a row, 48 rows; 100 ms columns of 50 ms bins: 2 bins each.
    const feed = new LiveFeed({ nIn: 95, binMs: 50, velocityLabels: LABELS, heatRows: 48, heatColumnMs: 100 });
    assert.equal(feed.channelsPerRow, 2);
    assert.equal(feed.heatRows, 48);
    assert.equal(feed.binsPerColumn, 2);
    const bins = Array.from({ length: 7 }, (_, s) => bin(s, Int16Array.from({ length: 95 }, (_, c) => (s * 3 + c) % 7)));
    for (const b of bins) {
      feed.accepted(b);
      feed.decoded(decodedOf(b, 0, 0, 1000), b);
    }
    const u = feed.take();
    assert.equal(u.heat.length, 3, 'three full columns, the seventh bin still summing');
    for (let col = 0; col < 3; col++) {
      const expect = new Array<number>(48).fill(0);
      for (const b of bins.slice(col * 2, col * 2 + 2)) for (let c = 0; c < 95; c++) expect[Math.floor(c / 2)] += b.counts[c];
      assert.deepEqual(u.heat[col], expect, `column ${col}`);
    }
    assert.deepEqual(feed.meta().heat_column_ms, 100);
  });

  it('latency histogram: p50/p99 are the histogram percentiles (nearest rank) of sent − received', () => {
    const feed = new LiveFeed({ nIn: 2, binMs: 20, velocityLabels: LABELS });
    // Latencies 1 … 1000 µs: nearest-rank p50 is 500 µs, p99 990 µs (within the histogram's 0.2 %).
    for (let s = 0; s < 1000; s++) {
      const b = bin(s, [0, 0]);
      feed.decoded(decodedOf(b, 0, 0, (s + 1) * 1000), b);
    }
    const h = feed.take(true).latency!;
    assert.equal(h.count, 1000);
    assert.ok(Math.abs(h.p50_us - 500) <= 1, `p50 ${h.p50_us}`);
    assert.ok(Math.abs(h.p99_us - 990) <= 2, `p99 ${h.p99_us}`);
    assert.equal(h.max_us, 1000);
    assert.equal(h.bars.reduce((a, b) => a + b, 0), 1000);
    assert.equal(h.bars.length, feed.meta().latency_edges_us.length - 1);
  });

  it('remembers refused inputs and a change of model id', () => {
    const feed = new LiveFeed({ nIn: 2, binMs: 20, velocityLabels: LABELS, rejectCapacity: 4 });
    for (let i = 0; i < 6; i++) feed.rejected('channels', `bin ${i}: 3 channels, the model has 2`, bin(i, [0, 0, 0]));
    feed.rejected('undecodable', 'not protobuf');
    const b1 = bin(10, [1, 1]);
    feed.decoded(decodedOf(b1, 0, 0, 1000, 'model-a'), b1);
    const b2 = bin(11, [1, 1]);
    feed.decoded(decodedOf(b2, 0, 0, 1000, 'model-b'), b2);
    const u = feed.take();
    assert.deepEqual(u.rejects.map((r) => r.seq), [3, 4, 5, null]);
    assert.equal(u.rejects[3].detail, 'not protobuf');
    assert.deepEqual({ ...u.last_model_change, t: 0 }, { from: 'model-a', to: 'model-b', seq: 11, t: 0 });
    assert.equal(u.model_id, 'model-b');
  });

  it('refuses bad options with a code', () => {
    assert.throws(() => new LiveFeed({ nIn: 0, binMs: 20, velocityLabels: LABELS }), (e: LiveFeedError) => e.code === 'ELIVEFEED' && /n_in/.test(e.message));
    assert.throws(() => new LiveFeed({ nIn: 2, binMs: 20, velocityLabels: LABELS, maxPoints: 0 }), (e: LiveFeedError) => e.code === 'ELIVEFEED' && /maxPoints/.test(e.message));
    assert.throws(() => new LiveFeed({ nIn: 2, binMs: 20, velocityLabels: [] }), (e: LiveFeedError) => e.code === 'ELIVEFEED');
  });

  it('allocates 0 bytes per bin (heap growth slope, the method of bench/step.ts)', () => {
    const probe = fileURLToPath(new URL('./alloc-probe.js', import.meta.url));
    const r = spawnSync(process.execPath, [...ALLOC_FLAGS, probe], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(r.stdout.trim()) as { bytes_per_bin: number; control_bytes_per_object: number };
    // The control shows the method sees a 16-byte object per iteration; the feed must stay below one byte.
    assert.ok(m.control_bytes_per_object >= 8, `control ${m.control_bytes_per_object} B/object: the method cannot see allocations`);
    assert.ok(m.bytes_per_bin < 1, `LiveFeed allocates ${m.bytes_per_bin} B per bin`);
  });
});

/** Reads an SSE stream from a socket, counting complete `update` frames. */
function sseClient(port: number): { sock: Socket; updates: () => number; bytes: () => number; lastSeq: () => number } {
  const sock = connect(port, '127.0.0.1');
  sock.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  let updates = 0;
  let bytes = 0;
  let lastSeq = -1;
  let tail = '';
  sock.setEncoding('utf8').on('data', (s: string) => {
    bytes += s.length;
    tail += s;
    let i: number;
    while ((i = tail.indexOf('\n\n')) >= 0) {
      const frame = tail.slice(0, i);
      if (frame.includes('event: update')) {
        updates++;
        const seq = (JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { feed: { seq: number[] } }).feed.seq;
        if (seq.length) lastSeq = seq[seq.length - 1];
      }
      tail = tail.slice(i + 2);
    }
  });
  return { sock, updates: () => updates, bytes: () => bytes, lastSeq: () => lastSeq };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('dashboard events', () => {
  it('a client that stops reading misses frames, is closed after staleMs, and never holds up the feed or the other clients', async () => {
    const nIn = 96;
    // One heatmap column per bin and 256 of them per take: large frames fill a stalled socket fast.
    const feed = new LiveFeed({ nIn, binMs: 1, velocityLabels: LABELS, heatRows: 48, heatColumnMs: 1, maxPoints: 256 });
    const app = Fastify();
    const maxBufferBytes = 64 * 1024;
    const dash = registerDashboard(app, { feed, status: () => ({ bins_decoded: fed }), health: () => ({ status: 'ok' }), hz: 50, sse: { maxBufferBytes, staleMs: 1500 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    let fed = 0;
    const counts = new Int16Array(nIn).fill(3);
    // The "bin path": 300 bins every 5 ms, on the same event loop as the server.
    const pump = setInterval(() => {
      for (let i = 0; i < 300; i++) {
        const b = bin(fed, counts, performance.now() * 1e6);
        feed.accepted(b);
        feed.decoded(decodedOf(b, 1, -1, 50_000), b);
        fed++;
      }
    }, 5);
    try {
      const good = sseClient(port);
      const slow = sseClient(port);
      await sleep(300);
      assert.equal(dash.stats().clients, 2);
      slow.sock.pause(); // stops reading: the kernel buffers fill, then Node's
      const stalledAt = slow.bytes();
      const goodBefore = good.updates();
      const deadline = Date.now() + 30000;
      while (dash.stats().closed_slow === 0 && Date.now() < deadline) await sleep(100);
      const st = dash.stats();
      assert.equal(st.closed_slow, 1, `the stalled client was closed (stats ${JSON.stringify(st)})`);
      assert.ok(st.frames_skipped > 0, 'frames were skipped for it first');
      assert.equal(st.clients, 1, 'only the reading client is left');
      assert.ok(st.max_buffered_bytes <= maxBufferBytes + 64 * 1024, `per-client buffer stayed bounded: ${st.max_buffered_bytes} B`);
      assert.ok(good.updates() - goodBefore > 20, `the reading client kept receiving (${good.updates() - goodBefore} updates)`);
      assert.ok(slow.bytes() === stalledAt, 'the paused client read nothing meanwhile');
      // The reading client is current: its last point is among the newest bins.
      await sleep(200);
      assert.ok(good.lastSeq() >= fed - 3000, `the reading client saw seq ${good.lastSeq()} of ${fed}`);
      good.sock.destroy();
      slow.sock.destroy();
      const gone = Date.now() + 5000;
      while (dash.stats().clients > 0 && Date.now() < gone) await sleep(50);
      assert.equal(dash.stats().clients, 0, 'a vanished client is dropped');
    } finally {
      clearInterval(pump);
      await app.close();
    }
  });

  it('serves the page, its script and uPlot from the installed package', async () => {
    const feed = new LiveFeed({ nIn: 4, binMs: 20, velocityLabels: LABELS });
    const app = Fastify();
    registerDashboard(app, { feed, status: () => ({}), health: () => ({}) });
    try {
      const page = await app.inject({ method: 'GET', url: '/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /text\/html/);
      for (const src of page.body.matchAll(/(?:src|href)="([^"]+)"/g)) {
        assert.ok(src[1].startsWith('/dashboard/'), `local asset ${src[1]}, no network`);
        const r = await app.inject({ method: 'GET', url: src[1] });
        assert.equal(r.statusCode, 200, src[1]);
      }
      const u = await app.inject({ method: 'GET', url: '/dashboard/uPlot.js' });
      const { readFileSync } = await import('node:fs');
      const { createRequire } = await import('node:module');
      assert.equal(u.body, readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'));
    } finally {
      await app.close();
    }
  });
});
