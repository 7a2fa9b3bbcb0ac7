/**
 * LSL stream info (`<info>` document), shared by the LSL transport and XDF stream headers.
 * Parsed by element name, never by position (liblsl 1.12 and later order fields differently).
 */
import { child, childText, element, parseXml, path, serializeXml, type XmlElement } from './xml.js';

export const CHANNEL_FORMATS = ['float32', 'double64', 'string', 'int32', 'int16', 'int8', 'int64'] as const;
export type ChannelFormat = (typeof CHANNEL_FORMATS)[number];

export interface StreamInfo {
  name: string;
  type: string;
  channelCount: number;
  channelFormat: ChannelFormat;
  sourceId: string;
  /** Hz; 0 means irregular rate. */
  nominalSrate: number;
  /** Protocol version × 100, e.g. 110. */
  version: number;
  createdAt: number;
  uid: string;
  sessionId: string;
  hostname: string;
  v4address: string;
  v4dataPort: number;
  v4servicePort: number;
  v6address: string;
  v6dataPort: number;
  v6servicePort: number;
  /** The user's metadata subtree; an element named `desc`. */
  desc: XmlElement;
}

export class StreamInfoError extends Error {
  readonly code = 'ESTREAMINFO';
  constructor(message: string) {
    super(message);
    this.name = 'StreamInfoError';
  }
}

export function isChannelFormat(s: string): s is ChannelFormat {
  return (CHANNEL_FORMATS as readonly string[]).includes(s);
}

/** C's `%#.16g`, which liblsl uses for doubles in stream info. */
export function formatLslDouble(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0.000000000000000';
  const exp = Math.floor(Math.log10(Math.abs(x)));
  if (exp < -4 || exp >= 16) {
    const [m, e] = x.toExponential(15).split('e');
    const en = Number(e);
    return `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
  }
  return x.toFixed(Math.max(0, 15 - exp));
}

/** Fills every field with liblsl's defaults; `name` is required. */
export function makeStreamInfo(fields: Partial<StreamInfo> & Pick<StreamInfo, 'name'>): StreamInfo {
  const info: StreamInfo = {
    type: '',
    channelCount: 1,
    channelFormat: 'float32',
    sourceId: '',
    nominalSrate: 0,
    version: 110,
    createdAt: 0,
    uid: '',
    sessionId: 'default',
    hostname: '',
    v4address: '',
    v4dataPort: 0,
    v4servicePort: 0,
    v6address: '',
    v6dataPort: 0,
    v6servicePort: 0,
    desc: element('desc'),
    ...fields,
  };
  validateStreamInfo(info);
  return info;
}

export function validateStreamInfo(info: StreamInfo): void {
  if (!info.name) throw new StreamInfoError('stream info: name must not be empty');
  if (!Number.isInteger(info.channelCount) || info.channelCount < 0)
    throw new StreamInfoError(`stream info "${info.name}": channel_count must be an integer ≥ 0, got ${info.channelCount}`);
  if (!isChannelFormat(info.channelFormat))
    throw new StreamInfoError(`stream info "${info.name}": unknown channel_format "${String(info.channelFormat)}"`);
  if (!(info.nominalSrate >= 0)) throw new StreamInfoError(`stream info "${info.name}": nominal_srate must be ≥ 0, got ${info.nominalSrate}`);
  for (const k of ['v4dataPort', 'v4servicePort', 'v6dataPort', 'v6servicePort'] as const) {
    const p = info[k];
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new StreamInfoError(`stream info "${info.name}": ${k} must be a port 0–65535, got ${p}`);
  }
}

function num(root: XmlElement, name: string, dflt: number): number {
  const t = childText(root, name);
  if (t === undefined || t === '') return dflt;
  const v = Number(t);
  if (!Number.isFinite(v)) throw new StreamInfoError(`stream info: <${name}> is not a number: "${t}"`);
  return v;
}

/** Parses an `<info>` document (shortinfo or fullinfo, any liblsl version). */
export function parseStreamInfo(xml: string | XmlElement): StreamInfo {
  const root = typeof xml === 'string' ? parseXml(xml) : xml;
  if (root.name !== 'info') throw new StreamInfoError(`stream info: root element is <${root.name}>, expected <info>`);
  const fmt = childText(root, 'channel_format') ?? 'float32';
  if (!isChannelFormat(fmt)) throw new StreamInfoError(`stream info: unknown channel_format "${fmt}"`);
  const info: StreamInfo = {
    name: childText(root, 'name') ?? '',
    type: childText(root, 'type') ?? '',
    channelCount: Math.trunc(num(root, 'channel_count', 1)),
    channelFormat: fmt,
    sourceId: childText(root, 'source_id') ?? '',
    nominalSrate: num(root, 'nominal_srate', 0),
    version: Math.round(num(root, 'version', 1.1) * 100),
    createdAt: num(root, 'created_at', 0),
    uid: childText(root, 'uid') ?? '',
    sessionId: childText(root, 'session_id') ?? 'default',
    hostname: childText(root, 'hostname') ?? '',
    v4address: childText(root, 'v4address') ?? '',
    v4dataPort: Math.trunc(num(root, 'v4data_port', 0)),
    v4servicePort: Math.trunc(num(root, 'v4service_port', 0)),
    v6address: childText(root, 'v6address') ?? '',
    v6dataPort: Math.trunc(num(root, 'v6data_port', 0)),
    v6servicePort: Math.trunc(num(root, 'v6service_port', 0)),
    desc: child(root, 'desc') ?? element('desc'),
  };
  validateStreamInfo(info);
  return info;
}

/** The `<info>` element in liblsl HEAD's field order; `short` leaves desc empty (shortinfo). */
export function streamInfoElement(info: StreamInfo, short = false): XmlElement {
  const t = (name: string, text: string): XmlElement => element(name, [], text);
  return element('info', [
    t('name', info.name),
    t('type', info.type),
    t('channel_count', String(info.channelCount)),
    t('channel_format', info.channelFormat),
    t('source_id', info.sourceId),
    t('nominal_srate', formatLslDouble(info.nominalSrate)),
    t('version', formatLslDouble(info.version / 100)),
    t('created_at', formatLslDouble(info.createdAt)),
    t('uid', info.uid),
    t('session_id', info.sessionId),
    t('hostname', info.hostname),
    t('v4address', info.v4address),
    t('v4data_port', String(info.v4dataPort)),
    t('v4service_port', String(info.v4servicePort)),
    t('v6address', info.v6address),
    t('v6data_port', String(info.v6dataPort)),
    t('v6service_port', String(info.v6servicePort)),
    short ? element('desc') : info.desc,
  ]);
}

export function streamInfoToXml(info: StreamInfo, short = false): string {
  return serializeXml(streamInfoElement(info, short));
}

/** Channel labels from `<desc><channels><channel><label>`, or undefined when absent. */
export function channelLabels(info: StreamInfo): string[] | undefined {
  const chans = path(info.desc, 'channels');
  if (!chans) return undefined;
  const labels = chans.children.filter((c) => c.name === 'channel').map((c) => childText(c, 'label') ?? '');
  return labels.length > 0 ? labels : undefined;
}

/** Bin width in ms for a binned-spike-count stream: `<desc><binning><bin_ms>`, else 1000 / nominal_srate. */
export function binMs(info: StreamInfo): number | undefined {
  const t = path(info.desc, 'binning', 'bin_ms')?.text.trim();
  if (t) {
    const v = Number(t);
    if (Number.isFinite(v) && v > 0) return v;
  }
  return info.nominalSrate > 0 ? 1000 / info.nominalSrate : undefined;
}

/** A `<desc>` with channel labels (and optional unit/type) and, for binned counts, `<binning><bin_ms>`. */
export function describeChannels(labels: readonly string[], opts: { unit?: string; type?: string; binMs?: number } = {}): XmlElement {
  const channels = labels.map((label) => {
    const kids = [element('label', [], label)];
    if (opts.unit) kids.push(element('unit', [], opts.unit));
    if (opts.type) kids.push(element('type', [], opts.type));
    return element('channel', kids);
  });
  const kids = [element('channels', channels)];
  if (opts.binMs !== undefined) kids.push(element('binning', [element('bin_ms', [], String(opts.binMs))]));
  return element('desc', kids);
}
