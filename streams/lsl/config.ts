/**
 * liblsl's configuration file, lsl_api.cfg, read the way liblsl reads it so that one file configures
 * a whole rig: the LSLAPICFG environment variable, else ~/lsl_api/lsl_api.cfg, else
 * /etc/lsl_api/lsl_api.cfg, else the built-in defaults (liblsl's, see lsl-protocol.md §1).
 */
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LslError } from './errors.js';

export type ResolveScope = 'machine' | 'link' | 'site' | 'organization' | 'global';
export type Ipv6Mode = 'allow' | 'disable' | 'force';

export interface LslConfig {
  /** Where the values came from: a file path, or 'defaults'. */
  source: string;
  multicastPort: number;
  basePort: number;
  portRange: number;
  allowRandomPorts: boolean;
  ipv6: Ipv6Mode;
  resolveScope: ResolveScope;
  /** Local address to bind; '' = liblsl's default (all interfaces). Machine scope always binds 127.0.0.1. */
  listenAddress: string;
  /** The discovery destinations for this scope (after AddressesOverride and the IPv6 filter). */
  addresses: string[];
  /** Multicast TTL for this scope (TTLOverride wins). */
  ttl: number;
  knownPeers: string[];
  sessionId: string;
  useProtocolVersion: number;
  watchdogCheckInterval: number;
  watchdogTimeThreshold: number;
  multicastMinRtt: number;
  multicastMaxRtt: number;
  unicastMinRtt: number;
  unicastMaxRtt: number;
  continuousResolveInterval: number;
  timeUpdateInterval: number;
  timeUpdateMinProbes: number;
  timeProbeCount: number;
  timeProbeInterval: number;
  timeProbeMaxRtt: number;
}

const GROUP = '113D:6FDD:2C17:A643:FFE2:1BD1:3CD2';
/** liblsl 1.13+ defaults (1.12 had FF31:… in machine scope and lacked 224.0.0.1). */
const DEFAULT_LISTS: Record<ResolveScope, string[]> = {
  machine: ['127.0.0.1'],
  link: ['255.255.255.255', '224.0.0.1', '224.0.0.183', `FF02:${GROUP}`],
  site: ['239.255.172.215', `FF05:${GROUP}`],
  organization: ['239.192.172.215', `FF08:${GROUP}`],
  global: [],
};
const SCOPES: ResolveScope[] = ['machine', 'link', 'site', 'organization', 'global'];
const TTL: Record<ResolveScope, number> = { machine: 0, link: 1, site: 24, organization: 32, global: 255 };

/** INI text → { 'section.key': value }, as boost::property_tree's INI reader sees it. */
export function parseIni(text: string, where = 'lsl_api.cfg'): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw new LslError('ELSLCONFIG', `${where}:${i + 1}: unterminated section header "${line}"`);
      section = line.slice(1, -1).trim();
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new LslError('ELSLCONFIG', `${where}:${i + 1}: expected "key = value", got "${line}"`);
    const key = line.slice(0, eq).trim();
    out.set(section ? `${section}.${key}` : key, line.slice(eq + 1).trim());
  });
  return out;
}

/** liblsl's set syntax: `{a, b, c}` (braces optional). */
export function parseSet(v: string): string[] {
  const s = v.trim().replace(/^\{/, '').replace(/\}$/, '');
  return s.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

export function isIpv6(addr: string): boolean {
  return addr.includes(':');
}

/**
 * The file liblsl would read, or undefined: $LSLAPICFG (liblsl 1.13+), then ./lsl_api.cfg in the
 * working directory (liblsl 1.12 starts here; it ignores LSLAPICFG), then ~/lsl_api/lsl_api.cfg,
 * then /etc/lsl_api/lsl_api.cfg.
 */
export function findConfigFile(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const fromEnv = env.LSLAPICFG;
  // liblsl falls through to the next location when the named file is missing; so do we.
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const p of [join(cwd, 'lsl_api.cfg'), join(env.HOME ?? homedir(), 'lsl_api', 'lsl_api.cfg'), '/etc/lsl_api/lsl_api.cfg']) if (existsSync(p)) return p;
  return undefined;
}

export function configFromText(text: string, source: string): LslConfig {
  const kv = parseIni(text, source);
  const num = (key: string, dflt: number, min = -Infinity, max = Infinity): number => {
    const v = kv.get(key);
    if (v === undefined || v === '') return dflt;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min || x > max) throw new LslError('ELSLCONFIG', `${source}: ${key} = "${v}" is not a number in [${min}, ${max}]`);
    return x;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = kv.get(key)?.toLowerCase();
    if (v === undefined || v === '') return dflt;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new LslError('ELSLCONFIG', `${source}: ${key} = "${v}" is not a boolean`);
  };
  const ipv6Raw = (kv.get('ports.IPv6') ?? 'allow').toLowerCase();
  const ipv6: Ipv6Mode = ipv6Raw.startsWith('allow') ? 'allow' : ipv6Raw.startsWith('disable') ? 'disable' : ipv6Raw.startsWith('force') ? 'force' : (() => {
    throw new LslError('ELSLCONFIG', `${source}: ports.IPv6 = "${ipv6Raw}" (expected allow, disable or force)`);
  })();
  const scope = (kv.get('multicast.ResolveScope') ?? 'site').toLowerCase() as ResolveScope;
  if (!SCOPES.includes(scope)) throw new LslError('ELSLCONFIG', `${source}: multicast.ResolveScope = "${scope}" is unsupported (machine, link, site, organization, global)`);
  const listKey: Record<ResolveScope, string> = {
    machine: 'MachineAddresses', link: 'LinkAddresses', site: 'SiteAddresses', organization: 'OrganizationAddresses', global: 'GlobalAddresses',
  };
  let addresses: string[] = [];
  for (const s of SCOPES.slice(0, SCOPES.indexOf(scope) + 1)) {
    const v = kv.get(`multicast.${listKey[s]}`);
    addresses.push(...(v === undefined ? DEFAULT_LISTS[s] : parseSet(v)));
  }
  const override = kv.get('multicast.AddressesOverride');
  if (override !== undefined && parseSet(override).length > 0) addresses = parseSet(override);
  addresses = addresses.filter((a) => (ipv6 === 'disable' ? !isIpv6(a) : ipv6 === 'force' ? isIpv6(a) : true));
  const ttlOverride = num('multicast.TTLOverride', -1, -1, 255);
  const useProto = Math.min(110, num('tuning.UseProtocolVersion', 110, 100));
  return {
    source,
    multicastPort: num('ports.MulticastPort', 16571, 1, 65535),
    basePort: num('ports.BasePort', 16572, 1, 65535),
    portRange: num('ports.PortRange', 32, 1, 65535),
    allowRandomPorts: bool('ports.AllowRandomPorts', true),
    ipv6,
    resolveScope: scope,
    listenAddress: kv.get('multicast.ListenAddress') ?? '',
    addresses,
    ttl: ttlOverride >= 0 ? ttlOverride : TTL[scope],
    knownPeers: parseSet(kv.get('lab.KnownPeers') ?? '{}').filter((a) => (ipv6 === 'disable' ? !isIpv6(a) : true)),
    sessionId: kv.get('lab.SessionID') ?? 'default',
    useProtocolVersion: useProto >= 110 ? 110 : 100,
    watchdogCheckInterval: num('tuning.WatchdogCheckInterval', 15, 0),
    watchdogTimeThreshold: num('tuning.WatchdogTimeThreshold', 15, 0),
    multicastMinRtt: num('tuning.MulticastMinRTT', 0.5, 0),
    multicastMaxRtt: num('tuning.MulticastMaxRTT', 3.0, 0),
    unicastMinRtt: num('tuning.UnicastMinRTT', 0.75, 0),
    unicastMaxRtt: num('tuning.UnicastMaxRTT', 5.0, 0),
    continuousResolveInterval: num('tuning.ContinuousResolveInterval', 0.5, 0),
    timeUpdateInterval: num('tuning.TimeUpdateInterval', 2.0, 0),
    timeUpdateMinProbes: num('tuning.TimeUpdateMinProbes', 6, 0),
    timeProbeCount: num('tuning.TimeProbeCount', 8, 1),
    timeProbeInterval: num('tuning.TimeProbeInterval', 0.064, 0),
    timeProbeMaxRtt: num('tuning.TimeProbeMaxRTT', 0.128, 0),
  };
}

/** Loads the configuration as liblsl does; a file that exists but cannot be parsed is an error, not a silent default. */
export function loadLslConfig(env: NodeJS.ProcessEnv = process.env): LslConfig {
  const file = findConfigFile(env);
  if (!file) return configFromText('', 'defaults');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LslError('ELSLCONFIG', `cannot read ${file}: ${(e as Error).message}`);
  }
  return configFromText(text, file);
}

/** The address our sockets bind: loopback only in machine scope (nothing may leave the host), else ListenAddress or all. */
export function bindAddress(cfg: LslConfig): string {
  // Our sockets are IPv4; an IPv6-only rig must say so rather than get a stream nobody can reach.
  if (cfg.ipv6 === 'force') throw new LslError('ELSLCONFIG', `${cfg.source}: ports.IPv6 = force (IPv6 only) is not supported; langevind speaks LSL over IPv4`);
  if (cfg.resolveScope === 'machine') return '127.0.0.1';
  return cfg.listenAddress || '0.0.0.0';
}

/** True when an address is multicast (224/4) or the limited broadcast address. */
export function isMulticastOrBroadcast(addr: string): boolean {
  if (isIpv6(addr)) return /^ff/i.test(addr);
  const first = Number(addr.split('.')[0]);
  return addr === '255.255.255.255' || (first >= 224 && first <= 239);
}
