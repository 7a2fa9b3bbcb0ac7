/**
 * `langevind simulate-user`: a simulated subject and rig for closed-loop tests of a decoder
 * (closedloop/user/). Live: spike bins out (ZeroMQ and/or LSL), the task's state in. Or, with
 * --calibration-block, an open-loop calibration block written as XDF (no daemon needed).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CALIBRATION_INTENTS, calibrationBlock, calibrationBlockXdf, intentionStream, type CalibrationIntent } from '../../closedloop/user/calibration-block.js';
import { Rows } from '../../streams/rows.js';
import { writeXdf } from '../../streams/xdf/writer.js';
import { UserError } from '../../closedloop/user/errors.js';
import { runLiveUser, type UserMode } from '../../closedloop/user/live.js';
import { SimulatedUser, type SimulatedUserOptions } from '../../closedloop/user/user.js';
import { zmqAddress } from '../../streams/zmq/endpoint.js';
import { parseEndpoint } from '../endpoints.js';
import { createLogger } from '../log.js';
import { numberOf } from '../usage.js';

const USAGE = `usage: langevind simulate-user [--mode realtime|lockstep] [--to URI|none] [--lsl NAME [--lsl-format int16|float32]]
                               [--task URI] [--bins N | --seconds S] [--lockstep-timeout-ms MS]
                               [--intention-out FILE.xdf] [user options]
       langevind simulate-user --calibration-block --out FILE.xdf [--trials N] [--intent aim|along] [user options]
  Live: publishes one SpikeBin per bin as a rig would (default --to zmq+tcp://127.0.0.1:5555, binding,
  topic "spikes"; --lsl NAME adds an LSL SpikeCounts outlet) and reads the task's TaskState
  (default --task zmq+tcp://127.0.0.1:5557, connecting, topic "task"). realtime: 1x on the monotonic
  clock; lockstep: each bin waits for the task state that follows its decode (deterministic for a seed).
  Runs until --bins/--seconds or Ctrl-C, then prints a JSON summary. --intention-out writes the velocity the
  user intended in every bin (stamped as its bin) as an XDF: ground truth to check ReFIT's intention estimate.
  Calibration block: the cursor reaches to centre-out targets by itself while the user watches; writes an
  XDF that \`langevind calibrate\` takes as it is. --trials reaches (default 64), each with its return.
  --intent aim (default): the user aims at the target from the cursor seen through the visual delay, as in
  closed loop, so the intention leads the cursor's recorded kinematics at a reach's start and outlasts them
  at its end (what ReFIT corrects); along: the user intends exactly the cursor's velocity.
  The same --seed is the same simulated population in every block; --session N picks the block's noise
  (default 0 for a calibration block, 1 live), so a calibration block and a closed-loop block differ only in noise.
  User options: --seed N (1) --session N --channels N (192) --bin-ms B (20) --delay-ms MS (200) --no-forward-model
                --motor-noise CM_S (2) --vmax CM_S (30) --d0 CM (3) --base-rate HZ (14) --modulation X (0.5)`;

function num(name: string, v: string | undefined, dflt: number, integer = false): number {
  if (v === undefined) return dflt;
  const x = numberOf(v);
  if (x === null || (integer && !Number.isInteger(x)))
    throw new UserError('EUSAGE', `simulate-user: --${name} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
  return x;
}

export const usage = USAGE;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        mode: { type: 'string' }, to: { type: 'string' }, lsl: { type: 'string' }, 'lsl-format': { type: 'string' }, task: { type: 'string' },
        bins: { type: 'string' }, seconds: { type: 'string' }, 'lockstep-timeout-ms': { type: 'string' }, 'stream-id': { type: 'string' }, 'intention-out': { type: 'string' },
        'calibration-block': { type: 'boolean' }, intent: { type: 'string' }, trials: { type: 'string' }, out: { type: 'string', short: 'o' },
        seed: { type: 'string' }, session: { type: 'string' }, channels: { type: 'string' }, 'bin-ms': { type: 'string' }, 'delay-ms': { type: 'string' },
        'no-forward-model': { type: 'boolean' }, 'motor-noise': { type: 'string' }, vmax: { type: 'string' }, d0: { type: 'string' },
        'base-rate': { type: 'string' }, modulation: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UserError('EUSAGE', `simulate-user: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const user: SimulatedUserOptions = {
    seed: num('seed', values.seed, 1, true),
    session: num('session', values.session, values['calibration-block'] ? 0 : 1, true),
    channels: num('channels', values.channels, 192, true),
    binMs: num('bin-ms', values['bin-ms'], 20),
    delayMs: num('delay-ms', values['delay-ms'], 200),
    forwardModel: !values['no-forward-model'],
    motorNoise: num('motor-noise', values['motor-noise'], 2),
    controller: { vmax: num('vmax', values.vmax, 30), d0: num('d0', values.d0, 3) },
    baseRate: num('base-rate', values['base-rate'], 14),
    modulation: num('modulation', values.modulation, 0.5),
  };
  try {
    new SimulatedUser(user); // checks every parameter before any file or socket is opened
  } catch (e) {
    throw new UserError('EUSAGE', (e as Error).message.replace(/^(user|encoder|feedback): /, 'simulate-user: '));
  }

  if (values['calibration-block']) {
    if (!values.out) throw new UserError('EUSAGE', 'simulate-user: --calibration-block needs --out FILE.xdf');
    const intent = (values.intent ?? 'aim') as CalibrationIntent;
    if (!CALIBRATION_INTENTS.includes(intent)) throw new UserError('EUSAGE', `simulate-user: --intent must be ${CALIBRATION_INTENTS.join(' or ')}, got "${values.intent}"`);
    for (const k of ['mode', 'to', 'lsl', 'task', 'bins', 'seconds'] as const)
      if (values[k] !== undefined) throw new UserError('EUSAGE', `simulate-user: --${k} does not apply to --calibration-block`);
    const trials = num('trials', values.trials, 64, true);
    if (trials < 1 || trials > 100_000) throw new UserError('EUSAGE', `simulate-user: --trials must be in 1–100000, got ${trials}`);
    const block = calibrationBlock({ ...user, trials, intent });
    const bytes = calibrationBlockXdf(block);
    await writeFile(values.out, bytes);
    const s = block.session;
    process.stdout.write(`calibration block seed ${s.seed}: ${block.trials} trials (${block.trials / 2} reaches and their returns), ` +
      `${s.timestamps.length} bins × ${s.channels} channels (${s.binMs} ms, ${((s.timestamps.length * s.binMs) / 60000).toFixed(2)} min) → ${values.out} (${(bytes.length / 1e6).toFixed(2)} MB)\n`);
    return 0;
  }
  if (values.trials !== undefined || values.out !== undefined || values.intent !== undefined) throw new UserError('EUSAGE', 'simulate-user: --trials, --out and --intent apply to --calibration-block only');

  const mode = (values.mode ?? 'realtime') as UserMode;
  if (mode !== 'realtime' && mode !== 'lockstep') throw new UserError('EUSAGE', `simulate-user: --mode must be realtime or lockstep, got "${mode}"`);
  if (values.bins !== undefined && values.seconds !== undefined) throw new UserError('EUSAGE', 'simulate-user: give --bins or --seconds, not both');
  const bins = values.bins !== undefined ? num('bins', values.bins, 0, true)
    : values.seconds !== undefined ? Math.round((num('seconds', values.seconds, 0) * 1000) / (user.binMs ?? 20)) : undefined;
  if (bins !== undefined && bins < 1) throw new UserError('EUSAGE', `simulate-user: --bins/--seconds must give at least one bin`);
  const zmq = (uri: string, flag: string, defaultBind: boolean) => {
    const u = parseEndpoint(uri);
    if (u.protocol !== 'zmq+tcp:' && u.protocol !== 'zmq+ipc:') throw new UserError('EUSAGE', `simulate-user: --${flag} must be a zmq+tcp:// or zmq+ipc:// URI, got "${uri}"`);
    const a = zmqAddress(u, defaultBind);
    return { address: a.address, bind: a.bind, topic: a.params.get('topic') || undefined };
  };
  const to = values.to === 'none' ? null : zmq(values.to ?? 'zmq+tcp://127.0.0.1:5555', 'to', true);
  const lslFormat = values['lsl-format'] ?? 'int16';
  if (lslFormat !== 'int16' && lslFormat !== 'float32') throw new UserError('EUSAGE', `simulate-user: --lsl-format must be int16 or float32, got "${lslFormat}"`);
  const lsl = values.lsl ? { name: values.lsl, format: lslFormat as 'int16' | 'float32' } : null;
  const task = zmq(values.task ?? 'zmq+tcp://127.0.0.1:5557', 'task', false);

  // Ground truth for benchmarks: the intention of every bin sent, written when the run ends.
  const truth = values['intention-out'] ? new Rows(2, new Float64Array(8192), 4096) : null;
  const onBin = truth ? (_seq: number, t: number, v: Float64Array): void => { truth.data.set(v, 2 * truth.next(t)); } : undefined;
  const log = createLogger({}, { module: 'simulate-user' });
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const stats = await runLiveUser({
      user, mode, spikes: to, lsl, task, bins, signal: ac.signal,
      lockstepTimeoutMs: num('lockstep-timeout-ms', values['lockstep-timeout-ms'], 1000),
      streamId: values['stream-id'], onBin,
      onReady: (i) => log.info('simulated user ready', { mode, spikes: to?.address ?? null, lsl: lsl?.name ?? null, lslUid: i.lslUid, task: task.address, seed: user.seed, channels: user.channels }),
      onProgress: (s) => log.info('progress', { bins: s.binsSent, task_messages: s.taskMessages, bad_task_messages: s.badTaskMessages, lockstep_timeouts: s.lockstepTimeouts, bins_per_s: Math.round(s.binsPerSecond) }),
    });
    if (truth && truth.n > 0) {
      const stream = intentionStream(user.seed, user.binMs ?? 20, truth.ts.slice(0, truth.n), Float32Array.from(truth.data.subarray(0, 2 * truth.n)));
      await writeFile(values['intention-out']!, writeXdf([stream]));
    }
    process.stdout.write(JSON.stringify({
      mode: stats.mode, bins_sent: stats.binsSent, task_messages: stats.taskMessages, bad_task_messages: stats.badTaskMessages,
      lockstep_timeouts: stats.lockstepTimeouts, spike_drops: stats.spikeDrops, daemon_subscribed: stats.daemonSubscribed,
      last_task_seq: stats.lastTaskSeq, last_task_state: stats.lastTaskState, seconds: stats.seconds, bins_per_s: stats.binsPerSecond,
    }) + '\n');
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
