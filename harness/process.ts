/**
 * The one harness that starts `langevind <command>` (or another Node script that logs the same
 * way, or any program such as a Python peer) as a child process, follows its NDJSON log lines on
 * stderr and its stdout lines, and waits until it is ready. Tests, benchmarks and `langevind demo`
 * all use it, so "ready" means one thing everywhere.
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
  /** Another program instead of Node (e.g. /usr/bin/python3); args are then its whole argument list. */
  executable?: string;
  /** Give the child a stdin pipe (`child.stdin`) instead of none. */
  stdin?: boolean;
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
  /**
   * What means ready: a log msg (default "ready", which `langevind run` logs once its endpoints are
   * open), a predicate on stderr log lines, or { stdout } a predicate on stdout lines.
   */
  ready?: string | ((line: LogLine) => boolean) | { stdout: (line: string) => boolean };
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

type Waiter<T> = { pred: (line: T) => boolean; resolve: (line: T) => void };

export class CliProcess {
  readonly child: ChildProcess;
  /** Every stderr line so far: parsed NDJSON, or { level: 'text', msg: line } for anything else. */
  readonly logs: LogLine[] = [];
  stdout = '';
  stderrText = '';
  readonly exited: Promise<Exit>;
  /** Every complete stdout line so far. */
  readonly stdoutLines: string[] = [];
  /** How many stdout lines nextLine() has handed out. */
  private taken = 0;
  private waiters: Waiter<LogLine>[] = [];
  private stdoutWaiters: Waiter<string>[] = [];

  constructor(args: string[], opts: SpawnOptions = {}) {
    const [exe, argv] = opts.executable ? [opts.executable, args] : [process.execPath, [...(opts.nodeArgs ?? []), opts.script ?? CLI_PATH, ...args]];
    this.child = spawn(exe, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    onLines(this.child.stdout!, (s) => (this.stdout += s), (line) => {
      this.stdoutLines.push(line);
      this.stdoutWaiters = settle(this.stdoutWaiters, line);
    });
    onLines(this.child.stderr!, (s) => (this.stderrText += s), (text) => {
      if (!text.trim()) return;
      const rec = parseLine(text);
      this.logs.push(rec);
      opts.onLog?.(rec);
      this.waiters = settle(this.waiters, rec);
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
    const timeoutMs = opts.readyTimeoutMs ?? 30_000;
    try {
      if (typeof ready === 'object') await p.waitStdout(ready.stdout, timeoutMs);
      else await p.waitLog(typeof ready === 'string' ? (l: LogLine) => l.msg === ready : ready, timeoutMs);
      return p;
    } catch (err) {
      p.kill();
      throw new HarnessError(`${[opts.executable ?? opts.script ?? 'langevind', ...args.slice(0, 1)].join(' ')} was not ready: ${(err as Error).message}`);
    }
  }

  /** The first log line (past or future) matching pred; rejects if the process exits first or after timeoutMs. */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs = 20000): Promise<LogLine> {
    return this.wait(this.logs, pred, timeoutMs, 'a log line', () => this.waiters, (w) => (this.waiters = w));
  }

  /** The first stdout line (past or future) matching pred; rejects as waitLog does. */
  waitStdout(pred: (line: string) => boolean, timeoutMs = 20000): Promise<string> {
    return this.wait(this.stdoutLines, pred, timeoutMs, 'a stdout line', () => this.stdoutWaiters, (w) => (this.stdoutWaiters = w));
  }

  /** The next stdout line that nextLine() has not handed out yet: the replies of a peer that answers each request with one line. */
  async nextLine(timeoutMs = 20000): Promise<string> {
    const i = this.taken++;
    if (i >= this.stdoutLines.length) await this.waitStdout(() => this.stdoutLines.length > i, timeoutMs);
    return this.stdoutLines[i];
  }

  /** Writes msg as one JSON line to stdin (spawned with stdin: true) and resolves with the next reply line, parsed. */
  async request<T>(msg: unknown, timeoutMs = 20000): Promise<T> {
    const reply = this.nextLine(timeoutMs);
    this.child.stdin!.write(JSON.stringify(msg) + '\n');
    return JSON.parse(await reply) as T;
  }

  private wait<T>(seen: T[], pred: (l: T) => boolean, timeoutMs: number, what: string,
    get: () => Waiter<T>[], set: (w: Waiter<T>[]) => void): Promise<T> {
    const hit = seen.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      // Infinity: no timer (setTimeout would fire at once past 2^31 − 1 ms).
      const t = Number.isFinite(timeoutMs) ? setTimeout(() => {
        set(get().filter((x) => x !== w));
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr so far:\n${this.stderrText.slice(-3000)}`));
      }, timeoutMs) : undefined;
      const w = { pred, resolve: (l: T) => { clearTimeout(t); resolve(l); } };
      set([...get(), w]);
      void this.exited.then(({ code, signal }) => {
        if (!get().includes(w)) return;
        set(get().filter((x) => x !== w));
        clearTimeout(t);
        reject(new Error(`process exited (code ${code}, signal ${signal}) before ${what}; stderr:\n${this.stderrText.slice(-3000)}`));
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

/** Resolves the waiters that value satisfies; returns the others. */
function settle<T>(waiters: Waiter<T>[], value: T): Waiter<T>[] {
  return waiters.filter((w) => {
    if (!w.pred(value)) return true;
    w.resolve(value);
    return false;
  });
}

/** Calls onText for every chunk and onLine for every complete line of a child's output stream. */
function onLines(stream: NodeJS.ReadableStream, onText: (s: string) => void, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    onText(s);
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      onLine(line);
    }
  });
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
