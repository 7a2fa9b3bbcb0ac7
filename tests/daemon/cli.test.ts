/**
 * The CLI's one usage-error path (daemon/usage.ts, daemon/cli.ts): for every command, an unknown
 * option and a missing argument print the problem and that command's usage on stderr and exit 2;
 * --help prints the usage on stdout and exits 0; --version prints package.json's version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH, REPO_ROOT } from '../../harness/process.js';

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000 });

/** Each command with one call missing what it needs, and the usage line its --help starts with. */
const COMMANDS: { name: string[]; missing: string[]; problem: RegExp }[] = [
  { name: ['run'], missing: ['--input', 'zmq+tcp://127.0.0.1:9', '--output', 'zmq+tcp://127.0.0.1:9'], problem: /--model FILE is required/ },
  { name: ['replay'], missing: ['x.xdf', '--to', 'zmq+tcp://127.0.0.1:9'], problem: /--from URI are required/ },
  { name: ['demo'], missing: ['--seconds', '0'], problem: /--seconds must be a positive number/ },
  { name: ['decode'], missing: ['x.xdf', '--out', 'x.csv'], problem: /--model FILE is required/ },
  { name: ['simulate'], missing: ['--kind', 'lorenz'], problem: /--out FILE\.xdf is required/ },
  { name: ['calibrate'], missing: ['x.xdf'], problem: /--out MODEL\.safetensors is required/ },
  { name: ['model', 'init'], missing: ['--preset', 'S', '--out', 'x'], problem: /--seed N is required/ },
  { name: ['model', 'inspect'], missing: [], problem: /expected one FILE/ },
  { name: ['reload'], missing: ['--state', 'carry'], problem: /--model FILE is required/ },
  { name: ['status'], missing: ['--control', 'http://[nope'], problem: /--control must be a URL/ },
  { name: ['reset'], missing: ['--control', 'http://[nope'], problem: /--control must be a URL/ },
];

for (const c of COMMANDS) {
  const cmd = c.name.join(' ');
  test(`langevind ${cmd}: unknown option and missing argument exit 2 with the problem and the usage on stderr`, () => {
    const help = cli(c.name[0], '--help');
    assert.equal(help.status, 0, help.stderr);
    const usageLine = help.stdout.split('\n').find((l) => l.includes(`langevind ${c.name[0]}`));
    assert.ok(usageLine, `--help of ${c.name[0]} names the command: ${help.stdout.slice(0, 200)}`);

    const unknown = cli(...c.name, '--no-such-option', 'x');
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /^langevind: .*--no-such-option.* \[EUSAGE\]$/m);
    assert.ok(unknown.stderr.includes(usageLine), `the usage follows the problem:\n${unknown.stderr}`);
    assert.equal(unknown.stdout, '');

    const missing = cli(...c.name, ...c.missing);
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, c.problem);
    assert.match(missing.stderr, /\[EUSAGE\]/);
    assert.ok(missing.stderr.includes(usageLine));
  });
}

test('no command and an unknown command exit 2 with the list of commands on stderr; --help exits 0', () => {
  const none = cli();
  assert.equal(none.status, 2);
  assert.match(none.stderr, /usage: langevind <command>/);
  const bad = cli('frobnicate');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"[\s\S]*usage: langevind <command>/);
  const help = cli('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^\s+run\s/m);
});

test('--version and -V print package.json\'s version', () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.match(version, /^\d+\.\d+\.\d+/);
  for (const flag of ['--version', '-V']) {
    const r = cli(flag);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  }
});

test('an error that is not a usage error still exits 1 with its code and no usage', () => {
  const r = cli('model', 'inspect', join(REPO_ROOT, 'package.json'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^langevind: .*\[E[A-Z]+\]$/m);
  assert.doesNotMatch(r.stderr, /usage:/);
});

test('the README\'s error table names every code the sources raise', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Errors'), readme.indexOf('\n## ', readme.indexOf('## Errors') + 1));
  assert.ok(table.includes('| code |'), 'README has an Errors section with a table');
  // Codes of the OS and of Node that the sources only compare against.
  const foreign = new Set(['EACCES', 'EADDRINUSE']);
  const codes = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/'(E[A-Z][A-Z0-9_]{2,})'/g)) if (!m[1].startsWith('ERR_') && !foreign.has(m[1])) codes.add(m[1]);
    }
  };
  for (const d of ['daemon', 'streams', 'model', 'calibration', 'report', 'harness']) walk(join(REPO_ROOT, d));
  assert.ok(codes.size > 30, `found the codes (${codes.size})`);
  const missing = [...codes].filter((c) => !table.includes(`\`${c}\``)).sort();
  assert.deepEqual(missing, [], 'add a row (or the code to a row) in README.md "## Errors"');
});
