// Turns a schema into a Markdown reference: one section per object, one
// entry per field with its type, default, description and example.
import { stringify } from 'yaml';
import { knownPart, type Node, type Schema } from './schema.js';

type ObjectNode = Extract<Node, { kind: 'object' }>;

/** Sections for the root object and every object nested in it, root first. */
export function toMarkdown(schema: Schema<unknown>, rootTitle: string): string {
  const sections: string[] = [];
  const queue: { node: ObjectNode; title: string; where: string }[] = [];
  const enqueue = (node: Node, where: string) => {
    for (const object of objectsIn(node)) queue.push({ node: object, title: object.title ?? where, where });
  };
  if (schema.node.kind !== 'object') throw new Error('toMarkdown needs an object schema at the root');
  queue.push({ node: schema.node, title: rootTitle, where: '' });
  while (queue.length) {
    const { node, title, where } = queue.shift()!;
    sections.push(section(node, title, where));
    for (const [key, field] of Object.entries(node.fields)) {
      enqueue(field, join(where, key, field));
      // a record's keys with a schema of their own get sections of their own: `services.postgresql`
      if (field.kind === 'record') for (const name of Object.keys(field.known ?? {})) enqueue(knownPart(field, name)!, `${where ? `${where}.` : ''}${key}.${name}`);
    }
  }
  return sections.join('\n');
}

function section(node: ObjectNode, title: string, where: string): string {
  const lines = [`## ${title}`, ''];
  if (where) lines.push(`At \`${where}\`.`, '');
  if (node.description) lines.push(node.description, '');
  for (const [key, field] of Object.entries(node.fields)) lines.push(...entry(key, field, join(where, key, field)));
  return lines.join('\n');
}

/** `at`: where the field's own objects are, so an object's type links to their section. */
function entry(key: string, field: Node, at: string): string[] {
  const facts = [`type: ${typeName(field, at)}`];
  if (field.required) facts.push('required');
  if (field.default !== undefined) facts.push(`default: \`${JSON.stringify(field.default)}\``);
  const lines = [`### \`${key}\``, '', facts.join(' · '), ''];
  if (field.description) lines.push(field.description, '');
  if (field.example !== undefined) {
    lines.push('```yaml', stringify({ [key]: field.example }).trimEnd(), '```', '');
  }
  return lines;
}

/** A compact type for the reader: `list of string`, `"a" | "b"`, `map of Service`; an object links to its section (titled, or named by `at`). */
function typeName(node: Node, at: string): string {
  switch (node.kind) {
    case 'string': return node.coerceScalars ? 'string (numbers and booleans are turned into strings)' : 'string';
    case 'boolean': return 'boolean';
    case 'integer': return 'integer';
    case 'number': return 'number';
    case 'enum': return node.values.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    case 'array': return `list of ${typeName(node.item, at)}`;
    case 'record': return `map of ${typeName(node.value, at)}`;
    case 'object': return `[${node.title ?? 'object'}](#${anchor(node.title ?? at)})`;
    case 'oneOf': return node.branches.map((b) => typeName(b, at)).join(', or ');
    case 'any': return 'any value';
  }
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchor(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
}

function objectsIn(node: Node): ObjectNode[] {
  switch (node.kind) {
    case 'object': return [node];
    case 'array': return objectsIn(node.item);
    case 'record': return objectsIn(node.value);
    case 'oneOf': return node.branches.flatMap(objectsIn);
    default: return [];
  }
}

/** Where a nested object lives, for the reader: `services.<name>`. */
function join(where: string, key: string, field: Node): string {
  const base = where ? `${where}.${key}` : key;
  if (field.kind === 'record') return `${base}.<name>`;
  if (field.kind === 'array') return `${base}[]`;
  return base;
}
