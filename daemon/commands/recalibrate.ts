/**
 * `langevind recalibrate CLOSED_LOOP.xdf --model M --out M2`: one ReFIT round (closedloop/refit/).
 * The recording needs the spike bins, the daemon's decoded velocity (`langevind-decoded`) and the
 * task's cursor, target and markers; a recording without them is refused, naming what is missing.
 */
import { parseArgs } from 'node:util';
import { ON_TARGET, type OnTarget } from '../../closedloop/refit/intention.js';
import { recalibrate } from '../../closedloop/refit/recalibrate.js';
import { RecalibrateError } from '../../closedloop/refit/recording.js';
import { loadModel } from '../../model/model-file.js';
import { ControlClientError, controlBaseUrl } from '../control/client.js';
import type { SwapReport } from '../control/target.js';
import { applyRefit, checkApplyTarget, type ApplyTarget } from './apply-refit.js';
import { CLIENT_OPTIONS, CLIENT_USAGE, clientOptions } from './control-args.js';

const USAGE = `usage: langevind recalibrate CLOSED_LOOP.xdf --model M.safetensors --out M2.safetensors [--decoder langevinflow|kalman]
                             [--on-target zero|skip] [--fitted-speed] [--apply [--control URL] [--token-file F] [--force]]
  ReFIT (Gilja et al. 2012): estimates the intention in every bin of a closed-loop block (the decoded
  velocity turned towards the target, its speed kept; zero during the hold), refits the model's velocity
  readout on those bins by ridge regression over the filter's own causal features, and writes the new
  model. The fitted readout is scaled to decode the labels' speed on the reach bins (a least-squares fit
  to them, on-target zeros included, comes out slower than the decoder it refits); --fitted-speed keeps
  the fit as it is. --on-target skip leaves the bins on the target out instead of labelling them zero (for a
  user who keeps aiming at the centre while inside). Prints one JSON line: the refit's figures, and with --apply the swap report ("swapped").
  --decoder kalman: ReFIT-KF instead: the model's Kalman baseline gets a new observation model (C, R)
  fitted on the estimated intention as velocity (no position term); A, Q and the LangevinFlow weights
  are kept. Run it on a block the Kalman filter drove.
  --apply                 then swap M2 into the running daemon between two bins: the readout with
                          POST /readout (the filter state kept; the daemon then runs M2, by its id),
                          or for --decoder kalman M2 with POST /model, state carried, into a daemon
                          started with --decoder kalman. --out must be under the daemon's --model-dir.
                          Refused (nothing fitted or swapped) when the daemon cannot be reached
                          [ECONTROLCONNECT] or does not run M (with the decoder asked) [EMODELMISMATCH];
                          a readout of another shape is refused by the daemon [EINCOMPATIBLE]
  --force                 apply even when the daemon runs another model than M (same decoder only)
${CLIENT_USAGE}`;

export const usage = USAGE;

export async function main(argv: string[]): Promise<number> {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string', short: 'm' }, out: { type: 'string', short: 'o' }, decoder: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        apply: { type: 'boolean' }, force: { type: 'boolean' }, 'fitted-speed': { type: 'boolean' }, 'on-target': { type: 'string' }, ...CLIENT_OPTIONS,
      },
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
  const decoder = values.decoder ?? 'langevinflow';
  if (decoder !== 'langevinflow' && decoder !== 'kalman') throw new RecalibrateError('EUSAGE', `recalibrate: --decoder must be langevinflow or kalman, got "${decoder}"`);
  if (!values.apply && (values.force || values.control !== undefined || values['token-file'] !== undefined))
    throw new RecalibrateError('EUSAGE', 'recalibrate: --force, --control and --token-file go with --apply');
  const log = (s: string): void => { process.stderr.write(s + '\n'); };
  let target: ApplyTarget | undefined;
  if (values.apply) {
    target = { client: clientOptions(values), decoder, fromModel: loadModel(values.model).id, force: values.force === true };
    const running = await checkApplyTarget(target);
    log(`daemon at ${controlBaseUrl(target.client.url)} runs ${running}`);
  }
  if (values['fitted-speed'] && decoder === 'kalman') throw new RecalibrateError('EUSAGE', 'recalibrate: --fitted-speed is for the LangevinFlow readout; ReFIT-KF refits an observation model');
  const onTarget = (values['on-target'] ?? 'zero') as OnTarget;
  if (!ON_TARGET.includes(onTarget)) throw new RecalibrateError('EUSAGE', `recalibrate: --on-target must be ${ON_TARGET.join(' or ')}, got "${values['on-target']}"`);
  const r = await recalibrate({ recording: positionals[0], model: values.model, out: values.out, decoder, log, keepSpeed: !values['fitted-speed'], onTarget });
  let swapped: SwapReport | null = null;
  if (target) {
    try {
      swapped = await applyRefit(target, values.out);
    } catch (err) {
      if (!(err instanceof ControlClientError)) throw err;
      throw new ControlClientError(err.code, `recalibrate: ${values.out} was written but not applied: ${err.message}`, err.status);
    }
    log(`swapped in ${swapped.model_id} (was ${swapped.previous_model_id}) after seq ${swapped.after_seq}, ${swapped.kind} swap, state ${swapped.state}`);
  }
  process.stdout.write(JSON.stringify({
    out: values.out, decoder, model_id: r.refit.model.id, from_model: r.from, bins: r.block.bins, usable_bins: r.block.usable, trials: r.block.trials,
    alpha: r.refit.alpha, cv_r2: r.refit.cvR2, r2_before: r.refit.before, r2_after: r.refit.after,
    fitted_speed: Number.isFinite(r.refit.fittedSpeed) ? r.refit.fittedSpeed : null, speed_scale: r.refit.speedScale,
    swapped: swapped && { ...swapped, control: controlBaseUrl(target!.client.url) },
  }) + '\n');
  return 0;
}
