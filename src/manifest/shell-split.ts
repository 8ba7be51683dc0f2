// Splits an `execStart` string into argv the way /bin/sh would split words,
// minus every expansion: users write the quoting they know, and `$HOME` stays
// literally `$HOME` because no shell runs (use `script` for that).

export type SplitResult = { argv: string[] } | { error: string };

export function shellSplit(line: string): SplitResult {
  const argv: string[] = [];
  let word = '';
  let inWord = false; // distinguishes '' (an empty argument) from no argument
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) argv.push(word);
      [word, inWord] = ['', false];
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { error: `unterminated single quote at character ${i + 1}` };
      [word, inWord] = [word + line.slice(i + 1, end), true];
      i = end + 1;
    } else if (c === '"') {
      const start = i;
      inWord = true;
      for (i++; ; i++) {
        if (i >= line.length) return { error: `unterminated double quote at character ${start + 1}` };
        let ch = line[i];
        if (ch === '"') break;
        // Inside double quotes a backslash only escapes the characters sh treats specially there.
        if (ch === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1])) {
          ch = line[++i];
          if (ch === '\n') continue; // line continuation
        }
        word += ch;
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) return { error: 'trailing backslash escapes nothing' };
      if (line[i + 1] !== '\n') [word, inWord] = [word + line[i + 1], true];
      i += 2;
    } else {
      [word, inWord] = [word + c, true];
      i++;
    }
  }
  if (inWord) argv.push(word);
  return { argv };
}
