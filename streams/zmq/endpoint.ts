/**
 * The zmq+tcp and zmq+ipc schemes: a SUB source decoding SpikeBins and an XPUB sink encoding
 * Decoded messages (proto/langevind.proto), two frames each: topic, payload.
 */
import { Observable } from 'rxjs';
import { EndpointError, endpointParams, intParam, registerSink, registerSource, type DecodedSink, type EndpointContext } from '../../daemon/endpoints.js';
import { DecodedWriter, SpikeBinReader, newSpikeBin } from '../proto.js';
import type { Decoded, SpikeBin } from '../types.js';
import { ZmqPublisher } from './publisher.js';
import { openZmqSource } from './subscriber.js';

export const SPIKES_TOPIC = 'spikes';
export const VELOCITY_TOPIC = 'velocity';

/** zmq+tcp://host:port or zmq+ipc:///path → the ZeroMQ address and direction. */
export function zmqAddress(u: URL, defaultBind: boolean): { address: string; bind: boolean; params: Map<string, string> } {
  const params = endpointParams(u, ['bind', 'connect', 'topic', 'hwm', 'queue']);
  if (params.has('bind') && params.has('connect')) throw new EndpointError(u.href, 'give ?bind or ?connect, not both');
  const bind = params.has('bind') ? true : params.has('connect') ? false : defaultBind;
  let address: string;
  if (u.protocol === 'zmq+tcp:') {
    if (!u.hostname || !u.port) throw new EndpointError(u.href, 'zmq+tcp needs a host and a port, e.g. zmq+tcp://127.0.0.1:5555');
    if (u.pathname && u.pathname !== '/') throw new EndpointError(u.href, `zmq+tcp takes no path (got "${u.pathname}")`);
    address = `tcp://${u.hostname}:${u.port}`;
  } else if (u.protocol === 'zmq+ipc:') {
    const path = decodeURIComponent(u.pathname);
    if (u.host || !path || path === '/') throw new EndpointError(u.href, 'zmq+ipc needs an absolute path, e.g. zmq+ipc:///tmp/langevind.sock');
    address = `ipc://${path}`;
  } else throw new EndpointError(u.href, `not a ZeroMQ URI`);
  return { address, bind, params };
}

export async function zmqSpikeSource(u: URL, ctx: EndpointContext): Promise<Observable<SpikeBin>> {
  const { address, bind, params } = zmqAddress(u, false);
  const topic = params.get('topic') || SPIKES_TOPIC;
  const raw$ = await openZmqSource({ endpoint: address, bind, topic, receiveHighWaterMark: intParam(u, params, 'hwm', 1000), onReconnect: (reason, detail) => ctx.reconnected?.(reason, detail) });
  const topicBytes = Buffer.from(topic);
  ctx.log.info('input open', { uri: u.href, address, bind, topic });
  return new Observable<SpikeBin>((subscriber) => {
    const reader = new SpikeBinReader();
    const bin = newSpikeBin();
    return raw$.subscribe({
      next(m) {
        if (m.frames !== 2) {
          ctx.reject('undecodable', `message has ${m.frames} frames, expected 2 (topic, SpikeBin)`, [m.topic, m.payload]);
          return;
        }
        // SUB filters by prefix; insist on the exact topic.
        if (!m.topic.equals(topicBytes)) {
          ctx.reject('undecodable', `topic "${m.topic.toString('latin1').slice(0, 64)}" is not "${topic}"`, [m.topic, m.payload]);
          return;
        }
        const err = reader.read(m.payload, bin);
        if (err !== null) {
          ctx.reject('undecodable', `SpikeBin: ${err}`, [m.topic, m.payload]);
          return;
        }
        bin.receivedNs = m.receivedNs;
        subscriber.next(bin);
      },
      error: (e) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
  });
}

export async function zmqDecodedSink(u: URL, ctx: EndpointContext): Promise<DecodedSink> {
  const { address, bind, params } = zmqAddress(u, true);
  const topic = params.get('topic') || VELOCITY_TOPIC;
  const log = ctx.log.child({ output: u.href });
  const pub = await ZmqPublisher.open({
    endpoint: address,
    bind,
    topic,
    sendHighWaterMark: intParam(u, params, 'hwm', 1000),
    queue: intParam(u, params, 'queue', 64, 1),
    onSubscription: (subscribed, t) => log.info(subscribed ? 'subscriber joined' : 'subscriber left', { topic: t }),
  });
  ctx.log.info('output open', { uri: u.href, address, bind, topic });
  const writer = new DecodedWriter();
  return {
    next(d: Decoded) {
      pub.send(writer.encode(d));
    },
    close: () => pub.close(),
    stats: () => {
      const s = pub.stats();
      return { sent: s.sent, dropped: s.dropped };
    },
  };
}

for (const scheme of ['zmq+tcp', 'zmq+ipc']) {
  registerSource(scheme, zmqSpikeSource);
  registerSink(scheme, zmqDecodedSink);
}
