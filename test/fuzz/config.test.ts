// Property tests (fast-check, fixed seed, few cases); `npm run fuzz` runs the same properties with many more.
import test from 'ava';
import { checkProperty } from './check.js';
import { configProperties } from './properties.js';

for (const spec of configProperties) {
  test(spec.name, async (t) => {
    const outcome = await checkProperty(spec, spec.runs);
    t.log(`${outcome.cases} cases in ${outcome.ms} ms`);
    t.false(outcome.failed, outcome.report);
  });
}
