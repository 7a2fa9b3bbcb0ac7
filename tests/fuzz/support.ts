/** What every bounded fuzz slice asserts about a surface's result. */
import assert from 'node:assert/strict';
import type { SurfaceResult } from '../../fuzz/tally.js';

export function assertClean(r: SurfaceResult, cases: number, kinds: readonly string[]): void {
  const why = JSON.stringify({ findings: r.findings, valid_after: r.valid_after, notes: r.notes }).slice(0, 3000);
  assert.equal(r.crashes, 0, `crashes in ${r.surface}: ${why}`);
  assert.equal(r.internal_errors, 0, `internal errors in ${r.surface}: ${why}`);
  assert.ok(r.cases >= cases, `${r.surface}: ${r.cases} of ${cases} cases ran`);
  for (const k of kinds) assert.ok((r.by_kind[k] ?? 0) > 0, `${r.surface}: no case of kind ${k} (${JSON.stringify(r.by_kind)})`);
  assert.ok(r.valid_after.checks > 0, `${r.surface}: valid input was never checked`);
  assert.equal(r.valid_after.handled, r.valid_after.sent, `${r.surface}: valid input after the storms: ${JSON.stringify(r.valid_after)}`);
}
