#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# UDP echo sweep for net.t: sends one datagram of every payload size from
# MIN to MAX (step STEP) to ADDR:PORT, each holding bytes that depend on
# its size and sequence number, and waits for the same bytes back (at most
# WAIT seconds a datagram, 3 tries). Prints "ok sent=N lost=L" or the
# first size that failed; exit 0 only when every size came back intact.
# Bounded: (MAX - MIN) / STEP + 1 datagrams, 3 * WAIT seconds each at most.
# usage: udpecho.pl ADDR PORT MIN MAX [STEP] [WAIT]
use strict;
use warnings;
use Socket qw(inet_aton pack_sockaddr_in);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);

my ($addr, $port, $min, $max, $step, $wait) = @ARGV;
die "usage: udpecho.pl ADDR PORT MIN MAX [STEP] [WAIT]\n"
    unless defined $max && $min =~ /^\d+$/ && $max =~ /^\d+$/;
$step ||= 1;
$wait ||= 2;
my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $addr,
                              PeerPort => $port)
    or die "socket: $!\n";
# IP_MTU_DISCOVER = 10, IP_PMTUDISC_DO = 2: DF set, never fragmented here.
setsockopt($s, 0, 10, pack('i', 2)) or die "IP_MTU_DISCOVER: $!\n";
my $sel = IO::Select->new($s);
my ($sent, $lost, $seq) = (0, 0, 0);

sub payload {
    my ($n, $q) = @_;
    my $head = pack('NN', $n, $q);
    my $d = $head . join('', map { chr(($_ * 7 + $n + $q) & 0xff) } 0 .. 255);
    $d x= int($n / length($d)) + 1;
    return substr($d, 0, $n);
}

for (my $n = $min; $n <= $max; $n += $step) {
    my $ok = 0;
    for my $try (1 .. 3) {
        my $d = payload($n, ++$seq);
        defined $s->send($d) or die "send of $n bytes: $!\n";
        $sent++;
        my $until = time + $wait;
        while (!$ok && time <= $until) {
            my $left = $until - time;
            last unless $left > 0 && $sel->can_read($left);
            my $r;
            defined $s->recv($r, 65536) or last;
            $ok = 1 if $r eq $d; # a late echo of an earlier try: ignored
        }
        last if $ok;
        $lost++;
    }
    if (!$ok) {
        print "size $n: no intact echo in 3 tries (sent=$sent lost=$lost)\n";
        exit 1;
    }
}
print "ok sent=$sent lost=$lost\n";
exit 0;
