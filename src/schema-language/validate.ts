// Checks a plain JS value against a schema, collecting every problem instead
// of stopping at the first, and returns the value with defaults applied.
import type { Infer, Node, Schema } from './schema.js';
import { suggestion } from './did-you-mean.js';

export type Path = (string | number)[];

export interface Issue {
  path: Path;
  message: string;
  /** Point at the key rather than its value (unknown keys, bad names). */
  at?: 'key';
}

export interface Validated<T> {
  /** Normalised value. Trust a subtree only when no issue lies under its path. */
  value: T;
  issues: Issue[];
}

export interface ValidateOptions {
  /** Skip `required` checks: the input is one of several definitions merged later (image modules). */
  partial?: boolean;
}

export function validate<S extends Schema<any>>(schema: S, input: unknown, path: Path = [], options: ValidateOptions = {}): Validated<Infer<S>> {
  const issues: Issues = [];
  partialRuns.set(issues, !!options.partial);
  // one path for the whole walk, pushed and popped around each step; an issue takes a copy
  const value = check(schema.node, input, [...path], issues) as Infer<S>;
  return { value, issues: [...issues] };
}

type Issues = Issue[];
/** Whether a run skips `required`, kept beside the issue list so the walkers' signatures stay as they were. */
const partialRuns = new WeakMap<Issues, boolean>();

/** Returns the normalised value, or undefined after reporting why it is invalid. */
function check(node: Node, value: unknown, path: Path, issues: Issues): unknown {
  if (!fits(node, value)) {
    issues.push({ path: [...path], message: `expected ${expected(node)}, got ${describe(value)}` });
    return undefined;
  }
  switch (node.kind) {
    case 'string': {
      const text = String(value);
      if (node.minLength !== undefined && text.length < node.minLength) {
        issues.push({ path: [...path], message: node.minLength === 1 ? 'must not be empty' : `must be at least ${node.minLength} characters` });
      } else if (node.pattern && !node.pattern.test(text)) {
        issues.push({ path: [...path], message: `expected ${node.patternHint ?? `a string matching ${node.pattern}`}, got ${describe(value)}` });
      }
      return text;
    }
    case 'boolean':
    case 'any':
      return value;
    case 'integer':
    case 'number':
      if (node.minimum !== undefined && (value as number) < node.minimum) {
        issues.push({ path: [...path], message: `must be at least ${node.minimum}, got ${value}` });
      } else if (node.maximum !== undefined && (value as number) > node.maximum) {
        issues.push({ path: [...path], message: `must be at most ${node.maximum}, got ${value}` });
      }
      return value;
    case 'enum':
      if (!node.values.includes(value as string | number)) {
        const hint = typeof value === 'string' ? suggestion(value, node.values.map(String)) : '';
        issues.push({ path: [...path], message: `expected ${expected(node)}, got ${describe(value)}${hint}` });
      }
      return value;
    case 'array': {
      const items = value as unknown[];
      if (node.minItems !== undefined && items.length < node.minItems) {
        issues.push({ path: [...path], message: node.minItems === 1 ? 'must not be an empty list' : `needs at least ${node.minItems} items` });
      }
      const out = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) {
        path.push(i);
        out[i] = check(node.item, items[i], path, issues);
        path.pop();
      }
      return out;
    }
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as object)) {
        if (node.keyPattern && !node.keyPattern.test(key)) {
          issues.push({ path: [...path, key], at: 'key', message: `'${key}' is not ${node.keyHint ?? `a name matching ${node.keyPattern}`}` });
        }
        path.push(key);
        putOwn(out, key, check((node.known && Object.hasOwn(node.known, key) ? node.known[key] : undefined) ?? node.value, item, path, issues));
        path.pop();
      }
      return out;
    }
    case 'object':
      return checkObject(node, value as Record<string, unknown>, path, issues);
    case 'oneOf': {
      // Delegate to the first branch of the right JS type, so errors speak
      // about that branch ("must not be empty") rather than listing every branch.
      const branch = node.branches.find((b) => fits(b, value));
      return check(branch!, value, path, issues);
    }
  }
}

function checkObject(node: ObjectNode, value: Record<string, unknown>, path: Path, issues: Issues) {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(node.fields, key)) {
      const known = Object.keys(node.fields);
      const hint = suggestion(key, known) || `; known fields: ${known.join(', ')}`;
      issues.push({ path: [...path, key], at: 'key', message: `unknown field '${key}'${hint}` });
    }
  }
  const { keys, fields } = fieldsOf(node);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const field = fields[i];
    if (value[key] !== undefined) {
      path.push(key);
      putOwn(out, key, check(field, value[key], path, issues));
      path.pop();
    } else if (field.default !== undefined) putOwn(out, key, fresh(field.default));
    else if (field.required && !partialRuns.get(issues)) issues.push({ path: [...path, key], message: `missing required field '${key}'` });
  }
  return out;
}

type ObjectNode = Extract<Node, { kind: 'object' }>;
/**
 * An object node's field names and nodes, made once and walked by index: a
 * manifest checks the same service node a thousand times, and under
 * --lite-mode a for-of over entries costs more than the checks themselves.
 */
const fieldLists = new WeakMap<ObjectNode, { keys: string[]; fields: Node[] }>();
function fieldsOf(node: ObjectNode): { keys: string[]; fields: Node[] } {
  let list = fieldLists.get(node);
  if (!list) fieldLists.set(node, (list = { keys: Object.keys(node.fields), fields: Object.values(node.fields) }));
  return list;
}

/** A default's value for one more object: a list or mapping of its own, so normalising one service never changes another's. */
function fresh(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return value.slice();
  if (!Array.isArray(value) && Object.keys(value).length === 0) return {};
  return structuredClone(value);
}

/** `target[key] = value`, except that a key `__proto__` (a valid service name) becomes an own property, not the prototype. */
export function putOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Whether the value has the right JS type for the node; finer rules come after. */
function fits(node: Node, value: unknown): boolean {
  switch (node.kind) {
    case 'string':
      return typeof value === 'string' || (!!node.coerceScalars && (typeof value === 'number' || typeof value === 'boolean'));
    case 'boolean': return typeof value === 'boolean';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'enum': return node.values.some((v) => typeof v === typeof value);
    case 'array': return Array.isArray(value);
    case 'record':
    case 'object': return isMapping(value);
    case 'oneOf': return node.branches.some((b) => fits(b, value));
    case 'any': return value !== undefined;
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the node accepts, in the words of someone writing YAML. */
function expected(node: Node): string {
  switch (node.kind) {
    case 'string': return node.coerceScalars ? 'a string (or a number or true/false)' : 'a string';
    case 'boolean': return 'true or false';
    case 'integer': return 'a whole number';
    case 'number': return 'a number';
    case 'enum': return node.values.length === 1 ? String(node.values[0]) : `one of ${node.values.join(', ')}`;
    case 'array': return 'a list';
    case 'record':
    case 'object': return 'a mapping';
    case 'oneOf': return node.branches.map(expected).join(' or ');
    case 'any': return 'a value';
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number': return `the number ${value}`;
    case 'boolean': return String(value);
    case 'object': return 'a mapping';
    default: return typeof value;
  }
}
