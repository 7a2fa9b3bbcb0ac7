/** The daemon's ZeroMQ peers as a rig and a task computer would be, for tests and the fuzzer. */
import { Subscriber, XPublisher } from 'zeromq';
import { DecodedReader, SpikeBinWriter, newDecoded } from '../streams/proto.js';
import type { Decoded, SpikeBin } from '../streams/types.js';

/**
 * A rig: binds an XPUB and publishes SpikeBins on topic "spikes". waitForSubscriber() resolves when
 * the daemon's SUB has subscribed, so nothing is lost to ZeroMQ's slow-joiner window.
 */
export class RigPublisher {
  private readonly writer = new SpikeBinWriter();
  private subscribed: Promise<void>;
  private constructor(readonly sock: XPublisher) {
    this.subscribed = (async () => {
      for (;;) {
        const [f] = await sock.receive();
        if (f[0] === 1 && f.subarray(1).toString() === 'spikes') return;
      }
    })();
    this.subscribed.catch(() => {});
  }
  static async bind(address: string): Promise<RigPublisher> {
    const sock = new XPublisher({ linger: 1000, sendHighWaterMark: 100000 });
    await sock.bind(address);
    return new RigPublisher(sock);
  }
  waitForSubscriber(): Promise<void> {
    return this.subscribed;
  }
  async send(bin: Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>): Promise<void> {
    await this.sock.send(['spikes', Buffer.from(this.writer.encode(bin))]);
  }
  async sendRaw(frames: Array<Buffer | string>): Promise<void> {
    await this.sock.send(frames);
  }
  close(): void {
    this.sock.close();
  }
}

/** A task computer: connects a SUB to the daemon's output and collects Decoded messages (copied). */
export class DecodedCollector {
  readonly received: Decoded[] = [];
  /** process.hrtime (CLOCK_MONOTONIC) in ns when each of `received` arrived. */
  readonly arrivedNs: number[] = [];
  private readonly reader = new DecodedReader();
  private waiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly sock = new Subscriber({ linger: 0 });
  constructor(address: string) {
    this.sock.subscribe('velocity');
    this.sock.connect(address);
    void (async () => {
      try {
        for await (const [topic, payload] of this.sock) {
          if (topic.toString() !== 'velocity') continue;
          const d = newDecoded();
          const err = this.reader.read(payload, d);
          if (err) throw new Error(err);
          d.velocity = Float32Array.from(d.velocity);
          this.received.push(d);
          this.arrivedNs.push(Number(process.hrtime.bigint()));
          this.waiters = this.waiters.filter((w) => (this.received.length >= w.n ? (w.resolve(), false) : true));
        }
      } catch {
        // closed
      }
    })();
  }
  waitFor(n: number, timeoutMs = 20000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out: ${this.received.length} of ${n} decodes received`)), timeoutMs);
      this.waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
    });
  }
  close(): void {
    this.sock.close();
  }
}
