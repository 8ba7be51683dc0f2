// `npm run fuzz`: every property test with many more cases than `npm test`
// and a fresh seed each run (printed, so a failure can be replayed).
//   BERTH_FUZZ_TIMES=N   cases per property: N times npm test's (default 50)
//   BERTH_FUZZ_SEED=S    replay a run
import { allProperties } from './properties.js';
import { checkProperty } from './check.js';

const times = Number(process.env.BERTH_FUZZ_TIMES ?? 50);
const seed = Number(process.env.BERTH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
process.stdout.write(`fuzz: seed ${seed}, ${times}x the cases of npm test (BERTH_FUZZ_SEED=${seed} replays this run)\n`);
let total = 0;
let failures = 0;
for (const spec of allProperties) {
  const outcome = await checkProperty(spec, spec.runs * times, seed);
  total += outcome.cases;
  process.stdout.write(`${outcome.failed ? 'FAIL' : 'ok  '} ${String(outcome.cases).padStart(6)} cases ${String(Math.round(outcome.ms / 1000)).padStart(4)} s  ${spec.name}\n`);
  if (outcome.failed) {
    failures++;
    process.stdout.write(`${outcome.report}\n`);
  }
}
process.stdout.write(`fuzz: ${total} cases tried, ${failures} propert${failures === 1 ? 'y' : 'ies'} failed\n`);
process.exitCode = failures ? 1 : 0;
