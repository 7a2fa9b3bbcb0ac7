// fromLsl / toLsl with real liblsl peers: the binned-count convention (refusals),
// seq from sample index with gaps from timestamps across an outlet restart, and the lsl:// URIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom } from 'rxjs';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { BinSequencer, checkBinnedStream, fromLsl, parseLslUri, toLsl } from '../../streams/lsl/endpoint.js';
import { localClock } from '../../streams/lsl/clock.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { makeStreamInfo, describeChannels } from '../../streams/stream-info.js';
import type { Incoming } from '../../streams/types.js';

process.env.LSLAPICFG = testConfigPath();
let n = 0;
const uniq = (s: string): string => `${s}-${process.pid}-${++n}`;

test('lsl:// URIs: selectors in the authority (case kept), options in the query, errors name the problem', () => {
  const a = parseLslUri(new URL('lsl://name=M1-binned'));
  assert.deepEqual(a.selector, { name: 'M1-binned' });
  const b = parseLslUri(new URL('lsl://type=SpikeCounts&source_id=Rig%201?watchdog=3'));
  assert.deepEqual(b.selector, { type: 'SpikeCounts', sourceId: 'Rig 1' });
  assert.equal(b.params.get('watchdog'), '3');
  const c = parseLslUri(new URL(`lsl://?pred=${encodeURIComponent("count(desc/channels/channel)>90 and type='SpikeCounts'")}`));
  assert.equal(c.selector.pred, "count(desc/channels/channel)>90 and type='SpikeCounts'");
  assert.throws(() => parseLslUri(new URL('lsl://nme=x')), /unknown stream selector "nme"/);
  assert.throws(() => parseLslUri(new URL('lsl://name=x?bogus=1')), /unknown option "bogus"/);
  assert.throws(() => parseLslUri(new URL(`lsl://?pred=${encodeURIComponent('name=')}`)), /query/);
});

test('BinSequencer: jitter under 3/4 of a bin is no gap; missing bins are; backwards jumps re-anchor; drift is followed', () => {
  const p = 0.02;
  const seqOf = (ts: number[]): number[] => { const s = new BinSequencer(p); return ts.map((t) => s.next(t)); };
  // Push-time stamps with jitter, including a late sample followed by a catch-up one.
  assert.deepEqual(seqOf([100, 100.029, 100.041, 100.06, 100.08, 100.114, 100.119, 100.14]), [0, 1, 2, 3, 4, 5, 6, 7]);
  // One bin lost, stamped a little early: still seen.
  assert.deepEqual(seqOf([100, 100.02, 100.04, 100.077, 100.1]), [0, 1, 2, 4, 5]);
  // Bins 3..7 never arrived.
  assert.deepEqual(seqOf([100, 100.02, 100.04, 100.16, 100.18]), [0, 1, 2, 8, 9]);
  // The source clock jumped back (e.g. another machine): counting goes on, then the grid re-anchors.
  assert.deepEqual(seqOf([100, 100.02, 50, 50.02, 50.04, 50.1]), [0, 1, 2, 3, 4, 7]);
  // A source 0.1 % slow against its nominal rate for 20000 bins: no false gaps.
  const s = new BinSequencer(p);
  let last = -1;
  for (let k = 0; k < 20000; k++) last = s.next(k * p * 1.001 + (k % 3) * 0.004);
  assert.equal(last, 19999);
  // And 0.1 % fast: still one per sample.
  const f = new BinSequencer(p);
  for (let k = 0; k < 20000; k++) last = f.next(k * p * 0.999);
  assert.equal(last, 19999);
});

test('the binned-count convention: channel count, format, rate and <binning><bin_ms> are checked against the model', () => {
  const ok = makeStreamInfo({ name: 'M1', channelCount: 96, channelFormat: 'int16', nominalSrate: 50, desc: describeChannels([], { binMs: 20 }) });
  assert.equal(checkBinnedStream(ok, 96, 20), undefined);
  assert.match(checkBinnedStream(ok, 95, 20)!, /has 96 channels, the model expects 95/);
  assert.match(checkBinnedStream(ok, 96, 50)!, /nominal rate 50 Hz, the model's 50 ms bins need 20 Hz/);
  assert.match(checkBinnedStream({ ...ok, channelFormat: 'double64' }, 96, 20)!, /channel format double64/);
  assert.match(checkBinnedStream({ ...ok, desc: describeChannels([], { binMs: 10 }) }, 96, 20)!, /declares <binning><bin_ms>10/);
});

test('fromLsl refuses a liblsl stream whose channel count does not match the model, with a clear error', async () => {
  const peer = new LiblslPeer();
  await peer.ready;
  const name = uniq('wrong');
  try {
    await peer.request({ op: 'outlet', name, source_id: name, format: 'int16', channels: 7, srate: 50, bin_ms: 20 });
    const err = await firstValueFrom(fromLsl({ name, nIn: 8, binMs: 20, config: loadLslConfig() })).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'the source errored');
    assert.equal((err as Error & { code: string }).code, 'ELSLMISMATCH');
    assert.match(err.message, /has 7 channels, the model expects 8/);
  } finally {
    await peer.quit();
  }
});

test('fromLsl: seq follows the sample index; an outlet restart (same source_id) is recovered and the gap shows in seq', async () => {
  const name = uniq('bins');
  const open = async (p: LiblslPeer): Promise<number> => (await p.request<{ id: number }>({ op: 'outlet', name, source_id: `rig-${name}`, format: 'int16', channels: 4, srate: 50, bin_ms: 20 })).id;
  let peer = new LiblslPeer();
  await peer.ready;
  let id = await open(peer);
  const bins: { seq: number; ts: number; counts: number[]; streamId: string; arrival: number; before: number; after: number }[] = [];
  let lastPull = localClock();
  const events: string[] = [];
  let wake: () => void = () => undefined;
  const sub = fromLsl({ name, nIn: 4, binMs: 20, config: loadLslConfig(), watchdog: 5, onEvent: (e) => { events.push(e.kind); wake(); } })
    .subscribe(({ bin: b, undecodable }: Incoming) => {
      assert.equal(undecodable, null);
      bins.push({ seq: b.seq, ts: b.timestamp, counts: Array.from(b.counts), streamId: b.streamId, arrival: b.receivedLslTime, before: lastPull, after: localClock() });
      wake();
    });
  const until = async (pred: () => boolean, what: string): Promise<void> => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > 15000) throw new Error(`timed out: ${what}; events ${events.join(',')}`);
      await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    }
  };
  try {
    await until(() => events.includes('connected'), 'connected');
    await peer.request({ op: 'wait_consumers', id, timeout: 5 });
    const t0 = (await peer.request<{ t: number }>({ op: 'clock' })).t;
    lastPull = localClock();
    for (let k = 0; k < 5; k++) await peer.request({ op: 'push', id, values: [k, 1, 2, 3], ts: t0 + k * 0.02 });
    await until(() => bins.length >= 5, '5 bins');
    assert.deepEqual(bins.map((b) => b.seq), [0, 1, 2, 3, 4]);
    assert.equal(bins[0].streamId, `rig-${name}`);
    // Each bin's arrival is on this machine's LSL clock, between the push and our callback.
    for (const b of bins) assert.ok(b.before <= b.arrival && b.arrival <= b.after, `arrival ${b.arrival} in [${b.before}, ${b.after}]`);
    await peer.kill();
    peer = new LiblslPeer();
    await peer.ready;
    id = await open(peer);
    await until(() => events.includes('recovered') && events.filter((e) => e === 'connected').length >= 2, 'recovery');
    await peer.request({ op: 'wait_consumers', id, timeout: 5 });
    // The restarted rig resumes 6 bins later: bins 5..10 never existed for us.
    for (let k = 11; k < 13; k++) await peer.request({ op: 'push', id, values: [k, 0, 0, 0], ts: t0 + k * 0.02 });
    await until(() => bins.length >= 7, '2 more bins');
    assert.deepEqual(bins.slice(5).map((b) => b.seq), [11, 12]);
    assert.deepEqual(bins[6].counts, [12, 0, 0, 0]);
  } finally {
    sub.unsubscribe();
    await peer.quit();
  }
});

test('toLsl: a float32 outlet with velocity labels; samples stamped with the bin\'s arrival on our clock; liblsl reads them', async () => {
  const name = uniq('vel');
  const sink = await toLsl({ name, labels: ['vel_x', 'vel_y'], binMs: 20, config: loadLslConfig() });
  const peer = new LiblslPeer();
  try {
    await peer.ready;
    const r = await peer.request<{ id: number; info: string }>({ op: 'inlet', prop: 'name', value: name, timeout: 5 });
    assert.match(r.info, /<label>vel_x<\/label>/);
    assert.match(r.info, /<nominal_srate>50/);
    assert.ok(await sink.outlet.waitForConsumers(5000));
    const velocity = new Float32Array([0.5, -1.25]);
    sink.next({ seq: 3, timestamp: 100.5, velocity, receivedNs: 0, receivedLslTime: 4242.25, decodedNs: 0, sentNs: 0, modelId: 'm' });
    const got = await peer.request<{ samples: { ts: number; values: number[] }[] }>({ op: 'pull', id: r.id, n: 1, timeout: 5 });
    // The arrival on the local clock, never the source's timestamp.
    assert.equal(got.samples[0].ts, 4242.25);
    assert.deepEqual(got.samples[0].values, [0.5, -1.25]);
    assert.deepEqual(sink.stats(), { sent: 1, dropped: 0, subscribers: 1 }, 'the liblsl inlet is a subscriber');
  } finally {
    await peer.quit();
    await sink.close();
  }
});

