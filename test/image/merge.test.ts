import test from 'ava';
import { evaluate } from '../fixtures/image/helpers.js';

test('lists concatenate in import order and mappings merge key by key', async (t) => {
  const { build, problems } = await evaluate(t, {
    'base.yaml': 'packages: [curl]\nimage:\n  env: { A: "1" }\n  run: [echo base]\nservices:\n  web: { script: echo web }\n',
    'image.yaml': 'imports: [./base.yaml]\npackages: [jq, curl]\nimage:\n  env: { B: "2" }\n  run: [echo top]\nservices:\n  web: { restartOnFailure: true }\n  db: { script: echo db }\n',
  });
  t.deepEqual(problems, []);
  t.deepEqual(build!.config.packages, ['curl', 'jq', 'curl']);
  t.deepEqual(build!.packages, ['curl', 'jq'], 'installed once each, sorted');
  t.deepEqual(build!.config.image.env, { A: '1', B: '2' });
  t.deepEqual(build!.config.image.run, ['echo base', 'echo top']);
  t.deepEqual(Object.keys(build!.manifest.services), ['web', 'db']);
  t.like(build!.manifest.services.web, { script: 'echo web', restartOnFailure: true });
});

test('two different values for a single-valued option are an error naming both files and lines', async (t) => {
  const { build, problems } = await evaluate(t, {
    'base.yaml': 'image:\n  name: base\n',
    'image.yaml': 'imports: [./base.yaml]\nimage:\n  name: top\n',
  });
  t.is(build, undefined);
  t.is(problems.length, 1);
  t.regex(problems[0], /^image\.yaml:3:9: image\.name: conflicting definitions: "top" here and "base" at .*base\.yaml:2:9;/);
});

test('equal definitions in two files are not a conflict', async (t) => {
  const { problems } = await evaluate(t, { 'base.yaml': 'image: { name: same }\n', 'image.yaml': 'imports: [base.yaml]\nimage: { name: same }\n' });
  t.deepEqual(problems, []);
});

test('!default yields to a plain definition, !force wins over it, !override:N sets the number', async (t) => {
  const { build, problems } = await evaluate(t, {
    'base.yaml': 'image:\n  name: !default base\n  tag: !force pinned\n  workingDir: !override:10 /ten\n',
    'image.yaml': 'imports: [./base.yaml]\nimage:\n  name: top\n  tag: mine\n  workingDir: !force /fifty\n',
  });
  t.deepEqual(problems, []);
  t.is(build!.config.image.name, 'top');
  t.is(build!.config.image.tag, 'pinned');
  t.is(build!.config.image.workingDir, '/ten', 'priority 10 beats !force (50)');
});

test('a default alone is used, with its scalar type resolved as YAML would', async (t) => {
  const { build } = await evaluate(t, { 'image.yaml': 'image:\n  interactive: !default true\nservices:\n  a: { script: x, restartOnFailure: !default true }\n' });
  t.true(build!.config.image.interactive);
  t.true(build!.manifest.services.a.restartOnFailure);
});

test('!force on a mapping replaces the other definitions of it as a whole', async (t) => {
  const { build } = await evaluate(t, {
    'base.yaml': 'image:\n  env: { A: "1", B: "2" }\n',
    'image.yaml': 'imports: [./base.yaml]\nimage:\n  env: !force { C: "3" }\n',
  });
  t.deepEqual(build!.config.image.env, { C: '3' });
});

test('enable: false switches off a service and an /etc file defined elsewhere', async (t) => {
  const { build, problems } = await evaluate(t, {
    'base.yaml': 'services:\n  debug: { script: sleep 1 }\nenvironment:\n  etc:\n    motd: { text: hi }\n    keep: { text: kept }\n',
    'image.yaml': 'imports: [./base.yaml]\nservices:\n  debug: { enable: false }\nenvironment:\n  etc:\n    motd: { enable: false }\n',
  });
  t.deepEqual(problems, []);
  t.false(build!.manifest.services.debug.enable);
  t.deepEqual(build!.etc.map((f) => f.target), ['keep']);
});

test('imports are relative to the importing file, and a file imported twice is read once', async (t) => {
  const { evaluation, problems } = await evaluate(t, {
    'common/base.yaml': 'packages: [curl]\n',
    'common/web.yaml': 'imports: [./base.yaml]\npackages: [nginx]\n',
    'app/image.yaml': 'imports: [../common/web.yaml, ../common/base.yaml]\npackages: [jq]\n',
  }, 'app/image.yaml');
  t.deepEqual(problems, []);
  t.deepEqual(evaluation.build!.config.packages, ['curl', 'nginx', 'jq']);
  t.deepEqual(evaluation.files.map((f) => f.replace(/^.*berth-image-[^/]+\//, '')), ['common/base.yaml', 'common/web.yaml', 'app/image.yaml']);
});

test('an import cycle is an error that shows the cycle, at the import that closes it', async (t) => {
  const { problems } = await evaluate(t, {
    'image.yaml': 'imports: [./a.yaml]\n',
    'a.yaml': 'imports: [./b.yaml]\n',
    'b.yaml': '# comment\nimports: [./image.yaml]\n',
  });
  t.is(problems.length, 1);
  t.regex(problems[0], /^b\.yaml:2:11: imports: import cycle: .*image\.yaml -> .*a\.yaml -> .*b\.yaml -> .*image\.yaml$/);
});

test('a missing import is reported at the import; an absolute one is refused', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'imports:\n  - ./nope.yaml\n  - /etc/passwd\n' });
  t.is(problems.length, 2);
  t.regex(problems[0], /^image\.yaml:2:5: imports: no such file: .*nope\.yaml$/);
  t.is(problems[1], "image.yaml:3:5: imports: imports are relative to this file; '/etc/passwd' is absolute");
});

test('type errors point into the file that made them, imported files included', async (t) => {
  const { problems } = await evaluate(t, {
    'base.yaml': 'image:\n  nmae: x\npackages: curl\n',
    'image.yaml': 'imports: [./base.yaml]\nservices:\n  web: { scirpt: x }\n',
  });
  t.deepEqual(problems, [
    "image.yaml:3:10: services.web.scirpt: unknown field 'scirpt'; did you mean 'script'?",
    "base.yaml:2:3: image.nmae: unknown field 'nmae'; did you mean 'name'?",
    'base.yaml:3:11: packages: expected a list, got the string "curl"',
  ]);
});

test('an unknown tag is an error that lists the known ones', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'image:\n  name: !mkForce x\n' });
  t.is(problems.length, 1);
  t.regex(problems[0], /^image\.yaml:2:18: : unknown tag '!mkForce'; Berth knows !default, !force and !override:N/);
});

test('services are checked by the manifest rules, located in the definition', async (t) => {
  const { problems } = await evaluate(t, {
    'image.yaml': 'services:\n  web:\n    script: x\n    after: [db]\n',
  });
  t.deepEqual(problems, ["image.yaml:4:13: services.web.after[0]: unknown service 'db'"]);
});

test('assertions fail the build with their message; warnings are printed', async (t) => {
  const { problems, warnings } = await evaluate(t, {
    'image.yaml': 'assertions:\n  - { assertion: false, message: not ready yet }\nwarnings: [be careful]\n',
  });
  t.deepEqual(problems, ['image.yaml:2:5: assertions[0]: assertion failed: not ready yet']);
  t.deepEqual(warnings, ['image.yaml:3:12: warnings[0]: be careful']);
});

test('a module asserts on its own options: nginx without virtual hosts', async (t) => {
  const { problems } = await evaluate(t, { 'image.yaml': 'nginx:\n  enable: true\n' });
  t.deepEqual(problems, ['image.yaml:2:11: nginx: assertion failed: nginx.enable is true but nginx.virtualHosts is empty: give at least one host with a root (nginx module)']);
});

test('the nginx module defines a package, a config under /etc, a long-run and the port, merged like any definition', async (t) => {
  const { build, problems } = await evaluate(t, {
    'image.yaml': 'packages: [curl]\nnginx:\n  enable: true\n  virtualHosts:\n    example.com: { root: /srv/www, port: 8080 }\nservices:\n  nginx: { restartOnFailure: false }\n',
  });
  t.deepEqual(problems, []);
  t.deepEqual(build!.packages, ['curl', 'nginx']);
  t.deepEqual(build!.manifest.services.nginx.execStart, ['/usr/sbin/nginx', '-c', '/etc/nginx/nginx.conf']);
  t.false(build!.manifest.services.nginx.restartOnFailure, "the module's mkDefault yields to the file");
  t.deepEqual(build!.config.image.exposedPorts, { '8080/tcp': {} });
  const conf = build!.etc.find((f) => f.target === 'nginx/nginx.conf')!.content.toString();
  t.regex(conf, /daemon off;/);
  t.regex(conf, /listen 8080 default_server;\n\s+server_name example\.com;\n\s+root \/srv\/www;/);
});

test('a conflict with a module definition names the module', async (t) => {
  const { problems } = await evaluate(t, {
    'image.yaml': 'nginx:\n  enable: true\n  virtualHosts: { localhost: { root: /srv } }\nservices:\n  nginx: { execStart: [/bin/true] }\n',
  });
  t.is(problems.length, 1);
  // The module's definition is the later one: the problem is at the module (where nginx is enabled) and names the file's line.
  t.regex(problems[0], /^image\.yaml:2:11: services\.nginx\.execStart: conflicting definitions: \["\/usr\/sbin\/nginx".* here and \["\/bin\/true"\] at .*image\.yaml:5:23; .*\(nginx module\)$/);
});

test('with services the entrypoint is /init and image.entryPoint is ignored with a warning', async (t) => {
  const { build, warnings } = await evaluate(t, { 'image.yaml': 'image:\n  entryPoint: [/bin/app]\nservices:\n  a: { script: x }\n' });
  t.deepEqual(build!.entryPoint, ['/init']);
  t.deepEqual(warnings, ['image.yaml:2:15: image.entryPoint: ignored: the image has services, so the entrypoint is /init']);
  const plain = await evaluate(t, { 'image.yaml': 'image:\n  entryPoint: [/bin/app]\n  cmd: [--flag]\n' });
  t.deepEqual(plain.build!.entryPoint, ['/bin/app']);
  t.deepEqual(plain.build!.cmd, ['--flag']);
});
