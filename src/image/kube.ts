// `berth build --kube`: a Kubernetes Deployment of the image, written as
// OUT/kube.yaml and checked against the Kubernetes API schema before it is
// written. The object is typed with kubernetes-models' interfaces, so a
// misspelt field name does not compile; its values are validated at run time
// (enums, types, required fields), so a bad value does not ship.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import { posix } from 'node:path';
import { parseDuration } from '../manifest/duration.js';
import { longestChain } from '../manifest/order.js';
import { parseCpu, parseMemory } from '../manifest/quantity.js';
import type { ImageBuild } from './evaluate.js';
import { imageFiles, secretName } from './secrets.js';

export const PULL_POLICIES = ['IfNotPresent', 'Never', 'Always'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface KubeOptions {
  /** The Deployment's name and its container's, before it is made a DNS label. */
  name: string;
  /** The image reference the pod runs: NAME:TAG. */
  image: string;
  pullPolicy: PullPolicy;
}

/** The uid and gid a non-root pod runs as: not root, not a Debian system account. */
export const NON_ROOT_ID = 1000;

// The init's own shutdown (src/supervisor/supervisor.ts), as the pod sees it.
const DEFAULT_GRACE_MS = 3000; // S6_KILL_GRACETIME's default
const AFTER_KILL_MS = 1000; // after each stop timeout on a chain of `after`, and after SIGKILL
const LOGGER_DRAIN_MS = 5000; // execLoggers get this long once their services are gone
const EXIT_SLACK_MS = 3000; // Node's exit and the runtime's bookkeeping

export interface KubeDeployment {
  deployment: IDeployment;
  /** Why the pod runs as root; empty when it runs non-root with a read-only root filesystem. */
  rootReasons: string[];
  /** How terminationGracePeriodSeconds was reached, for the file's comment. */
  graceWhy: string;
  /** image.user, which the pod keeps. */
  imageUser?: string;
  /** How the container's resources were reached (or why it has none), for the file's comment. */
  resourcesWhy: string;
  /** Which secret files come from which Secret and how to make it, for the file's comment. */
  secretWhy?: string;
}

export function kubeDeployment(build: ImageBuild, opts: KubeOptions): KubeDeployment {
  const image = build.config.image;
  const name = dnsLabel(opts.name);
  const labels = { 'app.kubernetes.io/name': name };
  const rootReasons = needsRoot(build);
  const nonRoot = rootReasons.length === 0;
  const { seconds, why } = terminationGrace(build);
  const { resources, why: resourcesWhy } = containerResources(build);

  const ports: IContainerPort[] = Object.keys(image.exposedPorts)
    .map((spec) => {
      const [port, protocol = 'tcp'] = spec.split('/');
      return { containerPort: Number(port), protocol: protocol.toUpperCase() as 'TCP' | 'UDP' | 'SCTP' };
    })
    .sort((a, b) => a.containerPort - b.containerPort || (a.protocol! < b.protocol! ? -1 : 1));
  // Writable places: the image's volumes always; /run (the state dir /run/berth), /tmp and the directories of rendered files when the root is read-only.
  const writable = [...new Set([...(nonRoot ? ['/run', '/tmp'] : []), ...image.volumes])];
  if (nonRoot) for (const dir of renderedDirs(build)) if (!writable.some((w) => within(dir, w))) writable.push(dir);
  writable.sort();
  const volumes: IVolume[] = writable.map((path) => ({ name: dnsLabel(path), emptyDir: {} }));
  const mounts: IVolumeMount[] = writable.map((path) => ({ name: dnsLabel(path), mountPath: path }));
  const secrets = secretVolumes(build, secretName(name));
  volumes.push(...secrets.volumes);
  mounts.push(...secrets.mounts);
  const env = Object.keys(image.env).sort().map((key) => ({ name: key, value: image.env[key] }));
  const hasLongRuns = Object.values(build.manifest.services).some((s) => (s.type ?? 'long-run') === 'long-run');

  const deployment: IDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: seconds,
          ...(nonRoot ? { securityContext: { runAsNonRoot: true, runAsUser: NON_ROOT_ID, runAsGroup: NON_ROOT_ID, fsGroup: NON_ROOT_ID } } : {}),
          containers: [{
            name,
            image: opts.image,
            imagePullPolicy: opts.pullPolicy,
            ...(ports.length ? { ports } : {}),
            ...(env.length ? { env } : {}),
            // Without long-runs there is nothing to be ready or alive: the services end and so does the pod.
            ...(hasLongRuns ? {
              readinessProbe: { exec: { command: ['berth', 'check', '--ready'] }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 1 },
              livenessProbe: { exec: { command: ['berth', 'check', '--live'] }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            } : {}),
            ...(nonRoot ? { securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } } : {}),
            ...(resources ? { resources } : {}),
            ...(mounts.length ? { volumeMounts: mounts } : {}),
          }],
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };
  return {
    deployment, rootReasons, graceWhy: why, resourcesWhy,
    ...(image.user ? { imageUser: image.user } : {}),
    ...(build.secrets.length ? { secretWhy: secrets.why } : {}),
  };
}

/** The directories rendered files (`files:`) go to. */
function renderedDirs(build: ImageBuild): string[] {
  return [...new Set(Object.keys(build.manifest.files ?? {}).map((path) => posix.dirname(posix.normalize(path))))];
}

const within = (path: string, dir: string): boolean => path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);

/**
 * The image's secret files, from one Secret: a read-only volume per directory
 * holding them, each file a key of the Secret named by its file name, mode
 * 0400. `optional: false` is Kubernetes' default, spelled out because podman
 * 4.3's kube play dereferences it unchecked (it crashes without it).
 */
function secretVolumes(build: ImageBuild, secretName: string): { volumes: IVolume[]; mounts: IVolumeMount[]; why: string } {
  const byDir = new Map<string, string[]>();
  for (const s of build.secrets) {
    const dir = posix.dirname(s.path);
    byDir.set(dir, [...(byDir.get(dir) ?? []), s.key]);
  }
  const dirs = [...byDir.keys()].sort();
  const volumes: IVolume[] = dirs.map((dir) => ({
    name: dnsLabel(`secret${dir}`),
    secret: { secretName, defaultMode: 0o400, optional: false, items: byDir.get(dir)!.sort().map((key) => ({ key, path: key })) },
  }));
  const mounts: IVolumeMount[] = dirs.map((dir) => ({ name: dnsLabel(`secret${dir}`), mountPath: dir, readOnly: true }));
  const files = build.secrets.map((s) => `--from-file=${s.key}=./${s.key}`).sort().join(' ');
  const why = `secret files the services read (${build.secrets.map((s) => s.path).sort().join(', ')}), from the Secret ${secretName}, mode 0400; ` +
    `make it before the pod: kubectl create secret generic ${secretName} ${files}`;
  return { volumes, mounts, why };
}

/**
 * The init's own memory in the container's limit: 41-46 MB of RSS measured at
 * rest with services and jobs (docs/PERFORMANCE.md), and room for the relay's
 * buffers under a burst of output.
 */
const INIT_MEMORY = 64 * 1024 * 1024;
/** The init's CPU at rest is 0; a start burst or a busy relay takes a share of a core. */
const INIT_CPU = 0.1;

/**
 * The container's requests and limits from the services' `resources:`: what
 * can run at once (the long-runs and jobs, and one oneshot-post beside them;
 * the oneshot-pre tasks one at a time before them) plus the init's own. Only
 * when every enabled service has the limit: one without it could take any
 * amount, and a container limit would then only move the OOM kill to the
 * whole pod. Requests equal limits, so the pod is scheduled for what it may use.
 */
export function containerResources(build: ImageBuild): { resources?: IResourceRequirements; why: string } {
  const defaults = (build.manifest.resources ?? {}) as Record<string, unknown>;
  const services = Object.entries(build.manifest.services).filter(([, s]) => s.enable !== false);
  if (!services.length) return { why: 'no services' };
  const amount = (field: 'memory' | 'cpu'): { total: number; parts: string[] } | string => {
    const parse = field === 'memory' ? parseMemory : parseCpu;
    const of = new Map<string, number>();
    for (const [name, s] of services) {
      const parsed = parse((s.resources as Record<string, unknown> | undefined)?.[field] ?? defaults[field]);
      if (!parsed.ok) return `no ${field} limit: ${name} has none`;
      of.set(name, parsed.value);
    }
    const typed = (type: string): number[] => services.filter(([, s]) => (s.type ?? 'long-run') === type).map(([name]) => of.get(name)!);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const running = sum([...typed('long-run'), ...typed('scheduled')]) + Math.max(0, ...typed('oneshot-post'));
    const total = Math.max(running, ...typed('oneshot-pre')) + (field === 'memory' ? INIT_MEMORY : INIT_CPU);
    return { total, parts: [...of].map(([name, v]) => `${name} ${field === 'memory' ? mebibytes(v) : millicores(v)}`) };
  };
  const memory = amount('memory');
  const cpu = amount('cpu');
  const set: Record<string, string> = {};
  const why: string[] = [];
  if (typeof memory === 'string') why.push(memory);
  else {
    set.memory = mebibytes(memory.total);
    why.push(`memory ${set.memory}: the services' limits (${memory.parts.join(', ')}) as they can run at once, and the init's ${mebibytes(INIT_MEMORY)}`);
  }
  if (typeof cpu === 'string') why.push(cpu);
  else {
    set.cpu = millicores(cpu.total);
    why.push(`cpu ${set.cpu}: the services' (${cpu.parts.join(', ')}) as they can run at once, and the init's ${millicores(INIT_CPU)}`);
  }
  return Object.keys(set).length ? { resources: { requests: set, limits: set }, why: why.join('; ') } : { why: why.join('; ') };
}

const mebibytes = (bytes: number): string => `${Math.ceil(bytes / 1048576)}Mi`;
const millicores = (cores: number): string => `${Math.ceil(Math.round(cores * 1e6) / 1000)}m`;

/**
 * Why the image's services need root at run time; none means the pod runs as
 * uid 1000 with a read-only root filesystem:
 * - a service with `user:` (switching users needs root);
 * - `image.user` (the image names who it runs as; the pod keeps it);
 * - a port below 1024 (binding it needs root unless the cluster lowers
 *   net.ipv4.ip_unprivileged_port_start);
 * - a service module that says so (nginx's master binds ports, hands workers
 *   to www-data and writes /var/lib/nginx);
 * - a rendered file (`files:`) with an owner or group.
 */
export function needsRoot(build: ImageBuild): string[] {
  const reasons: string[] = [];
  for (const [name, svc] of Object.entries(build.manifest.services)) {
    if (typeof svc.user === 'string') reasons.push(`services.${name}.user is ${svc.user}: switching users needs root`);
  }
  if (build.config.image.user) reasons.push(`image.user is ${build.config.image.user}: the pod keeps the image's user`);
  for (const spec of Object.keys(build.config.image.exposedPorts).sort()) {
    if (parseInt(spec, 10) < 1024) reasons.push(`port ${spec} is below 1024: binding it needs root`);
  }
  for (const [path, file] of Object.entries(build.manifest.files ?? {})) {
    if (file.owner !== undefined || file.group !== undefined) reasons.push(`files ${path} names its owner or group: giving a file away needs root`);
  }
  // A rendered file's directory becomes an emptyDir under a read-only root: not where the image has files of its own.
  const writable = ['/run', '/tmp', ...build.config.image.volumes];
  const built = [...imageFiles(build).keys()];
  for (const dir of renderedDirs(build)) {
    const shadowed = writable.some((w) => within(dir, w)) ? undefined : built.find((f) => within(f, dir));
    if (shadowed) reasons.push(`files are rendered in ${dir}, where the image has ${shadowed}: under a read-only root it would be an emptyDir hiding it (render into /run instead)`);
  }
  reasons.push(...build.needsRoot);
  return reasons;
}

/**
 * terminationGracePeriodSeconds: what the init's own shutdown can take, so
 * that Kubernetes' SIGKILL never cuts its ordered stop short. A service stops
 * once everything `after` it has stopped, so the stop takes as long as the
 * heaviest chain of `after`: each link its stop timeout (a service's
 * `stopTimeout`, else the grace, S6_KILL_GRACETIME or 3 s) plus 1 s after
 * SIGKILL (the init's own ceiling, src/supervisor/shutdown.ts). Then 1 s to
 * kill what is left, 5 s for execLoggers to drain, 1 s for leftover processes
 * and 3 s for Node's exit.
 */
export function terminationGrace(build: ImageBuild): { seconds: number; why: string } {
  const services = build.manifest.services;
  const raw = build.config.image.env.S6_KILL_GRACETIME;
  const graceMs = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : DEFAULT_GRACE_MS;
  const names = Object.keys(services);
  const stopMs = (name: string): number => {
    const s = services[name];
    return s.stopTimeout === undefined ? graceMs : parseDuration(s.stopTimeout as string | number) ?? graceMs;
  };
  const dependents = (name: string): string[] => names.filter((n) => Array.isArray(services[n].after) && (services[n].after as string[]).includes(name));
  const chainMs = longestChain(names, (n) => stopMs(n) + AFTER_KILL_MS, dependents);
  const margin = AFTER_KILL_MS + LOGGER_DRAIN_MS + AFTER_KILL_MS + EXIT_SLACK_MS;
  // image.cmd, the main command, is stopped first, within the grace
  const mainMs = build.cmd ? graceMs + AFTER_KILL_MS : 0;
  const seconds = Math.ceil((mainMs + Math.max(chainMs, graceMs + AFTER_KILL_MS) + margin) / 1000);
  const why = `${mainMs ? `the main command's grace + 1 s: ${mainMs / 1000} s, + ` : ''}the heaviest chain of \`after\` (each service's stop timeout + 1 s): ${chainMs / 1000} s, + ${margin / 1000} s (kill, execLoggers' drain, leftovers, exit)`;
  return { seconds, why };
}

/** A DNS-1123 label (what Kubernetes accepts as a Deployment or container name): web/api.v2 → web-api-v2. */
export function dnsLabel(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return label || 'berth';
}

/** Problems with the Deployment per the Kubernetes API schema, as `PATH: MESSAGE`; none when it is valid. */
export async function validateDeployment(deployment: IDeployment): Promise<string[]> {
  let Deployment: typeof import('kubernetes-models/apps/v1/Deployment').Deployment;
  try {
    ({ Deployment } = await import('kubernetes-models/apps/v1/Deployment'));
  } catch {
    // berth/base leaves it out (package.json "berth.buildOnly"): images are built elsewhere
    return ['cannot check it: the kubernetes-models package is not installed here (berth/base leaves it out); run berth build --kube where Berth was installed with npm'];
  }
  try {
    new Deployment(deployment).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: { instancePath?: string; message?: string; params?: { allowedValues?: unknown[] } }[] }).errors;
    if (!Array.isArray(errors)) return [(error as Error).message];
    return errors.map((e) => {
      const path = (e.instancePath ?? '').split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '');
      const allowed = e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : '';
      return `${path || '(the Deployment)'}: ${e.message ?? 'is not valid'}${allowed}`;
    });
  }
}

/** kube.yaml: the Deployment with comments that say why it runs as it does. */
export async function renderKube(kube: KubeDeployment, sourceName: string): Promise<string> {
  const { Document } = await import('yaml');
  const doc = new Document(kube.deployment, { aliasDuplicateObjects: false });
  doc.commentBefore = [
    ` Generated by berth build --kube from ${sourceName.replace(/[\0-\x1f\x7f]/g, '?')}; the next build rewrites it (copy it to change it).`,
    ' Run it: kubectl apply -f kube.yaml, or podman kube play kube.yaml',
  ].join('\n');
  for (const probe of ['readinessProbe', 'livenessProbe']) {
    const command = doc.getIn(['spec', 'template', 'spec', 'containers', 0, probe, 'exec', 'command'], true) as { flow?: boolean } | undefined;
    if (command) command.flow = true;
  }
  const podSpec = doc.getIn(['spec', 'template', 'spec'], true) as { items: { key: { value: unknown; commentBefore?: string } }[] };
  const keyOf = (map: { items: { key: { value: unknown; commentBefore?: string } }[] }, key: string) => map.items.find((i) => i.key.value === key)?.key;
  const grace = keyOf(podSpec, 'terminationGracePeriodSeconds');
  if (grace) grace.commentBefore = ` the init's longest ordered stop: ${kube.graceWhy}`;
  const container = doc.getIn(['spec', 'template', 'spec', 'containers', 0], true) as { items: { key: { value: unknown; commentBefore?: string } }[] } | undefined;
  const resources = container && keyOf(container, 'resources');
  if (resources) resources.commentBefore = ` ${kube.resourcesWhy}`;
  const volumes = keyOf(podSpec, 'volumes');
  if (volumes && kube.secretWhy) volumes.commentBefore = ` ${kube.secretWhy}`;
  const containers = keyOf(podSpec, kube.rootReasons.length ? 'containers' : 'securityContext');
  if (containers) {
    const who = kube.imageUser ? `image.user ${kube.imageUser}` : 'root';
    containers.commentBefore = kube.rootReasons.length
      ? [` runs as ${who}, with a writable root filesystem, because:`, ...kube.rootReasons.map((r) => `   ${r}`)].join('\n')
      : ` runs as uid ${NON_ROOT_ID} with a read-only root filesystem; /run (the state dir /run/berth), /tmp and image.volumes are emptyDirs`;
  }
  return doc.toString({ lineWidth: 0 });
}
