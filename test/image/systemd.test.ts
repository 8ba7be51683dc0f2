import test from 'ava';
import { execFileSync } from 'node:child_process';
import { evaluate } from '../fixtures/image/helpers.js';

const contractExample = `systemd:
  services:
    first:
      script: echo first
      serviceConfig: { Type: oneshot }
    second:
      after: [first.service]
      preStart: echo before second
      path: [/opt/tools/bin]
      environment: { OUTPUT: out }
      serviceConfig: { Type: oneshot, ExecStart: "@/bin/echo echo second", WorkingDirectory: /tmp, Restart: "no", User: root }
`;

test('the documented systemd example (docs/images.md) becomes two ordered oneshot-pre services', async (t) => {
  const { build, problems, warnings } = await evaluate(t, { 'image.yaml': contractExample });
  t.deepEqual(problems, []);
  t.deepEqual(warnings, []);
  const { first, second } = build!.manifest.services;
  t.like(first, { type: 'oneshot-pre', after: [] });
  t.regex(first.script as string, /^echo first$/m);
  t.like(second, { type: 'oneshot-pre', after: ['first'], environment: { OUTPUT: 'out' }, workingDirectory: '/tmp', user: 'root' });
  const argv = second.execStart as string[];
  t.deepEqual(argv.slice(0, 3), ['/bin/bash', '-e', '-c']);
  t.regex(argv[3], /PATH=\/opt\/tools\/bin:"\$PATH"\nexport PATH\n\/bin\/sh -e -c 'echo before second'\nexec -a echo \/bin\/echo second\n$/);
});

test('the translated script really runs preStart first and sets argv[0] with @', async (t) => {
  const { build } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    show:
      preStart: echo pre
      path: [/opt/tools/bin]
      serviceConfig: { Type: oneshot, ExecStart: "@/bin/sh my-name -c 'echo \\"argv0=$0\\"; echo \\"$PATH\\"'" }
`,
  });
  const argv = build!.manifest.services.show.execStart as string[];
  const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
  t.is(out, 'pre\nargv0=my-name\n/opt/tools/bin:/usr/bin:/bin\n');
});

test('a plain ExecStart becomes an argv, Type=simple a long-run, Restart=on-failure restartOnFailure', async (t) => {
  const { build, warnings } = await evaluate(t, {
    'image.yaml': 'systemd:\n  services:\n    web:\n      serviceConfig: { ExecStart: "/usr/bin/node \'my server.js\'", Restart: on-failure, Group: staff }\n',
  });
  t.deepEqual(warnings, []);
  t.like(build!.manifest.services.web, { type: 'long-run', execStart: ['/usr/bin/node', 'my server.js'], restartOnFailure: true, user: 'root:staff' });
});

test('a oneshot after a simple unit (or after such a oneshot) runs oneshot-post; .target units are ignored with a warning', async (t) => {
  const { build, warnings } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    daemon: { script: sleep 100 }
    provision:
      after: [daemon, network.target]
      script: echo provision
      serviceConfig: { Type: oneshot }
    report:
      after: [provision.service]
      script: echo report
      serviceConfig: { Type: oneshot }
`,
  });
  t.is(build!.manifest.services.provision.type, 'oneshot-post');
  t.is(build!.manifest.services.report.type, 'oneshot-post');
  t.deepEqual(build!.manifest.services.provision.after, ['daemon']);
  t.deepEqual(warnings, ['image.yaml:5:23: systemd.services.provision.after[1]: unit provision: after network.target is ignored: Berth orders services only']);
});

test('every unsupported directive gives a warning naming it and the unit; Restart=always is explained', async (t) => {
  const { build, warnings } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    web:
      wantedBy: [multi-user.target, sockets.target]
      requires: [db.service]
      postStart: echo started
      serviceConfig:
        ExecStart: /bin/web
        Restart: always
        LimitNOFILE: 4096
        Type: notify
`,
  });
  t.truthy(build);
  t.is(build!.manifest.services.web.restart, 'always', 'Restart=always is restart: always');
  t.deepEqual(warnings, [
    'image.yaml:4:37: systemd.services.web.wantedBy[1]: unit web: wantedBy sockets.target is not supported (every enabled unit starts); ignored',
    "image.yaml:5:17: systemd.services.web.requires: unit web: 'requires' is not supported by Berth; ignored",
    "image.yaml:6:18: systemd.services.web.postStart: unit web: 'postStart' is not supported by Berth; ignored",
    'image.yaml:10:22: systemd.services.web.serviceConfig.LimitNOFILE: unit web: LimitNOFILE= is not supported by Berth; ignored',
    'image.yaml:11:15: systemd.services.web.serviceConfig.Type: unit web: Type=notify is run as a simple long-run; readiness notification is not supported',
  ]);
});

test('bad units are errors: both script and ExecStart, no command, unknown Type, relative program', async (t) => {
  const { problems } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    both: { script: x, serviceConfig: { ExecStart: /bin/x } }
    none: { description: nothing to run }
    odd: { script: x, serviceConfig: { Type: weird } }
    rel: { serviceConfig: { ExecStart: "echo hi" } }
`,
  });
  t.deepEqual(problems, [
    "image.yaml:3:52: systemd.services.both.serviceConfig.ExecStart: unit both: both 'script' and ExecStart are set; keep one",
    "image.yaml:4:11: systemd.services.none: unit none: no command; set 'script' or serviceConfig.ExecStart",
    'image.yaml:5:46: systemd.services.odd.serviceConfig.Type: unit odd: unknown Type=weird; use simple, exec or oneshot',
    'image.yaml:6:40: systemd.services.rel.serviceConfig.ExecStart: unit rel: the program must be an absolute path, as systemd requires: echo',
  ]);
});

test('a disabled unit is a disabled service, and a Berth service can be after a unit', async (t) => {
  const { build, problems } = await evaluate(t, {
    'image.yaml': 'systemd:\n  services:\n    off: { enable: false, script: x }\n    setup: { script: x, serviceConfig: { Type: oneshot } }\nservices:\n  app: { script: y, after: [setup] }\n',
  });
  t.deepEqual(problems, []);
  t.false(build!.manifest.services.off.enable);
  t.deepEqual(build!.manifest.services.app.after, ['setup']);
});
