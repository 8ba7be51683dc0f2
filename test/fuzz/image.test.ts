// Property tests (fast-check, fixed seed, few cases); `npm run fuzz` runs the same properties with many more.
import test from 'ava';
import { checkProperty } from './check.js';
import { imageProperties } from './properties.js';

for (const spec of imageProperties) {
  test(spec.name, async (t) => {
    const outcome = await checkProperty(spec, spec.runs);
    t.log(`${outcome.cases} cases in ${outcome.ms} ms`);
    t.false(outcome.failed, outcome.report);
  });
}
