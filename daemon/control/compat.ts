/**
 * Whether a model may replace the running one mid-stream: the input and output contracts must be
 * the same (channel count, bin width, velocity labels), else the stream would be decoded wrong.
 * Carrying the filter state over also needs the same state shape. Pure: returns the reasons.
 */
import { dims, type ModelConfig } from '../../model/config.js';
import type { CarryPolicy } from './target.js';

export function swapConflicts(current: ModelConfig, next: ModelConfig, state: CarryPolicy): string[] {
  const out: string[] = [];
  if (next.n_in !== current.n_in) out.push(`n_in is ${next.n_in}, the running model has ${current.n_in}`);
  if (next.bin_ms !== current.bin_ms) out.push(`bin_ms is ${next.bin_ms}, the running model has ${current.bin_ms}`);
  const a = current.velocity_labels.join(','), b = next.velocity_labels.join(',');
  if (a !== b) out.push(`velocity labels are [${b}], the running model has [${a}]`);
  if (state === 'carry') {
    // The state is [z, v, h], the KV cache per head and the readout's feature history.
    const shape = (c: ModelConfig): string => {
      const m = dims(c);
      return JSON.stringify([m.D, m.H, m.heads, m.W, m.nOut, c.velocity_features]);
    };
    if (shape(next) !== shape(current))
      out.push('state "carry" needs the same latent, hidden, heads, window, n_out and readout features; use "reset"');
  }
  return out;
}
