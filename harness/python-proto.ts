/**
 * The independent Python peer of the wire contract, for tests and benchmarks: Debian's
 * /usr/bin/python3 with python3-protobuf (and python3-zmq where a socket is needed), and the
 * `langevind_pb2` module protoc generates from proto/langevind.proto at run time, so nothing of
 * our TypeScript codec is shared with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './process.js';

/** Debian's interpreter: the one apt-get installs python3-zmq / python3-protobuf for. */
export const PYTHON = '/usr/bin/python3';
export const PROTO_DIR = join(REPO_ROOT, 'proto');

/** Why the Python peer cannot run here (for a test's `skip` or a benchmark's note), or null. */
export function missingPythonPeer(opts: { zmq?: boolean } = {}): string | null {
  const modules = opts.zmq === false ? 'google.protobuf' : 'zmq, google.protobuf';
  const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PYTHON} cannot import ${modules} (apt-get install ${opts.zmq === false ? '' : 'python3-zmq '}python3-protobuf)`;
  const p = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  if (p.error || p.status !== 0) return 'protoc not found (apt-get install protobuf-compiler)';
  return null;
}

/** Writes langevind_pb2.py into dir (put dir on the peer's sys.path). */
export function generatePythonProto(dir: string): void {
  execFileSync('protoc', [`--proto_path=${PROTO_DIR}`, `--python_out=${dir}`, join(PROTO_DIR, 'langevind.proto')]);
}
