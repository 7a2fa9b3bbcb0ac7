/**
 * Worker thread body: reads, parses and checks one model file (model-file.ts loadModel) away
 * from the daemon's event loop, and hands the result back with its weight buffers transferred
 * (no copy on the receiving side).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '../../model/model-file.js';

const path = (workerData as { path: string }).path;
try {
  const m = loadModel(path);
  const buffers = new Set<ArrayBuffer>();
  // Own copies: the tensors may be views into the file's bytes, and a shared buffer can be transferred once only.
  const weights: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(m.weights)) {
    const c = v.slice();
    weights[k] = c;
    buffers.add(c.buffer as ArrayBuffer);
  }
  parentPort!.postMessage({ ok: true, model: { ...m, weights } }, [...buffers]);
} catch (err) {
  const e = err as Error & { code?: string };
  parentPort!.postMessage({ ok: false, code: e.code ?? 'EMODEL', message: e.message });
}
