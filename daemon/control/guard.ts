/**
 * Who may talk to the control plane, decided before a body is read:
 *   - with a token configured, mutating requests need it always; every request needs it when the
 *     server listens beyond loopback. Reads of a public route (the dashboard's page and scripts:
 *     code, no data) never look at it; the page sends it for its data. Elsewhere a token that is
 *     sent and wrong is refused even where none is needed, so a client learns it is wrong;
 *   - on loopback, the Host header must name loopback (a web page that rebinds its DNS name to
 *     127.0.0.1 cannot reach the API), and a browser request from another origin is refused
 *     (cross-site POSTs without a preflight);
 *   - a request budget per second: past it, requests get 429 at the cost of a header check (reads are cached for 100 ms besides), so a
 *     flood cannot take the event loop from the bins.
 */
import { isLoopback } from './address.js';
import { ControlError } from './errors.js';
import { bearerChecker } from './token.js';

export interface GuardOptions {
  token?: string;
  /** The server listens on loopback only. */
  loopback: boolean;
  /** Requests admitted per second (default 100). */
  ratePerSecond?: number;
}

export interface GuardRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function header(r: GuardRequest, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Host header without the port ("[::1]:7370" → "::1"). */
function hostOf(h: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (m) return m[1];
  const i = h.lastIndexOf(':');
  return i >= 0 && h.indexOf(':') === i ? h.slice(0, i) : h;
}

/** Checks one request; `isPublic`: the route was registered with `config: { public: true }`. */
export type Guard = (r: GuardRequest, isPublic?: boolean) => void;

export function createGuard(opts: GuardOptions): Guard {
  const check = opts.token !== undefined ? bearerChecker(opts.token) : null;
  const rate = opts.ratePerSecond ?? 100;
  let windowStart = 0;
  let inWindow = 0;
  return (r, isPublic = false) => {
    const now = performance.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    if (++inWindow > rate) throw new ControlError(429, 'ERATE', `more than ${rate} requests in one second; slow down`);
    if (opts.loopback) {
      const host = header(r, 'host');
      if (host !== undefined && !isLoopback(hostOf(host)))
        throw new ControlError(403, 'EFORBIDDEN', `Host "${host}" is not a loopback name; the control API answers only requests addressed to this machine`);
      const origin = header(r, 'origin');
      if (origin !== undefined && origin !== 'null') {
        let oh: string;
        try {
          oh = new URL(origin).hostname.replace(/^\[|\]$/g, '');
        } catch {
          oh = '';
        }
        if (!isLoopback(oh)) throw new ControlError(403, 'EFORBIDDEN', `requests from origin ${origin} are refused`);
      }
    }
    const safe = SAFE.has(r.method);
    if (check === null || (isPublic && safe)) return;
    const needsToken = !safe || !opts.loopback;
    const verdict = check(header(r, 'authorization'));
    if (verdict === 'missing' && !needsToken) return;
    if (verdict === 'missing') throw new ControlError(401, 'EUNAUTHORIZED', 'this request needs "Authorization: Bearer <token>" (the token in --control-token-file)');
    if (verdict === 'wrong') throw new ControlError(403, 'EFORBIDDEN', 'wrong bearer token');
  };
}
