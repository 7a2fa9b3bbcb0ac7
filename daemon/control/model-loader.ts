/**
 * Loads a model file in a worker thread (load-worker.ts): reading and checking a preset-M file
 * takes ~25 ms of CPU, longer than a bin, and must not run on the event loop the bins use.
 */
import { Worker } from 'node:worker_threads';
import type { LangevinModel } from '../../model/model-file.js';
import { ControlError } from './errors.js';

const WORKER = new URL('./load-worker.js', import.meta.url);

export function loadModelOffThread(path: string, timeoutMs = 30_000): Promise<LangevinModel> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { path } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new ControlError(500, 'EMODEL', `loading ${path} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    w.once('message', (m: { ok: true; model: LangevinModel } | { ok: false; code: string; message: string }) => {
      clearTimeout(timer);
      void w.terminate();
      if (m.ok) resolve(m.model);
      else reject(new ControlError(400, 'EMODEL', `${m.message} [${m.code}]`, { model_code: m.code }));
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(new ControlError(500, 'EMODEL', `model loader failed: ${err.message}`));
    });
  });
}
