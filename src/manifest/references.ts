// Checks what `after` names: known services, the stage rules, no cycles.
import { suggestion } from '../schema-language/did-you-mean.js';
import type { Issue } from '../schema-language/validate.js';
import { orderByAfter } from './order.js';
import type { ServiceType } from './types.js';

/** The part of a service these checks need; other fields may still have problems of their own. */
export interface ServiceRef {
  name: string;
  type: ServiceType;
  enable: boolean;
  /** As written in the file. */
  after: string[];
}

/** Why a service of the first type may not wait for one of the second: it would wait forever. */
const FORBIDDEN: Partial<Record<ServiceType, Partial<Record<ServiceType, string>>>> = {
  'oneshot-pre': {
    'long-run': 'oneshot-pre services all finish before any long-run starts',
    'oneshot-post': 'oneshot-pre services all finish before any oneshot-post starts',
  },
  'long-run': {
    'oneshot-post': 'oneshot-post services start only after every long-run has started',
  },
  scheduled: {
    'oneshot-post': "a job's runs wait for long-runs, and a oneshot-post runs only once",
  },
};

/** A job runs on its schedule, again and again: nothing can wait for it to be done. */
const AFTER_A_JOB = 'a scheduled job runs on its schedule, so nothing can start after it';

/**
 * `nodes` holds the services whose `type`, `enable` and `after` are valid;
 * `names` every name in the file, so naming a service that has problems of
 * its own is not also called unknown. Returns, for each node, the enabled
 * services it waits for: deduplicated, disabled ones dropped.
 */
export function checkReferences(nodes: Map<string, ServiceRef>, names: string[], issues: Issue[]): Map<string, string[]> {
  const waitsFor = new Map<string, string[]>();
  const known = new Set(names); // not names.includes: with an `after` each, that was n²/2 comparisons
  for (const node of nodes.values()) {
    const kept = new Set<string>();
    node.after.forEach((name, i) => {
      const path = ['services', node.name, 'after', i];
      const target = nodes.get(name);
      if (name === node.name) issues.push({ path, message: 'a service cannot start after itself' });
      else if (!known.has(name)) issues.push({ path, message: `unknown service '${name}'${suggestion(name, names)}` });
      else if (!target?.enable) return; // disabled (ignored, as documented) or reported on its own
      else if (!node.enable) kept.add(name);
      else {
        const why = target.type === 'scheduled' ? AFTER_A_JOB : FORBIDDEN[node.type]?.[target.type];
        if (why) issues.push({ path, message: `a ${node.type} cannot start after the ${target.type} '${name}': ${why}` });
        else kept.add(name);
      }
    });
    waitsFor.set(node.name, [...kept]);
  }
  const enabled = [...nodes.values()].filter((n) => n.enable).map((n) => ({ name: n.name, after: waitsFor.get(n.name)! }));
  for (const cycle of orderByAfter(enabled).cycles) {
    const [first, second] = cycle;
    issues.push({
      path: ['services', first, 'after', nodes.get(first)!.after.indexOf(second)],
      message: `'after' forms a cycle: ${cycle.join(' -> ')} (each waits for the next), so none of them can start`,
    });
  }
  return waitsFor;
}
