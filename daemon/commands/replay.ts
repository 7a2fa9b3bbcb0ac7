/**
 * `langevind replay RECORDING.xdf --to URI --from URI [--speed 1|N|max] [--report FILE.html] [--bins N]`
 *
 * Plays a recording into a running daemon exactly as a rig would (SpikeBin on topic `spikes`
 * from an XPUB that binds by default, since the daemon's input connects), receives the Decoded
 * messages (SUB, connects by default, since the daemon's output binds), matches them by seq and
 * reports end-to-end latency as JSON (stdout, and FILE.json beside --report) and as an HTML page.
 *
 * Slow joiners: nothing is sent before the daemon's input has subscribed (the XPUB reports the
 * subscription), and the receiving SUB finishes its handshake with the daemon's output first,
 * so the first bins are neither dropped on the way in nor on the way out.
 *
 * `langevind replay SESSION.xdf [--with FILE.xdf] [--label L] [SESSION.xdf …] --metrics [--report FILE.html]`
 * needs no daemon: the closed-loop metrics of each recorded session (closedloop/metrics/session.ts)
 * as JSON and one page comparing the blocks. A recording played into a daemon that holds the
 * task's streams adds the recorded session's metrics to the latency report.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../usage.js';
import { Subscriber, XPublisher } from 'zeromq';
import { AffinityError, formatCpuList, parseCpuList, pinProcess } from '../affinity.js';
import { parseEndpoint } from '../endpoints.js';
import { buildReplayReport, replayReportHtml, type ReplayMeasurements, type ReplayReport } from '../../report/replay.js';
import { RunningR2 } from '../../report/stats.js';
import { table } from '../../report/html.js';
import { esc } from '../../report/svg.js';
import { METRICS_FOOTER, metricsReportHtml, metricsSections } from '../../closedloop/metrics/report.js';
import { hasTaskStreams, MetricsError } from '../../closedloop/metrics/recording.js';
import { readSession, sessionJson, sessionMetrics, type SessionFiles, type SessionMetrics } from '../../closedloop/metrics/session.js';
import { Histogram } from '../histogram.js';
import { DecodedReader, encodeSpikeBin, newDecoded } from '../../streams/proto.js';
import { binAt, checkSpeed, loadRecording, pace, recordingFromStreams, releaseMs, type Recording } from '../../streams/replay.js';
import { monotonicNs } from '../../streams/types.js';
import { SPIKES_TOPIC, VELOCITY_TOPIC, zmqAddress } from '../../streams/zmq/endpoint.js';

export class ReplayCliError extends Error {
  constructor(readonly code: 'EREPLAYCONNECT' | 'EREPLAYSOCKET', message: string) {
    super(message);
    this.name = 'ReplayCliError';
  }
}

export interface ReplaySessionOptions {
  /** A loaded recording (see loadRecording) or a path. */
  recording: Recording | string;
  stream?: string;
  to: string;
  from: string;
  speed: number | 'max';
  /** Bins to send (default: the whole recording); more than the recording loops it. */
  bins?: number;
  /** Bins in flight at speed max: enough to keep the daemon busy, few enough that no queue drops. */
  window?: number;
  /** How long to wait for the daemon's sockets (ms, default 10000). */
  connectTimeoutMs?: number;
  /** After the last send, how long to wait for outstanding decodes (ms, default max(1000, 50 bins)). */
  drainMs?: number;
  /** Called about once a second while bins flow (off the receive path's critical part). */
  onProgress?: (p: ReplayProgress) => void;
  /** Stops sending early (e.g. on SIGINT); the report covers what was sent. */
  signal?: AbortSignal;
}

export interface ReplayProgress {
  elapsedS: number;
  sent: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  /** Mean R² of decoded against recorded velocity so far (NaN without a Kinematics stream). */
  r2: number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new ReplayCliError('EREPLAYCONNECT', `${what}: nothing after ${ms} ms (is \`langevind run\` running with matching --input/--output?)`)), ms);
    }),
  ]);
}

/** Sends the recording through the daemon and measures every bin; resolves with the raw measurements. */
export async function runReplay(o: ReplaySessionOptions): Promise<ReplayMeasurements> {
  const rec = typeof o.recording === 'string' ? await loadRecording(o.recording, o.stream) : o.recording;
  const speed = checkSpeed(o.speed);
  const count = o.bins ?? rec.bins;
  if (!Number.isInteger(count) || count <= 0) throw new UsageError(`replay: --bins must be a positive integer, got ${o.bins}`);
  const toUri = parseEndpoint(o.to);
  const fromUri = parseEndpoint(o.from);
  const to = zmqAddress(toUri, true);
  const from = zmqAddress(fromUri, false);
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const spikesTopic = to.params.get('topic') || SPIKES_TOPIC;
  const velocityTopic = from.params.get('topic') || VELOCITY_TOPIC;

  const sendNs = new Float64Array(count).fill(NaN);
  const recvNs = new Float64Array(count).fill(NaN);
  const daemonNs = new Float64Array(count).fill(NaN);
  let velocityAxes = 0;
  let velocity = new Float32Array(0);
  let duplicates = 0;
  let unexpected = 0;
  let received = 0;
  let sent = 0;
  let modelId = '';
  const truthK = rec.kinematics?.labels.length ?? 0;
  const live = new Histogram();
  const r2 = new RunningR2(Math.max(1, truthK));

  const sub = new Subscriber({ receiveHighWaterMark: 100_000, linger: 0 });
  const pub = new XPublisher({ sendHighWaterMark: 100_000, sendTimeout: 0, linger: 1000 });
  let pacer: ReturnType<typeof pace> | undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  try {
    // 1. Our SUB joins the daemon's output; the subscription follows the handshake at once.
    sub.subscribe(velocityTopic);
    const subReady = new Promise<void>((resolve) => sub.events.on('handshake', () => resolve()));
    try {
      if (from.bind) await sub.bind(from.address);
      else sub.connect(from.address);
    } catch (err) {
      throw new ReplayCliError('EREPLAYSOCKET', `replay: cannot ${from.bind ? 'bind' : 'connect'} --from ${from.address}: ${(err as Error).message}`);
    }
    await withTimeout(subReady, timeoutMs, `replay: waiting for the daemon's output at ${from.address}`);
    await delay(50);

    // 2. Our XPUB waits for the daemon's input to subscribe.
    let subscribed!: () => void;
    const pubReady = new Promise<void>((resolve) => (subscribed = resolve));
    try {
      if (to.bind) await pub.bind(to.address);
      else pub.connect(to.address);
    } catch (err) {
      throw new ReplayCliError('EREPLAYSOCKET', `replay: cannot ${to.bind ? 'bind' : 'connect'} --to ${to.address}: ${(err as Error).message}`);
    }
    void (async () => {
      try {
        for await (const [m] of pub) {
          const topic = m.subarray(1).toString();
          if (m[0] === 1 && spikesTopic.startsWith(topic)) subscribed();
        }
      } catch {
        /* closing the socket ends the loop */
      }
    })();
    await withTimeout(pubReady, timeoutMs, `replay: waiting for the daemon's input to subscribe at ${to.address}`);

    // 3. Receive loop: stamp first, then decode into a reused object.
    const reader = new DecodedReader();
    const dec = newDecoded();
    const t0 = performance.now();
    let lastProgress = t0;
    let wake: (() => void) | undefined;
    const window = o.window ?? 256;
    // At speed max a lost decode would hold its window slot forever: after a second without any
    // decode, what is outstanding is written off and sending resumes (the report counts it lost).
    let writtenOff = 0;
    let lastRecvMs = performance.now();
    const inFlight = (): number => sent - received - writtenOff;
    stallTimer = speed === 'max' ? setInterval(() => {
      if (performance.now() - lastRecvMs > 1000 && inFlight() > 0) {
        writtenOff = sent - received;
        pacer?.resume();
      }
    }, 100) : undefined;
    const receiving = (async () => {
      try {
        for await (const frames of sub) {
          const now = monotonicNs();
          const payload = frames[1];
          if (frames.length !== 2 || !payload || reader.read(payload, dec)) {
            unexpected++;
            continue;
          }
          const seq = dec.seq;
          if (!(seq >= 0 && seq < sent)) {
            unexpected++;
            continue;
          }
          if (!Number.isNaN(recvNs[seq])) {
            duplicates++;
            continue;
          }
          recvNs[seq] = now;
          daemonNs[seq] = dec.sentNs - dec.receivedNs;
          received++;
          if (velocityAxes === 0) {
            velocityAxes = dec.velocity.length;
            velocity = new Float32Array(count * velocityAxes).fill(NaN);
            modelId = dec.modelId;
          }
          const k = Math.min(velocityAxes, dec.velocity.length);
          for (let a = 0; a < k; a++) velocity[seq * velocityAxes + a] = dec.velocity[a];
          live.record(now - sendNs[seq]);
          if (truthK === velocityAxes && rec.kinematics) {
            const j = (seq % rec.bins) * truthK;
            for (let a = 0; a < truthK; a++) r2.add(a, dec.velocity[a], rec.kinematics.velocity[j + a]);
          }
          lastRecvMs = performance.now();
          if (speed === 'max' && inFlight() < window / 2) pacer?.resume();
          if (received === count) wake?.();
          if (o.onProgress && performance.now() - lastProgress >= 1000) {
            lastProgress = performance.now();
            o.onProgress({ elapsedS: (lastProgress - t0) / 1000, sent, received, p50Ms: live.percentile(50) / 1e6, p99Ms: live.percentile(99) / 1e6, r2: truthK ? r2.meanR2() : NaN });
          }
        }
      } catch {
        /* closing the socket ends the loop */
      }
    })();

    // 4. Send, paced by the recording's timestamps (or windowed as fast as possible).
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        pacer?.stop();
        resolve();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      pacer = pace({
        count,
        dueMs: speed === 'max' ? undefined : (i) => releaseMs(rec, i, speed),
        emit: (i) => {
          const bin = binAt(rec, i);
          const payload = encodeSpikeBin(bin);
          sent = i + 1;
          sendNs[i] = monotonicNs();
          pub.send([spikesTopic, payload]).catch((err: Error) => {
            pacer?.stop();
            reject(new ReplayCliError('EREPLAYSOCKET', `replay: send failed at seq ${i}: ${err.message}`));
          });
          return speed !== 'max' || inFlight() < window;
        },
        done: () => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      });
      if (o.signal?.aborted) onAbort();
    });

    // 5. Wait for what is still in flight.
    const drainMs = o.drainMs ?? Math.max(1000, 50 * rec.binMs);
    if (received < sent) await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, drainMs);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    sub.close();
    await receiving;
  } finally {
    clearInterval(stallTimer);
    pacer?.stop();
    if (!sub.closed) sub.close();
    if (!pub.closed) pub.close();
  }
  return {
    recording: rec.path,
    stream: rec.name,
    channels: rec.channels,
    binMs: rec.binMs,
    speed,
    to: toUri.href,
    from: fromUri.href,
    modelId,
    sent,
    sendNs: sendNs.subarray(0, sent),
    recvNs: recvNs.subarray(0, sent),
    daemonNs: daemonNs.subarray(0, sent),
    duplicates,
    unexpected,
    velocity: velocity.subarray(0, sent * velocityAxes),
    velocityAxes,
    truth: rec.kinematics ? { labels: rec.kinematics.labels, values: alignedTruth(rec, sent) } : undefined,
  };
}

/** The recording's velocity per sent bin, wrapping like the bins do when looping. */
function alignedTruth(rec: Recording, sent: number): Float64Array {
  const k = rec.kinematics!.labels.length;
  const out = new Float64Array(sent * k);
  for (let i = 0; i < sent; i++) out.set(rec.kinematics!.velocity.subarray((i % rec.bins) * k, (i % rec.bins + 1) * k), i * k);
  return out;
}

/** FILE.html → FILE.json (the JSON always sits beside the page). */
export function jsonPathFor(report: string): string {
  return report.replace(/\.html?$/i, '') + '.json';
}

/** --report FILE: FILE.json is the JSON alone; anything else is the page, with FILE.json beside it. */
function writeReportFiles(reportPath: string | undefined, json: unknown, html: () => string): void {
  if (!reportPath) return;
  const text = JSON.stringify(json, null, 2) + '\n';
  if (/\.json$/i.test(reportPath)) writeFileSync(reportPath, text);
  else {
    writeFileSync(reportPath, html());
    writeFileSync(jsonPathFor(reportPath), text);
  }
}

/** The replay report, with the recorded session's closed-loop metrics when the recording held the task's streams. */
export type ReplayCliReport = ReplayReport & { recordedSession?: Record<string, unknown> };

const RECORDED_NOTE = 'closed-loop metrics of the recorded session, from the task\'s cursor and markers as they were recorded; the decodes of this replay are not fed back into a task, so they are not the metrics of the daemon replayed into';

export function writeReports(m: ReplayMeasurements, reportPath?: string, recorded?: SessionMetrics): ReplayCliReport {
  const report: ReplayCliReport = buildReplayReport(m);
  if (recorded) report.recordedSession = { note: RECORDED_NOTE, ...sessionJson(recorded) };
  writeReportFiles(reportPath, report, () => replayReportHtml(m, report, recorded ? [
    { heading: 'Recorded session: closed-loop metrics', html: `<p>${esc(RECORDED_NOTE)}.</p>` + sessionTable([recorded]) + `<p>${esc(METRICS_FOOTER)}</p>` },
    ...metricsSections([recorded], { heading: 'Recorded session' }),
  ] : []));
  return report;
}

function sessionTable(sessions: readonly SessionMetrics[]): string {
  return table(sessions.map((s) => [s.label, `${s.files.join(' + ')}${s.notes.length ? ` (${s.notes.join('; ')})` : ''}`]));
}

/** `replay SESSION… --metrics` without a daemon: each session's metrics, JSON and one page comparing them. */
export function metricsReport(sessions: readonly SessionFiles[], reportPath?: string): { blocks: Record<string, unknown>[] } {
  const measured = sessions.map((s) => sessionMetrics(s));
  const json = { blocks: measured.map(sessionJson) };
  writeReportFiles(reportPath, json, () => metricsReportHtml(`Closed-loop metrics: ${measured.map((m) => m.label).join(', ')}`, measured, {
    lead: [{ heading: 'Recordings', html: sessionTable(measured) }],
  }));
  return json;
}

const USAGE = `usage: langevind replay RECORDING.xdf --to URI --from URI [options]
       langevind replay SESSION.xdf [--with FILE.xdf] [--label L] [SESSION.xdf …] --metrics [--report FILE.html]

Plays a recording's spike stream into a running daemon as a rig would and reports end-to-end latency;
with --metrics and no --to/--from, computes the closed-loop metrics of recorded sessions instead.

  --to URI         where to publish SpikeBins (the daemon's --input); binds by default, ?connect overrides
  --from URI       where to receive Decoded (the daemon's --output); connects by default, ?bind overrides
  --speed S        1 (real time, default), N (N× real time) or max (as fast as the daemon keeps up)
  --bins N         send N bins (default: the whole recording; more loops it)
  --stream NAME    the spike stream's name or type (default: first of type SpikeCounts)
  --report FILE    write an HTML report (and FILE.json beside it); FILE.json writes JSON only
  --window N       bins in flight at --speed max (default 256)
  --timeout-ms MS  wait this long for the daemon's sockets (default 10000)
  --cpus LIST      pin this process's threads to these CPUs, e.g. 0 or 0-1 (Linux), as the
                   daemon's --cpus does, to measure a given CPU placement
  --quiet          no status lines on stderr

Closed-loop metrics (from the task's cursor and marker streams, as \`task --record\` writes them):
  --metrics        without --to/--from: no daemon; the metrics of each SESSION (per trial, per block, per
                   target) as JSON on stdout, and with --report a page comparing the blocks: a metric table
                   per block, per-target tables and trajectory plots. Several sessions compare decoders.
                   With --to/--from: the played recording must hold the task's streams (see below).
  --with FILE      another file of the same session, whose streams are merged in: the task's recording and
                   the daemon's (\`run --record\`) are two files, so give one and add the other with --with
                   (repeatable). The spikes to play may be in either.
  --label L        the block's label (default: the decoder the daemon's recording names, e.g.
                   "wiener · 7a0a2b0bff7d", else the recording's file name)
  --with and --label belong to the SESSION named before them.
When a recording played into a daemon holds the task's streams, the report also carries the recorded
session's closed-loop metrics ("recordedSession"): the replayed decodes are not fed back into a task.

The JSON report goes to stdout. Examples:
  langevind run --model m.safetensors --input zmq+tcp://127.0.0.1:5555 --output zmq+tcp://127.0.0.1:5556 &
  langevind replay session.xdf --to zmq+tcp://127.0.0.1:5555 --from zmq+tcp://127.0.0.1:5556 --report r.html
  langevind replay lf-task.xdf --with lf-daemon.xdf kf-task.xdf --with kf-daemon.xdf --metrics --report cmp.html
`;

export const usage = USAGE;

/** The sessions on the command line, in order, each with the --with and --label that follow it. */
function sessionsFrom(tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>): SessionFiles[] {
  const sessions: SessionFiles[] = [];
  const before: SessionFiles = { recording: '', with: [] };
  for (const t of tokens) {
    if (t.kind === 'positional') sessions.push({ recording: t.value, with: [] });
    else if (t.kind === 'option' && (t.name === 'with' || t.name === 'label')) {
      // Given before any recording: the first recording's.
      const s = sessions.at(-1) ?? before;
      if (t.name === 'with') s.with.push(t.value!);
      else if (s.label !== undefined) throw new UsageError(`replay: two --label for ${s.recording || 'the first recording'} ("${s.label}", "${t.value}"); a --label belongs to the recording before it`);
      else s.label = t.value;
    }
  }
  if (sessions.length > 0 && (before.with.length > 0 || before.label !== undefined)) {
    const first = sessions[0];
    if (before.label !== undefined && first.label !== undefined) throw new UsageError(`replay: two --label for ${first.recording} ("${before.label}", "${first.label}")`);
    first.with.unshift(...before.with);
    first.label ??= before.label;
  }
  return sessions;
}

const DAEMON_ONLY = ['speed', 'bins', 'stream', 'window', 'timeout-ms', 'cpus'] as const;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      tokens: true,
      options: {
        to: { type: 'string' },
        from: { type: 'string' },
        speed: { type: 'string' },
        bins: { type: 'string' },
        stream: { type: 'string' },
        report: { type: 'string' },
        window: { type: 'string' },
        'timeout-ms': { type: 'string' },
        cpus: { type: 'string' },
        metrics: { type: 'boolean', default: false },
        with: { type: 'string', multiple: true },
        label: { type: 'string', multiple: true },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError(`replay: ${(err as Error).message}`);
  }
  const v = args.values;
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const sessions = sessionsFrom(args.tokens);
  if (v.to === undefined && v.from === undefined && v.metrics) {
    if (sessions.length === 0) throw new UsageError('replay: --metrics needs at least one SESSION.xdf');
    for (const k of DAEMON_ONLY) if (v[k] !== undefined) throw new UsageError(`replay: --${k} is for playing into a daemon (--to, --from); --metrics without them plays nothing`);
    const json = metricsReport(sessions, v.report);
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  if (sessions.length !== 1) throw new UsageError(`replay: give exactly one RECORDING.xdf to play into a daemon (got ${sessions.length}); several compare only with --metrics and no --to/--from`);
  if (!v.to || !v.from) throw new UsageError('replay: --to URI and --from URI are required (or --metrics without them, for the closed-loop metrics of recordings)');
  const int = (name: string, s: string | undefined): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`replay: --${name} must be a positive integer, got "${s}"`);
    return n;
  };
  let speed: number | 'max';
  try {
    speed = checkSpeed(v.speed === undefined ? 1 : v.speed === 'max' ? 'max' : v.speed);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.cpus !== undefined) {
    let pinned;
    try {
      pinned = pinProcess(parseCpuList(v.cpus));
    } catch (err) {
      throw new UsageError(`replay: ${(err as AffinityError).message}`);
    }
    if (!v.quiet) process.stderr.write(`replay: pinned to CPU ${formatCpuList(pinned.cpus)} (${pinned.threads} threads)\n`);
  }
  // The session is read (and its metrics computed) before any socket opens, so a recording
  // without what --metrics needs fails at once.
  const session = sessions[0];
  const file = readSession(session);
  const recording = recordingFromStreams(session.recording, file.streams, v.stream);
  let recorded: SessionMetrics | undefined;
  if (v.metrics) recorded = sessionMetrics(session, file);
  else if (hasTaskStreams(file)) {
    try {
      recorded = sessionMetrics(session, file);
    } catch (err) {
      if (!(err instanceof MetricsError)) throw err;
      process.stderr.write(`replay: the recording's task streams give no closed-loop metrics: ${err.message} [${err.code}]\n`);
    }
  }
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    const m = await runReplay({
      recording,
      to: v.to,
      from: v.from,
      speed,
      bins: int('bins', v.bins),
      window: int('window', v.window),
      connectTimeoutMs: int('timeout-ms', v['timeout-ms']),
      signal: ac.signal,
      onProgress: v.quiet ? undefined : (p) =>
        process.stderr.write(`replay: ${p.elapsedS.toFixed(0)} s  sent ${p.sent}  received ${p.received}  p50 ${p.p50Ms.toFixed(3)} ms  p99 ${p.p99Ms.toFixed(3)} ms${Number.isNaN(p.r2) ? '' : `  R² ${p.r2.toFixed(3)}`}\n`),
    });
    const report = writeReports(m, v.report, recorded);
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    return 0;
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
}
