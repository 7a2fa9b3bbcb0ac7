/**
 * The control plane's options of `langevind run`, checked before anything is opened so that a
 * bad address, a missing token or a missing directory stops the daemon at once with its code.
 */
import { dirname, resolve } from 'node:path';
import { DEFAULT_CONTROL, isLoopback, parseControlAddress, type ControlAddress } from './address.js';
import { ControlConfigError } from './errors.js';
import { resolveRoot } from './paths.js';
import { readTokenFile } from './token.js';

export interface ControlOptionsIn {
  /** `HOST:PORT` or `off`; unset: the default (127.0.0.1:7370, another free port if taken). */
  control?: string;
  controlTokenFile?: string;
  modelDir?: string;
  recordDir?: string;
  /** --model and --record, whose directories are the defaults. */
  model: string;
  record?: string;
}

export interface ControlSettings {
  address: ControlAddress;
  /** The address was the default: if it is taken, another free port is used instead of failing. */
  fallback: boolean;
  token?: string;
  modelDir?: string;
  recordDir?: string;
}

export const CONTROL_USAGE = `  --control HOST:PORT|off  control API and dashboard over HTTP (default ${DEFAULT_CONTROL}, another
                          free port if that one is taken; port 0: any free port; the address is
                          in the "ready" log line). Beyond loopback it needs --control-token-file
  --control-token-file F  bearer token (first line, ≥ 16 characters): needed by every request
                          when listening beyond loopback, by POST requests always
  --model-dir DIR         POST /model and /readout may load files under DIR only (default: the
                          directory of --model)
  --record-dir DIR        POST /record may write under DIR only (default: the directory of --record;
                          without either, remote recording is refused)`;

export function resolveControlOptions(o: ControlOptionsIn): ControlSettings | null {
  const address = parseControlAddress(o.control ?? DEFAULT_CONTROL);
  if (address === null) return null;
  const token = o.controlTokenFile !== undefined ? readTokenFile(o.controlTokenFile) : undefined;
  if (!isLoopback(address.host) && token === undefined)
    throw new ControlConfigError('ECONTROLTOKEN', `--control ${address.host}:${address.port} is not a loopback address: listening beyond this machine needs --control-token-file`);
  const modelDir = resolveRoot(o.modelDir ?? dirname(resolve(o.model)), '--model-dir');
  const recordDir = o.recordDir !== undefined ? resolveRoot(o.recordDir, '--record-dir') : o.record !== undefined ? resolveRoot(dirname(resolve(o.record)), '--record-dir (the directory of --record)') : undefined;
  return { address, fallback: o.control === undefined, token, modelDir, recordDir };
}
