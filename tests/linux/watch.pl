#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# The nested rig's L1 watchdog: runs L1's QEMU, stamps each line it prints
# with host seconds since the start, and kills it when it has printed no
# RIG line (l1-init's heartbeat comes every 2 s) for STALL seconds (a
# frozen L1, even one whose kernel still prints) or at DEADLINE (the
# backstop).
#   usage: watch.pl LOG STALL DEADLINE PIDFILE MONITOR -- COMMAND...
# COMMAND's stdout goes to LOG, stamped; its stderr is ours. After its lines
# LOG gets, when it applies (at = host epoch seconds, for outside checks):
#   RIG-HOST: stall silence=S at=EPOCH   no RIG line for S >= STALL seconds
#   RIG-HOST: deadline D at=EPOCH        still running after D seconds
# and always, last: RIG-HOST: exit status=N longest-silence=S
# (N as a shell reports it: 128+signal when killed). MONITOR is QEMU's HMP
# socket, or "-": on a stall, "info registers -a" twice a second apart
# (RIPs that move: a spin; that stay: a halt), then each CPU's next
# instructions and local APIC state go to LOG.regs.
use strict;
use warnings;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

die "usage: watch.pl LOG STALL DEADLINE PIDFILE MONITOR -- COMMAND...\n"
    unless @ARGV >= 7 && $ARGV[5] eq '--';
my ($log, $stall, $deadline, $pidfile, $mon) = splice(@ARGV, 0, 6);

open(my $out, '>>', $log) or die "watch.pl: $log: $!\n";
$out->autoflush(1);
pipe(my $rd, my $wr) or die "watch.pl: pipe: $!\n";
my $t0 = time;
my $pid = fork() // die "watch.pl: fork: $!\n";
if (!$pid) {
    close $rd;
    open(STDOUT, '>&', $wr) or die "watch.pl: stdout: $!\n";
    open(STDIN, '<', '/dev/null') or die "watch.pl: stdin: $!\n";
    exec @ARGV or die "watch.pl: $ARGV[0]: $!\n";
}
close $wr;
# The pid of COMMAND itself (nice and timeout exec or fork: pass the
# program last so this is the process that runs L1).
if (open(my $pf, '>', $pidfile)) {
    print $pf "$pid\n";
    close $pf;
}

sub stamp { printf $out "%.2f %s\n", time - $t0, $_[0] }

# All the monitor says within a few seconds of one command.
sub monitor_ask {
    my ($sock, $cmd) = @_;
    print $sock "$cmd\n";
    my ($text, $end) = ('', time + 5);
    while (time < $end) {
        my $rin = '';
        vec($rin, fileno($sock), 1) = 1;
        last unless select($rin, undef, undef, 1) > 0;
        last unless sysread($sock, my $chunk, 65536);
        $text .= $chunk;
        last if $text =~ /\(qemu\) $/ && $text =~ /\Q$cmd\E.*\n/s;
    }
    $text =~ s/\e\[[0-9;]*[A-Za-z]//g;
    $text =~ s/\r//g;
    # Not the echo of what we typed, the prompt, or the FPU and SSE state.
    return join '', grep { !/\Q$cmd\E|^\(qemu\)|^(FPR|YMM|XMM)/ }
        split /^/, $text;
}

sub registers_dump {
    return if $mon eq '-';
    open(my $rf, '>', "$log.regs") or return;
    my $sock = IO::Socket::UNIX->new(Peer => $mon, Timeout => 2);
    if (!$sock) {
        print $rf "no monitor at $mon: $!\n";
        return;
    }
    monitor_ask($sock, '');    # the banner and the first prompt
    my $ncpu = 0;
    for my $i (1, 2) {
        sleep 1 if $i == 2;
        my $regs = monitor_ask($sock, 'info registers -a');
        $ncpu = () = $regs =~ /^CPU#\d+/mg;
        printf $rf "=== %.2f s: info registers -a\n%s\n", time - $t0, $regs;
    }
    # Per CPU: the code it is at, and its local APIC (IRR/ISR: an
    # interrupt that never ends shows here).
    for my $c (0 .. $ncpu - 1) {
        monitor_ask($sock, "cpu $c");
        for my $cmd ('x/8i $pc', 'info lapic') {
            printf $rf "=== CPU %d: %s\n%s\n", $c, $cmd,
                monitor_ask($sock, $cmd);
        }
    }
    close $sock;
    close $rf;
}

my ($last, $longest, $buf, $killed) = ($t0, 0, '', 0);
while (1) {
    my $now = time;
    my $wait = $last + $stall - $now;
    $wait = $t0 + $deadline - $now if $t0 + $deadline - $now < $wait;
    if (!$killed && $wait <= 0) {
        my $silence = $now - $last;
        if ($now - $t0 >= $deadline) {
            stamp(sprintf "RIG-HOST: deadline %d at=%.2f", $deadline, $now);
        } else {
            stamp(sprintf "RIG-HOST: stall silence=%.1f at=%.2f", $silence,
                  $now);
            registers_dump();
        }
        kill 'KILL', $pid;
        $killed = 1;
    }
    my $rin = '';
    vec($rin, fileno($rd), 1) = 1;
    # After the kill, only drain what is left until the pipe closes.
    my $n = select($rin, undef, undef, $killed ? 5 : $wait);
    last if $killed && $n <= 0;
    next if $n <= 0;
    my $got = sysread($rd, my $chunk, 65536);
    last unless $got;
    $now = time;
    $buf .= $chunk;
    $buf =~ s/\r//g;
    while ($buf =~ s/^(.*)\n//) {
        my $line = $1;
        stamp($line);
        # Only L1's own lines (its 2 s heartbeat, its reports) are signs
        # of life: a locked-up L1 kernel can keep printing soft-lockup
        # warnings for as long as it likes.
        next unless $line =~ /^RIG/;
        $longest = $now - $last if !$killed && $now - $last > $longest;
        $last = $now;
    }
}
stamp($buf) if length $buf;
kill 'KILL', $pid if $killed;
waitpid($pid, 0);
my $status = $? & 127 ? 128 + ($? & 127) : $? >> 8;
stamp(sprintf "RIG-HOST: exit status=%d longest-silence=%.1f", $status,
      $longest);
exit 0;
