// A tiny schema DSL: declare a config shape once, and derive its TypeScript
// type (Infer), its validation (validate.ts), its JSON Schema (json-schema.ts)
// and its Markdown reference (markdown.ts) from that one declaration.
// Generic on purpose: manifests use it now, image definitions later.

/** What every builder accepts. `required` and `default` also shape the inferred type. */
export interface Meta<T = unknown> {
  description?: string;
  /** Applied by validation when the field is missing; the field is then always present. */
  default?: T;
  /** Shown in the docs and the JSON Schema's `examples`. */
  example?: unknown;
  /** A missing required field is a problem; without `required` or `default` a field is optional. */
  required?: boolean;
  /** Heading used when the docs give this object its own section. */
  title?: string;
  /**
   * How definitions from several image modules combine (src/image/merge.ts).
   * Lists concatenate and mappings merge key by key unless this says
   * `unique`: then, like every scalar, all definitions must agree.
   */
  merge?: 'unique';
}

export interface StringRules {
  minLength?: number;
  pattern?: RegExp;
  /** What the pattern means, in words, for error messages: "an absolute path". */
  patternHint?: string;
  /** Accept numbers and booleans too and turn them into strings (YAML `PORT: 8080`). */
  coerceScalars?: boolean;
}
export interface IntegerRules { minimum?: number; maximum?: number }
export interface ArrayRules { minItems?: number }
export interface RecordRules { keyPattern?: RegExp; keyHint?: string }

/** The runtime description every consumer walks; no generics, so consumers stay simple. */
export type Node =
  | ({ kind: 'string' } & Meta & StringRules)
  | ({ kind: 'boolean' } & Meta)
  | ({ kind: 'integer' } & Meta & IntegerRules)
  | ({ kind: 'number' } & Meta & IntegerRules)
  | ({ kind: 'enum'; values: readonly (string | number)[] } & Meta)
  | ({ kind: 'array'; item: Node } & Meta & ArrayRules)
  // known: keys with a schema of their own (JSON Schema's properties beside additionalProperties)
  | ({ kind: 'record'; value: Node; known?: Record<string, Node> } & Meta & RecordRules)
  | ({ kind: 'object'; fields: Record<string, Node> } & Meta)
  | ({ kind: 'oneOf'; branches: Node[] } & Meta)
  | ({ kind: 'any' } & Meta);

export type Presence = 'required' | 'defaulted' | 'optional';

/** A node plus the compile-time facts Infer needs. `_type`/`_presence` never exist at run time. */
export interface Schema<T, P extends Presence = Presence> {
  readonly node: Node;
  readonly _type?: T;
  readonly _presence?: P;
}

export type AnySchema = Schema<any, Presence>;
export type Infer<S> = S extends Schema<infer T, Presence> ? T : never;

type PresenceOf<O> = O extends { required: true } ? 'required'
  : O extends { default: unknown } ? 'defaulted' : 'optional';

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type IsOptional<S> = S extends Schema<any, infer P> ? ('optional' extends P ? true : false) : false;
export type InferFields<F extends Record<string, AnySchema>> = Simplify<
  { [K in keyof F as IsOptional<F[K]> extends true ? never : K]: Infer<F[K]> } &
  { [K in keyof F as IsOptional<F[K]> extends true ? K : never]?: Infer<F[K]> }
>;

const make = <T, P extends Presence>(node: Node): Schema<T, P> => ({ node });

export function string<O extends Meta<string> & StringRules = {}>(opts?: O) {
  return make<string, PresenceOf<O>>({ kind: 'string', ...opts });
}

export function boolean<O extends Meta<boolean> = {}>(opts?: O) {
  return make<boolean, PresenceOf<O>>({ kind: 'boolean', ...opts });
}

export function integer<O extends Meta<number> & IntegerRules = {}>(opts?: O) {
  return make<number, PresenceOf<O>>({ kind: 'integer', ...opts });
}

/** Any finite number, fractions included (a CPU amount in cores). */
export function number<O extends Meta<number> & IntegerRules = {}>(opts?: O) {
  return make<number, PresenceOf<O>>({ kind: 'number', ...opts });
}

export function enumOf<const V extends readonly (string | number)[], O extends Meta<V[number]> = {}>(
  values: V, opts?: O) {
  return make<V[number], PresenceOf<O>>({ kind: 'enum', values, ...opts });
}

export function array<S extends AnySchema, O extends Meta<Infer<S>[]> & ArrayRules = {}>(item: S, opts?: O) {
  return make<Infer<S>[], PresenceOf<O>>({ kind: 'array', item: item.node, ...opts });
}

export function record<S extends AnySchema, O extends Meta<Record<string, Infer<S>>> & RecordRules & { known?: Record<string, AnySchema> } = {}>(
  value: S, opts?: O) {
  const { known, ...rest } = opts ?? {};
  const knownNodes = known && Object.fromEntries(Object.entries(known).map(([key, schema]) => [key, schema.node]));
  return make<Record<string, Infer<S>>, PresenceOf<O>>({ kind: 'record', value: value.node, ...rest, ...(knownNodes ? { known: knownNodes } : {}) });
}

export function object<F extends Record<string, AnySchema>, O extends Meta<InferFields<F>> = {}>(
  fields: F, opts?: O) {
  const nodes: Record<string, Node> = {};
  for (const [key, schema] of Object.entries(fields)) nodes[key] = schema.node;
  return make<InferFields<F>, PresenceOf<O>>({ kind: 'object', fields: nodes, ...opts });
}

/** The value must match one of the branches; the first that fits wins. */
export function oneOf<const S extends readonly AnySchema[], O extends Meta<Infer<S[number]>> = {}>(
  branches: S, opts?: O) {
  return make<Infer<S[number]>, PresenceOf<O>>({ kind: 'oneOf', branches: branches.map((b) => b.node), ...opts });
}

/** Any value at all, for open-ended settings that are interpreted (and warned about) elsewhere. */
export function any<O extends Meta<unknown> = {}>(opts?: O) {
  return make<unknown, PresenceOf<O>>({ kind: 'any', ...opts });
}

/**
 * What a record's known key adds to the record's own value schema, for
 * references: the fields that are not the value's (same node), so that
 * `services.postgresql` lists the module's options, not every service field
 * again.
 */
export function knownPart(record: Extract<Node, { kind: 'record' }>, key: string): Node | undefined {
  const own = record.known?.[key];
  if (!own || own.kind !== 'object' || record.value.kind !== 'object') return own;
  const shared = record.value.fields;
  return { ...own, fields: Object.fromEntries(Object.entries(own.fields).filter(([name, node]) => shared[name] !== node)) };
}
