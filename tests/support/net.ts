/** Unique loopback ports and ipc paths for transport tests (ports from harness/net.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../harness/net.js';

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
