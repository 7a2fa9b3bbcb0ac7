/**
 * The whole loop, every part a real process on real sockets: the simulated user (lockstep) →
 * `langevind run` → `langevind task --clock bins` → the user. With the same seed the task's
 * trials come out identical, so a block can be repeated exactly for each decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../support/net.js';
import { processBlock } from './process-block.js';

test('closed loop in lockstep: user, daemon and task as processes; the same seeds give the same trials', { timeout: 240_000 }, async () => {
  const tmp = tempDir('langevind-task-loop-');
  try {
    const a = await processBlock({ dir: tmp.dir, name: 'task-loop-a', trials: 4 });
    const b = await processBlock({ dir: tmp.dir, name: 'task-loop-b', trials: 4 });
    assert.ok(a.summary.decodes > 50, `decodes: ${a.summary.decodes}`);
    // (The decode count may differ by the one bin the user sends while the task closes.)
    assert.deepEqual(a.out.trajectories, b.out.trajectories);
    // The default model was not calibrated on this user, yet the user's corrections get the cursor in.
    const outcomes = a.out.trajectories.map((t) => t.outcome);
    assert.ok(outcomes.includes('success'), `outcomes: ${outcomes.join(' ')}`);
  } finally {
    tmp.cleanup();
  }
});
