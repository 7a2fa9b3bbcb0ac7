// A bounded slice of `npm run fuzz`: malformed ZeroMQ frames into a running `langevind run`
// (a separate process, real sockets on 127.0.0.1). No crash, no internal error, and every valid
// bin sent after the storms is decoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzZmqDaemon, ZMQ_KINDS } from '../../fuzz/zmq.js';
import { assertClean } from './support.js';

test('zmq: 3000 malformed messages of every kind into a running daemon; it keeps decoding completely', async () => {
  // Over-limit messages (libzmq drops the connection; the daemon re-establishes it) on a daemon of their own.
  const r = await fuzzZmqDaemon({ cases: 3000, seed: 11, kinds: ZMQ_KINDS, shareDaemon: true, overLimitCases: 5 });
  assertClean(r, 3000, ZMQ_KINDS);
  assert.equal(r.by_outcome['over_limit:recovered'], 5, JSON.stringify(r.notes.storms));
  // The daemon's own counters saw the storm: most cases were refused, by several reject kinds.
  const refused = Object.entries(r.by_outcome).filter(([k, v]) => k.startsWith('reject:') && v > 0);
  assert.ok(refused.length >= 4, JSON.stringify(r.by_outcome));
});
