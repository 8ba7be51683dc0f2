// Orders services so each comes after the services its `after` names, keeping
// file order wherever `after` does not force otherwise, and finds the cycles
// that make such an order impossible.

export interface Ordered<T> {
  order: T[];
  /** Each cycle as names, first name repeated at the end: ['a', 'b', 'a'] means a waits for b, b for a. */
  cycles: string[][];
}

/** Kahn's algorithm, always taking the earliest ready item in file order. Names outside `items` are ignored. */
export function orderByAfter<T extends { name: string; after: readonly string[] }>(items: readonly T[]): Ordered<T> {
  const index = new Map(items.map((item, i) => [item.name, i]));
  const deps = items.map((item) => [...new Set(item.after)].flatMap((name) => index.get(name) ?? []));
  const dependents = items.map((): number[] => []);
  deps.forEach((list, i) => list.forEach((d) => dependents[d].push(i)));
  const waiting = deps.map((list) => list.length);
  const done = items.map(() => false);
  const ready = waiting.flatMap((n, i) => (n === 0 ? [i] : [])); // kept sorted: file order breaks ties
  const order: T[] = [];
  const cycles: string[][] = [];

  const finish = (i: number) => {
    done[i] = true;
    order.push(items[i]);
    for (const j of dependents[i]) if (--waiting[j] === 0 && !done[j]) insertSorted(ready, j);
  };

  while (order.length < items.length) {
    if (ready.length) {
      finish(ready.shift()!);
      continue;
    }
    // Stuck: every unfinished item waits on another unfinished one, so
    // following waits from any of them must loop. Report the loop, then
    // release its members so the rest can still be ordered and checked.
    const cycle = findCycle(done.indexOf(false), deps, done);
    cycles.push([...cycle, cycle[0]].map((i) => items[i].name));
    for (const i of [...cycle].sort((a, b) => a - b)) if (!done[i]) finish(i);
  }
  return { order, cycles };
}

function findCycle(start: number, deps: number[][], done: boolean[]): number[] {
  const path: number[] = [];
  const seen = new Map<number, number>(); // item -> position in path
  let at = start;
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    at = deps[at].find((d) => !done[d])!;
  }
  return path.slice(seen.get(at));
}

function insertSorted(list: number[], value: number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, value);
}

/**
 * The longest an ordered stop can take: a service stops once everything that
 * runs `after` it has stopped, so the stop is as long as its heaviest chain
 * of dependents, each link `weight` (its stop timeout and the wait after a
 * SIGKILL). A cycle (the manifest's checks refuse them) never loops: a node
 * met again on its own chain counts once.
 */
export function longestChain<T>(items: readonly T[], weight: (item: T) => number, dependents: (item: T) => readonly T[]): number {
  const chain = new Map<T, number>();
  const onPath = new Set<T>();
  const of = (item: T): number => {
    const known = chain.get(item);
    if (known !== undefined) return known;
    if (onPath.has(item)) return 0;
    onPath.add(item);
    const total = weight(item) + Math.max(0, ...dependents(item).map(of));
    onPath.delete(item);
    chain.set(item, total);
    return total;
  };
  return Math.max(0, ...items.map(of));
}
