// Substitution over an environment, for config files a service reads: four
// forms and nothing else, no shell. A `$` that starts none of them is copied
// as written and reading goes on right after it, so `$HOME`, `${VAR:+x}`,
// `$(cmd)` and a lone `$` reach the file unchanged and nothing ever runs.
//
//   ${VAR}            the value; empty when unset
//   ${VAR:-default}   the value if set and not empty, else default
//   ${VAR:?message}   the value if set and not empty, else a problem
//   $$                a literal $
//
// A default or message is literal text up to the first `}` (no nesting).
// One pass with indexOf and char codes, no regular expression: linear in the
// text whatever it holds.

export interface TemplateProblem {
  /** 1-based, at the `$`; lines end at \n, columns count UTF-16 units (as manifest positions do). */
  line: number;
  col: number;
  variable: string;
  message: string;
}

export type TemplateResult =
  | { ok: true; text: string; used: string[] }
  | { ok: false; problems: TemplateProblem[] };

const DOLLAR = 0x24;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;
const DASH = 0x2d;
const QUESTION = 0x3f;

const isNameStart = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39);

/**
 * The first `char` at or after `from`, for calls whose `from` never goes
 * back: a search is repeated only once its answer is passed, so all calls
 * together read the text once (a `${A:-` without `}` a million times over
 * would otherwise rescan the rest of the text each time).
 */
function firstFrom(text: string, char: string): (from: number) => number {
  let found = -2;
  return (from) => {
    if (found === -2 || (found !== -1 && found < from)) found = text.indexOf(char, from);
    return found;
  };
}

export function renderTemplate(text: string, env: Record<string, string>): TemplateResult {
  let out = '';
  let copied = 0;
  const used = new Set<string>();
  const problems: TemplateProblem[] = [];
  const nextClose = firstFrom(text, '}');
  const nextNewline = firstFrom(text, '\n');
  let line = 1;
  let lineStart = 0;

  for (let at = text.indexOf('$'); at !== -1; at = text.indexOf('$', at)) {
    const next = text.charCodeAt(at + 1);
    if (next === DOLLAR) {
      out += text.slice(copied, at) + '$';
      copied = at += 2;
      continue;
    }
    const nameStart = at + 2;
    if (next !== OPEN || !isNameStart(text.charCodeAt(nameStart))) {
      at++;
      continue;
    }
    let nameEnd = nameStart + 1;
    while (isNameChar(text.charCodeAt(nameEnd))) nameEnd++;
    const op = text.charCodeAt(nameEnd);
    let end: number;
    let operand = '';
    let kind: 'plain' | 'default' | 'required';
    if (op === CLOSE) {
      end = nameEnd + 1;
      kind = 'plain';
    } else {
      const sign = text.charCodeAt(nameEnd + 1);
      const found = op === COLON && (sign === DASH || sign === QUESTION) ? nextClose(nameEnd + 2) : -1;
      if (found === -1) {
        at++;
        continue;
      }
      operand = text.slice(nameEnd + 2, found);
      end = found + 1;
      kind = sign === DASH ? 'default' : 'required';
    }

    const name = text.slice(nameStart, nameEnd);
    used.add(name);
    // Own properties only: `${constructor}` must not find Object.prototype's.
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    let replacement = value ?? '';
    if (kind !== 'plain' && !value) {
      if (kind === 'default') replacement = operand;
      else {
        for (let nl = nextNewline(lineStart); nl !== -1 && nl < at; nl = nextNewline(nl + 1)) {
          line++;
          lineStart = nl + 1;
        }
        problems.push({ line, col: at - lineStart + 1, variable: name, message: operand || (value === undefined ? 'is not set' : 'is empty') });
      }
    }
    out += text.slice(copied, at) + replacement;
    copied = at = end;
  }

  if (problems.length) return { ok: false, problems };
  return { ok: true, text: out + text.slice(copied), used: [...used] };
}
