/** `--config F.json`: file paths in it are relative to the config file, not to the working directory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunArgs } from '../../daemon/run-config.js';
import { CliProcess } from '../../harness/process.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { writeTestModel } from '../support/model.js';
import { writeSession } from '../streams/replay-fixture.js';
import { tempDir } from '../support/net.js';

test('model and record from --config resolve against its directory; absolute ones and command-line ones stay as given', () => {
  const t = tempDir('langevind-oneof-config-');
  try {
    const sub = join(t.dir, 'rig', 'today');
    mkdirSync(sub, { recursive: true });
    const cfgPath = join(sub, 'run.json');
    writeFileSync(cfgPath, JSON.stringify({ model: 'model.safetensors', record: '../recordings/r.xdf', input: 'zmq+tcp://127.0.0.1:1', output: 'zmq+tcp://127.0.0.1:2' }));
    const c = parseRunArgs(['--config', cfgPath])!;
    assert.equal(c.model, join(sub, 'model.safetensors'));
    assert.equal(c.record, join(t.dir, 'rig', 'recordings', 'r.xdf'));
    const cli = parseRunArgs(['--config', cfgPath, '--model', 'here.safetensors', '--record', 'x.xdf'])!;
    assert.equal(cli.model, 'here.safetensors', 'the command line is relative to the cwd, as the shell sees it');
    assert.equal(cli.record, 'x.xdf');
    writeFileSync(cfgPath, JSON.stringify({ model: '/abs/m.safetensors', input: 'i', output: 'o' }));
    assert.equal(parseRunArgs(['--config', cfgPath])!.model, '/abs/m.safetensors');
  } finally {
    t.cleanup();
  }
});

test('langevind run --config from another working directory loads the model and writes the recording beside the config', async () => {
  const t = tempDir('langevind-oneof-config-run-');
  try {
    const sub = join(t.dir, 'session');
    const elsewhere = join(t.dir, 'elsewhere');
    mkdirSync(sub);
    mkdirSync(elsewhere);
    writeTestModel(sub, { nIn: 8, binMs: 10, name: 'm.safetensors' });
    const rec = writeSession(sub, 'in.xdf', { bins: 40, channels: 8, binMs: 10 });
    writeFileSync(join(sub, 'run.json'), JSON.stringify({
      model: 'm.safetensors', record: 'out.xdf', input: `replay://${rec}?speed=max`, output: `zmq+ipc://${join(t.dir, 'oneof-out.sock')}`, status_interval: 0,
    }));
    const d = new CliProcess(['run', '--config', '../session/run.json'], { cwd: elsewhere });
    const exit = await d.exited;
    assert.equal(exit.code, 0, d.stderrText);
    assert.equal(d.summary<{ bins_decoded: number }>()?.bins_decoded, 40);
    assert.ok(existsSync(join(sub, 'out.xdf')) && !existsSync(join(elsewhere, 'out.xdf')));
    assert.equal(readXdf(join(sub, 'out.xdf')).streams.find((s) => s.info.type === 'Decoded')?.timeStamps.length, 40);
  } finally {
    t.cleanup();
  }
});
