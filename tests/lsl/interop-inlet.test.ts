// liblsl 1.12 outlet → our inlet: every channel format, fullinfo metadata, deduced timestamps,
// the 1.00 protocol, the clock, and recovery when the outlet process is killed and restarted.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { LslInlet, type InletEvent } from '../../streams/lsl/inlet.js';
import { resolveByProp, resolverStats } from '../../streams/lsl/resolver.js';
import { localClock } from '../../streams/lsl/clock.js';
import type { ChannelFormat, StreamInfo } from '../../streams/stream-info.js';
import { path } from '../../streams/xml.js';

process.env.LSLAPICFG = testConfigPath();
const cfg = () => loadLslConfig();
let seq = 0;
const uniq = (s: string): string => `${s}-${process.pid}-${++seq}`;

interface Got { ts: number; values: (number | string)[] }

/** Starts an inlet on the first stream named `name` and collects samples. */
function collect(name: string, extra: Partial<ConstructorParameters<typeof LslInlet>[0]> = {}) {
  const got: Got[] = [];
  const events: InletEvent[] = [];
  const waiters: (() => void)[] = [];
  const inlet = new LslInlet({
    query: `name='${name}'`,
    config: cfg(),
    onSample: (ts, nums, strs) => { got.push({ ts, values: strs.length ? [...strs] : [...nums] }); for (const w of waiters.splice(0)) w(); },
    onEvent: (e) => { events.push(e); for (const w of waiters.splice(0)) w(); },
    ...extra,
  }).start();
  const until = async (pred: () => boolean, ms = 10000, what = 'condition'): Promise<void> => {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map((e) => e.kind === 'problem' ? e.message : e.kind))}`);
      await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
    }
  };
  return { inlet, got, events, until };
}

before(() => { process.env.LSLAPICFG = testConfigPath(); });

const FORMATS: { fmt: ChannelFormat; values: (number | string)[] }[] = [
  { fmt: 'float32', values: [1.5, -2.25, 3e5] },
  { fmt: 'double64', values: [Math.PI, -1e-300, 123456789.125] },
  { fmt: 'int32', values: [2147483647, -2147483648, 7] },
  { fmt: 'int16', values: [32767, -32768, 0] },
  { fmt: 'int8', values: [127, -128, 5] },
  { fmt: 'int64', values: [2 ** 40 + 3, -(2 ** 33), 1] },
  { fmt: 'string', values: ['hello', '', 'x'.repeat(300)] },
];

for (const { fmt, values } of FORMATS) {
  test(`liblsl outlet → our inlet: ${fmt}`, async () => {
    const peer = new LiblslPeer();
    await peer.ready;
    const name = uniq(`fmt-${fmt}`);
    const out = await peer.request<{ id: number; info: string }>({ op: 'outlet', name, type: 'Test', source_id: name, format: fmt, channels: 3, srate: 100, labels: ['a', 'b', 'c'] });
    const c = collect(name);
    try {
      await c.until(() => c.inlet.state === 'streaming', 10000, 'streaming');
      const info = c.inlet.info as StreamInfo;
      assert.equal(info.channelFormat, fmt);
      assert.equal(info.channelCount, 3);
      assert.equal(info.nominalSrate, 100);
      await peer.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
      assert.deepEqual(path(info.desc, 'channels')?.children.map((ch) => ch.children[0].text), ['a', 'b', 'c']);
      const t = (await peer.request<{ t: number }>({ op: 'clock' })).t;
      await peer.request({ op: 'push', id: out.id, values, ts: t });
      await peer.request({ op: 'push', id: out.id, values, ts: t + 0.5 });
      await c.until(() => c.got.length >= 2, 5000, 'samples');
      assert.equal(c.got[0].ts, t);
      assert.equal(c.got[1].ts, t + 0.5);
      const want = fmt === 'float32' ? values.map((v) => Math.fround(v as number)) : values;
      assert.deepEqual(c.got[0].values, want);
      assert.equal(c.inlet.stats.testPatternFailures, 0);
    } finally {
      await c.inlet.close();
      await peer.quit();
    }
  });
}

test('liblsl push_chunk → deduced timestamps are reconstructed from the nominal rate', async () => {
  const peer = new LiblslPeer();
  await peer.ready;
  const name = uniq('chunk');
  const out = await peer.request<{ id: number }>({ op: 'outlet', name, source_id: name, format: 'float32', channels: 2, srate: 50 });
  const c = collect(name);
  try {
    await c.until(() => c.inlet.state === 'streaming');
    await peer.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    const t = 1000.25;
    // push_chunk stamps the first sample t − (n−1)/srate and sends the rest as DEDUCED.
    await peer.request({ op: 'push_chunk', id: out.id, values: [[1, 2], [3, 4], [5, 6], [7, 8]], ts: t });
    await c.until(() => c.got.length >= 4);
    const ts = c.got.map((g) => g.ts);
    assert.ok(Math.abs(ts[0] - (t - 3 / 50)) < 1e-9, `first ${ts[0]}`);
    for (let k = 1; k < 4; k++) assert.ok(Math.abs(ts[k] - ts[k - 1] - 1 / 50) < 1e-9, `step ${k}: ${ts[k] - ts[k - 1]}`);
    assert.deepEqual(c.got[3].values, [7, 8]);
  } finally {
    await c.inlet.close();
    await peer.quit();
  }
});

test('liblsl outlet speaking protocol 1.00 (UseProtocolVersion = 100) → our inlet decodes the archive feed', async () => {
  const peer = new LiblslPeer('[tuning]\nUseProtocolVersion = 100\n');
  await peer.ready;
  const name = uniq('v100');
  const out = await peer.request<{ id: number; info: string }>({ op: 'outlet', name, source_id: name, format: 'double64', channels: 4, srate: 10 });
  assert.match(out.info, /<version>1<\/version>|<version>1\.0/);
  let protocol = 0;
  const c = collect(name, { onEvent: (e) => { if (e.kind === 'connected') protocol = e.protocol; } });
  try {
    await c.until(() => c.inlet.state === 'streaming');
    await peer.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    assert.equal(protocol, 100);
    await peer.request({ op: 'push', id: out.id, values: [1.5, -2, 3, -4e10], ts: 42.5 });
    await c.until(() => c.got.length >= 1);
    assert.deepEqual(c.got[0], { ts: 42.5, values: [1.5, -2, 3, -4e10] });
  } finally {
    await c.inlet.close();
    await peer.quit();
  }
});

test('our local clock is liblsl\'s lsl_local_clock (same monotonic clock)', async () => {
  const peer = new LiblslPeer();
  await peer.ready;
  try {
    const a = localClock();
    const t = (await peer.request<{ t: number }>({ op: 'clock' })).t;
    const b = localClock();
    assert.ok(t >= a - 0.001 && t <= b + 0.001, `liblsl ${t} not within [${a}, ${b}]`);
  } finally {
    await peer.quit();
  }
});

test('our resolver finds a liblsl outlet by name, and fills v4address from the reply', async () => {
  const peer = new LiblslPeer();
  await peer.ready;
  const name = uniq('resolve');
  try {
    await peer.request({ op: 'outlet', name, type: 'EEG', source_id: 'sid', format: 'float32', channels: 1, srate: 0 });
    const found = await resolveByProp('name', name, { config: cfg(), timeout: 5 });
    assert.equal(found.length, 1);
    assert.equal(found[0].v4address, '127.0.0.1');
    assert.equal(found[0].type, 'EEG');
    assert.ok(found[0].v4dataPort > 0 && found[0].v4servicePort > 0);
    // Safety: with the test configuration, every query this process sent went to 127.0.0.1.
    assert.ok(resolverStats.destinations.size > 0);
    for (const d of resolverStats.destinations) assert.match(d, /^127\.0\.0\.1:\d+$/);
  } finally {
    await peer.quit();
  }
});

test('liblsl outlet killed and restarted with the same source_id → our inlet recovers onto the new uid', async () => {
  const name = uniq('restart');
  let peer = new LiblslPeer();
  await peer.ready;
  let out = await peer.request<{ id: number }>({ op: 'outlet', name, source_id: `src-${name}`, format: 'int16', channels: 2, srate: 100 });
  const c = collect(name);
  try {
    await c.until(() => c.inlet.state === 'streaming');
    const uid1 = c.inlet.info!.uid;
    // liblsl subscribes the consumer only after the feed header is written; samples before that are not sent.
    await peer.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    await peer.request({ op: 'push', id: out.id, values: [1, 2], ts: 10 });
    await c.until(() => c.got.length >= 1);
    await peer.kill();
    await c.until(() => c.events.some((e) => e.kind === 'disconnected'), 5000, 'disconnect');
    peer = new LiblslPeer();
    await peer.ready;
    out = await peer.request<{ id: number }>({ op: 'outlet', name, source_id: `src-${name}`, format: 'int16', channels: 2, srate: 100 });
    await c.until(() => c.events.some((e) => e.kind === 'recovered') && c.inlet.state === 'streaming', 10000, 'recovery');
    await peer.request({ op: 'wait_consumers', id: out.id, timeout: 5 });
    assert.notEqual(c.inlet.info!.uid, uid1);
    assert.equal(c.inlet.stats.recoveries, 1);
    await peer.request({ op: 'push', id: out.id, values: [3, 4], ts: 11 });
    await c.until(() => c.got.length >= 2);
    assert.deepEqual(c.got[1], { ts: 11, values: [3, 4] });
  } finally {
    await c.inlet.close();
    await peer.quit();
  }
});

test('our time correction against a liblsl outlet\'s service port: ≥ 6 probes answered, offset ≈ 0 on one machine', async () => {
  const peer = new LiblslPeer();
  await peer.ready;
  const name = uniq('tc');
  await peer.request({ op: 'outlet', name, source_id: name, format: 'float32', channels: 1, srate: 10 });
  const c = collect(name);
  try {
    await c.until(() => c.inlet.state === 'streaming');
    const est = await c.inlet.time.waitFor(5000);
    assert.ok(est, `an estimate (stats ${JSON.stringify(c.inlet.time.stats)})`);
    assert.ok(c.inlet.time.stats.replies >= 6);
    assert.ok(Math.abs(est.value) <= est.uncertainty / 2 + 1e-4, `offset ${est.value} beyond rtt/2 ${est.uncertainty / 2}`);
    assert.ok(est.uncertainty >= 0 && est.uncertainty < 0.2, `rtt ${est.uncertainty}`);
    assert.equal(c.inlet.timeCorrection(), est.value);
  } finally {
    await c.inlet.close();
    await peer.quit();
  }
});
