/**
 * The daemon's endpoint table: URI scheme → the streams/ factory that opens it, with the options
 * parsed from the URI and the model's view of the stream. This is the only place that knows which
 * transports exist; the transports themselves (streams/) know nothing of the daemon.
 *
 *   zmq+tcp, zmq+ipc   streams/zmq/endpoint.ts   fromZmq / toZmq
 *   replay             streams/replay.ts         fromReplay (input only)
 *   lsl                streams/lsl/endpoint.ts   fromLsl / toLsl
 *
 * Each entry imports its transport on first use, so a daemon that never opens LSL never loads it.
 */
import type { ModelConfig } from '../model/config.js';
import type { DecodedSink, Source } from '../streams/types.js';
import { EndpointError, parseEndpoint, schemeOf } from '../streams/uri.js';
import type { Logger } from './log.js';

export { EndpointError, parseEndpoint, schemeOf };
export type { DecodedSink, Source };

export interface EndpointContext {
  /** The model's view of the stream: channel count and labels, bin width, velocity labels. */
  config: Pick<ModelConfig, 'n_in' | 'bin_ms' | 'velocity_labels' | 'channel_labels'>;
  modelId: string;
  log: Logger;
  /** An input connection was re-established (reason, detail); called off the bin path. */
  onInputReconnect?: (reason: string, detail: string) => void;
  /** An established input connection ended (false, why) / is up again (true); off the bin path. */
  onInputConnection?: (up: boolean, detail: string) => void;
}

interface Scheme {
  source?(u: URL, ctx: EndpointContext): Promise<Source>;
  sink?(u: URL, ctx: EndpointContext): Promise<DecodedSink>;
}

const zmq: Scheme = {
  async source(u, ctx) {
    const m = await import('../streams/zmq/endpoint.js');
    const opts = m.zmqInputFromUri(u);
    const src = await m.fromZmq({ ...opts, onReconnect: ctx.onInputReconnect, onConnection: ctx.onInputConnection });
    ctx.log.info('input open', { uri: u.href, address: opts.address, bind: opts.bind, topic: opts.topic, ...(opts.busyPoll ? { busy_poll: true } : {}) });
    return src;
  },
  async sink(u, ctx) {
    const m = await import('../streams/zmq/endpoint.js');
    const opts = m.zmqOutputFromUri(u);
    const log = ctx.log.child({ output: u.href });
    const sink = await m.toZmq({ ...opts, onSubscription: (subscribed, t) => log.info(subscribed ? 'subscriber joined' : 'subscriber left', { topic: t }) });
    ctx.log.info('output open', { uri: u.href, address: opts.address, bind: opts.bind, topic: opts.topic });
    return sink;
  },
};

const replay: Scheme = {
  async source(u, ctx) {
    const m = await import('../streams/replay.js');
    const opts = m.replayOptionsFromUri(u);
    const { source, recording } = await m.fromReplay({ ...opts, nIn: ctx.config.n_in, binMs: ctx.config.bin_ms });
    ctx.log.info('replay source', { path: recording.path, stream: recording.name, bins: recording.bins, speed: opts.speed, loop: opts.loop ?? false });
    return source;
  },
};

const lsl: Scheme = {
  async source(u, ctx) {
    const m = await import('../streams/lsl/endpoint.js');
    const { loadLslConfig } = await import('../streams/lsl/config.js');
    const opts = m.lslInputFromUri(u, { nIn: ctx.config.n_in, binMs: ctx.config.bin_ms });
    const config = loadLslConfig();
    const log = ctx.log.child({ input: u.href });
    log.info('input open', { uri: u.href, lslConfig: config.source, scope: config.resolveScope });
    return m.fromLsl({
      ...opts,
      config,
      onEvent: (e) => {
        if (e.kind === 'connected') log.info('lsl input connected', { name: e.info.name, uid: e.info.uid, sourceId: e.info.sourceId, protocol: e.protocol, host: e.info.hostname });
        else if (e.kind === 'recovered') log.warn('lsl input recovered onto a restarted outlet', { uid: e.info.uid, previousUid: e.previousUid });
        else if (e.kind === 'disconnected') log.warn('lsl input disconnected', { reason: e.reason });
        else if (e.kind === 'problem') log.warn('lsl input problem', { code: e.code, detail: e.message });
        else if (e.kind === 'fatal') log.error('lsl input refused', { error: e.error });
      },
    });
  },
  async sink(u, ctx) {
    const m = await import('../streams/lsl/endpoint.js');
    const { loadLslConfig } = await import('../streams/lsl/config.js');
    const opts = m.lslOutputFromUri(u, { labels: ctx.config.velocity_labels, binMs: ctx.config.bin_ms });
    const sink = await m.toLsl({ ...opts, config: loadLslConfig() });
    ctx.log.info('output open', { uri: u.href, uid: sink.outlet.info.uid, dataPort: sink.outlet.info.v4dataPort, servicePort: sink.outlet.info.v4servicePort });
    return sink;
  },
};

const SCHEMES: Readonly<Record<string, Scheme>> = { 'zmq+tcp': zmq, 'zmq+ipc': zmq, replay, lsl };

function known(dir: 'source' | 'sink'): string {
  return Object.keys(SCHEMES).filter((k) => SCHEMES[k][dir]).sort().join(', ');
}

export async function openSource(uri: string | URL, ctx: EndpointContext): Promise<Source> {
  const u = parseEndpoint(uri);
  const scheme = schemeOf(u);
  const f = Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme].source : undefined;
  if (!f) throw new EndpointError(u.href, `no input of scheme "${scheme}" (known: ${known('source')})`);
  return f(u, ctx);
}

export async function openSink(uri: string | URL, ctx: EndpointContext): Promise<DecodedSink> {
  const u = parseEndpoint(uri);
  const scheme = schemeOf(u);
  const f = Object.hasOwn(SCHEMES, scheme) ? SCHEMES[scheme].sink : undefined;
  if (!f) throw new EndpointError(u.href, `no output of scheme "${scheme}" (known: ${known('sink')})`);
  return f(u, ctx);
}
