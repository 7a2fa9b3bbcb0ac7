/** A one-line progress bar on a TTY (plain lines per epoch otherwise): epoch, losses, ETA. */
import type { EpochRecord, ProgressEvent } from './train.js';

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(sec).padStart(2, '0')}`;
};

export class ProgressBar {
  private lastDraw = 0;
  constructor(private readonly out: NodeJS.WriteStream = process.stderr, private readonly maxEpochs: number) {}

  update(e: ProgressEvent): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 200 && e.batch !== e.batches) return;
    this.lastDraw = now;
    const frac = Math.min(1, (e.epoch - 1 + e.batch / e.batches) / this.maxEpochs);
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = '█'.repeat(fill) + '░'.repeat(width - fill);
    const val = Number.isFinite(e.valNll) ? e.valNll.toFixed(4) : '—';
    this.out.write(`\r${bar} epoch ${e.epoch}/${this.maxEpochs} batch ${e.batch}/${e.batches} loss ${e.loss.toFixed(4)} val ${val} lr ${e.lr.toExponential(1)} ${fmtTime(e.elapsedSeconds)} ETA ${fmtTime(e.etaSeconds)}\x1b[K`);
  }

  epoch(r: EpochRecord): void {
    const line = `epoch ${r.epoch}: loss ${r.trainLoss.toFixed(4)} (nll ${r.trainNll.toFixed(4)}, kl ${r.kl.toFixed(4)}, β ${r.beta.toFixed(3)}) val nll ${r.valNll.toFixed(4)} lr ${r.lr.toExponential(1)} ${r.seconds.toFixed(1)} s`;
    this.out.write(this.out.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[K');
  }
}
