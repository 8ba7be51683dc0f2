// The orphan workload: a service makes N children that block on a pipe, then
// exits, so they are re-parented to PID 1; closing the pipe's last write end
// (held by one more orphan, the "holder", which exits when the bench writes
// to a release FIFO) makes all N exit at once.
//
// The forker moves itself into a fresh pids cgroup first, so its children are
// counted there: pids.current includes zombies (they are uncharged only when
// reaped), while cgroup.procs lists only live processes. pids.current == 0 is
// therefore exactly "every orphan has exited and been reaped", and reading it
// costs a few microseconds however many processes there are.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmdirSync, writeFileSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleepSync } from './proc.js';

// The same program twice: in C when a compiler is at hand, else in perl
// (always on Debian). The C one can make its orphans with
// clone(CLONE_VM|CLONE_FILES): real processes (own pid, re-parented, zombies
// until reaped) that share one address space, so neither their creation nor
// their exit copies or tears down page tables. On VMs where page-table work is
// slow (~1 ms per fork and per exit on the 2-core VM measured) that keeps the
// figure about the init, not about the hypervisor. ORPHAN_KIND "fork" makes
// ordinary forked children instead.
const FORKER_C = String.raw`#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#define STACK 16384
static const char *events;
static int rfd;
static void event(const char *msg) { int fd = open(events, O_WRONLY | O_APPEND); if (fd >= 0) { if (write(fd, msg, strlen(msg)) < 0) {} close(fd); } }
static void fail(const char *what) { char b[256]; snprintf(b, sizeof b, "failed %s: %s\n", what, strerror(errno)); event(b); _exit(1); }
/* a clone child shares memory with its siblings: raw syscalls only */
static int orphan(void *arg) { char b; (void)arg; syscall(SYS_read, rfd, &b, 1); syscall(SYS_exit, 0); return 0; }
int main(int argc, char **argv) {
  if (argc != 7) return 2;
  const char *procs = argv[1], *rel = argv[4];
  long n = atol(argv[2]); int workers = atoi(argv[3]); events = argv[5];
  int use_clone = strcmp(argv[6], "clone") == 0;
  if (strcmp(procs, "-")) { int fd = open(procs, O_WRONLY); if (fd < 0) fail("cgroup open"); if (write(fd, "0\n", 2) != 2) fail("cgroup write"); close(fd); }
  int p[2]; if (pipe(p)) fail("pipe");
  rfd = p[0];
  /* the holder keeps the only write end that outlives this program */
  pid_t h = fork(); if (h < 0) fail("fork holder");
  if (h == 0) { close(p[0]); int fd = open(rel, O_RDONLY); char c; if (fd >= 0 && read(fd, &c, 1) < 0) {} _exit(0); }
  pid_t w[64]; if (workers > 64) workers = 64;
  for (int j = 0; j < workers; j++) {
    long count = n / workers + (j < n % workers ? 1 : 0);
    w[j] = fork(); if (w[j] < 0) fail("fork worker");
    if (w[j] == 0) {
      close(p[1]);
      char *stacks = NULL;
      if (use_clone) {
        stacks = mmap(NULL, (size_t)count * STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (stacks == MAP_FAILED) fail("mmap");
      }
      for (long i = 0; i < count; i++) {
        if (use_clone) {
          if (clone(orphan, stacks + (size_t)(i + 1) * STACK, CLONE_VM | CLONE_FILES | SIGCHLD, NULL) < 0) fail("clone");
        } else {
          pid_t c = fork(); if (c < 0) fail("fork");
          if (c == 0) { char b; if (read(p[0], &b, 1) < 0) {} _exit(0); }
        }
      }
      _exit(0);
    }
  }
  close(p[0]); close(p[1]);
  int ok = 1, st;
  for (int j = 0; j < workers; j++) if (waitpid(w[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) ok = 0;
  char b[64]; if (ok) snprintf(b, sizeof b, "ready %ld\n", n); else snprintf(b, sizeof b, "failed workers\n");
  event(b);
  _exit(0);
}
`;

const FORKER_PL = String.raw`use strict; use warnings; use POSIX ();
my ($procs, $n, $workers, $release, $events) = @ARGV; # a 6th argument (orphan kind) is ignored: perl always forks
sub event { if (open(my $e, '>>', $events)) { syswrite($e, "$_[0]\n"); close $e; } }
sub fail { event("failed $_[0]: $!"); POSIX::_exit(1); }
if ($procs ne '-') { open(my $c, '>', $procs) or fail('cgroup open'); syswrite($c, "0\n") or fail('cgroup write'); close $c; }
pipe(my $r, my $w) or fail('pipe');
my $h = fork(); defined $h or fail('fork holder');
if ($h == 0) { close $r; open(my $f, '<', $release) or POSIX::_exit(1); my $b; sysread($f, $b, 1); POSIX::_exit(0); }
my @kids;
for my $j (0 .. $workers - 1) {
  my $count = int($n / $workers) + ($j < $n % $workers ? 1 : 0);
  my $q = fork(); defined $q or fail('fork worker');
  if ($q == 0) {
    for my $i (1 .. $count) {
      my $p = fork();
      if (!defined $p) { event("failed fork: $!"); POSIX::_exit(1); }
      if ($p == 0) { close $w; my $b; sysread($r, $b, 1); POSIX::_exit(0); }
    }
    POSIX::_exit(0);
  }
  push @kids, $q;
}
close $r; close $w;
my $ok = 1;
for my $q (@kids) { waitpid($q, 0); $ok = 0 if $? != 0; }
event($ok ? "ready $n" : "failed workers");
POSIX::_exit(0);
`;

export type OrphanKind = 'clone' | 'fork';

export interface Forker {
  /** command line: append PROCS N WORKERS RELEASE EVENTS */
  command: string;
  /** what the orphans are: clone(CLONE_VM) processes, or forked ones */
  kind: string;
}

/** Writes the forker into `dir`: compiled C if `cc` works, else the perl script (which forks). */
export function prepareForker(dir: string, orphans: OrphanKind): Forker {
  writeFileSync(join(dir, 'forker.c'), FORKER_C);
  try {
    execFileSync('cc', ['-O2', '-o', join(dir, 'forker'), join(dir, 'forker.c')], { stdio: 'ignore', timeout: 30_000 });
    return { command: `${join(dir, 'forker')} %ARGS% ${orphans}`, kind: orphans === 'clone' ? 'C, clone(CLONE_VM) children' : 'C, forked children' };
  } catch {
    writeFileSync(join(dir, 'forker.pl'), FORKER_PL);
    return { command: `perl ${join(dir, 'forker.pl')} %ARGS%`, kind: 'perl, forked children (no C compiler)' };
  }
}

export interface Cgroup {
  dir: string;
  procs: string;
  current(): number;
  /** true when no live process is left in it (zombies are not listed) */
  noLiveProcess(): boolean;
  remove(): void;
}

const probe = Buffer.alloc(16);

/** A fresh pids cgroup (v1 hierarchy, else v2), or undefined when neither can be made. */
export function makeCgroup(name: string): Cgroup | undefined {
  const candidates = ['/sys/fs/cgroup/pids'];
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.controllers', 'latin1').split(/\s+/).includes('pids')) candidates.push('/sys/fs/cgroup');
  } catch {
    // not a v2 root
  }
  for (const root of candidates) {
    if (!existsSync(join(root, 'pids.max')) && !existsSync(join(root, 'cgroup.procs'))) continue;
    const dir = join(root, name);
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    if (!existsSync(join(dir, 'pids.current'))) {
      safeRmdir(dir);
      continue;
    }
    const currentPath = join(dir, 'pids.current');
    const procs = join(dir, 'cgroup.procs');
    return {
      dir,
      procs,
      current: () => Number(readFileSync(currentPath, 'latin1')),
      noLiveProcess: () => {
        const fd = openSync(procs, constants.O_RDONLY);
        try {
          return readSync(fd, probe, 0, probe.length, null) === 0;
        } finally {
          closeSync(fd);
        }
      },
      remove: () => {
        // empty once the namespace is gone; the kernel may need a moment
        const deadline = performance.now() + 5000;
        while (!safeRmdir(dir) && performance.now() < deadline) sleepSync(20);
      },
    };
  }
  return undefined;
}

function safeRmdir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Makes the holder exit, which closes the pipe every orphan is blocked on. */
export function release(fifo: string): void {
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(fd, 'x');
  } finally {
    closeSync(fd);
  }
}

/** Polls `done` every `everyMs` until it holds or `timeoutMs` passes; returns the elapsed ms, or undefined on timeout. */
export function pollUntil(done: () => boolean, t0: number, timeoutMs: number, everyMs = 0.2): number | undefined {
  for (;;) {
    if (done()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return undefined;
    sleepSync(everyMs);
  }
}
