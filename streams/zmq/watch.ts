/**
 * Keeps a ZeroMQ socket from going deaf. libzmq re-establishes a connection it lost to a network
 * error by itself, but one it ends for a protocol error (a message over ZMQ_MAXMSGSIZE, a ZMTP
 * mechanism or socket-type mismatch) it closes for good, and says so only on the socket monitor.
 * This watches the monitor (zeromq.js `socket.events`) and, for a connecting socket, reconnects the
 * endpoint itself; a binding socket needs nothing done, since its peer reconnects.
 *
 * What libzmq 4.3.5 emits, observed against pyzmq and raw TCP peers (tests/zmq/never-deaf.test.ts):
 *   message over the size limit    connecting: disconnect (no connect:retry); binding: disconnect,
 *                                  then the peer's accept + handshake ~100-200 ms later
 *   ZMTP mechanism mismatch        handshake:error:protocol, disconnect (no retry when connecting)
 *   wrong peer socket type (PUSH)  connect (or accept), disconnect, with no handshake between
 *   peer gone (killed, restarted)  disconnect, connect:retry, … then connect + handshake
 * A connecting socket's disconnect that libzmq will retry is followed at once by connect:retry, so
 * a disconnect left without one for SETTLE_MS is one libzmq has given up on.
 *
 * Everything here runs in the monitor's callbacks, never on the receive path, and allocates only
 * per event.
 */
import type { Socket } from 'zeromq';

export type ReconnectReason = 'protocol' | 'handshake' | 'peer_gone';
export const RECONNECT_REASONS: readonly ReconnectReason[] = ['protocol', 'handshake', 'peer_gone'];

export interface WatchStats {
  /** Connections re-established (or re-establishment forced), by reason. */
  reconnects: Record<ReconnectReason, number>;
  /** Connections that completed the ZMTP handshake and have not ended (a best guess on a bound
   * socket with several peers: the monitor does not say which connection an event is about). */
  connections: number;
  /** The last monitor event, e.g. "disconnect tcp://127.0.0.1:5555" (null before any). */
  lastEvent: string | null;
}

export interface WatchOptions {
  endpoint: string;
  /** The socket binds (peers reconnect by themselves) rather than connects. */
  bind: boolean;
  /** Called off the receive path with the reason and a sentence for the log. */
  onReconnect?: (reason: ReconnectReason, detail: string) => void;
  /**
   * An established connection ended (up = false, with why) and, later, a connection completed its
   * handshake again (up = true): the window in which a reconnect is under way. Off the receive path.
   */
  onConnection?: (up: boolean, detail: string) => void;
}

/** How long a connecting socket's disconnect may wait for libzmq's own connect:retry. */
export const SETTLE_MS = 50;
/** Forced reconnects to a peer that never completes a handshake back off up to this, so the first
 * try after any disconnect still comes within 1 s. */
const MAX_BACKOFF_MS = 800;

export class ConnectionWatch {
  private readonly counts: Record<ReconnectReason, number> = { protocol: 0, handshake: 0, peer_gone: 0 };
  private connections = 0;
  private lastEvent: string | null = null;
  private closed = false;
  /** A handshake error seen, not yet matched with its disconnect. */
  private handshakeError: string | null = null;
  /** Disconnects of established connections whose peer has not come back yet (reported on return). */
  private awaitingReturn = 0;
  /** Connecting socket: the pending "libzmq gave up" decision and the current backoff. */
  private settleTimer: NodeJS.Timeout | null = null;
  private pendingReason: ReconnectReason = 'protocol';
  private pendingDetail = '';
  private backoffMs = 0;
  /** Connections accepted or made that have not finished their handshake yet. */
  private handshaking = 0;
  /** An established connection ended and none has completed a handshake since. */
  private lost = false;

  constructor(private readonly sock: Socket, private readonly opts: WatchOptions) {
    const ev = sock.events;
    ev.on('handshake', () => this.onHandshake());
    ev.on('handshake:error:protocol', (e) => this.onHandshakeError(`${e.error.code}: ${e.error.message}`));
    ev.on('handshake:error:auth', (e) => this.onHandshakeError(`authentication failed (ZAP status ${e.error.status})`));
    ev.on('handshake:error:other', (e) => this.onHandshakeError(`${e.error.code}: ${e.error.message}`));
    ev.on('disconnect', () => this.onDisconnect());
    ev.on('connect:retry', () => this.onRetry());
    ev.on('accept', () => this.onOpen('accept'));
    ev.on('connect', () => this.onOpen('connect'));
    for (const t of ['close', 'accept:error', 'bind:error', 'close:error', 'connect:delay', 'end'] as const) ev.on(t, () => this.note(t));
  }

  stats(): WatchStats {
    return { reconnects: { ...this.counts }, connections: this.connections, lastEvent: this.lastEvent };
  }

  /** Stops acting on events (the socket is being closed). */
  close(): void {
    this.closed = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
  }

  private note(type: string): void {
    this.lastEvent = `${type} ${this.opts.endpoint}`;
  }

  private report(reason: ReconnectReason, detail: string): void {
    this.counts[reason]++;
    this.opts.onReconnect?.(reason, detail);
  }

  private onOpen(type: 'accept' | 'connect'): void {
    this.note(type);
    this.handshaking++;
  }

  private onHandshake(): void {
    this.note('handshake');
    if (this.handshaking > 0) this.handshaking--;
    this.connections++;
    this.backoffMs = 0;
    if (this.lost) {
      this.lost = false;
      this.opts.onConnection?.(true, `${this.opts.endpoint}: connected again`);
    }
    if (this.awaitingReturn > 0) {
      this.awaitingReturn--;
      this.report('peer_gone', this.opts.bind
        ? `${this.opts.endpoint}: a peer connected again after its connection ended (it left, or was dropped for a message over the size limit)`
        : `${this.opts.endpoint}: connection re-established after the peer went away`);
    }
  }

  private onHandshakeError(detail: string): void {
    this.note('handshake:error');
    this.handshakeError = detail;
  }

  private onDisconnect(): void {
    this.note('disconnect');
    const hsError = this.handshakeError;
    this.handshakeError = null;
    // The monitor does not say which connection ended. A connecting socket has one; on a bound
    // one, a connection still in its handshake is the likelier to end (a peer of the wrong type
    // is dropped at once), so it is taken to be that one.
    const wasUp = hsError === null && this.handshaking === 0 && this.connections > 0;
    if (wasUp) this.connections--;
    else if (this.handshaking > 0) this.handshaking--;
    if (this.closed) return;
    const detail = hsError !== null
      ? `${this.opts.endpoint}: ZMTP handshake failed (${hsError})`
      : !wasUp
        ? `${this.opts.endpoint}: the peer left during the ZMTP handshake (wrong socket type or not a ZeroMQ peer)`
        : `${this.opts.endpoint}: connection ended by libzmq without a retry (e.g. a message over the size limit)`;
    if (wasUp && !this.lost) {
      this.lost = true;
      // The reason is known only later (a retry from libzmq, or none): say what is known now.
      this.opts.onConnection?.(false, this.opts.bind ? `${this.opts.endpoint}: a peer's connection ended; waiting for it to connect again` : `${this.opts.endpoint}: the connection ended; connecting again`);
    }
    if (this.opts.bind) {
      // The peer reconnects by itself. libzmq reports a peer dropped for an over-limit message and
      // a peer that closed its end alike, so both count as peer_gone, when it comes back.
      if (wasUp) this.awaitingReturn++;
      else this.report('handshake', detail);
      return;
    }
    this.pendingReason = wasUp ? 'protocol' : 'handshake';
    this.pendingDetail = detail;
    this.schedule(SETTLE_MS + this.backoffMs);
  }

  private schedule(ms: number): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(this.force, ms);
  }

  private onRetry(): void {
    this.note('connect:retry');
    // libzmq reconnects by itself: the peer went away. Report when it is back.
    if (this.settleTimer) {
      clearTimeout(this.settleTimer);
      this.settleTimer = null;
      if (this.pendingReason === 'protocol') this.awaitingReturn = 1;
    }
  }

  private readonly force = (): void => {
    this.settleTimer = null;
    if (this.closed || this.sock.closed) return;
    try {
      this.sock.disconnect(this.opts.endpoint);
    } catch {
      // libzmq may already have forgotten the endpoint; connecting again is what matters.
    }
    try {
      this.sock.connect(this.opts.endpoint);
    } catch (err) {
      // Nothing libzmq refuses here is expected (the address connected before); keep trying.
      this.lastEvent = `reconnect failed: ${(err as Error).message}`;
      this.schedule(MAX_BACKOFF_MS);
      return;
    }
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs === 0 ? SETTLE_MS : this.backoffMs * 2);
    this.report(this.pendingReason, this.pendingDetail);
  };
}
