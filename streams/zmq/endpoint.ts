/**
 * ZeroMQ as langevind's input and output, two frames per message (topic, protobuf payload of
 * proto/langevind.proto):
 *   fromZmq(opts): a SUB source; every message becomes one Incoming (a SpikeBin, or why not)
 *   toZmq(opts):   an XPUB sink encoding Decoded messages
 * and the URIs that name them (parsed here, so the daemon only maps schemes):
 *   zmq+tcp://127.0.0.1:5555            ZeroMQ over TCP (input: SUB connects; output: PUB binds)
 *   zmq+ipc:///tmp/langevind.sock       ZeroMQ over a Unix socket
 *     ?bind | ?connect                  override the default direction
 *     ?topic=spikes                     topic frame (default: spikes in, velocity out)
 *     ?hwm=1000                         ZeroMQ high-water mark (messages)
 *     ?queue=1024                       output only: bounded send queue in front of the socket
 */
import { Observable } from 'rxjs';
import { MONOTONIC_TO_LSL_S } from '../lsl/clock.js';
import { DecodedWriter, SpikeBinReader } from '../proto.js';
import { emptySpikeBin, type Decoded, type DecodedSink, type Incoming, type Source } from '../types.js';
import { EndpointError, endpointParams, intParam } from '../uri.js';
import { ZmqPublisher } from './publisher.js';
import { openZmqSource, ZmqError } from './subscriber.js';

export const SPIKES_TOPIC = 'spikes';
export const VELOCITY_TOPIC = 'velocity';

export interface ZmqInputOptions {
  /** ZeroMQ address: tcp://host:port or ipc:///path. */
  address: string;
  /** Bind instead of connect (default false: the rig binds and publishes). */
  bind?: boolean;
  /** Exact topic of SpikeBin messages (default "spikes"); any other topic is undecodable. */
  topic?: string;
  /** ZMQ_RCVHWM in messages (default 1000). */
  hwm?: number;
  /** ZMQ_MAXMSGSIZE in bytes (default 1 MiB). */
  maxMessageSize?: number;
  /** An input connection was re-established (reason, detail); off the bin path. */
  onReconnect?: (reason: string, detail: string) => void;
  /** An established input connection ended (false) / is up again (true); off the bin path. */
  onConnection?: (up: boolean, detail: string) => void;
  /** Spin on the socket between messages instead of sleeping (`?busypoll`, streams/zmq/busy-poll.ts). */
  busyPoll?: boolean;
}

export interface ZmqOutputOptions {
  address: string;
  /** Bind (default true: task computers connect). */
  bind?: boolean;
  /** Topic frame (default "velocity"). */
  topic?: string;
  /** ZMQ_SNDHWM in messages (default 1000). */
  hwm?: number;
  /** Messages held while a send is pending (default 1024: an LSL inlet catching up on a backlog hands over hundreds of bins in one read); beyond that they are dropped and counted. */
  queue?: number;
  /** A consumer (un)subscribed; off the bin path. */
  onSubscription?: (subscribed: boolean, topic: string) => void;
}

const ADDRESS = /^(tcp|ipc|inproc):\/\/./;

function checkCommon(o: { address: string; topic?: string; hwm?: number }, what: string): void {
  if (typeof o.address !== 'string' || !ADDRESS.test(o.address))
    throw new ZmqError('EZMQADDR', `ZeroMQ ${what}: address must start with tcp://, ipc:// or inproc://, got "${o.address}"`);
  if (o.topic !== undefined && (typeof o.topic !== 'string' || o.topic === '')) throw new ZmqError('EZMQOPTS', `ZeroMQ ${what}: topic must be a non-empty string`);
  if (o.hwm !== undefined && !(Number.isInteger(o.hwm) && o.hwm >= 0)) throw new ZmqError('EZMQOPTS', `ZeroMQ ${what}: hwm must be an integer ≥ 0, got ${o.hwm}`);
}

/** zmq+tcp://host:port or zmq+ipc:///path → the ZeroMQ address, direction and query options. */
export function zmqAddress(u: URL, defaultBind: boolean): { address: string; bind: boolean; params: Map<string, string> } {
  const params = endpointParams(u, ['bind', 'connect', 'topic', 'hwm', 'queue', 'busypoll']);
  if (params.has('bind') && params.has('connect')) throw new EndpointError(u.href, 'give ?bind or ?connect, not both');
  const bind = params.has('bind') ? true : params.has('connect') ? false : defaultBind;
  let address: string;
  if (u.protocol === 'zmq+tcp:') {
    if (!u.hostname || !u.port) throw new EndpointError(u.href, 'zmq+tcp needs a host and a port, e.g. zmq+tcp://127.0.0.1:5555');
    if (u.pathname && u.pathname !== '/') throw new EndpointError(u.href, `zmq+tcp takes no path (got "${u.pathname}")`);
    address = `tcp://${u.hostname}:${u.port}`;
  } else if (u.protocol === 'zmq+ipc:') {
    const path = decodeURIComponent(u.pathname);
    if (u.host || !path || path === '/') throw new EndpointError(u.href, 'zmq+ipc needs an absolute path, e.g. zmq+ipc:///tmp/langevind.sock');
    address = `ipc://${path}`;
  } else throw new EndpointError(u.href, `not a ZeroMQ URI`);
  return { address, bind, params };
}

export function zmqInputFromUri(u: URL): ZmqInputOptions {
  const { address, bind, params } = zmqAddress(u, false);
  if (params.has('queue')) throw new EndpointError(u.href, 'queue= applies to outputs only');
  const busyPoll = params.has('busypoll');
  if (busyPoll && params.get('busypoll') !== '') throw new EndpointError(u.href, `busypoll takes no value (got "${params.get('busypoll')}")`);
  return { address, bind, topic: params.get('topic') || SPIKES_TOPIC, hwm: intParam(u, params, 'hwm', 1000), ...(busyPoll ? { busyPoll } : {}) };
}

export function zmqOutputFromUri(u: URL): ZmqOutputOptions {
  const { address, bind, params } = zmqAddress(u, true);
  if (params.has('busypoll')) throw new EndpointError(u.href, 'busypoll is an input option (outputs never wait for messages)');
  return { address, bind, topic: params.get('topic') || VELOCITY_TOPIC, hwm: intParam(u, params, 'hwm', 1000), queue: intParam(u, params, 'queue', 1024, 1) };
}

/**
 * A SUB source. Resolves once bound or connected. Every message taken off the socket is one
 * Incoming: decoded, or undecodable with the reason (wrong frame count, another topic than the
 * exact one: SUB filters by prefix, a malformed SpikeBin) and the frames as received.
 */
export async function fromZmq(opts: ZmqInputOptions): Promise<Source> {
  checkCommon(opts, 'input');
  const topic = opts.topic ?? SPIKES_TOPIC;
  const raw$ = await openZmqSource({
    endpoint: opts.address,
    bind: opts.bind ?? false,
    topic,
    receiveHighWaterMark: opts.hwm ?? 1000,
    maxMessageSize: opts.maxMessageSize,
    onReconnect: opts.onReconnect,
    onConnection: opts.onConnection,
    busyPoll: opts.busyPoll,
  });
  const topicBytes = Buffer.from(topic);
  return new Observable<Incoming>((subscriber) => {
    const reader = new SpikeBinReader();
    const bin = emptySpikeBin();
    const m: Incoming = { bin, undecodable: null, raw: null };
    return raw$.subscribe({
      next(r) {
        // The one arrival stamp, on both clocks (see streams/types.ts).
        bin.receivedNs = r.receivedNs;
        bin.receivedLslTime = r.receivedNs * 1e-9 + MONOTONIC_TO_LSL_S;
        let why: string | null;
        if (r.frames !== 2) why = `message has ${r.frames} frames, expected 2 (topic, SpikeBin)`;
        else if (!r.topic.equals(topicBytes)) why = `topic "${r.topic.toString('latin1').slice(0, 64)}" is not "${topic}"`;
        else {
          why = reader.read(r.payload, bin);
          if (why !== null) why = `SpikeBin: ${why}`;
        }
        m.undecodable = why;
        m.raw = why === null ? null : [r.topic, r.payload];
        subscriber.next(m);
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
  });
}

export interface ZmqSink extends DecodedSink {
  /** The publisher's own counters (queued messages, last send error). */
  publisher: ZmqPublisher;
}

/** An XPUB sink; resolves once bound or connected. Each message's sent_ns is stamped as it is handed to the socket. */
export async function toZmq(opts: ZmqOutputOptions): Promise<ZmqSink> {
  checkCommon(opts, 'output');
  if (opts.queue !== undefined && !(Number.isInteger(opts.queue) && opts.queue >= 1)) throw new ZmqError('EZMQOPTS', `ZeroMQ output: queue must be an integer ≥ 1, got ${opts.queue}`);
  const pub = await ZmqPublisher.open({
    endpoint: opts.address,
    bind: opts.bind ?? true,
    topic: opts.topic ?? VELOCITY_TOPIC,
    sendHighWaterMark: opts.hwm ?? 1000,
    queue: opts.queue ?? 1024,
    onSubscription: opts.onSubscription,
  });
  const writer = new DecodedWriter();
  return {
    publisher: pub,
    next(d: Decoded) {
      // Inline rather than monotonicNs(): a double returned from a call is boxed on the heap.
      d.sentNs = performance.now() * 1e6;
      pub.send(writer.encode(d));
    },
    close: () => pub.close(),
    stats: () => {
      const s = pub.stats();
      return { sent: s.sent, dropped: s.dropped, subscribers: pub.connectionStats().connections };
    },
  };
}
