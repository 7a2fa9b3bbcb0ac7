/**
 * The one harness that starts `langevind <command>` (or another Node script that logs the same
 * way) as a child process, follows its NDJSON log lines on stderr and waits until it is ready.
 * Tests, benchmarks and `langevind demo` all use it, so "ready" means one thing everywhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/daemon/cli.js, resolved from dist/harness/. */
export const CLI_PATH = fileURLToPath(new URL('../daemon/cli.js', import.meta.url));
/** The repository root (dist/harness/ → ../../). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  module?: string;
  [k: string]: unknown;
}

export interface SpawnOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Node options before the script, e.g. ['--expose-gc', '--import', probe]. */
  nodeArgs?: string[];
  /** Another script to run instead of cli.js (it must log NDJSON on stderr the same way). */
  script?: string;
  /** Called for every log line as it arrives (e.g. to echo warnings). */
  onLog?: (line: LogLine) => void;
}

export interface StartOptions extends SpawnOptions {
  /** The log line that means ready (default: msg "ready", which `langevind run` logs once its endpoints are open). */
  ready?: string | ((line: LogLine) => boolean);
  readyTimeoutMs?: number;
}

/** The child exited, or stayed silent too long, before it was ready. */
export class HarnessError extends Error {
  readonly code = 'ENOTREADY';
  constructor(message: string) {
    super(message);
    this.name = 'HarnessError';
  }
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class CliProcess {
  readonly child: ChildProcess;
  /** Every stderr line so far: parsed NDJSON, or { level: 'text', msg: line } for anything else. */
  readonly logs: LogLine[] = [];
  stdout = '';
  stderrText = '';
  readonly exited: Promise<Exit>;
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  constructor(args: string[], opts: SpawnOptions = {}) {
    const argv = [...(opts.nodeArgs ?? []), opts.script ?? CLI_PATH, ...args];
    this.child = spawn(process.execPath, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderrText += s;
      partial += s;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const text = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (!text.trim()) continue;
        const rec = parseLine(text);
        this.logs.push(rec);
        opts.onLog?.(rec);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(rec)) return true;
          w.resolve(rec);
          return false;
        });
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Spawns and resolves once the ready line is logged; otherwise kills the child and rejects with a
   * HarnessError that quotes its last lines.
   */
  static async start(args: string[], opts: StartOptions = {}): Promise<CliProcess> {
    const p = new CliProcess(args, opts);
    const ready = opts.ready ?? 'ready';
    const pred = typeof ready === 'string' ? (l: LogLine) => l.msg === ready : ready;
    try {
      await p.waitLog(pred, opts.readyTimeoutMs ?? 30_000);
      return p;
    } catch (err) {
      p.kill();
      throw new HarnessError(`${[opts.script ?? 'langevind', ...args.slice(0, 1)].join(' ')} was not ready: ${(err as Error).message}`);
    }
  }

  /** The first log line (past or future) matching pred; rejects if the process exits first or after timeoutMs. */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs = 20000): Promise<LogLine> {
    const seen = this.logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a log line; stderr so far:\n${this.stderrText.slice(-3000)}`));
      }, timeoutMs);
      const w = { pred, resolve: (l: LogLine) => { clearTimeout(t); resolve(l); } };
      this.waiters.push(w);
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(w)) return;
        this.waiters = this.waiters.filter((x) => x !== w);
        clearTimeout(t);
        reject(new Error(`process exited (code ${code}, signal ${signal}) before the log line; stderr:\n${this.stderrText.slice(-3000)}`));
      });
    });
  }

  waitMsg(msg: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitLog((l) => l.msg === msg, timeoutMs);
  }

  /** Sends a signal and waits for the exit; SIGKILL after timeoutMs if it has not exited by then. */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 15_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    const t = setTimeout(() => this.kill(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(t);
    return exit;
  }

  /** Kills the process if it still runs (cleanup). */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last stdout line parsed as JSON. */
  lastJson<T = unknown>(): T {
    const lines = this.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as T;
  }

  /** The `summary` of the last stdout JSON line that has one (what `langevind run` prints on exit). */
  summary<T = Record<string, unknown>>(): T | undefined {
    let found: T | undefined;
    for (const line of this.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const o = JSON.parse(line) as { summary?: T };
        if (o.summary) found = o.summary;
      } catch {
        // A text line that happens to start with "{".
      }
    }
    return found;
  }
}

function parseLine(text: string): LogLine {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as LogLine;
  } catch {
    // Not NDJSON: kept as text below.
  }
  return { level: 'text', msg: text };
}
