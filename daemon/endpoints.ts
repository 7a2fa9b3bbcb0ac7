/**
 * Endpoint URIs and the registry that turns them into sources (Observable<SpikeBin>) and sinks
 * (DecodedSink). The daemon is the only place that knows which transport is in use; every
 * transport plugs in here with one registerSource / registerSink call.
 *
 *   zmq+tcp://127.0.0.1:5555            ZeroMQ over TCP (input: SUB connects; output: PUB binds)
 *   zmq+ipc:///tmp/langevind.sock       ZeroMQ over a Unix socket
 *     ?bind | ?connect                  override the default direction
 *     ?topic=spikes                     topic frame (default: spikes in, velocity out)
 *     ?hwm=1000                         ZeroMQ high-water mark (messages)
 *     ?queue=64                         output only: bounded send queue in front of the socket
 *   replay:///path/session.xdf?speed=1  a recording played as a rig would (streams/replay.ts)
 *   lsl://name=M1-binned                Lab Streaming Layer (streams/lsl/endpoint.ts)
 *
 * Schemes whose module is not loaded yet are imported on first use (LAZY_MODULES); such a module
 * registers its schemes at top level.
 */
import { Observable } from 'rxjs';
import type { ModelConfig } from '../model/config.js';
import type { Decoded, SpikeBin } from '../streams/types.js';
import type { Logger } from './log.js';
import type { RejectKind } from './validate.js';

export class EndpointError extends Error {
  readonly code = 'EENDPOINT';
  constructor(readonly uri: string, message: string) {
    super(`endpoint ${uri}: ${message}`);
    this.name = 'EndpointError';
  }
}

export interface EndpointContext {
  /** The model's view of the stream: channel count and labels, bin width, velocity labels. */
  config: Pick<ModelConfig, 'n_in' | 'bin_ms' | 'velocity_labels' | 'channel_labels'>;
  modelId: string;
  log: Logger;
  /**
   * A source reports here what it received but could not turn into a SpikeBin (undecodable
   * bytes, wrong frame count, …); the daemon counts it by kind, rate-limits the log line, and
   * records it with `raw` (the message's frames as received) when recording.
   */
  reject(kind: RejectKind, detail: string, raw?: readonly Uint8Array[]): void;
  /** A source re-established a connection its transport had ended (streams/zmq/watch.ts reasons); counted and logged, rate-limited. */
  reconnected?(reason: string, detail: string): void;
}

/** Where decodes go. next() is called on the real-time path: synchronous, never blocks, never throws on a slow peer. */
export interface DecodedSink {
  /** Sends (or queues) one decode. `d` is reused by the caller after this returns: copy what you keep. */
  next(d: Decoded): void;
  /** Flushes what is queued (bounded wait) and releases the transport. */
  close(): Promise<void>;
  stats(): { sent: number; dropped: number };
}

/**
 * A source factory may be async: the promise resolves once the endpoint is ready to receive
 * (bound or connected), which is when the daemon logs "ready". The Observable is subscribed once;
 * unsubscribing must release the transport. Emitted SpikeBins may be reused objects: the daemon
 * consumes each synchronously before the next.
 */
export type SourceFactory = (uri: URL, ctx: EndpointContext) => Observable<SpikeBin> | Promise<Observable<SpikeBin>>;
export type SinkFactory = (uri: URL, ctx: EndpointContext) => DecodedSink | Promise<DecodedSink>;

const sources = new Map<string, SourceFactory>();
const sinks = new Map<string, SinkFactory>();

/** Modules that register schemes when imported; loaded on the first URI that needs them. */
const LAZY_MODULES: Record<string, string> = {
  'zmq+tcp': '../streams/zmq/endpoint.js',
  'zmq+ipc': '../streams/zmq/endpoint.js',
  replay: '../streams/replay.js',
  lsl: '../streams/lsl/endpoint.js',
};

export function registerSource(scheme: string, factory: SourceFactory): void {
  sources.set(normScheme(scheme), factory);
}

export function registerSink(scheme: string, factory: SinkFactory): void {
  sinks.set(normScheme(scheme), factory);
}

function normScheme(s: string): string {
  return s.replace(/:$/, '').toLowerCase();
}

/** Parses an endpoint URI; throws EndpointError naming the problem. */
export function parseEndpoint(uri: string | URL): URL {
  if (uri instanceof URL) return uri;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw new EndpointError(uri, 'not a URI (expected e.g. zmq+tcp://127.0.0.1:5555, zmq+ipc:///tmp/x, replay:///path.xdf, lsl://name=…)');
  }
  return u;
}

export function schemeOf(u: URL): string {
  return normScheme(u.protocol);
}

async function ensureLoaded(scheme: string, table: Map<string, unknown>, uri: string): Promise<void> {
  if (table.has(scheme)) return;
  const mod = LAZY_MODULES[scheme];
  if (!mod) return;
  try {
    await import(mod);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND') throw new EndpointError(uri, `scheme "${scheme}" is not available in this build (${mod} missing)`);
    throw err;
  }
}

function known(table: Map<string, unknown>): string {
  const names = new Set([...table.keys(), ...Object.keys(LAZY_MODULES)]);
  return [...names].sort().join(', ');
}

export async function openSource(uri: string | URL, ctx: EndpointContext): Promise<Observable<SpikeBin>> {
  const u = parseEndpoint(uri);
  const scheme = schemeOf(u);
  await ensureLoaded(scheme, sources, u.href);
  const f = sources.get(scheme);
  if (!f) throw new EndpointError(u.href, `no input of scheme "${scheme}" (known: ${known(sources)})`);
  return await f(u, ctx);
}

export async function openSink(uri: string | URL, ctx: EndpointContext): Promise<DecodedSink> {
  const u = parseEndpoint(uri);
  const scheme = schemeOf(u);
  await ensureLoaded(scheme, sinks, u.href);
  const f = sinks.get(scheme);
  if (!f) throw new EndpointError(u.href, `no output of scheme "${scheme}" (known: ${known(sinks)})`);
  return await f(u, ctx);
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

/** A positive integer query parameter, or the default. */
export function intParam(u: URL, params: Map<string, string>, name: string, dflt: number, min = 0): number {
  const v = params.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new EndpointError(u.href, `option ${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}
