/** The control plane's pure parts and its path confinement on a real file system. */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isLoopback, parseControlAddress } from '../../../daemon/control/address.js';
import { swapConflicts } from '../../../daemon/control/compat.js';
import { createGuard } from '../../../daemon/control/guard.js';
import { evaluateHealth } from '../../../daemon/control/health.js';
import { existingFileUnder, newFileUnder, resolveRoot } from '../../../daemon/control/paths.js';
import { bearerChecker } from '../../../daemon/control/token.js';
import { preset } from '../../../model/config.js';
import { tempDir } from '../../support/net.js';

describe('--control addresses', () => {
  it('parses host:port, [v6]:port, :port and off; refuses the rest with ECONTROLADDR', () => {
    assert.deepEqual(parseControlAddress('127.0.0.1:7370'), { host: '127.0.0.1', port: 7370 });
    assert.deepEqual(parseControlAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseControlAddress(':8080'), { host: '127.0.0.1', port: 8080 });
    assert.equal(parseControlAddress('off'), null);
    for (const bad of ['127.0.0.1', '127.0.0.1:99999', 'a b:1', '[zz]:1', 'http://x:1']) assert.throws(() => parseControlAddress(bad), { code: 'ECONTROLADDR' }, bad);
  });
  it('loopback is 127/8, ::1 and localhost only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.org', '127.0.0.1.example.org']) assert.ok(!isLoopback(h), h);
  });
});

describe('path confinement', () => {
  const tmp = tempDir('langevind-control-paths-');
  const t = tmp.dir;
  after(() => tmp.cleanup());
  const root = join(t, 'models');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(t, 'elsewhere'));
  writeFileSync(join(root, 'm.safetensors'), 'x');
  writeFileSync(join(root, 'sub', 'n.safetensors'), 'x');
  writeFileSync(join(t, 'elsewhere', 'secret'), 'x');
  symlinkSync(join(t, 'elsewhere', 'secret'), join(root, 'link'));
  symlinkSync(join(t, 'elsewhere'), join(root, 'dirlink'));
  symlinkSync(join(root, 'm.safetensors'), join(root, 'inner-link'));
  symlinkSync(join(t, 'elsewhere', 'nothing-yet'), join(root, 'dangling'));
  const real = resolveRoot(root, '--model-dir');

  it('an existing file under the root, relative or absolute, links that stay inside included', () => {
    assert.equal(existingFileUnder(real, 'm.safetensors'), join(real, 'm.safetensors'));
    assert.equal(existingFileUnder(real, join(root, 'sub', 'n.safetensors')), join(real, 'sub', 'n.safetensors'));
    assert.equal(existingFileUnder(real, 'sub/../m.safetensors'), join(real, 'm.safetensors'));
    assert.equal(existingFileUnder(real, 'inner-link'), join(real, 'm.safetensors'));
  });
  it('refuses .., absolute paths elsewhere, links out, directories, the root itself', () => {
    for (const p of ['../elsewhere/secret', join(t, 'elsewhere', 'secret'), 'link', 'dirlink/secret', '/etc/passwd', '.', ''])
      assert.throws(() => existingFileUnder(real, p), (e: { code: string; status: number }) => e.code === (p === '' ? 'EBADREQUEST' : 'EPATH') && e.status >= 400 && e.status < 500, p);
    assert.throws(() => existingFileUnder(real, 'sub'), { code: 'EPATH' });
  });
  it('a new file: parent under the root, never an existing entry (a dangling link included)', () => {
    assert.equal(newFileUnder(real, 'r.xdf'), join(real, 'r.xdf'));
    assert.equal(newFileUnder(real, 'sub/r.xdf'), join(real, 'sub', 'r.xdf'));
    for (const p of ['../r.xdf', 'dirlink/r.xdf', join(t, 'elsewhere', 'r.xdf'), 'nosuchdir/r.xdf', 'm.safetensors', 'dangling', 'sub/..', '..'])
      assert.throws(() => newFileUnder(real, p), { code: 'EPATH' }, p);
  });
  it('a root that is not a directory is a start-up error', () => {
    assert.throws(() => resolveRoot(join(root, 'm.safetensors'), '--model-dir'), { code: 'ECONTROLDIR' });
    assert.throws(() => resolveRoot(join(t, 'missing'), '--record-dir'), { code: 'ECONTROLDIR' });
  });
});

describe('guard', () => {
  const token = 'a-token-of-twenty-chars';
  it('bearer tokens: missing, wrong (any length), right', () => {
    const c = bearerChecker(token);
    assert.equal(c(undefined), 'missing');
    assert.equal(c('Basic abc'), 'missing');
    assert.equal(c(`Bearer ${token}x`), 'wrong');
    assert.equal(c('Bearer x'), 'wrong');
    assert.equal(c(`bearer ${token}`), 'ok');
  });
  it('beyond loopback every request needs the token; on loopback only mutations', () => {
    const wide = createGuard({ token, loopback: false });
    assert.throws(() => wide({ method: 'GET', headers: {} }), { code: 'EUNAUTHORIZED', status: 401 });
    wide({ method: 'GET', headers: { authorization: `Bearer ${token}` } });
    const local = createGuard({ token, loopback: true });
    local({ method: 'GET', headers: { host: '127.0.0.1:1' } });
    assert.throws(() => local({ method: 'POST', headers: { host: '127.0.0.1:1' } }), { code: 'EUNAUTHORIZED' });
    assert.throws(() => local({ method: 'POST', headers: { host: 'localhost:1', authorization: 'Bearer nope' } }), { code: 'EFORBIDDEN', status: 403 });
    assert.throws(() => local({ method: 'GET', headers: { host: 'evil.example:1' } }), { code: 'EFORBIDDEN' });
    assert.throws(() => local({ method: 'GET', headers: { host: '[::1]:1', origin: 'https://evil.example' } }), { code: 'EFORBIDDEN' });
    local({ method: 'GET', headers: { host: '[::1]:1', origin: 'http://127.0.0.1:1' } });
  });
  it('public routes (the dashboard page) are readable beyond loopback without the token, and nothing else is', () => {
    const wide = createGuard({ token, loopback: false });
    wide({ method: 'GET', headers: {} }, true);
    wide({ method: 'HEAD', headers: {} }, true);
    assert.throws(() => wide({ method: 'POST', headers: {} }, true), { code: 'EUNAUTHORIZED', status: 401 });
    assert.throws(() => wide({ method: 'GET', headers: {} }, false), { code: 'EUNAUTHORIZED', status: 401 });
  });
  it('a token sent and wrong is refused where none is needed (loopback reads), except on public routes', () => {
    const local = createGuard({ token, loopback: true });
    assert.throws(() => local({ method: 'GET', headers: { authorization: 'Bearer nope' } }), { code: 'EFORBIDDEN', status: 403 });
    local({ method: 'GET', headers: { authorization: `Bearer ${token}` } });
    local({ method: 'GET', headers: { authorization: 'Basic abc' } });
    // A public route does not look at it: the page loads, and its request for data says it is wrong.
    createGuard({ token, loopback: false })({ method: 'GET', headers: { authorization: 'Bearer nope' } }, true);
  });
  it('past the request budget: 429 ERATE', () => {
    const g = createGuard({ loopback: true, ratePerSecond: 5 });
    for (let i = 0; i < 5; i++) g({ method: 'GET', headers: {} });
    assert.throws(() => g({ method: 'GET', headers: {} }), { code: 'ERATE', status: 429 });
  });
});

describe('health', () => {
  const base = { startedNs: 1e9, binMs: 20, silentBins: 50, modelError: null, reconnecting: null, outputs: [] };
  it('healthy while bins arrive; silent, failed model, reconnect: unhealthy with each reason', () => {
    assert.equal(evaluateHealth({ ...base, nowNs: 2e9, lastBinNs: 1.99e9 }).status, 'ok');
    const silent = evaluateHealth({ ...base, nowNs: 3.1e9, lastBinNs: 2e9 });
    assert.deepEqual(silent.reasons.map((r) => r.code), ['input_silent']);
    assert.match(silent.reasons[0].message, /no bin for 1\.10 s \(55 bins; limit 50\)/);
    assert.deepEqual(evaluateHealth({ ...base, nowNs: 2.1e9, lastBinNs: 0 }).reasons.map((r) => r.code), ['input_silent']);
    const all = evaluateHealth({ ...base, nowNs: 2e9, lastBinNs: 1.99e9, modelError: 'x', reconnecting: 'peer_gone' });
    assert.deepEqual(all.reasons.map((r) => r.code), ['model_failed', 'reconnecting']);
  });
  it('an output without subscribers is a warning only', () => {
    const h = evaluateHealth({ ...base, nowNs: 2e9, lastBinNs: 1.99e9, outputs: [{ uri: 'zmq+tcp://127.0.0.1:1', subscribers: 0 }, { uri: 'lsl://name=x' }] });
    assert.equal(h.status, 'ok');
    assert.deepEqual(h.warnings.map((w) => w.code), ['no_subscribers']);
  });
});

describe('swap compatibility', () => {
  const a = preset('S', { n_in: 16, n_out: 16, bin_ms: 10 });
  it('same stream contract: no conflicts; different n_in, bin width, labels: each named', () => {
    assert.deepEqual(swapConflicts(a, preset('S', { n_in: 16, n_out: 16, bin_ms: 10 }), 'carry'), []);
    const c = swapConflicts(a, { ...preset('S', { n_in: 8, n_out: 16, bin_ms: 20 }), velocity_labels: ['vx', 'vy'] }, 'reset');
    assert.equal(c.length, 3);
  });
  it('carry needs the same state shape', () => {
    const bigger = preset('S', { n_in: 16, n_out: 16, bin_ms: 10, window: a.window * 2 });
    assert.deepEqual(swapConflicts(a, bigger, 'reset'), []);
    assert.equal(swapConflicts(a, bigger, 'carry').length, 1);
  });
});
