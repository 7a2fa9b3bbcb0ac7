/**
 * The records that flow through langevind: one SpikeBin from a source to the filter, one Decoded
 * from the filter to the sinks, and the Incoming envelope a source emits for every message it takes
 * off its transport (a decoded bin, or the reason it did not decode and the raw frames). The wire
 * forms are the protobuf messages of the same names in proto/langevind.proto.
 *
 * Clocks: `timestamp` is the source's clock (the rig's), copied through unchanged. `receivedNs`
 * (monotonicNs(), this process) and `receivedLslTime` (this machine's LSL local clock, seconds,
 * streams/lsl/clock.ts) are one arrival stamp taken when the message came off the transport; every
 * output derives the times it sends from them, never from `timestamp`.
 */
import type { Observable } from 'rxjs';

export interface SpikeBin {
  /** Increments by one per bin at the source. */
  seq: number;
  /** Seconds, the source's clock, end of the bin. */
  timestamp: number;
  /** Spike counts, one per channel (non-negative integers). */
  counts: ArrayLike<number>;
  binMs: number;
  streamId: string;
  /** Arrival, monotonicNs() when the message was taken off the transport; 0 when not yet received. */
  receivedNs: number;
  /** The same arrival on this machine's LSL local clock (s): lslTimeOfNs(receivedNs). */
  receivedLslTime: number;
}

export interface Decoded {
  /** seq and timestamp (source clock) of the bin this decodes. */
  seq: number;
  timestamp: number;
  /** Decoded hand velocity, one entry per velocity label. Owned by the producer; copy to keep. */
  velocity: Float32Array;
  /** The bin's arrival (SpikeBin.receivedNs / receivedLslTime). */
  receivedNs: number;
  receivedLslTime: number;
  /** monotonicNs() when the filter finished the bin. */
  decodedNs: number;
  /** monotonicNs() when a sink handed this message to its transport: each sink stamps it itself. */
  sentNs: number;
  modelId: string;
  /** streamId of the bin this decodes (optional: producers that do not know it leave it out). */
  streamId?: string;
}

/**
 * What a source emits per message taken off its transport. One object, reused for the next
 * message: read it synchronously. When `undecodable` is null, `bin` is the decoded bin; otherwise
 * `undecodable` says why the message is not a SpikeBin, `raw` holds its frames as received, and of
 * `bin` only the arrival stamps (receivedNs, receivedLslTime) are meaningful.
 */
export interface Incoming {
  bin: SpikeBin;
  undecodable: string | null;
  raw: readonly Uint8Array[] | null;
}

/** A source: subscribed once; unsubscribing releases the transport; closing ends it quietly. */
export type Source = Observable<Incoming>;

/** Where decodes go. next() is called on the real-time path: synchronous, never blocks, never throws on a slow peer. */
export interface DecodedSink {
  /**
   * Sends (or queues) one decode, stamping `d.sentNs` as it hands the message to its transport.
   * `d` is reused by the caller after this returns: copy what you keep.
   */
  next(d: Decoded): void;
  /** Flushes what is queued (bounded wait) and releases the transport. */
  close(): Promise<void>;
  /** `subscribers`: consumers connected now, where the transport knows (the control plane warns at 0). */
  stats(): { sent: number; dropped: number; subscribers?: number };
}

/** Monotonic clock in ns as a double (µs resolution, allocation-free). */
export function monotonicNs(): number {
  return performance.now() * 1e6;
}

/** A fresh SpikeBin with no content (sources allocate one and reuse it). */
export function emptySpikeBin(): SpikeBin {
  return { seq: 0, timestamp: 0, counts: new Float64Array(0), binMs: 0, streamId: '', receivedNs: 0, receivedLslTime: 0 };
}
