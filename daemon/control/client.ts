/**
 * A small client of the control API for the CLI (`langevind status | reload | reset`): one
 * request, JSON back, the API's error code and message turned into a ControlClientError.
 */
import { DEFAULT_CONTROL } from './address.js';
import { readTokenFile } from './token.js';

export class ControlClientError extends Error {
  constructor(readonly code: string, message: string, readonly status?: number) {
    super(message);
    this.name = 'ControlClientError';
  }
}

export interface ClientOptions {
  /** Base URL; default $LANGEVIND_CONTROL or http://127.0.0.1:7370. */
  url?: string;
  tokenFile?: string;
  timeoutMs?: number;
}

export function controlBaseUrl(url?: string): string {
  const u = url ?? process.env.LANGEVIND_CONTROL ?? `http://${DEFAULT_CONTROL}`;
  const withScheme = /^https?:\/\//.test(u) ? u : `http://${u}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    throw new ControlClientError('EUSAGE', `--control must be a URL such as http://127.0.0.1:7370, got "${u}"`);
  }
}

export async function controlRequest<T>(o: ClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const base = controlBaseUrl(o.url);
  const headers: Record<string, string> = {};
  const tokenFile = o.tokenFile ?? process.env.LANGEVIND_CONTROL_TOKEN_FILE;
  if (tokenFile) headers.authorization = `Bearer ${readTokenFile(tokenFile)}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs ?? 60_000) });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
    const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? (err as Error).message;
    throw new ControlClientError('ECONTROLCONNECT', `cannot reach the daemon's control API at ${base} (${cause}); is langevind run running with --control?`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ControlClientError('ECONTROLREPLY', `${method} ${base}${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, res.status);
  }
  const err = (parsed as { error?: { code?: string; message?: string } }).error;
  if (err && res.status >= 400) throw new ControlClientError(err.code ?? 'ECONTROL', `${method} ${path}: ${err.message ?? `HTTP ${res.status}`}`, res.status);
  return { status: res.status, body: parsed as T };
}
