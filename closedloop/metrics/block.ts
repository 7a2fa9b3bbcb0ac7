/**
 * Per-block closed-loop metrics: the success rate, and the mean and median (nearest rank, the
 * project's one percentile) of each trial metric over the trials that define it, for the block
 * and per target. Pure functions.
 */
import { percentileSorted } from '../../report/stats.js';
import { trialMetrics, type TrialMetrics, type TrialRecord } from './trial.js';

export const TRIAL_STATS = ['timeToTarget', 'dialIn', 'pathEfficiency', 'exits', 'overshoot', 'reentries', 'orbit', 'throughput'] as const;
export type TrialStat = (typeof TRIAL_STATS)[number];

export interface Stat {
  /** Trials that define the metric. */
  n: number;
  mean: number | null;
  median: number | null;
}

export interface Summary {
  trials: number;
  successes: number;
  timeouts: number;
  aborted: number;
  /** Successes ÷ trials that were not aborted (an abort is the daemon's failure, not the decoder's). */
  successRate: number | null;
  stats: Record<TrialStat, Stat>;
}

export interface BlockMetrics {
  /** What was tested, e.g. the decoder or model id. */
  label: string;
  block: Summary;
  /** Per target index (−1 = centre), ascending. */
  perTarget: ({ target: number } & Summary)[];
  trials: TrialMetrics[];
}

function stat(values: (number | null)[]): Stat {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, mean: null, median: null };
  return { n: v.length, mean: v.reduce((s, x) => s + x, 0) / v.length, median: percentileSorted(v, 50) };
}

export function summarizeTrials(trials: readonly TrialMetrics[]): Summary {
  const successes = trials.filter((t) => t.success).length;
  const aborted = trials.filter((t) => t.outcome === 'aborted').length;
  const counted = trials.length - aborted;
  const stats = {} as Record<TrialStat, Stat>;
  for (const k of TRIAL_STATS) stats[k] = stat(trials.map((t) => t[k]));
  return { trials: trials.length, successes, timeouts: trials.filter((t) => t.outcome === 'timeout').length, aborted, successRate: counted > 0 ? successes / counted : null, stats };
}

export function blockMetrics(label: string, records: readonly TrialRecord[]): BlockMetrics {
  const trials = records.map(trialMetrics);
  const targets = [...new Set(trials.map((t) => t.target))].sort((a, b) => a - b);
  return {
    label,
    block: summarizeTrials(trials),
    perTarget: targets.map((target) => ({ target, ...summarizeTrials(trials.filter((t) => t.target === target)) })),
    trials,
  };
}
