/** The one start-and-wait harness, against real child processes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliProcess, HarnessError } from '../../harness/process.js';
import { tempDir } from '../support/net.js';

const tmp = tempDir('langevind-harness-oneof-');
test.after(() => tmp.cleanup());

function script(name: string, body: string): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, body);
  return p;
}

test('start() resolves on the ready line; logs, stdout, summary and stop() reflect the child', async () => {
  const s = script('ready.mjs', `
    process.on('SIGINT', () => { process.stdout.write('text\\n' + JSON.stringify({ summary: { bins_in: 3 } }) + '\\n'); process.exit(0); });
    process.stderr.write('not json\\n' + JSON.stringify({ level: 'info', msg: 'ready', port: 1 }) + '\\n');
    setInterval(() => {}, 1000);`);
  const p = await CliProcess.start(['x'], { script: s });
  assert.ok(p.running);
  assert.deepEqual(p.logs[0], { level: 'text', msg: 'not json' });
  assert.equal(p.logs[1].port, 1);
  assert.deepEqual(await p.stop(), { code: 0, signal: null });
  assert.deepEqual(p.summary(), { bins_in: 3 });
  assert.equal(p.running, false);
});

test('start() rejects with ENOTREADY, quoting the child, when it exits before it is ready', async () => {
  const s = script('dies.mjs', `process.stderr.write(JSON.stringify({ level: 'error', msg: 'bad model' }) + '\\n'); process.exit(3);`);
  await assert.rejects(CliProcess.start([], { script: s }), (e: HarnessError) => e.code === 'ENOTREADY' && /code 3/.test(e.message) && /bad model/.test(e.message));
});

test('start() kills a child that stays silent past readyTimeoutMs', async () => {
  const s = script('silent.mjs', `setInterval(() => {}, 1000);`);
  await assert.rejects(CliProcess.start([], { script: s, readyTimeoutMs: 300 }), (e: HarnessError) => e.code === 'ENOTREADY' && /timed out after 300 ms/.test(e.message));
});

test('a custom ready predicate and stop() escalating to SIGKILL for a child that ignores SIGINT', async () => {
  const s = script('stubborn.mjs', `
    process.on('SIGINT', () => {});
    process.stderr.write(JSON.stringify({ level: 'info', msg: 'lsl input connected', name: 'x' }) + '\\n');
    setInterval(() => {}, 1000);`);
  const p = await CliProcess.start([], { script: s, ready: (l) => /input connected/.test(l.msg) });
  assert.deepEqual(await p.stop('SIGINT', 300), { code: null, signal: 'SIGKILL' });
});

test('any program: ready on a stdout line, input on stdin, its output kept line by line', async () => {
  const s = script('peer.mjs', `
    process.stdout.write('port 4242\\n');
    process.stdin.setEncoding('utf8').on('data', (d) => { process.stdout.write(JSON.stringify({ got: d.trim() }) + '\\n'); process.exit(0); });`);
  const p = await CliProcess.start([s], { executable: process.execPath, stdin: true, ready: { stdout: (l) => l.startsWith('port ') } });
  assert.equal(p.stdoutLines[0], 'port 4242');
  p.child.stdin!.write('go\n');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.deepEqual(p.lastJson(), { got: 'go' });
  await assert.rejects(p.waitStdout((l) => l === 'never'), /exited .* before a stdout line/);
});

test('request(): one JSON line out on stdin, the next stdout line back, in order, with no timeout when asked', async () => {
  const s = script('echo-peer.mjs', `
    process.stdout.write(JSON.stringify({ ready: true }) + '\\n');
    let buf = '';
    process.stdin.setEncoding('utf8').on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\\n')) >= 0) { const m = JSON.parse(buf.slice(0, nl)); buf = buf.slice(nl + 1); if (m.quit) process.exit(0); process.stdout.write(JSON.stringify({ echo: m.n * 2 }) + '\\n'); }
    });`);
  const p = new CliProcess([s], { executable: process.execPath, stdin: true });
  assert.deepEqual(JSON.parse(await p.nextLine()), { ready: true });
  const replies = await Promise.all([1, 2, 3].map((n) => p.request<{ echo: number }>({ n }, Infinity)));
  assert.deepEqual(replies.map((r) => r.echo), [2, 4, 6]);
  const lost = p.request({ quit: true }, Infinity);
  await assert.rejects(lost, /exited \(code 0/);
});
