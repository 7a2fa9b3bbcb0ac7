/**
 * The daemon's side of the task for tests: a real ZeroMQ PUB that sends Decoded messages on topic
 * "velocity" (or anything else), and a SUB that collects the task's TaskState messages.
 */
import { Subscriber, XPublisher } from 'zeromq';
import { decodeTaskState, encodeDecoded, type TaskState } from '../../streams/proto.js';

export class TaskPeer {
  readonly states: TaskState[] = [];
  private pub = new XPublisher({ linger: 0, sendHighWaterMark: 100_000 });
  private velocity = '';
  private readonly sub = new Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
  private waiters: { pred: (s: TaskState) => boolean; resolve: (s: TaskState) => void; from: number }[] = [];
  private subscribed!: Promise<void>;
  private closed = false;

  static async open(velocity: string, task: string): Promise<TaskPeer> {
    const p = new TaskPeer();
    p.velocity = velocity;
    await p.bindPublisher();
    p.sub.subscribe('task');
    p.sub.connect(task);
    void (async () => {
      try {
        for await (const [, payload] of p.sub) {
          const s = decodeTaskState(payload);
          p.states.push(s);
          p.waiters = p.waiters.filter((w) => { if (w.pred(s)) { w.resolve(s); return false; } return true; });
        }
      } catch { /* closed */ }
    })();
    return p;
  }

  private async bindPublisher(): Promise<void> {
    let joined!: () => void;
    this.subscribed = new Promise((r) => (joined = r));
    const pub = this.pub;
    await pub.bind(this.velocity);
    void (async () => {
      try { for await (const [f] of pub) if (f[0] === 1) joined(); } catch { /* closed */ }
    })();
  }

  /** The daemon restarts: its socket closes and a new one binds the same address. */
  async restartPublisher(): Promise<void> {
    this.pub.close();
    this.pub = new XPublisher({ linger: 0, sendHighWaterMark: 100_000 });
    await this.bindPublisher();
  }

  /** Resolves when the task's SUB has subscribed to the velocity topic (since the last bind). */
  joined(): Promise<void> {
    return this.subscribed;
  }

  /** Bins sent: the rig's clock goes on across a daemon restart, whatever the seq does. */
  private sent = 0;

  sendDecoded(seq: number, vx: number, vy: number, modelId = 'test-model'): void {
    void this.pub.send(['velocity', encodeDecoded({ seq, timestamp: 1000 + this.sent++ * 0.02, velocity: Float32Array.of(vx, vy), receivedNs: 1, receivedLslTime: 0, decodedNs: 2, sentNs: 3, modelId, streamId: 's' })]);
  }

  sendRaw(frames: (Buffer | string)[]): void {
    void this.pub.send(frames);
  }

  /** The first TaskState from now on (index ≥ the current count) matching pred. */
  next(pred: (s: TaskState) => boolean, timeoutMs = 10_000): Promise<TaskState> {
    const from = this.states.length;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching TaskState within ${timeoutMs} ms; last: ${JSON.stringify(this.states.at(-1))}`)), timeoutMs);
      this.waiters.push({ pred, from, resolve: (s) => { clearTimeout(t); resolve(s); } });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pub.close();
    this.sub.close();
  }
}

/** A perfect user: straight at the target at up to 25 cm/s, still inside it. */
export function aimAt(s: TaskState | undefined, binMs = 20): [number, number] {
  if (!s || s.target.length !== 2) return [0, 0];
  const dx = s.target[0] - s.cursor[0], dy = s.target[1] - s.cursor[1];
  const d = Math.hypot(dx, dy);
  if (d < 0.3) return [0, 0];
  const k = Math.min(25, d / (binMs / 1000)) / d;
  return [dx * k, dy * k];
}
