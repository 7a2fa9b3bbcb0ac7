/** Which decoder a recorded session names (closedloop/metrics/session.ts), from the daemon's recorder streams. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decoderLabel, recordedDecoder } from '../../closedloop/metrics/session.js';
import { DAEMON_MARKERS_STREAM, DECODED_STREAM } from '../../closedloop/streams.js';
import { readXdf } from '../../streams/xdf/reader.js';
import { writeXdf, type XdfStreamInput } from '../../streams/xdf/writer.js';
import { describeChannels, makeStreamInfo } from '../../streams/stream-info.js';
import { element } from '../../streams/xml.js';

function recording(modelId: string | null, events: string[] = []): ReturnType<typeof readXdf> {
  const desc = describeChannels(['vel_x', 'vel_y', 'seq', 'received_ns', 'decoded_ns', 'sent_ns'], { binMs: 20 });
  if (modelId !== null) desc.children.push(element('model_id', [], modelId));
  const streams: XdfStreamInput[] = [
    { info: makeStreamInfo({ ...DECODED_STREAM, channelCount: 6, channelFormat: 'double64', nominalSrate: 50, desc }), timeStamps: [1], data: [0, 0, 0, 1, 2, 3] },
    { info: makeStreamInfo({ ...DAEMON_MARKERS_STREAM, channelCount: 1, channelFormat: 'string', nominalSrate: 0 }), timeStamps: events.map((_, i) => 2 + i), data: events.map((e) => [e]) },
  ];
  return readXdf(writeXdf(streams));
}

test('the recorded decoder: the model id as the daemon decoded under it, a baseline by its suffix, swaps from the daemon\'s markers', () => {
  assert.deepEqual(recordedDecoder(recording('7a0a2b0bff7d')), { modelId: '7a0a2b0bff7d', decoder: 'langevinflow', swaps: [] });
  const wiener = recordedDecoder(recording('7a0a2b0bff7d/wiener'))!;
  assert.equal(wiener.decoder, 'wiener');
  assert.equal(decoderLabel(wiener), 'wiener · 7a0a2b0bff7d');
  const swapped = recordedDecoder(recording('aaa', [
    JSON.stringify({ event: 'filter_reset', after_seq: 3 }),
    'not json: another program\'s marker',
    JSON.stringify({ event: 'model_swapped', model_id: 'bbb', after_seq: 120 }),
    JSON.stringify({ event: 'readout_swapped', model_id: 'bbb', after_seq: 400 }),
  ]))!;
  assert.deepEqual(swapped.swaps, [{ event: 'model_swapped', modelId: 'bbb', afterSeq: 120 }, { event: 'readout_swapped', modelId: 'bbb', afterSeq: 400 }]);
  assert.equal(decoderLabel(swapped), 'langevinflow · aaa → bbb (+1 readout swap)');
  // A decoded stream that names no model (another recorder's), or none at all: nothing to label by.
  assert.equal(recordedDecoder(recording(null)), undefined);
  assert.equal(recordedDecoder({ ...recording('x'), streams: [] }), undefined);
});
