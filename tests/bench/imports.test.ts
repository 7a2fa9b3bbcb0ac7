/**
 * Benchmarks and the fuzzer never import test code: what they share with tests lives in harness/
 * (and report/). Scans the TypeScript sources of bench/ and fuzz/ for any import or dynamic import
 * that reaches tests/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { REPO_ROOT } from '../../harness/process.js';

/** Every module specifier in a source file: static imports/exports and import(). */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:\bimport\s*(?:[\w*{}\s,]+from\s*)?|\bexport\s*[\w*{}\s,]+from\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;
  for (let m; (m = re.exec(source)); ) out.push(m[1]);
  return out;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

test('the scanner finds static, re-exported and dynamic imports', () => {
  const src = `import { a } from '../tests/x.js';\nimport '../tests/side.js';\nexport { b } from "../tests/y.js";\nconst m = await import('../tests/z.js');\nimport type { T } from './ok.js';`;
  assert.deepEqual(importSpecifiers(src), ['../tests/x.js', '../tests/side.js', '../tests/y.js', '../tests/z.js', './ok.js']);
});

for (const dir of ['bench', 'fuzz']) {
  test(`no file under ${dir}/ imports from tests/`, () => {
    const testsDir = join(REPO_ROOT, 'tests');
    const files = sources(join(REPO_ROOT, dir));
    assert.ok(files.length >= 5, `found the ${dir} sources (${files.length})`);
    const offenders: string[] = [];
    for (const f of files)
      for (const spec of importSpecifiers(readFileSync(f, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(dirname(f), spec);
        if (!relative(testsDir, target).startsWith('..')) offenders.push(`${relative(REPO_ROOT, f)} imports ${spec}`);
      }
    assert.deepEqual(offenders, []);
  });
}
