import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generatedFiles, REGENERATE } from '../../src/manifest/generated.js';
import { repoRoot } from '../fixtures/manifest/helpers.js';

for (const [path, expected] of Object.entries(generatedFiles())) {
  test(`${path} is up to date with src/manifest/schema.ts`, async (t) => {
    const committed = await readFile(join(repoRoot, path), 'utf8').catch(() => '');
    t.true(committed === expected, `${path} is out of date; regenerate it with: ${REGENERATE}`);
  });
}

test('the JSON Schema is draft-07 and lists every service field', (t) => {
  const schema = JSON.parse(generatedFiles()['schema/manifest.schema.json']);
  t.is(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.deepEqual(Object.keys(schema.properties.services.additionalProperties.properties), [
    'type', 'script', 'execStart', 'restartOnFailure', 'environment', 'environmentFiles', 'watch', 'environmentFromFiles', 'workingDirectory', 'user', 'execLogger', 'after', 'enable', 'tty',
    'readiness', 'liveness', 'startTimeout', 'watchdog', 'restart', 'successExitCodes', 'stopSignal', 'stopTimeout', 'maxRestarts', 'restartWindow', 'essential', 'schedule', 'timezone', 'concurrency', 'timeout', 'startingDeadline', 'failureThreshold', 'resources', 'logging',
  ]);
});
