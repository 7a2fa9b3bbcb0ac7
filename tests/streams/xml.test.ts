import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, serializeXml, childText, path, XmlError } from '../../streams/xml.js';

test('parses elements, attributes, entities, CDATA, comments and a declaration', () => {
  const root = parseXml(`<?xml version="1.0"?>\n<!-- c --><info a="1" b='x&amp;y'>\n\t<name>A &lt;b&gt; &#65;&#x42;</name>\n\t<v4address />\n\t<desc><![CDATA[<raw>]]></desc>\n</info>\n`);
  assert.equal(root.name, 'info');
  assert.deepEqual(root.attributes, { a: '1', b: 'x&y' });
  assert.equal(childText(root, 'name'), 'A <b> AB');
  assert.equal(childText(root, 'v4address'), '');
  assert.equal(childText(root, 'desc'), '<raw>');
  assert.equal(childText(root, 'missing'), undefined);
});

test('path follows nested children', () => {
  const root = parseXml('<info><desc><binning><bin_ms>20</bin_ms></binning></desc></info>');
  assert.equal(path(root, 'desc', 'binning', 'bin_ms')?.text, '20');
  assert.equal(path(root, 'desc', 'nope', 'bin_ms'), undefined);
});

test('serialises like pugixml and round-trips', () => {
  const src = '<info><name>x&amp;y</name><empty /><desc><channels><channel><label>c1</label></channel></channels></desc></info>';
  const out = serializeXml(parseXml(src));
  assert.equal(out, '<?xml version="1.0"?>\n<info>\n\t<name>x&amp;y</name>\n\t<empty />\n\t<desc>\n\t\t<channels>\n\t\t\t<channel>\n\t\t\t\t<label>c1</label>\n\t\t\t</channel>\n\t\t</channels>\n\t</desc>\n</info>\n');
  assert.deepEqual(parseXml(out), parseXml(src));
});

test('malformed documents are refused with the problem and offset', () => {
  const cases: [string, RegExp][] = [
    ['<a><b></a>', /does not match <b>/],
    ['<a>', /not closed/],
    ['</a>', /without a start tag/],
    ['<a></a><b></b>', /more than one root/],
    ['<a x=1></a>', /malformed attribute/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['', /no root element/],
    ['<a><!-- x</a>', /unterminated comment/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => parseXml(src), (e: unknown) => e instanceof XmlError && e.code === 'EXML' && re.test(e.message), src);
  }
});
