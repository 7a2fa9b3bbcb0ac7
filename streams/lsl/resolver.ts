/**
 * Stream discovery (lsl-protocol.md §3.2–3.4): UDP `LSL:shortinfo` query waves to the configured
 * address list on the multicast port, and to every port of the BasePort range on each KnownPeer.
 * Replies are keyed by uid; v4address is filled from the reply's source address.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { parseStreamInfo, type StreamInfo } from '../stream-info.js';
import { bindAddress, isIpv6, isMulticastOrBroadcast, loadLslConfig, type LslConfig } from './config.js';
import { LslError } from './errors.js';
import { bindUdp } from './net.js';
import { compileQuery, xpathLiteral } from './query.js';

export interface ResolveOptions {
  config?: LslConfig;
  /** Seconds before giving up (default 5; Infinity = until found). */
  timeout?: number;
  /** Stop once this many streams are known (default 1; 0 = wait the whole timeout). */
  minimum?: number;
  /** Keep listening at least this long (seconds) even when `minimum` is reached (default 0). */
  minimumTime?: number;
  signal?: AbortSignal;
}

export interface Destination { address: string; port: number; kind: 'multicast' | 'broadcast' | 'unicast' }

/** Query for a property, as liblsl's resolve_byprop builds it. */
export function queryByProp(prop: string, value: string, sessionId = 'default'): string {
  if (!/^[A-Za-z_][\w.-]*(\/[A-Za-z_][\w.-]*)*$/.test(prop)) throw new LslError('ELSLQUERY', `resolve: "${prop}" is not a property name`);
  return `session_id='${sessionId}' and ${prop}=${xpathLiteral(value)}`;
}

/** Query for a predicate, as liblsl's resolve_bypred builds it (we parenthesise the predicate). */
export function queryByPred(pred: string, sessionId = 'default'): string {
  compileQuery(pred); // reject what our own outlets could not evaluate, with the parse error
  return `session_id='${sessionId}' and (${pred})`;
}

/** Where one query wave goes (IPv4 only): the address list on the multicast port, then each known peer's port range. */
export function waveDestinations(cfg: LslConfig): { multicast: Destination[]; unicast: Destination[] } {
  const multicast = cfg.addresses.filter((a) => !isIpv6(a)).map((address): Destination => ({
    address, port: cfg.multicastPort,
    kind: address === '255.255.255.255' ? 'broadcast' : isMulticastOrBroadcast(address) ? 'multicast' : 'unicast',
  }));
  const unicast: Destination[] = [];
  for (const peer of cfg.knownPeers.filter((a) => !isIpv6(a))) {
    for (let p = cfg.basePort; p < cfg.basePort + cfg.portRange; p++) unicast.push({ address: peer, port: p, kind: 'unicast' });
  }
  return { multicast, unicast };
}

/** Per-process counters, so tests and the daemon can see what discovery sent and what came back malformed. */
export const resolverStats = { queriesSent: 0, repliesAccepted: 0, badReplies: 0, destinations: new Set<string>() };

/** One-shot resolve: every stream matching the query (an XPath predicate over the stream info). */
export async function resolveStreams(query: string, opts: ResolveOptions = {}): Promise<StreamInfo[]> {
  const cfg = opts.config ?? loadLslConfig();
  const timeoutMs = (opts.timeout ?? 5) * 1000;
  const minimum = opts.minimum ?? 1;
  const minTimeMs = (opts.minimumTime ?? 0) * 1000;
  const { multicast, unicast } = waveDestinations(cfg);
  const sock = await bindUdp(0, bindAddress(cfg));
  if (multicast.some((d) => d.kind === 'broadcast')) sock.setBroadcast(true);
  if (multicast.some((d) => d.kind === 'multicast')) sock.setMulticastTTL(Math.max(1, cfg.ttl));
  const queryId = String(randomInt(1, 2 ** 47));
  const returnPort = sock.address().port;
  const payload = Buffer.from(`LSL:shortinfo\r\n${query}\r\n${returnPort} ${queryId}\r\n`);
  const results = new Map<string, StreamInfo>();
  const started = Date.now();
  return new Promise<StreamInfo[]>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      for (const t of timers) { clearTimeout(t); clearInterval(t); }
      opts.signal?.removeEventListener('abort', finish);
      sock.close();
      resolve([...results.values()]);
    };
    const check = (): void => {
      if (minimum > 0 && results.size >= minimum && Date.now() - started >= minTimeMs) finish();
    };
    sock.on('error', () => undefined);
    sock.on('message', (msg, rinfo) => {
      const nl = msg.indexOf(10);
      if (nl < 0 || msg.toString('latin1', 0, nl).trim() !== queryId) { resolverStats.badReplies++; return; }
      let info: StreamInfo;
      try { info = parseStreamInfo(msg.toString('utf8', nl + 1)); } catch { resolverStats.badReplies++; return; }
      if (!info.uid) { resolverStats.badReplies++; return; }
      const prev = results.get(info.uid);
      if (prev) return;
      if (!info.v4address) info.v4address = rinfo.address;
      resolverStats.repliesAccepted++;
      results.set(info.uid, info);
      check();
    });
    const send = (dests: Destination[]): void => {
      if (finished) return;
      for (const d of dests) {
        resolverStats.queriesSent++;
        resolverStats.destinations.add(`${d.address}:${d.port}`);
        sock.send(payload, d.port, d.address, () => undefined);
      }
    };
    const wave = (): void => {
      send(multicast);
      if (unicast.length > 0) timers.push(setTimeout(() => send(unicast), 0));
    };
    // liblsl spaces waves by MulticastMinRTT, with the unicast wave after; tests resolve in well under a second.
    wave();
    const period = Math.max(50, cfg.multicastMinRtt * 1000 + (unicast.length > 0 ? cfg.unicastMinRtt * 1000 : 0));
    timers.push(setInterval(wave, period));
    timers.push(setInterval(check, 50));
    if (Number.isFinite(timeoutMs)) timers.push(setTimeout(finish, timeoutMs));
    opts.signal?.addEventListener('abort', finish);
  });
}

export async function resolveByProp(prop: string, value: string, opts: ResolveOptions = {}): Promise<StreamInfo[]> {
  const cfg = opts.config ?? loadLslConfig();
  return resolveStreams(queryByProp(prop, value, cfg.sessionId), { ...opts, config: cfg });
}

export async function resolveByPred(pred: string, opts: ResolveOptions = {}): Promise<StreamInfo[]> {
  const cfg = opts.config ?? loadLslConfig();
  return resolveStreams(queryByPred(pred, cfg.sessionId), { ...opts, config: cfg });
}
