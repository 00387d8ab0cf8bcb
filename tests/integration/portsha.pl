#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# The classic two-port exchange from the host side (ports.t): connects
# to the ctl and data ports' unix sockets, sends "sha256 N" on ctl and
# the N bytes of FILE on data, reads the answer line from ctl and prints
# it with the seconds it took: "ANSWER SECONDS". Both sockets stay open
# until the answer (a closed socket is a peer gone). Every wait is
# bounded by DEADLINE seconds; exit 1 with the reason on stderr.
use strict;
use warnings;
use IO::Socket::UNIX;
use Time::HiRes qw(time);

my ($ctl_path, $data_path, $file, $deadline) = @ARGV;
my $ctl = IO::Socket::UNIX->new(Peer => $ctl_path, Type => SOCK_STREAM)
    or die "connect $ctl_path: $!\n";
my $data = IO::Socket::UNIX->new(Peer => $data_path, Type => SOCK_STREAM)
    or die "connect $data_path: $!\n";
open my $f, '<:raw', $file or die "$file: $!\n";
local $/;
my $bytes = <$f>;
my $t0 = time;
my $end = $t0 + $deadline;
syswrite($ctl, "sha256 " . length($bytes) . "\n") or die "write ctl: $!\n";
my ($off, $ans) = (0, "");
while ($ans !~ /\n/) {
    die "no answer within ${deadline}s (sent $off bytes)\n" if time > $end;
    my ($rin, $win) = ("", "");
    vec($rin, fileno($ctl), 1) = 1;
    vec($win, fileno($data), 1) = 1 if $off < length($bytes);
    next unless select(my $r = $rin, my $w = $win, undef, 0.2) > 0;
    if (vec($w, fileno($data), 1)) {
        my $n = syswrite($data, $bytes, 65536, $off);
        die "write data: $!\n" unless defined $n;
        $off += $n;
    }
    if (vec($r, fileno($ctl), 1)) {
        my $n = sysread($ctl, my $chunk, 256);
        die "ctl closed before the answer\n" unless $n;
        $ans .= $chunk;
    }
}
$ans =~ s/\n.*//s;
printf "%s %.3f %d\n", $ans, time - $t0, $off;
