// Finds where JSON text stops being JSON. V8's JSON.parse gives an offset for
// most errors but not all ("Unexpected token"), and a manifest problem without
// a line:col is one the user has to hunt for. Only runs after JSON.parse failed.

/** Offset of the first character that cannot continue valid JSON (text.length: it ended too soon). */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const stop = new Error('stop');
  const fail = (): never => { throw stop; };
  const blank = () => { while (' \t\n\r'.includes(text[i] ?? 'x')) i++; };
  const expect = (c: string) => { if (text[i] !== c) fail(); i++; };
  const string = () => {
    expect('"');
    for (; text[i] !== '"'; i++) {
      if (i >= text.length || text[i] < ' ') fail();
      if (text[i] === '\\') i++;
    }
    i++;
  };
  const value = (): void => {
    blank();
    const open = text[i];
    if (open === '{' || open === '[') {
      const close = open === '{' ? '}' : ']';
      i++;
      blank();
      if (text[i] === close) { i++; return; }
      for (;;) {
        if (open === '{') { blank(); string(); blank(); expect(':'); }
        value();
        blank();
        if (text[i] !== ',') { expect(close); return; }
        i++;
      }
    }
    if (open === '"') return string();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!literal) fail();
    i += literal![0].length;
  };
  try {
    value();
    blank();
    if (i < text.length) fail();
  } catch {
    // `stop`, or nesting deep enough to overflow the stack: either way `i` is as far as it got.
  }
  return i;
}

/** The text at `offset`, for "unexpected ..." messages. */
export function tokenAt(text: string, offset: number): string {
  if (offset >= text.length) return 'end of file';
  const word = /^[^\s,:[\]{}"]+/.exec(text.slice(offset, offset + 20))?.[0];
  return JSON.stringify(word ?? text[offset]);
}
