/**
 * The end of a live daemon test: every decode the daemon sent is what an offline filter of the same
 * model gives on the same counts, the daemon stops cleanly on SIGINT (its event loop was free to
 * handle it), and its summary counts every bin with no internal error.
 */
import assert from 'node:assert/strict';
import type { RunSummary } from '../../daemon/metrics.js';
import type { CliProcess } from '../../harness/process.js';
import type { DecodedCollector } from '../../harness/zmq-peers.js';
import { OnlineFilter } from '../../model/filter.js';
import type { LangevinModel } from '../../model/model-file.js';

export async function assertDecodedAsOfflineThenStops(daemon: CliProcess, collector: DecodedCollector, model: LangevinModel, counts: Float64Array[]): Promise<void> {
  await collector.waitFor(counts.length);
  const f = new OnlineFilter(model);
  assert.deepEqual(collector.received.map((d) => Array.from(d.velocity)), counts.map((x) => Array.from(f.step(x).velocity)));
  assert.deepEqual(await daemon.stop('SIGINT'), { code: 0, signal: null });
  const { summary } = daemon.lastJson<{ summary: RunSummary }>();
  assert.equal(summary.bins_decoded, counts.length);
  assert.equal(summary.internal_errors, 0);
}
