/**
 * The two records that flow through langevind: one SpikeBin from a source to the filter, one
 * Decoded from the filter to the sinks. The wire forms are the protobuf messages of the same
 * names in proto/langevind.proto.
 */

export interface SpikeBin {
  /** Increments by one per bin at the source. */
  seq: number;
  /** Seconds, the source's clock, end of the bin. */
  timestamp: number;
  /** Spike counts, one per channel (non-negative integers). */
  counts: ArrayLike<number>;
  binMs: number;
  streamId: string;
  /** Monotonic receive stamp in ns (performance.now() × 1e6 at arrival), 0 when not yet received. */
  receivedNs: number;
}

export interface Decoded {
  /** seq and timestamp of the bin this decodes. */
  seq: number;
  timestamp: number;
  /** Decoded hand velocity, one entry per velocity label. Owned by the producer; copy to keep. */
  velocity: Float32Array;
  receivedNs: number;
  decodedNs: number;
  sentNs: number;
  modelId: string;
  /** streamId of the bin this decodes (optional: producers that do not know it leave it out). */
  streamId?: string;
}

/** Monotonic clock in ns as a double (µs resolution, allocation-free). */
export function monotonicNs(): number {
  return performance.now() * 1e6;
}
