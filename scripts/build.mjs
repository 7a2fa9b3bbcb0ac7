// Build: AssemblyScript kernels (model/wasm/assembly/*.ts → dist/model/wasm/*.wasm), then tsc.
// Kept as a script so `npm run build` works the same on every machine without a shell.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

const asmDir = join(root, 'model/wasm/assembly');
const outDir = join(root, 'dist/model/wasm');
mkdirSync(outDir, { recursive: true });
if (existsSync(asmDir)) {
  for (const f of readdirSync(asmDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    const name = f.replace(/\.ts$/, '');
    run(process.execPath, [
      join(root, 'node_modules/assemblyscript/bin/asc.js'),
      join(asmDir, f),
      '--outFile', join(outDir, `${name}.wasm`),
      '-O3', '--noAssert', '--enable', 'simd', '--runtime', 'stub',
      '--initialMemory', '1', '--exportRuntime',
    ]);
  }
}
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
// Non-TS assets the compiled code reads at run time.
for (const [src, dst] of [['proto', 'dist/proto'], ['daemon/dashboard/static', 'dist/daemon/dashboard/static']]) {
  const from = join(root, src);
  if (!existsSync(from)) continue;
  mkdirSync(join(root, dst), { recursive: true });
  for (const f of readdirSync(from)) if (!f.endsWith('.ts')) copyFileSync(join(from, f), join(root, dst, f));
}
