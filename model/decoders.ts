/**
 * The decoders one model file holds, by name: LangevinFlow (the OnlineFilter) and the baselines
 * calibration fitted on the same bins (model/baselines.ts). Each is a filter with
 * stepUnchecked(counts) → { velocity } and reset(), allocation-free per bin, so the daemon runs and
 * swaps any of them the same way.
 */
import { DECODERS, META_BASELINES, type DecoderName } from './baselines.js';
import { DecoderError } from './errors.js';
import { OnlineFilter, type FilterOptions } from './filter.js';
import { KalmanFilter } from './kalman-filter.js';
import type { LangevinModel } from './model-file.js';
import { WienerFilter } from './wiener-filter.js';

export type Decoder = OnlineFilter | WienerFilter | KalmanFilter;

/** What Decoded.modelId says for a decoder: the model's id, with `/wiener` or `/kalman` for a baseline. */
export function decoderId(model: Pick<LangevinModel, 'id'>, name: DecoderName): string {
  return name === 'langevinflow' ? model.id : `${model.id}/${name}`;
}

/** Which decoder a Decoded.modelId (or the daemon's running model id) names: decoderId's inverse. */
export function decoderOfId(id: string): { modelId: string; decoder: DecoderName } {
  for (const d of DECODERS) if (d !== 'langevinflow' && id.endsWith(`/${d}`)) return { modelId: id.slice(0, -d.length - 1), decoder: d };
  return { modelId: id, decoder: 'langevinflow' };
}

/** Decoders this model can run. */
export function availableDecoders(model: Pick<LangevinModel, 'baselines'>): DecoderName[] {
  return DECODERS.filter((d) => d === 'langevinflow' || model.baselines[d] !== undefined);
}

/** A fresh decoder (from its reset state); DecoderError (ENOBASELINE) when the file has no such baseline. */
export function createDecoder(model: LangevinModel, name: DecoderName, opts: FilterOptions = {}): Decoder {
  const { n_in, velocity_labels } = model.config;
  if (name === 'langevinflow') return new OnlineFilter(model, opts);
  const b = name === 'wiener' ? model.baselines.wiener : name === 'kalman' ? model.baselines.kalman : undefined;
  if (!(DECODERS as readonly string[]).includes(name)) throw new DecoderError(`unknown decoder "${String(name)}" (known: ${DECODERS.join(', ')})`);
  if (!b) {
    const tensors = name === 'wiener' ? 'baseline.wiener.weight/bias' : 'baseline.kalman.A/Q/C/R/x0';
    throw new DecoderError(`model ${model.id} has no ${name === 'wiener' ? 'Wiener' : 'Kalman'} baseline (no ${tensors} tensors and no "${name}" in __metadata__["${META_BASELINES}"]); it holds ${availableDecoders(model).join(', ')}. Calibrate again, or add them: langevind calibrate RECORDING.xdf --baselines-only --model MODEL --out MODEL`);
  }
  return name === 'wiener' ? new WienerFilter(model.baselines.wiener!, n_in, velocity_labels.length) : new KalmanFilter(model.baselines.kalman!, n_in, velocity_labels.length);
}
