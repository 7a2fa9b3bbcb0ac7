/**
 * `langevind run --hugepages` (daemon/hugepages.ts): the model's WebAssembly memory moves to 2 MiB
 * pages where the kernel offers them, as /proc/self/smaps reports, and the filter computes exactly
 * what it computed before. Where transparent huge pages are off, the result says so instead.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { OnlineFilter } from '../../model/filter.js';
import { adviseHugePages } from '../../daemon/hugepages.js';
import { parseRunArgs } from '../../daemon/run-config.js';
import { join } from 'node:path';
import { preset } from '../../model/config.js';
import { initWeights } from '../../model/init.js';
import { loadModel, makeModel, saveModel } from '../../model/model-file.js';
import { syntheticCounts } from '../support/model.js';
import { tempDir } from '../support/net.js';
import { CliProcess } from '../../harness/process.js';
import { endpoint } from '../support/net.js';
import { http, startControlled } from './control/support.js';

const tmp = tempDir('langevind-hugepages-floor-');
after(() => tmp.cleanup());
// Preset M: a memory of several MiB, so whole 2 MiB pages exist in it.
const modelPath = join(tmp.dir, 'M.safetensors');
const mCfg = preset('M');
saveModel(modelPath, makeModel(mCfg, initWeights(mCfg, 3)));
const model = loadModel(modelPath);

const THP = '/sys/kernel/mm/transparent_hugepage/enabled';
const thpOn = process.platform === 'linux' && existsSync(THP) && !/\[never\]/.test(readFileSync(THP, 'utf8'));

/** kB of anonymous huge pages of a process (default this one), from /proc/PID/smaps_rollup. */
function anonHugeKbTotal(pid: number | 'self' = 'self'): number {
  const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/AnonHugePages:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}

describe('adviseHugePages', () => {
  it('moves the filter memory to huge pages (where THP is on) and the filter computes the same', { skip: process.platform !== 'linux' ? 'Linux only' : false }, () => {
    const f = new OnlineFilter(model, {});
    const ref = new OnlineFilter(model, {});
    const mem = f.buffers[0].buffer as ArrayBuffer;
    assert.ok(mem.byteLength >= 4 << 20, `memory is ${mem.byteLength} bytes`);
    const before = anonHugeKbTotal();
    const r = adviseHugePages(mem);
    if (thpOn) {
      assert.ok(r.bytes >= 2 << 20, `advised ${r.bytes} bytes (${r.note ?? ''})`);
      assert.equal(r.bytes % (2 << 20), 0);
      if (r.collapsed) assert.ok(anonHugeKbTotal() - before >= r.bytes / 1024, 'smaps counts the collapsed pages');
    } else {
      assert.equal(r.bytes, 0);
      assert.match(r.note ?? '', /madvise|huge/);
    }
    for (const c of syntheticCounts(192, 20, 4)) assert.deepEqual(Array.from(f.step(c).velocity), Array.from(ref.step(c).velocity));
  });

  it('says why when the memory spans no whole 2 MiB page', { skip: process.platform !== 'linux' ? 'Linux only' : false }, () => {
    const r = adviseHugePages(new ArrayBuffer(4096));
    assert.equal(r.bytes, 0);
    assert.match(r.note ?? '', /no whole 2 MiB page/);
  });
});

describe('run --hugepages', () => {
  const base = ['--model', 'm', '--input', 'zmq+tcp://127.0.0.1:1', '--output', 'zmq+tcp://127.0.0.1:2'];

  it('is on by default; --hugepages off turns it off; anything else is a usage error', () => {
    assert.equal(parseRunArgs(base)?.hugePages, true);
    assert.equal(parseRunArgs([...base, '--hugepages', 'off'])?.hugePages, false);
    assert.throws(() => parseRunArgs([...base, '--hugepages', 'yes']), (e: Error & { code?: string }) => e.code === 'EUSAGE' && /--hugepages must be on or off, got "yes"/.test(e.message));
  });

  it('logs what it did once at startup', async () => {
    const out = await endpoint('tcp', tmp.dir, 'hp-out');
    const d = new CliProcess(['run', '--model', modelPath, '--input', 'zmq+tcp://127.0.0.1:9', '--output', out.uri, '--status-interval', '0']);
    try {
      const rec = await d.waitMsg('huge pages');
      if (thpOn) assert.ok((rec.bytes as number) >= 2 << 20, JSON.stringify(rec));
      else assert.equal(rec.bytes, 0);
      await d.waitMsg('ready');
      assert.deepEqual(await d.stop('SIGINT'), { code: 0, signal: null });
    } finally {
      d.kill();
    }
  });

  it('backs every filter a hot swap brings in: the standby one, reloaded in place, and one of a new shape', { skip: process.platform !== 'linux' ? 'Linux only' : false }, async () => {
    // Same shape as M (in place into the standby filter made at start-up), then a new shape (a new memory).
    const same = join(tmp.dir, 'M-b.safetensors');
    saveModel(same, makeModel(mCfg, initWeights(mCfg, 4)));
    const wideCfg = { ...mCfg, ff: mCfg.ff * 2 };
    const wide = join(tmp.dir, 'M-wide.safetensors');
    saveModel(wide, makeModel(wideCfg, initWeights(wideCfg, 5)));
    const d = await startControlled(modelPath);
    try {
      const first = d.daemon.logs.find((l) => l.msg === 'huge pages') as unknown as { bytes: number; collapsed: boolean };
      if (thpOn && first.collapsed) {
        // The running filter and the standby one.
        assert.ok(anonHugeKbTotal(d.daemon.child.pid!) >= (2 * first.bytes) / 1024, `AnonHugePages ${anonHugeKbTotal(d.daemon.child.pid!)} kB, one filter is ${first.bytes / 1024} kB`);
      }
      for (const [path, inPlace] of [['M-b.safetensors', true], ['M-wide.safetensors', false]] as const) {
        const r = await http(d.url, 'POST', '/model', { json: { path } });
        assert.equal(r.status, 200, r.text);
        const s = r.body.swapped as { in_place: boolean; huge_pages: { bytes: number; collapsed: boolean } | null };
        assert.equal(s.in_place, inPlace, path);
        assert.ok(s.huge_pages !== null, `${path}: the swapped-in filter was never advised`);
        if (thpOn) assert.ok(s.huge_pages.bytes >= 2 << 20, `${path}: ${JSON.stringify(s.huge_pages)}`);
        else assert.equal(s.huge_pages.bytes, 0);
      }
      const off = await startControlled(modelPath, ['--hugepages', 'off']);
      try {
        const r = await http(off.url, 'POST', '/model', { json: { path: 'M-b.safetensors' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.swapped.huge_pages, undefined, '--hugepages off: nothing advised, nothing reported');
      } finally {
        await off.daemon.stop();
      }
    } finally {
      await d.daemon.stop();
    }
  });
});
