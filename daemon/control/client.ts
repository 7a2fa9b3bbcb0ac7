/**
 * A small client of the control API for the CLI (`langevind status | reload | reset`): one
 * request, JSON back, the API's error code and message turned into a ControlClientError.
 */
import { request as httpRequest } from 'node:http';
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

/**
 * One request on a connection of its own (agent: false). A CLI sends one or two requests, and
 * the second may come long after the first (`recalibrate --apply` fits in between): a kept-alive
 * socket the server has closed meanwhile would fail the POST with "other side closed".
 */
function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function controlRequest<T>(o: ClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const base = controlBaseUrl(o.url);
  const headers: Record<string, string> = {};
  const tokenFile = o.tokenFile ?? process.env.LANGEVIND_CONTROL_TOKEN_FILE;
  if (tokenFile) headers.authorization = `Bearer ${readTokenFile(tokenFile)}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  let res: { status: number; text: string };
  try {
    res = await send(new URL(base + path), method, headers, payload, o.timeoutMs ?? 60_000);
  } catch (err) {
    const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ControlClientError('ECONTROLCONNECT', `cannot reach the daemon's control API at ${base} (${cause}); is langevind run running with --control?`);
  }
  const text = res.text;
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
