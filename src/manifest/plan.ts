// Splits a checked manifest into the stages the supervisor runs, each in
// an order that honours `after`.
import { orderByAfter } from './order.js';
import type { Manifest, Plan, Service } from './types.js';

export function plan(manifest: Manifest): Plan {
  const enabled = Object.values(manifest.services).filter((s) => s.enable);
  const stage = (type: Service['type']) => {
    const { order, cycles } = orderByAfter(enabled.filter((s) => s.type === type));
    // checkManifest rejects cycles; reaching this means the manifest was built by hand, unchecked.
    if (cycles.length) throw new Error(`cannot plan ${type} services: 'after' forms a cycle: ${cycles[0].join(' -> ')}`);
    return order;
  };
  return { pre: stage('oneshot-pre'), longRuns: stage('long-run'), post: stage('oneshot-post'), jobs: enabled.filter((s) => s.type === 'scheduled') };
}
