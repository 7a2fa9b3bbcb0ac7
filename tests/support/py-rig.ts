/** A rig publisher in a Python subprocess (Debian python3-zmq): tests/support/rig_peer.py. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SpikeBinWriter } from '../../streams/proto.js';
import type { SpikeBin } from '../../streams/types.js';

export const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('../../../tests/support/rig_peer.py', import.meta.url));

/** Why the Python peer cannot run here, or null. */
export function missingPyZmq(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? `${PYTHON} cannot import zmq (apt-get install python3-zmq)` : null;
}

export type RigStep = { bins: Array<Omit<SpikeBin, 'receivedNs'>>; everyMs: number } | { big: number; size: number };

/** What the peer sent, on CLOCK_MONOTONIC in ns (the clock of process.hrtime.bigint()). */
export interface RigReport {
  /** Send time of each bin, in script order. */
  sent: number[];
  /** Send time of each over-limit message. */
  big: number[];
  /** Every subscription the XPUB saw (a SUB that reconnects subscribes again). */
  subs: number[];
}

export class PyRig {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private stderr = '';
  private readonly writer = new SpikeBinWriter();
  readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      this.waiter?.();
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((r) => child.on('exit', () => {
      r();
      this.waiter?.();
    }));
  }

  /** Starts the peer on `address` (bind or connect) and waits until its socket is open. */
  static async start(address: string, mode: 'bind' | 'connect', opts: { curve?: boolean } = {}): Promise<PyRig> {
    const child = spawn(PYTHON, [PEER, address, mode, ...(opts.curve ? ['curve'] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    const rig = new PyRig(child);
    const first = await rig.answer<{ ready?: boolean }>(10000);
    if (!first.ready) throw new Error(`rig peer did not start: ${JSON.stringify(first)}`);
    return rig;
  }

  /** Resolves with the time of the next subscription the peer sees. */
  async waitSubscribed(timeoutS = 20): Promise<number> {
    const r = await this.command<{ subscribed?: number; error?: string }>({ wait_sub: timeoutS }, timeoutS * 1000 + 5000);
    if (r.subscribed === undefined) throw new Error(`rig peer: ${r.error}`);
    return r.subscribed;
  }

  run(steps: RigStep[], timeoutMs = 60000): Promise<RigReport> {
    const script = steps.map((s) => ('bins' in s ? { bins: s.bins.map((b) => this.writer.encode(b).toString('hex')), every_ms: s.everyMs } : s));
    return this.command<RigReport>({ script }, timeoutMs);
  }

  /** SIGKILL: the rig vanishes without closing anything. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async quit(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin!.write('{"quit": true}\n');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }

  private async command<T>(cmd: unknown, timeoutMs: number): Promise<T> {
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
    return this.answer<T>(timeoutMs);
  }

  private async answer<T>(timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`rig peer exited: ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`rig peer did not answer within ${timeoutMs} ms: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          r();
        };
      });
    }
    return JSON.parse(this.lines.shift()!) as T;
  }
}

/** CLOCK_MONOTONIC now, in ns, comparable with RigReport times. */
export function monoNs(): number {
  return Number(process.hrtime.bigint());
}
