/**
 * `langevind recalibrate CLOSED_LOOP.xdf --model M --out M2`: one ReFIT round (closedloop/refit/).
 * The recording needs the spike bins, the daemon's decoded velocity (`langevind-decoded`) and the
 * task's cursor, target and markers; a recording without them is refused, naming what is missing.
 */
import { parseArgs } from 'node:util';
import { recalibrate } from '../../closedloop/refit/recalibrate.js';
import { RecalibrateError } from '../../closedloop/refit/recording.js';

const USAGE = `usage: langevind recalibrate CLOSED_LOOP.xdf --model M.safetensors --out M2.safetensors
  ReFIT (Gilja et al. 2012): estimates the intention in every bin of a closed-loop block (the decoded
  velocity turned towards the target, its speed kept; zero during the hold), refits the model's velocity
  readout on those bins by ridge regression over the filter's own causal features, and writes the new
  model. Apply it live with the control plane's readout swap.`;

export const usage = USAGE;

export async function main(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { model: { type: 'string', short: 'm' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new RecalibrateError('EUSAGE', `recalibrate: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new RecalibrateError('EUSAGE', `recalibrate: give exactly one recording, got ${positionals.length}`);
  if (!values.model) throw new RecalibrateError('EUSAGE', 'recalibrate: --model M.safetensors is required');
  if (!values.out) throw new RecalibrateError('EUSAGE', 'recalibrate: --out M2.safetensors is required');
  const r = await recalibrate({ recording: positionals[0], model: values.model, out: values.out, log: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(JSON.stringify({
    out: values.out, model_id: r.refit.model.id, from_model: r.from, bins: r.block.bins, usable_bins: r.block.usable, trials: r.block.trials,
    alpha: r.refit.alpha, cv_r2: r.refit.cvR2, r2_before: r.refit.before, r2_after: r.refit.after,
  }) + '\n');
  return 0;
}
