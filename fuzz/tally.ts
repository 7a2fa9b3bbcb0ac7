/**
 * What one fuzzed surface did: cases by kind, outcomes by kind, crashes and internal errors with
 * enough detail (case index, seed) to replay them, and the check that valid input still works.
 */
import { loadavg } from 'node:os';

export interface Finding {
  kind: string;
  index: number;
  detail: string;
}

export interface SurfaceResult {
  surface: string;
  seed: number;
  cases: number;
  by_kind: Record<string, number>;
  /** How each case ended: "accepted", "refused:<code>", a reject kind, … */
  by_outcome: Record<string, number>;
  crashes: number;
  internal_errors: number;
  /** The first findings of each class (all are counted above). */
  findings: Finding[];
  /** After each storm: valid input sent and fully handled. */
  valid_after: { checks: number; sent: number; handled: number; failures: string[] };
  /** Anything else the surface reports (daemon summaries, over-limit behaviour). */
  notes: Record<string, unknown>;
  duration_s: number;
  loadavg_start: number[];
  loadavg_end: number[];
}

const MAX_FINDINGS = 20;

export class Tally {
  readonly result: SurfaceResult;
  private readonly t0 = performance.now();

  constructor(surface: string, seed: number) {
    this.result = {
      surface, seed, cases: 0, by_kind: {}, by_outcome: {}, crashes: 0, internal_errors: 0, findings: [],
      valid_after: { checks: 0, sent: 0, handled: 0, failures: [] }, notes: {}, duration_s: 0, loadavg_start: loadavg(), loadavg_end: [],
    };
  }

  case(kind: string): void {
    this.result.cases++;
    this.result.by_kind[kind] = (this.result.by_kind[kind] ?? 0) + 1;
  }

  outcome(what: string, n = 1): void {
    this.result.by_outcome[what] = (this.result.by_outcome[what] ?? 0) + n;
  }

  crash(kind: string, index: number, detail: string): void {
    this.result.crashes++;
    this.finding(`crash:${kind}`, index, detail);
  }

  internal(kind: string, index: number, detail: string, n = 1): void {
    this.result.internal_errors += n;
    this.finding(`internal:${kind}`, index, detail);
  }

  /** Valid input after a storm: `handled` of `sent` got through. */
  validCheck(what: string, sent: number, handled: number): void {
    const v = this.result.valid_after;
    v.checks++;
    v.sent += sent;
    v.handled += handled;
    if (handled !== sent && v.failures.length < MAX_FINDINGS) v.failures.push(`${what}: ${handled} of ${sent}`);
  }

  private finding(kind: string, index: number, detail: string): void {
    if (this.result.findings.length < MAX_FINDINGS) this.result.findings.push({ kind, index, detail: detail.slice(0, 500) });
  }

  finish(): SurfaceResult {
    this.result.duration_s = Math.round((performance.now() - this.t0) / 100) / 10;
    this.result.loadavg_end = loadavg();
    return this.result;
  }
}

/**
 * How a parser refused a case. A named error with a string `code` is a refusal; anything else (a
 * TypeError, a RangeError, a bare Error, a non-Error throw) is an internal error of that parser.
 */
export function classifyThrow(err: unknown): { refused: true; code: string } | { refused: false; detail: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const generic = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError'].includes(err.name);
    if (typeof code === 'string' && code !== '' && !generic) return { refused: true, code };
    return { refused: false, detail: `${err.name}${typeof code === 'string' ? `[${code}]` : ''}: ${err.message} @ ${(err.stack ?? '').split('\n').slice(1, 4).map((s) => s.trim()).join(' < ')}` };
  }
  return { refused: false, detail: `non-Error thrown: ${String(err)}` };
}

/** Counts uncaught exceptions and unhandled rejections while `fn` runs: in-process crashes. */
export async function catchingCrashes<T>(tally: Tally, fn: () => Promise<T>): Promise<T> {
  const onErr = (e: unknown): void => tally.crash('uncaught', -1, e instanceof Error ? `${e.name}: ${e.message} @ ${e.stack?.split('\n')[1]?.trim()}` : String(e));
  process.on('uncaughtException', onErr);
  process.on('unhandledRejection', onErr);
  try {
    return await fn();
  } finally {
    process.off('uncaughtException', onErr);
    process.off('unhandledRejection', onErr);
  }
}
