/**
 * An LSL inlet (lsl-protocol.md §5): resolve, LSL:fullinfo, LSL:streamfeed/110 (or the 1.00 archive
 * feed), test-pattern check, deduced timestamps, clock-offset estimation, recovery by re-resolving
 * the stream (same uid: reconnect; one new uid with the same source_id: the outlet restarted, adopt
 * it), and a watchdog for a link that stays open but goes silent. Samples are handed to a callback
 * synchronously from the socket's data event, in reused buffers: no await, no allocation per
 * numeric sample.
 */
import net from 'node:net';
import { parseStreamInfo, type StreamInfo } from '../stream-info.js';
import { monotonicNs } from '../types.js';
import { loadLslConfig, type LslConfig } from './config.js';
import {
  ARCHIVE_HEADER, DEDUCED_TIMESTAMP, Sample100Decoder, Sample110Decoder, VALUE_SIZE, matchesTestPattern,
} from './codec.js';
import { LslError } from './errors.js';
import { xpathLiteral } from './query.js';
import { resolveStreams } from './resolver.js';
import { TimeCorrection } from './timesync.js';

export type InletState = 'idle' | 'resolving' | 'connecting' | 'streaming' | 'recovering' | 'lost' | 'closed';

export type InletEvent =
  | { kind: 'connected'; info: StreamInfo; protocol: 100 | 110 }
  | { kind: 'recovered'; info: StreamInfo; previousUid: string }
  | { kind: 'disconnected'; reason: string }
  | { kind: 'problem'; code: string; message: string }
  | { kind: 'fatal'; error: LslError };

export interface InletOptions {
  /** A resolved stream, or a query to resolve (one of the two). */
  info?: StreamInfo;
  query?: string;
  config?: LslConfig;
  /** Samples the outlet may queue for us (Max-Buffer-Length); default nominal rate × 360 s, as liblsl. */
  maxBufferLength?: number;
  /** Recover lost streams (liblsl: only when source_id is set). */
  recover?: boolean;
  /** Also recover streams without a source_id, by name/type/format/channel count (liblsl does not). */
  recoverWithoutSourceId?: boolean;
  /** Seconds; default from the config (15 / 15). */
  watchdogCheckInterval?: number;
  watchdogTimeThreshold?: number;
  /** Seconds between a failure and the reconnect (liblsl: 0.5). */
  reconnectDelay?: number;
  /** Refuse a stream that does not have this shape (fatal, not retried). */
  check?: (info: StreamInfo) => string | undefined;
  /** Milliseconds to wait for fullinfo and for the feed header and test patterns (default 5000). */
  headerTimeoutMs?: number;
  /** Estimate the clock offset to the outlet (default true). */
  timeCorrection?: boolean;
  onSample: (timestamp: number, numbers: Float64Array, strings: readonly string[], receivedNs: number) => void;
  onEvent?: (e: InletEvent) => void;
}

export interface InletStats {
  samples: number;
  connects: number;
  reconnects: number;
  /** Recoveries onto a new outlet instance (new uid). */
  recoveries: number;
  protocolErrors: number;
  testPatternFailures: number;
  watchdogFires: number;
  stalls: number;
  lastUid: string;
}

const HEADER_LIMIT = 16 * 1024;
const CONNECT_TIMEOUT_MS = 5000;

type Phase = 'status' | 'archive' | 'shortinfo' | 'tp4' | 'tp2' | 'data';

export class LslInlet {
  info: StreamInfo | undefined;
  state: InletState = 'idle';
  readonly stats: InletStats = { samples: 0, connects: 0, reconnects: 0, recoveries: 0, protocolErrors: 0, testPatternFailures: 0, watchdogFires: 0, stalls: 0, lastUid: '' };
  readonly time: TimeCorrection;
  private readonly cfg: LslConfig;
  private sock: net.Socket | undefined;
  private closed = false;
  private lastReceive = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private abort = new AbortController();
  private acc = Buffer.alloc(64 * 1024);
  private accStart = 0;
  private accEnd = 0;

  constructor(private readonly opts: InletOptions) {
    if (!opts.info && opts.query === undefined) throw new LslError('ELSLURI', 'inlet: give a stream info or a query');
    this.cfg = opts.config ?? loadLslConfig();
    this.time = new TimeCorrection(this.cfg);
    this.info = opts.info;
  }

  /** Starts resolving and streaming in the background; events and samples arrive through the callbacks. */
  start(): this {
    void this.run();
    const every = (this.opts.watchdogCheckInterval ?? this.cfg.watchdogCheckInterval) * 1000;
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.max(50, every));
    return this;
  }

  /** local − remote clock offset in seconds (0 until the first estimate). */
  timeCorrection(): number {
    return this.time.estimate?.value ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'closed';
    this.abort.abort();
    if (this.watchdog) clearInterval(this.watchdog);
    this.time.close();
    this.sock?.destroy();
  }

  private emit(e: InletEvent): void {
    try { this.opts.onEvent?.(e); } catch { /* a listener's bug must not stop the inlet */ }
  }

  private problem(code: string, message: string): void {
    this.emit({ kind: 'problem', code, message });
  }

  private async run(): Promise<void> {
    try {
      if (!this.info) {
        this.state = 'resolving';
        const found = await this.resolveUntil(this.opts.query ?? '');
        if (!found) return;
        this.info = found;
      }
      let first = true;
      while (!this.closed) {
        if (!first) {
          this.stats.reconnects++;
          await this.sleep((this.opts.reconnectDelay ?? 0.5) * 1000);
          if (this.closed) return;
          if (!(await this.recover())) return;
        }
        first = false;
        const reason = await this.connectOnce();
        if (this.closed) return;
        if (reason instanceof LslError && reason.code === 'ELSLMISMATCH') {
          this.state = 'lost';
          this.emit({ kind: 'fatal', error: reason });
          await this.close();
          return;
        }
        this.emit({ kind: 'disconnected', reason: reason instanceof Error ? reason.message : reason });
      }
    } catch (e) {
      if (this.closed) return;
      const err = e instanceof LslError ? e : new LslError('ELSLPROTO', (e as Error).message);
      this.state = 'lost';
      this.emit({ kind: 'fatal', error: err });
      await this.close();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const signal = this.abort.signal;
      const onAbort = (): void => { clearTimeout(t); r(); };
      // Removed when the timer fires: one listener per reconnect would pile up on a flapping link.
      const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); r(); }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves until one stream matches (the newest if several), or the inlet closes. */
  private async resolveUntil(query: string): Promise<StreamInfo | undefined> {
    while (!this.closed) {
      const found = await resolveStreams(query, { config: this.cfg, timeout: 5, minimum: 1, minimumTime: 0.1, signal: this.abort.signal });
      if (found.length > 0) return found.sort((a, b) => b.createdAt - a.createdAt)[0];
    }
    return undefined;
  }

  /** liblsl's try_recover: re-resolve; same uid → reconnect; exactly one new uid → adopt it. */
  private async recover(): Promise<boolean> {
    const info = this.info!;
    const recover = this.opts.recover ?? true;
    if (!recover || (!info.sourceId && !this.opts.recoverWithoutSourceId)) {
      // Without recovery liblsl reports the stream lost; we still retry the same endpoint (it may be a link drop).
      return true;
    }
    this.state = 'recovering';
    const parts = [`channel_count='${info.channelCount}'`];
    if (info.name) parts.push(`name=${xpathLiteral(info.name)}`);
    if (info.type) parts.push(`type=${xpathLiteral(info.type)}`);
    if (info.sourceId) parts.push(`source_id=${xpathLiteral(info.sourceId)}`);
    parts.push(`channel_format='${info.channelFormat}'`);
    const query = parts.join(' and ');
    while (!this.closed) {
      const found = await resolveStreams(query, { config: this.cfg, timeout: 5, minimum: 1, minimumTime: 0.25, signal: this.abort.signal });
      if (this.closed) return false;
      if (found.some((f) => f.uid === info.uid)) return true;
      if (found.length === 1) {
        const prev = info.uid;
        this.info = found[0];
        this.stats.recoveries++;
        this.time.reset();
        this.emit({ kind: 'recovered', info: found[0], previousUid: prev });
        return true;
      }
      if (found.length > 1) this.problem('ELSLAMBIGUOUS', `recovery of "${info.name}": ${found.length} streams match ${query}; waiting for one`);
    }
    return false;
  }

  /** One connection: fullinfo, feed, stream until it ends. Returns why it ended. */
  private async connectOnce(): Promise<Error | string> {
    const info = this.info!;
    this.state = 'connecting';
    let full: StreamInfo;
    try {
      full = await fetchFullInfo(info, this.opts.headerTimeoutMs ?? CONNECT_TIMEOUT_MS);
    } catch (e) {
      return e as Error;
    }
    if (full.uid !== info.uid) return new LslError('ELSLPROTO', `fullinfo uid ${full.uid} differs from the resolved ${info.uid}`);
    if (full.channelCount !== info.channelCount || full.channelFormat !== info.channelFormat) {
      this.stats.protocolErrors++;
      return new LslError('ELSLPROTO', `fullinfo of "${info.name}" claims ${full.channelCount}×${full.channelFormat}, discovery said ${info.channelCount}×${info.channelFormat}`);
    }
    // Keep the endpoint we reached the outlet at: a fullinfo naming other ports (corrupt, or lying)
    // must not redirect this and every later connection (liblsl keeps the resolved endpoint too).
    full.v4address = info.v4address;
    full.v4dataPort = info.v4dataPort;
    full.v4servicePort = info.v4servicePort;
    this.info = full;
    const refusal = this.opts.check?.(full);
    if (refusal) return new LslError('ELSLMISMATCH', refusal);
    if (this.opts.timeCorrection !== false && full.v4servicePort > 0) this.time.start(full.v4address, full.v4servicePort);
    return this.feed(full);
  }

  private feed(info: StreamInfo): Promise<Error | string> {
    const proto: 100 | 110 = Math.min(this.cfg.useProtocolVersion, info.version) >= 110 ? 110 : 100;
    const n = info.channelCount, fmt = info.channelFormat;
    const maxBuf = Math.max(1, Math.round(this.opts.maxBufferLength ?? (info.nominalSrate > 0 ? info.nominalSrate * 360 : 36000)));
    const req = proto === 110
      ? `LSL:streamfeed/110 ${info.uid}\r\nNative-Byte-Order: 1234\r\nEndian-Performance: 0\r\nHas-IEEE754-Floats: 1\r\n` +
        `Supports-Subnormals: ${fmt === 'float32' || fmt === 'double64' ? 1 : 0}\r\n` +
        (fmt === 'string' ? '' : `Value-Size: ${VALUE_SIZE[fmt]}\r\n`) +
        `Data-Protocol-Version: 110\r\nMax-Buffer-Length: ${maxBuf}\r\nMax-Chunk-Length: 0\r\n` +
        `Hostname: ${info.hostname}\r\nSource-Id: ${info.sourceId}\r\nSession-Id: ${info.sessionId}\r\n\r\n`
      : `LSL:streamfeed\r\n${maxBuf} 0\r\n`;
    const srate = info.nominalSrate;
    return new Promise((resolve) => {
      const sock = net.connect({ host: info.v4address || '127.0.0.1', port: info.v4dataPort, noDelay: true });
      this.sock = sock;
      this.accStart = this.accEnd = 0;
      let phase: Phase = proto === 110 ? 'status' : 'archive';
      let dec: Sample110Decoder | Sample100Decoder = new Sample100Decoder(fmt, n);
      let lastTs = 0;
      let ended = false;
      const end = (why: Error | string): void => {
        if (ended) return;
        ended = true;
        sock.destroy();
        if (this.sock === sock) this.sock = undefined;
        if (this.state === 'streaming') this.state = 'connecting';
        resolve(why);
      };
      const protoErr = (msg: string): void => {
        this.stats.protocolErrors++;
        this.problem('ELSLPROTO', msg);
        end(new LslError('ELSLPROTO', msg));
      };
      const headerTimeout = this.opts.headerTimeoutMs ?? CONNECT_TIMEOUT_MS;
      sock.setTimeout(headerTimeout, () => {
        if (phase !== 'data') { this.stats.stalls++; protoErr(`"${info.name}": no feed header within ${headerTimeout} ms`); }
      });
      sock.on('connect', () => sock.write(req));
      sock.on('error', (e) => end(e));
      sock.on('close', () => end(phase === 'data' ? 'connection closed' : 'connection closed during the feed header'));
      sock.on('data', (chunk: Buffer) => {
        const receivedNs = monotonicNs();
        this.lastReceive = receivedNs;
        this.append(chunk);
        try {
          for (;;) {
            const buf = this.acc, start = this.accStart, stop = this.accEnd;
            if (phase === 'status') {
              const hend = buf.indexOf('\r\n\r\n', start);
              if (hend < 0 || hend >= stop) {
                if (stop - start > HEADER_LIMIT) return protoErr(`"${info.name}": feed header longer than ${HEADER_LIMIT} bytes`);
                // Error replies (404, 505) carry no CRLF and end with the socket closing.
                const text = buf.toString('latin1', start, stop);
                if (/^LSL\/\d+ [1-9]\d\d /.test(text) && !/^LSL\/\d+ 200 /.test(text)) {
                  const code = Number(text.split(' ')[1]);
                  if (code === 404) { this.problem('ELSLLOST', `"${info.name}": outlet answered 404 (uid changed)`); return end('404'); }
                  if (code >= 400 && text.length > 12) return protoErr(`"${info.name}": outlet refused the feed: ${text.trim()}`);
                }
                return;
              }
              const lines = buf.toString('latin1', start, hend).split('\n').map((l) => l.trim());
              this.accStart = hend + 4;
              const status = lines[0].split(' ');
              if (status.length < 3 || !status[0].startsWith('LSL/')) return protoErr(`"${info.name}": bad feed status line "${lines[0].slice(0, 80)}"`);
              const code = Number(status[1]);
              if (code === 404 || (code >= 300 && code < 400)) { this.problem('ELSLLOST', `"${info.name}": outlet answered ${code}`); return end(String(code)); }
              if (code !== 200) return protoErr(`"${info.name}": outlet answered "${lines[0]}"`);
              const h = new Map<string, string>();
              for (const l of lines.slice(1)) { const c = l.indexOf(':'); if (c > 0) h.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()); }
              if (h.has('uid') && h.get('uid') !== info.uid) { this.problem('ELSLLOST', `"${info.name}": feed uid ${h.get('uid')} is not ${info.uid}`); return end('uid changed'); }
              const order = h.get('byte-order') ?? '1234';
              if (order !== '1234' && order !== '4321' && order !== '0') return protoErr(`"${info.name}": unsupported Byte-Order ${order}`);
              const dpv = Number(h.get('data-protocol-version') ?? '100');
              if (!(dpv <= 110)) return protoErr(`"${info.name}": Data-Protocol-Version ${dpv} is newer than 110`);
              if (dpv >= 110) { dec = new Sample110Decoder(fmt, n, order !== '4321'); phase = 'tp4'; } else phase = 'archive';
              continue;
            }
            if (phase === 'archive') {
              if (stop - start < 3) return;
              if (buf.compare(ARCHIVE_HEADER, 0, 3, start, start + 3) !== 0) return protoErr(`"${info.name}": bad 1.00 archive header`);
              this.accStart += 3;
              phase = 'shortinfo';
              continue;
            }
            if (phase === 'shortinfo') {
              const r = Sample100Decoder.decodeString(buf, start, stop);
              if (!r) return;
              this.accStart = r[1];
              let si: StreamInfo;
              try { si = parseStreamInfo(r[0]); } catch (e) { return protoErr(`"${info.name}": bad shortinfo in the 1.00 feed: ${(e as Error).message}`); }
              if (si.uid !== info.uid) { this.problem('ELSLLOST', `"${info.name}": 1.00 feed uid ${si.uid} is not ${info.uid}`); return end('uid changed'); }
              if (si.channelCount !== n || si.channelFormat !== fmt) return protoErr(`"${info.name}": feed header claims ${si.channelCount}×${si.channelFormat}, stream info says ${n}×${fmt}`);
              dec = new Sample100Decoder(fmt, n);
              phase = 'tp4';
              continue;
            }
            const next = dec.decode(buf, start, stop);
            if (next < 0) {
              if (phase === 'data' && stop - start > 1024 * 1024 * 64) return protoErr(`"${info.name}": sample larger than 64 MiB`);
              return;
            }
            this.accStart = next;
            if (phase === 'tp4' || phase === 'tp2') {
              const off = phase === 'tp4' ? 4 : 2;
              if (!matchesTestPattern(fmt, n, off, dec.timestamp, dec.numbers, dec.strings)) {
                this.stats.testPatternFailures++;
                return protoErr(`"${info.name}": test pattern ${off} does not match (protocol formats likely incompatible)`);
              }
              if (phase === 'tp2') {
                phase = 'data';
                this.state = 'streaming';
                this.stats.connects++;
                this.stats.lastUid = info.uid;
                sock.setTimeout(0);
                this.emit({ kind: 'connected', info, protocol: dec instanceof Sample110Decoder ? 110 : 100 });
              } else phase = 'tp2';
              continue;
            }
            let ts = dec.timestamp;
            if (ts === DEDUCED_TIMESTAMP) ts = srate > 0 ? lastTs + 1 / srate : lastTs;
            lastTs = ts;
            this.stats.samples++;
            this.opts.onSample(ts, dec.numbers, dec.strings, receivedNs);
          }
        } catch (e) {
          protoErr(`"${info.name}": ${(e as Error).message}`);
        }
      });
    });
  }

  private append(chunk: Buffer): void {
    const len = chunk.length;
    if (this.accEnd + len > this.acc.length) {
      const live = this.accEnd - this.accStart;
      if (live + len > this.acc.length) {
        const bigger = Buffer.alloc(Math.max(this.acc.length * 2, live + len));
        this.acc.copy(bigger, 0, this.accStart, this.accEnd);
        this.acc = bigger;
      } else this.acc.copy(this.acc, 0, this.accStart, this.accEnd);
      this.accStart = 0;
      this.accEnd = live;
    }
    chunk.copy(this.acc, this.accEnd);
    this.accEnd += len;
    if (this.accStart === this.accEnd) this.accStart = this.accEnd = 0;
  }

  private checkWatchdog(): void {
    if (this.state !== 'streaming' || !this.sock) return;
    const threshold = (this.opts.watchdogTimeThreshold ?? this.cfg.watchdogTimeThreshold) * 1e9;
    if (monotonicNs() - this.lastReceive > threshold) {
      this.stats.watchdogFires++;
      this.problem('ELSLSTALL', `"${this.info?.name}": no data for ${(threshold / 1e9).toFixed(1)} s; reconnecting`);
      this.sock.destroy();
    }
  }
}

/** `LSL:fullinfo` over TCP: the outlet's complete stream info (with desc). */
export function fetchFullInfo(info: StreamInfo, timeoutMs = CONNECT_TIMEOUT_MS): Promise<StreamInfo> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: info.v4address || '127.0.0.1', port: info.v4dataPort });
    const parts: Buffer[] = [];
    let size = 0;
    const fail = (msg: string): void => { sock.destroy(); reject(new LslError('ELSLPROTO', `fullinfo of "${info.name}": ${msg}`)); };
    sock.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    sock.on('connect', () => sock.write('LSL:fullinfo\r\n'));
    sock.on('error', (e) => fail(e.message));
    sock.on('data', (d: Buffer) => {
      size += d.length;
      if (size > 16 * 1024 * 1024) return fail('larger than 16 MiB');
      parts.push(d);
    });
    sock.on('end', () => {
      sock.destroy();
      try {
        const full = parseStreamInfo(Buffer.concat(parts).toString('utf8'));
        resolve(full);
      } catch (e) {
        reject(new LslError('ELSLPROTO', `fullinfo of "${info.name}": ${(e as Error).message}`));
      }
    });
  });
}
