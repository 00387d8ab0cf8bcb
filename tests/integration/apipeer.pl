#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# A client of kvmini's control API for api.t (raw lines, no JSON module):
#   apipeer.pl SOCK req LINE...     send each line, print each reply line
#   apipeer.pl SOCK events OUT      subscribe, append every line to OUT
#                                   until the VM closes the socket
#   apipeer.pl SOCK silent SECS     subscribe, then never read for SECS
#   apipeer.pl SOCK garbage N       N rounds of bad input (malformed JSON,
#                                   a 10 KiB line, unknown command, wrong
#                                   types), each answered by an error
#                                   object; then info must still work
#   apipeer.pl SOCK info N          N info requests, each answered ok
#   apipeer.pl SOCK cycle N         N pause/resume pairs, each ok
# Exits 0 on success, 1 with a line on stderr. Every read has a 20 s
# deadline (a hang guard, not a timing).
use strict;
use warnings;
use IO::Socket::UNIX;

my ($sock, $mode, @args) = @ARGV;
my $fh = IO::Socket::UNIX->new(Peer => $sock, Type => SOCK_STREAM)
    or die "connect $sock: $!\n";
my $buf = "";

sub line {
    my $end = time + 20;
    while ($buf !~ /\n/) {
        my $left = $end - time;
        die "no answer within 20 s\n" if $left <= 0;
        my $rin = "";
        vec($rin, fileno($fh), 1) = 1;
        select(my $rout = $rin, undef, undef, $left) or next;
        my $n = sysread($fh, $buf, 65536, length $buf);
        return undef unless $n;
    }
    $buf =~ s/^([^\n]*)\n//;
    return $1;
}

sub req {
    my ($l) = @_;
    syswrite($fh, "$l\n") or die "write: $!\n";
    my $r = line();
    die "connection closed after: $l\n" unless defined $r;
    return $r;
}

if ($mode eq 'req') {
    print req($_), "\n" for @args;
} elsif ($mode eq 'events') {
    my $r = req('{"cmd":"events","id":"ev"}');
    die "events refused: $r\n" unless $r =~ /"ok":true/;
    open(my $out, ">>", $args[0]) or die "$args[0]: $!\n";
    $out->autoflush(1);
    print $out "$r\n";
    # No deadline here: the VM's end closes the socket.
    while (1) {
        my $n = sysread($fh, $buf, 65536, length $buf);
        last unless $n;
        while ($buf =~ s/^([^\n]*)\n//) { print $out "$1\n" }
    }
} elsif ($mode eq 'silent') {
    syswrite($fh, qq({"cmd":"events"}\n));
    sleep $args[0];
} elsif ($mode eq 'garbage') {
    my @bad = (
        ['{"cmd":', 'bad-json'],
        ['not json at all', 'bad-json'],
        ['[1,2,3]', 'bad-request'],
        ['{"cmd":42}', 'bad-request'],
        ['{"cmd":"explode"}', 'unknown-command'],
        ['{"cmd":"stop","args":{"status":"x"}}', 'bad-argument'],
        ['{"cmd":"info","args":{"verbose":true}}', 'bad-argument'],
        ['{"cmd":"info","extra":1}', 'bad-request'],
        ['{"cmd":"info"} trailing', 'bad-json'],
        ['x' x 10240, 'line-too-long'],
        ["\x00\xff\xfe{", 'bad-json'],
    );
    for my $i (1 .. $args[0]) {
        for my $b (@bad) {
            my $r = req($b->[0]);
            die "round $i: '" . substr($b->[0], 0, 40) . "' got $r\n"
                unless $r =~ /"ok":false/ && $r =~ /"code":"$b->[1]"/;
        }
    }
    my $r = req('{"cmd":"info","id":7}');
    die "info after garbage: $r\n" unless $r =~ /"id":7,"ok":true/;
    print "garbage ok\n";
} elsif ($mode eq 'cycle') {
    for my $i (1 .. $args[0]) {
        for my $c ('pause', 'resume') {
            my $r = req(qq({"cmd":"$c"}));
            die "$c $i: $r\n" unless $r =~ /"ok":true/;
        }
    }
    print "cycle ok\n";
} elsif ($mode eq 'info') {
    for my $i (1 .. $args[0]) {
        my $r = req(qq({"cmd":"info","id":$i}));
        die "info $i: $r\n" unless $r =~ /^\{"id":$i,"ok":true/;
    }
    print "info ok\n";
} else {
    die "unknown mode $mode\n";
}
exit 0;
