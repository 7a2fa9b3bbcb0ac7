/**
 * `langevind run`: open the model, the input and the outputs, run the pipeline until SIGINT /
 * SIGTERM (or until a finite input such as a replay ends), then flush and print a summary.
 */
import type { Subscription } from 'rxjs';
import { OnlineFilter } from '../../model/filter.js';
import { tsKernels } from '../../model/kernels-ts.js';
import { wasmKernels } from '../../model/kernels-wasm.js';
import { loadModel } from '../../model/model-file.js';
import type { RejectedInput } from '../../streams/recorder.js';
import { monotonicNs, type Decoded, type SpikeBin } from '../../streams/types.js';
import { openSink, openSource, type DecodedSink, type EndpointContext } from '../endpoints.js';
import { formatCpuList, pinProcess } from '../affinity.js';
import { createLogger, RateLimiter, type Logger } from '../log.js';
import { formatSummary, Metrics, type RunSummary } from '../metrics.js';
import { decode } from '../pipeline.js';
import { parseRunArgs, RUN_USAGE, type RunConfig } from '../run-config.js';

export { RUN_USAGE as usage };

/** What streams/recorder.ts provides; loaded only when --record is given. */
interface RecorderLike {
  recordBin(bin: SpikeBin): void;
  recordDecoded(d: Decoded): void;
  recordReject(r: RejectedInput): void;
  close(): Promise<void>;
}

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

export interface RunOptions {
  log: Logger;
  /** Stop on SIGINT / SIGTERM (default true). */
  signals?: boolean;
  /** Called once inputs and outputs are open. */
  onReady?: () => void;
  /** Resolving it stops the daemon. */
  stopSignal?: Promise<void>;
}

/**
 * Runs the daemon until a signal, stop(), the end of a finite input, or an input failure. Exposed
 * for tests and for `langevind demo`, which run it in-process.
 */
export async function runDaemon(cfg: RunConfig, opts: RunOptions): Promise<{ summary: RunSummary; exitCode: number }> {
  const log = opts.log.child({ module: 'run' });
  const model = loadModel(cfg.model);
  const filter = new OnlineFilter(model, cfg.kernels ? { kernels: cfg.kernels === 'ts' ? tsKernels : wasmKernels } : {});
  warmUp(filter, model.config.n_in);
  const metrics = new Metrics();
  const rejectLog = new RateLimiter(opts.log.child({ module: 'input' }));
  const reconnectLog = new RateLimiter(opts.log.child({ module: 'input' }));
  let recorder: RecorderLike | undefined;
  const ctx: EndpointContext = {
    config: { n_in: model.config.n_in, bin_ms: model.config.bin_ms, velocity_labels: model.config.velocity_labels, channel_labels: model.config.channel_labels },
    modelId: model.id,
    log: opts.log.child({ module: 'endpoint' }),
    reject(kind, detail, raw) {
      metrics.binsIn++;
      metrics.rejects[kind]++;
      rejectLog.warn(kind, 'input rejected', () => ({ detail }));
      recorder?.recordReject({ kind, detail, receivedNs: monotonicNs(), raw });
    },
    reconnected(reason, detail) {
      metrics.reconnects[reason] = (metrics.reconnects[reason] ?? 0) + 1;
      reconnectLog.warn(reason, 'input reconnected', () => ({ detail }));
    },
  };

  const sinks: DecodedSink[] = [];
  let sub: Subscription | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  const signalHandlers: Array<[NodeJS.Signals, () => void]> = [];
  const cleanup = async (): Promise<void> => {
    if (statusTimer) clearInterval(statusTimer);
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
    if (cfg.record) recorder = await openRecorder(cfg.record, model.config, model.id);
    const source$ = await openSource(cfg.input, ctx);
    log.info('model loaded', { model: cfg.model, model_id: model.id, n_in: model.config.n_in, bin_ms: model.config.bin_ms, velocity: model.config.velocity_labels, kernels: filter.backend });

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

    const rec = recorder;
    sub = source$
      .pipe(decode({
        filter,
        nIn: model.config.n_in,
        binMs: model.config.bin_ms,
        velocityDim: model.config.velocity_labels.length,
        modelId: model.id,
        sinks,
        metrics,
        log: opts.log,
        gapPolicy: cfg.gapPolicy,
        maxGap: cfg.maxGap,
        streamId: cfg.streamId,
        onBin: rec ? (b) => rec.recordBin(b) : undefined,
        onDecoded: rec ? (d) => rec.recordDecoded(d) : undefined,
        onReject: rec ? (kind, bin, detail) => rec.recordReject({ kind, detail, receivedNs: bin.receivedNs, bin }) : undefined,
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
          bins_in: metrics.binsIn, bins_out: metrics.binsOut, gaps: metrics.gaps, rejects: metrics.rejectsTotal,
          p50_us: Math.round(h.percentile(50) / 100) / 10, p99_us: Math.round(h.percentile(99) / 100) / 10, max_us: Math.round(h.max / 100) / 10,
        });
      }, cfg.statusInterval * 1000);
      statusTimer.unref();
    }

    log.info('ready', { input: cfg.input, outputs: cfg.outputs, record: cfg.record ?? null, model_id: model.id, gap_policy: cfg.gapPolicy });
    opts.onReady?.();
    const end = await finished;
    log.info('stopping', { reason: end.why });
    await cleanup();
    const s = metrics.summary(sinks.map((sk, i) => ({ uri: cfg.outputs[i], ...sk.stats() })));
    log.info('stopped', { bins_in: s.bins_in, bins_out: s.bins_out });
    return { summary: s, exitCode: end.code };
  } catch (err) {
    await cleanup();
    throw err;
  }
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
export function warmUp(filter: OnlineFilter, nIn: number, bins = 200): void {
  const zeros = new Float32Array(nIn);
  for (let i = 0; i < bins; i++) filter.step(zeros);
  filter.reset();
}
