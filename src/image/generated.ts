// The files derived from the image option declarations, rendered as strings
// so emit-docs.ts can write them and a test can check the committed copies.
// `berth options` prints the same declarations as text.
import { toJsonSchema } from '../schema-language/json-schema.js';
import { toMarkdown } from '../schema-language/markdown.js';
import { knownPart, type Node } from '../schema-language/schema.js';
import { imageSchema } from './options.js';

export const REGENERATE = 'npx tsc -p . && node dist/src/image/emit-docs.js';

/** Repository-relative path → contents. */
export function generatedFiles(): Record<string, string> {
  return {
    'docs/options.md': `${INTRO}\n${toMarkdown(imageSchema, 'Top level')}`,
    'schema/image.schema.json': `${JSON.stringify(toJsonSchema(imageSchema, { title: 'Berth image definition' }), null, 2)}\n`,
  };
}

export interface OptionLine { path: string; type: string; default?: unknown; description?: string; example?: unknown; merge: string }

/** Every option, depth first, as `berth options` lists them: `services.<name>.after`. */
export function optionList(node: Node = imageSchema.node, prefix = ''): OptionLine[] {
  const out: OptionLine[] = [];
  if (node.kind !== 'object') return out;
  for (const [key, field] of Object.entries(node.fields)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const hasFields = (n: Node) => n.kind === 'object' && Object.keys(n.fields).length > 0;
    if (hasFields(field)) {
      out.push(...optionList(field, path));
      continue;
    }
    out.push({
      path,
      type: typeName(field),
      ...(field.default === undefined ? {} : { default: field.default }),
      ...(field.description === undefined ? {} : { description: field.description }),
      ...(field.example === undefined ? {} : { example: field.example }),
      merge: mergeRule(field),
    });
    if (field.kind === 'record' && hasFields(field.value)) out.push(...optionList(field.value, `${path}.<name>`));
    if (field.kind === 'record') for (const name of Object.keys(field.known ?? {})) out.push(...optionList(knownPart(field, name)!, `${path}.${name}`));
    if (field.kind === 'array' && hasFields(field.item)) out.push(...optionList(field.item, `${path}[]`));
  }
  return out;
}

export function optionsText(filter?: string): string {
  const lines: string[] = [];
  for (const o of optionList()) {
    if (filter && !o.path.startsWith(filter)) continue;
    lines.push(o.path);
    const facts = [`type: ${o.type}`];
    if (o.default !== undefined) facts.push(`default: ${JSON.stringify(o.default)}`);
    facts.push(`merge: ${o.merge}`);
    lines.push(`  ${facts.join('; ')}`);
    if (o.description) lines.push(...wrap(o.description, 76).map((l) => `  ${l}`));
    if (o.example !== undefined) lines.push(`  example: ${JSON.stringify(o.example)}`);
    lines.push('');
  }
  return lines.join('\n');
}

function mergeRule(node: Node): string {
  if (node.kind === 'array' && node.merge !== 'unique') return 'lists concatenate';
  if (node.kind === 'record') return 'merged key by key';
  if (node.kind === 'object') return 'merged field by field';
  return 'one value (definitions must agree)';
}

function typeName(node: Node): string {
  switch (node.kind) {
    case 'string': return 'string';
    case 'boolean': return 'boolean';
    case 'integer': return 'integer';
    case 'number': return 'number';
    case 'enum': return node.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'array': return `list of ${typeName(node.item)}`;
    case 'record': return `map of ${typeName(node.value)}`;
    case 'object': return node.title ?? 'object';
    case 'oneOf': return node.branches.map(typeName).join(' or ');
    case 'any': return 'any value';
  }
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const INTRO = `# Image definition options

<!-- Generated from src/image/options.ts and src/image/modules/; do not edit. Regenerate: ${REGENERATE} -->

An image definition is a YAML file of these options; \`berth build FILE -o OUT\`
turns it into a build context and \`berth validate FILE\` checks it. The same
list is printed by \`berth options\`. How to write one: [images.md](images.md).

## Merging

A definition and the files it \`imports\` are merged option by option, as
NixOS merges modules:

- mappings (\`image.env\`, \`services\`, \`environment.etc\`, ...) merge key by key;
- lists (\`packages\`, \`image.run\`, \`after\`, ...) concatenate, imported files first;
- every other option is single-valued: two different values are an error that
  names both places;
- a priority decides instead: \`!default VALUE\` (like \`mkDefault\`, priority
  1000) yields to any plain definition (100); \`!force VALUE\` (like
  \`mkForce\`, 50) wins over them; \`!override:N VALUE\` sets N (lower wins).
  On a mapping or list the priority covers it as a whole.

Editors can check definitions against
[\`schema/image.schema.json\`](../schema/image.schema.json) (tell the YAML
language server about the tags: \`"yaml.customTags": ["!default scalar", "!force scalar", ...]\`).
`;
