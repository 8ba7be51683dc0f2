// Run as its own process by the config benchmark: times the init's
// configuration stage alone, cold, as the init runs it once before anything
// starts (dotenv loaded on first use, nothing compiled yet): every service's
// env and secret files read, `files:` rendered and written. Prints
// {"ms":…,"services":…,"files":…} on stdout.
import { performance } from 'node:perf_hooks';
import { configure } from '../../src/config/configure.js';
import { writeFiles } from '../../src/config/rendered-files.js';
import { loadManifest, plan } from '../../src/manifest/index.js';

const { manifest, problems } = await loadManifest(process.argv[2]);
if (!manifest) throw new Error(`the manifest does not validate: ${JSON.stringify(problems)}`);
const { pre, longRuns, post, jobs } = plan(manifest);
const services = [...pre, ...longRuns, ...post, ...jobs];
const t0 = performance.now();
const configured = configure(manifest, services);
if ('problems' in configured) throw new Error(configured.problems.join('\n'));
const written = writeFiles(configured.rendered, () => undefined);
const ms = performance.now() - t0;
if (written.problems.length) throw new Error(written.problems.join('\n'));
process.stdout.write(`${JSON.stringify({ ms, services: services.length, files: written.written.length })}\n`);
