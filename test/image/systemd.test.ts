import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CALENDAR_FORMS, calendarToCron, timeSpanToDuration } from '../../src/image/calendar.js';
import { evaluate, repoRoot, translate } from '../fixtures/image/helpers.js';

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

test('Type=notify is a long-run ready at its READY=1 (readiness: { notify: true }), WatchdogSec= its watchdog; a scheduled one, or a watchdog without notify, is warned about', async (t) => {
  const { build, warnings } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    db:
      serviceConfig: { Type: notify, ExecStart: /usr/sbin/db, WatchdogSec: 1min 30s }
    web:
      after: [db.service]
      serviceConfig: { ExecStart: /usr/sbin/web, WatchdogSec: 10 }
    sweep:
      startAt: hourly
      serviceConfig: { Type: notify, ExecStart: /usr/sbin/sweep }
    calm:
      serviceConfig: { Type: notify, ExecStart: /usr/sbin/calm, WatchdogSec: 0 }
`,
  });
  t.truthy(build);
  t.like(build!.manifest.services.db, { type: 'long-run', readiness: { notify: true }, execStart: ['/usr/sbin/db'], watchdog: '90s' });
  t.like(build!.manifest.services.web, { after: ['db'] });
  t.false('watchdog' in build!.manifest.services.web);
  t.false('readiness' in build!.manifest.services.sweep);
  t.false('watchdog' in build!.manifest.services.calm, 'WatchdogSec=0 is off');
  t.deepEqual(warnings, [
    'image.yaml:7:63: systemd.services.web.serviceConfig.WatchdogSec: unit web: WatchdogSec= needs Type=notify under Berth (the service sends WATCHDOG=1 as sd_notify); ignored',
    'image.yaml:10:30: systemd.services.sweep.serviceConfig.Type: unit sweep: Type=notify is ignored for a scheduled job: a job has no readiness, its READY=1 is not waited for',
  ]);
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
        Type: idle
`,
  });
  t.truthy(build);
  t.is(build!.manifest.services.web.restart, 'always', 'Restart=always is restart: always');
  t.deepEqual(warnings, [
    'image.yaml:4:37: systemd.services.web.wantedBy[1]: unit web: wantedBy sockets.target is not supported (every enabled unit starts); ignored',
    "image.yaml:5:17: systemd.services.web.requires: unit web: 'requires' is not supported by Berth; ignored",
    "image.yaml:6:18: systemd.services.web.postStart: unit web: 'postStart' is not supported by Berth; ignored",
    'image.yaml:10:22: systemd.services.web.serviceConfig.LimitNOFILE: unit web: LimitNOFILE= is not supported by Berth; ignored',
    'image.yaml:11:15: systemd.services.web.serviceConfig.Type: unit web: Type=idle is run as a simple long-run; it starts at once, not once the other units have',
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

// Timers: tested at the translation (translate()), since the manifest check of `type: scheduled` is not here yet.

test('a timer makes the unit it starts a scheduled job: OnCalendar becomes schedule and timezone', async (t) => {
  const { services, problems, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    backup:
      script: /usr/local/bin/backup
      serviceConfig: { Type: oneshot }
    web: { script: sleep 100 }
  timers:
    backup:
      wantedBy: [timers.target]
      timerConfig: { OnCalendar: "Mon..Fri 02:00 Europe/Paris" }
`,
  });
  t.deepEqual(problems, []);
  t.deepEqual(warnings, []);
  t.like(services.backup, { type: 'scheduled', schedule: '0 2 * * 1-5', timezone: 'Europe/Paris' });
  t.regex(services.backup.script as string, /^\/usr\/local\/bin\/backup$/m);
  t.false('enable' in services.backup);
  t.is(services.web.type, 'long-run', 'units no timer starts are translated as before');
});

test('every OnCalendar mapping in the table of docs/images.md translates as documented, and the table has the common forms', async (t) => {
  const docs = await readFile(join(repoRoot, 'docs/images.md'), 'utf8');
  const table = docs.slice(docs.indexOf('| `OnCalendar=` | Berth |')).split('\n\n')[0];
  const rows = [...table.matchAll(/^\| `([^`]+)` \| `([^`]+)`(?: and `timezone: ([^`]+)`)? \|/gm)];
  t.true(rows.length > 10, 'docs/images.md has the OnCalendar table');
  const documented = new Map(rows.map(([, calendar, schedule, timezone]) => [calendar, { schedule, ...(timezone ? { timezone } : {}) }]));
  for (const [calendar, expected] of documented) t.deepEqual(calendarToCron(calendar), expected, calendar);
  for (const form of ['minutely', 'hourly', 'daily', 'weekly', 'monthly', 'yearly', 'annually', '*-*-* 02:00', '*-*-* 02:00:30', '02:30',
    'Mon..Fri 09:00', 'Sat,Sun', 'Mon,Wed..Fri 10:00', '*-*-01,15 04:00', '*:0/15', 'daily Europe/Paris']) {
    t.true(documented.has(form), `docs/images.md documents ${form}`);
  }
});

test('OnCalendar details: names in any case, ranges with -, repetitions, months, seconds steps', (t) => {
  const cases: [string, string][] = [
    ['monday..FRIDAY 9:05', '5 9 * * 1-5'],
    ['Mon-Fri', '0 0 * * 1-5'],
    ['Sun', '0 0 * * 0'],
    ['Sat..Sun 10:00', '0 10 * * 6-7'],
    ['*:5/15', '5-59/15 * * * *'],
    ['*-*-* 8..18/2:00', '0 8-18/2 * * *'],
    ['*-*-1/2 00:00', '0 0 */2 * *'],
    ['*-12-25', '0 0 25 12 *'],
    ['12-25 06:00', '0 6 25 12 *'],
    ['Fri *-1..6-* 17:00', '0 17 * 1-6 5'],
    ['quarterly', '0 0 1 1,4,7,10 *'],
    ['semiannually', '0 0 1 1,7 *'],
    ['*:*:0/20', '*/20 * * * * *'],
    ['  hourly  ', '0 * * * *'],
  ];
  for (const [calendar, schedule] of cases) t.deepEqual(calendarToCron(calendar), { schedule }, calendar);
  t.deepEqual(calendarToCron('weekly UTC'), { schedule: '0 0 * * 1', timezone: 'UTC' });
});

test('OnCalendar forms cron cannot say are errors with the reason', (t) => {
  const cases: [string, RegExp][] = [
    ['Mon..Fri 25:00', /hour 25 is out of range 0-23/],
    ['*-*-32', /day of month 32 is out of range 1-31/],
    ['Mon *-*-01', /names both weekdays and days of the month/],
    ['2026-*-* 00:00', /the year in '2026-\*-\*' has no cron field/],
    ['*-02~03', /'~'/],
    ['*-*-* 00:00:00.5', /fractions of a second/],
    ['Sun..Mon', /runs past Sunday/],
    ['Funday', /'Funday' is not a weekday/],
    ['10:00 Mon', /'Mon' is not a weekday, date, time or time zone in its place/],
    ['daily Mars/Olympus', /'Mars\/Olympus', which is not a time zone/],
    ['*-*-* 5..1:00', /runs backwards/],
    ['*:*/15', /minute '\*\/15' is not \*, a number, a range \(1..5\) or a repetition \(0\/15\)/],
    ['*:*,30', /'\*' stands alone/],
    ['*:50/10', /the minute repetition '50\/10' never repeats/],
    ['@1700000000', /not a weekday/],
    ['', /empty/],
  ];
  for (const [calendar, reason] of cases) {
    const out = calendarToCron(calendar);
    t.true('error' in out, calendar);
    if ('error' in out) t.regex(out.error, reason, calendar);
  }
});

test('systemd time spans become Berth durations', (t) => {
  const cases: [string | number, string][] = [
    ['15min', '15m'], ['1h', '1h'], ['30s', '30s'], ['1d', '24h'], ['2h 30min', '150m'], ['2h30min', '150m'],
    ['90', '90s'], [90, '90s'], ['500ms', '500ms'], ['1.5h', '90m'], ['1w', '168h'], ['1 hour 1 sec', '3601s'],
  ];
  for (const [span, duration] of cases) t.is(timeSpanToDuration(span), duration, String(span));
  for (const bad of ['', '0', '5us', 'soon', '1h and a bit', '999999999999h']) t.true(typeof timeSpanToDuration(bad) === 'object', bad);
});

test('OnUnitActiveSec and OnUnitInactiveSec become @every; OnBootSec beside them is accepted, and warned about when it differs', async (t) => {
  const { services, problems, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    poll: { script: x, serviceConfig: { Type: oneshot } }
    sweep: { script: x }
    clean: { script: x }
  timers:
    poll: { timerConfig: { OnBootSec: 15min, OnUnitActiveSec: 15min } }
    sweep: { timerConfig: { OnUnitInactiveSec: 2h 30min } }
    clean: { timerConfig: { OnBootSec: 5min, OnUnitActiveSec: 1d } }
`,
  });
  t.deepEqual(problems, []);
  t.like(services, { poll: { type: 'scheduled', schedule: '@every 15m' }, sweep: { type: 'scheduled', schedule: '@every 150m' }, clean: { schedule: '@every 24h' } });
  t.deepEqual(warnings, [
    'image.yaml:9:40: systemd.timers.clean.timerConfig.OnBootSec: timer clean: OnBootSec=5min is not kept: the first run comes one OnUnitActiveSec= period (24h) after the start',
  ]);
});

test('Unit= names the unit a timer starts, with or without .service', async (t) => {
  const { services, problems, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    backup: { script: x }
    report: { script: y }
  timers:
    nightly: { timerConfig: { OnCalendar: daily, Unit: backup.service } }
    weekly-report: { timerConfig: { OnCalendar: weekly, Unit: report } }
`,
  });
  t.deepEqual(problems, []);
  t.deepEqual(warnings, []);
  t.like(services, { backup: { type: 'scheduled', schedule: '0 0 * * *' }, report: { type: 'scheduled', schedule: '0 0 * * 1' } });
  t.false('nightly' in services, 'a timer is not a service');
});

test('startAt is a timer of the same name; with several calendars the first is used and the others warned about', async (t) => {
  const { services, problems, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    rotate: { script: x, startAt: "*-*-* 03:15:00" }
    report:
      script: y
      startAt: ["Mon 08:00", "Thu 08:00"]
`,
  });
  t.deepEqual(problems, []);
  t.like(services, { rotate: { type: 'scheduled', schedule: '15 3 * * *' }, report: { type: 'scheduled', schedule: '0 8 * * 1' } });
  t.deepEqual(warnings, [
    "image.yaml:6:30: systemd.services.report.startAt[1]: unit report: startAt 'Thu 08:00' is ignored: a job has one schedule, and 'Mon 08:00' is it",
  ]);
});

test('a disabled timer leaves a disabled job; a disabled unit stays disabled', async (t) => {
  const { services, problems } = await translate(t, {
    'image.yaml': `systemd:
  services:
    a: { script: x }
    b: { script: x, enable: false }
  timers:
    a: { enable: false, timerConfig: { OnCalendar: hourly } }
    b: { timerConfig: { OnCalendar: hourly } }
`,
  });
  t.deepEqual(problems, []);
  t.like(services, { a: { type: 'scheduled', enable: false }, b: { type: 'scheduled', enable: false } });
});

test('every timer directive Berth does not keep gives a warning naming it and the timer', async (t) => {
  const { services, problems, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    backup:
      wantedBy: [multi-user.target]
      script: x
      serviceConfig: { Restart: on-failure }
    once: { script: x, serviceConfig: { Type: oneshot } }
  timers:
    backup:
      wantedBy: [sleep.target]
      after: [network.target]
      timerConfig:
        OnCalendar: [daily, "*-*-* 12:00"]
        OnUnitActiveSec: 1h
        Persistent: true
        RandomizedDelaySec: 30min
        AccuracySec: 1us
        OnStartupSec: 10s
    once: { timerConfig: { OnBootSec: 5min } }
`,
  });
  t.deepEqual(problems, []);
  t.like(services.backup, { type: 'scheduled', schedule: '0 0 * * *' });
  t.false('restartOnFailure' in services.backup);
  t.is(services.once.type, 'oneshot-pre', 'a timer with OnBootSec= alone is ignored: its unit is a plain service');
  t.deepEqual(warnings, [
    'image.yaml:10:18: systemd.timers.backup.wantedBy[0]: timer backup: wantedBy sleep.target is not supported (every enabled timer runs); ignored',
    "image.yaml:11:14: systemd.timers.backup.after: timer backup: 'after' is not supported by Berth; ignored",
    'image.yaml:14:26: systemd.timers.backup.timerConfig.OnUnitActiveSec: timer backup: OnUnitActiveSec= is ignored: a job has one schedule, and OnCalendar= is it',
    'image.yaml:15:21: systemd.timers.backup.timerConfig.Persistent: timer backup: Persistent= is not supported by Berth; ignored: runs missed while the container was stopped are not made up',
    'image.yaml:16:29: systemd.timers.backup.timerConfig.RandomizedDelaySec: timer backup: RandomizedDelaySec= is not supported by Berth; ignored: runs start on time',
    'image.yaml:17:22: systemd.timers.backup.timerConfig.AccuracySec: timer backup: AccuracySec= is not supported by Berth; ignored: runs start on time',
    'image.yaml:18:23: systemd.timers.backup.timerConfig.OnStartupSec: timer backup: OnStartupSec= is not supported by Berth; ignored',
    "image.yaml:13:29: systemd.timers.backup.timerConfig.OnCalendar[1]: timer backup: OnCalendar '*-*-* 12:00' is ignored: a job has one schedule, and 'daily' is it",
    'image.yaml:19:39: systemd.timers.once.timerConfig.OnBootSec: timer once: OnBootSec= alone (one run, once after the start) is not supported: Berth jobs repeat; ' +
      'the timer is ignored and unit once is translated as a plain service. Add OnUnitActiveSec= to repeat it',
    'image.yaml:4:18: systemd.services.backup.wantedBy[0]: unit backup: wantedBy multi-user.target is ignored: the unit runs on the schedule of its timer backup only, not also at start',
    'image.yaml:6:33: systemd.services.backup.serviceConfig.Restart: unit backup: Restart=on-failure is ignored for a scheduled job: its schedule runs it again',
  ]);
});

test('a second schedule for the same unit (startAt and a timer, or two timers) is ignored with a warning', async (t) => {
  const { services, warnings } = await translate(t, {
    'image.yaml': `systemd:
  services:
    job: { script: x, startAt: hourly }
  timers:
    job: { timerConfig: { OnCalendar: daily } }
    other: { timerConfig: { OnCalendar: weekly, Unit: job.service } }
`,
  });
  t.is(services.job.schedule, '0 * * * *');
  t.deepEqual(warnings, [
    'image.yaml:5:10: systemd.timers.job: timer job: ignored: unit job already runs on the schedule of its startAt, and a job has one schedule',
    'image.yaml:6:12: systemd.timers.other: timer other (unit job): ignored: unit job already runs on the schedule of its startAt, and a job has one schedule',
  ]);
});

test('timer errors stop the build: a missing unit, a Unit= that is not a service, an untranslatable calendar or span, nothing to schedule', async (t) => {
  const { problems, build } = await evaluate(t, {
    'image.yaml': `systemd:
  services:
    backup: { script: x }
    poll: { script: x, startAt: "Mon *-*-01" }
    idle: { script: x }
  timers:
    backup: { timerConfig: { OnCalendar: "Mon..Fri 25:00" } }
    cleanup: { timerConfig: { OnCalendar: daily } }
    nightly: { timerConfig: { OnCalendar: daily, Unit: gone.service } }
    boot: { timerConfig: { OnCalendar: daily, Unit: multi-user.target } }
    idle: { timerConfig: { Persistent: true } }
    fast: { timerConfig: { OnUnitActiveSec: soon, Unit: poll.service } }
`,
  });
  t.is(build, undefined);
  const supported = `supported: ${CALENDAR_FORMS}`;
  t.deepEqual(problems, [
    `image.yaml:4:33: systemd.services.poll.startAt: unit poll: startAt 'Mon *-*-01' cannot be translated: it names both weekdays and days of the month: systemd runs when both match, cron when either does; ${supported}`,
    `image.yaml:7:42: systemd.timers.backup.timerConfig.OnCalendar: timer backup: OnCalendar 'Mon..Fri 25:00' cannot be translated: hour 25 is out of range 0-23; ${supported}`,
    'image.yaml:8:14: systemd.timers.cleanup: timer cleanup: starts unit cleanup, which is not in systemd.services; define systemd.services.cleanup or set timerConfig.Unit',
    'image.yaml:9:56: systemd.timers.nightly.timerConfig.Unit: timer nightly: starts unit gone, which is not in systemd.services; define systemd.services.gone',
    'image.yaml:10:53: systemd.timers.boot.timerConfig.Unit: timer boot: Unit=multi-user.target is not a service unit; name one such as backup.service',
    'image.yaml:11:26: systemd.timers.idle.timerConfig: timer idle: nothing to schedule; set timerConfig.OnCalendar (such as "daily") or OnUnitActiveSec (such as "15min")',
    "image.yaml:12:45: systemd.timers.fast.timerConfig.OnUnitActiveSec: timer fast (unit poll): OnUnitActiveSec: 'soon' is not a time span; use a systemd time span such as 30s, 15min, 1h or 2h 30min",
  ]);
});

test('MemoryMax=, CPUQuota= and TasksMax= become resources (systemd sizes count in 1024s; infinity is no limit); other forms are errors', async (t) => {
  const { build, warnings } = await evaluate(t, {
    'image.yaml': [
      'systemd:',
      '  services:',
      '    web:',
      '      serviceConfig: { ExecStart: /bin/web, MemoryMax: 256M, CPUQuota: "50%", TasksMax: 100 }',
      '    db:',
      '      serviceConfig: { ExecStart: /bin/db, MemoryMax: infinity, CPUQuota: "200%" }',
      '',
    ].join('\n'),
  });
  t.deepEqual(warnings, []);
  t.deepEqual(build!.manifest.services.web.resources, { memory: '256Mi', cpu: 0.5, pids: 100 });
  t.deepEqual(build!.manifest.services.db.resources, { cpu: 2 });
  const bad = await evaluate(t, {
    'image.yaml': 'systemd:\n  services:\n    web:\n      serviceConfig: { ExecStart: /bin/web, MemoryMax: "50%", CPUQuota: "1.5", TasksMax: "10%" }\n',
  });
  t.deepEqual(bad.problems.map((p) => p.replace(/^image\.yaml:\d+:\d+: systemd\.services\.web\.serviceConfig\.\w+: /, '')), [
    'unit web: MemoryMax=50% is not supported; use bytes with K, M, G or T (1024-based) or infinity',
    'unit web: CPUQuota=1.5 is not supported; use a percentage of one core (50%, 200%)',
    'unit web: TasksMax=10% is not supported; use a number of tasks or infinity',
  ]);
});
