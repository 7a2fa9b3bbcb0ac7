/**
 * The live baselines allocate nothing per bin: each decoder's stepUnchecked measured in its own
 * process by bench/alloc.ts (the measurement bench/step.ts reports for the LangevinFlow filter),
 * beside a control loop that allocates one small object per iteration.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ALLOC_FLAGS } from '../../bench/alloc.js';
import { baselineFixture, type BaselineFixture } from '../support/baselines.js';
import { tempDir } from '../support/net.js';

const CHILD = fileURLToPath(new URL('../support/step-alloc.js', import.meta.url));
const tmp = tempDir('langevind-baselines-');
after(() => tmp.cleanup());
let fx: BaselineFixture;
before(async () => { fx = await baselineFixture(tmp.dir); });

for (const name of ['wiener', 'kalman', 'langevinflow'] as const) {
  test(`${name}: 0 bytes allocated per step (the control loop's allocation is seen)`, () => {
    const out = execFileSync(process.execPath, [...ALLOC_FLAGS, CHILD, fx.path, name], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { bytes_per_step: number; control_bytes_per_object: number };
    assert.ok(r.control_bytes_per_object >= 8, `the method sees an allocating loop: ${r.control_bytes_per_object} B/object`);
    // Not exactly 0: one-off growth (JIT code) is bounded in the estimate, not removed; a real
    // allocation per step is ≥ 8 bytes.
    assert.ok(r.bytes_per_step < 1, `${r.bytes_per_step} B/step`);
  });
}
