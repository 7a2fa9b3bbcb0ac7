// A bounded slice of `npm run fuzz` on every LSL edge, machine scope only (127.0.0.1): datagrams to
// our outlet, TCP requests and handshakes to it, a rogue outlet feeding our inlet, and the parsers.
import { test } from 'node:test';
import { fuzzLslInlet, fuzzLslParsers, fuzzLslTcp, fuzzLslUdp } from '../../fuzz/lsl.js';
import { assertClean } from './support.js';

test('lsl_udp: 1500 malformed datagrams to the outlet; discovery, time probes and streaming still work', async () => {
  assertClean(await fuzzLslUdp({ cases: 1500, seed: 12 }), 1500, ['random_bytes', 'shortinfo_query', 'shortinfo_return', 'timedata', 'oversized']);
});

test('lsl_tcp: 1000 malformed requests and feed handshakes to the outlet; an inlet still gets every sample', async () => {
  assertClean(await fuzzLslTcp({ cases: 1000, seed: 13 }), 1000, ['random_bytes', 'shortinfo_query', 'feed_100', 'feed_110_headers', 'long_line']);
});

test('lsl_inlet: 1000 lying fullinfos, feed headers, test patterns and samples from a rogue outlet; well-framed samples all arrive', async () => {
  assertClean(await fuzzLslInlet({ cases: 1000, seed: 14, stormSize: 250 }), 1000, ['fullinfo_lies', 'feed_header', 'test_pattern', 'samples_then_cut', 'odd_values', 'random_feed']);
});

test('lsl_parsers: 1500 queries, stream infos, samples and lsl_api.cfg files; refused only with LslError / named errors', async () => {
  assertClean(await fuzzLslParsers({ cases: 1500, seed: 15 }), 1500, ['query', 'stream_info', 'sample_110', 'sample_100', 'archive_string', 'lsl_api_cfg']);
});

test('lsl_daemon: 1000 samples with NaN / negative / huge counts and NaN / infinite / far-off timestamps into a running daemon; it keeps decoding completely', async () => {
  const { fuzzLslDaemon, LSL_DAEMON_KINDS } = await import('../../fuzz/lsl-daemon.js');
  const r = await fuzzLslDaemon({ cases: 1000, seed: 19 });
  assertClean(r, 1000, LSL_DAEMON_KINDS);
});
