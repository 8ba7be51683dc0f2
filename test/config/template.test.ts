// renderTemplate: the four forms, everything else kept as written, every
// missing required variable at its line and column, and linear time.
import test from 'ava';
import { renderTemplate, type TemplateResult } from '../../src/config/template.js';

const env = { HOST: 'db.local', PORT: '5432', EMPTY: '' };

function rendered(t: { fail(message: string): void }, result: TemplateResult): string {
  if (!result.ok) {
    t.fail(JSON.stringify(result.problems));
    return '';
  }
  return result.text;
}

test('${VAR} is the value, or nothing when unset', (t) => {
  t.is(rendered(t, renderTemplate('host=${HOST}:${PORT}', env)), 'host=db.local:5432');
  t.is(rendered(t, renderTemplate('[${MISSING}][${EMPTY}]', env)), '[][]');
  t.is(rendered(t, renderTemplate('${A1_b}${_x}', { A1_b: 'one', _x: 'two' })), 'onetwo');
});

test('${VAR:-default} is the value if set and not empty, else the default', (t) => {
  t.is(rendered(t, renderTemplate('${PORT:-80}', env)), '5432');
  t.is(rendered(t, renderTemplate('${MISSING:-80}', env)), '80');
  t.is(rendered(t, renderTemplate('${EMPTY:-80}', env)), '80');
  t.is(rendered(t, renderTemplate('[${MISSING:-}]', env)), '[]');
  t.is(rendered(t, renderTemplate('${MISSING:-a b:c-d?e $f}', env)), 'a b:c-d?e $f');
});

test('a default is literal up to the first }: no nesting, no $$ inside it', (t) => {
  t.is(rendered(t, renderTemplate('${MISSING:-x${HOST}y}', env)), 'x${HOSTy}');
  t.is(rendered(t, renderTemplate('${MISSING:-$$}', env)), '$$');
});

test('${VAR:?message} is the value if set and not empty, else a problem with the message', (t) => {
  t.is(rendered(t, renderTemplate('${HOST:?need a host}', env)), 'db.local');
  t.deepEqual(renderTemplate('${MISSING:?need a host}', env), { ok: false, problems: [{ line: 1, col: 1, variable: 'MISSING', message: 'need a host' }] });
  t.deepEqual(renderTemplate('x ${EMPTY:?set EMPTY}', env), { ok: false, problems: [{ line: 1, col: 3, variable: 'EMPTY', message: 'set EMPTY' }] });
});

test('an empty message says whether the variable is unset or empty', (t) => {
  t.deepEqual(renderTemplate('${MISSING:?}', env), { ok: false, problems: [{ line: 1, col: 1, variable: 'MISSING', message: 'is not set' }] });
  t.deepEqual(renderTemplate('${EMPTY:?}', env), { ok: false, problems: [{ line: 1, col: 1, variable: 'EMPTY', message: 'is empty' }] });
});

test('every missing required variable is reported, at the line and column of its $', (t) => {
  const text = 'user=${USER:?}\n  pass=${PASS:?give PASS}\r\nok=${HOST:?} ${X:?} é${Y:?y}\n\n\t${USER:?again}';
  t.deepEqual(renderTemplate(text, env), {
    ok: false,
    problems: [
      { line: 1, col: 6, variable: 'USER', message: 'is not set' },
      { line: 2, col: 8, variable: 'PASS', message: 'give PASS' },
      { line: 3, col: 14, variable: 'X', message: 'is not set' },
      { line: 3, col: 22, variable: 'Y', message: 'y' },
      { line: 5, col: 2, variable: 'USER', message: 'again' },
    ],
  });
});

test('$$ is a literal $, read left to right', (t) => {
  t.is(rendered(t, renderTemplate('cost: $$5', env)), 'cost: $5');
  t.is(rendered(t, renderTemplate('$$$$', env)), '$$');
  t.is(rendered(t, renderTemplate('$$$', env)), '$$');
  t.is(rendered(t, renderTemplate('$${HOST}', env)), '${HOST}');
  t.is(rendered(t, renderTemplate('$$${HOST}', env)), '$db.local');
  t.is(rendered(t, renderTemplate('$$$${HOST}', env)), '$${HOST}');
});

test('every other $ stays exactly as written, and reading goes on after it', (t) => {
  const kept = [
    '$HOST', '$', 'a$', '$ ', '${', '${HOST', '${HOST:-80', '${HOST:?', '${}', '${ HOST}', '${1}', '${1A}', '${#HOST}',
    '${HOST:+x}', '${HOST-x}', '${HOST?x}', '${HOST:=x}', '${HOST:x}', '${HOST/a/b}', '${HOST%.*}', '${HOST.x}', '${Ä}',
    '$(id -u)', '`id -u`', '$((1+1))', '${HOST[0]}',
  ];
  for (const text of kept) t.is(rendered(t, renderTemplate(text, env)), text, text);
  t.is(rendered(t, renderTemplate('$HOST:${PORT} ${HOST:+x} $$', env)), '$HOST:5432 ${HOST:+x} $');
  t.is(rendered(t, renderTemplate('${A:+${HOST}}', env)), '${A:+db.local}');
});

test("only the environment's own variables count, not Object.prototype's", (t) => {
  t.is(rendered(t, renderTemplate('[${constructor}][${toString:-d}][${__proto__}][${hasOwnProperty:-d}]', {})), '[][d][][d]');
  t.deepEqual(renderTemplate('${valueOf:?}', {}), { ok: false, problems: [{ line: 1, col: 1, variable: 'valueOf', message: 'is not set' }] });
});

test('used names each variable referenced once, in order, whatever its form and value', (t) => {
  const result = renderTemplate('${PORT} ${MISSING:-x} ${HOST:?} ${PORT} $SHELL ${A:+b} $${NOT} ${EMPTY}', env);
  t.deepEqual(result, { ok: true, text: '5432 x db.local 5432 $SHELL ${A:+b} ${NOT} ', used: ['PORT', 'MISSING', 'HOST', 'EMPTY'] });
  t.deepEqual(renderTemplate('no variables here', env), { ok: true, text: 'no variables here', used: [] });
});

// Each would be quadratic (minutes) with a naive scan or a backtracking regular expression.
test('1 MiB templates of the worst shapes render in linear time', (t) => {
  const MiB = 2 ** 20;
  const fill = (unit: string): string => unit.repeat(Math.floor(MiB / unit.length));
  const shapes = {
    'plain text': fill('x'),
    'config with substitutions': fill('listen ${PORT:-80}; root ${ROOT}; # $$5 $host\n'),
    'defaults never closed': fill('${A:-'),
    'a required variable missing 170,000 times on one line': fill('${A:?}'),
    '$$ only': fill('$$'),
    'references only': fill('${HOST}'),
    'lone $': fill('$ '),
    'names never closed': fill('${AAAAAAAA'),
  };
  for (const [shape, text] of Object.entries(shapes)) {
    const started = process.hrtime.bigint();
    const result = renderTemplate(text, env);
    if (result.ok) result.text.charCodeAt(result.text.length - 1);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.log(`${shape}: ${ms.toFixed(1)} ms`);
    // a few ms on an idle machine; the bound leaves room for a loaded one, not for a quadratic scan
    t.true(ms < 2000, `${shape}: ${ms} ms`);
  }
});
