/**
 * `langevind reload --model F [--state reset|carry]`: POST /model to a running daemon, which
 * loads F, checks it fits the stream, warms it up off the bin path and swaps it in between two
 * bins. F is taken relative to this shell's directory; the daemon accepts it only under its
 * --model-dir.
 */
import { resolve } from 'node:path';
import { ControlClientError, controlRequest } from '../control/client.js';
import type { SwapReport } from '../control/target.js';
import { CLIENT_USAGE, parseClientArgs } from './control-args.js';

const USAGE = `usage: langevind reload --model FILE [--state reset|carry] [--control URL] [--token-file F]

  Swaps a new model into a running daemon between two bins, without losing a bin.
  --model FILE            the model (.safetensors) under the daemon's --model-dir; same n_in, bin
                          width and velocity labels as the running one
  --state reset|carry     start the new filter from a reset state (default) or carry the running
                          state over (same state shape only)
${CLIENT_USAGE}`;

export { USAGE as usage };

export async function main(argv: string[]): Promise<number> {
  const a = parseClientArgs('reload', argv, { model: { type: 'string' }, state: { type: 'string' } });
  if (!a) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const model = a.values.model as string | undefined;
  if (!model) throw new ControlClientError('EUSAGE', 'reload: --model FILE is required');
  const state = (a.values.state as string | undefined) ?? 'reset';
  if (state !== 'reset' && state !== 'carry') throw new ControlClientError('EUSAGE', `reload: --state must be reset or carry, got "${state}"`);
  const { body } = await controlRequest<{ swapped: SwapReport }>(a.client, 'POST', '/model', { path: resolve(model), state });
  const s = body.swapped;
  process.stdout.write(`swapped in model ${s.model_id} (was ${s.previous_model_id}) after seq ${s.after_seq}, state ${s.state}; prepared in ${s.prepare_ms} ms, longest slice ${s.longest_slice_ms} ms\n`);
  return 0;
}
