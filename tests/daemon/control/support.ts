/**
 * Helpers for the control-plane tests: a real `langevind run` child with its control API on an
 * ephemeral loopback port, plain fetch requests, and Debian's python3-prometheus-client as the
 * independent parser of /metrics.
 */
import { spawnSync } from 'node:child_process';
import { freePort } from '../../../harness/net.js';
import { CliProcess } from '../../../harness/process.js';

export const PYTHON = '/usr/bin/python3';

export interface Controlled {
  daemon: CliProcess;
  url: string;
  input: string;
  output: string;
}

/** `langevind run` with ZeroMQ in (connects, for a replay that binds) and out (binds), control on 127.0.0.1:0. */
export async function startControlled(model: string, extra: string[] = []): Promise<Controlled> {
  const [pIn, pOut] = [await freePort(), await freePort()];
  const input = `zmq+tcp://127.0.0.1:${pIn}`;
  const output = `zmq+tcp://127.0.0.1:${pOut}`;
  const daemon = await CliProcess.start(['run', '--model', model, '--input', input, '--output', output, '--status-interval', '0', '--control', '127.0.0.1:0', ...extra]);
  const ready = daemon.logs.find((l) => l.msg === 'ready') as { control?: string } | undefined;
  if (!ready?.control) {
    await daemon.stop();
    throw new Error('the ready line names no control URL');
  }
  return { daemon, url: ready.control, input, output };
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

export async function http(url: string, method: string, path: string, o: { json?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] ??= 'application/json';
  } else if (o.raw !== undefined) {
    body = o.raw;
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface PromFamily {
  type: string;
  samples: PromSample[];
}

const PARSER = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "samples": [{"name": s.name, "labels": s.labels, "value": (None if math.isinf(s.value) else s.value)} for s in f.samples]}
print(json.dumps(out))
`;

/** Parses exposition text with python3-prometheus-client (throws with its error if it refuses the text). */
export function parseProm(text: string): Record<string, PromFamily> {
  const r = spawnSync(PYTHON, ['-c', PARSER], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`prometheus_client refused the exposition: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, PromFamily>;
}

export function promAvailable(): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} cannot import prometheus_client (apt-get install python3-prometheus-client)`;
}

/** One sample's value: family name (without _total for counters, as the parser names them), sample name, labels. */
export function sample(f: Record<string, PromFamily>, family: string, name: string, labels: Record<string, string> = {}): number {
  const fam = f[family];
  if (!fam) throw new Error(`no metric family ${family}`);
  const s = fam.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (!s) throw new Error(`no sample ${name}${JSON.stringify(labels)} in ${family}`);
  return s.value;
}
