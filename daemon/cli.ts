#!/usr/bin/env node
/**
 * `langevind <command> …`: dispatches to daemon/commands/<command>.ts, each of which exports
 * `main(argv: string[]): Promise<number>` (the exit code) and `usage` (its --help text). Commands
 * load lazily so that, for example, `langevind run` never loads TensorFlow.js.
 *
 * Exit status: 0 success, 1 failure (the error's message and [code] on stderr), 2 a usage error
 * (daemon/usage.ts: the problem and the command's usage on stderr).
 */
import { isUsageError, USAGE_EXIT_CODE } from './usage.js';
import { packageVersion } from './version.js';

const COMMANDS: Record<string, { module: string; summary: string }> = {
  demo: { module: 'demo', summary: 'run the daemon on an embedded simulated session (no hardware, no files)' },
  run: { module: 'run', summary: 'decode live spike bins: --model FILE --input URI --output URI …' },
  replay: { module: 'replay', summary: 'play a recording into a running daemon and report end-to-end latency; --metrics: closed-loop metrics of recorded sessions' },
  decode: { module: 'decode', summary: 'decode every bin of a recording offline into CSV' },
  simulate: { module: 'simulate', summary: 'write a synthetic session with known ground truth as XDF' },
  calibrate: { module: 'calibrate', summary: 'train a model on a recorded session' },
  model: { module: 'model', summary: 'model init | model inspect' },
  status: { module: 'status', summary: "a running daemon's health and main figures (its control API)" },
  reload: { module: 'reload', summary: 'swap a new model into a running daemon between two bins: --model FILE' },
  reset: { module: 'reset', summary: "reset a running daemon's filter at the next bin" },
  'simulate-user': { module: 'simulate-user', summary: 'a simulated subject and rig for closed-loop tests, or an open-loop calibration block as XDF' },
  task: { module: 'task', summary: 'the cursor task: decoded velocity in, trials, task state out (ZeroMQ, LSL, a page), closed-loop metrics' },
  recalibrate: { module: 'recalibrate', summary: 'ReFIT: refit the velocity readout on a closed-loop recording; --apply swaps it into the running daemon' },
};

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return ['usage: langevind <command> [options]   (langevind <command> --help for its options; langevind --version)', '',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.summary}`)].join('\n');
}

/** The usage text printed under a usage error: the command's own, else the list of commands. */
let usageText = usage;

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  if (!name) {
    process.stderr.write(usage() + '\n');
    return USAGE_EXIT_CODE;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`langevind: unknown command "${name}"\n\n${usage()}\n`);
    return USAGE_EXIT_CODE;
  }
  const mod = (await import(`./commands/${cmd.module}.js`)) as { main(argv: string[]): Promise<number>; usage?: string };
  if (mod.usage) usageText = () => mod.usage!;
  return mod.main(rest);
}

dispatch(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const e = err as Error & { code?: string };
    process.stderr.write(`langevind: ${e?.message ?? String(err)}${e?.code ? ` [${e.code}]` : ''}\n`);
    if (process.env.LANGEVIND_DEBUG) process.stderr.write(`${e?.stack}\n`);
    if (isUsageError(err)) {
      process.stderr.write(`\n${usageText().trimEnd()}\n`);
      process.exitCode = USAGE_EXIT_CODE;
    } else {
      process.exitCode = 1;
    }
  },
);
