/**
 * The real liblsl 1.12 for interop tests and the LSL benchmark: `prebuilt/liblsl64.so` from the lsl.js@1.1.2 npm tarball,
 * fetched once with `npm pack` (never installed: its ffi-napi does not build on Node 20) into the
 * gitignored .cache/liblsl/ of the repository. A peer runs in its own /usr/bin/python3 process
 * (ctypes, lslpeer.py) so that a liblsl crash cannot take down the test runner.
 * Also the lsl_api.cfg that keeps every LSL test and benchmark on this machine.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { CliProcess, REPO_ROOT } from './process.js';

export const cacheDir = join(REPO_ROOT, '.cache', 'liblsl');
/** The Python peer is not compiled, so it is read from the source tree. */
export const peerScript = join(REPO_ROOT, 'harness', 'lslpeer.py');

/** Path of liblsl64.so: $LIBLSL_PATH, else the cache, fetched on first use. */
export function ensureLiblsl(): string {
  if (process.env.LIBLSL_PATH) return process.env.LIBLSL_PATH;
  const so = join(cacheDir, 'liblsl64.so');
  if (existsSync(so)) return so;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(join(cacheDir, 'pack-'));
  try {
    execFileSync('npm', ['pack', 'lsl.js@1.1.2', '--pack-destination', tmp, '--silent'], { cwd: tmp, stdio: ['ignore', 'pipe', 'inherit'] });
    execFileSync('tar', ['xzf', join(tmp, 'lsl.js-1.1.2.tgz'), '-C', tmp, 'package/prebuilt/liblsl64.so']);
    renameSync(join(tmp, 'package', 'prebuilt', 'liblsl64.so'), so);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return so;
}

/**
 * lsl_api.cfg for every LSL test and benchmark on these machines: machine scope (discovery only to 127.0.0.1),
 * no IPv6, and 127.0.0.1 as a known peer so that every outlet's service port is queried even
 * when another process holds the unicast queries to 127.0.0.1:16571.
 */
export const TEST_LSL_CFG = `[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
MachineAddresses = {127.0.0.1}
[lab]
KnownPeers = {127.0.0.1}
`;

/**
 * Writes a config into its own directory and returns the file's path. liblsl 1.12 (this build) does
 * NOT read LSLAPICFG: it looks for ./lsl_api.cfg in its working directory, then ~/lsl_api/, then
 * /etc/lsl_api/ (strace shows it). Peers therefore run with that directory as their cwd, and get
 * LSLAPICFG as well for newer liblsl builds and for our own code.
 */
export function testConfigPath(extra = ''): string {
  const dir = join(cacheDir, extra ? `cfg-${createHash('sha1').update(extra).digest('hex').slice(0, 12)}` : 'cfg');
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'lsl_api.cfg');
  writeFileSync(p, TEST_LSL_CFG + extra);
  return p;
}

type Json = Record<string, unknown>;

/** One liblsl process, driven request/response over JSON lines (through the harness). */
export class LiblslPeer {
  private readonly proc: CliProcess;
  /** The peer's first line, once liblsl is loaded. */
  readonly ready: Promise<Json>;

  constructor(extraCfg = '') {
    const cfgPath = testConfigPath(extraCfg);
    this.proc = new CliProcess([peerScript, ensureLiblsl()], { executable: '/usr/bin/python3', stdin: true, cwd: dirname(cfgPath), env: { LSLAPICFG: cfgPath } });
    this.ready = this.reply(this.proc.nextLine(Infinity));
  }

  get stderr(): string {
    return this.proc.stderrText;
  }

  /** Sends one request; resolves with its reply, rejects on an error reply or if the peer exits. */
  request<T extends Json = Json>(req: Json): Promise<T> {
    if (!this.proc.running) return Promise.reject(new Error('liblsl peer has exited'));
    const reply = this.proc.nextLine(Infinity);
    this.proc.child.stdin!.write(JSON.stringify(req) + '\n');
    return this.reply(reply) as Promise<T>;
  }

  /** Kills the process (SIGKILL: like a crashed acquisition program, no clean shutdown). */
  async kill(): Promise<void> {
    await this.proc.stop('SIGKILL');
  }

  async quit(): Promise<void> {
    if (!this.proc.running) return;
    this.proc.child.stdin!.end(JSON.stringify({ op: 'quit' }) + '\n');
    const t = setTimeout(() => this.proc.kill(), 5000);
    await this.proc.exited;
    clearTimeout(t);
  }

  private async reply(line: Promise<string>): Promise<Json> {
    let text: string;
    try {
      text = await line;
    } catch (err) {
      throw new Error(`liblsl peer exited: ${(err as Error).message.slice(-500)}`);
    }
    let v: Json;
    try {
      v = JSON.parse(text) as Json;
    } catch {
      throw new Error(`liblsl peer: bad reply ${text}`);
    }
    if (v.error) throw new Error(`liblsl peer: ${String(v.error)}`);
    return v;
  }
}
