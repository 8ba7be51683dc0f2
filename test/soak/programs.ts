// The soak's services as small perl programs (perl is on every Debian
// system, starts in a few ms and costs a few MB, so a crash loop stays
// cheap): a writer of checkable lines, a readiness-probed server, and a
// service that takes its time to stop. The line a writer prints is rebuilt
// by lines.ts from its header alone; the two must agree.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `writer.pl NAME MODE`: prints lines `soak NAME RUN SEQ LEN PAYLOAD`, where
 * RUN is its pid (with an `e` after it on stderr), SEQ counts from 0 per
 * stream, and LEN and PAYLOAD follow from SEQ alone (lines.ts, lineOf).
 * Batches go out in writes that end mid-line, and one line in twenty is
 * written in two writes up to 20 ms apart (the relay must join them).
 * SIGUSR1 asks for a flood of 20,000 lines at full speed (no pauses). MODE: `chatty`
 * (stdout), `chatty-stderr` (three lines in ten on stderr), or `crash` (a
 * few lines, the last one without its newline, then exit 3).
 */
const WRITER = String.raw`use strict; use warnings;
my ($name, $mode) = @ARGV;
my $pace = ($ENV{SOAK_PACE} // 30) / 1000;
my $ALPH = 'abcdefghijklmnopqrstuvwxyz0123456789';
my $flood = 0; my $fast = 0;
$SIG{USR1} = sub { $flood += 20000 };
my %seq = ('' => 0, 'e' => 0);
my %pend = ('' => '', 'e' => '');
sub len_of { my $s = shift; my $h = ($s * 40503 + 12345) % 65536; my $r = $h % 1000;
  return 2000 + ($h * 7) % 30000 if $r < 4; return 300 + $h % 1500 if $r < 40; return 20 + $h % 160; }
sub put { my ($e) = @_; my $fh = $e eq 'e' ? \*STDERR : \*STDOUT; my $data = $pend{$e}; $pend{$e} = ''; my $off = 0;
  while ($off < length $data) { my $n = syswrite($fh, $data, length($data) - $off, $off); if (!defined $n) { next if $!{EINTR}; exit 1; } $off += $n; } }
sub emit { my ($e, $nonl) = @_;
  my $s = $seq{$e}++; my $len = len_of($s); my $run = $$ . $e;
  my $head = "soak $name $run $s $len "; my $payload = substr($ALPH x (int($len / 36) + 2), $s % 36, $len);
  my $tail = $nonl ? '' : "\n";
  if (rand() < 0.05) {
    my $cut = 1 + int(rand($len - 1));
    $pend{$e} .= $head . substr($payload, 0, $cut); put($e);
    select(undef, undef, undef, rand(0.02)) if !$fast && rand() < 0.5;
    $pend{$e} = substr($payload, $cut) . $tail;
  } else { $pend{$e} .= $head . $payload . $tail; }
  put($e) if length($pend{$e}) >= 65536;
}
sub stream { return $mode eq 'chatty-stderr' && rand() < 0.3 ? 'e' : ''; }
sub flush_all { put('') if length $pend{''}; put('e') if length $pend{'e'}; }
my $left = $mode eq 'crash' ? 1 + int(rand(15)) : -1;
while (1) {
  if ($flood > 0) { my $n = $flood; $flood = 0; $fast = 1; emit(stream()) for 1 .. $n; flush_all(); $fast = 0; next; }
  for (1 .. 1 + int(rand(12))) {
    if (--$left == 0) { emit('', 1); flush_all(); select(undef, undef, undef, rand(1.4)); exit 3; }
    emit(stream());
  }
  flush_all();
  select(undef, undef, undef, $pace * (0.5 + rand()));
}
`;

/** `server.pl PORT http|tcp DELAY`: listens on 127.0.0.1:PORT after DELAY seconds; answers every HTTP request 200, or accepts and closes. */
const SERVER = String.raw`use strict; use warnings; use IO::Socket::INET;
my ($port, $mode, $delay) = @ARGV;
$| = 1;
select(undef, undef, undef, $delay);
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 64, ReuseAddr => 1, Proto => 'tcp') or die "cannot listen on $port: $!\n";
print "listening on 127.0.0.1:$port ($mode)\n";
while (1) {
  my $c = $srv->accept or next;
  if ($mode eq 'http') {
    while (defined(my $l = <$c>)) { last if $l =~ /^\r?\n$/; }
    print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  }
  close $c;
}
`;

/** `slowstop.pl DELAY`: runs until SIGTERM, then takes DELAY seconds to exit 0. */
const SLOWSTOP = String.raw`use strict; use warnings;
my ($delay) = @ARGV;
$| = 1;
my $term = 0;
$SIG{TERM} = sub { $term = 1 };
print "waiting for SIGTERM\n";
select(undef, undef, undef, 1) until $term;
print "got SIGTERM, exiting in $delay s\n";
select(undef, undef, undef, $delay);
exit 0;
`;

export interface Programs {
  writer: string;
  server: string;
  slowstop: string;
}

/** Writes the programs into `dir`. */
export function writePrograms(dir: string): Programs {
  const programs = { writer: join(dir, 'writer.pl'), server: join(dir, 'server.pl'), slowstop: join(dir, 'slowstop.pl') };
  writeFileSync(programs.writer, WRITER);
  writeFileSync(programs.server, SERVER);
  writeFileSync(programs.slowstop, SLOWSTOP);
  return programs;
}
