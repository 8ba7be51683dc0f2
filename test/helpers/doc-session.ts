// Runs the commands a Markdown page shows and compares what they print with
// what the page says they print, so that a walkthrough cannot drift from the
// code. A page opts in block by block:
//
//   - a fenced block whose first line is a comment naming an absolute path
//     (`# /tmp/myapp/manifest.yaml`, `// /tmp/myapp/app/server.mjs: …`) is a
//     file: it is written there before any command runs;
//   - a `console` block is commands (`$ …`) each followed by its output; they
//     run in bash from the checkout's root, stderr merged into stdout as a
//     terminal shows them, exports carried to later blocks;
//   - `<!-- doc-test: DIRECTIVE -->` on the line before a block changes how it
//     runs: `skip WHY`; `background` (its one command keeps running; every line
//     shown must appear); `interrupt` (Ctrl-C to the background command, shown
//     as `^C`: what it prints until it exits, in any order); `unordered` (the
//     lines in any order);
//   - `<!-- doc-test: tier container -->` on a line of its own: the blocks after
//     it need a container engine.
//
// Paths under /tmp/NAME become the test's own temp dir, and the page's port
// the test's own; the output is mapped back before it is compared. PIDs,
// image and container IDs and the changing columns of `berth status` are
// compared as placeholders; everything else must match.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';

export interface Block {
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  body: string[];
  directive?: string;
  tier: 'laptop' | 'container';
}

/** The fenced blocks of a Markdown file, with their directive and tier. */
export function readBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: Block[] = [];
  let tier: Block['tier'] = 'laptop';
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*<!-- doc-test: tier container -->\s*$/.test(lines[i])) tier = 'container';
    const open = /^(\s*)```(\S*)/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i].slice(indent));
    let before = start - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const directive = before >= 0 ? /^\s*<!-- doc-test: (.+?) -->\s*$/.exec(lines[before])?.[1] : undefined;
    blocks.push({ line: start + 1, lang: open[2], body, directive: directive === 'tier container' ? undefined : directive, tier });
  }
  return blocks;
}

/** The absolute path a block's first line names, when the block is a file. */
export function filePath(block: Block): string | undefined {
  if (block.lang === 'console' || block.lang === '') return undefined;
  return /^(?:#|\/\/) (\/[^\s:]+)/.exec(block.body[0] ?? '')?.[1];
}

export interface SessionOptions {
  /** the page, for messages */
  page: string;
  /** where /tmp/NAME goes: DIR/NAME */
  dir: string;
  /** the checkout's root: where commands run */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** the port the page uses and the one the test uses instead */
  port?: { page: number; test: number };
  /** how long a background command may take to print what the page shows */
  waitMs?: number;
  /** lines this machine adds that a reader's would not (the test says why) */
  noise?: RegExp[];
}

interface Background {
  proc: ChildProcess;
  output: string;
  exited: Promise<void>;
}

export class DocSession {
  private readonly exports: string[] = [];
  private background: Background | undefined;

  constructor(private readonly opts: SessionOptions) {}

  /** The page's text as the test runs it: its paths and port. */
  toTest(text: string): string {
    let out = text.replace(/\/tmp\/(?=[A-Za-z0-9._-])/g, `${this.opts.dir}/`);
    if (this.opts.port) out = out.replace(new RegExp(`\\b${this.opts.port.page}\\b`, 'g'), String(this.opts.port.test));
    return out;
  }

  /** What the test saw, as the page would show it. */
  toPage(text: string): string {
    let out = text.split(`${this.opts.dir}/`).join('/tmp/');
    if (this.opts.port) out = out.replace(new RegExp(`\\b${this.opts.port.test}\\b`, 'g'), String(this.opts.port.page));
    return out;
  }

  private quiet(text: string): string {
    const noise = this.opts.noise ?? [];
    return noise.length ? text.split('\n').filter((l) => !noise.some((n) => n.test(l))).join('\n') : text;
  }

  /** Writes every file block. */
  writeFiles(blocks: Block[]): string[] {
    const written: string[] = [];
    for (const b of blocks) {
      const path = filePath(b);
      if (!path) continue;
      const target = this.toTest(path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, this.toTest(`${b.body.join('\n')}\n`));
      written.push(path);
    }
    return written;
  }

  /** Runs one console block; a description of what differs, or undefined when the output matches. */
  async run(b: Block): Promise<string | undefined> {
    const where = `${this.opts.page}:${b.line}`;
    if (b.directive === 'interrupt') return this.interrupt(b, where);
    const steps = parseConsole(b.body);
    if (b.directive === 'background') {
      if (steps.length !== 1) return `${where}: a background block holds one command, not ${steps.length}`;
      return this.startBackground(steps[0], where);
    }
    const marker = '\u001eberth-doc-step\u001e';
    const script = [
      'exec 2>&1',
      ...this.exports,
      ...steps.map((s) => `${this.toTest(s.command)}\n__rc=$?; printf '\\n${marker}\\n'; (exit $__rc)`),
    ].join('\n');
    for (const s of steps) if (/^export /.test(s.command)) this.exports.push(this.toTest(s.command));
    const out = await runScript(script, this.opts.cwd, this.opts.env, 300_000);
    const got = this.toPage(this.quiet(out)).split(`\n${marker}\n`);
    const problems: string[] = [];
    steps.forEach((s, i) => {
      const actual = lines(got[i] ?? '');
      const diff = b.directive === 'unordered' ? sameLines(s.output, actual) : sameSequence(s.output, actual);
      if (diff) problems.push(`$ ${s.command}\n${diff}`);
    });
    return problems.length ? `${where}:\n${problems.join('\n')}` : undefined;
  }

  private async startBackground(step: Step, where: string): Promise<string | undefined> {
    if (this.background) return `${where}: a second background command while one runs`;
    const proc = spawn('bash', ['-c', [...this.exports, `exec ${this.toTest(step.command)}`].join('\n')], {
      cwd: this.opts.cwd,
      env: this.opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bg: Background = { proc, output: '', exited: new Promise((r) => proc.on('close', () => r())) };
    proc.stdout!.on('data', (d: Buffer) => (bg.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (bg.output += d.toString()));
    this.background = bg;
    const deadline = Date.now() + (this.opts.waitMs ?? 30_000);
    for (;;) {
      const missing = missingLines(step.output, lines(this.toPage(this.quiet(bg.output))));
      if (!missing.length) return undefined;
      if (Date.now() > deadline || proc.exitCode !== null) {
        return `${where}: $ ${step.command}\nnot printed${proc.exitCode !== null ? ` (it exited ${proc.exitCode})` : ` within ${(this.opts.waitMs ?? 30_000) / 1000} s`}:\n${missing.map((l) => `  ${l}`).join('\n')}\nit printed:\n${this.toPage(bg.output)}`;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async interrupt(b: Block, where: string): Promise<string | undefined> {
    const bg = this.background;
    if (!bg) return `${where}: Ctrl-C with no background command`;
    if (b.body[0] !== '^C') return `${where}: an interrupt block starts with ^C`;
    // as a reader would, press Ctrl-C once the terminal is quiet: a line the session's last command caused may still be on its way
    for (let seen = -1, quietSince = Date.now(), start = Date.now(); Date.now() - quietSince < 500 && Date.now() - start < 5000; ) {
      if (bg.output.length !== seen) [seen, quietSince] = [bg.output.length, Date.now()];
      await new Promise((r) => setTimeout(r, 100));
    }
    const from = bg.output.length;
    process.kill(-bg.proc.pid!, 'SIGINT');
    const timedOut = await Promise.race([bg.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 30_000))]);
    this.background = undefined;
    if (timedOut) {
      this.kill(bg);
      return `${where}: the background command did not exit within 30 s of Ctrl-C`;
    }
    const diff = sameLines(b.body.slice(1), lines(this.toPage(this.quiet(bg.output.slice(from)))));
    return diff ? `${where}: after ^C\n${diff}` : undefined;
  }

  /** Kills what still runs in the background. */
  async close(): Promise<void> {
    const bg = this.background;
    this.background = undefined;
    if (!bg) return;
    this.kill(bg);
    await Promise.race([bg.exited, new Promise((r) => setTimeout(r, 5_000))]);
  }

  private kill(bg: Background): void {
    try {
      process.kill(-bg.proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface Step {
  command: string;
  output: string[];
}

function parseConsole(body: string[]): Step[] {
  const steps: Step[] = [];
  for (const l of body) {
    if (l.startsWith('$ ')) steps.push({ command: l.slice(2).replace(/\s+#\s.*$/, ''), output: [] });
    else steps.at(-1)?.output.push(l);
  }
  return steps;
}

function runScript(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const proc = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      out += `\n(timed out after ${timeoutMs / 1000} s)`;
      process.kill(-proc.pid!, 'SIGKILL');
    }, timeoutMs);
    proc.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}

const STATUS_ROW = /^(\S+ (?:long-run|oneshot-pre|oneshot-post) \S+) (\S+) (\S+) (\d+ \S+) (\S+) (\S+)$/;

/** One line as compared: spaces collapsed, and what changes from run to run made a placeholder. */
export function normalize(line: string): string {
  let l = line.replace(/\s+/g, ' ').trim();
  l = l.replace(/\bpid \d+/g, 'pid N');
  l = l.replace(/\b[0-9a-f]{12,64}\b/g, 'ID');
  const row = STATUS_ROW.exec(l);
  if (row) {
    const v = (s: string): string => (s === '-' ? '-' : '*');
    l = `${row[1]} ${v(row[2])} ${v(row[3])} ${row[4]} ${v(row[5])} ${v(row[6])}`;
  }
  return l;
}

function sameSequence(expected: string[], actual: string[]): string | undefined {
  const e = expected.map(normalize);
  const a = actual.map(normalize);
  if (e.length === a.length && e.every((l, i) => l === a[i])) return undefined;
  return `the page shows:\n${expected.map((l) => `  ${l}`).join('\n')}\nit printed:\n${actual.map((l) => `  ${l}`).join('\n')}`;
}

function missingLines(expected: string[], actual: string[]): string[] {
  const left = new Map<string, number>();
  for (const l of actual.map(normalize)) left.set(l, (left.get(l) ?? 0) + 1);
  const missing: string[] = [];
  for (const l of expected) {
    const n = left.get(normalize(l)) ?? 0;
    if (n === 0) missing.push(l);
    else left.set(normalize(l), n - 1);
  }
  return missing;
}

function sameLines(expected: string[], actual: string[]): string | undefined {
  const missing = missingLines(expected, actual);
  const extra = missingLines(actual, expected);
  if (!missing.length && !extra.length) return undefined;
  return [
    ...(missing.length ? ['the page shows, not printed:', ...missing.map((l) => `  ${l}`)] : []),
    ...(extra.length ? ['printed, not on the page:', ...extra.map((l) => `  ${l}`)] : []),
  ].join('\n');
}

/** A TCP port nothing listens on now, for a test to use instead of a page's. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
