/**
 * LSL samples into a running daemon (`langevind run --input lsl://…`, a separate process): a real
 * outlet of ours plays the rig and pushes well-framed samples whose content is wrong: NaN,
 * negative, fractional and huge counts, and timestamps that are NaN, infinite, far in the future or
 * past, repeated or missing. The daemon must refuse the bad bins and keep decoding: probes with a
 * unique timestamp on the bin grid come back decoded, mid-storm and N of them after it.
 */
import { join } from 'node:path';
import { DEDUCED_TIMESTAMP } from '../streams/lsl/codec.js';
import { configFromText } from '../streams/lsl/config.js';
import { LslOutlet } from '../streams/lsl/outlet.js';
import { describeChannels } from '../streams/stream-info.js';
import { CliProcess, REPO_ROOT } from '../harness/process.js';
import { TEST_LSL_CFG, testConfigPath } from '../harness/liblsl.js';
import { freePort } from '../harness/net.js';
import { DecodedCollector } from '../harness/zmq-peers.js';
import { caseSeed, Gen } from './gen.js';
import { Tally, type SurfaceResult } from './tally.js';

export const LSL_DAEMON_KINDS = ['odd_values', 'odd_timestamp', 'both', 'burst'] as const;

/**
 * The daemon runs the committed default model (models/default.safetensors, 48 channels): a
 * randomly initialised one is not stable over long runs (its latent state reaches NaN after about
 * 10⁴ bins of ordinary counts), which would hide what the storms do.
 */
const N_IN = 48;
const MODEL = join(REPO_ROOT, 'models', 'default.safetensors');
const PERIOD = 0.02;
const BATCH = 100;
const VALID_AFTER = 200;

const ODD_VALUES = [NaN, -1, -0, 0.5, Infinity, -Infinity, 3.4e38, 1e-45, 2 ** 31, 1e9];

export async function fuzzLslDaemon(opts: { cases: number; seed: number; log?: (m: string) => void }): Promise<SurfaceResult> {
  const t = new Tally('lsl_daemon', opts.seed);
  const model = MODEL;
  const name = `fuzz-rig-${process.pid}-${opts.seed}`;
  const outlet = await LslOutlet.create({
    name, type: 'SpikeCounts', channelCount: N_IN, channelFormat: 'float32', nominalSrate: 1 / PERIOD, sourceId: name,
    desc: describeChannels(Array.from({ length: N_IN }, (_, i) => `ch${i}`), { binMs: PERIOD * 1000 }), config: configFromText(TEST_LSL_CFG, 'fuzz'),
  });
  const outPort = await freePort();
  const daemon = new CliProcess(['run', '--model', model, '--input', `lsl://name=${name}`, '--output', `zmq+tcp://127.0.0.1:${outPort}`, '--status-interval', '0'],
    { env: { LSLAPICFG: testConfigPath() } });
  const out = new DecodedCollector(`tcp://127.0.0.1:${outPort}`);
  const seen = new Set<number>();
  let from = 0;
  const arrived = (ts: readonly number[], ms: number): Promise<number> => new Promise((resolve) => {
    const t0 = Date.now();
    const poll = (): void => {
      const rec = out.received;
      for (; from < rec.length; from++) {
        const d = rec[from];
        let finite = true;
        for (let k = 0; k < d.velocity.length; k++) if (!Number.isFinite(d.velocity[k])) finite = false;
        if (finite) seen.add(d.timestamp);
      }
      if (rec.length > 10000) { rec.splice(0, rec.length); from = 0; }
      const got = ts.filter((x) => seen.has(x)).length;
      if (got === ts.length || Date.now() - t0 > ms) resolve(got);
      else setTimeout(poll, 2);
    };
    poll();
  });
  // The bin grid: slot k is stamped T0 + k·PERIOD; every case and probe takes one slot.
  const T0 = 1000;
  let slot = 0;
  const ones = new Float32Array(N_IN).fill(1);
  /** Resolves once no decode has arrived for `ms` (the daemon has worked off what it read). */
  const quiet = async (ms: number): Promise<void> => {
    for (let n = -1, k = 0; n !== out.received.length && k < 100; k++) {
      n = out.received.length;
      await new Promise((r) => setTimeout(r, ms));
    }
  };
  // Probes go in groups of 20, each awaited: a burst read in one TCP chunk would otherwise
  // overflow the daemon's bounded output queue (64), which drops by design.
  const probe = async (n: number, ms: number): Promise<number> => {
    await quiet(20);
    let got = 0;
    for (let k0 = 0; k0 < n; k0 += 20) {
      const ts: number[] = [];
      for (let k = k0; k < Math.min(n, k0 + 20); k++) {
        const stamp = T0 + slot++ * PERIOD;
        ts.push(stamp);
        outlet.push(ones, stamp);
      }
      got += await arrived(ts, ms);
    }
    return got;
  };
  try {
    await daemon.waitMsg('ready', 30000);
    await daemon.waitMsg('subscriber joined', 30000);
    if (!(await outlet.waitForConsumers(30000))) throw new Error('the daemon did not subscribe to the outlet');
    if ((await probe(5, 20000)) !== 5) throw new Error('the daemon did not decode the warm-up samples');
    const perKind = Math.ceil(opts.cases / LSL_DAEMON_KINDS.length);
    let index = 0;
    for (const kind of LSL_DAEMON_KINDS) {
      let lost = 0;
      for (let i = 0; i < perKind; i++, index++) {
        const g = new Gen(caseSeed(opts.seed, index));
        t.case(kind);
        const values = Float32Array.from({ length: N_IN }, () => (kind === 'odd_timestamp' || kind === 'burst' || g.chance(0.3) ? g.int(5) : g.pick(ODD_VALUES)));
        let stamp = T0 + slot++ * PERIOD;
        if (kind === 'odd_timestamp' || kind === 'both') {
          stamp = g.pick([NaN, Infinity, -Infinity, 1e300, -1e300, 1e-300, stamp + 1e6, stamp - 1e6, stamp - 3 * PERIOD, stamp - PERIOD, stamp + 0.4 * PERIOD,
            stamp + 2 * PERIOD, stamp + 1000 * PERIOD, DEDUCED_TIMESTAMP, stamp]);
        }
        outlet.push(values, stamp);
        if (i % 25 === 24) await new Promise((r) => setImmediate(r));
        if ((i + 1) % BATCH === 0 || i === perKind - 1) {
          const ok = await probe(1, 10000);
          t.validCheck(`${kind}: probe after case ${index}`, 1, ok);
          if (!ok && ++lost >= 3) break;
        }
      }
      const got = await probe(VALID_AFTER, 20000);
      t.validCheck(`${kind}: ${VALID_AFTER} valid samples after the storm`, VALID_AFTER, got);
      opts.log?.(`${kind}: ${got}/${VALID_AFTER} valid after`);
    }
  } catch (err) {
    t.validCheck(`lsl_daemon: ${(err as Error).message}`, 1, 0);
  } finally {
    const crashedEarly = daemon.child.exitCode !== null || daemon.child.signalCode !== null;
    const exit = await Promise.race([daemon.stop('SIGINT'), new Promise<null>((r) => setTimeout(() => r(null), 15000))]);
    out.close();
    await outlet.close();
    if (crashedEarly || !exit || exit.code !== 0) {
      t.crash('daemon', -1, `daemon ${crashedEarly ? 'died' : 'did not exit cleanly'}: ${JSON.stringify(exit)}; stderr: ${daemon.stderrText.slice(-1500)}`);
      daemon.kill();
    }
    try {
      const s = daemon.lastJson<{ summary: Record<string, unknown> }>().summary;
      const ie = Number(s.internal_errors ?? 0);
      if (ie > 0) t.internal('daemon', -1, `internal_errors ${ie}: ${JSON.stringify(daemon.logs.filter((l) => l.level === 'error' || l.msg === 'bin processing failed').slice(0, 3))}`, ie);
      for (const [k, v] of Object.entries((s.rejects ?? {}) as Record<string, number>)) if (v > 0) t.outcome(`reject:${k}`, v);
      t.outcome('decoded', Number(s.bins_decoded ?? s.bins_out ?? 0));
      t.result.notes.outlet_dropped = outlet.stats.dropped;
      t.result.notes.outputs = s.outputs;
      t.result.notes.summary = { received: s.messages_received ?? s.bins_in, resets: s.resets, restarts: s.restarts, gaps: s.gaps, gap_bins: s.gap_bins, internal_errors: ie };
    } catch {
      t.crash('daemon', -1, `no summary JSON; stderr: ${daemon.stderrText.slice(-1500)}`);
    }
  }
  return t.finish();
}
