import test from 'ava';
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { jsonRepeatsKeys } from '../../src/manifest/duplicate-keys.js';
import { parseYamlDocument } from '../../src/manifest/locate.js';

/** Errors and warnings as yaml's own parseDocument reports them, its duplicate-key check included. */
function yamlSays(text: string, merge: boolean): string[] {
  const doc = parseDocument(text, { merge, prettyErrors: false, logLevel: 'error' });
  return describe(doc.errors, doc.warnings);
}

function berthSays(text: string, merge: boolean): string[] {
  const { doc } = parseYamlDocument(text, { merge });
  return describe(doc.errors, doc.warnings);
}

function describe(errors: { code: string; pos: [number, number]; message: string }[], warnings: typeof errors): string[] {
  // Berth words MULTIPLE_DOCS its own way; where it is reported is the same.
  const line = (e: (typeof errors)[number]) => `${e.code} ${e.pos.join('-')} ${e.code === 'MULTIPLE_DOCS' ? '' : e.message}`;
  return [...errors.map(line), '--- warnings', ...warnings.map(line)];
}

test('duplicate keys are reported where and in the order yaml reports them: block mappings at the key, flow mappings after the value', (t) => {
  const texts = [
    'a: 1\nb: 2\na: 3\n',
    'services:\n  web: {script: x}\n  web: {script: y}\n',
    '{a: {x: 1, x: 2}, a: 3}',
    'a:\n  x: 1\n  x: 2\na: 3\n',
    'a: 1\na:\n  x: 1\n  x: 2\n',
    '{a: 1, a: {x: 1, x: 2}}',
    '? [a]\n: 1\n? a\n: 2\n&k a: 3\n!!str a: 4\n"a": 5\n\'a\': 6\n"\\x61": 7\n',
    '1: a\n01: b\n1.0: c\n-0: d\n0: e\n.nan: f\n.nan: g\n~: h\nnull: i\n: j\n',
    'x: &x {a: 1}\ny: {<<: *x, <<: *x, a: 2}\n*x : 1\n*x : 2\n',
    '!!set {a, a, b}\n',
    '{"a": 1, "b": [{"c": 1, "c": 2}], "a": 3}\n',
    '# comment\na: 1 # trailing\n\n# between\na: 2\n',
    '? a\n? a\n? b\n',
    // duplicates among other errors: yaml's own check decides their order
    'a: 1\na: 2\nb: [\n',
    'a: 1\nb: {c: 1, c: 2\na: 3\n',
    '- !!omap\n  - a: 1\n    a: 2\n',
    'a: 1\n---\na: 2\na: 3\n',
  ];
  for (const text of texts) {
    for (const merge of [true, false]) t.deepEqual(berthSays(text, merge), yamlSays(text, merge), `${JSON.stringify(text)}, merge ${merge}`);
  }
});

// ---- generated documents: mappings that repeat keys in every way YAML writes a key

const key = fc.constantFrom('a', 'b', 'a', '"a"', "'a'", '"\\x61"', '1', '01', '1.0', '-0', '0', '.nan', '~', 'null', 'true', 'True', '<<', '!!str a', '!!str 1', '&k a', '*k', 'c d');
const scalar = fc.constantFrom('1', 'x', '"y"', "'z'", '~', '.nan', '*k', '&v w', '!!int 2', '[a, a]', '{a: 1, a: 2}');

type Tree = string | { map: boolean; flow: boolean; tag: string; entries: [string, Tree][] };

const { tree } = fc.letrec<{ tree: Tree; collection: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, scalar, tie('collection')),
  collection: fc.record({
    map: fc.boolean(),
    flow: fc.boolean(),
    tag: fc.constantFrom('', '', '', '', '', '&m ', '!!set ', '!!map '),
    entries: fc.array(fc.tuple(fc.oneof(key, fc.constant('? a'), fc.constant('? [a]')), tie('tree')), { maxLength: 6 }),
  }),
}));

function flowText(node: Tree): string {
  if (typeof node === 'string') return node;
  const items = node.entries.map(([k, v]) => (node.map ? `${k.replace(/^\? /, '? ')}: ${flowText(v)}` : flowText(v)));
  return `${node.map ? node.tag : ''}${node.map ? '{' : '['}${items.join(', ')}${node.map ? '}' : ']'}`;
}

function blockText(node: Tree, indent: string, comments: boolean): string {
  if (typeof node === 'string' || node.flow || node.entries.length === 0) return `${indent}${typeof node === 'string' ? 'v' : 'w'}: ${flowText(node)}\n`;
  let out = '';
  for (const [k, v] of node.entries) {
    if (comments) out += `${indent}# about ${k}\n`;
    const child = typeof v !== 'string' && !v.flow && v.entries.length > 0;
    const lead = node.map ? (k.startsWith('? ') ? `${indent}${k}\n${indent}:` : `${indent}${k}:`) : `${indent}-`;
    out += child ? `${lead}\n${blockText(v, `${indent}  `, comments)}` : `${lead} ${flowText(v)}\n`;
  }
  return out;
}

const document = fc.record({
  tree,
  block: fc.boolean(),
  comments: fc.boolean(),
  // a few edits in some: syntax errors beside the duplicates
  damage: fc.oneof(
    { arbitrary: fc.constant([]), weight: 2 },
    { arbitrary: fc.array(fc.tuple(fc.nat(), fc.constantFrom('', ':', ' ', '\n', '{', '}', '[', ']', ',', '#', '?', '-', '&', '!')), { minLength: 1, maxLength: 2 }), weight: 1 },
  ),
}).map(({ tree, block, comments, damage }) => {
  let text = block ? blockText(tree, '', comments) : `${flowText(tree)}\n`;
  for (const [at, char] of damage) {
    const i = at % (text.length + 1);
    text = char === '' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + char + text.slice(i);
  }
  return text;
});

test('on generated documents, whole and damaged, every error and warning is the one yaml gives, in its order', (t) => {
  fc.assert(fc.property(document, fc.boolean(), (text, merge) => {
    const [berth, yaml] = [berthSays(text, merge), yamlSays(text, merge)];
    if (berth.join('\n') !== yaml.join('\n')) throw new Error(`${JSON.stringify(text)}\nBerth: ${berth.join('; ')}\nyaml:  ${yaml.join('; ')}`);
  }), { numRuns: 1000, seed: 20261205 });
  t.pass();
});

// ---- JSON: strict parsing asks yaml where the duplicates are only when jsonRepeatsKeys says there are some

/** Keys written many ways: escaped or not, the same or only alike once decoded. */
const jsonKey = fc.constantFrom('"a"', '"a"', '"\\u0061"', '"A"', '"b"', '"\\/"', '"/"', '"\\""', '"é"', '"\\u00e9"', '"\\u00E9"', '"😀"', '"\\ud83d\\ude00"', '"\\u0000"', '"\u0085"', '"\ufeff"', '"a:b"', '"a\\\\"', '"1"', '""');
const space = fc.constantFrom('', '', ' ', '\n', '\r\n', '\t', '\n    ');

type Json = string | { object: boolean; items: [string, string, Json][] };
const { json } = fc.letrec<{ json: Json; collection: Json }>((tie) => ({
  json: fc.oneof({ depthSize: 'small' }, fc.constantFrom('1', '-0.5e3', 'true', 'null', '"x"', '"a"', '"\\u0061: b"'), tie('collection')),
  collection: fc.record({ object: fc.boolean(), items: fc.array(fc.tuple(jsonKey, space, tie('json')), { maxLength: 5 }) }),
}));

function jsonText(node: Json): string {
  if (typeof node === 'string') return node;
  const items = node.items.map(([key, gap, value]) => (node.object ? `${gap}${key}${gap}:${gap}${jsonText(value)}` : `${gap}${jsonText(value)}`));
  return node.object ? `{${items.join(',')}}` : `[${items.join(',')}]`;
}

test('a JSON text repeats a key exactly when yaml finds a duplicate key in it', (t) => {
  const cases = ['{"a": 1, "a": 2}', '{"a": 1, "\\u0061": 2}', '{"a": {"b": 1}, "a": 2}', '{"a": [{"b": 1, "b": 2}]}', '{"a": 1, "A": 2}', '{"x": "\\"a\\": 1, \\"a\\": 2"}'];
  for (const text of cases) t.is(jsonRepeatsKeys(text, JSON.parse(text)), yamlRepeats(text), text);
  fc.assert(fc.property(json, (node) => {
    const text = jsonText(node);
    if (jsonRepeatsKeys(text, JSON.parse(text)) !== yamlRepeats(text)) throw new Error(`${JSON.stringify(text)}: yaml ${yamlRepeats(text)}`);
  }), { numRuns: 1000, seed: 20261205 });
});

function yamlRepeats(text: string): boolean {
  return parseYamlDocument(text).doc.errors.some((e) => e.code === 'DUPLICATE_KEY');
}
