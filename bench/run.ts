/**
 * `npm run bench`: every benchmark in turn, each in its own process so one cannot disturb another's
 * heap or JIT state. Each writes bench/results/<name>.json; this prints where. `--quick` passes
 * through for a short smoke run; `--only step,e2e` picks benchmarks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = ['step', 'decoders', 'gemv', 'e2e', 'roundtrip', 'lsl', 'control', 'dashboard'] as const;

const args = process.argv.slice(2);
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1]?.split(',')) : null;
const passThrough = args.filter((a, i) => a !== '--only' && (onlyArg < 0 || i !== onlyArg + 1));

let failed = 0;
for (const name of BENCHES) {
  if (only && !only.has(name)) continue;
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (!existsSync(script)) {
    process.stderr.write(`bench: ${name}: ${script} not built, skipped\n`);
    continue;
  }
  process.stderr.write(`\n=== bench ${name} ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', script, ...passThrough], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench: ${name} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
