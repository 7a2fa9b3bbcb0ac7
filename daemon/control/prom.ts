/**
 * GET /metrics: the daemon's counters in Prometheus text format through prom-client. Nothing is
 * recorded for Prometheus on the bin path: every metric is read in a collect() callback at scrape
 * time from the counters and the HDR latency histograms the pipeline keeps anyway. The stage
 * latency histogram's cumulative buckets are derived from the HDR histogram at scrape time
 * (exact to its 0.2 % resolution), with buckets from 10 µs to 50 ms: prom-client's defaults
 * start at 5 ms, above almost every decode.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import { STAGES } from '../metrics.js';
import type { ControlTarget, LiveCounters } from './target.js';

export const LATENCY_BUCKETS_S = [10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3];

export interface MetricsExporter {
  readonly registry: Registry;
  /** The exposition text. */
  text(): Promise<string>;
  readonly contentType: string;
  close(): void;
}

/** A Counter whose value is set from `read` at each scrape. */
function counterFrom(reg: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name, help, registers: [reg],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/** The same with one label, one series per key of the record `read` returns. */
function labelledCounterFrom(reg: Registry, name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void {
  new Counter({
    name, help, labelNames: [label], registers: [reg],
    collect() {
      this.reset();
      for (const [k, v] of Object.entries(read())) this.inc({ [label]: k }, v);
    },
  });
}

/**
 * The stage latency histogram as a prom-client metric object: prom-client's Histogram can only
 * observe() values, and the values were already recorded once, into the HDR histograms.
 */
function stageHistogram(target: ControlTarget) {
  const name = 'langevind_stage_latency_seconds';
  const boundsNs = LATENCY_BUCKETS_S.map((s) => Math.round(s * 1e9));
  const counts = new Float64Array(boundsNs.length);
  return {
    name,
    help: 'Time inside the daemon per stage, per decoded bin (receive_to_decoded, decoded_to_sent, receive_to_sent)',
    type: 'histogram' as const,
    aggregator: 'sum' as const,
    labelNames: ['stage'],
    reset() {},
    async get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const stage of STAGES) {
        const h = target.latency(stage);
        h.cumulativeCounts(boundsNs, counts);
        LATENCY_BUCKETS_S.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { stage, le }, value: counts[i] }));
        values.push({ metricName: `${name}_bucket`, labels: { stage, le: '+Inf' }, value: h.count });
        values.push({ metricName: `${name}_sum`, labels: { stage }, value: h.sum / 1e9 });
        values.push({ metricName: `${name}_count`, labels: { stage }, value: h.count });
      }
      return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
    },
  };
}

export function createExporter(target: ControlTarget): MetricsExporter {
  const reg = new Registry();
  // One read of the counters per scrape, shared by every metric of that scrape.
  let snap: LiveCounters | null = null;
  let snapAt = -1;
  const c = (): LiveCounters => {
    const now = performance.now();
    if (snap === null || now !== snapAt) {
      snap = target.counters();
      snapAt = now;
    }
    return snap;
  };
  counterFrom(reg, 'langevind_messages_received_total', 'Messages or samples taken off the input transport, decodable or not', () => c().messagesReceived);
  counterFrom(reg, 'langevind_bins_accepted_total', 'Bins that passed validation', () => c().binsAccepted);
  counterFrom(reg, 'langevind_bins_decoded_total', 'Bins stepped through the filter and handed to the outputs', () => c().binsDecoded);
  labelledCounterFrom(reg, 'langevind_rejects_total', 'Input refused, by kind', 'kind', () => c().rejects);
  counterFrom(reg, 'langevind_gaps_total', 'Gaps in seq (jumps of more than one)', () => c().gaps);
  counterFrom(reg, 'langevind_gap_bins_total', 'Bins missing in those gaps', () => c().gapBins);
  counterFrom(reg, 'langevind_filled_bins_total', 'Bins stepped with zero input to fill gaps', () => c().filledBins);
  counterFrom(reg, 'langevind_resets_total', 'Filter resets', () => c().resets);
  counterFrom(reg, 'langevind_restarts_total', 'Source restarts detected (seq back, or a new stream)', () => c().restarts);
  labelledCounterFrom(reg, 'langevind_input_reconnects_total', 'Input reconnects, by reason', 'reason', () => c().reconnects);
  labelledCounterFrom(reg, 'langevind_hot_swaps_total', 'Models and readouts swapped in while running', 'kind', () => c().hotSwaps);
  counterFrom(reg, 'langevind_nonfinite_resets_total', 'Decodes that came out NaN or infinite: the filter was reset and zero velocity sent', () => c().nonFiniteResets);
  counterFrom(reg, 'langevind_internal_errors_total', 'Exceptions caught on the real-time path (should stay 0)', () => c().internalErrors);
  labelledCounterFrom(reg, 'langevind_output_drops_total', 'Decodes an output could not send (queue full, closed)', 'output',
    () => Object.fromEntries(target.outputs().map((o) => [o.uri, o.dropped])));
  labelledCounterFrom(reg, 'langevind_output_sent_total', 'Decodes handed to each output', 'output',
    () => Object.fromEntries(target.outputs().map((o) => [o.uri, o.sent])));
  reg.registerMetric(stageHistogram(target) as never);

  new Gauge({
    name: 'langevind_seconds_since_last_bin', help: 'Seconds since the last decoded bin (-1 before the first)', registers: [reg],
    collect() {
      const last = target.lastBinNs();
      this.set(last > 0 ? (performance.now() * 1e6 - last) / 1e9 : -1);
    },
  });
  new Gauge({
    name: 'langevind_filter_state_norm', help: 'Euclidean norm of the filter state: latent position z, velocity v, encoder state h', labelNames: ['part'], registers: [reg],
    collect() {
      const n = target.stateNorms();
      this.set({ part: 'z' }, n.z);
      this.set({ part: 'v' }, n.v);
      this.set({ part: 'h' }, n.h);
    },
  });
  new Gauge({
    name: 'langevind_info', help: 'Build and model: version, model id, hash of the run configuration', labelNames: ['version', 'model_id', 'config_hash'], registers: [reg],
    collect() {
      this.reset();
      this.set({ version: target.version, model_id: target.modelId(), config_hash: target.configHash }, 1);
    },
  });
  new Gauge({
    name: 'langevind_uptime_seconds', help: 'Seconds since the daemon started', registers: [reg],
    collect() {
      this.set((performance.now() * 1e6 - target.startedNs) / 1e9);
    },
  });

  // libuv samples the loop's delay natively every 10 ms; read and cleared at each scrape.
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  new Gauge({
    name: 'langevind_event_loop_lag_seconds', help: 'Event-loop delay since the previous scrape (p50, p99, max)', labelNames: ['quantile'], registers: [reg],
    collect() {
      const has = loop.count > 0;
      this.set({ quantile: '0.5' }, has ? loop.percentile(50) / 1e9 : 0);
      this.set({ quantile: '0.99' }, has ? loop.percentile(99) / 1e9 : 0);
      this.set({ quantile: '1' }, has ? loop.max / 1e9 : 0);
      loop.reset();
    },
  });

  return {
    registry: reg,
    contentType: reg.contentType,
    text: () => reg.metrics(),
    close: () => loop.disable(),
  };
}
