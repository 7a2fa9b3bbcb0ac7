/**
 * /healthz as a pure function of what the daemon knows: healthy while bins arrive and are
 * decoded; unhealthy (503) when the input has been silent for longer than `silentBins` bins
 * (counted from start-up while no bin has come yet), when a model failed to load, or while an
 * input reconnect is under way. Outputs nobody listens to are a warning, not a failure: a task
 * computer may connect later.
 */

export interface HealthInputs {
  nowNs: number;
  /** Monotonic ns of the daemon's start and of the last decoded bin (0: none yet). */
  startedNs: number;
  lastBinNs: number;
  binMs: number;
  silentBins: number;
  /** A model that failed to load at start or on the last reload (null: none). */
  modelError: string | null;
  /** Why an input reconnect is under way (null: none). */
  reconnecting: string | null;
  outputs: ReadonlyArray<{ uri: string; subscribers?: number }>;
}

export interface HealthIssue {
  code: 'input_silent' | 'model_failed' | 'reconnecting' | 'no_subscribers';
  message: string;
}

export interface Health {
  status: 'ok' | 'unhealthy';
  reasons: HealthIssue[];
  warnings: HealthIssue[];
  seconds_since_last_bin: number | null;
}

export function evaluateHealth(h: HealthInputs): Health {
  const reasons: HealthIssue[] = [];
  const warnings: HealthIssue[] = [];
  const since = h.lastBinNs > 0 ? (h.nowNs - h.lastBinNs) / 1e9 : null;
  const silentNs = (h.nowNs - (h.lastBinNs > 0 ? h.lastBinNs : h.startedNs));
  const limitNs = h.silentBins * h.binMs * 1e6;
  if (silentNs > limitNs) {
    const bins = Math.floor(silentNs / (h.binMs * 1e6));
    reasons.push({
      code: 'input_silent',
      message: h.lastBinNs > 0
        ? `no bin for ${(silentNs / 1e9).toFixed(2)} s (${bins} bins; limit ${h.silentBins})`
        : `no bin since start-up ${(silentNs / 1e9).toFixed(2)} s ago (limit ${h.silentBins} bins)`,
    });
  }
  if (h.modelError !== null) reasons.push({ code: 'model_failed', message: h.modelError });
  if (h.reconnecting !== null) reasons.push({ code: 'reconnecting', message: `input reconnect in progress: ${h.reconnecting}` });
  for (const o of h.outputs)
    if (o.subscribers === 0) warnings.push({ code: 'no_subscribers', message: `output ${o.uri} has no subscriber` });
  return { status: reasons.length === 0 ? 'ok' : 'unhealthy', reasons, warnings, seconds_since_last_bin: since === null ? null : Math.round(since * 1e4) / 1e4 };
}
