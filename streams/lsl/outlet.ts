/**
 * An LSL outlet: TCP data service (LSL:fullinfo, LSL:shortinfo, LSL:streamfeed/110 with header
 * negotiation, the 1.00 archive feed), a UDP service socket answering LSL:shortinfo and
 * LSL:timedata, and the discovery responder on the multicast port (lsl-protocol.md §3, §4, §5).
 * Machine scope binds only 127.0.0.1 and joins no multicast group.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { makeStreamInfo, streamInfoElement, type ChannelFormat, type StreamInfo } from '../stream-info.js';
import { element, serializeXml, type XmlElement } from '../xml.js';
import { localClock } from './clock.js';
import { bindAddress, isIpv6, isMulticastOrBroadcast, loadLslConfig, type LslConfig } from './config.js';
import {
  ARCHIVE_HEADER, DEDUCED_TIMESTAMP, TEST_PATTERN_TIMESTAMP, VALUE_SIZE, encodeArchiveString, encodeSample100, encodeSample110,
  numericSampleSize, stringSampleSize, testPattern, type SampleValues,
} from './codec.js';
import { bindUdp, firstFreePort, fmt16, listenTcp } from './net.js';
import { QueryCache } from './query.js';

export interface OutletOptions {
  name: string;
  type?: string;
  channelCount: number;
  channelFormat: ChannelFormat;
  nominalSrate?: number;
  sourceId?: string;
  desc?: XmlElement;
  config?: LslConfig;
  /** Seconds of samples kept per consumer before dropping (liblsl's max_buffered, default 360). */
  maxBuffered?: number;
}

export interface OutletStats {
  pushed: number;
  /** Pushes written to at least one consumer. */
  sent: number;
  consumers: number;
  /** Samples not delivered to a consumer because its socket buffer was full. */
  dropped: number;
  /** TCP requests that were garbage, unknown, too long or timed out; malformed datagrams. */
  badRequests: number;
  badDatagrams: number;
  shortinfoReplies: number;
  timedataReplies: number;
}

interface Consumer { sock: net.Socket; proto: 100 | 110; maxBytes: number }

const MAX_REQUEST_BYTES = 64 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const RING_SLOTS = 256;

export class LslOutlet {
  readonly info: StreamInfo;
  readonly stats: OutletStats = { pushed: 0, sent: 0, consumers: 0, dropped: 0, badRequests: 0, badDatagrams: 0, shortinfoReplies: 0, timedataReplies: 0 };
  private readonly consumers = new Set<Consumer>();
  private readonly sockets = new Set<net.Socket>();
  private readonly queries = new QueryCache(100);
  private readonly fullElement: XmlElement;
  private readonly shortXml: string;
  private readonly fullXml: string;
  private readonly ring: Buffer;
  private readonly slot: number;
  private readonly views: Buffer[];
  private ringPos = 0;
  private closed = false;
  private readonly waiters: (() => void)[] = [];
  /** A client that has not finished its request line(s) by then is dropped and counted. */
  requestTimeoutMs = REQUEST_TIMEOUT_MS;

  private constructor(
    info: StreamInfo,
    private readonly cfg: LslConfig,
    private readonly server: net.Server,
    private readonly service: dgram.Socket,
    private readonly responders: dgram.Socket[],
    private readonly maxBufferedSamples: number,
  ) {
    this.info = info;
    this.fullElement = withLegacySrate(streamInfoElement(info), info.nominalSrate);
    this.shortXml = serializeXml(withLegacySrate(streamInfoElement(info, true), info.nominalSrate));
    this.fullXml = serializeXml(this.fullElement);
    this.slot = info.channelFormat === 'string' ? 0 : numericSampleSize(info.channelFormat, info.channelCount);
    this.ring = Buffer.alloc(this.slot * RING_SLOTS);
    this.views = Array.from({ length: this.slot > 0 ? RING_SLOTS : 0 }, (_, k) => this.ring.subarray(k * this.slot, (k + 1) * this.slot));
    server.on('connection', (s) => this.onConnection(s));
    for (const u of [service, ...responders]) u.on('message', (m, r) => this.onDatagram(u, m, r, u === service));
  }

  static async create(opts: OutletOptions): Promise<LslOutlet> {
    const cfg = opts.config ?? loadLslConfig();
    const host = bindAddress(cfg);
    const server = net.createServer({ noDelay: true });
    await firstFreePort(cfg, (p) => listenTcp(server, p, host), 'TCP data');
    let service: dgram.Socket | undefined;
    const responders: dgram.Socket[] = [];
    try {
      service = await firstFreePort(cfg, (p) => bindUdp(p, host), 'UDP service');
      // Without the discovery port the stream is still found through KnownPeers scans of the
      // service port, so a taken 16571 is not fatal (liblsl likewise tolerates failed joins).
      responders.push(...(await openResponders(cfg, host).catch(() => [])));
    } catch (e) {
      server.close();
      service?.close();
      throw e;
    }
    const srate = opts.nominalSrate ?? 0;
    const info = makeStreamInfo({
      name: opts.name,
      type: opts.type ?? '',
      channelCount: opts.channelCount,
      channelFormat: opts.channelFormat,
      sourceId: opts.sourceId ?? '',
      nominalSrate: srate,
      version: cfg.useProtocolVersion,
      createdAt: localClock(),
      uid: randomUUID(),
      sessionId: cfg.sessionId,
      hostname: os.hostname(),
      v4dataPort: (server.address() as net.AddressInfo).port,
      v4servicePort: service.address().port,
      desc: opts.desc ?? element('desc'),
    });
    const seconds = opts.maxBuffered ?? 360;
    const samples = Math.max(1, Math.round(srate > 0 ? srate * seconds : seconds * 100));
    return new LslOutlet(info, cfg, server, service, responders, samples);
  }

  /** Pushes one sample; timestamp 0 (default) means now, DEDUCED_TIMESTAMP sends none. No await, no allocation for numeric formats. */
  push(values: SampleValues, timestamp = 0): void {
    if (this.closed) return;
    if (values.length !== this.info.channelCount) throw new RangeError(`outlet "${this.info.name}": sample has ${values.length} values, stream has ${this.info.channelCount} channels`);
    const ts = timestamp === 0 ? localClock() : timestamp;
    this.stats.pushed++;
    if (this.consumers.size === 0) return;
    let frame: Buffer | undefined;
    let wrote = false;
    for (const c of this.consumers) {
      if (c.sock.writableLength > c.maxBytes) { this.stats.dropped++; continue; }
      wrote = true;
      if (c.proto === 100) { c.sock.write(encodeSample100(this.info.channelFormat, values, ts, false)); continue; }
      if (!frame) frame = this.encode(values, ts);
      c.sock.write(frame);
    }
    if (wrote) this.stats.sent++;
  }

  /** True when at least one inlet is subscribed. */
  haveConsumers(): boolean {
    return this.consumers.size > 0;
  }

  /** Resolves once a consumer is subscribed or after `timeoutMs` (false). */
  waitForConsumers(timeoutMs: number): Promise<boolean> {
    if (this.consumers.size > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { resolve(this.consumers.size > 0); }, timeoutMs);
      this.waiters.push(() => { clearTimeout(t); resolve(true); });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) c.sock.end();
    this.consumers.clear();
    this.stats.consumers = 0;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    // A peer that never closes its side (or a half-sent request) must not keep the outlet open.
    const t = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, 200);
    await closed;
    clearTimeout(t);
    for (const u of [this.service, ...this.responders]) u.close();
  }

  private encode(values: SampleValues, ts: number): Buffer {
    if (this.info.channelFormat === 'string') {
      const b = Buffer.allocUnsafe(stringSampleSize(values as readonly string[]));
      return b.subarray(0, encodeSample110(b, 0, 'string', values, ts));
    }
    // Ring slots are reused after RING_SLOTS pushes; a consumer is never more than maxBytes behind
    // (checked above), and maxBytes ≤ (RING_SLOTS/2) slots, so a slot is not rewritten while queued.
    const k = this.ringPos;
    this.ringPos = (k + 1) % RING_SLOTS;
    const off = k * this.slot;
    const end = encodeSample110(this.ring, off, this.info.channelFormat, values, ts);
    // A full-length view per slot is made once; only deduced-timestamp samples (8 bytes shorter) slice.
    return end - off === this.slot ? this.views[k] : this.ring.subarray(off, end);
  }

  // ---------------- UDP ----------------

  private onDatagram(sock: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo, isService: boolean): void {
    const t1 = localClock();
    const text = msg.toString('latin1');
    const lines = text.split('\n').map((l) => l.trim());
    if (lines[0] === 'LSL:shortinfo') {
      const m = /^(\d+)\s+(\S+)$/.exec(lines[2] ?? '');
      const port = m ? Number(m[1]) : 0;
      if (!m || port < 1 || port > 65535) { this.stats.badDatagrams++; return; }
      if (!this.queries.matches(lines[1] ?? '', this.fullElement)) return;
      this.stats.shortinfoReplies++;
      sock.send(`${m[2]}\r\n${this.shortXml}`, port, rinfo.address);
      return;
    }
    if (lines[0] === 'LSL:timedata' && isService) {
      const m = /^(-?\d+)\s+(\S+)$/.exec(lines[1] ?? '');
      if (!m || !Number.isFinite(Number(m[2]))) { this.stats.badDatagrams++; return; }
      this.stats.timedataReplies++;
      sock.send(` ${m[1]} ${m[2]} ${fmt16(t1)} ${fmt16(localClock())}`, rinfo.port, rinfo.address);
      return;
    }
    this.stats.badDatagrams++;
  }

  // ---------------- TCP ----------------

  private onConnection(sock: net.Socket): void {
    sock.setNoDelay(true);
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const fail = (): void => {
      if (done) return;
      done = true;
      this.stats.badRequests++;
      sock.destroy();
    };
    sock.setTimeout(this.requestTimeoutMs, fail);
    sock.on('error', () => sock.destroy());
    const onData = (d: Buffer): void => {
      if (done) return;
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      if (buf.length > MAX_REQUEST_BYTES) return fail();
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      const method = buf.toString('latin1', 0, nl).trim();
      if (method === 'LSL:fullinfo') {
        done = true;
        sock.off('data', onData);
        sock.setTimeout(0);
        sock.end(this.fullXml);
        return;
      }
      if (method === 'LSL:shortinfo') {
        const nl2 = buf.indexOf(10, nl + 1);
        if (nl2 < 0) return;
        done = true;
        sock.off('data', onData);
        sock.setTimeout(0);
        const q = buf.toString('utf8', nl + 1, nl2).trim();
        if (this.queries.matches(q, this.fullElement)) sock.end(this.shortXml);
        else sock.end();
        return;
      }
      if (method === 'LSL:streamfeed') {
        const nl2 = buf.indexOf(10, nl + 1);
        if (nl2 < 0) return;
        const m = /^(-?\d+)\s+(-?\d+)$/.exec(buf.toString('latin1', nl + 1, nl2).trim());
        if (!m) return fail();
        done = true;
        sock.off('data', onData);
        sock.setTimeout(0);
        this.startFeed100(sock, Number(m[1]));
        return;
      }
      const feed = /^LSL:streamfeed\/(\d+)(?:\s+(\S+))?$/.exec(method);
      if (feed) {
        const end = buf.indexOf('\r\n\r\n', nl - 1);
        if (end < 0) return;
        done = true;
        sock.off('data', onData);
        sock.setTimeout(0);
        this.startFeed110(sock, Number(feed[1]), feed[2] ?? '', buf.toString('latin1', nl + 1, end));
        return;
      }
      fail();
    };
    sock.on('data', onData);
  }

  private startFeed110(sock: net.Socket, reqVersion: number, uid: string, headerText: string): void {
    const me = this.cfg.useProtocolVersion;
    if (Math.floor(reqVersion / 100) > Math.floor(me / 100)) { sock.end(`LSL/${me} 505 Version not supported`); return; }
    if (uid && uid !== this.info.uid) { sock.end(`LSL/${me} 404 Not found`); return; }
    const h = new Map<string, string>();
    for (const raw of headerText.split('\n')) {
      let line = raw;
      const semi = line.indexOf(';');
      if (semi >= 0) line = line.slice(0, semi);
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      h.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim().toLowerCase());
    }
    const fmt = this.info.channelFormat;
    const valueSize = h.has('value-size') ? Number(h.get('value-size')) : VALUE_SIZE[fmt];
    const ieee = h.get('has-ieee754-floats') !== '0' && h.get('has-ieee754-floats') !== 'false';
    const maxBuf = h.has('max-buffer-length') ? Number(h.get('max-buffer-length')) : 0;
    let dataVersion: number = Math.min(me, reqVersion);
    if ((fmt !== 'string' && valueSize !== VALUE_SIZE[fmt]) || !ieee) dataVersion = 100;
    if (dataVersion >= 110) dataVersion = 110; else dataVersion = 100;
    const head = `LSL/${me} 200 OK\r\nUID: ${this.info.uid}\r\nByte-Order: 1234\r\nSuppress-Subnormals: 0\r\nData-Protocol-Version: ${dataVersion}\r\n\r\n`;
    sock.write(head);
    if (dataVersion === 100) {
      this.sendArchivePrologue(sock);
      this.subscribe(sock, 100, maxBuf);
      return;
    }
    const n = this.info.channelCount;
    const size = fmt === 'string' ? stringSampleSize(testPattern(fmt, n, 4) as string[]) : numericSampleSize(fmt, n);
    const tp = Buffer.alloc(size * 2);
    let off = encodeSample110(tp, 0, fmt, testPattern(fmt, n, 4), TEST_PATTERN_TIMESTAMP);
    off = encodeSample110(tp, off, fmt, testPattern(fmt, n, 2), TEST_PATTERN_TIMESTAMP);
    sock.write(tp.subarray(0, off));
    this.subscribe(sock, 110, maxBuf);
  }

  private startFeed100(sock: net.Socket, maxBuf: number): void {
    this.sendArchivePrologue(sock);
    this.subscribe(sock, 100, maxBuf);
  }

  private sendArchivePrologue(sock: net.Socket): void {
    const fmt = this.info.channelFormat, n = this.info.channelCount;
    sock.write(Buffer.concat([
      ARCHIVE_HEADER,
      encodeArchiveString(this.shortXml),
      encodeSample100(fmt, testPattern(fmt, n, 4), TEST_PATTERN_TIMESTAMP, true),
      encodeSample100(fmt, testPattern(fmt, n, 2), TEST_PATTERN_TIMESTAMP, false),
    ]));
  }

  private subscribe(sock: net.Socket, proto: 100 | 110, maxBufSamples: number): void {
    // liblsl never streams to a consumer that asked for no buffer.
    if (!(maxBufSamples > 0)) return;
    const sampleBytes = this.slot > 0 ? this.slot : 256;
    const samples = Math.min(maxBufSamples, this.maxBufferedSamples, RING_SLOTS / 2);
    const c: Consumer = { sock, proto, maxBytes: Math.max(1, samples) * sampleBytes };
    this.consumers.add(c);
    this.stats.consumers = this.consumers.size;
    const drop = (): void => {
      if (this.consumers.delete(c)) this.stats.consumers = this.consumers.size;
      sock.destroy();
    };
    sock.on('close', drop);
    sock.on('error', drop);
    // Inlets never send after the header; anything more is ignored rather than buffered.
    sock.on('data', () => undefined);
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * nominal_srate as liblsl 1.12 wrote it (boost lexical_cast: `50`, `0`, `0.10000000000000001`)
 * instead of 1.14+'s `50.00000000000000`. Every version parses either, but a 1.12 inlet recovers a
 * restarted stream with the clause nominal_srate='50', an XPath *string* comparison that only this
 * form satisfies; 1.13+ recovery queries have no srate clause.
 */
function withLegacySrate(info: XmlElement, srate: number): XmlElement {
  const el = info.children.find((c) => c.name === 'nominal_srate');
  if (el) el.text = Number.isInteger(srate) ? String(srate) : srate.toPrecision(17).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return info;
}

async function openResponders(cfg: LslConfig, host: string): Promise<dgram.Socket[]> {
  const v4 = cfg.addresses.filter((a) => !isIpv6(a));
  if (v4.length === 0) return [];
  const multicast = v4.filter((a) => isMulticastOrBroadcast(a) && a !== '255.255.255.255');
  // One socket on the multicast port receives unicast, broadcast and (after joining) multicast queries.
  const s = await bindUdp(cfg.multicastPort, multicast.length > 0 || v4.includes('255.255.255.255') ? '0.0.0.0' : host, true);
  if (cfg.resolveScope !== 'machine') {
    try { s.setMulticastTTL(Math.max(1, cfg.ttl)); } catch { /* not fatal: replies are unicast */ }
    for (const group of multicast) {
      for (const ifs of Object.values(os.networkInterfaces())) {
        for (const a of ifs ?? []) {
          if (a.family !== 'IPv4') continue;
          try { s.addMembership(group, a.address); } catch { /* liblsl too only needs one join to succeed */ }
        }
      }
    }
  }
  return [s];
}

export { DEDUCED_TIMESTAMP };
