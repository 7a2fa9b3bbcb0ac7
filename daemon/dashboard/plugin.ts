/**
 * The live dashboard as a fastify plugin: GET / is one HTML page (plain files, no build step on
 * the user's side), /dashboard/* its script, style and uPlot straight from the installed npm
 * package, and GET /events the server-sent events that feed it. One timer (unref'd) takes the
 * feed's update ~15 times a second and sends it; status and health, which cost more to build,
 * go with every fifth. With no browser connected the timer only discards what arrived.
 *
 * Wiring (daemon/commands/run.ts):
 *   const feed = new LiveFeed({ nIn: cfg.n_in, binMs: cfg.bin_ms, velocityLabels: cfg.velocity_labels });
 *   observers.push(feed);   // a PipelineObserver: accepted / decoded / rejected
 *   attachControl(settings, parts, log, [dashboardPlugin(feed, log)]);
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { LiveFeed } from './live-feed.js';
import { SseHub, type SseHubOptions, type SseStats } from './sse.js';

export interface DashboardOptions {
  feed: LiveFeed;
  /** The summary JSON of GET /status. */
  status: () => object;
  /** The body of GET /healthz. */
  health: () => object;
  /** Updates per second (default 15, 1…60). */
  hz?: number;
  /** Updates between two status/health/histogram snapshots (default 5). */
  snapshotEvery?: number;
  sse?: SseHubOptions;
  log?: Logger;
}

export class DashboardError extends Error {
  readonly code = 'EDASHBOARD';
  constructor(message: string) {
    super(message);
    this.name = 'DashboardError';
  }
}

const require = createRequire(import.meta.url);

/** A file of the installed uPlot package (never a copy in this repository). */
function uplotFile(name: string): string {
  return require.resolve(`uplot/dist/${name}`);
}

function readStatic(name: string): string {
  return readFileSync(new URL(`./static/${name}`, import.meta.url), 'utf8');
}

interface Asset {
  type: string;
  body: string;
}

function loadAssets(): Record<string, Asset> {
  return {
    '/': { type: 'text/html; charset=utf-8', body: readStatic('index.html') },
    '/dashboard/app.js': { type: 'text/javascript; charset=utf-8', body: readStatic('app.js') },
    '/dashboard/app.css': { type: 'text/css; charset=utf-8', body: readStatic('app.css') },
    '/dashboard/uPlot.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(uplotFile('uPlot.iife.min.js'), 'utf8') },
    '/dashboard/uPlot.css': { type: 'text/css; charset=utf-8', body: readFileSync(uplotFile('uPlot.min.css'), 'utf8') },
  };
}

/** Registers the routes on app. Returns the SSE hub's counters (tests and /status may show them). */
export function registerDashboard(app: FastifyInstance, opts: DashboardOptions): { stats(): SseStats } {
  const hz = opts.hz ?? 15;
  if (!(hz >= 1 && hz <= 60)) throw new DashboardError(`dashboard rate must be 1…60 Hz, got ${hz}`);
  const snapshotEvery = opts.snapshotEvery ?? 5;
  const { feed } = opts;
  const assets = loadAssets();
  const hub = new SseHub(opts.sse);

  // Public: beyond loopback a browser cannot put a bearer header on a page it navigates to. The
  // page and its scripts are code with no data in them; /events, the data, needs the token.
  for (const [path, a] of Object.entries(assets)) {
    app.get(path, { config: { public: true } }, (_req, reply) => {
      void reply.header('content-type', a.type).header('cache-control', 'no-cache').send(a.body);
    });
  }

  const snapshot = (): { status: object; health: object; dashboard: SseStats } => ({ status: opts.status(), health: opts.health(), dashboard: hub.stats() });

  app.get('/events', (_req, reply) => {
    reply.hijack();
    hub.add(reply.raw, { event: 'hello', data: JSON.stringify({ meta: feed.meta(), hz, ...snapshot() }) });
  });

  let tick = 0;
  let errors = 0;
  const timer = setInterval(() => {
    try {
      if (hub.size === 0) {
        feed.skip();
        return;
      }
      const withSnapshot = tick++ % snapshotEvery === 0;
      const feedUpdate = feed.take(withSnapshot);
      hub.broadcast('update', JSON.stringify(withSnapshot ? { feed: feedUpdate, ...snapshot() } : { feed: feedUpdate }));
    } catch (err) {
      // A failing status() must not take the daemon down from a timer; the page shows the count.
      errors++;
      if (errors === 1 || errors % 1000 === 0) opts.log?.warn('dashboard update failed', { error: err, errors });
    }
  }, 1000 / hz);
  timer.unref();

  app.addHook('preClose', (done) => {
    clearInterval(timer);
    hub.close();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
  return { stats: () => hub.stats() };
}

/** The dashboard as a control-server plugin: the server hands it the bodies of /status and /healthz. */
export function dashboardPlugin(feed: LiveFeed, log?: Logger): (app: FastifyInstance, api: { status(): object; health(): object }) => void {
  return (app, api) => {
    registerDashboard(app, { feed, status: () => api.status(), health: () => api.health(), log: log?.child({ module: 'dashboard' }) });
  };
}
