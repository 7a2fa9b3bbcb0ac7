/**
 * Clock-offset estimation as liblsl's time_receiver (lsl-protocol.md §4): bursts of TimeProbeCount
 * `LSL:timedata` probes TimeProbeInterval apart to the outlet's service port, aggregated
 * TimeProbeMaxRTT after the last; with ≥ TimeUpdateMinProbes replies, the probe of minimum RTT
 * gives the offset. `value` = local − remote: add it to a remote timestamp to get local time.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { localClock } from './clock.js';
import type { LslConfig } from './config.js';
import { fmt16 } from './net.js';

export interface TimeEstimate { value: number; uncertainty: number; remoteTime: number; localTime: number }

export class TimeCorrection {
  /** The current estimate, undefined until the first burst succeeds (and after reset). */
  estimate: TimeEstimate | undefined;
  wasReset = false;
  stats = { bursts: 0, probesSent: 0, replies: 0, badReplies: 0, failedBursts: 0 };
  private sock: dgram.Socket | undefined;
  private timers: NodeJS.Timeout[] = [];
  private wave = 0;
  private probes: { rtt: number; offset: number; local: number; remote: number }[] = [];
  private target: { address: string; port: number } | undefined;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly cfg: LslConfig) {}

  /** Starts (or retargets) the periodic bursts; liblsl starts them on the first time_correction() call. */
  start(address: string, port: number): void {
    if (this.closed) return;
    this.target = { address, port };
    if (!this.sock) {
      this.sock = dgram.createSocket('udp4');
      this.sock.on('error', () => undefined);
      this.sock.on('message', (m) => this.onReply(m));
      this.sock.bind(0, address === '127.0.0.1' || address === 'localhost' ? '127.0.0.1' : undefined);
      this.burst();
      const every = setInterval(() => this.burst(), this.cfg.timeUpdateInterval * 1000);
      every.unref();
      this.timers.push(every);
    }
  }

  /** Forgets the estimate (stream recovered to a new outlet). */
  reset(): void {
    this.estimate = undefined;
    this.wasReset = true;
  }

  /** Resolves with the estimate once one exists (or undefined after timeoutMs). */
  waitFor(timeoutMs: number): Promise<TimeEstimate | undefined> {
    if (this.estimate) return Promise.resolve(this.estimate);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.estimate), timeoutMs);
      this.waiters.push(() => { clearTimeout(t); resolve(this.estimate); });
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) { clearTimeout(t); clearInterval(t); }
    this.timers = [];
    this.sock?.close();
    this.sock = undefined;
  }

  private burst(): void {
    if (!this.sock || !this.target) return;
    this.stats.bursts++;
    this.wave = randomInt(0, 2 ** 31 - 1);
    this.probes = [];
    const { address, port } = this.target;
    const wave = this.wave;
    for (let k = 0; k < this.cfg.timeProbeCount; k++) {
      const t = setTimeout(() => {
        if (!this.sock || this.wave !== wave) return;
        this.stats.probesSent++;
        this.sock.send(`LSL:timedata\r\n${wave} ${fmt16(localClock())}\r\n`, port, address, () => undefined);
      }, k * this.cfg.timeProbeInterval * 1000);
      t.unref();
      this.timers.push(t);
    }
    const agg = setTimeout(() => this.aggregate(wave), (this.cfg.timeProbeMaxRtt + this.cfg.timeProbeInterval * this.cfg.timeProbeCount) * 1000);
    agg.unref();
    this.timers.push(agg);
    // Keep the timer list from growing over a long session.
    if (this.timers.length > 64) this.timers = this.timers.slice(-32);
  }

  private onReply(m: Buffer): void {
    const t3 = localClock();
    const parts = m.toString('latin1').trim().split(/\s+/);
    if (parts.length !== 4) { this.stats.badReplies++; return; }
    const [w, t0, t1, t2] = parts.map(Number);
    if (![w, t0, t1, t2].every(Number.isFinite) || w !== this.wave) { this.stats.badReplies++; return; }
    this.stats.replies++;
    const rtt = (t3 - t0) - (t2 - t1);
    const offset = ((t1 - t0) + (t2 - t3)) / 2;
    this.probes.push({ rtt, offset, local: (t3 + t0) / 2, remote: (t2 + t1) / 2 });
  }

  private aggregate(wave: number): void {
    if (wave !== this.wave) return;
    if (this.probes.length < this.cfg.timeUpdateMinProbes) { this.stats.failedBursts++; return; }
    let best = this.probes[0];
    for (const p of this.probes) if (p.rtt < best.rtt) best = p;
    this.estimate = { value: -best.offset, uncertainty: best.rtt, remoteTime: best.remote, localTime: best.local };
    for (const w of this.waiters.splice(0)) w();
  }
}
