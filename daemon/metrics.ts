/**
 * What the daemon counts and times. Three latency stages per decoded bin, in ns on the monotonic
 * clock (streams/types.ts monotonicNs):
 *   receive→decoded  message taken off the transport → filter step done
 *   decoded→sent     filter step done → every sink has taken the message
 *   receive→sent     the sum: the daemon's whole contribution to end-to-end latency
 * Counters never allocate; summary() is for the end of a run and for status lines.
 */
import { Histogram, type HistogramSummary } from './histogram.js';
import { REJECT_KINDS, type RejectKind } from './validate.js';

export type Stage = 'receive_to_decoded' | 'decoded_to_sent' | 'receive_to_sent';
export const STAGES: readonly Stage[] = ['receive_to_decoded', 'decoded_to_sent', 'receive_to_sent'];

export interface SinkStats {
  uri: string;
  sent: number;
  dropped: number;
  /** Consumers connected now, where the transport knows. */
  subscribers?: number;
}

/** Input reconnect reasons the ZeroMQ source reports (streams/zmq); others are counted as they come. */
export const RECONNECT_REASONS: readonly string[] = ['protocol', 'handshake', 'peer_gone'];
export type HotSwapKind = 'model' | 'readout';

/** The summary printed at SIGINT and served by GET /status (snake_case, as in the README). */
export interface RunSummary {
  /** Every message or sample taken off the input transport, decodable or not. */
  messages_received: number;
  /** Bins that passed validation. */
  bins_accepted: number;
  /** Bins stepped through the filter and handed to the outputs. */
  bins_decoded: number;
  /** Messages refused, by kind (an undecodable message is one of them). */
  rejects: Record<RejectKind, number>;
  /** Gap events (a jump of more than one in seq) and the bins they skipped. */
  gaps: number;
  gap_bins: number;
  /** Bins the filter stepped with zero input (gap policy `zeros`, and bins rejected for their content). */
  filled_bins: number;
  /** Filter resets: gap policy `reset`, a gap beyond max_gap, a source restart, or asked for. */
  resets: number;
  /** Source restarts: seq jumped far back, or a new stream took over a silent one. */
  restarts: number;
  /** Input connections re-established, by reason. */
  input_reconnects: Record<string, number>;
  hot_swaps: Record<HotSwapKind, number>;
  /** Exceptions caught on the real-time path (should stay 0). */
  internal_errors: number;
  /** Bins whose decode came out NaN or infinite: the filter was reset and zero velocity sent instead. */
  nonfinite_resets: number;
  outputs: SinkStats[];
  /** Latency per stage in microseconds. */
  latency_us: Record<Stage, HistogramSummary>;
  uptime_s: number;
}

export class Metrics {
  messagesReceived = 0;
  binsAccepted = 0;
  binsDecoded = 0;
  gaps = 0;
  gapBins = 0;
  filledBins = 0;
  resets = 0;
  restarts = 0;
  internalErrors = 0;
  nonFiniteResets = 0;
  readonly rejects: Record<RejectKind, number> = Object.fromEntries(REJECT_KINDS.map((k) => [k, 0])) as Record<RejectKind, number>;
  readonly reconnects: Record<string, number> = Object.fromEntries(RECONNECT_REASONS.map((k) => [k, 0]));
  readonly hotSwaps: Record<HotSwapKind, number> = { model: 0, readout: 0 };
  readonly latency: Record<Stage, Histogram> = {
    receive_to_decoded: new Histogram(),
    decoded_to_sent: new Histogram(),
    receive_to_sent: new Histogram(),
  };
  private readonly started = performance.now();

  /** One decoded bin's stamps (ns). */
  recordLatency(receivedNs: number, decodedNs: number, sentNs: number): void {
    this.latency.receive_to_decoded.record(small(decodedNs - receivedNs));
    this.latency.decoded_to_sent.record(small(sentNs - decodedNs));
    this.latency.receive_to_sent.record(small(sentNs - receivedNs));
  }

  /**
   * The same from a stamps array [received, decoded, sent]: passing a typed array instead of
   * three doubles keeps V8 from boxing each stamp in a heap number on every bin.
   */
  recordStamps(stamps: Float64Array): void {
    const r = stamps[0], d = stamps[1], s = stamps[2];
    this.latency.receive_to_decoded.record(small(d - r));
    this.latency.decoded_to_sent.record(small(s - d));
    this.latency.receive_to_sent.record(small(s - r));
  }

  get rejectsTotal(): number {
    let n = 0;
    for (const k of REJECT_KINDS) n += this.rejects[k];
    return n;
  }

  summary(outputs: SinkStats[] = []): RunSummary {
    return {
      messages_received: this.messagesReceived,
      bins_accepted: this.binsAccepted,
      bins_decoded: this.binsDecoded,
      rejects: { ...this.rejects },
      gaps: this.gaps,
      gap_bins: this.gapBins,
      filled_bins: this.filledBins,
      resets: this.resets,
      restarts: this.restarts,
      input_reconnects: { ...this.reconnects },
      hot_swaps: { ...this.hotSwaps },
      internal_errors: this.internalErrors,
      nonfinite_resets: this.nonFiniteResets,
      outputs,
      latency_us: {
        receive_to_decoded: round(this.latency.receive_to_decoded.summary(1000)),
        decoded_to_sent: round(this.latency.decoded_to_sent.summary(1000)),
        receive_to_sent: round(this.latency.receive_to_sent.summary(1000)),
      },
      uptime_s: Math.round((performance.now() - this.started) / 100) / 10,
    };
  }
}

/**
 * Latencies below 2^30 ns (~1 s) as small integers, which V8 passes without allocating; longer
 * ones stay doubles (the histogram truncates either way).
 */
function small(ns: number): number {
  return ns >= 0 && ns < 1073741824 ? ns | 0 : ns;
}

function round(s: HistogramSummary): HistogramSummary {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { count: s.count, min: r(s.min), mean: r(s.mean), p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), p999: r(s.p999), max: r(s.max) };
}

/** The summary as a few lines of text for people. */
export function formatSummary(s: RunSummary): string {
  const nonzero = (r: Record<string, number>): string => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const dropped = s.outputs.reduce((a, o) => a + o.dropped, 0);
  const lines = [
    `messages received ${s.messages_received}, bins accepted ${s.bins_accepted}, decoded ${s.bins_decoded}; gaps ${s.gaps} (${s.gap_bins} bins missing, ${s.filled_bins} filled), resets ${s.resets}, restarts ${s.restarts}`,
    `rejects: ${nonzero(s.rejects)}; input reconnects: ${nonzero(s.input_reconnects)}; hot swaps: ${nonzero(s.hot_swaps)}; dropped on output ${dropped}${s.internal_errors ? `; INTERNAL ERRORS ${s.internal_errors}` : ''}${s.nonfinite_resets ? `; NON-FINITE DECODES ${s.nonfinite_resets} (filter reset, zero velocity sent)` : ''}`,
    `latency (µs)         p50      p99    p99.9      max`,
  ];
  for (const [k, h] of Object.entries(s.latency_us)) {
    const f = (v: number) => v.toFixed(1).padStart(8);
    lines.push(`  ${k.padEnd(18)}${f(h.p50)} ${f(h.p99)} ${f(h.p999)} ${f(h.max)}`);
  }
  for (const o of s.outputs) lines.push(`  output ${o.uri}: sent ${o.sent}, dropped ${o.dropped}`);
  return lines.join('\n');
}
