/**
 * Starts the control plane for a running daemon: the target over its parts, the HTTP server on
 * the configured address (the default one falls back to a free port when taken, so several
 * daemons on one machine all start), and returns what the daemon needs to close it.
 */
import type { Logger } from '../log.js';
import { DaemonTarget, type DaemonParts } from './daemon-target.js';
import { ControlConfigError } from './errors.js';
import type { ControlSettings } from './options.js';
import { startControlServer, type ControlPlugin, type ControlServer } from './server.js';

export interface AttachedControl {
  url: string;
  target: DaemonTarget;
  server: ControlServer;
  close(): Promise<void>;
}

export async function attachControl(s: ControlSettings, parts: DaemonParts, log: Logger, plugins: readonly ControlPlugin[] = []): Promise<AttachedControl> {
  const target = new DaemonTarget(parts);
  const start = (port: number) => startControlServer({
    target, address: { host: s.address.host, port }, token: s.token, modelDir: s.modelDir, recordDir: s.recordDir, log, plugins,
  });
  let server: ControlServer;
  try {
    server = await start(s.address.port);
  } catch (err) {
    if (!(s.fallback && err instanceof ControlConfigError && err.code === 'ECONTROLBIND')) throw err;
    log.child({ module: 'control' }).warn('default control port taken, using a free one', { wanted: s.address.port, error: err });
    server = await start(0);
  }
  return { url: server.url, target, server, close: () => server.close() };
}
