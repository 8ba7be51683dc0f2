// The API of a service module, NixOS style: it declares its options under a
// top-level key named for it, and from their merged values it defines other
// options (services, packages, /etc files...), which are then merged with
// every definition file like any other definition.
import type { AnySchema, Infer } from '../../schema-language/schema.js';

/** A value with an explicit priority (lower wins), like NixOS mkOverride. */
export interface Prioritised { readonly [PRIORITISED]: number; readonly value: unknown }
export const PRIORITISED = Symbol('priority');

/** Like NixOS mkDefault: used only when no definition file sets the option. */
export const mkDefault = (value: unknown): Prioritised => ({ [PRIORITISED]: 1000, value });
/** Like NixOS mkForce: wins over plain definitions. */
export const mkForce = (value: unknown): Prioritised => ({ [PRIORITISED]: 50, value });
export const mkOverride = (priority: number, value: unknown): Prioritised => ({ [PRIORITISED]: priority, value });

export interface Assertion { assertion: boolean; message: string }

/** What a module's `config` returns: definitions in the shape of an image definition file. */
export interface ModuleOutput {
  /** Any image options (`services`, `packages`, `environment.etc`, `image.exposedPorts`...); values may be wrapped in mkDefault/mkForce. */
  config: Record<string, unknown>;
  assertions?: Assertion[];
  warnings?: string[];
  /** Why what the module runs needs root at run time (`berth build --kube` then does not run the pod non-root). */
  needsRoot?: string;
}

export interface ImageModule<S extends AnySchema = AnySchema> {
  /** The top-level key that holds the module's options: `nginx`; with `mount`, the service's name. */
  name: string;
  /**
   * `services`: the options live on the service of the module's name, as in
   * NixOS (`services.postgresql.port`); the module is on when that service's
   * `enable` is written true, and its options are taken off the service
   * before the manifest sees it.
   */
  mount?: 'services';
  /** Its options, declared with the schema DSL; `enable` is expected. */
  options: S;
  /** Called with the merged options when `enable` is true. */
  config(options: Infer<S>): ModuleOutput;
}

/** Keeps the options' inferred type flowing into `config`. */
export function defineModule<S extends AnySchema>(module: ImageModule<S>): ImageModule<S> {
  return module;
}
