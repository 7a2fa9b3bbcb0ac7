/**
 * The other side of the simulated user for tests: what a daemon and a task do together, over real
 * ZeroMQ sockets. It subscribes to the user's spike bins, decodes each with a given function,
 * integrates the velocity into a cursor, runs a minimal centre-out trial sequence, and publishes
 * one TaskState per decode on topic "task". Hooks let a test stall, interleave garbage or drop out.
 */
import { Subscriber, XPublisher } from 'zeromq';
import { encodeTaskState, SpikeBinReader, newSpikeBin, type TaskState } from '../../streams/proto.js';

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

export interface TrialResult { target: number; success: boolean; bins: number }

const HOLD_BINS = 10, TIMEOUT_BINS = 200, ITI_BINS = 5, RADIUS = 1.5, DIST = 10;

export class LoopPeer {
  readonly counts: number[][] = [];
  readonly trials: TrialResult[] = [];
  private readonly sub = new Subscriber({ linger: 0, receiveHighWaterMark: 100_000 });
  private readonly pub = new XPublisher({ linger: 0, sendHighWaterMark: 100_000 });
  private cursor: [number, number] = [0, 0];
  private state: TaskState['state'] = 'iti';
  private inState = 0;
  private trialBins = 0;
  private trial = 0;
  private closed = false;
  private taskJoined!: Promise<void>;

  private constructor(private readonly o: LoopPeerOptions) {}

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

  private target(): [number, number] {
    const a = ((this.trial % 8) * Math.PI) / 4;
    return [DIST * Math.cos(a), DIST * Math.sin(a)];
  }

  private advance(v: [number, number]): void {
    const dt = (this.o.binMs ?? 20) / 1000;
    this.inState++;
    if (this.state === 'iti') {
      if (this.inState >= ITI_BINS) { this.state = 'target_on'; this.inState = 0; this.trialBins = 0; this.cursor = [0, 0]; }
      return;
    }
    this.cursor = [this.cursor[0] + v[0] * dt, this.cursor[1] + v[1] * dt];
    this.trialBins++;
    const t = this.target();
    const inside = Math.hypot(this.cursor[0] - t[0], this.cursor[1] - t[1]) <= RADIUS;
    const end = (success: boolean): void => {
      this.trials.push({ target: this.trial % 8, success, bins: this.trialBins });
      this.trial++;
      this.state = 'iti';
      this.inState = 0;
    };
    if (this.trialBins >= TIMEOUT_BINS) end(false);
    else if (this.state === 'target_on' && inside) { this.state = 'hold'; this.inState = 0; }
    else if (this.state === 'hold' && !inside) { this.state = 'target_on'; this.inState = 0; }
    else if (this.state === 'hold' && this.inState >= HOLD_BINS) end(true);
  }

  private async loop(): Promise<void> {
    const reader = new SpikeBinReader();
    const bin = newSpikeBin();
    try {
      for await (const [topic, payload] of this.sub) {
        if (topic.toString() !== 'spikes' || reader.read(payload, bin) !== null) continue;
        this.counts[bin.seq] = Array.from(bin.counts);
        const v = this.o.decode(bin.counts, bin.seq);
        this.advance(v);
        if (this.o.stall?.(bin.seq)) continue;
        for (const g of this.o.garbage?.(bin.seq) ?? []) await this.pub.send(g);
        const shown = this.state !== 'iti';
        const msg = encodeTaskState({
          seq: bin.seq, cursor: this.cursor, target: shown ? this.target() : [], targetRadius: RADIUS,
          state: this.state, trial: this.trial, timestamp: bin.timestamp,
        });
        await this.pub.send(['task', Buffer.from(msg)]);
      }
    } catch {
      if (!this.closed) throw new Error('loop peer: receive failed');
    }
  }

  close(): void {
    this.closed = true;
    this.sub.close();
    this.pub.close();
  }
}
