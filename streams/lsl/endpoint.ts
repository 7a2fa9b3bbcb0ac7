/**
 * LSL as langevind's input and output:
 *   fromLsl(opts): Source            an inlet on a binned-spike-count stream
 *   toLsl(opts): Promise<LslSink>    an outlet of decoded velocity (float32, one sample per bin)
 * and the `lsl://` URIs that name them (lslInputFromUri / lslOutputFromUri):
 *   lsl://name=M1-binned   lsl://type=SpikeCounts   lsl://source_id=rig1   lsl://name=X&type=Y
 *   lsl://?pred=count(desc/channels/channel)>90        (any XPath predicate, URL-encoded)
 *   options: ?watchdog=SECONDS (input; default max(2 s, 50 bins)), ?buffer=SECONDS (input, outlet queue)
 *
 * Binned-count convention (README): int16, int32 or float32; one sample per bin; nominal rate
 * 1000 / bin_ms; <desc><binning><bin_ms> when present must agree. A stream whose channel count,
 * rate or format does not match the model is refused with a message that names both.
 *
 * SpikeBin.seq counts samples; when a timestamp lands bins beyond the next slot of the bin grid
 * (BinSequencer), seq jumps by as much, so the daemon sees and counts the gap (outlet restarts,
 * dropped samples).
 */
import { Observable } from 'rxjs';
import { asIncoming } from '../incoming.js';
import { describeChannels, binMs as infoBinMs, type StreamInfo } from '../stream-info.js';
import type { Decoded, DecodedSink, Source, SpikeBin } from '../types.js';
import { EndpointError, endpointParams } from '../uri.js';
import { MONOTONIC_TO_LSL_S } from './clock.js';
import { loadLslConfig, type LslConfig } from './config.js';
import { LslError } from './errors.js';
import { LslInlet, type InletEvent, type InletStats } from './inlet.js';
import { LslOutlet } from './outlet.js';
import { compileQuery, xpathLiteral } from './query.js';

export interface Selector { name?: string; type?: string; sourceId?: string; pred?: string }

export interface LslSourceOptions extends Selector {
  /** Channels the model expects; a stream with another count is refused. */
  nIn: number;
  /** Bin width the model expects, ms; the stream's nominal rate must be 1000 / binMs. */
  binMs: number;
  config?: LslConfig;
  /** Seconds without data before the inlet reconnects (default max(2, 50 bins)). */
  watchdog?: number;
  /** Seconds of samples the outlet may queue for us (default 10). */
  buffer?: number;
  onEvent?: (e: InletEvent) => void;
  /** Receives the inlet's counters when it starts (for status lines and tests). */
  onInlet?: (inlet: LslInlet) => void;
}

const INPUT_FORMATS = ['int16', 'int32', 'float32'];

/** The XPath query for a selector (without the session clause). */
export function selectorQuery(s: Selector): string {
  const parts: string[] = [];
  if (s.name) parts.push(`name=${xpathLiteral(s.name)}`);
  if (s.type) parts.push(`type=${xpathLiteral(s.type)}`);
  if (s.sourceId) parts.push(`source_id=${xpathLiteral(s.sourceId)}`);
  if (s.pred) { compileQuery(s.pred); parts.push(`(${s.pred})`); }
  if (parts.length === 0) throw new LslError('ELSLURI', 'an LSL stream needs name=, type=, source_id= or pred=');
  return parts.join(' and ');
}

/** Why a stream cannot feed a model of nIn channels and binMs bins, or undefined when it can. */
export function checkBinnedStream(info: StreamInfo, nIn: number, binMs: number): string | undefined {
  const what = `LSL stream "${info.name}" (source_id "${info.sourceId}")`;
  if (info.channelCount !== nIn) return `${what} has ${info.channelCount} channels, the model expects ${nIn}`;
  if (!INPUT_FORMATS.includes(info.channelFormat)) return `${what} has channel format ${info.channelFormat}; binned counts must be ${INPUT_FORMATS.join(', ')}`;
  const rate = 1000 / binMs;
  if (!(Math.abs(info.nominalSrate - rate) <= 1e-6 * rate)) return `${what} has nominal rate ${info.nominalSrate} Hz, the model's ${binMs} ms bins need ${rate} Hz`;
  const declared = infoBinMs(info);
  if (declared !== undefined && Math.abs(declared - binMs) > 1e-6 * binMs) return `${what} declares <binning><bin_ms>${declared}, the model's bins are ${binMs} ms`;
  return undefined;
}

/**
 * SpikeBin.seq from sample arrival and timestamps. Each sample is one bin, so seq normally grows by
 * one; the timestamp, measured against a bin grid anchored on earlier samples, reveals bins that
 * never arrived (outlet restart, samples dropped upstream). The grid follows slow drift of the
 * source clock against the nominal rate; a stamp less than 3/4 of a bin late (push-time jitter)
 * never counts as a gap, while a lost bin shows up as a full bin of delay; a jump of
 * more than `resync` bins backwards (or a source clock change) re-anchors the grid.
 */
export class BinSequencer {
  seq = -1;
  private base = NaN;
  /** A forward jump of more than this many bins (default one day) is a clock change, not lost bins. */
  private readonly maxJump: number;
  constructor(private readonly period: number, private readonly drift = 0.02, private readonly resync = 10) {
    this.maxJump = Math.round(86400 / period);
  }
  /** The seq of a sample stamped `t` (seconds, on any clock that is continuous across reconnects). */
  next(t: number): number {
    const p = this.period;
    // A stamp that is NaN or infinite says nothing about the grid: count the sample, keep the grid.
    // (Anchoring on it once made seq Infinity, or beyond 2^53 where seq + 1 === seq: every later bin a duplicate.)
    if (!Number.isFinite(t)) return ++this.seq;
    if (this.base !== this.base) {
      this.seq++;
      this.base = t - this.seq * p;
      return this.seq;
    }
    // x ≈ 1 for the next bin; a stamp at least 3/4 of a bin past the next slot means bins are missing.
    const x = (t - this.base) / p - this.seq;
    if (x >= 1.75 && x <= this.maxJump) this.seq += Math.round(x);
    else this.seq++;
    const err = t - (this.base + this.seq * p);
    if (Math.abs(err) > this.resync * p) this.base = t - this.seq * p;
    else this.base += this.drift * err;
    return this.seq;
  }
}

function checkSourceOptions(o: LslSourceOptions): void {
  if (!(Number.isInteger(o.nIn) && o.nIn > 0)) throw new LslError('ELSLURI', `LSL input: nIn must be a positive integer, got ${o.nIn}`);
  if (!(o.binMs > 0)) throw new LslError('ELSLURI', `LSL input: binMs must be positive, got ${o.binMs}`);
  for (const k of ['watchdog', 'buffer'] as const)
    if (o[k] !== undefined && !(o[k]! > 0)) throw new LslError('ELSLURI', `LSL input: ${k} must be a positive number of seconds, got ${o[k]}`);
}

/** An inlet as a Source; each sample is one bin (reused: read it synchronously). */
export function fromLsl(opts: LslSourceOptions): Source {
  checkSourceOptions(opts);
  selectorQuery(opts);
  return asIncoming(lslBins(opts));
}

function lslBins(opts: LslSourceOptions): Observable<SpikeBin> {
  const query = `session_id='${(opts.config ?? loadLslConfig()).sessionId}' and ${selectorQuery(opts)}`;
  const period = opts.binMs / 1000;
  return new Observable<SpikeBin>((subscriber) => {
    const cfg = opts.config ?? loadLslConfig();
    const counts = new Float64Array(opts.nIn);
    const bin: SpikeBin = { seq: -1, timestamp: 0, counts, binMs: opts.binMs, streamId: '', receivedNs: 0, receivedLslTime: 0 };
    const sequencer = new BinSequencer(period);
    let streamId = '';
    const watchdog = opts.watchdog ?? Math.max(2, 50 * period);
    const inlet = new LslInlet({
      query,
      config: cfg,
      maxBufferLength: Math.max(1, Math.round((opts.buffer ?? 10) / period)),
      recover: true,
      recoverWithoutSourceId: true,
      watchdogCheckInterval: watchdog / 4,
      watchdogTimeThreshold: watchdog,
      check: (info) => checkBinnedStream(info, opts.nIn, opts.binMs),
      onSample: (ts, numbers, _strings, receivedNs) => {
        counts.set(numbers);
        // Gaps are judged on this machine's clock so an outlet restarted elsewhere still lines up.
        bin.seq = sequencer.next(ts + inlet.timeCorrection());
        bin.timestamp = ts;
        bin.streamId = streamId;
        bin.receivedNs = receivedNs;
        bin.receivedLslTime = receivedNs * 1e-9 + MONOTONIC_TO_LSL_S;
        subscriber.next(bin);
      },
      onEvent: (e) => {
        if (e.kind === 'connected') streamId = e.info.sourceId || e.info.name;
        if (e.kind === 'fatal') subscriber.error(e.error);
        opts.onEvent?.(e);
      },
    }).start();
    opts.onInlet?.(inlet);
    return () => {
      void inlet.close();
    };
  });
}

export interface LslVelocitySinkOptions extends Selector {
  labels: readonly string[];
  binMs: number;
  config?: LslConfig;
}

export interface LslSink extends DecodedSink { outlet: LslOutlet }

/**
 * A float32 outlet; each Decoded becomes one sample stamped with its bin's arrival on this
 * machine's LSL clock (Decoded.receivedLslTime), whatever the input's transport. For an LSL input
 * that is later than the rig's own stamp mapped through the inlet's time correction by the
 * transport delay (well under a millisecond on a LAN), and it is the one time every input has: a
 * ZeroMQ rig's clock is unknown here, and an inlet's correction is an estimate that moves.
 */
export async function toLsl(opts: LslVelocitySinkOptions): Promise<LslSink> {
  if (!opts.name) throw new LslError('ELSLURI', 'an LSL output needs name=');
  if (!Array.isArray(opts.labels) || opts.labels.length === 0) throw new LslError('ELSLURI', 'an LSL output needs at least one velocity label');
  if (!(opts.binMs > 0)) throw new LslError('ELSLURI', `LSL output: binMs must be positive, got ${opts.binMs}`);
  const outlet = await LslOutlet.create({
    name: opts.name,
    type: opts.type ?? 'Velocity',
    sourceId: opts.sourceId ?? `langevind:${opts.name}`,
    channelCount: opts.labels.length,
    channelFormat: 'float32',
    nominalSrate: 1000 / opts.binMs,
    desc: describeChannels(opts.labels, { binMs: opts.binMs }),
    config: opts.config,
  });
  return {
    outlet,
    next(d: Decoded): void {
      outlet.push(d.velocity, d.receivedLslTime);
    },
    close: () => outlet.close(),
    stats: () => ({ sent: outlet.stats.sent, dropped: outlet.stats.dropped, subscribers: outlet.stats.consumers }),
  };
}

/** `lsl://name=X&type=Y?watchdog=2` → selector and options (the host part is case-sensitive here). */
export function parseLslUri(u: URL): { selector: Selector; params: Map<string, string> } {
  const href = u.href;
  const m = /^lsl:(?:\/\/)?([^?#]*)/i.exec(href);
  if (!m) throw new EndpointError(href, 'not an lsl:// URI');
  const selector: Selector = {};
  const set = (k: string, v: string): void => {
    const key = k === 'source_id' || k === 'sourceId' ? 'sourceId' : k;
    if (key !== 'name' && key !== 'type' && key !== 'sourceId' && key !== 'pred') throw new EndpointError(href, `unknown stream selector "${k}" (name, type, source_id, pred)`);
    if (v === '') throw new EndpointError(href, `empty ${k}=`);
    selector[key] = v;
  };
  for (const part of m[1].split('&').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new EndpointError(href, `expected key=value, got "${part}"`);
    set(decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1)));
  }
  const params = new Map<string, string>();
  for (const [k, v] of endpointParams(u, ['name', 'type', 'source_id', 'pred', 'watchdog', 'buffer'])) {
    if (k === 'watchdog' || k === 'buffer') params.set(k, v);
    else set(k, v);
  }
  try {
    if (selector.pred) compileQuery(selector.pred);
  } catch (e) {
    throw new EndpointError(href, (e as Error).message);
  }
  return { selector, params };
}

function secondsParam(u: URL, params: Map<string, string>, name: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!(x > 0)) throw new EndpointError(u.href, `option ${name} must be a positive number of seconds, got "${v}"`);
  return x;
}

/** `lsl://…` as inlet options for a model of nIn channels and binMs bins. */
export function lslInputFromUri(u: URL, model: { nIn: number; binMs: number }): LslSourceOptions {
  const { selector, params } = parseLslUri(u);
  if (!selector.name && !selector.type && !selector.sourceId && !selector.pred) throw new EndpointError(u.href, 'give name=, type=, source_id= or pred=');
  return { ...selector, nIn: model.nIn, binMs: model.binMs, watchdog: secondsParam(u, params, 'watchdog'), buffer: secondsParam(u, params, 'buffer') };
}

/** `lsl://name=…` as outlet options for velocity `labels` at binMs bins. */
export function lslOutputFromUri(u: URL, model: { labels: readonly string[]; binMs: number }): LslVelocitySinkOptions {
  const { selector, params } = parseLslUri(u);
  if (params.has('watchdog')) throw new EndpointError(u.href, 'watchdog= applies to inputs only');
  if (params.has('buffer')) throw new EndpointError(u.href, 'buffer= applies to inputs only');
  if (!selector.name) throw new EndpointError(u.href, 'an LSL output needs name=, e.g. lsl://name=langevind-velocity');
  if (selector.pred) throw new EndpointError(u.href, 'pred= applies to inputs only');
  return { ...selector, labels: model.labels, binMs: model.binMs };
}

export type { InletStats };
