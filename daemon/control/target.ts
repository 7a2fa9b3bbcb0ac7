/**
 * What the control plane needs of a running daemon. `langevind run` implements it
 * (daemon/control/daemon-target.ts); the HTTP server and the Prometheus collector only see this,
 * so neither knows about transports, the pipeline's internals or the filter.
 */
import type { Histogram } from '../histogram.js';
import type { Stage } from '../metrics.js';

/** The pipeline's counters, read at scrape time (never copied on the bin path). */
export interface LiveCounters {
  messagesReceived: number;
  binsAccepted: number;
  binsDecoded: number;
  rejects: Readonly<Record<string, number>>;
  gaps: number;
  gapBins: number;
  filledBins: number;
  resets: number;
  restarts: number;
  reconnects: Readonly<Record<string, number>>;
  hotSwaps: Readonly<Record<'model' | 'readout', number>>;
  internalErrors: number;
  nonFiniteResets: number;
}

export interface OutputInfo {
  uri: string;
  sent: number;
  dropped: number;
  /** Connected subscribers, where the transport knows (undefined: unknown). */
  subscribers?: number;
}

export type CarryPolicy = 'reset' | 'carry';

/** What a swap did, as /model and /readout answer and log it. */
export interface SwapReport {
  kind: 'model' | 'readout';
  model_id: string;
  previous_model_id: string;
  state: CarryPolicy;
  /** The last bin decoded before the swap (-1: none yet). */
  after_seq: number;
  /** Off-bin-path work: loading in the worker, building and warming the filter (ms). */
  prepare_ms: number;
  /** Longest single slice of work the event loop ran between bins (ms). */
  longest_slice_ms: number;
  /** Slices the preparation took, and whether the weights went into the previous filter's buffers in place. */
  slices?: number;
  in_place?: boolean;
  path?: string;
  /** With `run --hugepages on` (a LangevinFlow reload): the bytes of the swapped-in filter's memory advised into 2 MiB pages, and whether they were collapsed at once; null when it has none. */
  huge_pages?: { bytes: number; collapsed: boolean } | null;
}

export interface RecordingInfo {
  path: string;
  started_at: string;
}

/** Weights for a readout swap, as parsed and shape-checked by readout.ts. */
export interface ReadoutWeights {
  weight: Float32Array;
  bias: Float32Array;
  source: string;
  /** The .safetensors file they came from (undefined for JSON): a whole model file may name the result. */
  file?: string;
}

export interface ControlTarget {
  readonly version: string;
  readonly configHash: string;
  readonly binMs: number;
  readonly startedNs: number;
  modelId(): string;
  counters(): LiveCounters;
  latency(stage: Stage): Histogram;
  outputs(): OutputInfo[];
  /** The SIGINT summary, now. */
  summary(): unknown;
  /** Monotonic ns of the last decoded bin, 0 before the first. */
  lastBinNs(): number;
  /** Euclidean norms of the filter state's parts (z, v, h). */
  stateNorms(): { z: number; v: number; h: number };
  modelError(): string | null;
  reconnecting(): string | null;
  lastSwap(): SwapReport | null;

  /**
   * Loads, checks, warms up off the bin path and swaps between two bins. Throws ControlError;
   * EMODELMISMATCH when expectModelId is given and is not the running model's id.
   */
  reloadModel(path: string, state: CarryPolicy, expectModelId?: string): Promise<SwapReport>;
  /** The readout's expected shape, for readout.ts: K rows, `features` columns (409 when the decoder has no readout). */
  readoutShape(): { rows: number; cols: number };
  swapReadout(w: ReadoutWeights, expectModelId?: string): Promise<SwapReport>;
  /** The filter resets at the next bin. */
  resetFilter(): void;
  startRecording(path: string): Promise<RecordingInfo>;
  stopRecording(): Promise<RecordingInfo & { stopped_at: string }>;
  recording(): RecordingInfo | null;
}
