/**
 * ZeroMQ publisher with a bounded send queue that never blocks its caller.
 *
 * The socket is an XPUB (a PUB that also reports subscriptions), so the daemon can log when a
 * consumer joins and tests can wait for that instead of sleeping. ZeroMQ drops messages for a
 * subscriber whose queue is at the high-water mark; those drops happen inside ZeroMQ and cannot be
 * counted. The drops counted here are the ones this side makes: queue overflow (only possible
 * while a send is pending, which zeromq.js allows one of at a time) and failed sends.
 */
import { XPublisher } from 'zeromq';
import { ZmqError } from './subscriber.js';
import { bindWhenFree } from './bind.js';
import { ConnectionWatch, type ReconnectReason, type WatchStats } from './watch.js';

export interface ZmqPublisherOptions {
  endpoint: string;
  /** Bind (default true: outputs bind, consumers connect). */
  bind?: boolean;
  /** Topic frame sent before every payload. */
  topic: string;
  /** ZMQ_SNDHWM in messages (default 1000). */
  sendHighWaterMark?: number;
  /** Messages held while a send is pending (default 1024); beyond that new messages are dropped. */
  queue?: number;
  /** How long close() lets queued messages drain, in ms (default 500). */
  lingerMs?: number;
  /** Called on (un)subscription by a consumer; runs off the real-time path. */
  onSubscription?: (subscribed: boolean, topic: string) => void;
  /**
   * A connection to a consumer was re-established after libzmq ended it (see watch.ts). Only a
   * connecting publisher (bind: false) has anything to re-establish; a bound one's consumers
   * reconnect by themselves and are counted here when they do.
   */
  onReconnect?: (reason: ReconnectReason, detail: string) => void;
}

/**
 * zeromq.js copies messages of ≤ 128 bytes synchronously inside send() and keeps a reference to
 * larger ones until its I/O thread is done with them, so only small payloads may come from a
 * reused buffer.
 */
const ZMQ_COPY_LIMIT = 128;

export class ZmqPublisher {
  private sent = 0;
  private dropped = 0;
  private pending = false;
  private closed = false;
  private readonly slots: Buffer[];
  private readonly lens: Int32Array;
  private head = 0;
  private size = 0;
  private readonly frames: [Buffer, Buffer];
  private readonly topic: Buffer;
  private drainWaiter: (() => void) | null = null;
  private lastError: Error | null = null;

  private constructor(private readonly sock: XPublisher, private readonly opts: ZmqPublisherOptions, private readonly watch: ConnectionWatch) {
    this.topic = Buffer.from(opts.topic);
    this.frames = [this.topic, this.topic];
    const q = opts.queue ?? 1024;
    this.slots = Array.from({ length: q }, () => Buffer.alloc(ZMQ_COPY_LIMIT));
    this.lens = new Int32Array(q);
  }

  static async open(opts: ZmqPublisherOptions): Promise<ZmqPublisher> {
    if (typeof opts.endpoint !== 'string' || !/^(tcp|ipc|inproc):\/\//.test(opts.endpoint))
      throw new ZmqError('EZMQADDR', `ZeroMQ address must start with tcp://, ipc:// or inproc://, got "${opts.endpoint}"`);
    const sock = new XPublisher({
      sendHighWaterMark: opts.sendHighWaterMark ?? 1000,
      // 0: send() tries once and never waits. A PUB never refuses (it drops at the HWM), so
      // every send completes synchronously and no delayed write can reorder messages.
      sendTimeout: 0,
      linger: opts.lingerMs ?? 500,
    });
    sock.verbosity = 'allSubs';
    const watch = new ConnectionWatch(sock, { endpoint: opts.endpoint, bind: opts.bind !== false, onReconnect: opts.onReconnect });
    try {
      if (opts.bind === false) sock.connect(opts.endpoint);
      else await bindWhenFree(sock, opts.endpoint);
    } catch (err) {
      watch.close();
      sock.close();
      const e = err as Error & { code?: string };
      throw new ZmqError(e.code ?? 'EZMQ', `cannot ${opts.bind === false ? 'connect' : 'bind'} ${opts.endpoint}: ${e.message}`);
    }
    const pub = new ZmqPublisher(sock, opts, watch);
    void pub.watchSubscriptions();
    return pub;
  }

  /** Sends (or queues) one payload; never blocks, never throws. The payload may be reused after return. */
  send(payload: Uint8Array): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    if (!this.pending) {
      this.sendNow(payload);
      return;
    }
    if (this.size === this.slots.length) {
      this.dropped++;
      return;
    }
    const i = (this.head + this.size) % this.slots.length;
    if (this.slots[i].length < payload.length) this.slots[i] = Buffer.alloc(payload.length);
    this.slots[i].set(payload);
    this.lens[i] = payload.length;
    this.size++;
  }

  stats(): { sent: number; dropped: number; queued: number; lastError: string | null } {
    return { sent: this.sent, dropped: this.dropped, queued: this.size, lastError: this.lastError?.message ?? null };
  }

  /** Consumers connected now and connections re-established, by reason (watch.ts). */
  connectionStats(): WatchStats {
    return this.watch.stats();
  }

  /** Waits (at most lingerMs) for the queue to drain, then closes the socket (ZeroMQ lingers too). */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.pending || this.size > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.lingerMs ?? 500);
        this.drainWaiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.closed = true;
    this.dropped += this.size;
    this.size = 0;
    this.watch.close();
    this.sock.close();
  }

  private sendNow(payload: Uint8Array): void {
    const frame = payload.length <= ZMQ_COPY_LIMIT ? payload : Buffer.from(payload);
    this.frames[1] = frame as Buffer;
    this.pending = true;
    let p: Promise<void>;
    try {
      p = this.sock.send(this.frames);
    } catch (err) {
      this.onError(err);
      return;
    }
    p.then(this.onSent, this.onError);
  }

  private readonly onSent = (): void => {
    this.sent++;
    this.next();
  };

  private readonly onError = (err: unknown): void => {
    this.dropped++;
    this.lastError = err as Error;
    this.next();
  };

  private next(): void {
    this.pending = false;
    if (this.size > 0 && !this.closed) {
      const i = this.head;
      this.head = (this.head + 1) % this.slots.length;
      this.size--;
      this.sendNow(this.slots[i].subarray(0, this.lens[i]));
    } else if (this.size === 0 && this.drainWaiter) {
      const w = this.drainWaiter;
      this.drainWaiter = null;
      w();
    }
  }

  private async watchSubscriptions(): Promise<void> {
    while (!this.sock.closed) {
      let frames: Buffer[];
      try {
        frames = await this.sock.receive();
      } catch {
        return;
      }
      const f = frames[0];
      if (f && f.length >= 1 && (f[0] === 0 || f[0] === 1)) this.opts.onSubscription?.(f[0] === 1, f.subarray(1).toString());
    }
  }
}
