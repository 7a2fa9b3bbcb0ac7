/**
 * `langevind status [--control URL] [--json]`: a running daemon's health and main figures, from
 * GET /status. Exits 0 when healthy, 1 when the daemon answers unhealthy (reasons printed), 1 with
 * the error code when it cannot be reached.
 */
import { controlBaseUrl, controlRequest } from '../control/client.js';
import type { Health } from '../control/health.js';
import { CLIENT_USAGE, parseClientArgs } from './control-args.js';

const USAGE = `usage: langevind status [--control URL] [--token-file F] [--json]

  Health, model, uptime, bins, rejects, latency and outputs of a running langevind run.
${CLIENT_USAGE}
  --json                  print GET /status as it came`;

interface StatusReply {
  summary: Record<string, unknown> & {
    latency_us?: Record<string, { p50: number; p99: number; p999: number; max: number; count: number }>;
    outputs?: Array<{ uri: string; sent: number; dropped: number }>;
    rejects?: Record<string, number>;
    uptime_s?: number;
  };
  model_id: string;
  health: Health;
  recording: { path: string } | null;
  last_swap: { kind: string; model_id: string; after_seq: number } | null;
}

const num = (s: Record<string, unknown>, ...keys: string[]): number | string => {
  for (const k of keys) if (typeof s[k] === 'number') return s[k] as number;
  return '?';
};

export function formatStatus(url: string, r: StatusReply): string {
  const s = r.summary;
  const rej = Object.entries(s.rejects ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const lat = s.latency_us?.receive_to_sent;
  const lines = [
    `${r.health.status === 'ok' ? 'healthy' : 'UNHEALTHY'}  ${url}  model ${r.model_id}  up ${s.uptime_s ?? '?'} s`,
    ...r.health.reasons.map((x) => `  ! ${x.code}: ${x.message}`),
    ...r.health.warnings.map((x) => `  warning ${x.code}: ${x.message}`),
    `bins: received ${num(s, 'messages_received')}, accepted ${num(s, 'bins_accepted')}, decoded ${num(s, 'bins_decoded')}; gaps ${num(s, 'gaps')} (${num(s, 'gap_bins')} bins), resets ${num(s, 'resets')}; last bin ${r.health.seconds_since_last_bin ?? '–'} s ago`,
    `rejects: ${rej}`,
    lat ? `latency inside the daemon (receive→sent, µs): p50 ${lat.p50}  p99 ${lat.p99}  p99.9 ${lat.p999}  max ${lat.max}  (${lat.count} bins)` : 'latency: no bins yet',
    ...(s.outputs ?? []).map((o) => `output ${o.uri}: sent ${o.sent}, dropped ${o.dropped}`),
    `recording: ${r.recording ? r.recording.path : 'off'}`,
    `last swap: ${r.last_swap ? `${r.last_swap.kind} → ${r.last_swap.model_id} after seq ${r.last_swap.after_seq}` : 'none'}`,
  ];
  return lines.join('\n');
}

export { USAGE as usage };

export async function main(argv: string[]): Promise<number> {
  const a = parseClientArgs('status', argv, { json: { type: 'boolean' } });
  if (!a) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const { body } = await controlRequest<StatusReply>(a.client, 'GET', '/status');
  process.stdout.write((a.values.json ? JSON.stringify(body) : formatStatus(controlBaseUrl(a.client.url), body)) + '\n');
  return body.health.status === 'ok' ? 0 : 1;
}
