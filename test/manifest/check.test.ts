import test from 'ava';
import { checkManifest, formatProblem, type Problem } from '../../src/manifest/index.js';

/** Messages by path, so each test reads as "this path gets this complaint". */
function problems(services: Record<string, unknown>): Record<string, string> {
  const found = checkManifest({ version: 1, services }, 'm.json').problems;
  return Object.fromEntries(found.map((p: Problem) => [p.path, p.message]));
}

test('a valid manifest is normalised: defaults applied, argv built, users and environment as strings', (t) => {
  const { manifest, problems } = checkManifest({
    version: 1,
    services: {
      migrate: { type: 'oneshot-pre', script: 'echo hi' },
      web: { execStart: `node "my server.js" --port=8080`, user: 1000, environment: { PORT: 8080, DEBUG: false }, after: ['migrate', 'migrate'] },
    },
  }, 'm.json');
  t.deepEqual(problems, []);
  t.deepEqual(manifest?.services.migrate, {
    name: 'migrate', type: 'oneshot-pre', argv: ['/bin/sh', '-e', '-c', 'echo hi'], script: 'echo hi',
    restartOnFailure: false, environment: {}, after: [], enable: true, tty: false,
    restart: 'no', successExitCodes: [0], stopSignal: 'SIGTERM', restartWindowMs: 60_000, essential: true, logging: { format: 'plain', timestamps: false }, limits: {}, environmentFiles: [], environmentFromFiles: {},
  });
  t.deepEqual(manifest?.services.web, {
    name: 'web', type: 'long-run', argv: ['node', 'my server.js', '--port=8080'], execStart: ['node', 'my server.js', '--port=8080'],
    restartOnFailure: false, environment: { PORT: '8080', DEBUG: 'false' }, user: '1000', after: ['migrate'], enable: true, tty: false,
    restart: 'no', successExitCodes: [0], stopSignal: 'SIGTERM', restartWindowMs: 60_000, essential: true, logging: { format: 'plain', timestamps: false }, limits: {}, environmentFiles: [], environmentFromFiles: {},
  });
});

test('version and services are required, and only version 1 exists', (t) => {
  t.deepEqual(checkManifest({}, 'm.json').problems.map((p) => `${p.path}: ${p.message}`),
    ["version: missing required field 'version'", "services: missing required field 'services'"]);
  t.deepEqual(checkManifest({ version: 2, services: {} }, 'm.json').problems.map((p) => p.message), ['expected 1, got the number 2']);
  t.deepEqual(checkManifest([], 'm.json').problems.map((p) => p.message), ['expected a mapping, got a list']);
});

test('a manifest is returned only when there are no problems', (t) => {
  const result = checkManifest({ version: 1, services: { a: {} } }, 'm.json');
  t.is(result.manifest, undefined);
  t.is(result.problems.length, 1);
});

test('a service needs exactly one of script and execStart, unless it is disabled', (t) => {
  t.deepEqual(problems({
    both: { script: 'x', execStart: ['y'] },
    neither: {},
    parked: { enable: false },
  }), {
    'services.both.execStart': "both 'script' and 'execStart' are set; keep exactly one",
    'services.neither': "missing 'script' or 'execStart': an enabled service needs a command to run",
  });
});

test('empty commands are rejected in every spelling', (t) => {
  t.deepEqual(problems({
    a: { execStart: [] }, b: { execStart: '' }, c: { execStart: '   ' }, d: { execStart: ['', 'x'] },
    e: { execStart: `'' x` }, f: { execStart: 'echo "oops' }, g: { script: '' },
  }), {
    'services.a.execStart': 'must not be an empty list',
    'services.b.execStart': 'must not be empty',
    'services.c.execStart': 'has no words; name the program to run',
    'services.d.execStart[0]': 'the program to run (the first item) is empty',
    'services.e.execStart': 'the program to run (the first word) is empty',
    'services.f.execStart': 'cannot split into words: unterminated double quote at character 6',
    'services.g.script': 'must not be empty',
  });
});

test('service names are letters, digits, dot, underscore and dash, never . or .., never digits only', (t) => {
  const ok = { script: 'x' };
  const hint = "a valid service name (letters, digits, '.', '_', '-'; not digits only)";
  t.deepEqual(problems({ 'web-1.v2_x': ok, 'bad name': ok, 'a/b': ok, '..': ok, 'é': ok, '10': ok, '007': ok, '1.5': ok }), {
    'services["bad name"]': `'bad name' is not ${hint}`,
    'services["a/b"]': `'a/b' is not ${hint}`,
    'services[".."]': `'..' is not ${hint}`,
    'services["é"]': `'é' is not ${hint}`,
    'services.10': `'10' is not ${hint}`,
    'services.007': `'007' is not ${hint}`,
  });
});

test('problem lines stay one line whatever the file name or the quoted value holds', (t) => {
  const [problem] = checkManifest({ version: 1, services: { web: { script: 'x', after: ['db\nweb: fine'] } } }, 'a\rb.json').problems;
  t.is(formatProblem(problem), "a\\rb.json:1:1: services.web.after[0]: unknown service 'db\\nweb: fine'");
});

test('wrong types say what was expected and what was found', (t) => {
  t.deepEqual(problems({
    a: {
      script: 'x', type: 'daemon', restartOnFailure: 'yes', environment: { OK: 1, BAD: { x: 1 }, 'A=B': 'x' },
      workingDirectory: 'app', user: 'a b', execLogger: 3, after: 'b', enable: 1, tty: null,
    },
    b: 'echo hi',
  }), {
    'services.a.type': 'expected one of long-run, oneshot-pre, oneshot-post, scheduled, got the string "daemon"',
    'services.a.restartOnFailure': 'expected true or false, got the string "yes"',
    'services.a.environment.BAD': 'expected a string (or a number or true/false), got a mapping',
    'services.a.environment["A=B"]': "'A=B' is not a variable name (not empty, no '=')",
    'services.a.workingDirectory': 'expected an absolute path (starting with /), got the string "app"',
    'services.a.user': 'expected a user name or uid, optionally followed by :group, got the string "a b"',
    'services.a.execLogger': 'expected a string, got the number 3',
    'services.a.after': 'expected a list, got the string "b"',
    'services.a.enable': 'expected true or false, got the number 1',
    'services.a.tty': 'expected true or false, got nothing (an empty value)',
    'services.b': 'expected a mapping, got the string "echo hi"',
  });
});

test('unknown fields suggest the field meant', (t) => {
  t.deepEqual(problems({ a: { script: 'x', restartOnFailur: true, Environment: {} } }), {
    'services.a.restartOnFailur': "unknown field 'restartOnFailur'; did you mean 'restartOnFailure'?",
    'services.a.Environment': "unknown field 'Environment'; did you mean 'environment'?",
  });
});

test('after naming an unknown service is an error with a suggestion; naming itself too', (t) => {
  t.deepEqual(problems({ migrate: { type: 'oneshot-pre', script: 'x' }, web: { script: 'x', after: ['migrat', 'web', 'zzz'] } }), {
    'services.web.after[0]': "unknown service 'migrat'; did you mean 'migrate'?",
    'services.web.after[1]': 'a service cannot start after itself',
    'services.web.after[2]': "unknown service 'zzz'",
  });
});

test('after naming a disabled service is ignored and dropped from the normalised after', (t) => {
  const { manifest, problems } = checkManifest({
    version: 1, services: { web: { script: 'x', after: ['off'] }, off: { enable: false } },
  }, 'm.json');
  t.deepEqual(problems, []);
  t.deepEqual(manifest?.services.web.after, []);
  t.deepEqual(manifest?.services.off.argv, []);
});

test('a service with problems of its own is not also called unknown', (t) => {
  t.deepEqual(problems({ web: { script: 'x', after: ['db'] }, db: { script: 'x', tyype: 'long-run' } }), {
    'services.db.tyype': "unknown field 'tyype'; did you mean 'type'?",
  });
});

test('a oneshot-pre may not wait for a long-run or a oneshot-post', (t) => {
  t.deepEqual(problems({
    pre: { type: 'oneshot-pre', script: 'x', after: ['web', 'post'] },
    web: { script: 'x' },
    post: { type: 'oneshot-post', script: 'x' },
  }), {
    'services.pre.after[0]': "a oneshot-pre cannot start after the long-run 'web': oneshot-pre services all finish before any long-run starts",
    'services.pre.after[1]': "a oneshot-pre cannot start after the oneshot-post 'post': oneshot-pre services all finish before any oneshot-post starts",
  });
});

test('a long-run may wait for a oneshot-pre or a long-run, not a oneshot-post; a oneshot-post may wait for anything', (t) => {
  t.deepEqual(problems({
    pre: { type: 'oneshot-pre', script: 'x' },
    db: { script: 'x', after: ['pre'] },
    web: { script: 'x', after: ['pre', 'db', 'post'] },
    post: { type: 'oneshot-post', script: 'x', after: ['pre', 'web'] },
  }), {
    'services.web.after[2]': "a long-run cannot start after the oneshot-post 'post': oneshot-post services start only after every long-run has started",
  });
});

test('a cycle is an error that names the whole cycle, once', (t) => {
  t.deepEqual(problems({
    a: { script: 'x', after: ['b'] },
    b: { script: 'x', after: ['c'] },
    c: { script: 'x', after: ['a'] },
    free: { script: 'x', after: ['a'] },
    p: { type: 'oneshot-post', script: 'x', after: ['q'] },
    q: { type: 'oneshot-post', script: 'x', after: ['p'] },
  }), {
    'services.a.after[0]': "'after' forms a cycle: a -> b -> c -> a (each waits for the next), so none of them can start",
    'services.p.after[0]': "'after' forms a cycle: p -> q -> p (each waits for the next), so none of them can start",
  });
});

test('a cycle through a disabled service is no cycle', (t) => {
  t.deepEqual(problems({ a: { script: 'x', after: ['b'] }, b: { enable: false, script: 'x', after: ['a'] } }), {});
});

test('a $schema field for editors is accepted and dropped', (t) => {
  const { manifest, problems } = checkManifest({ $schema: './schema.json', version: 1, services: {} }, 'm.json');
  t.deepEqual(problems, []);
  t.deepEqual(manifest, { version: 1, services: {}, logging: { format: 'plain', timestamps: false }, limits: {}, environmentFiles: [], files: {} });
});

test('without source text, problems sit at 1:1', (t) => {
  const [p] = checkManifest({ version: 1, services: { a: {} } }, 'img.yaml').problems;
  t.like(p, { file: 'img.yaml', line: 1, col: 1, path: 'services.a' });
});

test('with source text, problems get real positions', (t) => {
  const source = 'version: 1\nservices:\n  a:\n    script: 3\n';
  const [p] = checkManifest({ version: 1, services: { a: { script: 3 } } }, 'img.yaml', source).problems;
  t.like(p, { line: 4, col: 13, path: 'services.a.script' });
});

test('names that collide with JavaScript internals are ordinary names', (t) => {
  const services = JSON.parse('{"__proto__": {"script": "x"}, "constructor": {"script": "y", "after": ["__proto__"], "environment": {"__proto__": 1}}}');
  const { manifest, problems } = checkManifest({ version: 1, services }, 'm.json');
  t.deepEqual(problems, []);
  t.deepEqual(Object.keys(manifest!.services), ['__proto__', 'constructor']);
  const [, constructor] = Object.values(manifest!.services);
  t.deepEqual(constructor.after, ['__proto__']);
  t.true(Object.hasOwn(constructor.environment, '__proto__'));
});

test('readiness, liveness and policies are normalised: durations in ms, one probe, defaults', (t) => {
  const { manifest, problems: found } = checkManifest({
    version: 1,
    services: {
      db: { script: 'x', readiness: { notificationFd: 3 }, startTimeout: '30s', restartOnFailure: true, stopSignal: 'int', stopTimeout: 2500, maxRestarts: 5, restartWindow: '2m', essential: false },
      sd: { script: 'x', readiness: { notify: true }, startTimeout: '5s', watchdog: '2s' },
      calm: { script: 'x', readiness: { notify: true }, watchdog: 0 },
      web: { script: 'x', after: ['db'], readiness: { http: { port: 8080, path: '/health' }, interval: '500ms' }, liveness: { exec: 'curl -f localhost', failureThreshold: 2 }, successExitCodes: [0, 143], restart: 'always' },
    },
  }, 'm.json');
  t.deepEqual(found, []);
  t.like(manifest?.services.db, {
    readiness: { kind: 'notification-fd', fd: 3 }, startTimeoutMs: 30_000, restart: 'on-failure', stopSignal: 'SIGINT', stopTimeoutMs: 2500, maxRestarts: 5, restartWindowMs: 120_000, essential: false,
  });
  t.like(manifest?.services.sd, { readiness: { kind: 'notify' }, startTimeoutMs: 5000, watchdogMs: 2000 });
  t.false('watchdogMs' in manifest!.services.calm, 'watchdog: 0 is none');
  t.deepEqual(manifest?.services.web.readiness, { kind: 'probe', probe: { kind: 'http', host: '127.0.0.1', port: 8080, path: '/health' }, intervalMs: 500, timeoutMs: 1000 });
  t.deepEqual(manifest?.services.web.liveness, { probe: { kind: 'exec', argv: ['curl', '-f', 'localhost'] }, intervalMs: 10_000, timeoutMs: 1000, failureThreshold: 2 });
  t.like(manifest?.services.web, { restart: 'always', successExitCodes: [0, 143] });
});

test('bad readiness, liveness and policy input is a located problem', (t) => {
  t.deepEqual(problems({
    a: { script: 'x', readiness: { notificationFd: 2 } },
    b: { script: 'x', readiness: { tcp: { port: 70000 } } },
    c: { script: 'x', readiness: { http: { port: 80 }, tcp: { port: 81 } } },
    d: { script: 'x', readiness: {} },
    e: { script: 'x', readiness: { grpc: { port: 1 } } },
    f: { script: 'x', stopTimeout: '10 seconds' },
    g: { type: 'oneshot-pre', script: 'x', readiness: { notificationFd: 3 } },
    h: { script: 'x', startTimeout: '5s' },
    i: { script: 'x', stopSignal: 'SIGNOPE' },
    j: { script: 'x', restartOnFailure: true, restart: 'no' },
    k: { script: 'x', readiness: { notificationFd: 3, interval: '1s' } },
    l: { script: 'x', liveness: { notificationFd: 3 } },
    m: { script: 'x', successExitCodes: [256] },
    n: { script: 'x', readiness: { notify: true, timeout: '1s' } },
    o: { script: 'x', readiness: { notify: false } },
    p: { script: 'x', readiness: { notify: true, notificationFd: 3 } },
    q: { script: 'x', readiness: { notificationFd: 3 }, watchdog: '10s' },
  }), {
    'services.a.readiness.notificationFd': 'must be at least 3, got 2',
    'services.b.readiness.tcp.port': 'must be at most 65535, got 70000',
    'services.c.readiness': 'give exactly one of notificationFd, notify, exec, tcp, http, not tcp and http',
    'services.d.readiness': 'give one of notificationFd, notify, exec, tcp, http',
    'services.e.readiness.grpc': "unknown field 'grpc'; known fields: notificationFd, notify, exec, tcp, http, interval, timeout",
    'services.f.stopTimeout': 'expected a duration: milliseconds as a number, or a whole number with ms, s, m or h (500ms, 10s, 2m), got the string "10 seconds"',
    'services.g.readiness': 'applies to long-runs only: a oneshot-pre is done when it exits 0',
    'services.h.startTimeout': "needs 'readiness': without it a service is ready as soon as it starts",
    'services.i.stopSignal': "unknown signal 'SIGNOPE'",
    'services.j.restart': "'restart: no' contradicts 'restartOnFailure: true' (which means on-failure); keep one",
    'services.k.readiness.interval': 'applies to probes, not to notificationFd',
    'services.l.liveness.notificationFd': "unknown field 'notificationFd'; known fields: exec, tcp, http, interval, timeout, failureThreshold",
    'services.m.successExitCodes[0]': 'must be at most 255, got 256',
    'services.n.readiness.timeout': 'applies to probes, not to notify',
    'services.o.readiness': 'give one of notificationFd, notify, exec, tcp, http',
    'services.p.readiness': 'give exactly one of notificationFd, notify, exec, tcp, http, not notificationFd and notify',
    'services.q.watchdog': "needs 'readiness: { notify: true }': the service says it is alive with sd_notify's WATCHDOG=1",
  });
});

test('a service\'s logging overrides the top level field by field', (t) => {
  const { manifest, problems } = checkManifest({
    version: 1,
    logging: { format: 'prefix', timestamps: true },
    services: { a: { script: 'x' }, b: { script: 'x', logging: { format: 'json' } }, c: { script: 'x', logging: { timestamps: false } } },
  }, 'm.json');
  t.deepEqual(problems, []);
  t.deepEqual(manifest?.logging, { format: 'prefix', timestamps: true });
  t.deepEqual(manifest?.services.a.logging, { format: 'prefix', timestamps: true });
  t.deepEqual(manifest?.services.b.logging, { format: 'json', timestamps: true });
  t.deepEqual(manifest?.services.c.logging, { format: 'prefix', timestamps: false });
});

test('an unknown logging format is a problem that names the choices', (t) => {
  const { problems } = checkManifest({ version: 1, services: { a: { script: 'x', logging: { format: 'xml' } } } }, 'm.json');
  t.is(problems.length, 1);
  t.is(problems[0].path, 'services.a.logging.format');
  t.regex(problems[0].message, /plain.*prefix.*json.*passthrough/);
});
