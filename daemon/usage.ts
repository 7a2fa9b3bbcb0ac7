/**
 * The CLI's one usage-error path. A command that was called wrongly (unknown option, missing or
 * malformed argument) throws an error whose `code` is 'EUSAGE', such as UsageError; daemon/cli.ts
 * then prints the problem and that command's `usage` on stderr and exits 2. Every command module
 * exports `usage` (its --help text) for that.
 */
export const USAGE_EXIT_CODE = 2;

export class UsageError extends Error {
  readonly code = 'EUSAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The finite number a flag's value spells, or null. Number() alone reads '' and '  ' as 0, so a
 * blank value would pass as zero.
 */
export function numberOf(v: string): number | null {
  const x = Number(v);
  return v.trim() === '' || !Number.isFinite(x) ? null : x;
}

export function isUsageError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EUSAGE';
}
