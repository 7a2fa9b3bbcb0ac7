/** A small file in the daemon's own recording layout (streams/recorder.ts), to mutate beside the examples. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../streams/recorder.js';
import { newDecoded, newSpikeBin } from '../streams/proto.js';
import { monotonicNs } from '../streams/types.js';

export async function recordedXdf(bins = 40, nIn = 8): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'langevind-fuzz-rec-'));
  try {
    const path = join(dir, 'rec.xdf');
    const rec = await Recorder.open(path, {
      input: { name: 'fuzz-input', channelLabels: Array.from({ length: nIn }, (_, i) => `ch${i}`), binMs: 20 },
      output: { velocityLabels: ['vel_x', 'vel_y'], modelId: 'fuzz' },
    });
    for (let i = 0; i < bins; i++) {
      const receivedNs = monotonicNs();
      const counts = Float64Array.from({ length: nIn }, (_, k) => (i * 7 + k * 3) % 5);
      rec.recordBin({ ...newSpikeBin(), seq: i + 1, timestamp: 100 + i * 0.02, counts, binMs: 20, streamId: 'fuzz', receivedNs });
      rec.recordDecoded({ ...newDecoded(2), seq: i + 1, timestamp: 100 + i * 0.02, velocity: Float32Array.of(i / 10, -i / 10), receivedNs, decodedNs: receivedNs + 1000, sentNs: receivedNs + 2000, modelId: 'fuzz', streamId: 'fuzz' });
      if (i % 10 === 5) rec.recordReject({ kind: 'undecodable', detail: 'fuzz', receivedNs, raw: [Buffer.from('spikes'), Buffer.from([1, 2, 3])] });
    }
    await rec.close();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
