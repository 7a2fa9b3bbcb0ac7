import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binMs, channelLabels, describeChannels, formatLslDouble, makeStreamInfo, parseStreamInfo, streamInfoToXml, StreamInfoError,
} from '../../streams/stream-info.js';

test('formatLslDouble matches C %#.16g as liblsl writes it', () => {
  assert.equal(formatLslDouble(100), '100.0000000000000');
  assert.equal(formatLslDouble(0), '0.000000000000000');
  assert.equal(formatLslDouble(1.1), '1.100000000000000');
  assert.equal(formatLslDouble(91684.87631725401), '91684.87631725401');
  assert.equal(formatLslDouble(0.5), '0.5000000000000000');
});

test('parses by element name in 1.12 order (nominal_srate before channel_format) and with empty fields', () => {
  const xml = '<?xml version="1.0"?>\n<info>\n\t<name>ctrl</name>\n\t<type>control</type>\n\t<channel_count>3</channel_count>\n\t<nominal_srate>100</nominal_srate>\n\t<channel_format>int16</channel_format>\n\t<source_id>kassia</source_id>\n\t<version>1.1000000000000001</version>\n\t<created_at>91684.87631725401</created_at>\n\t<uid>4740b9ba</uid>\n\t<session_id>default</session_id>\n\t<hostname>kassia</hostname>\n\t<v4address />\n\t<v4data_port>16572</v4data_port>\n\t<v4service_port>16572</v4service_port>\n\t<v6address></v6address>\n\t<v6data_port>0</v6data_port>\n\t<v6service_port>0</v6service_port>\n\t<desc />\n</info>\n';
  const info = parseStreamInfo(xml);
  assert.equal(info.name, 'ctrl');
  assert.equal(info.channelCount, 3);
  assert.equal(info.channelFormat, 'int16');
  assert.equal(info.nominalSrate, 100);
  assert.equal(info.version, 110);
  assert.equal(info.v4dataPort, 16572);
  assert.equal(info.v6address, '');
});

test('round-trips through XML with desc, channel labels and bin width', () => {
  const info = makeStreamInfo({
    name: 'M1-binned', type: 'SpikeCounts', channelCount: 3, channelFormat: 'int16', nominalSrate: 50, sourceId: 'rig-1',
    desc: describeChannels(['a', 'b', 'c'], { binMs: 20 }),
  });
  const back = parseStreamInfo(streamInfoToXml(info));
  assert.deepEqual(back, info);
  assert.deepEqual(channelLabels(back), ['a', 'b', 'c']);
  assert.equal(binMs(back), 20);
  const short = parseStreamInfo(streamInfoToXml(info, true));
  assert.equal(channelLabels(short), undefined);
  assert.equal(binMs(short), 20, 'falls back to 1000 / nominal_srate');
});

test('invalid infos are refused naming the field', () => {
  assert.throws(() => makeStreamInfo({ name: '' }), StreamInfoError);
  assert.throws(() => parseStreamInfo('<info><name>x</name><channel_format>float16</channel_format></info>'), /unknown channel_format "float16"/);
  assert.throws(() => parseStreamInfo('<info><name>x</name><channel_count>abc</channel_count></info>'), /<channel_count> is not a number/);
  assert.throws(() => parseStreamInfo('<stream><name>x</name></stream>'), /root element is <stream>/);
  assert.throws(() => makeStreamInfo({ name: 'x', v4dataPort: 70000 }), /v4dataPort must be a port/);
});
