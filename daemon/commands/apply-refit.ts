/**
 * `recalibrate --apply`: a ReFIT result swapped into the running daemon through its control API,
 * between two bins. The LangevinFlow readout goes in with POST /readout (the filter's state is
 * kept); a ReFIT-KF model with POST /model, state carried, into a daemon that decodes with the
 * Kalman baseline. Either is refused unless the daemon runs the model the block was refitted from
 * (checked before the fit, and again by the daemon at the swap: `expect_model_id`), so a refit of
 * one model's block is never swapped into another silently; `force` skips the model check only.
 */
import { resolve } from 'node:path';
import { decoderId, decoderOfId } from '../../model/decoders.js';
import { ControlClientError, controlBaseUrl, controlRequest, type ClientOptions } from '../control/client.js';
import type { SwapReport } from '../control/target.js';

export type RefitDecoder = 'langevinflow' | 'kalman';

export interface ApplyTarget {
  client: ClientOptions;
  decoder: RefitDecoder;
  /** The id of the model the block was refitted from (--model). */
  fromModel: string;
  force: boolean;
}

/** The running id the daemon must report: the model's, with `/kalman` for ReFIT-KF (decoderId). */
export function expectedRunningId(t: Pick<ApplyTarget, 'decoder' | 'fromModel'>): string {
  return decoderId({ id: t.fromModel }, t.decoder);
}

/**
 * Why this daemon must not get the refit (null: it may). Pure, so the refusals are tested
 * without a daemon. The decoder kind is never forced: a readout has no place in a baseline
 * decoder, and a ReFIT-KF model loaded into LangevinFlow would change nothing it decodes.
 */
export function refusal(t: Pick<ApplyTarget, 'decoder' | 'fromModel' | 'force'>, runningId: string): string | null {
  const running = decoderOfId(runningId);
  if (running.decoder !== t.decoder)
    return `the daemon decodes with ${running.decoder} (model ${runningId}); ${t.decoder === 'kalman' ? 'a ReFIT-KF model is applied to a daemon started with --decoder kalman' : 'a readout refit is applied to a daemon decoding with LangevinFlow (the default --decoder)'}`;
  const want = expectedRunningId(t);
  if (runningId !== want && !t.force)
    return `the daemon runs model ${runningId}, but this block was refitted from ${want}; a refit of another model's block is not swapped in (--force applies it anyway)`;
  return null;
}

/** GET /status and the check, before the fit: an unreachable or wrong daemon fails in a second, not after it. */
export async function checkApplyTarget(t: ApplyTarget): Promise<string> {
  const { body } = await controlRequest<{ model_id: string }>(t.client, 'GET', '/status');
  const why = refusal(t, body.model_id);
  if (why) throw new ControlClientError('EMODELMISMATCH', `recalibrate --apply (${controlBaseUrl(t.client.url)}): ${why}`);
  return body.model_id;
}

/** Swaps the refit model file `out` in; the daemon takes the path only under its --model-dir. */
export async function applyRefit(t: ApplyTarget, out: string): Promise<SwapReport> {
  const expect = t.force ? {} : { expect_model_id: expectedRunningId(t) };
  const path = resolve(out);
  const { body } = t.decoder === 'kalman'
    ? await controlRequest<{ swapped: SwapReport }>(t.client, 'POST', '/model', { path, state: 'carry', ...expect })
    : await controlRequest<{ swapped: SwapReport }>(t.client, 'POST', '/readout', { path, ...expect });
  return body.swapped;
}
