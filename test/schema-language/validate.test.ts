import test from 'ava';
import { didYouMean, editDistance } from '../../src/schema-language/did-you-mean.js';
import { toJsonSchema } from '../../src/schema-language/json-schema.js';
import { toMarkdown } from '../../src/schema-language/markdown.js';
import { array, boolean, enumOf, integer, type Infer, object, oneOf, record, string } from '../../src/schema-language/schema.js';
import { validate } from '../../src/schema-language/validate.js';

const pet = object({
  name: string({ required: true, minLength: 1, description: 'What it answers to.' }),
  kind: enumOf(['cat', 'dog'], { default: 'cat' }),
  age: integer({ minimum: 0 }),
  indoor: boolean({ default: true }),
  tags: array(string(), { default: [], example: ['fluffy'] }),
  notes: record(string({ coerceScalars: true }), { default: {}, keyPattern: /^[a-z]+$/, keyHint: 'a lower-case word' }),
  id: oneOf([string(), integer()]),
}, { title: 'Pet' });

const owner = object({ pets: record(pet, { required: true }) });

test('the inferred type follows the declaration: required, defaulted and optional fields', (t) => {
  // Compile-time: this assignment type-checks only if Infer got the shape right.
  const value: Infer<typeof pet> = { name: 'Tom', kind: 'dog', indoor: false, tags: [], notes: {} };
  // @ts-expect-error kind is an enum
  const wrong: Infer<typeof pet> = { name: 'Tom', kind: 'fish', indoor: false, tags: [], notes: {} };
  t.truthy(value && wrong);
});

test('defaults are applied, scalars coerced, and a valid value has no issues', (t) => {
  const { value, issues } = validate(pet, { name: 'Tom', notes: { port: 8080, on: true }, id: 7 });
  t.deepEqual(issues, []);
  t.deepEqual(value, { name: 'Tom', kind: 'cat', indoor: true, tags: [], notes: { port: '8080', on: 'true' }, id: 7 });
});

test('defaults are copies, never shared between values', (t) => {
  const a = validate(pet, { name: 'a' }).value;
  a.tags.push('x');
  t.deepEqual(validate(pet, { name: 'b' }).value.tags, []);
});

test('every problem is reported at once, each with its path', (t) => {
  const { issues } = validate(owner, { pets: { tom: { kind: 'dgo', age: -1, indoor: 'yes', tags: [1], notes: { Bad: 'x' }, id: true } } });
  t.deepEqual(issues, [
    { path: ['pets', 'tom', 'name'], message: "missing required field 'name'" },
    { path: ['pets', 'tom', 'kind'], message: `expected one of cat, dog, got the string "dgo"; did you mean 'dog'?` },
    { path: ['pets', 'tom', 'age'], message: 'must be at least 0, got -1' },
    { path: ['pets', 'tom', 'indoor'], message: 'expected true or false, got the string "yes"' },
    { path: ['pets', 'tom', 'tags', 0], message: 'expected a string, got the number 1' },
    { path: ['pets', 'tom', 'notes', 'Bad'], at: 'key', message: "'Bad' is not a lower-case word" },
    { path: ['pets', 'tom', 'id'], message: 'expected a string or a whole number, got true' },
  ]);
});

test('unknown keys point at the key and suggest the closest known one', (t) => {
  t.deepEqual(validate(pet, { name: 'x', indor: true }).issues, [
    { path: ['indor'], at: 'key', message: "unknown field 'indor'; did you mean 'indoor'?" },
  ]);
  t.regex(validate(pet, { name: 'x', colour: 'red' }).issues[0].message, /unknown field 'colour'; known fields: name, kind, age/);
});

test('oneOf reports the rules of the branch that matches the type', (t) => {
  const command = oneOf([array(string(), { minItems: 1 }), string({ minLength: 1 })]);
  t.deepEqual(validate(command, []).issues, [{ path: [], message: 'must not be an empty list' }]);
  t.deepEqual(validate(command, '').issues, [{ path: [], message: 'must not be empty' }]);
  t.deepEqual(validate(command, null).issues, [{ path: [], message: 'expected a list or a string, got nothing (an empty value)' }]);
});

test('the JSON Schema carries types, defaults, examples, patterns and required fields', (t) => {
  const schema = toJsonSchema(owner, { title: 'Owner' }) as any;
  t.is(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.deepEqual(schema.required, ['pets']);
  const petSchema = schema.properties.pets.additionalProperties;
  t.is(petSchema.additionalProperties, false);
  t.deepEqual(petSchema.required, ['name']);
  t.deepEqual(petSchema.properties.kind, { default: 'cat', enum: ['cat', 'dog'] });
  t.deepEqual(petSchema.properties.tags, { default: [], examples: [['fluffy']], type: 'array', items: { type: 'string' } });
  t.deepEqual(petSchema.properties.notes.propertyNames, { pattern: '^[a-z]+$' });
  t.deepEqual(petSchema.properties.notes.additionalProperties, { type: ['string', 'number', 'boolean'] });
  t.deepEqual(petSchema.properties.id, { anyOf: [{ type: 'string' }, { type: 'integer' }] });
});

test('the Markdown gives nested objects their own section and every field its facts', (t) => {
  const md = toMarkdown(owner, 'Owner');
  t.regex(md, /## Owner[\s\S]*### `pets`\n\ntype: map of \[Pet\]\(#pet\) · required/);
  t.regex(md, /## Pet\n\nAt `pets.<name>`\./);
  t.regex(md, /### `name`\n\ntype: string · required\n\nWhat it answers to\./);
  t.regex(md, /### `kind`\n\ntype: `"cat"` \\\| `"dog"` · default: `"cat"`/);
  t.regex(md, /### `tags`[\s\S]*```yaml\ntags:\n {2}- fluffy\n```/);
});

test('did-you-mean suggests close names only, and forgives case and swapped letters', (t) => {
  t.is(didYouMean('atfer', ['after', 'enable']), 'after');
  t.is(didYouMean('execstart', ['execStart', 'script']), 'execStart');
  t.is(didYouMean('frobnicate', ['after', 'enable']), undefined);
  t.is(editDistance('kitten', 'sitting'), 3);
});
