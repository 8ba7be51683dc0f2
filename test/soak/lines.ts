// The relay invariant: every line on the init's stdout is whole. A writer
// (programs.ts) prints `soak NAME RUN SEQ LEN PAYLOAD`, and everything after
// the header follows from SEQ, so each relayed line is rebuilt here and
// compared byte for byte; SEQ must go up by one per RUN (nothing lost,
// doubled or reordered). Two cuts are documented and allowed: a line the
// writer was stopped in the middle of for 0.5 s goes out in pieces (only
// when the driver SIGSTOPped that service), and a writer that dies mid-line
// leaves the start of its last line.
import type { Soak } from './soak.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
type Stream = 'stdout' | 'stderr';
const HEADER = /^soak (\S+) (\d+e?) (\d+) (\d+) /;
/** Runs remembered (a crash loop makes thousands); the oldest go first. */
const MAX_RUNS = 1000;

/** How long the payload of line SEQ is: the same arithmetic as writer.pl's len_of. */
export function lengthOf(seq: number): number {
  const h = (seq * 40503 + 12345) % 65536;
  const r = h % 1000;
  if (r < 4) return 2000 + ((h * 7) % 30000);
  if (r < 40) return 300 + (h % 1500);
  return 20 + (h % 160);
}

/** Line SEQ of a writer's RUN, without its newline: what writer.pl prints. */
export function lineOf(name: string, run: string, seq: number): string {
  const len = lengthOf(seq);
  const payload = ALPHABET.repeat(Math.floor(len / 36) + 2).slice(seq % 36, (seq % 36) + len);
  return `soak ${name} ${run} ${seq} ${len} ${payload}`;
}

interface RunState {
  next: number;
  /** the start of a line whose rest has not come (a stall, or the writer's death) */
  partial?: { text: string; seq: number; at: number };
}

/** When the driver held a service's process stopped (SIGSTOP until SIGCONT). */
export interface StopWindow {
  from: number;
  to: number | undefined;
}

export interface RelayCounts {
  lines: number;
  initLines: number;
  writerLines: number;
  otherLines: number;
  /** lines relayed in pieces because the driver stopped the writer mid-line */
  splitByStall: number;
  /** lines relayed in pieces though the driver never stopped the writer (allowed only with --allow-stall-splits) */
  splitUnexplained: number;
  bytes: number;
}

/** Short, printable excerpt of a line for a failure message. */
export function excerpt(text: string, max = 120): string {
  const shown = text.length <= max ? text : `${text.slice(0, max / 2)}…${text.slice(-max / 2)}`;
  return `${JSON.stringify(shown)} (${text.length} bytes)`;
}

export class RelayChecker {
  readonly counts: RelayCounts = { lines: 0, initLines: 0, writerLines: 0, otherLines: 0, splitByStall: 0, splitUnexplained: 0, bytes: 0 };
  private readonly runs = new Map<string, RunState>();
  /** pieces of cut lines lately seen on stdout ("SERVICE TEXT"), for what a logs follower gets */
  private readonly pieces = new Set<string>();
  private tail = '';
  /** the last lines seen, for a failure report */
  readonly recent: string[] = [];

  constructor(
    private readonly soak: Soak,
    /** names whose every line must be a writer's */
    private readonly writers: (name: string) => boolean,
    /** the windows in which the driver held `service` stopped */
    private readonly stops: (service: string) => StopWindow[],
    /** sees each line of the init's own */
    private readonly onInitLine: (line: string) => void,
    /** count a line in pieces that no SIGSTOP explains instead of failing (options.ts, --allow-stall-splits) */
    private readonly allowStallSplits = false,
  ) {}

  /** A chunk of the init's stdout (latin1: one char per byte, so lengths are bytes). */
  push(chunk: string): void {
    this.counts.bytes += chunk.length;
    const lines = (this.tail + chunk).split('\n');
    this.tail = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  /** The init's stdout ended: a line left without its newline is a torn one. */
  end(): void {
    if (this.tail) this.soak.fail('every relayed line is whole', `the init's stdout ended in the middle of a line: ${excerpt(this.tail)}`);
  }

  /** Runs whose last line was cut by the writer's death (or is still waiting for its rest). */
  cutRuns(): number {
    let n = 0;
    for (const r of this.runs.values()) if (r.partial) n++;
    return n;
  }

  /** True when `text` is a line `service` wrote whole, or a piece of one that stdout showed cut too. */
  known(service: string, text: string): boolean {
    const head = HEADER.exec(text);
    if (head && head[1] === service && text === lineOf(service, head[2], Number(head[3]))) return true;
    return this.pieces.has(`${service} ${text}`);
  }

  /** `service`'s runs on `stream` (on either when the format does not say), last seen first: a cut most likely belongs to the latest. */
  private runsOf(service: string, stream: Stream | undefined): Array<[string, RunState]> {
    const out: Array<[string, RunState]> = [];
    for (const [key, state] of this.runs) {
      if (!key.startsWith(`${service} `)) continue;
      const run = key.slice(service.length + 1);
      if (!stream || (stream === 'stderr') === run.endsWith('e')) out.push([run, state]);
    }
    return out.reverse();
  }

  private addRun(key: string, state: RunState): void {
    this.runs.delete(key);
    this.runs.set(key, state);
    if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
  }

  private remember(service: string, piece: string): void {
    this.pieces.add(`${service} ${piece}`);
    if (this.pieces.size > 500) this.pieces.delete(this.pieces.values().next().value!);
  }

  private line(line: string): void {
    this.counts.lines++;
    this.recent.push(line.length > 300 ? `${line.slice(0, 300)}… (${line.length} bytes)` : line);
    if (this.recent.length > 40) this.recent.shift();
    if (line.startsWith('[berth] ')) {
      this.counts.initLines++;
      this.onInitLine(line.slice(8));
      return;
    }
    if (line.startsWith('{')) {
      let obj: { service?: unknown; stream?: unknown; line?: unknown };
      try {
        obj = JSON.parse(line) as typeof obj;
      } catch {
        this.soak.fail('every relayed line is whole', `a json line that does not parse: ${excerpt(line)}`);
        return;
      }
      if (typeof obj.service !== 'string' || typeof obj.line !== 'string' || (obj.stream !== 'stdout' && obj.stream !== 'stderr')) {
        this.soak.fail('every relayed line is whole', `a json line without service, stream and line: ${excerpt(line)}`);
        return;
      }
      this.serviceLine(obj.service, obj.line, obj.stream);
      return;
    }
    const bar = line.indexOf(' | ');
    const name = bar > 0 ? line.slice(0, bar).trimEnd() : '';
    if (!name || name.includes(' ')) {
      this.soak.fail('every relayed line is whole', `a line that is neither the init's ([berth] …) nor a service's (NAME | …) nor json: ${excerpt(line)}`);
      return;
    }
    this.serviceLine(name, line.slice(bar + 3), undefined);
  }

  private serviceLine(service: string, text: string, stream: Stream | undefined): void {
    const head = HEADER.exec(text);
    if (!head) {
      if (this.continues(service, text, stream) || this.cutInHeader(service, text, stream)) return;
      if (this.writers(service)) this.soak.fail('every relayed line is whole', `${service} printed a line that is neither whole nor the rest of one of its lines: ${excerpt(text)}`);
      else this.counts.otherLines++;
      return;
    }
    const [, name, run, seqText] = head;
    const seq = Number(seqText);
    if (name !== service) {
      this.soak.fail('every relayed line is whole', `a line of ${name} relayed as ${service}'s: ${excerpt(text)}`);
      return;
    }
    if (stream && (stream === 'stderr') !== run.endsWith('e')) {
      this.soak.fail('every relayed line is whole', `a line ${service} wrote to ${run.endsWith('e') ? 'stderr' : 'stdout'} relayed as ${stream}: ${excerpt(text)}`);
      return;
    }
    const key = `${service} ${run}`;
    let state = this.runs.get(key);
    // line 0 of a run seen before: a new process got the old one's pid
    if (!state || (seq === 0 && (state.next > 0 || state.partial))) this.addRun(key, (state = { next: 0 }));
    if (state.partial) {
      this.soak.fail('every relayed line is whole', `${service} (run ${run}): line ${state.partial.seq} was cut after ${state.partial.text.length} bytes and the run went on with line ${seq}: ${excerpt(state.partial.text)}, then ${excerpt(text)}`);
      return;
    }
    if (seq !== state.next) {
      this.soak.fail('every relayed line is whole', `${service} (run ${run}): line ${seq} came where line ${state.next} was due (${seq > state.next ? 'lines lost' : 'a line doubled or out of order'})`);
      return;
    }
    const expected = lineOf(service, run, seq);
    if (text === expected) {
      state.next++;
      this.counts.writerLines++;
    } else if (text.length < expected.length && expected.startsWith(text)) {
      state.partial = { text, seq, at: Date.now() };
      this.remember(service, text);
    } else {
      this.soak.fail('every relayed line is whole', `${service} (run ${run}) line ${seq} is not what it wrote: got ${excerpt(text)}, expected ${excerpt(expected)}${text.length > expected.length ? ' (merged with more)' : ''}`);
    }
  }

  /**
   * True when `text` is the start of a line cut before its header ended: a
   * write that a kill or a stop cut short may end anywhere. It is the next
   * line of a run, or the first of a new one.
   */
  private cutInHeader(service: string, text: string, stream: Stream | undefined): boolean {
    for (const [run, state] of this.runsOf(service, stream)) {
      if (state.partial || !lineOf(service, run, state.next).startsWith(text)) continue;
      state.partial = { text, seq: state.next, at: Date.now() };
      this.remember(service, text);
      return true;
    }
    // a new run's first line: `soak NAME RUN ` whole, the rest a prefix of its line 0
    const fresh = /^soak (\S+) (\d+e?) /.exec(text);
    if (fresh) {
      const key = `${service} ${fresh[2]}`;
      if (fresh[1] !== service || this.runs.has(key) || (stream && (stream === 'stderr') !== fresh[2].endsWith('e')) || !lineOf(service, fresh[2], 0).startsWith(text)) return false;
      this.addRun(key, { next: 0, partial: { text, seq: 0, at: Date.now() } });
    } else {
      // cut before the run was whole: `soak NAM`, `soak NAME 12`
      const m = /^soak (\S+) \d*e?$/.exec(text);
      if (!(m && m[1] === service) && !`soak ${service} `.startsWith(text)) return false;
    }
    this.remember(service, text);
    return true;
  }

  /** True when `text` is the rest (or more of it) of a line of `service` that came cut. */
  private continues(service: string, text: string, stream: Stream | undefined): boolean {
    for (const [run, state] of this.runsOf(service, stream)) {
      if (!state.partial) continue;
      const expected = lineOf(service, run, state.partial.seq);
      const joined = state.partial.text + text;
      if (!expected.startsWith(joined)) continue;
      this.remember(service, text);
      const since = state.partial.at;
      const stopped = this.stops(service).some((w) => w.from <= Date.now() && (w.to === undefined || w.to >= since - 10_000));
      if (!stopped && !this.allowStallSplits) {
        this.soak.fail('every relayed line is whole', `${service} (run ${run}) line ${state.partial.seq} came in pieces though the driver never stopped it: ${excerpt(state.partial.text)}, then ${excerpt(text)}`);
        return true;
      }
      if (joined.length === expected.length) {
        state.partial = undefined;
        state.next++;
        this.counts.writerLines++;
        if (stopped) this.counts.splitByStall++;
        else this.counts.splitUnexplained++;
      } else state.partial.text = joined;
      return true;
    }
    return false;
  }
}
