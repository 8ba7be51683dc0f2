// Clients of `berth logs SERVICE -f` that go away abruptly: the CLI,
// SIGKILLed after a while, and raw control-channel clients that either read
// for a while and vanish, or never read at all while the service floods (the
// init must drop them past 1 MiB, not grow). Every whole line a follower gets
// must be one the service wrote (or a piece stdout showed cut as well).
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { berth } from '../helpers/init.js';
import { excerpt, type RelayChecker } from './lines.js';
import { sleep, type Soak } from './soak.js';

/** How long a line a follower got may wait for stdout to show the same piece. */
const PIECE_GRACE_MS = 5000;

export class Followers {
  active = 0;
  lines = 0;
  private readonly children = new Set<ChildProcess>();
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<Promise<void>>();
  /** lines waiting for stdout to show the same piece */
  private readonly checks = new Set<Promise<void>>();

  constructor(
    private readonly soak: Soak,
    private readonly relay: RelayChecker,
    private readonly stateDir: string,
  ) {}

  /** `berth logs SERVICE -n 5 -f`, SIGKILLed after `holdMs`. */
  cli(service: string, holdMs: number): void {
    const p = spawn(berth[0], [...berth.slice(1), 'logs', service, '-n', '5', '-f', '--state-dir', this.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(p);
    const lines = this.reader(service, 'berth logs -f');
    p.stdout!.setEncoding('latin1');
    p.stdout!.on('data', lines);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, holdMs);
    this.track(
      new Promise<void>((resolve) =>
        p.once('close', (code) => {
          clearTimeout(timer);
          this.children.delete(p);
          if (!killed) this.soak.note(`berth logs -f ended by itself (exit ${code})`);
          resolve();
        }),
      ),
    );
  }

  /**
   * A raw follower: reads for `holdMs`, or (`stall`) reads nothing while
   * `flood` makes the service write ~4 MB, then reads what waits for it: a
   * follower the init dropped (past 1 MiB unread) then ends at once.
   */
  raw(service: string, holdMs: number, stall: boolean, flood: () => boolean): void {
    const socket = connect(join(this.stateDir, 'control.sock'));
    this.sockets.add(socket);
    let ours = false;
    let endedByInit = false;
    let flooded = false;
    const lines = this.reader(service, 'a raw logs follower');
    let answered = false;
    socket.setEncoding('latin1');
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write(`${JSON.stringify({ op: 'logs', service, lines: 0, follow: true })}\n`);
      if (stall) {
        socket.pause();
        flooded = flood();
      }
    });
    socket.on('data', (chunk: string) => {
      if (answered) return lines(chunk);
      const nl = chunk.indexOf('\n');
      if (nl === -1) return; // the answer line is short: it comes whole
      answered = true;
      lines(chunk.slice(nl + 1));
    });
    socket.on('end', () => (endedByInit = !ours));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    this.track(
      (async () => {
        await Promise.race([closed, sleep(holdMs)]);
        if (stall) {
          socket.resume();
          await Promise.race([closed, sleep(2000)]);
        }
        ours = true;
        socket.destroy();
        await closed;
        this.sockets.delete(socket);
        if (!stall) {
          if (endedByInit) this.soak.note('raw follower closed by the init');
        } else if (!flooded) this.soak.note('unread follower: no flood (the service was not running)');
        else this.soak.note(endedByInit ? 'unread follower dropped by the init during a flood' : 'unread follower kept by the init through a flood');
      })(),
    );
  }

  /** Ends every follower now. */
  async closeAll(): Promise<void> {
    for (const p of this.children) p.kill('SIGKILL');
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.pending, ...this.checks]);
  }

  private track(done: Promise<void>): void {
    this.active++;
    const p = done.finally(() => {
      this.active--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  /** A line splitter whose whole lines must be ones `service` wrote. */
  private reader(service: string, who: string): (chunk: string) => void {
    let tail = '';
    return (chunk) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop()!;
      for (const line of lines) {
        this.lines++;
        if (this.relay.known(service, line)) continue;
        // a piece of a cut line may reach the follower before stdout shows it
        const check = sleep(PIECE_GRACE_MS).then(() => {
          this.checks.delete(check);
          if (!this.relay.known(service, line)) this.soak.fail('every line a logs follower gets is whole', `${who} of ${service} got a line it never wrote: ${excerpt(line)}`);
        });
        this.checks.add(check);
      }
    };
  }
}
