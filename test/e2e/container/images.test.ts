// The predefined images/*, built with `berth build` FROM berth/base and run in
// a real container engine: accounts, ENV, published ports, nginx, the systemd
// ordering, a Node app with its oneshots.
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { baseImage, buildImage, containerName, getEngine, release, repoRoot, unavailable, waitForLogs, type Engine } from './engine.js';

const thisFile = fileURLToPath(import.meta.url);
const why = unavailable() ?? (existsSync(join(repoRoot, 'dist/src/cli/build.js')) ? undefined : 'berth build is not there yet (dist/src/cli/build.js); image tests skipped');

if (why) {
  test('container tier: images (skipped)', (t) => {
    t.log(why);
    t.pass();
  });
} else {
  const e: Engine = getEngine(thisFile);

  const berthBuild = (definition: string, tag: string) => buildImage(e, definition, tag);

  /** images/NAME built once per run; its tag, image ID and build context. */
  const built = new Map<string, Promise<{ tag: string; id: string; ctx: string }>>();
  const image = (name: string, log: (m: string) => void): Promise<{ tag: string; id: string; ctx: string }> => {
    if (!built.has(name)) {
      built.set(name, (async () => {
        const tag = `localhost/berth-test/${name}`;
        const { id, ms, ctx } = await berthBuild(join(repoRoot, 'images', name, 'image.yaml'), tag);
        log(`${name}: berth build --tag in ${(ms / 1000).toFixed(1)} s, ${id}`);
        return { tag, id, ctx };
      })());
    }
    return built.get(name)!;
  };

  /**
   * `podman kube play CONTEXT/kube.yaml`, then until its container answers
   * `berth check --ready` (podman 4 runs only the livenessProbe as a
   * healthcheck, so the readiness probe's command is run with podman exec),
   * then (with `until`) until the init's log matches it, then `podman kube
   * down`. Returns what it saw and how long each step took.
   */
  const kubePlay = async (ctx: string, t: { log(m: string): void; teardown(f: () => Promise<void>): void }, until?: RegExp) => {
    const file = join(ctx, 'kube.yaml');
    const kube = parse(readFileSync(file, 'utf8')) as { spec: { template: { spec: { terminationGracePeriodSeconds: number } } } };
    const grace = kube.spec.template.spec.terminationGracePeriodSeconds;
    let up = true;
    t.teardown(async () => {
      if (up) await e.podman(['kube', 'down', file]);
    });
    const play = await e.podman(['kube', 'play', file], { timeoutMs: 180_000 });
    if (play.code !== 0) throw new Error(`podman kube play failed (exit ${play.code}): ${play.stdout}${play.stderr}`);
    const pod = /Pod:\s*\n([0-9a-f]{64})/.exec(play.stdout)?.[1];
    const id = /Container:\s*\n([0-9a-f]{64})/.exec(play.stdout)?.[1];
    if (!pod || !id) throw new Error(`podman kube play named no pod or container: ${play.stdout}`);
    // the init's log, held open so that it can be read to its end after kube down removed the container
    const logPath = (await e.podman(['inspect', id, '--format', '{{.HostConfig.LogConfig.Path}}'])).stdout.trim();
    const logFd = openSync(logPath, 'r');
    const started = Date.now();
    let ready = { code: -1, stdout: '', stderr: '', ms: 0 };
    while (Date.now() - started < 30_000) {
      ready = await e.podman(['exec', id, 'berth', 'check', '--ready']);
      if (ready.code === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const readyMs = Date.now() - started;
    // ready is the long-runs': a oneshot-post task may still be running
    while (until && !until.test(readFileSync(logPath, 'utf8')) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 250));
    const user = (await e.podman(['exec', id, 'id', '-u'])).stdout.trim();
    const live = await e.podman(['healthcheck', 'run', id]);
    // podman 4.3's kube down SIGKILLs the pod (exit 137, seen): stop it as a kubelet would first, SIGTERM then the grace
    const stop = await e.podman(['pod', 'stop', '--time', String(grace), pod], { timeoutMs: 120_000 });
    const exitCode = (await e.podman(['inspect', id, '--format', '{{.State.ExitCode}}'])).stdout.trim();
    const down = await e.podman(['kube', 'down', file], { timeoutMs: 120_000 });
    up = down.code !== 0;
    const output = readFileSync(logFd, 'utf8');
    closeSync(logFd);
    t.log(`kube play ${(play.ms / 1000).toFixed(1)} s, ready ${(readyMs / 1000).toFixed(1)} s later, pod stop ${(stop.ms / 1000).toFixed(1)} s (grace ${grace} s), kube down ${(down.ms / 1000).toFixed(1)} s`);
    return { play, ready, readyMs, user, live, stop, exitCode, down, grace, output };
  };
  const remove = (name: string) => () => e.podman(['rm', '--force', '--time', '0', name]).then(() => undefined);

  test.before('berth/base is built', async (t) => {
    t.timeout(600_000);
    await baseImage(e, (m) => t.log(m));
  });

  test.after.always('the containers and the store are removed', async () => {
    await release(thisFile);
  });

  test.serial('example: alice exists with her groups, and `podman run IMAGE env` shows image.env', async (t) => {
    t.timeout(180_000);
    const { tag } = await image('example', (m) => t.log(m));
    const id = await e.podman(['run', '--rm', '--network', 'none', tag, 'id', 'alice']);
    t.is(id.code, 0, id.stderr);
    t.regex(id.stdout, /^uid=\d+\(alice\) gid=\d+\(\w+\) groups=.*\(wheel\)/m, "the main command runs after the services");
    const env = await e.podman(['run', '--rm', '--network', 'none', tag, 'env']);
    t.regex(env.stdout, /^GREETING=hello from the example image$/m);
    t.regex(env.stdout, /^LANG=C\.UTF-8$/m);
    // and with its services: the whoami service runs as alice
    const name = containerName('example');
    t.teardown(remove(name));
    t.is((await e.podman(['run', '-d', '--name', name, '--network', 'none', tag])).code, 0);
    const logs = await waitForLogs(e, name, /uid=\d+\(alice\)/);
    t.regex(logs, /hello from the example image/);
    t.regex(logs, /uid=\d+\(alice\)/);
    t.is((await e.podman(['stop', '--time', '10', name])).code, 0);
    t.is((await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');
  });

  test.serial('example-systemd: the logs show the units in order', async (t) => {
    t.timeout(180_000);
    const { tag } = await image('example-systemd', (m) => t.log(m));
    const name = containerName('systemd');
    t.teardown(remove(name));
    t.is((await e.podman(['run', '-d', '--name', name, '--network', 'none', tag])).code, 0);
    const logs = await waitForLogs(e, name, /all stages done/);
    const at = (re: RegExp): number => {
      const m = re.exec(logs);
      t.truthy(m, `${re} is not in the logs:\n${logs}`);
      return m ? m.index : -1;
    };
    const first = at(/^first$/m);
    const beforeSecond = at(/^before second$/m);
    const second = at(/^second$/m);
    const ticker = at(/\[berth\] ticker: started/);
    const tick = at(/^tick 1$/m);
    const announce = at(/^all long-runs started$/m);
    t.true(first < beforeSecond && beforeSecond < second, 'first, then second with its preStart');
    t.true(second < ticker, 'oneshots before the long-runs');
    t.true(ticker < announce, 'the oneshot after ticker runs once it started');
    t.true(tick > 0);
    t.is((await e.podman(['stop', '--time', '10', name])).code, 0);
    t.is((await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');
  });

  test.serial('nginx: the exposed port is published with -P and a GET from the host gets the file', async (t) => {
    t.timeout(300_000);
    const { tag } = await image('nginx', (m) => t.log(m));
    const name = containerName('nginx');
    t.teardown(remove(name));
    const started = await e.podman(['run', '-d', '--name', name, '-P', tag]);
    t.is(started.code, 0, started.stderr);
    const port = await e.podman(['port', name, '80/tcp']);
    const hostPort = /:(\d+)\s*$/.exec(port.stdout.trim())?.[1];
    t.truthy(hostPort, `80/tcp is not published: ${port.stdout}${port.stderr}`);
    // the oneshot-post waits for nginx to be ready (it accepts connections), then GETs a file
    const logs = await waitForLogs(e, name, /smoke-test: nginx answered HTTP \d+/, 60_000);
    t.regex(logs, /smoke-test: nginx answered HTTP 200/);
    t.true(logs.indexOf('[berth] nginx: ready') < logs.indexOf('[berth] smoke-test: started'), 'the oneshot-post starts once nginx is ready');
    t.notRegex(logs, /smoke-test: (exited with code [1-9]|could not start)/);
    const expected = readFileSync(join(repoRoot, 'images/nginx/www/hello.txt'), 'utf8');
    let body = '';
    let status = 0;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      try {
        const res = await fetch(`http://127.0.0.1:${hostPort}/hello.txt`);
        status = res.status;
        body = await res.text();
        if (status === 200) break;
      } catch {
        // nginx is not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    t.is(status, 200, (await e.podman(['logs', name])).stdout);
    t.is(body, expected);
    t.is((await e.podman(['stop', '--time', '10', name])).code, 0);
  });

  test.serial('node-app: migrate, web and worker as app, then provision talks to web', async (t) => {
    t.timeout(180_000);
    const { tag } = await image('node-app', (m) => t.log(m));
    const name = containerName('node-app');
    t.teardown(remove(name));
    t.is((await e.podman(['run', '-d', '--name', name, '--network', 'none', tag])).code, 0);
    const logs = await waitForLogs(e, name, /all stages done|exiting with code/, 30_000);
    t.regex(logs, /\[berth\] migrate: exited with code 0/);
    t.regex(logs, /\[berth\] provision: exited with code 0/);
    t.regex(logs, /\[berth\] all stages done/);
    t.is((await e.podman(['stop', '--time', '10', name])).code, 0);
    t.is((await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');
  });

  test.serial("example: built again without the layer cache it has the same image ID, created 1970-01-01; one byte changed in a service's command changes it", async (t) => {
    t.timeout(300_000);
    const first = await image('example', (m) => t.log(m));
    const again = await berthBuild(join(repoRoot, 'images/example/image.yaml'), 'localhost/berth-test/example-again');
    t.log(`example again: ${(again.ms / 1000).toFixed(1)} s, ${again.id}`);
    t.is(again.id, first.id);
    const created = await e.podman(['image', 'inspect', '--format', '{{.Created}}', first.tag]);
    t.regex(created.stdout, /^1970-01-01 00:00:00 \+0000 UTC$/m);

    // The same definition with one byte of the whoami service's command changed.
    const copy = join(e.dir, 'definitions');
    mkdirSync(join(copy, 'example'), { recursive: true });
    mkdirSync(join(copy, 'common'), { recursive: true });
    copyFileSync(join(repoRoot, 'images/common/base.yaml'), join(copy, 'common/base.yaml'));
    const original = readFileSync(join(repoRoot, 'images/example/image.yaml'), 'utf8');
    const changed = original.replace('exec sleep infinity', 'exec sleep infinitY');
    t.is(changed.length, original.length);
    t.not(changed, original);
    writeFileSync(join(copy, 'example/image.yaml'), changed);
    const other = await berthBuild(join(copy, 'example/image.yaml'), 'localhost/berth-test/example-changed');
    t.log(`example with one byte changed: ${(other.ms / 1000).toFixed(1)} s, ${other.id}`);
    t.not(other.id, first.id);
  });

  test.serial('nginx: its apt-get install gives the same image ID twice (apt logs and caches are left out)', async (t) => {
    t.timeout(300_000);
    const first = await image('nginx', (m) => t.log(m));
    const again = await berthBuild(join(repoRoot, 'images/nginx/image.yaml'), 'localhost/berth-test/nginx-again');
    t.log(`nginx again: ${(again.ms / 1000).toFixed(1)} s, ${again.id}`);
    t.is(again.id, first.id);
  });

  test.serial('nginx: podman kube play of its kube.yaml runs the pod (root, as the file says), ready per berth check; it stops cleanly within the grace and kube down removes it', async (t) => {
    t.timeout(300_000);
    const { ctx } = await image('nginx', (m) => t.log(m));
    const r = await kubePlay(ctx, t);
    t.is(r.ready.code, 0, `berth check --ready: ${r.ready.stdout}${r.ready.stderr}\n${r.output}`);
    t.is(r.user, '0');
    t.is(r.live.code, 0, `liveness healthcheck: ${r.live.stdout}${r.live.stderr}`);
    t.is(r.stop.code, 0, r.stop.stderr);
    t.true(r.stop.ms < r.grace * 1000, `pod stop took ${r.stop.ms} ms, the grace is ${r.grace} s`);
    t.is(r.exitCode, '0', r.output);
    t.is(r.down.code, 0, r.down.stderr);
    t.regex(r.output, /\[berth\] smoke-test: exited with code 0/);
    t.regex(r.output, /\[berth\] exiting with code 0/, r.output);
  });

  test.serial('stack: nginx, postgresql and redis from their modules; the app runs once both databases said they are ready; podman stop ends all cleanly within the grace', async (t) => {
    t.timeout(600_000);
    const { tag, ctx } = await image('stack', (m) => t.log(m));
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const file = join(e.dir, 'stack_app_password');
    writeFileSync(file, `${password}\n`);
    const secret = `stack_app_password_${process.pid}`;
    t.is((await e.podman(['secret', 'create', secret, file])).code, 0);
    t.teardown(() => e.podman(['secret', 'rm', secret]).then(() => undefined));
    const name = containerName('stack');
    t.teardown(remove(name));
    const started = await e.podman(['run', '-d', '--name', name, '--network', 'none', '--secret', `${secret},target=/run/keys/app_password`, tag]);
    t.is(started.code, 0, started.stderr);
    const logs = await waitForLogs(e, name, /app: postgresql has|app: exited with code [1-9]/, 120_000);
    t.regex(logs, /app: postgresql has 1 visit\(s\), redis counted 1 hit\(s\), nginx served the page \(1\)/, logs);
    t.regex(logs, /\[berth\] postgresql: ready/);
    t.regex(logs, /\[berth\] redis: ready/);
    t.false(logs.includes(password), 'the password is nowhere in the logs');
    const status = await e.podman(['exec', name, 'berth', 'status']);
    t.regex(status.stdout, /^redis\s+long-run\s+up\s.*Ready to accept connections\s*$/m, status.stdout);
    const kube = parse(readFileSync(join(ctx, 'kube.yaml'), 'utf8')) as { spec: { template: { spec: { terminationGracePeriodSeconds: number } } } };
    const grace = kube.spec.template.spec.terminationGracePeriodSeconds;
    const stop = await e.podman(['stop', '--time', String(grace), name], { timeoutMs: 120_000 });
    t.is(stop.code, 0, stop.stderr);
    t.true(stop.ms < grace * 1000, `podman stop took ${stop.ms} ms, the grace is ${grace} s`);
    t.is((await e.podman(['inspect', name, '--format', '{{.State.ExitCode}}'])).stdout.trim(), '0');
    const ended = await e.podman(['logs', name]);
    const all = ended.stdout + ended.stderr;
    t.regex(all, /database system is shut down/);
    t.regex(all, /ready to exit, bye bye/);
    t.regex(all, /\[berth\] exiting with code 0/);
  });

  test.serial('stack: its kube.yaml plays under podman kube play with the password from the Secret stack-secrets; ready per berth check; it stops cleanly within the grace', async (t) => {
    t.timeout(600_000);
    const { ctx } = await image('stack', (m) => t.log(m));
    // hex: valid base64 text as it is, which podman before 4.4 needs (below)
    const password = randomBytes(12).toString('hex');
    // podman before 4.4 checks that a Secret's data is base64, then writes it as it is, undecoded (podman issue #16625)
    const version = (await e.podman(['version', '--format', '{{.Client.Version}}'])).stdout.trim();
    const [major, minor] = version.split('.').map(Number);
    const raw = major < 4 || (major === 4 && minor < 4);
    const value = raw ? password : Buffer.from(password).toString('base64');
    const secretFile = join(e.dir, 'stack-secret.yaml');
    writeFileSync(secretFile, `apiVersion: v1\nkind: Secret\nmetadata:\n  name: stack-secrets\ndata:\n  app_password: ${value}\n`);
    const made = await e.podman(['kube', 'play', secretFile]);
    t.is(made.code, 0, made.stderr);
    t.teardown(() => e.podman(['secret', 'rm', 'stack-secrets']).then(() => undefined));
    const r = await kubePlay(ctx, t, /app: postgresql has|app: (exited|stopped)/);
    t.is(r.ready.code, 0, `berth check --ready: ${r.ready.stdout}${r.ready.stderr}\n${r.output}`);
    t.regex(r.output, /app: postgresql has \d+ visit\(s\), redis counted \d+ hit\(s\), nginx served the page \(1\)/, r.output);
    t.is(r.stop.code, 0, r.stop.stderr);
    t.true(r.stop.ms < r.grace * 1000, `pod stop took ${r.stop.ms} ms, the grace is ${r.grace} s`);
    t.is(r.exitCode, '0', r.output);
    t.regex(r.output, /database system is shut down/);
    t.false(r.output.includes(password), 'the password is nowhere in the logs');
  });

  // podman's emptyDirs on /run and /tmp are root's 0755 (it ignores fsGroup): the init falls back to a state dir it can write
  test.serial('example-systemd: podman kube play runs it as uid 1000 with a read-only root, ready per berth check; it stops cleanly within the grace', async (t) => {
    t.timeout(300_000);
    const { ctx } = await image('example-systemd', (m) => t.log(m));
    const kube = readFileSync(join(ctx, 'kube.yaml'), 'utf8');
    t.regex(kube, /readOnlyRootFilesystem: true/);
    const r = await kubePlay(ctx, t);
    t.is(r.user, '1000');
    t.is(r.ready.code, 0, `berth check --ready: ${r.ready.stdout}${r.ready.stderr}\n${r.output}`);
    t.is(r.live.code, 0, `liveness healthcheck: ${r.live.stdout}${r.live.stderr}`);
    t.is(r.stop.code, 0, r.stop.stderr);
    t.true(r.stop.ms < r.grace * 1000, `pod stop took ${r.stop.ms} ms, the grace is ${r.grace} s`);
    t.is(r.exitCode, '0', r.output);
    t.is(r.down.code, 0, r.down.stderr);
    t.regex(r.output, /\[berth\] exiting with code 0/, r.output);
  });
}
