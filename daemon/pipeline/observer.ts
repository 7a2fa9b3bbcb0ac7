/**
 * Whatever watches the bin path without being an output: the recorder, the dashboard's live feed,
 * the control plane's readout. The pipeline calls each observer in its `observers` list (which may
 * be changed between bins) synchronously on the bin path: observers must not allocate or block,
 * and must copy what they keep (the bin and the Decoded are reused).
 */
import type { Decoded, SpikeBin } from '../../streams/types.js';
import type { RejectKind } from '../validate.js';

export interface PipelineObserver {
  /** A bin passed validation, before the filter steps it. */
  accepted?(bin: SpikeBin): void;
  /** A bin was decoded and every output has taken it. */
  decoded?(d: Decoded, bin: SpikeBin): void;
  /**
   * A message was refused. `detail` says why in words. `bin` is the bin as decoded, absent for an
   * `undecodable` message, for which `raw` holds the frames as received. `receivedNs` is the
   * message's arrival either way.
   */
  rejected?(kind: RejectKind, detail: string, bin: SpikeBin | undefined, raw: readonly Uint8Array[] | undefined, receivedNs: number): void;
}
