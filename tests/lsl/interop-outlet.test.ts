// Our outlet → liblsl 1.12 inlet: resolve by name and by predicate, fullinfo metadata, samples of
// every format, time_correction, and the 1.00 feed for an inlet that only speaks 1.00.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiblslPeer, testConfigPath } from '../../harness/liblsl.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { LslOutlet } from '../../streams/lsl/outlet.js';
import { localClock } from '../../streams/lsl/clock.js';
import { describeChannels, parseStreamInfo, type ChannelFormat } from '../../streams/stream-info.js';
import { childText, element, path } from '../../streams/xml.js';

process.env.LSLAPICFG = testConfigPath();
let seq = 0;
const uniq = (s: string): string => `${s}-${process.pid}-${++seq}`;

type Pulled = { samples: { ts: number; values: (number | string)[]; at: number }[] };

test('liblsl resolves our outlet by name, reads fullinfo metadata, receives samples and estimates time_correction', async () => {
  const name = uniq('ours');
  const desc = describeChannels(['vel_x', 'vel_y'], { unit: 'mm/s', binMs: 20 });
  desc.children.push(element('manufacturer', [], 'langevind'));
  const outlet = await LslOutlet.create({ name, type: 'Velocity', channelCount: 2, channelFormat: 'float32', nominalSrate: 50, sourceId: name, desc, config: loadLslConfig() });
  const peer = new LiblslPeer();
  try {
    await peer.ready;
    const r = await peer.request<{ id: number; shortinfo: string; info: string }>({ op: 'inlet', prop: 'name', value: name, timeout: 5 });
    const short = parseStreamInfo(r.shortinfo);
    assert.equal(short.uid, outlet.info.uid);
    const full = parseStreamInfo(r.info);
    assert.equal(full.type, 'Velocity');
    assert.equal(full.nominalSrate, 50);
    assert.equal(childText(path(full.desc, 'channels', 'channel'), 'unit'), 'mm/s');
    assert.equal(path(full.desc, 'binning', 'bin_ms')?.text, '20');
    assert.equal(childText(full.desc, 'manufacturer'), 'langevind');
    assert.ok(await outlet.waitForConsumers(5000), 'liblsl inlet subscribed');
    const t0 = localClock();
    for (let k = 0; k < 5; k++) outlet.push([k, -k * 0.5], t0 + k * 0.02);
    const got = await peer.request<Pulled>({ op: 'pull', id: r.id, n: 5, timeout: 5 });
    assert.equal(got.samples.length, 5);
    got.samples.forEach((s, k) => {
      assert.equal(s.ts, t0 + k * 0.02);
      assert.deepEqual(s.values, [k, -k * 0.5]);
    });
    const tc = await peer.request<{ tc: number }>({ op: 'time_correction', id: r.id, timeout: 5 });
    // Same machine, same monotonic clock: the offset liblsl measures against our service socket is ~0.
    assert.ok(Math.abs(tc.tc) < 0.02, `time_correction ${tc.tc}`);
    assert.ok(outlet.stats.timedataReplies >= 6, `timedata replies ${outlet.stats.timedataReplies}`);
  } finally {
    await peer.quit();
    await outlet.close();
  }
});

test('liblsl resolves our outlet by predicate (desc paths, count(), numeric compare)', async () => {
  const name = uniq('pred');
  const desc = describeChannels(['a', 'b', 'c', 'd'], { type: 'EEG' });
  const outlet = await LslOutlet.create({ name, type: 'EEG', channelCount: 4, channelFormat: 'double64', nominalSrate: 100, sourceId: name, desc, config: loadLslConfig() });
  const other = await LslOutlet.create({ name: uniq('other'), type: 'EEG', channelCount: 1, channelFormat: 'double64', nominalSrate: 100, config: loadLslConfig() });
  const peer = new LiblslPeer();
  try {
    await peer.ready;
    const pred = `name='${name}' and count(desc/channels/channel[type='EEG'])>3 and channel_count > 3`;
    const r = await peer.request<{ infos: string[] }>({ op: 'resolve', pred, timeout: 3, minimum: 1 });
    assert.equal(r.infos.length, 1);
    assert.equal(parseStreamInfo(r.infos[0]).uid, outlet.info.uid);
    const none = await peer.request<{ infos: string[] }>({ op: 'resolve', pred: `name='${name}' and channel_count > 4`, timeout: 1, minimum: 1 });
    assert.equal(none.infos.length, 0);
  } finally {
    await peer.quit();
    await outlet.close();
    await other.close();
  }
});

const FORMATS: { fmt: ChannelFormat; values: (number | string)[] }[] = [
  { fmt: 'int32', values: [2147483647, -2147483648] },
  { fmt: 'int16', values: [32767, -32768] },
  { fmt: 'int8', values: [127, -128] },
  { fmt: 'int64', values: [2 ** 40 + 3, -(2 ** 33)] },
  { fmt: 'double64', values: [Math.PI, -1e-300] },
  { fmt: 'string', values: ['hello wörld', 'y'.repeat(400)] },
];
for (const { fmt, values } of FORMATS) {
  test(`our outlet → liblsl inlet: ${fmt}`, async () => {
    const name = uniq(`out-${fmt}`);
    const outlet = await LslOutlet.create({ name, channelCount: 2, channelFormat: fmt, nominalSrate: 10, sourceId: name, config: loadLslConfig() });
    const peer = new LiblslPeer();
    try {
      await peer.ready;
      const r = await peer.request<{ id: number }>({ op: 'inlet', prop: 'source_id', value: name, timeout: 5 });
      assert.ok(await outlet.waitForConsumers(5000));
      outlet.push(values as number[] | string[], 77.25);
      const got = await peer.request<Pulled>({ op: 'pull', id: r.id, n: 1, timeout: 5 });
      assert.equal(got.samples.length, 1);
      assert.equal(got.samples[0].ts, 77.25);
      assert.deepEqual(got.samples[0].values, values);
    } finally {
      await peer.quit();
      await outlet.close();
    }
  });
}

test('a liblsl inlet limited to protocol 1.00 gets the archive feed from our outlet', async () => {
  const name = uniq('old');
  const outlet = await LslOutlet.create({ name, channelCount: 3, channelFormat: 'float32', nominalSrate: 10, sourceId: name, config: loadLslConfig() });
  const peer = new LiblslPeer('[tuning]\nUseProtocolVersion = 100\n');
  try {
    await peer.ready;
    const r = await peer.request<{ id: number }>({ op: 'inlet', prop: 'name', value: name, timeout: 5 });
    assert.ok(await outlet.waitForConsumers(5000));
    outlet.push([1.5, -2, 1e6], 12.5);
    outlet.push([0, 0, -0.25], -1); // DEDUCED: liblsl adds 1/srate to the previous stamp
    const got = await peer.request<Pulled>({ op: 'pull', id: r.id, n: 2, timeout: 5 });
    assert.equal(got.samples.length, 2);
    assert.deepEqual(got.samples[0].values, [1.5, -2, 1e6]);
    assert.equal(got.samples[0].ts, 12.5);
    assert.ok(Math.abs(got.samples[1].ts - 12.6) < 1e-9, `deduced ${got.samples[1].ts}`);
    assert.deepEqual(got.samples[1].values, [0, 0, -0.25]);
  } finally {
    await peer.quit();
    await outlet.close();
  }
});

test('a liblsl 1.00 inlet decodes our negative integers (archive var-ints: -1 is FF FF)', async () => {
  const name = uniq('old-int');
  const outlet = await LslOutlet.create({ name, channelCount: 4, channelFormat: 'int16', nominalSrate: 10, sourceId: name, config: loadLslConfig() });
  const peer = new LiblslPeer('[tuning]\nUseProtocolVersion = 100\n');
  try {
    await peer.ready;
    const r = await peer.request<{ id: number }>({ op: 'inlet', prop: 'name', value: name, timeout: 5 });
    assert.ok(await outlet.waitForConsumers(5000));
    outlet.push([-1, -300, 0, 32767], 5);
    const got = await peer.request<Pulled>({ op: 'pull', id: r.id, n: 1, timeout: 5 });
    assert.deepEqual(got.samples[0].values, [-1, -300, 0, 32767]);
  } finally {
    await peer.quit();
    await outlet.close();
  }
});

test('our outlet restarted with the same source_id → a liblsl 1.12 inlet recovers onto it', async () => {
  const name = uniq('again');
  const mk = () => LslOutlet.create({ name, type: 'Velocity', channelCount: 2, channelFormat: 'float32', nominalSrate: 50, sourceId: `sid-${name}`, config: loadLslConfig() });
  let outlet = await mk();
  const peer = new LiblslPeer();
  try {
    await peer.ready;
    const r = await peer.request<{ id: number }>({ op: 'inlet', prop: 'name', value: name, timeout: 5 });
    assert.ok(await outlet.waitForConsumers(5000));
    outlet.push([1, 1], 1);
    assert.equal((await peer.request<Pulled>({ op: 'pull', id: r.id, n: 1, timeout: 5 })).samples.length, 1);
    await outlet.close();
    outlet = await mk();
    // liblsl 1.12's recovery query carries nominal_srate='50' (compared as a string).
    assert.ok(await outlet.waitForConsumers(15000), 'liblsl reconnected to the new outlet');
    outlet.push([2, 2], 2);
    const got = await peer.request<Pulled>({ op: 'pull', id: r.id, n: 1, timeout: 5 });
    assert.deepEqual(got.samples.map((s) => s.values), [[2, 2]]);
  } finally {
    await peer.quit();
    await outlet.close();
  }
});
