/**
 * LSL surfaces, all on 127.0.0.1 (machine scope, no multicast or broadcast):
 * - lsl_udp: datagrams to our outlet's UDP service port (discovery queries, time probes, garbage);
 * - lsl_tcp: requests and feed handshakes to our outlet's TCP server;
 * - lsl_inlet: our inlet against a rogue outlet that lies in its fullinfo, its feed header, its
 *   test patterns and its samples (one connection per case);
 * - lsl_parsers: the same parsers in-process, where a TypeError/RangeError is not masked by the
 *   socket handlers' catch-alls (query compiler, stream info XML, sample decoders, lsl_api.cfg).
 * Crashes are uncaught exceptions in this process; after each storm valid traffic must fully work.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { configFromText, type LslConfig } from '../streams/lsl/config.js';
import {
  ARCHIVE_HEADER, TEST_PATTERN_TIMESTAMP, encodeArchiveString, encodeSample100, encodeSample110, numericSampleSize, testPattern, Sample100Decoder, Sample110Decoder,
} from '../streams/lsl/codec.js';
import { LslInlet } from '../streams/lsl/inlet.js';
import { LslOutlet } from '../streams/lsl/outlet.js';
import { compileQuery } from '../streams/lsl/query.js';
import { CHANNEL_FORMATS, makeStreamInfo, parseStreamInfo, streamInfoToXml, type ChannelFormat, type StreamInfo } from '../streams/stream-info.js';
import { parseXml } from '../streams/xml.js';
import { TEST_LSL_CFG } from '../harness/liblsl.js';
import { feedOkHeader, RogueOutlet } from '../harness/lsl-rogue.js';
import { caseSeed, Gen } from './gen.js';
import { catchingCrashes, classifyThrow, Tally, type SurfaceResult } from './tally.js';

export interface LslFuzzOptions { cases: number; seed: number; stormSize?: number }

const cfg = (): LslConfig => configFromText(TEST_LSL_CFG, 'fuzz (machine scope)');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) return false;
    await sleep(5);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Queries: pieces of the XPath subset, glued at random (mostly almost-valid, which is where bugs live).

const Q_ATOMS = ["name='x'", 'name', 'type', 'channel_count', "channel_format='float32'", 'nominal_srate', 'desc/channels/channel', 'desc//label', '@a', '*', '.', '..', '/',
  '//', '/info/name', "'str'", '"dq"', '1', '-1', '1.5', '.5', '1e5', 'count(desc/channels/channel)', 'contains(name,', 'starts-with(type,', 'string-length()', 'sum(', 'not(', 'true()',
  'false()', 'concat(', 'number(', 'normalize-space(', 'floor(', 'round(', 'unknown(', 'boolean('];
const Q_OPS = [' and ', ' or ', '=', '!=', '<', '<=', '>', '>=', '+', '-', '*', ' div ', ' mod ', '|', '(', ')', '[', ']', ',', ' ', '[1]', '[0]', '[last()]', "[.='x']"];

function query(g: Gen): string {
  const r = g.int(4);
  if (r === 0) return g.text(80);
  let s = '';
  for (let k = 1 + g.size(16); k > 0; k--) s += g.chance(0.5) ? g.pick(Q_ATOMS) : g.pick(Q_OPS);
  if (r === 1) s = '('.repeat(g.size(200)) + s;
  return s;
}

const FORMATS = CHANNEL_FORMATS as readonly ChannelFormat[];

// ---------------------------------------------------------------------------------------------
// lsl_udp

function datagram(g: Gen, replyPort: number, outletName: string): { kind: string; bytes: Buffer | string } {
  const r = g.int(8);
  if (r === 0) return { kind: 'random_bytes', bytes: g.bytes(g.size(2000)) };
  if (r === 1) return { kind: 'shortinfo_query', bytes: `LSL:shortinfo\r\n${query(g)}\r\n${replyPort} ${g.int(1e6)}\r\n` };
  if (r === 2) return { kind: 'shortinfo_return', bytes: `LSL:shortinfo\r\nname='${outletName}'\r\n${g.pick(['0', '-1', '65536', '99999999999', 'x', '', `${replyPort}`, `${replyPort} `, `${replyPort}\t1`, ` ${replyPort} 1`])} ${g.pick(['1', '', 'id with spaces', g.text(20)])}\r\n` };
  if (r === 3) return { kind: 'timedata', bytes: `LSL:timedata\r\n${g.pick(['1', '-1', '', 'x', '99999999999999999999999', g.text(10)])} ${g.pick(['1.5', 'NaN', 'Infinity', '-0', '1e400', '', g.text(10)])}\r\n` };
  if (r === 4) {
    const m = g.mutate(Buffer.from(`LSL:shortinfo\r\nname='${outletName}'\r\n${replyPort} 7\r\n`));
    return { kind: `mutated_${m.how}`, bytes: m.bytes };
  }
  if (r === 5) return { kind: 'line_endings', bytes: g.pick(['LSL:shortinfo', 'LSL:shortinfo\n\n\n', 'LSL:shortinfo\r\r\r', 'LSL:timedata', '\r\n\r\n', 'lsl:shortinfo\r\n\r\n1 1\r\n', `LSL:shortinfo\n\n${replyPort} 1`]) };
  if (r === 6) return { kind: 'oversized', bytes: Buffer.concat([Buffer.from(`LSL:shortinfo\r\n`), Buffer.alloc(1000 + g.int(60000), 0x28)]) };
  return { kind: 'method', bytes: `${g.pick(['LSL:fullinfo', 'LSL:streamfeed', 'LSL:', 'LSL:shortinfo ', ' LSL:shortinfo', 'LSL:timedata\u0000'])}\r\n${g.text(40)}\r\n` };
}

export async function fuzzLslUdp(opts: LslFuzzOptions): Promise<SurfaceResult> {
  const t = new Tally('lsl_udp', opts.seed);
  const storm = opts.stormSize ?? 500;
  const outlet = await LslOutlet.create({ name: `fuzz-udp-${process.pid}`, type: 'SpikeCounts', channelCount: 4, channelFormat: 'int16', nominalSrate: 50, sourceId: 'fuzz-udp', config: cfg() });
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const replyPort = sock.address().port;
  const replies: Buffer[] = [];
  sock.on('message', (m) => { if (replies.length < 1000) replies.push(m); });
  const port = outlet.info.v4servicePort;
  try {
    await catchingCrashes(t, async () => {
      for (let i = 0; i < opts.cases; i++) {
        const g = new Gen(caseSeed(opts.seed, i));
        const d = datagram(g, replyPort, outlet.info.name);
        t.case(d.kind);
        await new Promise<void>((r) => sock.send(d.bytes, port, '127.0.0.1', () => r()));
        if ((i + 1) % 50 === 0) await new Promise((r) => setImmediate(r));
        if ((i + 1) % storm === 0 || i === opts.cases - 1) {
          // The outlet answers a valid discovery query and a time probe, and what came back is counted.
          await sleep(20);
          t.outcome('replies', replies.length);
          replies.length = 0;
          const id = `${900000 + i}`;
          sock.send(`LSL:shortinfo\r\nname='${outlet.info.name}'\r\n${replyPort} ${id}\r\n`, port, '127.0.0.1');
          sock.send(`LSL:timedata\r\n${id} 1.25\r\n`, port, '127.0.0.1');
          const ok = await until(() => replies.some((m) => m.toString('latin1').startsWith(`${id}\r\n<?xml`)) && replies.some((m) => m.toString('latin1').startsWith(` ${id} 1.25 `)), 3000);
          t.validCheck(`after case ${i}`, 2, ok ? 2 : replies.filter((m) => m.toString('latin1').includes(id)).length);
          replies.length = 0;
        }
      }
      const s = outlet.stats;
      t.outcome('outlet:bad_datagrams', s.badDatagrams);
      t.outcome('outlet:shortinfo_replies', s.shortinfoReplies);
      t.outcome('outlet:timedata_replies', s.timedataReplies);
      // And it still streams to a real inlet.
      t.validCheck('inlet after the storm', ...(await streamCheck(outlet, 50)));
    });
  } finally {
    sock.close();
    await outlet.close();
  }
  return t.finish();
}

/** Connects one of our inlets to `outlet` and pushes n samples; returns [n, received]. */
async function streamCheck(outlet: LslOutlet, n: number): Promise<[number, number]> {
  let got = 0;
  const inlet = new LslInlet({ info: { ...outlet.info, v4address: '127.0.0.1' }, config: cfg(), timeCorrection: false, onSample: () => { got++; } }).start();
  try {
    if (!(await until(() => inlet.state === 'streaming' && outlet.haveConsumers(), 5000))) return [n, 0];
    const v = new Array<number>(outlet.info.channelCount).fill(1);
    for (let k = 0; k < n; k++) outlet.push(v, 1 + k);
    await until(() => got >= n, 5000);
    return [n, got];
  } finally {
    await inlet.close();
  }
}

// ---------------------------------------------------------------------------------------------
// lsl_tcp

function feedHeaders(g: Gen): string {
  const keys = ['Native-Byte-Order', 'Endian-Performance', 'Has-IEEE754-Floats', 'Supports-Subnormals', 'Value-Size', 'Data-Protocol-Version', 'Max-Buffer-Length', 'Max-Chunk-Length', 'Hostname', 'Source-Id', 'Session-Id', g.text(10)];
  const vals = ['0', '1', '-1', '4', '8', '1234', '4321', '100', '110', '999', 'NaN', '1e400', '', 'x', '2147483648', '9'.repeat(30), '100 ; comment', ';', ':'];
  let s = '';
  for (let k = g.size(14); k >= 0; k--) s += `${g.pick(keys)}${g.pick([':', ': ', ' : ', ''])}${g.chance(0.8) ? g.pick(vals) : g.text(20)}${g.pick(['\r\n', '\r\n', '\n', ''])}`;
  return s;
}

function tcpRequest(g: Gen, uid: string): { kind: string; bytes: Buffer | string } {
  const r = g.int(9);
  if (r === 0) return { kind: 'random_bytes', bytes: g.bytes(1 + g.size(3000)) };
  if (r === 1) return { kind: 'shortinfo_query', bytes: `LSL:shortinfo\r\n${query(g)}\r\n` };
  if (r === 2) return { kind: 'feed_100', bytes: `LSL:streamfeed\r\n${g.pick(['360 0', '-1 -1', '0 0', '1e9 1', 'NaN 0', '99999999999999999999 0', '1', '', g.text(12)])}\r\n` };
  if (r === 3) return { kind: 'feed_110_headers', bytes: `LSL:streamfeed/${g.pick(['110', '100', '109', '0', '-1', '111', '199', '99999999999'])} ${g.chance(0.8) ? uid : g.pick(['', 'x', g.text(40)])}\r\n${feedHeaders(g)}\r\n\r\n` };
  if (r === 4) {
    const m = g.mutate(Buffer.from(`LSL:streamfeed/110 ${uid}\r\nNative-Byte-Order: 1234\r\nValue-Size: 2\r\nData-Protocol-Version: 110\r\nMax-Buffer-Length: 100\r\n\r\n`));
    return { kind: `mutated_feed_${m.how}`, bytes: m.bytes };
  }
  if (r === 5) return { kind: 'fullinfo_variant', bytes: g.pick(['LSL:fullinfo\r\n', 'LSL:fullinfo\n', 'LSL:fullinfo', 'LSL:fullinfo \r\n', 'LSL:FULLINFO\r\n', 'LSL:fullinfo\r\nextra\r\n']) };
  if (r === 6) return { kind: 'method', bytes: `${g.pick(['GET / HTTP/1.1', 'LSL:', 'LSL:streamfeed/', 'LSL:streamfeed/110', 'LSL:timedata', '\u0000', ''])}\r\n${g.text(60)}\r\n\r\n` };
  if (r === 7) return { kind: 'split_request', bytes: `LSL:stream` };
  return { kind: 'long_line', bytes: Buffer.alloc(60 * 1024 + g.int(20000), g.pick([0x41, 0x0d, 0x20])) };
}

/** One connection: send, read until the outlet closes or `ms` passed; returns what came back. */
function exchange(port: number, bytes: Buffer | string, ms: number): Promise<{ data: Buffer; closedByPeer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (closedByPeer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(parts), closedByPeer });
    };
    s.on('data', (d) => { if (size < 65536) { parts.push(d); size += d.length; } });
    s.on('error', () => finish(true));
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('connect', () => s.write(bytes));
    const timer = setTimeout(() => finish(false), ms);
  });
}

function classifyReply(r: { data: Buffer; closedByPeer: boolean }): string {
  const text = r.data.toString('latin1', 0, Math.min(r.data.length, 200));
  if (r.data.length === 0) return r.closedByPeer ? 'closed_silently' : 'no_answer_yet';
  const status = /^LSL\/\d+ (\d{3})/.exec(text);
  if (status) return `status_${status[1]}`;
  if (text.startsWith('<?xml')) return 'xml';
  if (r.data[0] === 0x7f) return 'archive_feed';
  return 'other';
}

export async function fuzzLslTcp(opts: LslFuzzOptions): Promise<SurfaceResult> {
  const t = new Tally('lsl_tcp', opts.seed);
  const storm = opts.stormSize ?? 1000;
  const outlet = await LslOutlet.create({ name: `fuzz-tcp-${process.pid}`, type: 'SpikeCounts', channelCount: 4, channelFormat: 'int16', nominalSrate: 50, sourceId: 'fuzz-tcp', config: cfg() });
  outlet.requestTimeoutMs = 150;
  const port = outlet.info.v4dataPort;
  const CONCURRENCY = 24;
  try {
    await catchingCrashes(t, async () => {
      for (let i0 = 0; i0 < opts.cases; i0 += storm) {
        const end = Math.min(opts.cases, i0 + storm);
        let next = i0;
        const worker = async (): Promise<void> => {
          while (next < end) {
            const i = next++;
            const g = new Gen(caseSeed(opts.seed, i));
            const req = tcpRequest(g, outlet.info.uid);
            t.case(req.kind);
            t.outcome(classifyReply(await exchange(port, req.bytes, 60)));
          }
        };
        await Promise.all(Array.from({ length: CONCURRENCY }, worker));
        // Consumers that connected during the storm are gone again; a real inlet still gets every sample.
        await until(() => outlet.stats.consumers === 0, 2000);
        t.validCheck(`after case ${end - 1}`, ...(await streamCheck(outlet, 20)));
      }
      t.outcome('outlet:bad_requests', outlet.stats.badRequests);
      t.result.notes.consumers_left = outlet.stats.consumers;
    });
  } finally {
    await outlet.close();
  }
  return t.finish();
}

// ---------------------------------------------------------------------------------------------
// lsl_inlet: a rogue outlet, one behaviour per feed connection.

const N_CH = 3;
const FMT: ChannelFormat = 'float32';

interface InletCase {
  kind: string;
  /** fullinfo reply (undefined: the honest one). */
  fullinfo?: string;
  /** What the feed connection gets after the request; the connection is then closed. */
  feed: Buffer;
  /** Samples the inlet must deliver from this connection (well-framed, before any corruption). */
  expect: number;
}

function sample110(values: number[], ts: number): Buffer {
  const b = Buffer.alloc(numericSampleSize(FMT, N_CH));
  return b.subarray(0, encodeSample110(b, 0, FMT, values, ts));
}

function patterns110(): Buffer {
  return Buffer.concat([sample110(testPattern(FMT, N_CH, 4) as number[], TEST_PATTERN_TIMESTAMP), sample110(testPattern(FMT, N_CH, 2) as number[], TEST_PATTERN_TIMESTAMP)]);
}

function oddValues(g: Gen): number[] {
  return Array.from({ length: N_CH }, () => (g.chance(0.5) ? g.pick([NaN, Infinity, -Infinity, -1, -0, 0.5, 3.4e38, 1e-45, 2 ** 31]) : g.int(10)));
}

export function inletCase(g: Gen, info: StreamInfo): InletCase {
  const uid = info.uid;
  const r = g.int(10);
  const honest = streamInfoToXml(info);
  const samples = (k: number, odd: boolean): Buffer[] => Array.from({ length: k }, (_, j) => sample110(odd ? oddValues(g) : [j, j, j], g.pick([1 + j * 0.02, -1, NaN, Infinity, -1e300, 0])));
  if (r === 0) {
    const m = g.mutate(Buffer.from(honest));
    return { kind: `fullinfo_${m.how}`, fullinfo: m.bytes.toString('utf8'), feed: Buffer.concat([Buffer.from(feedOkHeader(uid)), patterns110(), ...samples(2, false)]), expect: -1 };
  }
  if (r === 1) {
    const lie = g.pick([
      honest.replace(`<channel_count>${N_CH}</channel_count>`, `<channel_count>${g.pick([0, -1, N_CH + 1, 2 ** 31, 'x'])}</channel_count>`),
      honest.replace(`<channel_format>${FMT}</channel_format>`, `<channel_format>${g.pick(['int8', 'string', 'float64', ''])}</channel_format>`),
      honest.replace(uid, randomUUID()),
      honest.replace(/<nominal_srate>[^<]*</, `<nominal_srate>${g.pick(['NaN', '-50', '1e400', 'x', '0'])}<`),
      honest.replace(/<version>[^<]*</, `<version>${g.pick(['NaN', '-1', '0', '999', 'x'])}<`),
      honest.replace(/<v4service_port>[^<]*</, `<v4service_port>${g.pick(['0', '-1', '70000', 'x'])}<`),
      g.text(200), '', '<info>', '<?xml version="1.0"?><info><desc/></info>',
    ]);
    return { kind: 'fullinfo_lies', fullinfo: lie, feed: Buffer.concat([Buffer.from(feedOkHeader(uid)), patterns110(), ...samples(2, false)]), expect: -1 };
  }
  if (r === 2) {
    const head = g.pick([
      feedOkHeader(uid, '', g.pick(['999', 'NaN', '-1', '100', '', 'x'])), feedOkHeader(uid).replace('1234', g.pick(['4321', '0', '1', 'x', ''])), feedOkHeader(randomUUID()),
      'LSL/110 404 Not found', 'LSL/110 505 Version not supported', 'LSL/110 301 Moved\r\n\r\n', 'LSL/110 500 Oops\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n', 'LSL/110 200\r\n\r\n',
      'LSL/x 200 OK\r\n\r\n', '\r\n\r\n', `LSL/110 200 OK\r\n${feedHeaders(g)}\r\n\r\n`, 'X'.repeat(17 * 1024),
    ]);
    return { kind: 'feed_header', feed: Buffer.concat([Buffer.from(head), patterns110(), ...samples(2, false)]), expect: -1 };
  }
  if (r === 3) {
    const m = g.mutate(Buffer.concat([Buffer.from(feedOkHeader(uid)), patterns110()]));
    return { kind: `handshake_${m.how}`, feed: Buffer.concat([m.bytes, ...samples(2, false)]), expect: -1 };
  }
  if (r === 4) {
    // Wrong test patterns: right framing, wrong values or timestamp.
    const tp = g.chance(0.5) ? sample110([1, 2, 3], TEST_PATTERN_TIMESTAMP) : sample110(testPattern(FMT, N_CH, 4) as number[], 1);
    return { kind: 'test_pattern', feed: Buffer.concat([Buffer.from(feedOkHeader(uid)), tp, tp, ...samples(2, false)]), expect: 0 };
  }
  if (r < 8) {
    // Well-framed samples (odd values and stamps included), then corruption or a cut.
    const k = g.range(0, 20);
    const good = samples(k, r !== 5);
    const tail = g.pick([
      Buffer.alloc(0), Buffer.from([g.pick([0, 3, 0xff, 0x80])]), sample110([1, 2, 3], 1).subarray(0, 1 + g.int(12)), g.bytes(g.size(64)),
      Buffer.from([1, ...Array.from({ length: N_CH * 4 - 1 }, () => 0)]),
    ]);
    const kind = r === 5 ? 'samples_then_cut' : r === 6 ? 'odd_values' : 'odd_values_then_garbage';
    return { kind, feed: Buffer.concat([Buffer.from(feedOkHeader(uid)), patterns110(), ...good, tail]), expect: k };
  }
  if (r === 8) {
    // Protocol 1.00: archive header, shortinfo string, var-int samples, mutated.
    const si = streamInfoToXml(info, true);
    const body = Buffer.concat([ARCHIVE_HEADER, encodeArchiveString(si), encodeSample100(FMT, testPattern(FMT, N_CH, 4), TEST_PATTERN_TIMESTAMP, true),
      encodeSample100(FMT, testPattern(FMT, N_CH, 2), TEST_PATTERN_TIMESTAMP, false), ...Array.from({ length: 3 }, (_, j) => encodeSample100(FMT, [j, j, j], 1 + j, false))]);
    const m = g.mutate(body);
    return { kind: `feed_100_${m.how}`, feed: Buffer.concat([Buffer.from(feedOkHeader(uid, '', '100')), m.bytes]), expect: -1 };
  }
  return { kind: 'random_feed', feed: g.bytes(g.size(4096)), expect: -1 };
}

/** The rogue outlet (harness/lsl-rogue.ts) with replies the fuzzer sets per case. */
export class RogueServer {
  current: InletCase | undefined;
  private outlet!: RogueOutlet;
  /** Resolves when the feed connection of the current case has been answered and closed. */
  private onFeedDone: (() => void) | undefined;

  get info(): StreamInfo {
    return this.outlet.info;
  }
  get feeds(): number {
    return this.outlet.connections;
  }
  get fullinfos(): number {
    return this.outlet.fullinfos;
  }

  async start(): Promise<this> {
    this.outlet = await new RogueOutlet({
      name: `fuzz-rogue-${process.pid}`, type: 'SpikeCounts', channelCount: N_CH, channelFormat: FMT, srate: 50, sourceId: 'fuzz-rogue', udp: false,
      fullinfo: (info) => {
        const c = this.current;
        // A lie is told once: the inlet's next attempt gets the honest info and then the case's feed.
        if (c?.fullinfo !== undefined) this.current = { ...c, fullinfo: undefined };
        return c?.fullinfo ?? streamInfoToXml(info);
      },
      feed: (sock) => {
        const c = this.current;
        sock.end(c ? c.feed : Buffer.alloc(0));
        sock.once('close', () => { const f = this.onFeedDone; this.onFeedDone = undefined; f?.(); });
      },
    }).start();
    return this;
  }

  /** Serves `c` on the next feed connection; resolves once it was served, or after ms (false). */
  serve(c: InletCase | undefined, ms: number): Promise<boolean> {
    this.current = c;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.onFeedDone = undefined; resolve(false); }, ms);
      this.onFeedDone = () => { clearTimeout(timer); resolve(true); };
    });
  }

  close(): Promise<void> {
    return this.outlet.close();
  }
}

export async function fuzzLslInlet(opts: LslFuzzOptions): Promise<SurfaceResult> {
  const t = new Tally('lsl_inlet', opts.seed);
  const storm = opts.stormSize ?? 1000;
  const rogue = await new RogueServer().start();
  let samples = 0;
  let fatal: string | undefined;
  const problems: Record<string, number> = {};
  const inlet = new LslInlet({
    info: rogue.info, config: cfg(), recover: false, reconnectDelay: 0, timeCorrection: false, headerTimeoutMs: 500,
    onSample: () => { samples++; },
    onEvent: (e) => {
      if (e.kind === 'problem') problems[e.code] = (problems[e.code] ?? 0) + 1;
      if (e.kind === 'fatal') fatal = `${e.error.code}: ${e.error.message}`;
    },
  });
  let stuck = 0;
  try {
    await catchingCrashes(t, async () => {
      const first = rogue.serve(undefined, 5000);
      inlet.start();
      await first;
      for (let i = 0; i < opts.cases; i++) {
        const g = new Gen(caseSeed(opts.seed, i));
        const c = inletCase(g, rogue.info);
        t.case(c.kind);
        const before = samples;
        const fi = rogue.fullinfos;
        const served = await rogue.serve(c, 3000);
        if (fatal) { t.internal(c.kind, i, `inlet gave up: ${fatal}`); break; }
        if (!served) {
          // A lying fullinfo ends the attempt before any feed connection: that is a refusal, not a hang.
          if (rogue.fullinfos > fi) { t.outcome('refused_at_fullinfo'); continue; }
          if (++stuck >= 3) { t.internal(c.kind, i, `inlet stopped reconnecting (state ${inlet.state}, following ${inlet.info?.v4address}:${inlet.info?.v4dataPort}, rogue at ${rogue.info.v4dataPort})`); break; }
          continue;
        }
        stuck = 0;
        // The inlet handles the bytes synchronously on arrival; give the last chunk a moment.
        if (c.expect > 0) await until(() => samples - before >= c.expect, 500);
        const got = samples - before;
        if (c.expect >= 0) {
          // A random tail can itself frame as samples, so more is possible; fewer is a loss.
          if (got < c.expect) t.validCheck(`${c.kind} case ${i}: well-framed samples delivered`, c.expect, got);
          t.outcome(got === c.expect ? 'delivered_exactly' : got > c.expect ? 'delivered_plus_tail' : 'delivered_too_few');
        } else t.outcome(got > 0 ? 'delivered_some' : 'delivered_none');
        if ((i + 1) % storm === 0 || i === opts.cases - 1) {
          // An honest feed of 50 samples arrives completely.
          const before2 = samples;
          const ok = await rogue.serve({ kind: 'valid', feed: Buffer.concat([Buffer.from(feedOkHeader(rogue.info.uid)), patterns110(), ...Array.from({ length: 50 }, (_, j) => sample110([j, 1, 2], 1 + j / 50))]), expect: 50 }, 5000);
          if (ok) await until(() => samples - before2 >= 50, 2000);
          t.validCheck(`honest feed after case ${i}`, 50, samples - before2);
        }
      }
    });
  } finally {
    await inlet.close();
    await rogue.close();
  }
  for (const [k, v] of Object.entries(problems)) t.outcome(`problem:${k}`, v);
  t.result.notes.inlet_stats = inlet.stats;
  return t.finish();
}

// ---------------------------------------------------------------------------------------------
// lsl_parsers

export async function fuzzLslParsers(opts: LslFuzzOptions): Promise<SurfaceResult> {
  const t = new Tally('lsl_parsers', opts.seed);
  const info = makeStreamInfo({ name: 'fuzz', type: 'SpikeCounts', channelCount: 4, channelFormat: 'int16', nominalSrate: 50, uid: randomUUID(), createdAt: 1, hostname: 'h' });
  const infoXml = streamInfoToXml(info);
  const infoEl = parseXml(infoXml);
  const validQuery = "name='fuzz' and type='SpikeCounts' and count(desc/channels/channel)>=0";
  const run = (kind: string, i: number, body: () => string): void => {
    t.case(kind);
    try {
      t.outcome(`${kind}:${body()}`);
    } catch (err) {
      const c = classifyThrow(err);
      if (c.refused) t.outcome(`${kind}:refused:${c.code}`);
      else t.internal(kind, i, c.detail);
    }
  };
  await catchingCrashes(t, async () => {
    for (let i = 0; i < opts.cases; i++) {
      const g = new Gen(caseSeed(opts.seed, i));
      const r = g.int(6);
      if (r === 0) {
        const q = g.chance(0.3) ? g.mutate(Buffer.from(validQuery)).bytes.toString('latin1') : query(g);
        run('query', i, () => (compileQuery(q)(infoEl) ? 'match' : 'no_match'));
      } else if (r === 1) {
        const xml = g.mutate(Buffer.from(infoXml)).bytes.toString(g.chance(0.5) ? 'utf8' : 'latin1');
        run('stream_info', i, () => { parseStreamInfo(xml); return 'parsed'; });
      } else if (r === 2 || r === 3) {
        const fmt = g.pick(FORMATS);
        const n = g.pick([0, 1, 3, 16, g.int(300)]);
        const le = g.chance(0.8);
        const dec = r === 2 ? new Sample110Decoder(fmt, n, le) : new Sample100Decoder(fmt, n);
        const buf = g.chance(0.5) ? g.bytes(g.size(4096)) : g.mutate(r === 2 ? sample110Any(fmt, n, g) : encodeSample100(fmt, testPattern(fmt, n, 4), TEST_PATTERN_TIMESTAMP, true)).bytes;
        // Decode from a random offset to a random end, as partial socket reads would.
        const off = g.int(Math.max(1, buf.length >> 2)), end = Math.min(buf.length, off + g.int(buf.length + 1));
        run(r === 2 ? 'sample_110' : 'sample_100', i, () => {
          let p = off, k = 0;
          for (; k < 64; k++) {
            const next = dec.decode(buf, p, end);
            if (next < 0) break;
            if (next <= p && !(n === 0 && next === p + 0)) return 'no_progress';
            p = next;
            if (p >= end) break;
          }
          return k > 0 ? 'decoded' : 'incomplete';
        });
      } else if (r === 4) {
        const buf = g.chance(0.5) ? g.bytes(g.size(256)) : g.mutate(encodeArchiveString(infoXml)).bytes;
        run('archive_string', i, () => (Sample100Decoder.decodeString(buf, 0, buf.length) ? 'decoded' : 'incomplete'));
      } else {
        const text = g.mutate(Buffer.from(`${TEST_LSL_CFG}[tuning]\nTimeProbeCount = 8\nUseProtocolVersion = 110\n[lab]\nSessionID = x\n`)).bytes.toString('latin1');
        run('lsl_api_cfg', i, () => { configFromText(text, 'fuzz.cfg'); return 'parsed'; });
      }
    }
    // The valid inputs still parse.
    let ok = 0;
    try { if (compileQuery(validQuery)(infoEl)) ok++; } catch { /* failure */ }
    try { if (parseStreamInfo(infoXml).uid === info.uid) ok++; } catch { /* failure */ }
    t.validCheck('valid query and stream info', 2, ok);
  });
  return t.finish();
}

function sample110Any(fmt: ChannelFormat, n: number, g: Gen): Buffer {
  const vals = testPattern(fmt, n, 4);
  const size = fmt === 'string' ? 64 + n * 32 : numericSampleSize(fmt, n);
  const b = Buffer.alloc(size);
  return b.subarray(0, encodeSample110(b, 0, fmt, vals, g.chance(0.5) ? -1 : 1.5, g.chance(0.8)));
}
