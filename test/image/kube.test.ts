// `berth build --kube`: the Deployment's shape for the predefined images, the
// non-root rule, the termination grace, and the Kubernetes schema check that
// keeps a broken field from shipping (fixed seed; BERTH_FUZZ_RUNS for more).
import test from 'ava';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { kubeDeployment, terminationGrace, validateDeployment } from '../../src/image/kube.js';
import { berth, evaluate, tempDir } from '../fixtures/image/helpers.js';

const params = { numRuns: Number(process.env.BERTH_FUZZ_RUNS ?? 100), seed: Number(process.env.BERTH_FUZZ_SEED ?? 10) };

async function buildKube(t: Parameters<typeof tempDir>[0], args: string[]): Promise<{ text: string; deployment: IDeployment }> {
  const out = join(await tempDir(t), 'out');
  const run = await berth(['build', ...args, '-o', out, '--kube']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /kube\.yaml/);
  const text = await readFile(join(out, 'kube.yaml'), 'utf8');
  return { text, deployment: parse(text) as IDeployment };
}

const podSpec = (d: IDeployment) => d.spec!.template.spec!;
const container = (d: IDeployment) => podSpec(d).containers[0];

test('images/nginx: a Deployment of berth-nginx:latest with port 80, its env and berth check probes, run as root because of port 80 and the nginx module', async (t) => {
  const { text, deployment: d } = await buildKube(t, ['images/nginx/image.yaml']);
  t.is(d.apiVersion, 'apps/v1');
  t.is(d.kind, 'Deployment');
  t.is(d.metadata!.name, 'berth-nginx');
  t.is(d.spec!.replicas, 1);
  t.deepEqual(d.spec!.selector.matchLabels, d.spec!.template.metadata!.labels);
  const c = container(d);
  t.is(c.image, 'berth-nginx:latest');
  t.is(c.imagePullPolicy, 'IfNotPresent');
  t.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  t.deepEqual(c.env, [{ name: 'LANG', value: 'C.UTF-8' }]);
  t.deepEqual(c.readinessProbe!.exec!.command, ['berth', 'check', '--ready']);
  t.deepEqual(c.livenessProbe!.exec!.command, ['berth', 'check', '--live']);
  // nginx, then the smoke-test after it: two levels of 3 s + 1 s, plus 10 s
  t.is(podSpec(d).terminationGracePeriodSeconds, 18);
  t.is(podSpec(d).securityContext, undefined);
  t.is(c.securityContext, undefined);
  t.regex(text, /# runs as root, with a writable root filesystem, because:\n.*port 80\/tcp is below 1024.*\n.*nginx module: /);
  t.deepEqual(await validateDeployment(d), []);
});

test('images/example: image.env reaches the pod, and alice (`user:`) keeps it root', async (t) => {
  const { text, deployment: d } = await buildKube(t, ['images/example/image.yaml']);
  const c = container(d);
  t.is(c.image, 'berth-example:latest');
  t.is(c.ports, undefined);
  t.deepEqual(c.env, [{ name: 'GREETING', value: 'hello from the example image' }, { name: 'LANG', value: 'C.UTF-8' }]);
  t.is(podSpec(d).securityContext, undefined);
  t.regex(text, /# runs as root.*\n\s*#\s+services\.whoami\.user is alice: switching users needs root/);
});

test('a definition without `user:`, low ports or root modules runs as uid 1000 with a read-only root, /run and /tmp as emptyDirs', async (t) => {
  const { text, deployment: d } = await buildKube(t, ['images/example-systemd/image.yaml']);
  t.deepEqual(podSpec(d).securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
  t.deepEqual(container(d).securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  t.deepEqual(container(d).volumeMounts, [{ name: 'run', mountPath: '/run' }, { name: 'tmp', mountPath: '/tmp' }]);
  t.deepEqual(podSpec(d).volumes, [{ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} }]);
  t.regex(text, /# runs as uid 1000 with a read-only root filesystem/);
});

test('--tag names the image and --kube-pull-policy Never is its pull policy; a policy Kubernetes lacks is a usage error', async (t) => {
  const { deployment: d } = await buildKube(t, ['images/example-systemd/image.yaml', '--kube-pull-policy', 'Never']);
  t.is(container(d).imagePullPolicy, 'Never');
  const out = join(await tempDir(t), 'out');
  const bad = await berth(['build', 'images/example-systemd/image.yaml', '-o', out, '--kube', '--kube-pull-policy', 'Sometimes']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /--kube-pull-policy 'Sometimes' is not one of IfNotPresent, Never, Always/);
  const { build } = await evaluate(t, { 'image.yaml': 'image: { name: web }\nservices: { a: { execStart: [sleep, "1"] } }\n' });
  const k = kubeDeployment(build!, { name: 'web', image: 'registry.example/web:1.2', pullPolicy: 'Always' });
  t.is(container(k.deployment).image, 'registry.example/web:1.2');
});

test('the Kubernetes schema check catches a broken field: a pull policy that is not one, a port given as text, a missing name', async (t) => {
  const { build } = await evaluate(t, { 'image.yaml': 'image: { name: web, exposedPorts: { "8080/tcp": {} } }\nservices: { a: { execStart: [sleep, "1"] } }\n' });
  const { deployment } = kubeDeployment(build!, { name: 'web', image: 'web:latest', pullPolicy: 'IfNotPresent' });
  t.deepEqual(await validateDeployment(deployment), []);
  const broken = structuredClone(deployment) as unknown as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
  const c = broken.spec.template.spec.containers[0];
  c.imagePullPolicy = 'Nevr';
  (c.ports as Record<string, unknown>[])[0].containerPort = '8080';
  delete c.name;
  const problems = await validateDeployment(broken as unknown as IDeployment);
  t.true(problems.includes('spec.template.spec.containers[0].imagePullPolicy: must be equal to one of the allowed values (Always, IfNotPresent, Never)'), problems.join('\n'));
  t.true(problems.includes('spec.template.spec.containers[0].ports[0].containerPort: must be integer'), problems.join('\n'));
  t.true(problems.some((p) => /^spec\.template\.spec\.containers\[0\]: must have required property '?name'?$/.test(p)), problems.join('\n'));
});

test("terminationGracePeriodSeconds: the heaviest chain of `after`, each link its stop timeout (or S6_KILL_GRACETIME) plus 1 s, then 10 s for the kill, the loggers' drain, leftovers and exit; the main command's grace first", async (t) => {
  const grace = async (yaml: string) => terminationGrace((await evaluate(t, { 'image.yaml': yaml })).build!).seconds;
  t.is(await grace('services: { a: { execStart: [sleep, "1"] } }\n'), 1 * (3 + 1) + 10);
  t.is(await grace('services: { a: { execStart: [sleep, "1"], stopTimeout: 20s } }\n'), 1 * (20 + 1) + 10);
  t.is(await grace('image: { env: { S6_KILL_GRACETIME: "8000" } }\nservices: { a: { execStart: [sleep, "1"] } }\n'), 1 * (8 + 1) + 10);
  t.is(await grace([
    'services:',
    '  db: { execStart: [sleep, "1"], stopTimeout: 5s }',
    '  api: { execStart: [sleep, "1"], after: [db] }',
    '  web: { execStart: [sleep, "1"], after: [api] }',
    '',
  ].join('\n')), (5 + 1) + (3 + 1) + (3 + 1) + 10);
  // one slow service deep in a wide graph counts once, on its own chain, not at every level
  t.is(await grace([
    'services:',
    '  db: { execStart: [sleep, "1"], stopTimeout: 60s }',
    '  a: { execStart: [sleep, "1"], after: [db] }',
    '  b: { execStart: [sleep, "1"], after: [a] }',
    '  c: { execStart: [sleep, "1"], after: [b] }',
    '',
  ].join('\n')), (60 + 1) + 3 * (3 + 1) + 10);
  t.is(await grace('image: { cmd: ["true"] }\nservices: { a: { execStart: [sleep, "1"] } }\n'), (3 + 1) + (3 + 1) + 10);
});

test('property: for any services with stop timeouts and `after` chains, the Deployment validates and its grace exceeds every stop timeout', async (t) => {
  const seconds = fc.integer({ min: 0, max: 600 });
  const service = fc.record({ stop: fc.option(seconds, { nil: undefined }), afterPrevious: fc.boolean(), port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }) });
  await fc.assert(fc.asyncProperty(fc.array(service, { minLength: 1, maxLength: 6 }), fc.string({ minLength: 1, maxLength: 80 }), async (services, name) => {
    const lines = ['image:', '  exposedPorts:'];
    for (const s of services) if (s.port) lines.push(`    "${s.port}/tcp": {}`);
    if (!services.some((s) => s.port)) lines[1] = '  exposedPorts: {}';
    lines.push('services:');
    services.forEach((s, i) => {
      lines.push(`  s${i}:`, '    execStart: [sleep, "1"]');
      if (s.stop !== undefined) lines.push(`    stopTimeout: ${s.stop}s`);
      if (s.afterPrevious && i > 0) lines.push(`    after: [s${i - 1}]`);
    });
    const { build, problems } = await evaluate(t, { 'image.yaml': `${lines.join('\n')}\n` });
    if (!build) throw new Error(problems.join('\n'));
    const k = kubeDeployment(build, { name, image: 'x:1', pullPolicy: 'IfNotPresent' });
    const problemsFound = await validateDeployment(k.deployment);
    if (problemsFound.length) throw new Error(problemsFound.join('\n'));
    const longest = Math.max(3, ...services.map((s) => s.stop ?? 3));
    if (!(podSpec(k.deployment).terminationGracePeriodSeconds! > longest)) throw new Error(`grace ${podSpec(k.deployment).terminationGracePeriodSeconds} <= ${longest}`);
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(k.deployment.metadata!.name!)) throw new Error(`${k.deployment.metadata!.name} is not a DNS label`);
  }), params);
  t.pass();
});

test("the container's requests and limits are the services' limits as they can run at once, plus the init's own; none when a service has none", async (t) => {
  const { build } = await evaluate(t, {
    'image.yaml': [
      'resources: { memory: 128Mi }',
      'services:',
      '  migrate: { type: oneshot-pre, script: "true", resources: { memory: 512Mi, cpu: 1 } }',
      '  web: { script: "true", resources: { memory: 256Mi, cpu: 0.5 } }',
      '  worker: { script: "true", resources: { cpu: 250m } }',
      '  report: { type: oneshot-post, script: "true", resources: { cpu: 0.1 } }',
      '',
    ].join('\n'),
  });
  const kube = kubeDeployment(build!, { name: 'x', image: 'x:latest', pullPolicy: 'IfNotPresent' });
  // memory: the oneshot-pre's 512Mi alone, or 256 + 128 (long-runs) + 128 (the post, by the default) = 512Mi; + the init's 64Mi
  // cpu: max(1, 0.5 + 0.25 + 0.1) + 0.1
  t.deepEqual(container(kube.deployment).resources, { requests: { memory: '576Mi', cpu: '1100m' }, limits: { memory: '576Mi', cpu: '1100m' } });
  t.regex(kube.resourcesWhy, /memory 576Mi: the services' limits \(migrate 512Mi, web 256Mi, worker 128Mi, report 128Mi\) as they can run at once, and the init's 64Mi/);
  t.deepEqual(await validateDeployment(kube.deployment), []);
  const open = await evaluate(t, { 'image.yaml': 'services:\n  web: { script: "true", resources: { memory: 256Mi } }\n  free: { script: "true" }\n' });
  const none = kubeDeployment(open.build!, { name: 'x', image: 'x:latest', pullPolicy: 'IfNotPresent' });
  t.is(container(none.deployment).resources, undefined);
  t.is(none.resourcesWhy, 'no memory limit: free has none; no cpu limit: web has none');
});
