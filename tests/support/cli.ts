/** Spawns the built CLI and follows its NDJSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/daemon/cli.js, resolved from dist/tests/support/. */
export const CLI = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url));

export interface LogLine {
  level: string;
  msg: string;
  module?: string;
  [k: string]: unknown;
}

export class CliProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderrText = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];

  constructor(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderrText += s;
      partial += s;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        let rec: LogLine;
        try {
          rec = JSON.parse(line) as LogLine;
        } catch {
          continue;
        }
        this.logs.push(rec);
        this.waiters = this.waiters.filter((w) => {
          if (w.pred(rec)) {
            w.resolve(rec);
            return false;
          }
          return true;
        });
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first log line (past or future) matching pred; rejects if the process exits first or after timeoutMs. */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs = 20000): Promise<LogLine> {
    const seen = this.logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a log line; stderr so far:\n${this.stderrText.slice(-3000)}`)), timeoutMs);
      const w = { pred, resolve: (l: LogLine) => { clearTimeout(t); resolve(l); } };
      this.waiters.push(w);
      void this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(w)) return;
        clearTimeout(t);
        reject(new Error(`process exited (code ${code}, signal ${signal}) before the log line; stderr:\n${this.stderrText.slice(-3000)}`));
      });
    });
  }

  waitMsg(msg: string, timeoutMs?: number): Promise<LogLine> {
    return this.waitLog((l) => l.msg === msg, timeoutMs);
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Kills the process if it still runs (test cleanup). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** The last stdout line parsed as JSON (the run summary). */
  lastJson<T = unknown>(): T {
    const lines = this.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]) as T;
  }
}
