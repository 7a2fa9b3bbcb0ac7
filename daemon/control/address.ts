/**
 * The `--control` option: `HOST:PORT`, `[IPv6]:PORT`, `:PORT` (loopback), or `off`. Port 0 asks
 * the OS for a free one (the ready line says which). Only loopback addresses may be bound
 * without a token; that rule lives here so the CLI and the server agree on it.
 */
import { isIP } from 'node:net';
import { ControlConfigError } from './errors.js';

export const DEFAULT_CONTROL_PORT = 7370;
export const DEFAULT_CONTROL = `127.0.0.1:${DEFAULT_CONTROL_PORT}`;

export interface ControlAddress {
  host: string;
  port: number;
}

/** null for `off`. */
export function parseControlAddress(spec: string): ControlAddress | null {
  const s = spec.trim();
  if (s === 'off' || s === 'none' || s === 'false') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new ControlConfigError('ECONTROLADDR', `--control must be HOST:PORT, [IPv6]:PORT or off, got "${spec}"`);
  const host = m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]);
  const port = Number(m[3]);
  if (port > 65535) throw new ControlConfigError('ECONTROLADDR', `--control port must be 0…65535, got ${port}`);
  if (m[1] !== undefined && isIP(host) !== 6) throw new ControlConfigError('ECONTROLADDR', `--control: "${host}" is not an IPv6 address`);
  if (m[1] === undefined && host !== 'localhost' && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host))
    throw new ControlConfigError('ECONTROLADDR', `--control: "${host}" is not a host name or address`);
  return { host, port };
}

/** 127.0.0.0/8, ::1 and `localhost`: reachable only from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '::ffff:127.0.0.1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** `http://HOST:PORT` for a bound address (IPv6 in brackets). */
export function controlUrl(a: ControlAddress): string {
  return `http://${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${a.port}`;
}
