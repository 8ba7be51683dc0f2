// `berth build IMAGE_FILE [-o OUT_DIR] [--tag NAME]`: evaluates an image
// definition and writes a build context; with --tag, also builds it with the
// container engine it finds.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { ContextError, writeBuildContext } from '../image/context.js';
import { buildCommand as engineCommand, engineKind, epochDate, EpochError, probeDocker, sourceDateEpoch } from '../image/engine.js';
import { evaluateImage, type ImageBuild } from '../image/evaluate.js';
import { kubeDeployment, type KubeOptions, PULL_POLICIES, type PullPolicy, renderKube, validateDeployment } from '../image/kube.js';
import { unpinned } from '../image/packages.js';
import { formatProblem } from '../manifest/index.js';
import { findProgram } from '../unix/find-program.js';
import { signalNumber } from '../unix/signals.js';
import { parseArgs, UsageError } from './args.js';

export const usage = `berth build IMAGE_FILE [-o OUT_DIR] [--tag NAME] [--kube [--kube-pull-policy POLICY]]
  Evaluates an image definition and writes a build context to OUT_DIR:
  Dockerfile, manifest.json (installed as /etc/berth/manifest.json), rootfs/.
  -o, --output  default build/<image.name, or the definition's directory name>
  --kube        also write OUT_DIR/kube.yaml: a Kubernetes Deployment of the
                image (the --tag NAME, else image.name:image.tag) with its
                ports, env, berth check probes and a termination grace above
                the init's; non-root with a read-only root filesystem unless
                the definition needs root (the file says why). Checked against
                the Kubernetes API schema. Run it: podman kube play OUT_DIR/kube.yaml
  --kube-pull-policy POLICY  its imagePullPolicy: IfNotPresent (default), Never
                (an image that is only local) or Always
  --tag NAME    also build the image with docker, podman or buildah (the first
                on PATH; BERTH_ENGINE=PROGRAM overrides), print its image ID
                and exit with the engine's code. The image is created at
                SOURCE_DATE_EPOCH (default 0, 1970-01-01) so that the same
                definition and parent give the same image ID.
  Problems are printed as FILE:LINE:COL: PATH: MESSAGE (exit 1); warnings go to stderr.`;

type Out = { write(text: string): unknown };

export async function buildCommand(args: string[], out: Out = process.stdout, err: Out = process.stderr): Promise<number> {
  const { positionals, flags } = parseArgs(args, ['-o', '--output', '--tag', '--kube-pull-policy'], ['--kube']);
  if (positionals.length !== 1) throw new UsageError('name exactly one image definition file');
  const file = positionals[0];
  const tag = flags.get('--tag') as string | undefined;
  if (tag !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/.test(tag)) throw new UsageError(`--tag '${tag}' is not an image name`);
  const kube = flags.has('--kube');
  const pullPolicy = (flags.get('--kube-pull-policy') ?? 'IfNotPresent') as PullPolicy;
  if (!PULL_POLICIES.includes(pullPolicy)) throw new UsageError(`--kube-pull-policy '${pullPolicy}' is not one of ${PULL_POLICIES.join(', ')}`);
  if (flags.has('--kube-pull-policy') && !kube) throw new UsageError('--kube-pull-policy goes with --kube');
  const epoch = tag === undefined ? 0 : creationTime();

  const evaluation = evaluateImage(file);
  for (const w of evaluation.warnings) err.write(`${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`);
  if (!evaluation.build) {
    for (const p of evaluation.problems) err.write(`${formatProblem(p)}\n`);
    err.write(`berth build: ${file}: ${evaluation.problems.length} problem${evaluation.problems.length === 1 ? '' : 's'}; nothing was written\n`);
    return 1;
  }
  const build = evaluation.build;
  const loose = unpinned(build.packages);
  if (loose.length) {
    err.write(`berth build: warning: packages without a pinned version: ${loose.join(', ')}; apt-get installs whatever the mirror serves at build time, so the image can change from build to build. Pin them as NAME=VERSION (apt-cache policy NAME lists versions)\n`);
  }
  const name = build.config.image.name ?? defaultName(file);
  const outDir = (flags.get('-o') ?? flags.get('--output') ?? join('build', name)) as string;
  let written: string[];
  try {
    written = writeBuildContext(build, outDir, file);
  } catch (error) {
    if (error instanceof ContextError) {
      err.write(`berth build: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const suggested = `${name}${build.config.image.tag ? `:${build.config.image.tag}` : ''}`;
  if (kube) {
    const wroteKube = await writeKube(build, { name, image: tag ?? suggested, pullPolicy }, outDir, file, err);
    if (!wroteKube) return 1;
    written = [...written, 'kube.yaml'].sort();
  }
  out.write(`wrote ${outDir}: ${written.filter((f) => !f.startsWith('.')).join(', ')}\n`);
  if (tag === undefined) {
    out.write(`build it: berth build ${file} -o ${outDir} --tag ${suggested}   (or: podman build -t ${suggested} ${outDir})\n`);
    return 0;
  }
  return runEngine(outDir, tag, epoch, out, err);
}

/** OUT/kube.yaml, only once it validates against the Kubernetes API schema. */
async function writeKube(build: ImageBuild, opts: KubeOptions, outDir: string, file: string, err: Out): Promise<boolean> {
  const kube = kubeDeployment(build, opts);
  const problems = await validateDeployment(kube.deployment);
  if (problems.length) {
    for (const p of problems) err.write(`berth build: kube.yaml: ${p}\n`);
    err.write('berth build: the Deployment does not match the Kubernetes API schema, so kube.yaml was not written; this is a bug in berth build, please report it with the definition\n');
    return false;
  }
  writeFileSync(join(outDir, 'kube.yaml'), await renderKube(kube, basename(file)), { mode: 0o644 });
  return true;
}

/** SOURCE_DATE_EPOCH, checked before anything is written. */
function creationTime(): number {
  try {
    return sourceDateEpoch(process.env);
  } catch (error) {
    if (error instanceof EpochError) throw new UsageError(error.message);
    throw error;
  }
}

/** images/web/image.yaml → web; web.yaml → web. */
function defaultName(file: string): string {
  const stem = basename(file, extname(file));
  const raw = stem === 'image' || stem === 'default' ? basename(join(file, '..')) : stem;
  return raw.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'image';
}

const ENGINES = ['docker', 'podman', 'buildah'];

/** A docker client without a reachable daemon cannot build: skip it rather than fail on it. */
function engineAnswers(engine: string): boolean {
  if (basename(engine) !== 'docker') return true;
  return spawnSync(engine, ['version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

async function runEngine(context: string, tag: string, epoch: number, out: Out, err: Out): Promise<number> {
  const chosen = process.env.BERTH_ENGINE;
  const engine = chosen
    ? chosen.includes('/') ? chosen : findProgram(chosen, process.env.PATH)
    : ENGINES.map((e) => findProgram(e, process.env.PATH)).find((e) => e !== undefined && engineAnswers(e));
  if (!engine) {
    err.write(chosen
      ? `berth build: BERTH_ENGINE=${chosen} is not on PATH\n`
      : 'berth build: no working container engine found (docker with a running daemon, podman or buildah; or set BERTH_ENGINE); the build context is written\n');
    return 1;
  }
  const kind = engineKind(engine);
  const scratch = mkdtempSync(join(tmpdir(), 'berth-build-'));
  const iidFile = join(scratch, 'image-id');
  const command = engineCommand({ kind, tag, context, epoch, iidFile, ...(kind === 'docker' ? { docker: probeDocker(engine) } : {}) });
  for (const note of command.notes) err.write(`berth build: warning: ${basename(engine)}: ${note}\n`);
  err.write(`berth build: ${basename(engine)} ${command.args.join(' ')}\n`);
  try {
    const code = await new Promise<number>((resolve) => {
      // The engine's output is progress: stderr, so that stdout holds what berth build made.
      const child = spawn(engine, command.args, { stdio: ['inherit', 2, 'inherit'], env: { ...process.env, ...command.env } });
      child.on('error', (error) => {
        err.write(`berth build: cannot run ${engine}: ${error.message}\n`);
        resolve(1);
      });
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? signalNumber(signal) : 0)));
    });
    if (code !== 0 || !command.writesImageId) return code;
    let id = '';
    try {
      id = readFileSync(iidFile, 'utf8').trim();
    } catch {
      // reported below
    }
    if (!id) {
      err.write(`berth build: ${basename(engine)} exited 0 but wrote no image ID\n`);
      return code;
    }
    out.write(`built ${tag} with ${basename(engine)}${command.fixesCreated ? `, created ${epochDate(epoch)}` : ''}\n`);
    out.write(`image ID: ${id.includes(':') ? id : `sha256:${id}`}\n`);
    return code;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
