// Pure parts of the LSL implementation against the byte vectors and rules of lsl-protocol.md:
// lsl_api.cfg lookup and defaults, the XPath subset, sample encodings and test patterns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromText, findConfigFile, loadLslConfig, isMulticastOrBroadcast, bindAddress } from '../../streams/lsl/config.js';
import { compileQuery, QueryCache } from '../../streams/lsl/query.js';
import { waveDestinations, queryByProp, queryByPred } from '../../streams/lsl/resolver.js';
import {
  encodeSample110, Sample110Decoder, encodeSample100, Sample100Decoder, testPattern, writeVarInt, DEDUCED_TIMESTAMP, TEST_PATTERN_TIMESTAMP,
} from '../../streams/lsl/codec.js';
import { describeChannels, makeStreamInfo, streamInfoElement } from '../../streams/stream-info.js';
import { TEST_LSL_CFG } from '../../harness/liblsl.js';

test('config: liblsl defaults (site scope) when no file exists', () => {
  const c = configFromText('', 'defaults');
  assert.equal(c.multicastPort, 16571);
  assert.equal(c.basePort, 16572);
  assert.equal(c.portRange, 32);
  assert.equal(c.resolveScope, 'site');
  assert.equal(c.ttl, 24);
  assert.equal(c.ipv6, 'allow');
  assert.deepEqual(c.knownPeers, []);
  assert.equal(c.sessionId, 'default');
  assert.deepEqual(c.addresses.filter((a) => !a.includes(':')), ['127.0.0.1', '255.255.255.255', '224.0.0.1', '224.0.0.183', '239.255.172.215']);
  assert.equal(c.addresses.filter((a) => a.includes(':')).length, 2);
  assert.equal(c.timeProbeCount, 8);
  assert.equal(c.watchdogTimeThreshold, 15);
  assert.equal(bindAddress(c), '0.0.0.0');
});

test('config: the test configuration keeps every destination on 127.0.0.1 and binds loopback only', () => {
  const c = configFromText(TEST_LSL_CFG, 'test');
  assert.equal(c.resolveScope, 'machine');
  assert.equal(c.ttl, 0);
  assert.equal(c.ipv6, 'disable');
  assert.deepEqual(c.addresses, ['127.0.0.1']);
  assert.deepEqual(c.knownPeers, ['127.0.0.1']);
  assert.equal(bindAddress(c), '127.0.0.1');
  const { multicast, unicast } = waveDestinations(c);
  const all = [...multicast, ...unicast];
  assert.ok(all.length > 1);
  for (const d of all) {
    assert.equal(d.address, '127.0.0.1');
    assert.equal(d.kind, 'unicast');
    assert.equal(isMulticastOrBroadcast(d.address), false);
  }
  assert.deepEqual(unicast.map((d) => d.port), Array.from({ length: 32 }, (_, i) => 16572 + i));
  // Even the brief's minimal file (no address lists) stays on 127.0.0.1.
  const minimal = configFromText('[multicast]\nResolveScope = machine\n[ports]\nIPv6 = disable\n', 'minimal');
  assert.deepEqual(minimal.addresses, ['127.0.0.1']);
});

test('config: address lists, overrides, TTLOverride, IPv6 modes, and errors that name the key', () => {
  const c = configFromText('[multicast]\nResolveScope = link\nLinkAddresses = {255.255.255.255, FF02:1::1}\nTTLOverride = 3\n[ports]\nIPv6 = force\n', 'x');
  assert.deepEqual(c.addresses, ['FF02:1::1']);
  assert.equal(c.ttl, 3);
  assert.throws(() => bindAddress(c), /IPv6 = force \(IPv6 only\) is not supported/);
  const o = configFromText('[multicast]\nAddressesOverride = {10.0.0.5}\n', 'x');
  assert.deepEqual(o.addresses, ['10.0.0.5']);
  assert.throws(() => configFromText('[multicast]\nResolveScope = planet\n', 'f.cfg'), /f.cfg: multicast.ResolveScope = "planet"/);
  assert.throws(() => configFromText('[ports]\nBasePort = lots\n', 'f.cfg'), /ports.BasePort = "lots"/);
  assert.throws(() => configFromText('[ports\n', 'f.cfg'), /f.cfg:1: unterminated section/);
  assert.equal(configFromText('[tuning]\nUseProtocolVersion = 100\n', 'x').useProtocolVersion, 100);
});

test('config: found as liblsl finds it: $LSLAPICFG, ./lsl_api.cfg, ~/lsl_api/lsl_api.cfg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lslcfg-'));
  try {
    const home = join(dir, 'home');
    const cwd = join(dir, 'cwd');
    mkdirSync(join(home, 'lsl_api'), { recursive: true });
    mkdirSync(cwd);
    writeFileSync(join(home, 'lsl_api', 'lsl_api.cfg'), '[lab]\nSessionID = fromhome\n');
    assert.equal(findConfigFile({ HOME: home }, cwd), join(home, 'lsl_api', 'lsl_api.cfg'));
    writeFileSync(join(cwd, 'lsl_api.cfg'), '[lab]\nSessionID = fromcwd\n');
    assert.equal(findConfigFile({ HOME: home }, cwd), join(cwd, 'lsl_api.cfg'));
    const env = join(dir, 'env.cfg');
    writeFileSync(env, '[lab]\nSessionID = fromenv\n');
    assert.equal(findConfigFile({ HOME: home, LSLAPICFG: env }, cwd), env);
    assert.equal(loadLslConfig({ HOME: home, LSLAPICFG: env }).sessionId, 'fromenv');
    // A missing $LSLAPICFG falls through, as in liblsl.
    assert.equal(findConfigFile({ HOME: home, LSLAPICFG: join(dir, 'nope') }, cwd), join(cwd, 'lsl_api.cfg'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const info = streamInfoElement(makeStreamInfo({
  name: 'M1-binned', type: 'SpikeCounts', channelCount: 96, channelFormat: 'int16', sourceId: 'rig1', nominalSrate: 50,
  desc: describeChannels(['a', 'b', 'c', 'd'], { type: 'EEG', binMs: 20 }),
}));

test('query: the queries liblsl sends, and the XPath subset', () => {
  const m = (q: string): boolean => compileQuery(q)(info);
  assert.equal(m(''), true);
  assert.equal(m("session_id='default'"), true);
  assert.equal(m("session_id='default' and name='M1-binned'"), true);
  assert.equal(m("session_id='default' and name='M1'"), false);
  assert.equal(m("channel_count='96' and name='M1-binned' and type='SpikeCounts' and source_id='rig1' and channel_format='int16'"), true);
  // liblsl 1.12's recovery clause compares the srate as a string: never equal to 50.00000000000000.
  assert.equal(m("nominal_srate='50'"), false);
  assert.equal(m('nominal_srate=50'), true);
  assert.equal(m('channel_count > 5'), true);
  assert.equal(m('channel_count >= 97 or not(type != "SpikeCounts")'), true);
  assert.equal(m("count(desc/channels/channel[type='EEG'])>3"), true);
  assert.equal(m("count(desc/channels/channel[type='EEG'])>4"), false);
  assert.equal(m("desc/binning/bin_ms = 20 and desc/channels/channel[2]/label = 'b'"), true);
  assert.equal(m("contains(name, 'binned') and starts-with(source_id, 'ri')"), true);
  assert.equal(m("(name='x' or name='M1-binned') and channel_count div 2 = 48"), true);
  assert.equal(m("/info/name='M1-binned' and //label='d'"), true);
  assert.equal(m("desc/channels/channel/label='zz'"), false);
  assert.equal(m("string-length(name) = 9 and channel_count - 1 = 95"), true);
  assert.throws(() => compileQuery("name='x"), /unexpected character|query/);
  assert.throws(() => compileQuery('frobnicate(name)'), /unsupported function frobnicate/);
  const cache = new QueryCache(2);
  assert.equal(cache.matches('name=', info), false, 'a broken query is no match, not an exception');
  assert.equal(queryByProp('name', "it's"), `session_id='default' and name="it's"`);
  assert.equal(queryByPred('channel_count>5'), "session_id='default' and (channel_count>5)");
});

test('codec 1.10: the spec\'s float32 test-pattern bytes, round trip of every format, deduced tag, big-endian', () => {
  const b = Buffer.alloc(64);
  let end = encodeSample110(b, 0, 'float32', testPattern('float32', 2, 4), TEST_PATTERN_TIMESTAMP);
  assert.equal(b.subarray(0, end).toString('hex'), '02' + 'c976be9f0c24fe40' + '00008040' + '0000a0c0');
  end = encodeSample110(b, 0, 'float32', testPattern('float32', 2, 2), TEST_PATTERN_TIMESTAMP);
  assert.equal(b.subarray(0, end).toString('hex'), '02c976be9f0c24fe40' + '00000040' + '000040c0');
  end = encodeSample110(b, 0, 'string', testPattern('string', 1, 4), TEST_PATTERN_TIMESTAMP);
  assert.equal(b.subarray(0, end).toString('hex'), '02c976be9f0c24fe40' + '01023130');
  assert.deepEqual(testPattern('int16', 3, 4), [261, -262, 263]);
  assert.deepEqual(testPattern('int8', 2, 2), [3, -4]);
  assert.deepEqual(testPattern('int64', 2, 4), [2147483653, -2147483654]);
  assert.deepEqual(testPattern('string', 3, 2), ['10', '-11', '12']);
  const cases: [Parameters<typeof encodeSample110>[2], (number | string)[]][] = [
    ['float32', [1.5, -2]], ['double64', [Math.PI, -0]], ['int32', [-7, 2147483647]], ['int16', [-32768, 5]],
    ['int8', [-128, 127]], ['int64', [2 ** 52, -3]], ['string', ['é', 'x'.repeat(300)]],
  ];
  for (const le of [true, false]) {
    for (const [fmt, vals] of cases) {
      const buf = Buffer.alloc(1024);
      let off = encodeSample110(buf, 0, fmt, vals as number[], 12.5, le);
      off = encodeSample110(buf, off, fmt, vals as number[], DEDUCED_TIMESTAMP, le);
      const d = new Sample110Decoder(fmt, 2, le);
      const p1 = d.decode(buf, 0, off);
      assert.equal(d.timestamp, 12.5);
      assert.deepEqual(fmt === 'string' ? d.strings : [...d.numbers], vals, `${fmt} le=${le}`);
      // Every strict prefix of a sample is "incomplete", never an error or a wrong value.
      for (let cut = p1 + 1; cut < off; cut++) assert.equal(d.decode(buf, p1, cut), -1, `${fmt} prefix ${cut - p1}`);
      assert.equal(d.decode(buf, p1, off), off);
      assert.equal(d.timestamp, DEDUCED_TIMESTAMP);
    }
  }
  assert.throws(() => new Sample110Decoder('float32', 1, true).decode(Buffer.from([9, 0, 0, 0, 0]), 0, 5), /tag byte 0x9/);
  assert.throws(() => new Sample110Decoder('string', 1, true).decode(Buffer.from([1, 3, 0, 0, 0]), 0, 5), /length size 3/);
});

test('codec 1.00: var-ints and samples match the portable-archive vectors of the spec', () => {
  const v = (x: bigint): string => { const o: number[] = []; writeVarInt(o, x); return Buffer.from(o).toString('hex'); };
  assert.equal(v(9n), '0109');
  assert.equal(v(0x00abcdefn), '03efcdab');
  assert.equal(v(-1n), 'ffff');
  assert.equal(v(0xffn), '01ff');
  assert.equal(v(0n), '00');
  assert.equal(encodeSample100('float32', [4.0], DEDUCED_TIMESTAMP, false).toString('hex'), '0101' + '0400008040');
  // The test vector: a 4-channel double sample, pattern 2, first object in the archive.
  const tp = encodeSample100('double64', testPattern('double64', 4, 2), TEST_PATTERN_TIMESTAMP, true);
  assert.ok(tp.toString('hex').startsWith('0000' + '0102' + '08c976be9f0c24fe40' + '080000003000007041'), tp.toString('hex'));
  for (const [fmt, vals] of [['int16', [-300, 5]], ['int8', [-1, 0]], ['int64', [-(2 ** 40), 1]], ['string', ['', 'ab']], ['float32', [-5, 0.25]]] as const) {
    const bytes = Buffer.concat([encodeSample100(fmt, vals as unknown as number[], 3.5, true), encodeSample100(fmt, vals as unknown as number[], DEDUCED_TIMESTAMP, false)]);
    const d = new Sample100Decoder(fmt, 2);
    const p = d.decode(bytes, 0, bytes.length);
    assert.equal(d.timestamp, 3.5);
    assert.deepEqual(fmt === 'string' ? d.strings : [...d.numbers], vals);
    assert.equal(d.decode(bytes, p, bytes.length), bytes.length);
    assert.equal(d.timestamp, DEDUCED_TIMESTAMP);
  }
});
