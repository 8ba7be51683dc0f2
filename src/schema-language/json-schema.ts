// Turns a schema into JSON Schema draft-07, the dialect editors (the YAML
// language server, VS Code's JSON support) load to complete and check files.
import type { Node, Schema } from './schema.js';

export type JsonSchema = { [key: string]: unknown };

export function toJsonSchema(schema: Schema<unknown>, header: { id?: string; title?: string } = {}): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...(header.id === undefined ? {} : { $id: header.id }),
    ...(header.title === undefined ? {} : { title: header.title }),
    ...convert(schema.node),
  };
}

function convert(node: Node): JsonSchema {
  return { ...annotations(node), ...shape(node) };
}

function annotations(node: Node): JsonSchema {
  const out: JsonSchema = {};
  if (node.description !== undefined) out.description = node.description;
  if (node.default !== undefined) out.default = node.default;
  if (node.example !== undefined) out.examples = [node.example];
  return out;
}

function shape(node: Node): JsonSchema {
  switch (node.kind) {
    case 'string':
      return {
        type: node.coerceScalars ? ['string', 'number', 'boolean'] : 'string',
        ...(node.minLength === undefined ? {} : { minLength: node.minLength }),
        ...(node.pattern === undefined ? {} : { pattern: node.pattern.source }),
      };
    case 'boolean':
      return { type: 'boolean' };
    case 'integer':
    case 'number':
      return { type: node.kind, ...(node.minimum === undefined ? {} : { minimum: node.minimum }), ...(node.maximum === undefined ? {} : { maximum: node.maximum }) };
    case 'enum':
      return { enum: [...node.values] };
    case 'array':
      return { type: 'array', items: convert(node.item), ...(node.minItems === undefined ? {} : { minItems: node.minItems }) };
    case 'record':
      return {
        type: 'object',
        ...(node.keyPattern === undefined ? {} : { propertyNames: { pattern: node.keyPattern.source } }),
        ...(node.known ? { properties: Object.fromEntries(Object.entries(node.known).map(([key, n]) => [key, convert(n)])) } : {}),
        additionalProperties: convert(node.value),
      };
    case 'object': {
      const required = Object.entries(node.fields).filter(([, f]) => f.required).map(([k]) => k);
      const properties: Record<string, JsonSchema> = {};
      for (const [key, field] of Object.entries(node.fields)) properties[key] = convert(field);
      return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
    }
    case 'oneOf':
      // anyOf, not oneOf: validation takes the first branch that fits, and
      // anyOf says the same without demanding the branches never overlap.
      return { anyOf: node.branches.map(convert) };
    case 'any':
      return {};
  }
}
