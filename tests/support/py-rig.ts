/** A rig publisher in a Python subprocess (Debian python3-zmq): tests/support/rig_peer.py, run through the harness. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SpikeBinWriter } from '../../streams/proto.js';
import type { SpikeBin } from '../../streams/types.js';
import { CliProcess } from '../../harness/process.js';

export const PYTHON = '/usr/bin/python3';
const PEER = fileURLToPath(new URL('../../../tests/support/rig_peer.py', import.meta.url));

/** Why the Python peer cannot run here, or null. */
export function missingPyZmq(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import zmq'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? `${PYTHON} cannot import zmq (apt-get install python3-zmq)` : null;
}

export type RigStep = { bins: Array<Omit<SpikeBin, 'receivedNs' | 'receivedLslTime'>>; everyMs: number } | { big: number; size: number };

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
  private readonly writer = new SpikeBinWriter();

  private constructor(readonly proc: CliProcess) {}

  /** Starts the peer on `address` (bind or connect) and waits until its socket is open. */
  static async start(address: string, mode: 'bind' | 'connect', opts: { curve?: boolean } = {}): Promise<PyRig> {
    const proc = new CliProcess([PEER, address, mode, ...(opts.curve ? ['curve'] : [])], { executable: PYTHON, stdin: true });
    const first = JSON.parse(await proc.nextLine(10000)) as { ready?: boolean };
    if (!first.ready) throw new Error(`rig peer did not start: ${JSON.stringify(first)}`);
    return new PyRig(proc);
  }

  /** Resolves with the time of the next subscription the peer sees. */
  async waitSubscribed(timeoutS = 20): Promise<number> {
    const r = await this.proc.request<{ subscribed?: number; error?: string }>({ wait_sub: timeoutS }, timeoutS * 1000 + 5000);
    if (r.subscribed === undefined) throw new Error(`rig peer: ${r.error}`);
    return r.subscribed;
  }

  run(steps: RigStep[], timeoutMs = 60000): Promise<RigReport> {
    const script = steps.map((s) => ('bins' in s ? { bins: s.bins.map((b) => this.writer.encode(b).toString('hex')), every_ms: s.everyMs } : s));
    return this.proc.request<RigReport>({ script }, timeoutMs);
  }

  /** SIGKILL: the rig vanishes without closing anything. */
  async kill(): Promise<void> {
    await this.proc.stop('SIGKILL');
  }

  async quit(): Promise<void> {
    if (this.proc.running) this.proc.child.stdin!.write('{"quit": true}\n');
    const t = setTimeout(() => this.proc.kill(), 3000);
    await this.proc.exited;
    clearTimeout(t);
  }
}

/** CLOCK_MONOTONIC now, in ns, comparable with RigReport times. */
export function monoNs(): number {
  return Number(process.hrtime.bigint());
}
