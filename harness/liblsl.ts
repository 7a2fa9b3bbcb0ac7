/**
 * The real liblsl 1.12 for interop tests and the LSL benchmark: `prebuilt/liblsl64.so` from the lsl.js@1.1.2 npm tarball,
 * fetched once with `npm pack` (never installed: its ffi-napi does not build on Node 20) into the
 * gitignored .cache/liblsl/ of the repository. A peer runs in its own /usr/bin/python3 process
 * (ctypes, lslpeer.py) so that a liblsl crash cannot take down the test runner.
 * Also the lsl_api.cfg that keeps every LSL test and benchmark on this machine.
 */
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './process.js';

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

/** One liblsl process, driven request/response over JSON lines. */
export class LiblslPeer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: { resolve: (v: Json) => void; reject: (e: Error) => void }[] = [];
  private exited = false;
  stderr = '';
  readonly ready: Promise<Json>;

  constructor(extraCfg = '') {
    const cfgPath = testConfigPath(extraCfg);
    this.proc = spawn('/usr/bin/python3', [peerScript, ensureLiblsl()], {
      cwd: dirname(cfgPath), env: { ...process.env, LSLAPICFG: cfgPath }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    const lines = createInterface({ input: this.proc.stdout });
    this.ready = new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
    lines.on('line', (line) => {
      const p = this.pending.shift();
      if (!p) return;
      let v: Json;
      try { v = JSON.parse(line) as Json; } catch { p.reject(new Error(`liblsl peer: bad reply ${line}`)); return; }
      if (v.error) p.reject(new Error(`liblsl peer: ${String(v.error)}`));
      else p.resolve(v);
    });
    this.proc.on('exit', (code, sig) => {
      this.exited = true;
      for (const p of this.pending.splice(0)) p.reject(new Error(`liblsl peer exited (${code ?? sig}): ${this.stderr.slice(-500)}`));
    });
  }

  request<T extends Json = Json>(req: Json): Promise<T> {
    if (this.exited) return Promise.reject(new Error('liblsl peer has exited'));
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: Json) => void, reject });
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** Kills the process (SIGKILL: like a crashed acquisition program, no clean shutdown). */
  kill(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((r) => { this.proc.once('exit', () => r()); this.proc.kill('SIGKILL'); });
  }

  async quit(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }
}
