/** Socket helpers shared by the outlet, inlet and resolver: port search and number formatting. */
import dgram from 'node:dgram';
import net from 'node:net';
import { LslError } from './errors.js';
import type { LslConfig } from './config.js';

/** Binds a UDP socket; resolves with it, or rejects with the bind error (socket closed). */
export function bindUdp(port: number, address: string, reuseAddr = false): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr });
    const onErr = (e: Error): void => { s.close(); reject(e); };
    s.once('error', onErr);
    s.bind({ port, address, exclusive: true }, () => { s.off('error', onErr); resolve(s); });
  });
}

export function listenTcp(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { server.off('listening', onOk); reject(e); };
    const onOk = (): void => { server.off('error', onErr); resolve(); };
    server.once('error', onErr);
    server.once('listening', onOk);
    server.listen({ port, host, backlog: 10, exclusive: true });
  });
}

/** First free port in [BasePort, BasePort+PortRange), else a random one when allowed (liblsl's rule). */
export async function firstFreePort<T>(cfg: LslConfig, tryPort: (port: number) => Promise<T>, what: string): Promise<T> {
  for (let p = cfg.basePort; p < cfg.basePort + cfg.portRange; p++) {
    try { return await tryPort(p); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' && (e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    }
  }
  if (cfg.allowRandomPorts) return tryPort(0);
  throw new LslError('ELSLPORT', `no free ${what} port in ${cfg.basePort}–${cfg.basePort + cfg.portRange - 1} and AllowRandomPorts is off`);
}

/** A double with 16 significant digits, as liblsl's ostreams with precision 16 write it. */
export function fmt16(x: number): string {
  return String(Number(x.toPrecision(16)));
}
