// The command line that builds a context into an image, per engine, so the
// same context gives the same image: engines stamp the build time on the image
// config, its history and every file a layer writes unless told a fixed time.
// Pure functions, apart from probeDocker, so the arguments are unit-tested
// without any engine installed.
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';

export type EngineKind = 'podman' | 'buildah' | 'docker';

/** The creation time when SOURCE_DATE_EPOCH is not set: 1970-01-01, as Nix's dockerTools. */
export const DEFAULT_EPOCH = 0;

/** What a docker client and its daemon can do for a reproducible build. */
export interface DockerFeatures {
  /** buildx is installed, so `docker build` runs BuildKit, which honours SOURCE_DATE_EPOCH */
  buildkit: boolean;
  /** BuildKit ≥ 0.13 behind a buildx ≥ 0.13: file times in layers are rewritten too */
  rewriteTimestamp: boolean;
}

export interface BuildRequest {
  kind: EngineKind | undefined;
  tag: string;
  context: string;
  /** seconds since 1970-01-01 UTC */
  epoch: number;
  /** where the engine writes the image ID */
  iidFile: string;
  /** docker only */
  docker?: DockerFeatures;
}

export interface EngineCommand {
  args: string[];
  /** added to the engine's environment */
  env: Record<string, string>;
  /** what this engine cannot make reproducible, for the user to read */
  notes: string[];
  /** whether the engine writes iidFile */
  writesImageId: boolean;
  /** whether the image's creation time is the epoch (else the engine stamps the build time) */
  fixesCreated: boolean;
}

export function engineKind(program: string): EngineKind | undefined {
  const name = basename(program);
  return name === 'podman' || name === 'buildah' || name === 'docker' ? name : undefined;
}

export class EpochError extends Error {}

/** SOURCE_DATE_EPOCH as the reproducible-builds spec defines it: a decimal integer of seconds; unset or empty → 0. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return DEFAULT_EPOCH;
  if (!/^\d{1,12}$/.test(raw)) throw new EpochError(`SOURCE_DATE_EPOCH='${raw}' is not a number of seconds since 1970-01-01 (like 1700000000)`);
  return Number(raw);
}

export function buildCommand(req: BuildRequest): EngineCommand {
  const epoch = String(req.epoch);
  switch (req.kind) {
    case 'podman':
    case 'buildah':
      // --timestamp fixes the config's and history's times and every file time in the new layers;
      // --identity-label=false: no label naming the engine's version is added.
      return {
        args: ['build', '--timestamp', epoch, '--identity-label=false', '--iidfile', req.iidFile, '-t', req.tag, req.context],
        env: {},
        notes: [],
        writesImageId: true,
        fixesCreated: true,
      };
    case 'docker': {
      const features = req.docker ?? { buildkit: false, rewriteTimestamp: false };
      const args = ['build', '--build-arg', `SOURCE_DATE_EPOCH=${epoch}`, '--iidfile', req.iidFile, '-t', req.tag];
      const notes: string[] = [];
      if (!features.buildkit) {
        notes.push('docker has no buildx, so it uses the legacy builder, which stamps the build time on the image: two builds give two image IDs (install docker-buildx)');
      } else if (features.rewriteTimestamp) {
        args.push('--output', 'type=docker,rewrite-timestamp=true');
      } else {
        notes.push("this docker's BuildKit cannot rewrite file times in layers (needs docker ≥ 26 and buildx ≥ 0.13): files that RUN writes keep the build time, so two builds may give two image IDs");
      }
      args.push(req.context);
      return { args, env: { SOURCE_DATE_EPOCH: epoch }, notes, writesImageId: true, fixesCreated: features.buildkit };
    }
    default:
      return {
        args: ['build', '-t', req.tag, req.context],
        env: { SOURCE_DATE_EPOCH: epoch },
        notes: ['not docker, podman or buildah: built without a fixed timestamp, so two builds may give two image IDs'],
        writesImageId: false,
        fixesCreated: false,
      };
  }
}

/** Parses `docker buildx version` and the daemon's version (`docker version --format {{.Server.Version}}`); undefined = not there. */
export function dockerFeatures(buildxVersion: string | undefined, serverVersion: string | undefined): DockerFeatures {
  const buildx = version(buildxVersion);
  const server = version(serverVersion);
  const buildkit = buildx !== undefined;
  return {
    buildkit,
    rewriteTimestamp: buildkit && atLeast(buildx, [0, 13]) && server !== undefined && atLeast(server, [26, 0]),
  };
}

/** Asks the docker client what it can do (two quick commands). */
export function probeDocker(program: string): DockerFeatures {
  const ask = (args: string[]): string | undefined => {
    const r = spawnSync(program, args, { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? r.stdout : undefined;
  };
  return dockerFeatures(ask(['buildx', 'version']), ask(['version', '--format', '{{.Server.Version}}']));
}

/** The first x.y[.z] in a version line ("github.com/docker/buildx v0.14.1 59582a1", "26.1.3"). */
function version(text: string | undefined): number[] | undefined {
  const m = text === undefined ? null : /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

function atLeast(have: number[] | undefined, want: number[]): boolean {
  if (!have) return false;
  for (let i = 0; i < want.length; i++) {
    if (have[i] !== want[i]) return have[i] > want[i];
  }
  return true;
}

/** 0 → 1970-01-01T00:00:00Z */
export function epochDate(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
}
