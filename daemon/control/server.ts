/**
 * The control plane's HTTP server (fastify): routes, security hooks and the one error format.
 * Every refusal is `{"error": {"code", "message"}}` with a 4xx status; the server never throws
 * into the daemon. Handlers only read counters or start work that runs off the bin path (the
 * target's methods), so the bins never wait for a request.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { controlUrl, isLoopback, type ControlAddress } from './address.js';
import { ControlConfigError, ControlError } from './errors.js';
import { createGuard } from './guard.js';
import { evaluateHealth } from './health.js';
import { existingFileUnder, newFileUnder } from './paths.js';
import { createExporter } from './prom.js';
import { readoutFromFile, readoutFromJson } from './readout.js';
import type { CarryPolicy, ControlTarget } from './target.js';

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** GET /status and /metrics are computed at most this often, however many clients ask. */
export const READ_CACHE_MS = 100;
/** Concurrent connections; more are refused by the server before any parsing. */
export const MAX_CONNECTIONS = 16;

/**
 * fn's result, recomputed only when older than ms: reads cost the event loop a bounded time per
 * second. clear() forgets it (after a change, so the next read shows it).
 */
function cached<T>(ms: number, fn: () => Promise<T> | T): { get(): Promise<T>; clear(): void } {
  let at = -Infinity;
  let value: Promise<T> | undefined;
  return {
    get() {
      const now = performance.now();
      if (value === undefined || now - at >= ms) {
        at = now;
        value = Promise.resolve(fn());
        value.catch(() => { at = -Infinity; });
      }
      return value;
    },
    clear() {
      at = -Infinity;
    },
  };
}
export const DEFAULT_SILENT_BINS = 50;

export interface ControlServerOptions {
  target: ControlTarget;
  address: ControlAddress;
  /** Bearer token (required for a non-loopback address). */
  token?: string;
  /** Real paths (paths.ts resolveRoot) of the directories models / recordings may come from / go to; unset: refused. */
  modelDir?: string;
  recordDir?: string;
  bodyLimit?: number;
  ratePerSecond?: number;
  /** /healthz fails once the input has been silent this many bins. */
  silentBins?: number;
  log: Logger;
  /** More routes on the same server (the dashboard), given the bodies of /status and /healthz. */
  plugins?: ReadonlyArray<ControlPlugin>;
}

/** What a plugin of the control server may read: the same bodies GET /status and /healthz answer. */
export interface ControlApi {
  status(): object;
  health(): object;
}

export type ControlPlugin = (app: FastifyInstance, api: ControlApi) => Promise<void> | void;

export interface ControlServer {
  readonly url: string;
  readonly address: ControlAddress;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

type Body = Record<string, unknown>;

function objectBody(req: FastifyRequest, allowed: readonly string[]): Body {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new ControlError(400, 'EBADREQUEST', 'the body must be a JSON object');
  for (const k of Object.keys(b)) if (!allowed.includes(k)) throw new ControlError(400, 'EBADREQUEST', `unknown field "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
  return b as Body;
}

function carryOf(b: Body): CarryPolicy {
  const s = b.state ?? 'reset';
  if (s !== 'reset' && s !== 'carry') throw new ControlError(400, 'EBADREQUEST', `"state" must be "reset" or "carry", got ${JSON.stringify(s)}`);
  return s;
}

/** The optional compare-and-swap guard of POST /model and /readout. */
function expectOf(b: Body): string | undefined {
  const e = b.expect_model_id;
  if (e !== undefined && (typeof e !== 'string' || e === '')) throw new ControlError(400, 'EBADREQUEST', `"expect_model_id" must be a non-empty string, got ${JSON.stringify(e)}`);
  return e;
}

function rootOr(dir: string | undefined, what: string): string {
  if (!dir) throw new ControlError(403, 'EPATH', `${what} paths are refused: the daemon was started without ${what === 'model' ? '--model-dir (or --model)' : '--record-dir (or --record)'}`);
  return dir;
}

/** Fastify's own errors (body parsing, limits) mapped onto the API's codes. */
function fromFastify(err: FastifyError): ControlError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ControlError(413, 'ETOOLARGE', 'request body is over the size limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ControlError(415, 'EUNSUPPORTED', 'bodies must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ControlError(400, 'EBADJSON', `body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ControlError(400, 'EBADREQUEST', 'Content-Length does not match the body');
    default:
      if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message))) return new ControlError(400, 'EBADJSON', `body is not valid JSON: ${err.message}`);
      if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new ControlError(err.statusCode, 'EBADREQUEST', err.message);
      return new ControlError(500, 'EINTERNAL', err.message);
  }
}

export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const loopback = isLoopback(o.address.host);
  if (!loopback && o.token === undefined)
    throw new ControlConfigError('ECONTROLTOKEN', `--control ${o.address.host}:${o.address.port} is not a loopback address: listening beyond this machine needs --control-token-file`);
  const log = o.log.child({ module: 'control' });
  const t = o.target;
  const exporter = createExporter(t);
  const guard = createGuard({ token: o.token, loopback, ratePerSecond: o.ratePerSecond });
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT,
    connectionTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    forceCloseConnections: true,
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (req) => {
    guard(req, (req.routeOptions.config as { public?: unknown } | undefined)?.public === true);
  });
  app.setErrorHandler((err: FastifyError | ControlError, req: FastifyRequest, reply: FastifyReply) => {
    const e = err instanceof ControlError ? err : fromFastify(err as FastifyError);
    if (e.status >= 500) log.error('control request failed', { method: req.method, url: req.url, error: err });
    else if (e.status !== 429) log.warn('control request refused', { method: req.method, url: req.url, status: e.status, code: e.code, detail: e.message });
    if (e.status === 401) void reply.header('WWW-Authenticate', 'Bearer realm="langevind"');
    void reply.code(e.status).type('application/json').send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(new ControlError(404, 'ENOTFOUND', `no route ${req.method} ${req.url.split('?')[0]}`).toJSON());
  });

  const health = () => evaluateHealth({
    nowNs: performance.now() * 1e6, startedNs: t.startedNs, lastBinNs: t.lastBinNs(), binMs: t.binMs,
    silentBins: o.silentBins ?? DEFAULT_SILENT_BINS, modelError: t.modelError(), reconnecting: t.reconnecting(), outputs: t.outputs(),
  });

  app.get('/healthz', async (_req, reply) => {
    const h = healthBody();
    return reply.code(h.status === 'ok' ? 200 : 503).send(h);
  });
  const status = () => ({ summary: t.summary(), model_id: t.modelId(), health: health(), recording: t.recording(), last_swap: t.lastSwap() });
  const healthBody = () => ({ ...health(), model_id: t.modelId() });
  const metricsText = cached(READ_CACHE_MS, () => exporter.text());
  const statusBody = cached(READ_CACHE_MS, () => JSON.stringify(status()));
  app.get('/metrics', async (_req, reply) => reply.type(exporter.contentType).send(await metricsText.get()));
  app.get('/status', async (_req, reply) => reply.type('application/json').send(await statusBody.get()));
  // A change (or a refusal that may have recorded a failed load) shows in the next read.
  app.addHook('onResponse', async (req) => {
    if (req.method === 'POST') {
      metricsText.clear();
      statusBody.clear();
    }
  });

  app.post('/model', async (req) => {
    const b = objectBody(req, ['path', 'state', 'expect_model_id']);
    if (b.path === undefined) throw new ControlError(400, 'EBADREQUEST', 'POST /model needs {"path": "<model file under --model-dir>"}');
    const expect = expectOf(b);
    const path = existingFileUnder(rootOr(o.modelDir, 'model'), b.path);
    const report = await t.reloadModel(path, carryOf(b), expect);
    return { swapped: report };
  });
  app.post('/readout', async (req) => {
    const b = objectBody(req, ['path', 'weight', 'bias', 'expect_model_id']);
    const expect = expectOf(b);
    const shape = t.readoutShape();
    if (b.path !== undefined && (b.weight !== undefined || b.bias !== undefined)) throw new ControlError(400, 'EBADREQUEST', 'give either "path" or "weight" and "bias", not both');
    const w = b.path !== undefined
      ? await readoutFromFile(existingFileUnder(rootOr(o.modelDir, 'model'), b.path), shape)
      : readoutFromJson({ weight: b.weight, bias: b.bias }, shape, 'request body');
    return { swapped: await t.swapReadout(w, expect) };
  });
  app.post('/reset', async (req, reply) => {
    objectBody(req, []);
    t.resetFilter();
    log.info('filter reset requested', { model_id: t.modelId() });
    return reply.code(202).send({ reset: 'at the next bin' });
  });
  app.post('/record', async (req) => {
    const b = objectBody(req, ['start', 'stop']);
    if ((b.start === undefined) === (b.stop === undefined)) throw new ControlError(400, 'EBADREQUEST', 'POST /record needs {"start": "<file under --record-dir>"} or {"stop": true}');
    if (b.stop !== undefined) {
      if (b.stop !== true) throw new ControlError(400, 'EBADREQUEST', '"stop" must be true');
      return { stopped: await t.stopRecording() };
    }
    if (t.recording()) throw new ControlError(409, 'ERECORDING', `already recording to ${t.recording()!.path}; stop it first`);
    return { started: await t.startRecording(newFileUnder(rootOr(o.recordDir, 'record'), b.start)) };
  });

  for (const p of o.plugins ?? []) await p(app, { status, health: healthBody });
  app.server.maxConnections = MAX_CONNECTIONS;

  try {
    await app.listen({ host: o.address.host, port: o.address.port });
  } catch (err) {
    exporter.close();
    throw new ControlConfigError('ECONTROLBIND', `--control ${o.address.host}:${o.address.port}: cannot listen: ${(err as Error).message}`);
  }
  const a = app.server.address() as AddressInfo;
  const address = { host: o.address.host, port: a.port };
  const url = controlUrl(address);
  log.info('control listening', { url, token: o.token !== undefined, model_dir: o.modelDir ?? null, record_dir: o.recordDir ?? null });
  return {
    url, address, app,
    close: async () => {
      exporter.close();
      await app.close();
    },
  };
}
