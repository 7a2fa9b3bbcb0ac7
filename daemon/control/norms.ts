/** Norms of the latent state's parts, for the langevind_filter_state_norm gauge. Pure. */

function norm(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** `state` starts with the token [z (D), v (D), h (H)] (model/filter.ts FilterSnapshot). */
export function stateNorms(state: Float32Array, D: number, H: number): { z: number; v: number; h: number } {
  return { z: norm(state, 0, D), v: norm(state, D, 2 * D), h: norm(state, 2 * D, 2 * D + H) };
}
