/** `langevind status | reload | reset` as separate processes against a real daemon's control API. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../../harness/net.js';
import { CLI_PATH } from '../../../harness/process.js';
import { runReplay } from '../../../daemon/commands/replay.js';
import { preset } from '../../../model/config.js';
import { initWeights } from '../../../model/init.js';
import { loadModel, makeModel, saveModel } from '../../../model/model-file.js';
import { tempDir } from '../../support/net.js';
import { writeSession } from '../../streams/replay-fixture.js';
import { http, startControlled, type Controlled } from './support.js';

const tmp = tempDir('langevind-control-cli-');
const dir = tmp.dir;
after(() => tmp.cleanup());
const CH = 16;
const cfg = preset('S', { n_in: CH, n_out: CH, bin_ms: 10, hidden: 16, latent: 16, ff: 32, window: 8 });
const pathA = join(dir, 'a.safetensors');
const pathB = join(dir, 'b.safetensors');
saveModel(pathA, makeModel(cfg, initWeights(cfg, 1)));
saveModel(pathB, makeModel(cfg, initWeights(cfg, 2)));
const session = writeSession(dir, 'session.xdf', { bins: 60, channels: CH, binMs: 10 });

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir });

describe('control CLI', () => {
  let d: Controlled;
  before(async () => {
    d = await startControlled(pathA);
    await runReplay({ recording: session, to: d.input, from: d.output, speed: 'max' });
  });
  after(async () => {
    await d?.daemon.stop();
  });

  it('status prints health, model, bins and latency; exit 1 once the input is silent', async () => {
    // The replay ended: its socket closed (reconnecting) and, 50 bins of silence later, input_silent.
    const silent = async (): Promise<boolean> => ((await http(d.url, 'GET', '/healthz')).body.reasons ?? []).some((x: { code: string }) => x.code === 'input_silent');
    while (!(await silent())) await new Promise((r) => setTimeout(r, 50));
    const r = cli('status', '--control', d.url);
    const text = r.stdout;
    assert.match(text, new RegExp(`model ${loadModel(pathA).id}`));
    assert.match(text, /decoded 60\b/);
    assert.match(text, /latency inside the daemon \(receive→sent, µs\): p50 \d/);
    assert.match(text, new RegExp(`output ${d.output.replace(/[.+]/g, '\\$&')}: sent 60, dropped 0`));
    assert.match(text, /^UNHEALTHY .*\n(?: {2}! .*\n)* {2}! input_silent: no bin for/m);
    assert.equal(r.status, 1);
    const j = cli('status', '--control', d.url, '--json');
    assert.equal(JSON.parse(j.stdout).summary.outputs[0].sent, 60);
  });

  it('reload swaps the model in (a path relative to the shell), reset resets the filter', async () => {
    const r = cli('reload', '--model', 'b.safetensors', '--control', d.url);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`swapped in model ${loadModel(pathB).id} \\(was ${loadModel(pathA).id}\\) after seq 59, state reset`));
    assert.equal((await http(d.url, 'GET', '/status')).body.model_id, loadModel(pathB).id);
    const before = (await http(d.url, 'GET', '/status')).body.summary.resets;
    const z = cli('reset', '--control', d.url);
    assert.equal(z.status, 0, z.stderr);
    assert.match(z.stdout, /filter reset at the next bin/);
    assert.ok((await http(d.url, 'GET', '/status')).body.summary.resets >= before);
  });

  it('refusals come back as one line with the code, exit 1', async () => {
    const r = cli('reload', '--model', '/etc/hostname', '--control', d.url);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /outside the allowed directory.*\[EPATH\]/);
    const u = cli('reload', '--control', d.url);
    assert.equal(u.status, 2, 'a usage error');
    assert.match(u.stderr, /--model FILE is required.*\[EUSAGE\][\s\S]*usage: langevind reload/);
    const port = await freePort();
    const n = cli('status', '--control', `http://127.0.0.1:${port}`);
    assert.equal(n.status, 1);
    assert.match(n.stderr, /cannot reach the daemon's control API .*\[ECONTROLCONNECT\]/);
  });
});
