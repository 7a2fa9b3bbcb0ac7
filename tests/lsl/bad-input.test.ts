// Bad input at every LSL edge, from real sockets: malformed datagrams, garbage on the TCP port,
// a wrong test pattern, a header that lies about the channel count, a feed that stalls mid-sample,
// a corrupt sample. Each is counted and survived; the healthy path keeps working afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { testConfigPath } from '../../harness/liblsl.js';
import { feedOkHeader, RogueOutlet } from '../../harness/lsl-rogue.js';
import { loadLslConfig } from '../../streams/lsl/config.js';
import { LslOutlet } from '../../streams/lsl/outlet.js';
import { LslInlet, type InletEvent } from '../../streams/lsl/inlet.js';
import { resolveStreams } from '../../streams/lsl/resolver.js';
import { encodeArchiveString, encodeSample100, encodeSample110, ARCHIVE_HEADER, TEST_PATTERN_TIMESTAMP, testPattern } from '../../streams/lsl/codec.js';
import { streamInfoToXml } from '../../streams/stream-info.js';

process.env.LSLAPICFG = testConfigPath();
let n = 0;
const uniq = (s: string): string => `${s}-${process.pid}-${++n}`;

async function until(pred: () => boolean, what: string, ms = 10000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function udpRequest(port: number, payload: Buffer | string, waitMs = 300): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    s.on('message', (m) => got.push(m));
    s.bind(0, '127.0.0.1', () => {
      s.send(payload, port, '127.0.0.1');
      setTimeout(() => { s.close(); resolve(got); }, waitMs);
    });
  });
}

function tcpExchange(port: number, payload: Buffer | string, waitMs = 2000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let closed = false;
    s.on('data', (d) => parts.push(d));
    s.on('error', () => undefined);
    s.on('close', () => { closed = true; clearTimeout(t); resolve({ data: Buffer.concat(parts), closed }); });
    s.on('connect', () => s.write(payload));
    const t = setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(parts), closed }); }, waitMs);
  });
}

test('outlet: malformed datagrams are counted and ignored; valid shortinfo and timedata are still answered', async () => {
  const outlet = await LslOutlet.create({ name: uniq('udp'), channelCount: 1, channelFormat: 'float32', config: loadLslConfig() });
  try {
    const port = outlet.info.v4servicePort;
    const junk = [Buffer.from([0, 1, 2, 255, 254]), 'LSL:shortinfo\r\n', 'LSL:shortinfo\r\nname=\'x\'\r\nnotaport 1\r\n', 'LSL:shortinfo\r\n\r\n99999 1\r\n',
      'LSL:timedata\r\nabc def\r\n', 'LSL:timedata\r\n', Buffer.alloc(9000, 0x41)];
    for (const j of junk) assert.deepEqual(await udpRequest(port, j, 50), []);
    assert.equal(outlet.stats.badDatagrams, junk.length);
    // An unparsable query is "no match": silence, as liblsl.
    const rp = dgram.createSocket('udp4');
    await new Promise<void>((r) => rp.bind(0, '127.0.0.1', r));
    const replies: string[] = [];
    rp.on('message', (m) => replies.push(m.toString()));
    rp.send(`LSL:shortinfo\r\ncount(((\r\n${rp.address().port} 7\r\n`, port, '127.0.0.1');
    rp.send(`LSL:shortinfo\r\nname='${outlet.info.name}'\r\n${rp.address().port} 8\r\n`, port, '127.0.0.1');
    await until(() => replies.length >= 1, 'shortinfo reply');
    await new Promise((r) => setTimeout(r, 100));
    rp.close();
    assert.equal(replies.length, 1);
    assert.ok(replies[0].startsWith('8\r\n<?xml'));
    const td = await udpRequest(port, 'LSL:timedata\r\n12345 1.5\r\n');
    assert.equal(td.length, 1);
    assert.match(td[0].toString(), /^ 12345 1\.5 \S+ \S+$/);
  } finally {
    await outlet.close();
  }
});

test('outlet: garbage, unknown methods, oversized lines and silent clients on the TCP port are refused; streaming still works', async () => {
  const outlet = await LslOutlet.create({ name: uniq('tcp'), channelCount: 2, channelFormat: 'int16', nominalSrate: 10, config: loadLslConfig() });
  outlet.requestTimeoutMs = 300;
  try {
    const port = outlet.info.v4dataPort;
    const r1 = await tcpExchange(port, 'GET / HTTP/1.1\r\n\r\n');
    assert.ok(r1.closed && r1.data.length === 0);
    const r2 = await tcpExchange(port, Buffer.alloc(70 * 1024, 0x7a));
    assert.ok(r2.closed && r2.data.length === 0);
    const r3 = await tcpExchange(port, 'LSL:streamfeed\r\nnot numbers\r\n');
    assert.ok(r3.closed && r3.data.length === 0);
    const r4 = await tcpExchange(port, 'LSL:streamfeed/110 wrong-uid\r\n\r\n');
    assert.equal(r4.data.toString(), 'LSL/110 404 Not found');
    const r5 = await tcpExchange(port, `LSL:streamfeed/210 ${outlet.info.uid}\r\n\r\n`);
    assert.equal(r5.data.toString(), 'LSL/110 505 Version not supported');
    const r6 = await tcpExchange(port, 'LSL:stream', 1500); // never finishes its line
    assert.ok(r6.closed, 'idle client dropped');
    assert.equal(outlet.stats.badRequests, 4);
    // The outlet still serves a well-behaved inlet.
    const got: number[][] = [];
    const inlet = new LslInlet({ info: { ...outlet.info, v4address: '127.0.0.1' }, config: loadLslConfig(), onSample: (_t, v) => got.push([...v]) }).start();
    try {
      await until(() => inlet.state === 'streaming' && outlet.haveConsumers(), 'streaming');
      outlet.push([3, -4], 1);
      await until(() => got.length === 1, 'sample');
      assert.deepEqual(got[0], [3, -4]);
    } finally {
      await inlet.close();
    }
  } finally {
    await outlet.close();
  }
});

test('outlet negotiation: a Value-Size that differs falls back to 1.00; Max-Buffer-Length 0 gets the header but no data', async () => {
  const outlet = await LslOutlet.create({ name: uniq('nego'), channelCount: 1, channelFormat: 'float32', nominalSrate: 10, config: loadLslConfig() });
  try {
    const port = outlet.info.v4dataPort;
    const hdr = (extra: string): string => `LSL:streamfeed/110 ${outlet.info.uid}\r\nNative-Byte-Order: 1234\r\n${extra}Max-Buffer-Length: 100 ; a comment\r\n\r\n`;
    // The TCP form of discovery: shortinfo if the query matches, else just a close.
    const hit = await tcpExchange(port, `LSL:shortinfo\r\nname='${outlet.info.name}'\r\n`);
    assert.ok(hit.closed && hit.data.toString().includes(`<uid>${outlet.info.uid}</uid>`) && hit.data.toString().includes('<desc />'));
    const miss = await tcpExchange(port, `LSL:shortinfo\r\nname='nobody'\r\n`);
    assert.ok(miss.closed && miss.data.length === 0);
    const odd = await tcpExchange(port, hdr('Value-Size: 3\r\n'), 400);
    const text = odd.data.toString('latin1');
    assert.match(text, /^LSL\/110 200 OK\r\nUID: [0-9a-f-]{36}\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: 100\r\n\r\n/);
    const body = odd.data.subarray(text.indexOf('\r\n\r\n') + 4);
    assert.equal(body.subarray(0, 3).toString('hex'), '7f0109', 'portable archive header');
    const ok = await tcpExchange(port, hdr('Value-Size: 4\r\n'), 400);
    assert.match(ok.data.toString('latin1'), /Data-Protocol-Version: 110\r\n\r\n/);
    assert.equal(ok.data.length, ok.data.toString('latin1').indexOf('\r\n\r\n') + 4 + 2 * 13, 'header then exactly two test patterns');
    // No buffer requested: liblsl never streams to such a consumer; neither do we.
    const s = net.connect(port, '127.0.0.1');
    const seen: Buffer[] = [];
    s.on('data', (d) => seen.push(d));
    await new Promise<void>((r) => s.on('connect', () => { s.write(`LSL:streamfeed/110 ${outlet.info.uid}\r\nMax-Buffer-Length: 0\r\n\r\n`); r(); }));
    await until(() => Buffer.concat(seen).length > 0, 'header');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(outlet.haveConsumers(), false);
    s.destroy();
  } finally {
    await outlet.close();
  }
});

function rogueInlet(rogue: RogueOutlet, extra: Partial<ConstructorParameters<typeof LslInlet>[0]> = {}) {
  const events: InletEvent[] = [];
  const samples: number[][] = [];
  const inlet = new LslInlet({
    info: rogue.info, config: loadLslConfig(), reconnectDelay: 0.05,
    onSample: (_t, v) => samples.push([...v]), onEvent: (e) => events.push(e), ...extra,
  }).start();
  return { inlet, events, samples };
}

function testPatterns(fmt: 'float32', ch: number, wrong = false): Buffer {
  const b = Buffer.alloc(2 * (9 + 4 * ch));
  let off = encodeSample110(b, 0, fmt, testPattern(fmt, ch, 4), TEST_PATTERN_TIMESTAMP);
  off = encodeSample110(b, off, fmt, wrong ? testPattern(fmt, ch, 3) : testPattern(fmt, ch, 2), TEST_PATTERN_TIMESTAMP);
  return b.subarray(0, off);
}

test('inlet: a wrong test pattern is rejected and counted, then the inlet reconnects and streams when the peer behaves', async () => {
  const rogue = await new RogueOutlet({
    name: uniq('tp'), channelCount: 2, channelFormat: 'float32',
    feed: (s, k) => {
      s.write(feedOkHeader(rogue.info.uid));
      s.write(testPatterns('float32', 2, k === 1));
      if (k > 1) { const b = Buffer.alloc(17); encodeSample110(b, 0, 'float32', [1, 2], 5); s.write(b); }
    },
  }).start();
  const r = rogueInlet(rogue);
  try {
    await until(() => r.samples.length === 1, 'sample after reconnect');
    assert.equal(r.inlet.stats.testPatternFailures, 1);
    assert.ok(r.events.some((e) => e.kind === 'problem' && /test pattern 2 does not match/.test(e.message)));
    assert.deepEqual(r.samples[0], [1, 2]);
  } finally {
    await r.inlet.close();
    await rogue.close();
  }
});

test('inlet: a 1.00 feed header claiming another channel count, or a fullinfo that disagrees with discovery, is a counted protocol error', async () => {
  const rogue = await new RogueOutlet({
    name: uniq('hdr'), channelCount: 2, channelFormat: 'float32',
    feed: (s) => {
      const liar = streamInfoToXml({ ...rogue.info, channelCount: 3 }, true);
      s.write(feedOkHeader(rogue.info.uid, '', '100'));
      s.write(Buffer.concat([ARCHIVE_HEADER, encodeArchiveString(liar), encodeSample100('float32', testPattern('float32', 3, 4), TEST_PATTERN_TIMESTAMP, true)]));
    },
  }).start();
  const r = rogueInlet(rogue);
  try {
    await until(() => r.events.some((e) => e.kind === 'problem' && /claims 3×float32, stream info says 2×float32/.test(e.message)), 'header mismatch');
    assert.ok(r.inlet.stats.protocolErrors >= 1);
    assert.equal(r.samples.length, 0);
  } finally {
    await r.inlet.close();
    await rogue.close();
  }
  const rogue2 = await new RogueOutlet({
    name: uniq('full'), channelCount: 2, channelFormat: 'float32',
    fullinfo: (info) => streamInfoToXml({ ...info, channelCount: 5 }),
    feed: (s) => s.destroy(),
  }).start();
  const r2 = rogueInlet(rogue2);
  try {
    await until(() => r2.inlet.stats.protocolErrors >= 2, 'fullinfo mismatch twice (retried, not crashed)');
    assert.equal(rogue2.connections, 0, 'never subscribed to a stream that lies about its shape');
  } finally {
    await r2.inlet.close();
    await rogue2.close();
  }
});

test('inlet: a feed that stalls mid-sample trips the watchdog and reconnects; a corrupt tag byte is a protocol error', async () => {
  const rogue = await new RogueOutlet({
    name: uniq('stall'), channelCount: 2, channelFormat: 'float32',
    feed: (s, k) => {
      s.write(feedOkHeader(rogue.info.uid));
      s.write(testPatterns('float32', 2));
      const b = Buffer.alloc(17);
      encodeSample110(b, 0, 'float32', [k, k], 10 + k);
      if (k === 1) s.write(b.subarray(0, 9)); // half a sample, then silence with the socket open
      else if (k === 2) s.write(Buffer.from([0x07, 1, 2, 3])); // tag 7 does not exist
      else s.write(b);
    },
  }).start();
  const r = rogueInlet(rogue, { watchdogCheckInterval: 0.1, watchdogTimeThreshold: 0.4 });
  try {
    await until(() => r.samples.length >= 1, 'a good sample on the third connection');
    assert.equal(r.inlet.stats.watchdogFires, 1);
    assert.ok(r.events.some((e) => e.kind === 'problem' && /tag byte 0x7/.test(e.message)));
    assert.deepEqual(r.samples[0], [3, 3]);
    assert.equal(rogue.connections, 3);
  } finally {
    await r.inlet.close();
    await rogue.close();
  }
});

test('inlet: a peer that never answers the feed request is dropped after the header timeout and retried', async () => {
  const rogue = await new RogueOutlet({ name: uniq('mute'), channelCount: 1, channelFormat: 'float32', feed: () => undefined }).start();
  const r = rogueInlet(rogue, { headerTimeoutMs: 300 });
  try {
    await until(() => rogue.connections >= 2, 'a retry after the header timeout');
    assert.ok(r.inlet.stats.stalls >= 1);
  } finally {
    await r.inlet.close();
    await rogue.close();
  }
});

test('resolver: replies with a wrong query id or broken XML are ignored and counted', async () => {
  const good = await LslOutlet.create({ name: uniq('good'), channelCount: 1, channelFormat: 'float32', config: loadLslConfig() });
  // A fake responder on the port range answers every query twice with junk.
  const cfg = loadLslConfig();
  const junk = dgram.createSocket('udp4');
  let bound = 0;
  for (let p = cfg.basePort; p < cfg.basePort + cfg.portRange && !bound; p++) {
    bound = await new Promise<number>((r) => { junk.once('error', () => r(0)); junk.bind(p, '127.0.0.1', () => r(p)); });
  }
  junk.on('message', (m, ri) => {
    const [, , line] = m.toString().split('\r\n');
    const [port, id] = line.split(' ');
    junk.send(`999\r\n<info><name>x</name></info>`, Number(port), ri.address);
    junk.send(`${id}\r\n<info><name>broken`, Number(port), ri.address);
  });
  try {
    const found = await resolveStreams(`name='${good.info.name}' or name='x'`, { config: cfg, timeout: 1, minimum: 0 });
    assert.deepEqual(found.map((f) => f.uid), [good.info.uid]);
  } finally {
    junk.close();
    await good.close();
  }
});

// The test timeout is a hang guard: without the forced close, server.close() waits for the client.
test('outlet: close() does not wait for a client that never finishes its request', { timeout: 20000 }, async () => {
  const outlet = await LslOutlet.create({ name: uniq('close'), channelCount: 1, channelFormat: 'float32', config: loadLslConfig() });
  outlet.requestTimeoutMs = 10 * 60 * 1000;
  const s = net.connect(outlet.info.v4dataPort, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise<void>((r) => s.on('connect', () => { s.write('LSL:strea'); r(); }));
  await outlet.close();
  assert.equal(outlet.stats.badRequests, 0);
  await new Promise<void>((r) => (s.destroyed ? r() : s.on('close', () => r())));
});
