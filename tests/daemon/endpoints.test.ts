import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY } from 'rxjs';
import { EndpointError, openSink, openSource, parseEndpoint, registerSource, type EndpointContext } from '../../daemon/endpoints.js';
import { silentLogger } from '../../daemon/log.js';
import { RunConfigError, parseRunArgs } from '../../daemon/run-config.js';
import { zmqAddress } from '../../streams/zmq/endpoint.js';
import { tempDir } from '../support/net.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ctx: EndpointContext = {
  config: { n_in: 4, bin_ms: 20, velocity_labels: ['vel_x', 'vel_y'], channel_labels: ['a', 'b', 'c', 'd'] },
  modelId: 'test',
  log: silentLogger,
  reject() {},
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

  it('a registered scheme is used by openSource', async () => {
    let seen: URL | undefined;
    registerSource('test-src', (u) => {
      seen = u;
      return EMPTY;
    });
    const o = await openSource('test-src://thing?x=1', ctx);
    assert.equal(o, EMPTY);
    assert.equal(seen?.searchParams.get('x'), '1');
  });

  it('numeric options are checked when the endpoint opens', async () => {
    await assert.rejects(openSink('zmq+tcp://127.0.0.1:1?hwm=-3', ctx), (e: EndpointError) => e.code === 'EENDPOINT' && /hwm must be an integer/.test(e.message));
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
