/**
 * --cpus: the CPU list parser, and a real daemon whose every thread the kernel reports pinned
 * (/proc/PID/task/TID/status), including libzmq's I/O thread, which starts after the pinning.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { after, describe, it } from 'node:test';
import { AffinityError, formatCpuList, parseCpuList } from '../../daemon/affinity.js';
import { parseRunArgs } from '../../daemon/run-config.js';
import { CliProcess } from '../../harness/process.js';
import { syntheticCounts, writeTestModel } from '../support/model.js';
import { endpoint, tempDir } from '../support/net.js';
import { DecodedCollector, RigPublisher } from '../../harness/zmq-peers.js';

const tmp = tempDir();
after(() => tmp.cleanup());
const { path: modelPath, model } = writeTestModel(tmp.dir, { nIn: 8 });

describe('CPU lists', () => {
  it('parses single CPUs and ranges into sorted distinct CPUs, and formats them back', () => {
    assert.deepEqual(parseCpuList('2'), [2]);
    assert.deepEqual(parseCpuList('3, 0-1,1'), [0, 1, 3]);
    assert.deepEqual(parseCpuList('4-6'), [4, 5, 6]);
    assert.equal(formatCpuList([0, 1, 3, 5, 6, 7]), '0-1,3,5-7');
    assert.equal(formatCpuList(parseCpuList('7,2-4,9')), '2-4,7,9');
  });

  it('names what is wrong with a bad list', () => {
    const bad = (s: string, re: RegExp): void => assert.throws(() => parseCpuList(s), (e: unknown) => e instanceof AffinityError && e.code === 'ECPUS' && re.test(e.message));
    bad('', /"" in "" is not a CPU number/);
    bad('1,x', /"x" in "1,x"/);
    bad('-1', /"-1"/);
    bad('3-1', /range "3-1" runs backwards/);
    bad('5000', /CPU 5000 is beyond the 1024/);
  });

  it('comes from --cpus or the config file, and a bad one is a usage error', () => {
    const base = ['--model', 'm', '--input', 'zmq+tcp://127.0.0.1:1', '--output', 'zmq+tcp://127.0.0.1:2'];
    assert.deepEqual(parseRunArgs([...base, '--cpus', '1-2'])?.cpus, [1, 2]);
    assert.equal(parseRunArgs(base)?.cpus, undefined);
    assert.throws(() => parseRunArgs([...base, '--cpus', 'all']), (e: Error & { code?: string }) => e.code === 'EUSAGE' && /"all"/.test(e.message));
  });
});

function threadsOf(pid: number): Array<{ tid: number; comm: string; cpus: string }> {
  return readdirSync(`/proc/${pid}/task`).map((tid) => ({
    tid: Number(tid),
    comm: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
    cpus: /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1],
  }));
}

describe('langevind run --cpus', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  it('pins every thread of the daemon, the ZeroMQ I/O thread included, and still decodes', async () => {
    const target = String(cpus().length - 1);
    const inp = await endpoint('tcp', tmp.dir, 'pin-in');
    const out = await endpoint('tcp', tmp.dir, 'pin-out');
    const rig = await RigPublisher.bind(inp.address);
    const daemon = new CliProcess(['run', '--model', modelPath, '--input', inp.uri, '--output', out.uri, '--status-interval', '0', '--cpus', target]);
    const c = new DecodedCollector(out.address);
    try {
      const pinned = await daemon.waitMsg('pinned');
      assert.equal(pinned.cpus, target);
      await daemon.waitMsg('ready');
      await rig.waitForSubscriber();
      await daemon.waitMsg('subscriber joined');
      const threads = threadsOf(daemon.child.pid!);
      assert.ok(threads.some((t) => t.comm.startsWith('ZMQbg')), `a libzmq thread among ${threads.map((t) => t.comm).join(', ')}`);
      for (const t of threads) assert.equal(t.cpus, target, `thread ${t.tid} (${t.comm})`);
      const counts = syntheticCounts(model.config.n_in, 5, 9);
      for (let i = 0; i < counts.length; i++) await rig.send({ seq: i, timestamp: i * 0.02, counts: counts[i], binMs: 20, streamId: 'pin' });
      await c.waitFor(counts.length);
      assert.deepEqual(c.received.map((d) => d.seq), [0, 1, 2, 3, 4]);
      assert.deepEqual(await daemon.stop(), { code: 0, signal: null });
    } finally {
      c.close();
      rig.close();
      daemon.kill();
    }
  });

  it('refuses a CPU the process may not use, naming the ones it may, before opening anything', async () => {
    const daemon = new CliProcess(['run', '--model', modelPath, '--input', 'zmq+tcp://127.0.0.1:1', '--output', 'zmq+tcp://127.0.0.1:2', '--cpus', '1000']);
    const exit = await daemon.exited;
    assert.notEqual(exit.code, 0);
    assert.match(daemon.stderrText, /--cpus: CPU 1000 is not available to this process \(available: [0-9,-]+\) \[ECPUS\]/);
    assert.equal(daemon.logs.filter((l) => l.msg === 'ready').length, 0);
  });
});
