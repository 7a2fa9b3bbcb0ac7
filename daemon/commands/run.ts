/**
 * `langevind run`: open the model, the input and the outputs, run the pipeline until SIGINT /
 * SIGTERM (or until a finite input such as a replay ends), then flush and print a summary.
 */
import type { Subscription } from 'rxjs';
import { availableDecoders, createDecoder, decoderId } from '../../model/decoders.js';
import { OnlineFilter } from '../../model/filter.js';
import { tsKernels } from '../../model/kernels-ts.js';
import { wasmKernels } from '../../model/kernels-wasm.js';
import { ModelFileError } from '../../model/errors.js';
import { loadModel, type LangevinModel } from '../../model/model-file.js';
import type { Decoded, DecodedSink, SpikeBin } from '../../streams/types.js';
import { openSink, openSource, type EndpointContext } from '../endpoints.js';
import { formatCpuList, pinProcess } from '../affinity.js';
import { FilterSlot, type StepFilter } from '../filter-slot.js';
import { createLogger, RateLimiter, type Logger } from '../log.js';
import { formatSummary, Metrics, type RunSummary } from '../metrics.js';
import { decode, type PipelineObserver } from '../pipeline/index.js';
import { Prewarmer, buffersOf } from '../prewarm.js';
import { adviseDecoderHugePages } from '../hugepages.js';
import { parseRunArgs, RunConfigError, RUN_USAGE, type RunConfig } from '../run-config.js';
import { attachControl, type AttachedControl } from '../control/attach.js';
import { LiveFeed } from '../dashboard/live-feed.js';
import { dashboardPlugin } from '../dashboard/plugin.js';
import type { RecorderLike } from '../control/daemon-target.js';
import { resolveControlOptions } from '../control/options.js';

export { RUN_USAGE as usage };

export async function main(argv: string[]): Promise<number> {
  const cfg = parseRunArgs(argv);
  if (!cfg) {
    process.stdout.write(RUN_USAGE + '\n');
    return 0;
  }
  const log = createLogger();
  if (cfg.cpus) {
    // Before any socket exists, so libzmq's I/O thread is created pinned too.
    const pinned = pinProcess(cfg.cpus);
    log.child({ module: 'run' }).info('pinned', { cpus: formatCpuList(pinned.cpus), threads: pinned.threads });
  }
  const { summary, exitCode } = await runDaemon(cfg, { log });
  process.stdout.write(formatSummary(summary) + '\n' + JSON.stringify({ summary }) + '\n');
  // Sockets and timers are closed; if anything still holds the event loop, do not hang on it.
  setTimeout(() => process.exit(exitCode), 3000).unref();
  return exitCode;
}

/** A running daemon's parts, for what plugs into it (control plane, dashboard, tests). */
export interface DaemonHandle {
  /** The model loaded at start (slot.modelId says which one runs now). */
  model: LangevinModel;
  metrics: Metrics;
  /** The filter the pipeline steps; swap or reset it between bins through the slot. */
  slot: FilterSlot;
  /** Observers of the bin path; add or remove between bins (see daemon/pipeline/observer.ts). */
  observers: PipelineObserver[];
  /** The outputs, in the order of cfg.outputs. */
  sinks: readonly DecodedSink[];
  cfg: RunConfig;
}

export interface RunOptions {
  log: Logger;
  /** Stop on SIGINT / SIGTERM (default true). */
  signals?: boolean;
  /** Called once inputs and outputs are open. */
  onReady?: (daemon: DaemonHandle) => void;
  /** Resolving it stops the daemon. */
  stopSignal?: Promise<void>;
}

/**
 * Runs the daemon until a signal, stop(), the end of a finite input, or an input failure. Exposed
 * for tests and for `langevind demo`, which run it in-process.
 */
export async function runDaemon(cfg: RunConfig, opts: RunOptions): Promise<{ summary: RunSummary; exitCode: number }> {
  const log = opts.log.child({ module: 'run' });
  // Checked first: a control address that needs a token, or a missing directory, stops here.
  const controlSettings = resolveControlOptions(cfg);
  const model = loadModel(cfg.model);
  // Before any socket is open: a refused option must not leave one holding the process.
  if (cfg.prewarmMs >= model.config.bin_ms) throw new RunConfigError(`--prewarm must be less than the bin width (${model.config.bin_ms} ms), got ${cfg.prewarmMs}`);
  const filterOptions = cfg.kernels ? { kernels: cfg.kernels === 'ts' ? tsKernels : wasmKernels } : {};
  const filter = createDecoder(model, cfg.decoder, filterOptions);
  const hp = cfg.hugePages ? adviseDecoderHugePages(filter) : null;
  if (hp) log.info('huge pages', { bytes: hp.bytes, collapsed: hp.collapsed, ...(hp.note ? { note: hp.note } : {}) });
  warmUp(filter, model.config.n_in);
  const metrics = new Metrics();
  const slot = new FilterSlot(filter, decoderId(model, cfg.decoder));
  const observers: PipelineObserver[] = [];
  const reconnectLog = new RateLimiter(opts.log.child({ module: 'input' }));
  let recorder: RecorderLike | undefined;
  let recorderObs: PipelineObserver | undefined;
  /** Attaches or detaches the recorder between two bins (--record, POST /record). */
  const setRecorder = (r: RecorderLike | undefined): void => {
    if (recorderObs) observers.splice(observers.indexOf(recorderObs), 1);
    recorder = r;
    recorderObs = r ? recorderObserver(r) : undefined;
    if (recorderObs) observers.push(recorderObs);
  };
  /** [monotonic ns, seq] of the last decoded bin, for /healthz and swap reports. */
  const lastBin = new Float64Array(2);
  let control: AttachedControl | undefined;
  const ctx: EndpointContext = {
    config: { n_in: model.config.n_in, bin_ms: model.config.bin_ms, velocity_labels: model.config.velocity_labels, channel_labels: model.config.channel_labels },
    modelId: model.id,
    log: opts.log.child({ module: 'endpoint' }),
    onInputReconnect(reason, detail) {
      metrics.reconnects[reason] = (metrics.reconnects[reason] ?? 0) + 1;
      reconnectLog.warn(reason, 'input reconnected', () => ({ reason, detail, count: metrics.reconnects[reason] }));
    },
    onInputConnection(up, detail) {
      // GET /healthz says "reconnecting" from the moment a connection ends until one is up again.
      control?.target.setReconnecting(up ? null : detail);
    },
  };

  const sinks: DecodedSink[] = [];
  let sub: Subscription | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let prewarm: Prewarmer | undefined;
  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  const cleanup = async (): Promise<void> => {
    if (statusTimer) clearInterval(statusTimer);
    prewarm?.close();
    await control?.close().catch((err: unknown) => log.error('control server did not close cleanly', { error: err }));
    sub?.unsubscribe();
    await Promise.allSettled(sinks.map((s) => s.close()));
    if (recorder) {
      try {
        await recorder.close();
      } catch (err) {
        log.error('recording could not be closed cleanly', { error: err, file: cfg.record });
      }
    }
    for (const [sig, h] of signalHandlers) process.off(sig, h);
  };

  try {
    for (const uri of cfg.outputs) sinks.push(await openSink(uri, ctx));
    if (cfg.record) {
      // The id decodes go out under (a baseline's carries its name), so the file says which decoder ran.
      setRecorder(await openRecorder(cfg.record, model.config, slot.modelId));
    }
    const source$ = await openSource(cfg.input, ctx);
    log.info('model loaded', {
      model: cfg.model, model_id: model.id, decoder: cfg.decoder, decoders: availableDecoders(model), n_in: model.config.n_in, bin_ms: model.config.bin_ms,
      velocity: model.config.velocity_labels, kernels: filter instanceof OnlineFilter ? filter.backend : null,
    });

    let finish!: (reason: { code: number; why: string }) => void;
    const finished = new Promise<{ code: number; why: string }>((r) => (finish = r));
    if (opts.signals !== false) {
      for (const sig of ['SIGINT', 'SIGTERM'] as NodeJS.Signals[]) {
        const h = (): void => {
          // A second signal while shutting down means "now".
          const now = (): never => process.exit(130);
          process.once(sig, now);
          signalHandlers.push([sig, now]);
          finish({ code: 0, why: sig });
        };
        process.once(sig, h);
        signalHandlers.push([sig, h]);
      }
    }
    opts.stopSignal?.then(() => finish({ code: 0, why: 'stop' }));

    if (cfg.prewarmMs > 0) {
      // Reads whatever filter the slot runs now (a hot swap brings its own buffers).
      const w = new Prewarmer(() => buffersOf(slot.filter), model.config.bin_ms, cfg.prewarmMs);
      prewarm = w;
      observers.push({ decoded: () => w.binDone() });
    }
    sub = source$
      .pipe(decode({
        slot,
        nIn: model.config.n_in,
        binMs: model.config.bin_ms,
        velocityDim: model.config.velocity_labels.length,
        sinks,
        observers,
        metrics,
        log: opts.log,
        gapPolicy: cfg.gapPolicy,
        maxGap: cfg.maxGap,
        streamId: cfg.streamId,
      }))
      .subscribe({
        error: (err: unknown) => {
          log.error('input failed', { error: err });
          finish({ code: 1, why: 'input error' });
        },
        complete: () => finish({ code: 0, why: 'input ended' }),
      });

    if (cfg.statusInterval > 0) {
      statusTimer = setInterval(() => {
        const h = metrics.latency.receive_to_sent;
        log.info('status', {
          messages_received: metrics.messagesReceived, bins_accepted: metrics.binsAccepted, bins_decoded: metrics.binsDecoded, gaps: metrics.gaps, rejects: metrics.rejectsTotal,
          p50_us: Math.round(h.percentile(50) / 100) / 10, p99_us: Math.round(h.percentile(99) / 100) / 10, max_us: Math.round(h.max / 100) / 10,
        });
      }, cfg.statusInterval * 1000);
      statusTimer.unref();
    }

    if (controlSettings) {
      const outputs = () => sinks.map((sk, i) => ({ uri: cfg.outputs[i], ...sk.stats() }));
      observers.push({ decoded: (d) => { lastBin[0] = d.receivedNs; lastBin[1] = d.seq; } });
      // The dashboard's copy of the bin path, served with the control API (GET /).
      const feed = new LiveFeed({ nIn: model.config.n_in, binMs: model.config.bin_ms, velocityLabels: model.config.velocity_labels });
      observers.push(feed);
      control = await attachControl(controlSettings, {
        model, decoder: cfg.decoder, filterOptions, hugePages: cfg.hugePages, slot, metrics, lastBin, config: cfg, recordPath: cfg.record, log: opts.log,
        outputs,
        summary: () => metrics.summary(outputs()),
        counters: () => metrics,
        countSwap: (kind) => { metrics.hotSwaps[kind]++; },
        recorder: () => recorder,
        setRecorder,
        openRecorder: (path, m) => openRecorder(path, m.config, slot.modelId),
      }, opts.log, [dashboardPlugin(feed, opts.log)]);
    }
    log.info('ready', { input: cfg.input, outputs: cfg.outputs, record: cfg.record ?? null, model_id: slot.modelId, decoder: cfg.decoder, gap_policy: cfg.gapPolicy, control: control?.url ?? null });
    opts.onReady?.({ model, metrics, slot, observers, sinks, cfg });
    const end = await finished;
    log.info('stopping', { reason: end.why });
    await cleanup();
    const s = metrics.summary(sinks.map((sk, i) => ({ uri: cfg.outputs[i], ...sk.stats() })));
    log.info('stopped', { messages_received: s.messages_received, bins_decoded: s.bins_decoded });
    return { summary: s, exitCode: end.code };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The recorder as an observer of the bin path: it only copies into its buffers. */
function recorderObserver(rec: RecorderLike): PipelineObserver {
  return {
    accepted: (bin) => rec.recordBin(bin),
    decoded: (d) => rec.recordDecoded(d),
    rejected: (kind, detail, bin, raw, receivedNs) => rec.recordReject({ kind, detail, receivedNs, bin, raw }),
  };
}

async function openRecorder(path: string, config: { channel_labels: string[]; bin_ms: number; velocity_labels: string[] }, modelId: string): Promise<RecorderLike> {
  // Loaded lazily so that a daemon without --record never loads the XDF writer.
  const mod = (await import('../../streams/recorder.js')) as { Recorder: { open(path: string, opts: unknown): Promise<RecorderLike> } };
  return mod.Recorder.open(path, {
    input: { name: 'langevind-input', channelLabels: config.channel_labels, binMs: config.bin_ms },
    output: { velocityLabels: config.velocity_labels, modelId },
  });
}

/**
 * The first bins through a fresh filter run unoptimised code (several ms at preset P) until V8
 * has compiled the step: run them before the first real bin arrives, then start clean.
 */
export function warmUp(filter: StepFilter, nIn: number, bins = 200): void {
  const zeros = new Float32Array(nIn);
  let finite = true;
  for (let i = 0; i < bins; i++) {
    const v = filter.stepUnchecked(zeros).velocity;
    for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k])) finite = false;
  }
  filter.reset();
  // Finite but huge weights load fine and then decode NaN: refuse them before the first bin.
  if (!finite) throw new ModelFileError('EVALUE', `the model's decode is not finite on ${bins} bins of zero input (weights out of range): refused`);
}
