#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# A scripted peer for a kvmini character backend (chardev.t, ports.t):
# opens a pty, connects to a unix socket, or (listen) listens on one and
# takes the connection of a kvmini unix client backend, then runs steps
# from the command line:
#   expect:REGEX  read until the bytes so far match (or fail after the
#                 deadline); each expect looks only at bytes after the
#                 previous match
#   send:TEXT     write TEXT (\r and \n escapes are honoured)
#   close         close, then reopen the same path (a peer leaving and
#                 coming back; listen: accept the client's next connection)
#   sleep:SECS
# Prints what it read to stdout; exits 0 when every step succeeded, 1 at
# the first that did not (saying which on stderr). Every read is bounded
# by DEADLINE seconds.
use strict;
use warnings;
use Fcntl;
use IO::Socket::UNIX;

my ($kind, $path, $deadline, @steps) = @ARGV;
my ($fh, $buf, $lsn) = (undef, "", undef);

if ($kind eq 'listen') {
    unlink $path;
    $lsn = IO::Socket::UNIX->new(Local => $path, Type => SOCK_STREAM,
                                 Listen => 1) or die "listen $path: $!\n";
}

sub peer_open {
    if ($kind eq 'listen') {
        my $rin = "";
        vec($rin, fileno($lsn), 1) = 1;
        select($rin, undef, undef, $deadline) > 0
            or die "nobody connected to $path within ${deadline}s\n";
        $fh = $lsn->accept or die "accept $path: $!\n";
    } elsif ($kind eq 'pty') {
        sysopen($fh, $path, O_RDWR | O_NOCTTY) or die "open $path: $!\n";
    } else {
        $fh = IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM)
            or die "connect $path: $!\n";
    }
}

peer_open();
for my $s (@steps) {
    my ($op, $arg) = split /:/, $s, 2;
    if ($op eq 'expect') {
        my $end = time + $deadline;
        my $at; # where the match ends (@+ does not outlive the loop test)
        until (defined($at = $buf =~ /$arg/ ? $+[0] : undef)) {
            if (time > $end) { print STDERR "gave up waiting for /$arg/\n"; print $buf; exit 1 }
            my $rin = "";
            vec($rin, fileno($fh), 1) = 1;
            next unless select($rin, undef, undef, 0.2) > 0;
            my $n = sysread($fh, my $chunk, 4096);
            if (!$n) { print STDERR "end of input waiting for /$arg/\n"; print $buf; exit 1 }
            $buf .= $chunk;
            print $chunk;
        }
        $buf = substr($buf, $at); # look after the match from now on
    } elsif ($op eq 'send') {
        $arg =~ s/\\r/\r/g;
        $arg =~ s/\\n/\n/g;
        syswrite($fh, $arg) == length($arg) or die "write: $!\n";
    } elsif ($op eq 'close') {
        close($fh);
        select(undef, undef, undef, 0.3);
        peer_open();
    } elsif ($op eq 'sleep') {
        select(undef, undef, undef, $arg);
    } else {
        die "unknown step $s\n";
    }
}
exit 0;
END { unlink $path if $lsn }
