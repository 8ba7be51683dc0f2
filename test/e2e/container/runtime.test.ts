// berth/base in a real container engine: /init as PID 1, stop, operating it
// with `podman exec … berth`, a prefixed image's logs, failure exit codes, commands given to /init, and
// zombie reaping under a pids limit.
// Images here are hand-written Dockerfiles FROM berth/base plus manifests.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { baseImage, buildContext, containerName, getEngine, release, unavailable, waitForLogs, type Engine } from './engine.js';

const IMAGE = 'localhost/berth-test/runtime';
const why = unavailable();
const thisFile = fileURLToPath(import.meta.url);

// A long-run that leaves `n` orphans behind, one at a time: each `sh -c` exits
// at once and its `sleep` is re-parented to PID 1. Without a reaper they stay
// zombies and count against the pids limit until forks fail.
const orphans = (n: number): string => `
failed=0; i=0
while [ $i -lt ${n} ]; do
  sh -c 'sleep 0.01 & exit 0' 2>/dev/null || failed=$((failed + 1))
  i=$((i + 1))
done
echo "orphans: ${n} spawned, $failed forks failed"
`;

const manifests: Record<string, unknown> = {
  'main.json': {
    version: 1,
    services: {
      whoispid1: { type: 'oneshot-pre', script: `echo "PID1: $(tr '\\0' ' ' < /proc/1/cmdline)"` },
      idle: { execStart: ['sleep', 'infinity'] },
      stubborn: { script: "trap 'echo stubborn: got TERM; exit 0' TERM; while :; do sleep 0.1; done" },
    },
  },
  'fail.json': {
    version: 1,
    services: {
      idle: { execStart: ['sleep', 'infinity'] },
      bad: { script: 'sleep 0.5; echo "bad: the database is unreachable, giving up"; exit 7' },
    },
  },
  'user.json': {
    version: 1,
    services: { asroot: { user: 'root', script: 'id' } },
  },
  'prefix.json': {
    version: 1,
    logging: { format: 'prefix' },
    services: {
      web: { script: 'echo "web says hi"; echo "web warns" >&2; exec sleep infinity' },
      'db-primary': { script: 'echo "db ready"; exec sleep infinity' },
    },
  },
  'orphans.json': {
    version: 1,
    services: { spawner: { script: `${orphans(300)}\nexec sleep infinity` } },
  },
};

if (why) {
  test('container tier (skipped)', (t) => {
    t.log(why);
    t.pass();
  });
} else {
  const e: Engine = getEngine(thisFile);

  test.before('berth/base is built (local parent image, then Dockerfile.base) and a test image FROM it', async (t) => {
    t.timeout(600_000);
    await baseImage(e, (m) => t.log(m));
    const files: Record<string, string> = {
      Dockerfile: ['FROM localhost/berth/base', 'ENV GREETING="hello from the image"', 'COPY *.json /etc/berth/', 'RUN cp /etc/berth/main.json /etc/berth/manifest.json', ''].join('\n'),
    };
    for (const [name, manifest] of Object.entries(manifests)) files[name] = JSON.stringify(manifest);
    const r = await buildContext(e, IMAGE, files);
    t.log(`test image built in ${(r.ms / 1000).toFixed(1)} s`);
    if (r.code !== 0) throw new Error(`building the test image failed:\n${r.stderr}`);
  });

  test.after.always('the containers and the store are removed', async () => {
    await release(thisFile);
  });

  test.serial('/init is PID 1, and `podman stop` ends the container promptly with exit 0', async (t) => {
    const name = containerName('pid1');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', '--env', 'BERTH_DEBUG=1', IMAGE]);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /all stages done/);
    t.regex(logs, /^PID1: node( --[a-z-]+(=\S+)?)* \/opt\/berth\/dist\/src\/cli\/init-start\.cjs init\s*$/m);
    // Dockerfile.base wrote the bundle's code cache with the image's node
    t.regex(logs, /code cache \/opt\/berth\/dist\/src\/cli\/init\.bundle\.cache used/);
    t.regex(logs, /\[berth\] init started \(pid 1, PID 1\)/);
    const stop = await e.podman(['stop', '--time', '10', name]);
    t.is(stop.code, 0, stop.stderr);
    t.log(`podman stop took ${stop.ms} ms`);
    t.true(stop.ms < 5000, `podman stop took ${stop.ms} ms`);
    const state = await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}']);
    t.is(state.stdout.trim(), '0');
    const after = await e.podman(['logs', name]);
    t.regex(after.stdout, /stubborn: got TERM/);
    t.regex(after.stdout, /\[berth\] exiting with code 0/);
  });

  test.serial('`podman exec NAME berth status` and `berth restart` operate the running container', async (t) => {
    const name = containerName('operate');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', IMAGE]);
    t.is(started.code, 0, started.stderr);
    await waitForLogs(e, name, /all stages done/);
    const status = await e.podman(['exec', name, 'berth', 'status']);
    t.is(status.code, 0, status.stderr);
    t.regex(status.stdout, /^init pid 1 \(running\), state dir \/run\/berth$/m);
    t.regex(status.stdout, /^idle +long-run +up +\d+ +\d+s +0 +- +\d+\.\d% +\d+(\.\d)?[KM]$/m);
    t.regex(status.stdout, /^whoispid1 +oneshot-pre +finished/m);
    const before = JSON.parse((await e.podman(['exec', name, 'berth', 'status', '--json'])).stdout) as Array<{ name: string; pid: number }>;
    const restart = await e.podman(['exec', name, 'berth', 'restart', 'idle']);
    t.is(restart.code, 0, restart.stderr);
    t.regex(restart.stdout, /^idle: started \(pid \d+\)$/m);
    const after = JSON.parse((await e.podman(['exec', name, 'berth', 'status', '--json'])).stdout) as Array<{ name: string; pid: number }>;
    const pid = (rows: typeof before, n: string): number => rows.find((r) => r.name === n)!.pid;
    t.not(pid(after, 'idle'), pid(before, 'idle'));
    t.is(pid(after, 'stubborn'), pid(before, 'stubborn'));
    const unknown = await e.podman(['exec', name, 'berth', 'stop', 'idel']);
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /did you mean 'idle'\?/);
  });

  test.serial('a prefixed image: `podman logs` shows NAME | line, and `podman exec NAME berth logs` the raw lines', async (t) => {
    const name = containerName('prefix');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', '-e', 'BERTH_MANIFEST=/etc/berth/prefix.json', IMAGE]);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /all stages done[\s\S]*db-primary \| db ready|db-primary \| db ready[\s\S]*all stages done/);
    t.regex(logs, /^web        \| web says hi$/m);
    t.regex(logs, /^web        \| web warns$/m);
    t.regex(logs, /^db-primary \| db ready$/m);
    t.regex(logs, /^\[berth\] web: started/m);
    const kept = await e.podman(['exec', name, 'berth', 'logs', 'web']);
    t.is(kept.code, 0, kept.stderr);
    t.is(kept.stdout, 'web says hi\nweb warns\n');
  });

  test.serial('a failing service ends the container with its exit code, and `podman logs` say why', async (t) => {
    const name = containerName('fail');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const r = await e.podman(['run', '--name', name, '--network', 'none', '-e', 'BERTH_MANIFEST=/etc/berth/fail.json', IMAGE], { timeoutMs: 30_000 });
    t.is(r.code, 7, r.stdout + r.stderr);
    t.true(r.ms < 10_000, `took ${r.ms} ms`);
    const logs = (await e.podman(['logs', name])).stdout;
    t.regex(logs, /bad: the database is unreachable, giving up/);
    t.regex(logs, /\[berth\] bad: .*code 7/);
    t.regex(logs, /\[berth\] shutting down \(bad failed\)/);
    t.regex(logs, /\[berth\] exiting with code 7/);
  });

  test.serial('`podman run IMAGE COMMAND` runs the services, then COMMAND as the main program; its exit code ends the container', async (t) => {
    const env = await e.podman(['run', '--rm', '--network', 'none', IMAGE, 'env']);
    t.is(env.code, 0, env.stderr);
    t.regex(env.stdout, /^GREETING=hello from the image$/m);
    t.true(env.stdout.indexOf('[berth] all stages done') < env.stdout.indexOf('GREETING='), 'the services first');
    t.regex(env.stdout, /\[berth\] the main command exited with code 0/);
    t.regex(env.stdout, /stubborn: got TERM/, 'then the services are stopped');
    const code = await e.podman(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'exit 3']);
    t.is(code.code, 3);
    const stdin = await e.podman(['run', '--rm', '-i', '--network', 'none', IMAGE, 'sh', '-c', 'read x; echo "main read $x"'], { input: 'from-stdin\n' });
    t.regex(stdin.stdout, /^main read from-stdin$/m, 'the main command gets the container stdin');
    const alone = await e.podman(['run', '--rm', '--network', 'none', '--entrypoint', 'env', IMAGE]);
    t.regex(alone.stdout, /^GREETING=hello from the image$/m);
    t.notRegex(alone.stdout, /\[berth\]/, 'a command alone, without services: --entrypoint');
    const help = await e.podman(['run', '--rm', '--network', 'none', IMAGE, '--help']);
    t.regex(help.stdout, /berth init \[STATE_DIR\]/, 'options still go to berth init');
  });

  test.serial('any uid, read-only root: the state dir falls back to /tmp/berth-UID (or to none), and berth status finds it', async (t) => {
    const name = containerName('nonroot');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', '--user', '1000:1000', '--read-only', IMAGE]);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /all stages done/);
    t.regex(logs, /cannot use state dir \/run\/berth: EACCES; using state dir \/tmp\/berth-1000 instead/);
    const status = await e.podman(['exec', name, 'berth', 'status']);
    t.is(status.code, 0, status.stderr);
    t.regex(status.stdout, /state dir \/tmp\/berth-1000/);
    t.regex(status.stdout, /^idle +long-run +up/m);
    const stop = await e.podman(['stop', '--time', '10', name]);
    t.is(stop.code, 0);
    t.is((await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');

    // no tmpfs on /run or /tmp: /dev/shm
    const shm = await e.podman(['run', '--rm', '--network', 'none', '--user', '1000:1000', '--read-only', '--read-only-tmpfs=false', IMAGE, 'echo', 'MAIN-RAN']);
    t.is(shm.code, 0, shm.stdout + shm.stderr);
    t.regex(shm.stdout, /using state dir \/dev\/shm\/berth-1000 instead/);
    t.regex(shm.stdout, /^MAIN-RAN$/m);
    // no writable dir at all (no /dev/shm either): it runs anyway, without a state dir
    const bare = await e.podman(['run', '--rm', '--network', 'none', '--ipc', 'none', '--user', '1000:1000', '--read-only', '--read-only-tmpfs=false', IMAGE, 'echo', 'MAIN-RAN']);
    t.is(bare.code, 0, bare.stdout + bare.stderr);
    t.regex(bare.stdout, /running without a state dir/);
    t.regex(bare.stdout, /^MAIN-RAN$/m);

    // user: needs root: an error before anything starts
    const user = await e.podman(['run', '--rm', '--network', 'none', '--user', '1000:1000', '-e', 'BERTH_MANIFEST=/etc/berth/user.json', IMAGE]);
    t.is(user.code, 2);
    t.regex(user.stderr, /services\.asroot\.user: switching to user 'root' needs the init to run as root \(it runs as uid 1000\)/);
  });

  test.serial('under --pids-limit 64 a service that leaves 300 orphans keeps running, because /init reaps them', async (t) => {
    t.timeout(120_000);
    // the control: node as PID 1 reaps only its own children, so the orphans pile up and forks fail
    const control = await e.podman([
      'run', '--rm', '--network', 'none', '--pids-limit', '64', '--entrypoint', 'node', IMAGE, '-e',
      `require('child_process').spawn('/bin/sh', ['-c', ${JSON.stringify(orphans(300))}], { stdio: 'inherit' }).on('exit', (c) => process.exit(c ?? 1))`,
    ], { timeoutMs: 60_000 });
    const controlFailed = Number(/(\d+) forks failed/.exec(control.stdout)?.[1] ?? -1);
    t.log(`node as PID 1: ${control.stdout.trim()}`);
    t.true(controlFailed > 0, `the pids limit did not bite without a reaper: ${control.stdout}${control.stderr}`);

    const name = containerName('orphans');
    t.teardown(() => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', '--pids-limit', '64', '-e', 'BERTH_MANIFEST=/etc/berth/orphans.json', IMAGE]);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /orphans: \d+ spawned/, 60_000);
    t.regex(logs, /orphans: 300 spawned, 0 forks failed/);
    const state = await e.podman(['inspect', name, '--format', '{{.State.Running}}']);
    t.is(state.stdout.trim(), 'true', 'the container keeps running');
    const zombies = await e.podman(['exec', name, 'sh', '-c', "grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l"]);
    t.is(zombies.stdout.trim(), '0', 'no zombie is left');
    const stop = await e.podman(['stop', '--time', '10', name]);
    t.is(stop.code, 0);
  });
}
