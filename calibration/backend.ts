/**
 * TensorFlow.js backend selection. The default is the WebAssembly backend (XNNPACK, SIMD), which
 * installs everywhere; `tensorflow` (tfjs-node, libtensorflow) is used only when the package is
 * present, through a dynamic import, so nothing requires it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { CalibrationError } from './errors.js';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow';
export const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

export interface BackendInfo {
  name: BackendName;
  /** e.g. "wasm (SIMD, 1 thread)". */
  detail: string;
}

let current: BackendInfo | null = null;

/** Directory holding the backend's .wasm binaries (Node has no fetch of relative URLs, so it must be given). */
function wasmDir(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, next to the .wasm files.
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/';
}

/** Selects and initialises a backend; idempotent for the same name. */
export async function useBackend(name: BackendName): Promise<BackendInfo> {
  if (!BACKENDS.includes(name)) throw new CalibrationError('EBACKEND', `unknown backend "${name}" (wasm, cpu or tensorflow)`);
  if (current?.name === name && tf.getBackend() === name) return current;
  if (name === 'wasm') {
    setWasmPaths(join(wasmDir(), '/'));
  } else if (name === 'tensorflow') {
    try {
      // A variable specifier keeps tsc from resolving an optional package that is usually absent.
      const pkg = '@tensorflow/tfjs-node';
      await import(pkg);
    } catch (e) {
      throw new CalibrationError('EBACKEND', `backend tensorflow needs @tensorflow/tfjs-node, which is not installed or does not load (${(e as Error).message.split('\n')[0]}); use --backend wasm`);
    }
  }
  let ok = false;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new CalibrationError('EBACKEND', `backend ${name} failed to initialise: ${(e as Error).message}`);
  }
  if (!ok) throw new CalibrationError('EBACKEND', `backend ${name} failed to initialise`);
  await tf.ready();
  let detail: string = name;
  if (name === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    detail = `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : '1 thread'})`;
  }
  current = { name, detail };
  return current;
}

export { tf };
