/**
 * The tensor names and shapes of a langevind model file: PyTorch state_dict names and layouts of
 * the equivalent modules (Linear weights [out, in]; GRUCell gates stacked r, z, n), so that the
 * calibration side and the online filter, or a PyTorch port, can load each other's models.
 */
import { dims, type ModelConfig } from './config.js';

export function tensorShapes(cfg: ModelConfig): Record<string, number[]> {
  const { nIn, nOut, H, D, C, d, F, K, features } = dims(cfg);
  const linear = (prefix: string, out: number, inp: number): Record<string, number[]> => ({
    [`${prefix}.weight`]: [out, inp],
    [`${prefix}.bias`]: [out],
  });
  return {
    'encoder.weight_ih': [3 * H, nIn],
    'encoder.weight_hh': [3 * H, H],
    'encoder.bias_ih': [3 * H],
    'encoder.bias_hh': [3 * H],
    ...linear('ic.z_mean', D, H),
    ...linear('ic.z_logvar', D, H),
    ...linear('ic.v_mean', D, H),
    ...linear('ic.v_logvar', D, H),
    ...linear('correction.mean', D, H),
    ...linear('correction.logvar', D, H),
    'potential.kernel': [C, C, 3],
    'decoder.self_attn.in_proj_weight': [3 * d, d],
    'decoder.self_attn.in_proj_bias': [3 * d],
    ...linear('decoder.self_attn.out_proj', d, d),
    ...linear('decoder.linear1', F, d),
    ...linear('decoder.linear2', d, F),
    'decoder.norm1.weight': [d],
    'decoder.norm1.bias': [d],
    'decoder.norm2.weight': [d],
    'decoder.norm2.bias': [d],
    ...linear('readout', nOut, d),
    ...linear('velocity', K, features),
  };
}

export function parameterCount(cfg: ModelConfig): number {
  return Object.values(tensorShapes(cfg)).reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
}
