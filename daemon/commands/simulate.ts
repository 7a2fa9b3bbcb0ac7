/**
 * `langevind simulate --kind lorenz|reaching --seed N (--minutes M | --bins N) --channels N --bin-ms B --out FILE.xdf`
 * Writes a synthetic session with known ground truth as XDF and prints a one-line summary.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { numberOf, UsageError } from '../usage.js';
import { meanRateHz, sessionToXdf, simulateSession, SimulateError, type SimulationKind } from '../../calibration/simulator/index.js';

const USAGE = `usage: langevind simulate --out FILE.xdf [--kind lorenz|reaching] [--seed N] [--minutes M | --bins N]
                          [--channels N] [--bin-ms B] [--base-rate HZ]
  Writes a synthetic session (streams M1-binned/SpikeCounts, Hand/Kinematics, Trials/Markers for reaching,
  and the ground truth TrueLogRates and Latents) in LabRecorder's XDF layout.
  Defaults: --kind lorenz --seed 1 --minutes 5 --channels 96 --bin-ms 20.`;

export const usage = USAGE;

function num(name: string, v: string | undefined, dflt: number, integer = false): number {
  if (v === undefined) return dflt;
  const x = numberOf(v);
  if (x === null || (integer && !Number.isInteger(x))) {
    throw new UsageError(`simulate: --${name} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
  }
  return x;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kind: { type: 'string' }, seed: { type: 'string' }, minutes: { type: 'string' }, bins: { type: 'string' },
        channels: { type: 'string' }, 'bin-ms': { type: 'string' }, 'base-rate': { type: 'string' }, out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`simulate: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values.out) throw new UsageError('simulate: --out FILE.xdf is required');
  if (values.minutes !== undefined && values.bins !== undefined) throw new UsageError('simulate: give --minutes or --bins, not both');
  const kind = (values.kind ?? 'lorenz') as SimulationKind;
  const binMs = num('bin-ms', values['bin-ms'], 20);
  const bins = values.bins !== undefined
    ? num('bins', values.bins, 0, true)
    : Math.round((num('minutes', values.minutes, 5) * 60000) / binMs);
  const opts = {
    kind,
    seed: num('seed', values.seed, 1, true),
    bins,
    binMs,
    channels: num('channels', values.channels, 96, true),
    baseRate: values['base-rate'] === undefined ? undefined : num('base-rate', values['base-rate'], 0),
  };
  let session;
  try {
    session = simulateSession(opts);
  } catch (err) {
    // Every simulator option came from this command line, so a refused one is a usage error.
    if (err instanceof SimulateError) throw new UsageError(err.message);
    throw err;
  }
  const bytes = sessionToXdf(session);
  await writeFile(values.out, bytes);
  const trials = session.trials ? `, ${session.trials.length} reaches` : '';
  process.stdout.write(
    `simulated ${kind} seed ${session.seed}: ${bins} bins × ${session.channels} channels (${binMs} ms, ` +
    `${((bins * binMs) / 60000).toFixed(2)} min${trials}), mean rate ${meanRateHz(session).toFixed(2)} Hz → ` +
    `${values.out} (${(bytes.length / 1e6).toFixed(2)} MB)\n`,
  );
  return 0;
}
