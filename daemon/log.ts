/**
 * Structured logs: one JSON object per line (NDJSON) on stderr by default, a child logger per
 * module. The destination is swappable so tests can parse what was logged. Formatting happens
 * only when a line is actually written; the hot path logs only on bad input, and then through a
 * RateLimiter.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `bindings` (e.g. `{ module: 'pipeline' }`) to every line. */
  child(bindings: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** Receives each complete line (with its trailing newline). Default: process.stderr. */
  write?: (line: string) => void;
}

function errorFields(v: unknown): unknown {
  if (v instanceof Error) {
    const e = v as Error & { code?: unknown };
    return { message: e.message, name: e.name, ...(e.code !== undefined ? { code: e.code } : {}) };
  }
  return v;
}

export function createLogger(opts: LoggerOptions = {}, bindings: Fields = {}): Logger {
  const min = LEVELS[opts.level ?? ((process.env.LANGEVIND_LOG_LEVEL as Level | undefined) ?? 'info')] ?? LEVELS.info;
  const write = opts.write ?? ((line: string) => { process.stderr.write(line); });
  const emit = (level: Level, msg: string, fields?: Fields): void => {
    if (LEVELS[level] < min) return;
    const rec: Fields = { time: Date.now(), level, ...bindings, msg };
    if (fields) for (const k of Object.keys(fields)) rec[k] = errorFields(fields[k]);
    let line: string;
    try {
      line = JSON.stringify(rec);
    } catch {
      line = JSON.stringify({ time: rec.time, level, ...bindings, msg, note: 'fields not serializable' });
    }
    write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger(opts, { ...bindings, ...b }),
  };
}

/** A logger that drops everything (for library use without a daemon). */
export const silentLogger: Logger = createLogger({ write: () => {} });

/**
 * Logs the first occurrence of each key at once, then at most one line per interval per key
 * saying how many were suppressed in between. Counting a suppressed event allocates nothing.
 */
export class RateLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly log: Logger, private readonly intervalMs = 5000) {}

  /** `fields` is only built when a line will be written. */
  warn(key: string, msg: string, fields: () => Fields): void {
    const now = performance.now();
    const s = this.last.get(key);
    if (s && now - s.at < this.intervalMs) {
      s.suppressed++;
      return;
    }
    const suppressed = s ? s.suppressed : 0;
    if (s) {
      s.at = now;
      s.suppressed = 0;
    } else this.last.set(key, { at: now, suppressed: 0 });
    this.log.warn(msg, { kind: key, ...fields(), ...(suppressed ? { suppressed_since_last: suppressed } : {}) });
  }
}
