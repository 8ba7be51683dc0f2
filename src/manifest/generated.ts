// The files derived from the manifest schema, rendered as strings so that
// emit-docs.ts can write them and a test can check the committed copies.
import { toJsonSchema } from '../schema-language/json-schema.js';
import { toMarkdown } from '../schema-language/markdown.js';
import { manifestSchema } from './schema.js';

export const REGENERATE = 'npx tsc -p . && node dist/src/manifest/emit-docs.js';

/** Repository-relative path → contents. */
export function generatedFiles(): Record<string, string> {
  return {
    'schema/manifest.schema.json': `${JSON.stringify(toJsonSchema(manifestSchema, { title: 'Berth manifest (version 1)' }), null, 2)}\n`,
    'docs/manifest.md': `${INTRO}\n${toMarkdown(manifestSchema, 'Top level')}`,
  };
}

const INTRO = `# Manifest reference (version 1)

<!-- Generated from src/manifest/schema.ts; do not edit. Regenerate: ${REGENERATE} -->

The manifest tells \`berth init\` which services to run, how, and in what
order. It is YAML (\`.yaml\`, \`.yml\`) or JSON; \`berth validate FILE...\`
checks it and prints every problem as \`FILE:LINE:COL: PATH: MESSAGE\`.

\`\`\`yaml
# yaml-language-server: $schema=../node_modules/berth/schema/manifest.schema.json
version: 1
services:
  migrate:
    type: oneshot-pre
    script: ./migrate --to latest
  web:
    execStart: ["/usr/bin/node", "server.js"]
    restartOnFailure: true
    after: [migrate]
\`\`\`

Editors check and complete manifests against
[\`schema/manifest.schema.json\`](../schema/manifest.schema.json): in YAML with
the \`# yaml-language-server: $schema=PATH\` comment above (PATH relative to
the manifest), in JSON with a \`"$schema": "PATH"\` field.

## Stages and \`after\`

1. **oneshot-pre** services run one at a time, in file order unless \`after\`
   says otherwise; each must exit 0. They may only name other oneshot-pre
   services in \`after\`.
2. **long-run** services all start once the pre stage is done, except that
   a long-run whose \`after\` names another long-run starts once that one is
   ready (\`up\`: its \`readiness\` passed, or it started, where it has
   none), waiting through its restarts. Naming a oneshot-pre is allowed and
   always satisfied; naming a oneshot-post is an error.
3. **oneshot-post** services run one at a time once every long-run has been
   started, ordered by \`after\`; each waits for the long-runs it names to
   be ready in the same way. They may name any service.

In every stage, \`after\` naming a disabled service (\`enable: false\`) is
ignored; naming an unknown service, or a chain of \`after\` that loops back on
itself (\`a -> b -> a\`), is an error.
`;
