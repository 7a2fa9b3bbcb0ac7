/**
 * ZeroMQ frames into a running daemon (`langevind run`, a separate process): one daemon per storm
 * kind, so each kind's rejects and internal errors are the daemon's own counters (summary JSON on
 * SIGINT). Every `BATCH` cases a valid probe bin follows and its decode is awaited: that paces the
 * storm under the high-water marks (every case reaches the daemon) and shows the daemon still
 * decodes mid-storm. After each storm N valid bins must all come back decoded, with finite velocity.
 * Over-limit messages (> ZMQ_MAXMSGSIZE, 1 MiB) make libzmq drop the connection: their storm runs
 * last, on its own daemon, and records whether and how fast decoding resumed after each.
 */
import { join } from 'node:path';
import { SpikeBinReader, SpikeBinWriter, newSpikeBin } from '../streams/proto.js';
import { CliProcess, REPO_ROOT } from '../harness/process.js';
import { freePort } from '../harness/net.js';
import { DecodedCollector, RigPublisher } from '../harness/zmq-peers.js';
import { caseSeed, Gen } from './gen.js';
import { Tally, type SurfaceResult } from './tally.js';

export const ZMQ_KINDS = [
  'random_bytes', 'frame_count', 'topic', 'truncated', 'bitflip', 'mutated', 'channels', 'lying_length',
  'count_values', 'bad_fields', 'seq_jump', 'seq_dup_reorder', 'over_limit',
] as const;
export type ZmqKind = (typeof ZMQ_KINDS)[number];

/**
 * The daemon runs the committed default model (models/default.safetensors, 48 channels): a
 * randomly initialised one is not stable over long runs (its latent state reaches NaN after about
 * 10⁴ bins of ordinary counts), which would hide what the storms do.
 */
const N_IN = 48;
const MODEL = join(REPO_ROOT, 'models', 'default.safetensors');
const STREAM = 'fuzz';
const BATCH = 100;
const VALID_AFTER = 200;
/** Seqs at or above this are "huge" and never become the base of the probes' sequence. */
const HUGE = 2 ** 50;
const MAX_MSG = 1 << 20;

type Frames = Array<Buffer | string>;

/** protobuf building blocks for hand-made (and lying) SpikeBins. */
function varint(v: bigint | number): Buffer {
  let x = BigInt(v);
  if (x < 0n) x += 1n << 64n;
  const out: number[] = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return Buffer.from(out);
}
const tag = (field: number, wt: number): Buffer => varint(field * 8 + wt);
function f64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
}
function packed(values: Array<number | bigint>): Buffer {
  return Buffer.concat(values.map((v) => varint(v)));
}

interface Ctx {
  g: Gen;
  /** The next in-order seq. */
  seq: number;
  writer: SpikeBinWriter;
}

function counts(g: Gen, n = N_IN): number[] {
  return Array.from({ length: n }, () => g.int(6));
}

/** A valid SpikeBin with the next seq (each case takes its own place in the sequence), or with `over`. */
function validBin(c: Ctx, over: Partial<{ seq: number; counts: number[]; binMs: number; streamId: string; timestamp: number }> = {}): Buffer {
  const seq = over.seq ?? c.seq++;
  return Buffer.from(c.writer.encode({ seq, timestamp: over.timestamp ?? seq * 0.02, counts: over.counts ?? counts(c.g), binMs: over.binMs ?? 20, streamId: over.streamId ?? STREAM }));
}

/** One case of a kind: the frames to send. */
function zmqCase(kind: ZmqKind, c: Ctx): Frames {
  const g = c.g;
  switch (kind) {
    case 'random_bytes':
      return ['spikes', g.bytes(g.size(512))];
    case 'frame_count': {
      const r = g.int(5);
      if (r === 0) return ['spikes'];
      if (r === 1) return [Buffer.concat([Buffer.from('spikes'), validBin(c)])];
      if (r === 2) return ['spikes', validBin(c), g.bytes(g.size(64))];
      if (r === 3) return ['spikes', Buffer.alloc(0)];
      return ['spikes', ...Array.from({ length: 3 + g.int(6) }, () => (g.chance(0.5) ? validBin(c) : g.bytes(g.size(32))))];
    }
    case 'topic':
      return [g.pick(['spikesX', 'spikes\u0000', 'spikes'.repeat(2 + g.int(100)), 'spikes ' + g.text(20)]), validBin(c)];
    case 'truncated': {
      const b = validBin(c);
      return ['spikes', b.subarray(0, g.int(b.length))];
    }
    case 'bitflip': {
      const b = validBin(c);
      for (let k = 1 + g.size(8); k > 0; k--) b[g.int(b.length)] ^= 1 << g.int(8);
      return ['spikes', b];
    }
    case 'mutated':
      return ['spikes', g.mutate(validBin(c)).bytes];
    case 'channels': {
      const n = g.pick([0, 1, N_IN - 1, N_IN + 1, 2 * N_IN, 1000, 65536, 65537, g.int(4096)]);
      return ['spikes', validBin(c, { counts: counts(g, n) })];
    }
    case 'lying_length': {
      const body = packed(counts(g));
      const lie = g.pick([body.length + 1, body.length - 1, 0, 2 ** 31, 2 ** 32, 2 ** 53, g.int(1 << 20)]);
      const parts = [tag(1, 0), varint(c.seq++)];
      const r = g.int(3);
      if (r === 0) parts.push(tag(3, 2), varint(Math.max(0, lie)), body);
      else if (r === 1) parts.push(tag(3, 2), varint(body.length), body, tag(5, 2), varint(lie), Buffer.from(STREAM));
      else parts.push(tag(3, 2), varint(body.length), body, tag(9 + g.int(100), 2), varint(lie), g.bytes(g.size(16)));
      return ['spikes', Buffer.concat(parts)];
    }
    case 'count_values': {
      // uint32 on the wire has no NaN or negative: these are what a confused encoder sends instead.
      const r = g.int(5);
      const base = [tag(1, 0), varint(c.seq++), tag(4, 1), f64(20), tag(5, 2), varint(STREAM.length), Buffer.from(STREAM)];
      let field: Buffer;
      if (r === 0) field = Buffer.concat([tag(3, 2), ...((b) => [varint(b.length), b])(packed(Array.from({ length: N_IN }, () => g.pick([-1n, -(2n ** 31n), 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, 0n]))))]);
      else if (r === 1) field = Buffer.concat(Array.from({ length: N_IN }, () => { const b = Buffer.alloc(4); b.writeFloatLE(g.pick([NaN, -1, Infinity, 0.5])); return Buffer.concat([tag(3, 5), b]); }));
      else if (r === 2) field = Buffer.concat(Array.from({ length: N_IN }, () => Buffer.concat([tag(3, 1), f64(g.pick([NaN, -1, -Infinity, 1e300]))])));
      else if (r === 3) field = Buffer.concat([...Array.from({ length: N_IN / 2 }, () => Buffer.concat([tag(3, 0), varint(g.int(5))])), tag(3, 2), ...((b) => [varint(b.length), b])(packed(counts(g, N_IN / 2)))]);
      else field = Buffer.concat([tag(3, 2), ...((b) => [varint(b.length), b])(packed(Array.from({ length: N_IN }, () => 2 ** 32 - 1 - g.int(3))))]);
      return ['spikes', Buffer.concat([...base, field])];
    }
    case 'bad_fields': {
      const r = g.int(8);
      if (r === 0) return ['spikes', validBin(c, { binMs: g.pick([NaN, -20, Infinity, 0.02, 20.0000001, 1e308, -0]) })];
      if (r === 1) return ['spikes', validBin(c, { timestamp: g.pick([NaN, Infinity, -Infinity, -1e308, 5e-324]) })];
      if (r === 2) return ['spikes', validBin(c, { streamId: g.pick(['other', '', 'fuzz\u0000', 'FUZZ', 'x'.repeat(100000), g.text(40)]) })];
      if (r === 3) return ['spikes', Buffer.concat([validBin(c).subarray(0, 0), tag(5, 2), varint(4), Buffer.from([0xff, 0xfe, 0xc0, 0x80])])];
      if (r === 4) return ['spikes', Buffer.concat([tag(0, g.int(6)), validBin(c)])];
      if (r === 5) return ['spikes', Buffer.concat([validBin(c), tag(6 + g.int(1000), g.pick([3, 4, 6, 7])), g.bytes(g.size(8))])];
      if (r === 6) return ['spikes', Buffer.concat([tag(1 + g.int(5), g.pick([0, 1, 2, 5])), g.bytes(g.size(16)), validBin(c)])];
      return ['spikes', Buffer.concat([validBin(c), validBin(c)])]; // two messages in one: repeated fields merge
    }
    case 'seq_jump': {
      const r = g.next();
      let seq: number | bigint;
      if (r < 0.55) seq = c.seq + 1 + g.range(1, 100);
      else if (r < 0.75) seq = c.seq + 1 + g.range(101, 100000);
      else if (r < 0.8) seq = c.seq + g.range(100001, 2 ** 31);
      else if (r < 0.9) seq = Math.max(0, c.seq - g.range(101, 2 ** 20));
      else if (r < 0.95) seq = g.pick([0, 1]);
      else seq = g.pick([2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
      if (typeof seq === 'number') {
        const b = validBin(c, { seq });
        c.seq = seq + 1;
        return ['spikes', b];
      }
      return ['spikes', Buffer.concat([tag(1, 0), varint(seq), tag(3, 2), ...((b) => [varint(b.length), b])(packed(counts(g))), tag(5, 2), varint(STREAM.length), Buffer.from(STREAM)])];
    }
    case 'seq_dup_reorder': {
      // In order most of the time, so that duplicates and reorders are relative to a moving last seq.
      if (g.chance(0.3)) return ['spikes', validBin(c)];
      const back = g.chance(0.4) ? 0 : g.range(1, 120);
      return ['spikes', validBin(c, { seq: Math.max(0, c.seq - 1 - back) })];
    }
    case 'over_limit':
      return ['spikes', g.chance(0.8) ? Buffer.alloc(MAX_MSG + 1 + g.size(1 << 20), g.int(256)) : Buffer.concat([validBin(c), Buffer.alloc(MAX_MSG)])];
  }
}

interface DaemonRun {
  daemon: CliProcess;
  rig: RigPublisher;
  out: DecodedCollector;
  /** Decodes seen so far by seq (probes and valid checks are looked up here). */
  seen: Map<number, boolean>;
}

async function startDaemon(model: string): Promise<DaemonRun> {
  const inPort = await freePort();
  const outPort = await freePort();
  const rig = await RigPublisher.bind(`tcp://127.0.0.1:${inPort}`);
  const daemon = new CliProcess(['run', '--model', model, '--input', `zmq+tcp://127.0.0.1:${inPort}`, '--output', `zmq+tcp://127.0.0.1:${outPort}`,
    '--status-interval', '0', '--stream-id', STREAM]);
  try {
    await daemon.waitMsg('ready', 30000);
    await rig.waitForSubscriber();
    const out = new DecodedCollector(`tcp://127.0.0.1:${outPort}`);
    await daemon.waitMsg('subscriber joined', 30000);
    return { daemon, rig, out, seen: new Map() };
  } catch (err) {
    daemon.kill();
    rig.close();
    throw err;
  }
}

/** Waits until the decode of `seq` arrived (true) or `ms` passed (false). */
async function decodedWithin(run: DaemonRun, seqs: readonly number[], ms: number): Promise<number> {
  const t0 = Date.now();
  let from = 0;
  for (;;) {
    const rec = run.out.received;
    for (; from < rec.length; from++) {
      const d = rec[from];
      let finite = true;
      for (let k = 0; k < d.velocity.length; k++) if (!Number.isFinite(d.velocity[k])) finite = false;
      if (d.streamId === STREAM) run.seen.set(d.seq, finite);
    }
    // Keep memory flat over 10⁵ cases: decodes are only looked up once.
    if (rec.length > 10000) { rec.splice(0, rec.length); from = 0; }
    const got = seqs.filter((s) => run.seen.get(s) === true).length;
    if (got === seqs.length || Date.now() - t0 > ms) return got;
    await new Promise((r) => setTimeout(r, got === 0 && Date.now() - t0 < 5 ? 0 : 2));
  }
}

export interface ZmqFuzzOptions {
  cases: number;
  seed: number;
  kinds?: readonly ZmqKind[];
  /** Over-limit cases to send (each is followed by a recovery check); default 20. */
  overLimitCases?: number;
  /** One daemon for every storm but the over-limit one (faster; per-kind rejects are then not split). */
  shareDaemon?: boolean;
  log?: (m: string) => void;
}

export async function fuzzZmqDaemon(opts: ZmqFuzzOptions): Promise<SurfaceResult> {
  const t = new Tally('zmq', opts.seed);
  const log = opts.log ?? (() => undefined);
  const model = MODEL;
  const kinds = (opts.kinds ?? ZMQ_KINDS).filter((k) => k !== 'over_limit');
  const overLimit = (opts.kinds ?? ZMQ_KINDS).includes('over_limit') ? opts.overLimitCases ?? 20 : 0;
  // Every kind but over-limit gets its share of the full count, so the surface reaches `cases` without it.
  const perKind = Math.ceil(opts.cases / kinds.length);
  const storms: Record<string, unknown> = {};
  t.result.notes.storms = storms;
  t.result.notes.model = { n_in: N_IN, stream_id: STREAM, batch: BATCH, valid_after: VALID_AFTER };
  let index = 0;
  const reader = new SpikeBinReader();
  const scratch = newSpikeBin();
  {
    const order = [...kinds, ...(overLimit > 0 ? ['over_limit' as const] : [])];
    let shared: { run: DaemonRun; c: Ctx; maxSeq: number; sent: number } | undefined;
    for (const [ki, kind] of order.entries()) {
      const n = kind === 'over_limit' ? overLimit : perKind;
      // The over-limit storm always gets its own daemon: libzmq drops the connection it arrives on.
      const own = !opts.shareDaemon || kind === 'over_limit';
      const st = !own && shared ? shared : { run: await startDaemon(model), c: { g: new Gen(0), seq: 1, writer: new SpikeBinWriter() } as Ctx, maxSeq: 0, sent: 0 };
      if (!own) shared = st;
      const last = own || ki === order.length - 1 || order[ki + 1] === 'over_limit';
      const run = st.run;
      const c = st.c;
      const storm: Record<string, unknown> = { cases: 0 };
      storms[kind] = storm;
      let maxSeq = st.maxSeq;
      let sentMessages = st.sent;
      let probesLost = 0;
      const internalLogs = (): number => run.daemon.logs.filter((l) => l.msg === 'bin processing failed' || l.msg === 'output failed' || l.level === 'error').length;
      const sendProbe = async (count: number, waitMs: number): Promise<number> => {
        c.seq = Math.max(c.seq, maxSeq + 1);
        const seqs: number[] = [];
        for (let k = 0; k < count; k++) {
          seqs.push(c.seq);
          await run.rig.sendRaw(['spikes', validBin(c)]);
          sentMessages++;
        }
        return decodedWithin(run, seqs, waitMs);
      };
      try {
        if ((await sendProbe(5, 20000)) !== 5) throw new Error(`zmq ${kind}: the daemon did not decode the warm-up bins`);
        const t0 = performance.now();
        for (let i = 0; i < n; i++, index++) {
          c.g = new Gen(caseSeed(opts.seed, index));
          const frames = zmqCase(kind, c);
          t.case(kind);
          storm.cases = (storm.cases as number) + 1;
          // What the daemon's validator will see as this message's seq (to keep the probes in order).
          if (frames.length === 2 && String(frames[0]) === 'spikes' && reader.read(frames[1] as Buffer, scratch) === null && scratch.seq < HUGE) maxSeq = Math.max(maxSeq, scratch.seq);
          await run.rig.sendRaw(frames);
          sentMessages++;
          if (kind === 'over_limit') {
            // libzmq drops the connection on these; does decoding resume, and when?
            const r0 = Date.now();
            let ok = 0;
            while (ok === 0 && Date.now() - r0 < 3000) ok = await sendProbe(1, 50);
            const ms = Date.now() - r0;
            t.outcome(ok ? 'over_limit:recovered' : 'over_limit:deaf');
            (storm.recovery_ms ??= [] as number[]) && (storm.recovery_ms as number[]).push(ok ? ms : -1);
            if (!ok) { storm.deaf_after_case = i; break; }
            continue;
          }
          if ((i + 1) % BATCH === 0 || i === n - 1) {
            const ok = await sendProbe(1, 10000);
            t.validCheck(`${kind}: probe after case ${index}`, 1, ok);
            if (!ok && ++probesLost >= 3) { storm.gave_up_after_case = i; break; }
          }
        }
        storm.storm_s = Math.round((performance.now() - t0) / 100) / 10;
        const got = await sendProbe(VALID_AFTER, 20000);
        t.validCheck(`${kind}: ${VALID_AFTER} valid bins after the storm`, VALID_AFTER, got);
        storm.valid_after = `${got}/${VALID_AFTER}`;
        storm.probes_lost = probesLost;
      } catch (err) {
        storm.error = (err as Error).message;
        t.validCheck(`${kind}: ${(err as Error).message}`, 1, 0);
      }
      st.maxSeq = maxSeq;
      st.sent = sentMessages;
      if (!last) {
        log(`${kind}: ${storm.cases} cases, ${storm.valid_after ?? '?'} valid after (shared daemon)`);
        continue;
      }
      const crashedEarly = run.daemon.child.exitCode !== null || run.daemon.child.signalCode !== null;
      const exit = await Promise.race([run.daemon.stop('SIGINT'), new Promise<null>((r) => setTimeout(() => r(null), 15000))]);
      run.out.close();
      run.rig.close();
      if (crashedEarly || !exit || exit.code !== 0) {
        t.crash(kind, index, `daemon ${crashedEarly ? 'died during the storm' : 'did not exit cleanly on SIGINT'}: ${JSON.stringify(exit)}; stderr: ${run.daemon.stderrText.slice(-1500)}`);
        run.daemon.kill();
      }
      let summary: Record<string, unknown> | undefined;
      try { summary = (run.daemon.lastJson<{ summary: Record<string, unknown> }>()).summary; } catch { /* counted below */ }
      if (summary) {
        const ie = Number(summary.internal_errors ?? 0);
        if (ie > 0) t.internal(kind, index, `daemon internal_errors ${ie}: ${JSON.stringify(run.daemon.logs.filter((l) => l.level === 'error' || l.msg === 'bin processing failed').slice(0, 3))}`, ie);
        const rejects = (summary.rejects ?? {}) as Record<string, number>;
        for (const [k, v] of Object.entries(rejects)) if (v > 0) t.outcome(`reject:${k}`, v);
        const received = Number(summary.messages_received ?? summary.bins_in ?? 0);
        const decoded = Number(summary.bins_decoded ?? summary.bins_out ?? 0);
        t.outcome('decoded', decoded);
        storm.sent = sentMessages;
        storm.received = received;
        storm.summary = { rejects, decoded, resets: summary.resets, restarts: summary.restarts, gaps: summary.gaps, internal_errors: ie, input_reconnects: summary.input_reconnects };
        // Messages ZeroMQ never delivered: topic-filtered by the subscription, or over the size limit.
        if (sentMessages > received) t.outcome('not_delivered', sentMessages - received);
      } else {
        t.crash(kind, index, `no summary JSON on stdout; stderr: ${run.daemon.stderrText.slice(-1500)}`);
      }
      storm.error_logs = internalLogs();
      log(`${kind}: ${storm.cases} cases, ${storm.valid_after ?? '?'} valid after, summary ${JSON.stringify(storm.summary ?? null)}`);
    }
  }
  return t.finish();
}
