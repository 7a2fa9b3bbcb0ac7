/**
 * ZeroMQ SUB as an Observable of raw two-frame messages. The socket lives exactly as long as the
 * subscription: unsubscribing closes it and ends the receive loop quietly. A ConnectionWatch
 * (watch.ts) re-establishes connections libzmq ends for good, so one bad message cannot make the
 * source deaf.
 */
import { constants as osConstants } from 'node:os';
import { Observable, defer, mergeAll } from 'rxjs';
import { Subscriber as ZmqSub } from 'zeromq';
import { monotonicNs } from '../types.js';
import { spinUntilReadable } from './busy-poll.js';
import { bindWhenFree } from './bind.js';
import { ConnectionWatch, type ReconnectReason, type WatchStats } from './watch.js';

export type { ReconnectReason } from './watch.js';
export { RECONNECT_REASONS } from './watch.js';

export class ZmqError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ZmqError';
  }
}

/** One received message. The object is reused for the next message: read it synchronously. */
export interface RawMessage {
  /** Number of frames received (a well-formed message has 2). */
  frames: number;
  topic: Buffer;
  payload: Buffer;
  /** monotonicNs() when the message was taken off the socket. */
  receivedNs: number;
}

export interface ZmqSourceOptions {
  /** A ZeroMQ address: tcp://127.0.0.1:5555 or ipc:///tmp/x. */
  endpoint: string;
  /** Bind instead of connect (default false: inputs connect to the rig's publisher). */
  bind?: boolean;
  /** Topic prefix to subscribe to (default "spikes"). Exact topic matching is the caller's job. */
  topic?: string;
  /** ZMQ_RCVHWM in messages (default 1000). */
  receiveHighWaterMark?: number;
  /**
   * ZMQ_MAXMSGSIZE in bytes (default 1 MiB, far above a 65,536-channel SpikeBin): ZeroMQ
   * disconnects a peer that sends more, before anything is allocated for it.
   */
  maxMessageSize?: number;
  /**
   * A connection was re-established, or its re-establishment forced, after libzmq ended it:
   * 'protocol' (ended without a retry, e.g. a message over maxMessageSize), 'handshake' (ZMTP
   * handshake failed), 'peer_gone' (the peer left and came back). Called from the socket monitor,
   * never on the receive path.
   */
  onReconnect?: (reason: ReconnectReason, detail: string) => void;
  /** An established connection ended (false) / one is up again (true): a reconnect under way (watch.ts). */
  onConnection?: (up: boolean, detail: string) => void;
  /** Spin on the socket instead of sleeping between messages (streams/zmq/busy-poll.ts). */
  busyPoll?: boolean;
}

export type ZmqSourceStats = WatchStats;

/** The source's messages, plus what its connection watch has counted so far. */
export type ZmqSource = Observable<RawMessage> & { stats(): ZmqSourceStats };

const EMPTY = Buffer.alloc(0);

function checkOptions(o: ZmqSourceOptions): void {
  if (typeof o.endpoint !== 'string' || !/^(tcp|ipc|inproc):\/\//.test(o.endpoint))
    throw new ZmqError('EZMQADDR', `ZeroMQ address must start with tcp://, ipc:// or inproc://, got "${o.endpoint}"`);
}

/**
 * Opens the socket and binds or connects it; the returned Observable (subscribe once) emits every
 * message. Resolves once bound, so a caller can announce readiness.
 */
export async function openZmqSource(opts: ZmqSourceOptions): Promise<ZmqSource> {
  checkOptions(opts);
  const busy = opts.busyPoll === true;
  // Busy-polling receives only once `readable`: receiveTimeout 0 keeps every such receive on
  // zeromq.js's synchronous path (otherwise every 512th is deferred a loop turn).
  const sock = new ZmqSub({ receiveHighWaterMark: opts.receiveHighWaterMark ?? 1000, linger: 0, maxMessageSize: opts.maxMessageSize ?? 1 << 20, ...(busy ? { receiveTimeout: 0 } : {}) });
  sock.subscribe(opts.topic ?? 'spikes');
  // Before bind/connect, so the first connection's events are seen too.
  const watch = new ConnectionWatch(sock, { endpoint: opts.endpoint, bind: opts.bind === true, onReconnect: opts.onReconnect, onConnection: opts.onConnection });
  try {
    if (opts.bind) await bindWhenFree(sock, opts.endpoint);
    else sock.connect(opts.endpoint);
  } catch (err) {
    watch.close();
    sock.close();
    const e = err as Error & { code?: string };
    throw new ZmqError(e.code ?? 'EZMQ', `cannot ${opts.bind ? 'bind' : 'connect'} ${opts.endpoint}: ${e.message}`);
  }
  let used = false;
  const source = new Observable<RawMessage>((subscriber) => {
    if (used) {
      subscriber.error(new ZmqError('EZMQUSED', `${opts.endpoint}: this source was already subscribed`));
      return;
    }
    used = true;
    let closed = false;
    const msg: RawMessage = { frames: 0, topic: EMPTY, payload: EMPTY, receivedNs: 0 };
    void (async () => {
      while (!closed) {
        let frames: Buffer[];
        try {
          if (busy) await spinUntilReadable(sock, () => closed);
          if (closed) return;
          frames = await sock.receive();
        } catch (err) {
          if (closed || sock.closed) return;
          // Nothing there after all (receiveTimeout 0 does not wait): spin again.
          if (busy && (err as { errno?: number }).errno === osConstants.errno.EAGAIN) continue;
          const e = err as Error & { code?: string };
          subscriber.error(new ZmqError(e.code ?? 'EZMQ', `receive on ${opts.endpoint}: ${e.message}`));
          return;
        }
        msg.receivedNs = monotonicNs();
        msg.frames = frames.length;
        msg.topic = frames[0] ?? EMPTY;
        msg.payload = frames[1] ?? EMPTY;
        subscriber.next(msg);
      }
    })();
    return () => {
      closed = true;
      watch.close();
      sock.close();
    };
  });
  return Object.assign(source, { stats: () => watch.stats() });
}

/** Cold form: the socket is created on subscribe and closed on unsubscribe. */
export function fromZmq(opts: ZmqSourceOptions): Observable<RawMessage> {
  checkOptions(opts);
  return defer(() => openZmqSource(opts)).pipe(mergeAll());
}
