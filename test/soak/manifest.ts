// The manifest the soak runs, and the changes `berth reload` is given: a
// model (extra services, a generation number per service that a change
// bumps) turned into manifest JSON, written atomically so the init never
// reads half a file.
import { renameSync, writeFileSync } from 'node:fs';
import type { Programs } from './programs.js';

export interface Ports {
  web: number;
  db: number;
}

export interface Extra {
  name: string;
  kind: 'sleep' | 'writer';
}

export interface Model {
  extras: Extra[];
  /** bumped by a change: its environment differs, so a reload restarts it */
  generation: Record<string, number>;
}

/** The services whose every line is a writer's (lines.ts checks them). */
export const BASE_WRITERS = ['chatty', 'chatty-json', 'crashy'];
/** Long-runs the driver may kill, stop, start and restart, besides the extras. */
export const LONG_RUNS = ['idle', 'orphans', 'chatty', 'chatty-json', 'crashy', 'slowstop', 'web', 'db'];
/** Oneshots `berth start` may run again. */
export const ONESHOTS = ['setup', 'post'];
/** What a change may touch. */
export const CHANGEABLE = ['idle', 'chatty', 'slowstop', 'db'];
/** slowstop's stop timeout, and how long it takes to stop. */
export const SLOWSTOP_TIMEOUT_MS = 6000;
const SLOWSTOP_DELAY_S = 1.5;

export function manifestOf(model: Model, programs: Programs, ports: Ports): object {
  const gen = (name: string): Record<string, string> => ({ SOAK_GEN: String(model.generation[name] ?? 0) });
  const services: Record<string, object> = {
    setup: { type: 'oneshot-pre', script: 'echo setup done' },
    idle: { script: '(sleep 300 &); exec sleep infinity', restart: 'on-failure', environment: gen('idle') },
    // each turn leaves an orphan that the init reaps 0.3 s later
    orphans: { script: 'while :; do (sleep 0.3 &); sleep 0.7; done', restart: 'on-failure' },
    chatty: { execStart: ['perl', programs.writer, 'chatty', 'chatty'], restart: 'always', environment: { SOAK_PACE: '30', ...gen('chatty') } },
    'chatty-json': { execStart: ['perl', programs.writer, 'chatty-json', 'chatty-stderr'], restart: 'on-failure', logging: { format: 'json' }, environment: { SOAK_PACE: '60' } },
    crashy: { execStart: ['perl', programs.writer, 'crashy', 'crash'], restart: 'on-failure', environment: { SOAK_PACE: '40' } },
    slowstop: { execStart: ['perl', programs.slowstop, String(SLOWSTOP_DELAY_S)], restart: 'on-failure', stopTimeout: `${SLOWSTOP_TIMEOUT_MS}ms`, environment: gen('slowstop') },
    db: {
      execStart: ['perl', programs.server, String(ports.db), 'tcp', '0.3'],
      restart: 'on-failure',
      readiness: { tcp: { port: ports.db }, interval: '300ms' },
      startTimeout: '30s',
      environment: gen('db'),
    },
    web: {
      after: ['db'],
      execStart: ['perl', programs.server, String(ports.web), 'http', '0.5'],
      restart: 'on-failure',
      readiness: { http: { port: ports.web, path: '/health' }, interval: '500ms', timeout: '2s' },
      startTimeout: '30s',
      liveness: { http: { port: ports.web, path: '/health' }, interval: '2s', timeout: '2s', failureThreshold: 3 },
    },
    post: { type: 'oneshot-post', after: ['web'], script: 'echo post ran' },
  };
  for (const extra of model.extras) {
    services[extra.name] =
      extra.kind === 'writer'
        ? { execStart: ['perl', programs.writer, extra.name, 'chatty'], restart: 'on-failure', environment: { SOAK_PACE: '100', ...gen(extra.name) } }
        : { script: 'exec sleep infinity', restart: 'on-failure', environment: gen(extra.name) };
  }
  return { version: 1, logging: { format: 'prefix' }, services };
}

/** The same manifest with a field no service has: `berth reload` must refuse it and change nothing. */
export function invalidManifestOf(valid: object): object {
  const copy = JSON.parse(JSON.stringify(valid)) as { services: Record<string, Record<string, unknown>> };
  copy.services.idle.restartOnFailur = true;
  return copy;
}

export function writeManifest(path: string, manifest: object): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
