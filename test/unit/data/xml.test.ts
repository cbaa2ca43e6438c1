/** The small XML reader behind the VOC annotations: structure, entities, skipped constructs, errors with lines. */
import test from 'ava';
import { child, childText, parseXml, XmlError } from '../../../lib/data/xml.ts';

test('elements, attributes, text and nesting', (t) => {
  const root = parseXml(
    '<?xml version="1.0" encoding="utf-8"?>\n<annotation verified="yes" n=\'2\'>\n  <filename>a.jpg</filename>\n  <size><width>64</width><height>48</height></size>\n  <empty/>\n</annotation>\n',
  );
  t.is(root.name, 'annotation');
  t.deepEqual(root.attributes, { verified: 'yes', n: '2' });
  t.deepEqual(
    root.children.map((c) => c.name),
    ['filename', 'size', 'empty'],
  );
  t.is(childText(root, 'filename'), 'a.jpg');
  t.is(childText(child(root, 'size'), 'height'), '48');
  t.is(child(root, 'size')!.line, 4);
  t.is(childText(root, 'empty'), '');
  t.is(childText(root, 'missing'), undefined);
});

test('entities, character references, CDATA, comments, DOCTYPE, BOM', (t) => {
  const root = parseXml(
    '\ufeff<!DOCTYPE annotation [ <!ELEMENT annotation ANY> ]>\n<!-- a <comment> -->\n<a><n>cat &amp; dog &lt;1&gt; &#65;&#x42; &quot;&apos;</n><c><![CDATA[<raw & text>]]></c><?pi x?></a>',
  );
  t.is(childText(root, 'n'), 'cat & dog <1> AB "\'');
  t.is(childText(root, 'c'), '<raw & text>');
});

test('malformed documents fail with the line of the fault', (t) => {
  const cases: [string, RegExp, number][] = [
    ['<a>\n<b>\n</a>', /end tag <\/a> does not match <b> \(line 2\)/, 3],
    ['<a>\n<b></b>\n', /<a> \(line 1\) is not closed/, 3],
    ['<a>x &nbsp; y</a>', /unknown entity &nbsp;/, 1],
    ['<a>\n\nfish & chips</a>', /'&' not followed by an entity reference/, 3],
    ['<a x=1></a>', /attribute x of <a> is not quoted/, 1],
    ['<a></a><b></b>', /a second root element <b>/, 1],
    ['hello <a></a>', /text before the root element/, 1],
    ['', /no root element/, 1],
    ['<a>\n<!-- open', /unterminated comment/, 2],
    ['<a b="1" b="2"/>', /attribute b repeated/, 1],
  ];
  for (const [xml, message, line] of cases) {
    const err = t.throws(() => parseXml(xml), { instanceOf: XmlError, message }, xml);
    t.is(err?.line, line, xml);
  }
});
