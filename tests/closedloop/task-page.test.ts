/**
 * The subject's page in headless Chromium: `langevind task --page` fed real Decoded messages over
 * a real ZeroMQ PUB; the cursor the page draws moves as the decodes arrive, and its target
 * changes as the state machine moves on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CliProcess } from '../../harness/process.js';
import { launchChromium } from '../support/browser.js';
import { tempDir } from '../support/net.js';
import { aimAt, TaskPeer } from './task-peer.js';

interface View { cursor: [number, number] | null; target: [number, number] | null; state: string; trial: number; frames: number; connected: boolean }

test('task page: the cursor follows the decodes and the target follows the state machine', { timeout: 120_000 }, async () => {
  const tmp = tempDir('langevind-task-page-');
  const vel = join(tmp.dir, 'task-page-velocity.sock'), st = join(tmp.dir, 'task-page-state.sock');
  const peer = await TaskPeer.open(`ipc://${vel}`, `ipc://${st}`);
  const cli = new CliProcess(['task', '--from', `zmq+ipc://${vel}`, '--publish', `zmq+ipc://${st}`, '--no-lsl', '--page', '0', '--clock', 'bins',
    '--trials', '3', '--hold-ms', '100', '--iti-ms', '40', '--timeout-ms', '5000', '--stall-bins', '1000']);
  const browser = await launchChromium({ width: 800, height: 600 });
  try {
    const { url } = (await cli.waitMsg('task page')) as unknown as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await peer.joined();
    await cli.waitMsg('task state subscriber joined');
    const page = await browser.context.newPage();
    await page.goto(url);
    // Expressions as strings: this project compiles without the DOM's types.
    await page.waitForFunction('window.taskView.frames > 0');
    const view = (): Promise<View> => page.evaluate('window.taskView') as Promise<View>;
    const body = (key: string): Promise<string> => page.evaluate(`document.body.dataset.${key}`) as Promise<string>;
    /** Waits until the page shows what the task last published. */
    const shows = async (): Promise<View> => {
      const s = peer.states.at(-1)!;
      const v = 'window.taskView';
      await page.waitForFunction(`${v}.cursor !== null && Math.abs(${v}.cursor[0] - ${s.cursor[0]}) < 1e-4 && Math.abs(${v}.cursor[1] - ${s.cursor[1]}) < 1e-4 && ${v}.state === ${JSON.stringify(s.state)}`,
        undefined, { timeout: 10_000 });
      return view();
    };
    let seq = 0;
    const step = async (vx: number, vy: number): Promise<void> => {
      const k = seq++;
      const got = peer.next((s) => s.seq === k);
      peer.sendDecoded(k, vx, vy);
      await got;
    };
    const initial = await view();
    assert.deepEqual(initial.cursor, [0, 0]);
    assert.equal(initial.target, null);

    // The ITI passes and the first target appears on the page where the task put it.
    while (peer.states.at(-1)?.state !== 'target_on') await step(0, 0);
    let v = await shows();
    const first = peer.states.at(-1)!.target;
    assert.ok(v.target && Math.abs(v.target[0] - first[0]) < 1e-4 && Math.abs(v.target[1] - first[1]) < 1e-4, `page target ${v.target} vs ${first}`);
    assert.equal(await body('state'), 'target_on');

    // Ten decodes of (−5, 5) cm/s move the page's cursor by (−1, 1) cm.
    const before = v.cursor!;
    for (let i = 0; i < 10; i++) await step(-5, 5);
    v = await shows();
    assert.ok(Math.abs(v.cursor![0] - before[0] + 1) < 1e-4 && Math.abs(v.cursor![1] - before[1] - 1) < 1e-4, `cursor ${before} → ${v.cursor}`);
    const pixels = (await page.evaluate(`(() => { const c = document.getElementById('screen'); return { w: c.width, h: c.height }; })()`)) as { w: number; h: number };
    assert.ok(pixels.w > 0 && pixels.h > 0);

    // Reach the target: hold, success, then the next target (the centre) replaces it.
    while (peer.states.at(-1)!.trial === 0 || peer.states.at(-1)!.state !== 'target_on') await step(...aimAt(peer.states.at(-1)));
    v = await shows();
    assert.equal(v.trial, 1);
    assert.deepEqual(v.target, [0, 0]);
    assert.notDeepEqual(first, [0, 0]);
    const seen = new Set(peer.states.map((s) => s.state));
    for (const s of ['iti', 'target_on', 'hold', 'success']) assert.ok(seen.has(s), `the task went through ${s}`);
    assert.equal(await body('target'), '0,0');
  } catch (e) {
    throw new Error(`${(e as Error).message}\ntask stderr:\n${cli.stderrText.slice(-3000)}`);
  } finally {
    await browser.close();
    cli.kill();
    peer.close();
    tmp.cleanup();
  }
});
