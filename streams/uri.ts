/**
 * Endpoint URIs, shared by every transport's URI parsing (streams/zmq, streams/lsl, replay) and by
 * the daemon's scheme table (daemon/endpoints.ts). Errors name the URI and the problem.
 */

export class EndpointError extends Error {
  readonly code = 'EENDPOINT';
  constructor(readonly uri: string, message: string) {
    super(`endpoint ${uri}: ${message}`);
    this.name = 'EndpointError';
  }
}

/** Parses an endpoint URI; throws EndpointError naming the problem. */
export function parseEndpoint(uri: string | URL): URL {
  if (uri instanceof URL) return uri;
  try {
    return new URL(uri);
  } catch {
    throw new EndpointError(uri, 'not a URI (expected e.g. zmq+tcp://127.0.0.1:5555, zmq+ipc:///tmp/x, replay:///path.xdf, lsl://name=…)');
  }
}

/** The scheme without its colon, lower case (`zmq+tcp`). */
export function schemeOf(u: URL): string {
  return u.protocol.replace(/:$/, '').toLowerCase();
}

/**
 * Query parameters of an endpoint, checked against the names a transport accepts, so a typo
 * (`?bnd`) is an error rather than silently ignored.
 */
export function endpointParams(u: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of u.searchParams) {
    if (!allowed.includes(k)) throw new EndpointError(u.href, `unknown option "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
    out.set(k, v);
  }
  return out;
}

/** An integer query parameter of at least `min`, or the default. */
export function intParam(u: URL, params: Map<string, string>, name: string, dflt: number, min = 0): number {
  const v = params.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new EndpointError(u.href, `option ${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}
