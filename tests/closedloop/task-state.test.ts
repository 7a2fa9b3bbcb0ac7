/** The TaskState message (proto/langevind.proto): our codec against Python's protoc-generated one. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { decodeTaskState, encodeTaskState, type TaskState } from '../../streams/proto.js';
import { PYTHON, generatePythonProto, missingPythonPeer } from '../../harness/python-proto.js';
import { tempDir } from '../support/net.js';

const missing = missingPythonPeer({ zmq: false });
const tmp = tempDir('langevind-simuser-proto-');
after(() => tmp.cleanup());

const PY = `
import sys, json, base64
sys.path.insert(0, sys.argv[1])
import langevind_pb2 as pb
out = []
for line in sys.stdin.read().split():
    m = pb.TaskState()
    m.ParseFromString(base64.b64decode(line))
    out.append({"seq": m.seq, "cursor": list(m.cursor), "target": list(m.target), "target_radius": m.target_radius, "state": m.state, "trial": m.trial, "timestamp": m.timestamp,
                "bytes": base64.b64encode(m.SerializeToString()).decode()})
print(json.dumps(out))
`;

describe('TaskState', () => {
  const states: TaskState[] = [
    { seq: 41, cursor: [1.5, -2.25], target: [7.0710678, 7.0710678], targetRadius: 1.5, state: 'hold', trial: 3, timestamp: 12345.678 },
    { seq: 2 ** 40, cursor: [0, 0], target: [], targetRadius: 0, state: 'iti', trial: 0, timestamp: 0 },
  ];

  test('round-trips through our codec and refuses bytes that are not one with a code', () => {
    for (const s of states) {
      const d = decodeTaskState(encodeTaskState(s));
      assert.equal(d.seq, s.seq);
      assert.deepEqual(d.cursor, s.cursor.map(Math.fround));
      assert.deepEqual(d.target, s.target.map(Math.fround));
      assert.equal(d.state, s.state);
      assert.equal(d.trial, s.trial);
      assert.equal(d.timestamp, s.timestamp);
    }
    assert.throws(() => decodeTaskState(Buffer.from('not a protobuf \xff')), { code: 'EPROTO' });
  });

  test('Python protobuf reads our bytes exactly and writes the same bytes', { skip: missing ?? false }, () => {
    generatePythonProto(tmp.dir);
    const ours = states.map((s) => Buffer.from(encodeTaskState(s)).toString('base64'));
    const py = JSON.parse(execFileSync(PYTHON, ['-c', PY, tmp.dir], { input: ours.join('\n'), encoding: 'utf8' })) as Record<string, unknown>[];
    states.forEach((s, i) => {
      assert.equal(py[i].seq, s.seq);
      assert.deepEqual(py[i].cursor, s.cursor.map(Math.fround));
      assert.deepEqual(py[i].target, s.target.map(Math.fround));
      assert.equal(py[i].target_radius, Math.fround(s.targetRadius));
      assert.equal(py[i].state, s.state);
      assert.equal(py[i].trial, s.trial);
      assert.equal(py[i].timestamp, s.timestamp);
      assert.equal(py[i].bytes, ours[i], 'canonical encoding, byte for byte');
    });
  });
});
