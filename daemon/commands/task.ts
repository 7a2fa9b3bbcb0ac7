/**
 * `langevind task`: the cursor task for a subject or the simulated user (closedloop/task/).
 * Decoded velocity in, TaskState and LSL streams out, an optional full-screen page; ends after
 * --trials N or on SIGINT/SIGTERM and writes the closed-loop metrics (closedloop/metrics/).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { blockMetrics } from '../../closedloop/metrics/block.js';
import { metricsReportHtml } from '../../closedloop/metrics/report.js';
import { TaskError } from '../../closedloop/task/errors.js';
import { LiveTask } from '../../closedloop/task/live.js';
import type { Layout } from '../../closedloop/task/targets.js';
import { parseLslUri, selectorQuery } from '../../streams/lsl/endpoint.js';
import { zmqAddress } from '../../streams/zmq/endpoint.js';
import { parseEndpoint } from '../endpoints.js';
import { createLogger } from '../log.js';
import { numberOf } from '../usage.js';

export const usage = `usage: langevind task [--from URI] [--publish URI|none] [--no-lsl] [--page PORT] [--trials N]
                      [--layout centre-out|random] [--targets N] [--distance D] [--radius R]
                      [--hold-ms MS] [--timeout-ms MS] [--iti-ms MS] [--workspace W] [--gain G] [--smoothing A]
                      [--bin-ms B] [--clock monotonic|bins] [--stall-bins N] [--seed N] [--label NAME]
                      [--record F.xdf] [--out F.json] [--report F.html]
  Integrates the daemon's decoded velocity (default --from zmq+tcp://127.0.0.1:5556, connecting, topic
  "velocity"; or --from lsl://name=langevind-velocity, the daemon's LSL output) into a cursor and runs centre-out-and-back trials (8 targets and the centre) or random
  targets. After every decode it publishes TaskState (default --publish zmq+tcp://127.0.0.1:5557, binding,
  topic "task") and pushes LSL streams langevind-cursor, langevind-target and langevind-task-markers
  (--record F.xdf writes them to a file as well).
  --page PORT serves the subject's full-screen page on http://127.0.0.1:PORT/ (0: any free port).
  Defaults: --distance 10 --radius 1.5 (cm) --hold-ms 500 --timeout-ms 5000 --iti-ms 300 --workspace 15
  (half-width) --gain 1 --smoothing 0 --bin-ms 20 --clock monotonic (bins: each decode is one bin of task
  time, for lockstep) --stall-bins 25 (no decode for that long aborts the trial) --seed 1.
  Ends after --trials N (default: on SIGINT/SIGTERM); prints the block's metrics as JSON, --out writes
  them with every trial, --report an HTML report with trajectories.`;

function num(name: string, v: string | undefined, dflt: number, check: (x: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  const x = numberOf(v);
  if (x === null || !check(x)) throw new TaskError('EUSAGE', `task: --${name} must be ${what}, got "${v}"`);
  return x;
}
const positive = (x: number): boolean => x > 0;
const nonNegative = (x: number): boolean => x >= 0;
const integer = (x: number): boolean => Number.isInteger(x) && x >= 1;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' }, publish: { type: 'string' }, 'no-lsl': { type: 'boolean' }, page: { type: 'string' }, trials: { type: 'string' },
        layout: { type: 'string' }, targets: { type: 'string' }, distance: { type: 'string' }, radius: { type: 'string' },
        'hold-ms': { type: 'string' }, 'timeout-ms': { type: 'string' }, 'iti-ms': { type: 'string' }, workspace: { type: 'string' },
        gain: { type: 'string' }, smoothing: { type: 'string' }, 'bin-ms': { type: 'string' }, clock: { type: 'string' },
        'stall-bins': { type: 'string' }, seed: { type: 'string' }, label: { type: 'string' }, out: { type: 'string' }, record: { type: 'string' }, report: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new TaskError('EUSAGE', `task: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const layout = (values.layout ?? 'centre-out') as Layout;
  if (layout !== 'centre-out' && layout !== 'random') throw new TaskError('EUSAGE', `task: --layout must be centre-out or random, got "${layout}"`);
  const clock = values.clock ?? 'monotonic';
  if (clock !== 'monotonic' && clock !== 'bins') throw new TaskError('EUSAGE', `task: --clock must be monotonic or bins, got "${clock}"`);
  const zmq = (uri: string, flag: string, defaultBind: boolean) => {
    let u: URL;
    try {
      u = parseEndpoint(uri);
    } catch (e) {
      throw new TaskError('EUSAGE', `task: --${flag}: ${(e as Error).message}`);
    }
    if (u.protocol !== 'zmq+tcp:' && u.protocol !== 'zmq+ipc:') throw new TaskError('EUSAGE', `task: --${flag} must be a zmq+tcp:// or zmq+ipc:// URI${flag === 'from' ? ' (or lsl://name=…)' : ''}, got "${uri}"`);
    const a = zmqAddress(u, defaultBind);
    return { address: a.address, bind: a.bind, topic: a.params.get('topic') || undefined };
  };
  const from = values.from ?? 'zmq+tcp://127.0.0.1:5556';
  let input: { address: string; bind: boolean; topic?: string } | { lsl: string };
  if (from.startsWith('lsl:')) {
    try {
      const { selector } = parseLslUri(parseEndpoint(from));
      if (!selector.name && !selector.type && !selector.sourceId && !selector.pred) throw new Error('give name=, type=, source_id= or pred=');
      input = { lsl: selectorQuery(selector) };
    } catch (e) {
      throw new TaskError('EUSAGE', `task: --from ${from}: ${(e as Error).message}`);
    }
  } else input = zmq(from, 'from', false);
  const publish = values.publish === 'none' ? null : zmq(values.publish ?? 'zmq+tcp://127.0.0.1:5557', 'publish', true);
  const trials = values.trials === undefined ? undefined : num('trials', values.trials, 0, integer, 'an integer ≥ 1');
  const page = values.page === undefined ? null : { port: num('page', values.page, 0, (x) => Number.isInteger(x) && x >= 0 && x < 65536, 'a TCP port (0 for any)') };
  const binMs = num('bin-ms', values['bin-ms'], 20, positive, 'a number > 0');
  const log = createLogger({}, { module: 'task' });
  let live: LiveTask;
  try {
    live = await LiveTask.open({
      task: {
        layout, seed: num('seed', values.seed, 1, Number.isInteger, 'an integer'), binMs, maxTrials: trials,
        targets: num('targets', values.targets, 8, integer, 'an integer ≥ 1'),
        distance: num('distance', values.distance, 10, positive, 'a number > 0'), radius: num('radius', values.radius, 1.5, positive, 'a number > 0'),
        holdS: num('hold-ms', values['hold-ms'], 500, nonNegative, 'a number ≥ 0') / 1000,
        timeoutS: num('timeout-ms', values['timeout-ms'], 5000, positive, 'a number > 0') / 1000,
        itiS: num('iti-ms', values['iti-ms'], 300, nonNegative, 'a number ≥ 0') / 1000,
        halfWidth: num('workspace', values.workspace, 15, positive, 'a number > 0'),
        gain: num('gain', values.gain, 1, Number.isFinite, 'a number'),
        smoothing: num('smoothing', values.smoothing, 0, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
      },
      clock, input, publish, lsl: !values['no-lsl'], record: values.record, page, log,
      stallBins: num('stall-bins', values['stall-bins'], 25, integer, 'an integer ≥ 1'),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new TaskError('ETASKOPTS', e.message);
    throw e;
  }
  let lastTrials = 0;
  live.onState = (task, ev) => {
    if (ev && task.trials.length > lastTrials) {
      lastTrials = task.trials.length;
      const t = task.trials[lastTrials - 1];
      log.info('trial', { trial: t.trial, target: t.target.index, outcome: t.outcome, seconds: Math.round((t.t[t.t.length - 1] - t.t[0]) * 1000) / 1000 });
    }
  };
  log.info('task ready', { layout, trials: trials ?? null, clock, input: 'lsl' in input ? input.lsl : input.address, publish: publish?.address ?? null, page: live.page?.url ?? null, lsl: live.lslInfo ? Object.fromEntries(Object.entries(live.lslInfo).map(([k, i]) => [k, { name: i.name, uid: i.uid }])) : null });

  let why = 'trials';
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => (): void => { why = sig; resolve(); };
    const hi = onSignal('SIGINT'), ht = onSignal('SIGTERM');
    process.once('SIGINT', hi);
    process.once('SIGTERM', ht);
    void live.done.then(() => resolve());
    void live.done.finally(() => { process.off('SIGINT', hi); process.off('SIGTERM', ht); });
  });
  await live.close();
  const label = values.label ?? (live.stats.modelId || 'decoder');
  const metrics = blockMetrics(label, live.task.trials);
  const summary = {
    label, ended_by: why, decodes: live.stats.decodes, garbage: live.stats.garbage, restarts: live.stats.restarts, stalls: live.stats.stalls,
    published: live.stats.published, publish_drops: live.stats.publishDrops, block: metrics.block,
  };
  process.stdout.write(JSON.stringify(summary) + '\n');
  if (values.out) {
    await writeFile(values.out, JSON.stringify({ ...summary, options: live.task.options, perTarget: metrics.perTarget, trials: metrics.trials, trajectories: live.task.trials }, null, 1) + '\n');
  }
  if (values.report) await writeFile(values.report, metricsReportHtml(`Cursor task: ${label}`, [{ metrics, records: live.task.trials }], { halfWidth: live.task.options.halfWidth }));
  return 0;
}
