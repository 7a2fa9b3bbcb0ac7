/** Unique loopback ports and ipc paths for transport tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'langevind-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Transport = 'tcp' | 'ipc';

/** A fresh endpoint pair for a transport: the langevind URI and the raw ZeroMQ address. */
export async function endpoint(transport: Transport, dir: string, name: string): Promise<{ uri: string; address: string }> {
  if (transport === 'tcp') {
    const port = await freePort();
    return { uri: `zmq+tcp://127.0.0.1:${port}`, address: `tcp://127.0.0.1:${port}` };
  }
  const path = join(dir, `${name}.sock`);
  return { uri: `zmq+ipc://${path}`, address: `ipc://${path}` };
}
