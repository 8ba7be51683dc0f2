import test from 'ava';
import { shellSplit } from '../../src/manifest/shell-split.js';

const argv = (line: string) => {
  const result = shellSplit(line);
  if ('error' in result) throw new Error(result.error);
  return result.argv;
};

test('words are split on blanks, however many', (t) => {
  t.deepEqual(argv('  /usr/bin/node \t server.js\n--port 80 '), ['/usr/bin/node', 'server.js', '--port', '80']);
});

test('single quotes keep everything literal, backslashes included', (t) => {
  t.deepEqual(argv(`sed -u 's/^/web: \\n/'`), ['sed', '-u', 's/^/web: \\n/']);
});

test('double quotes keep blanks and allow escaping quote, backslash, dollar and backtick', (t) => {
  t.deepEqual(argv('echo "a  b" "say \\"hi\\"" "back\\\\slash" "\\$HOME" "keep \\n"'),
    ['echo', 'a  b', 'say "hi"', 'back\\slash', '$HOME', 'keep \\n']);
});

test('a backslash outside quotes escapes the next character', (t) => {
  t.deepEqual(argv('touch my\\ file \\"q\\"'), ['touch', 'my file', '"q"']);
});

test('adjacent quoted and bare parts form one word, and empty quotes an empty argument', (t) => {
  t.deepEqual(argv(`--name="a b"'c' '' ""`), ['--name=a bc', '', '']);
});

test('nothing is expanded: variables, globs, tildes and operators stay literal', (t) => {
  t.deepEqual(argv('echo $HOME ~ *.js a|b;c'), ['echo', '$HOME', '~', '*.js', 'a|b;c']);
});

test('backslash-newline joins lines, outside and inside double quotes', (t) => {
  t.deepEqual(argv('a \\\nb "c\\\nd"'), ['a', 'b', 'cd']);
});

test('an escaped backslash before a newline inside double quotes keeps the newline', (t) => {
  t.deepEqual(argv('"a\\\\\nb"'), ['a\\\nb']);
});

test('unterminated quotes and a trailing backslash are errors that say where', (t) => {
  t.deepEqual(shellSplit(`echo 'oops`), { error: 'unterminated single quote at character 6' });
  t.deepEqual(shellSplit('echo "oops'), { error: 'unterminated double quote at character 6' });
  t.deepEqual(shellSplit('echo \\'), { error: 'trailing backslash escapes nothing' });
});

test('a blank line has no words', (t) => {
  t.deepEqual(argv('   '), []);
});
