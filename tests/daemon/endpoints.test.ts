import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { EndpointError, openSink, openSource, parseEndpoint, type EndpointContext } from '../../daemon/endpoints.js';
import { silentLogger } from '../../daemon/log.js';
import { RunConfigError, parseRunArgs } from '../../daemon/run-config.js';
import { fromLsl, lslInputFromUri, lslOutputFromUri, toLsl } from '../../streams/lsl/endpoint.js';
import { fromReplay } from '../../streams/replay.js';
import { fromZmq, toZmq, zmqAddress, zmqInputFromUri, zmqOutputFromUri } from '../../streams/zmq/endpoint.js';
import { tempDir } from '../support/net.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ctx: EndpointContext = {
  config: { n_in: 4, bin_ms: 20, velocity_labels: ['vel_x', 'vel_y'], channel_labels: ['a', 'b', 'c', 'd'] },
  modelId: 'test',
  log: silentLogger,
};

describe('endpoint URIs', () => {
  it('maps zmq URIs to ZeroMQ addresses with rig defaults: inputs connect, outputs bind', () => {
    const u = parseEndpoint('zmq+tcp://127.0.0.1:5555');
    assert.deepEqual([zmqAddress(u, false).address, zmqAddress(u, false).bind, zmqAddress(u, true).bind], ['tcp://127.0.0.1:5555', false, true]);
    assert.equal(zmqAddress(parseEndpoint('zmq+tcp://127.0.0.1:5555?bind'), false).bind, true);
    assert.equal(zmqAddress(parseEndpoint('zmq+tcp://127.0.0.1:5555?connect'), true).bind, false);
    assert.equal(zmqAddress(parseEndpoint('zmq+ipc:///tmp/x.sock'), true).address, 'ipc:///tmp/x.sock');
    assert.equal(zmqAddress(parseEndpoint('zmq+tcp://[::1]:6000'), true).address, 'tcp://[::1]:6000');
  });

  it('refuses malformed zmq URIs naming the problem', () => {
    const bad: Array<[string, RegExp]> = [
      ['zmq+tcp://127.0.0.1', /host and a port/],
      ['zmq+tcp://127.0.0.1:5555?bnd', /unknown option "bnd"/],
      ['zmq+tcp://127.0.0.1:5555?bind&connect', /not both/],
      ['zmq+tcp://127.0.0.1:5555/path', /no path/],
      ['zmq+ipc://', /absolute path/],
    ];
    for (const [uri, re] of bad) {
      assert.throws(() => zmqAddress(parseEndpoint(uri), true), (e: EndpointError) => e.code === 'EENDPOINT' && re.test(e.message), uri);
    }
    assert.throws(() => parseEndpoint('not a uri'), (e: EndpointError) => e.code === 'EENDPOINT' && /not a URI/.test(e.message));
  });

  it('unknown schemes are refused with the list of known ones', async () => {
    await assert.rejects(openSource('carrier-pigeon://x', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /carrier-pigeon/.test(e.message) && /zmq\+tcp/.test(e.message));
    await assert.rejects(openSink('carrier-pigeon://x', ctx), (e: EndpointError) => e.code === 'EENDPOINT');
  });

  it('replay is an input only; its options are checked before anything opens', async () => {
    await assert.rejects(openSink('replay:///x.xdf', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /no output of scheme "replay"/.test(e.message) && /lsl, zmq\+ipc, zmq\+tcp/.test(e.message));
    await assert.rejects(openSource('replay:///nonexistent-langevind.xdf?speed=fast', ctx), (e: Error & { code?: string }) => e.code === 'EREPLAYOPTS');
    await assert.rejects(openSource('zmq+tcp://127.0.0.1:1?queue=3', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /outputs only/.test(e.message));
    await assert.rejects(openSink('lsl://name=x?watchdog=2', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /inputs only/.test(e.message));
  });

  it('numeric options are checked when the endpoint opens', async () => {
    await assert.rejects(openSink('zmq+tcp://127.0.0.1:1?hwm=-3', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /hwm must be an integer/.test(e.message));
  });

  it('the factories check their options when called, with a code', async () => {
    await assert.rejects(fromZmq({ address: 'http://x' }), (e: Error & { code?: string }) => e.code === 'EZMQADDR');
    await assert.rejects(fromZmq({ address: 'tcp://127.0.0.1:1', topic: '' }), (e: Error & { code?: string }) => e.code === 'EZMQOPTS' && /topic/.test(e.message));
    await assert.rejects(toZmq({ address: 'tcp://127.0.0.1:1', hwm: -1 }), (e: Error & { code?: string }) => e.code === 'EZMQOPTS' && /hwm/.test(e.message));
    await assert.rejects(toZmq({ address: 'tcp://127.0.0.1:1', queue: 0 }), (e: Error & { code?: string }) => e.code === 'EZMQOPTS' && /queue/.test(e.message));
    assert.throws(() => fromLsl({ name: 'x', nIn: 0, binMs: 20 }), (e: Error & { code?: string }) => e.code === 'ELSLURI' && /nIn/.test(e.message));
    assert.throws(() => fromLsl({ nIn: 4, binMs: 20 }), (e: Error & { code?: string }) => e.code === 'ELSLURI');
    await assert.rejects(toLsl({ name: 'x', labels: [], binMs: 20 }), (e: Error & { code?: string }) => e.code === 'ELSLURI' && /label/.test(e.message));
    await assert.rejects(fromReplay({ path: '', speed: 1, nIn: 4, binMs: 20 }), (e: Error & { code?: string }) => e.code === 'EREPLAYOPTS');
  });

  it('URIs map to the factories\' options', () => {
    assert.deepEqual(zmqInputFromUri(parseEndpoint('zmq+tcp://127.0.0.1:5555?hwm=10&topic=s2')), { address: 'tcp://127.0.0.1:5555', bind: false, topic: 's2', hwm: 10 });
    assert.deepEqual(zmqOutputFromUri(parseEndpoint('zmq+ipc:///tmp/v.sock?queue=8')), { address: 'ipc:///tmp/v.sock', bind: true, topic: 'velocity', hwm: 1000, queue: 8 });
    assert.deepEqual(lslInputFromUri(parseEndpoint('lsl://name=M1&type=SpikeCounts?watchdog=3'), { nIn: 4, binMs: 20 }), { name: 'M1', type: 'SpikeCounts', nIn: 4, binMs: 20, watchdog: 3, buffer: undefined });
    assert.deepEqual(lslOutputFromUri(parseEndpoint('lsl://name=vel'), { labels: ['vel_x'], binMs: 20 }), { name: 'vel', labels: ['vel_x'], binMs: 20 });
  });

  it('a zmq output that cannot bind fails with the address in the message', async () => {
    await assert.rejects(openSink('zmq+ipc:///nonexistent-dir-langevind/x.sock', ctx), (e: Error & { code?: string }) => /nonexistent-dir-langevind/.test(e.message) && typeof e.code === 'string');
  });
});

describe('run options', () => {
  it('reads --config JSON and lets the command line win', () => {
    const t = tempDir();
    try {
      const p = join(t.dir, 'run.json');
      writeFileSync(p, JSON.stringify({ model: 'm.safetensors', input: 'zmq+tcp://127.0.0.1:1', output: ['zmq+tcp://127.0.0.1:2'], gap_policy: 'reset', status_interval: 0 }));
      const c = parseRunArgs(['--config', p, '--gap-policy', 'zeros', '--output', 'zmq+ipc:///tmp/o'])!;
      assert.deepEqual([c.model, c.input, c.outputs, c.gapPolicy, c.statusInterval], [join(t.dir, 'm.safetensors'), 'zmq+tcp://127.0.0.1:1', ['zmq+ipc:///tmp/o'], 'zeros', 0]);
      writeFileSync(p, JSON.stringify({ modle: 'x' }));
      assert.throws(() => parseRunArgs(['--config', p]), (e: RunConfigError) => e.code === 'EUSAGE' && /unknown key "modle"/.test(e.message));
    } finally {
      t.cleanup();
    }
  });

  it('refuses missing or bad options naming them', () => {
    const base = ['--model', 'm', '--input', 'i', '--output', 'o'];
    assert.throws(() => parseRunArgs(['--input', 'i', '--output', 'o']), /--model/);
    assert.throws(() => parseRunArgs(['--model', 'm', '--output', 'o']), /--input/);
    assert.throws(() => parseRunArgs(['--model', 'm', '--input', 'i']), /--output/);
    assert.throws(() => parseRunArgs([...base, '--gap-policy', 'skip']), /--gap-policy must be zeros or reset/);
    assert.throws(() => parseRunArgs([...base, '--max-gap', '1.5']), /--max-gap/);
    assert.throws(() => parseRunArgs([...base, '--bogus']), (e: RunConfigError) => e.code === 'EUSAGE');
    assert.equal(parseRunArgs(['--help']), null);
  });
});

describe('layout', () => {
  // streams/ is the transports; the daemon composes them. A transport that imported the daemon
  // would bring back the cycle (and registration at import) that daemon/endpoints.ts replaced.
  it('no file under streams/ imports the daemon, and none registers anything at import', () => {
    const root = new URL('../../../streams/', import.meta.url);
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root.pathname);
    assert.ok(files.length > 20, `found the sources (${files.length} files under ${root.pathname})`);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      assert.doesNotMatch(text, /from\s+['"](\.\.\/)+daemon\//, `${f} imports from daemon/`);
      assert.doesNotMatch(text, /import\(\s*['"](\.\.\/)+daemon\//, `${f} imports from daemon/`);
      assert.doesNotMatch(text, /\bregister(Source|Sink)\s*\(/, `${f} registers a scheme`);
    }
  });
});
