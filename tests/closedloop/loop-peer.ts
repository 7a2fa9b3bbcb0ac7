/**
 * The other side of the simulated user for tests: what a daemon and a task do together, over real
 * ZeroMQ sockets. It subscribes to the user's spike bins, decodes each with a given function,
 * integrates the velocity into a cursor, runs a minimal centre-out trial sequence, and publishes
 * one TaskState per decode on topic "task". Hooks let a test stall, interleave garbage or drop out.
 */
import { Subscriber, XPublisher } from 'zeromq';
import { encodeTaskState, SpikeBinReader, newSpikeBin } from '../../streams/proto.js';
import { MINI_TASK, MiniTask } from './mini-task.js';

export interface LoopPeerOptions {
  spikes: string;
  task: string;
  /** Velocity (cm/s) from one bin's counts; called in seq order. */
  decode: (counts: ArrayLike<number>, seq: number) => [number, number];
  /** Return true to send nothing for this seq (a stalled daemon). */
  stall?: (seq: number) => boolean;
  /** Extra raw messages to send before this seq's TaskState. */
  garbage?: (seq: number) => Array<Array<Buffer | string>>;
  binMs?: number;
}

export class LoopPeer {
  readonly counts: number[][] = [];
  private readonly sub = new Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
  private readonly pub = new XPublisher({ linger: 0, sendHighWaterMark: 100_000 });
  private readonly task: MiniTask;
  private closed = false;
  private taskJoined!: Promise<void>;

  private constructor(private readonly o: LoopPeerOptions) {
    this.task = new MiniTask((o.binMs ?? 20) / 1000);
  }

  get trials(): MiniTask['trials'] {
    return this.task.trials;
  }

  static async open(o: LoopPeerOptions): Promise<LoopPeer> {
    const p = new LoopPeer(o);
    let joined!: () => void;
    p.taskJoined = new Promise((r) => (joined = r));
    await p.pub.bind(o.task);
    void (async () => {
      try { for await (const [f] of p.pub) if (f[0] === 1) joined(); } catch { /* closed */ }
    })();
    p.sub.subscribe('spikes');
    p.sub.connect(o.spikes);
    void p.loop();
    return p;
  }

  /** Resolves once the user's task SUB has subscribed. */
  waitForUser(): Promise<void> {
    return this.taskJoined;
  }

  private async loop(): Promise<void> {
    const reader = new SpikeBinReader();
    const bin = newSpikeBin();
    try {
      for await (const [topic, payload] of this.sub) {
        if (topic.toString() !== 'spikes' || reader.read(payload, bin) !== null) continue;
        this.counts[bin.seq] = Array.from(bin.counts);
        const task = this.task;
        task.advance(this.o.decode(bin.counts, bin.seq));
        if (this.o.stall?.(bin.seq)) continue;
        for (const g of this.o.garbage?.(bin.seq) ?? []) await this.pub.send(g);
        const shown = task.state !== 'iti';
        const msg = encodeTaskState({
          seq: bin.seq, cursor: task.cursor, target: shown ? task.target() : [], targetRadius: MINI_TASK.radius,
          state: task.state, trial: task.trial, timestamp: bin.timestamp,
        });
        await this.pub.send(['task', Buffer.from(msg)]);
      }
    } catch {
      if (!this.closed) throw new Error('loop peer: receive failed');
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub.close();
    this.pub.close();
  }
}
