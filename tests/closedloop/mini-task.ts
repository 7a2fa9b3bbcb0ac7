/** A minimal centre-out trial sequence for tests (the real task is `langevind task`): eight targets in turn. */
export interface TrialResult { target: number; success: boolean; bins: number }

export const MINI_TASK = { holdBins: 10, timeoutBins: 200, itiBins: 5, radius: 1.5, distance: 10 } as const;

export class MiniTask {
  cursor: [number, number] = [0, 0];
  state: 'iti' | 'target_on' | 'hold' = 'iti';
  trial = 0;
  readonly trials: TrialResult[] = [];
  /** Events of the last advance() (state entered), e.g. for markers. */
  events: string[] = [];
  private inState = 0;
  private trialBins = 0;

  constructor(private readonly dt: number) {}

  target(): [number, number] {
    const a = ((this.trial % 8) * Math.PI) / 4;
    return [MINI_TASK.distance * Math.cos(a), MINI_TASK.distance * Math.sin(a)];
  }

  /** Applies one decoded velocity and runs the state machine. */
  advance(v: [number, number]): void {
    this.events = [];
    this.inState++;
    if (this.state === 'iti') {
      if (this.inState >= MINI_TASK.itiBins) {
        this.state = 'target_on'; this.inState = 0; this.trialBins = 0; this.cursor = [0, 0];
        const t = this.target();
        this.events.push(`target_on trial=${this.trial} target=${this.trial % 8} x=${t[0].toFixed(3)} y=${t[1].toFixed(3)} r=${MINI_TASK.radius}`);
      }
      return;
    }
    this.cursor = [this.cursor[0] + v[0] * this.dt, this.cursor[1] + v[1] * this.dt];
    this.trialBins++;
    const t = this.target();
    const inside = Math.hypot(this.cursor[0] - t[0], this.cursor[1] - t[1]) <= MINI_TASK.radius;
    const end = (success: boolean): void => {
      this.trials.push({ target: this.trial % 8, success, bins: this.trialBins });
      this.events.push(`${success ? 'success' : 'timeout'} trial=${this.trial}`, 'iti');
      this.trial++;
      this.state = 'iti';
      this.inState = 0;
    };
    if (this.trialBins >= MINI_TASK.timeoutBins) end(false);
    else if (this.state === 'target_on' && inside) { this.state = 'hold'; this.inState = 0; this.events.push(`hold trial=${this.trial}`); }
    else if (this.state === 'hold' && !inside) { this.state = 'target_on'; this.inState = 0; this.events.push(`target_on trial=${this.trial} reentry`); }
    else if (this.state === 'hold' && this.inState >= MINI_TASK.holdBins) end(true);
  }
}
