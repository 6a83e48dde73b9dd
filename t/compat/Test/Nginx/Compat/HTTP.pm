package Test::Nginx::Compat::HTTP;

# The HTTP client of our Test::Nginx::Socket stand-in: raw sockets, so that
# the bytes sent are exactly the bytes a block asks for and the body read
# back is exactly what nginx wrote (after chunked decoding).

use strict;
use warnings;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our $VERSION = '0.01';


# Turn a "--- request" text into bytes on the wire.
#
# $text: "METHOD URI [PROTOCOL]" on the first line (leading blank and "#"
# lines skipped), the body on the following lines.  As the real one does, a
# non-empty body loses its leading and trailing white space and gets a
# Content-Length, unless $more_headers gives a Content-Length (then the
# body is sent as it is, its last newline dropped) or Transfer-Encoding.
# $more_headers: "Name: value" lines.  $keepalive: leave out
# "Connection: close" (pipelined requests other than the last).
#
# Returns (bytes, method).

sub build_request {
    my ($text, $more_headers, $keepalive) = @_;

    $text = '' unless defined $text;
    $text =~ s/\A(?:[ \t]*(?:#[^\n]*)?\n)+//;

    my ($line, $body) = split /\n/, $text, 2;
    $line = '' unless defined $line;
    $line =~ s/^\s+|\s+$//g;
    $body = '' unless defined $body;
    $body =~ s/\n\z//;

    my ($method, $uri, $proto) = split /\s+/, $line, 3;
    $method = 'GET' unless defined $method && length $method;
    $uri = '/' unless defined $uri;
    $proto = 'HTTP/1.1' unless defined $proto && length $proto;

    my @extra;
    for my $h (split /\n/, defined $more_headers ? $more_headers : '') {
        $h =~ s/\r?\z//;
        next if $h !~ /\S/ || $h =~ /^\s*#/;
        push @extra, $h;
    }

    my $has = sub {
        my $name = shift;
        return scalar grep { /^\s*\Q$name\E\s*:/i } @extra;
    };

    my $head = "$method $uri $proto\r\n";
    $head .= "Host: localhost\r\n" unless $has->('Host');
    $head .= "Connection: " . ($keepalive ? 'keep-alive' : 'close') . "\r\n"
        unless $has->('Connection');

    if (length $body && !$has->('Content-Length')
        && !$has->('Transfer-Encoding'))
    {
        $body =~ s/^\s+|\s+$//gs;
        $head .= "Content-Length: " . length($body) . "\r\n";
    }

    $head .= "$_\r\n" for @extra;

    return ("$head\r\n$body", $method);
}


# The method of a raw request, for knowing whether a response has a body.

sub raw_method {
    my $raw = shift;
    return $raw =~ /\A\s*([A-Z]+)\s/ ? $1 : 'GET';
}


# Send @$chunks on one connection and read responses back.
#
#   port, host    where to connect (host defaults to 127.0.0.1)
#   chunks        byte strings written one after another
#   delay         seconds to sleep between chunks
#   methods       one method per response expected (HEAD has no body)
#   timeout       seconds for the whole exchange
#   until_eof     keep reading after the last response until nginx closes
#
# Returns { responses => [...], timed_out => 0|1, error => msg|undef,
# raw => all bytes read }.  Each response is a hash: status, proto,
# reason, headers (list of [name, value]), raw_headers (the status line and
# header lines as received, with the empty line ending them), body,
# truncated.

sub exchange {
    my %a = @_;

    my $host = $a{host} || '127.0.0.1';
    my $timeout = $a{timeout} || 3;
    my $deadline = time + $timeout;
    my @methods = @{ $a{methods} || ['GET'] };
    my %result = (responses => [], timed_out => 0, error => undef,
                  raw => '');

    local $SIG{PIPE} = 'IGNORE';

    my $sock = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $a{port},
        Proto    => 'tcp',
        Timeout  => $timeout,
    );

    unless ($sock) {
        $result{error} = "cannot connect to $host:$a{port}: $@";
        return \%result;
    }

    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my $buf = '';
    my $eof = 0;

    # Read whatever is there without blocking, so that an early answer
    # (413, 400) does not deadlock against our write.
    my $drain = sub {
        while (1) {
            my $n = sysread($sock, my $data, 65536);
            if (!defined $n) {
                return if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $eof = 1;
                return;
            }
            if ($n == 0) {
                $eof = 1;
                return;
            }
            $buf .= $data;
        }
    };

    my @chunks = @{ $a{chunks} || [] };
    SEND: for my $i (0 .. $#chunks) {
        if ($i > 0 && $a{delay}) {
            sleep $a{delay};
        }

        my $data = $chunks[$i];
        my $off = 0;

        while ($off < length $data) {
            my $left = $deadline - time;
            if ($left <= 0) {
                $result{timed_out} = 1;
                last SEND;
            }

            my ($r, $w) = IO::Select::select($sel, $sel, undef, $left);
            $drain->() if $r && @$r;
            last SEND if $eof;
            next unless $w && @$w;

            my $n = syswrite($sock, $data, length($data) - $off, $off);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                last SEND;      # nginx closed on us: read what it said
            }
            $off += $n;
        }
    }

    my $pos = 0;
    my $want = scalar @methods;

    while (1) {
        while (@{ $result{responses} } < $want) {
            my $m = $methods[ scalar @{ $result{responses} } ];
            my ($res, $used) = parse_response(substr($buf, $pos), $m, $eof);
            last unless $res;
            push @{ $result{responses} }, $res;
            $pos += $used;
            last if $res->{truncated};
        }

        last if $eof;
        last if @{ $result{responses} } >= $want && !$a{until_eof};

        my $left = $deadline - time;
        if ($left <= 0) {
            $result{timed_out} = 1;
            last;
        }

        my @ready = $sel->can_read($left);
        $drain->() if @ready;
    }

    close $sock;

    # A response still short of its framing when we gave up: hand over
    # what arrived, marked truncated, so the checks can show it.
    if (@{ $result{responses} } < $want && $pos < length $buf) {
        my $m = $methods[ scalar @{ $result{responses} } ];
        my ($res) = parse_response(substr($buf, $pos), $m, 1);
        push @{ $result{responses} }, $res if $res;
    }

    $result{raw} = $buf;
    return \%result;
}


# Parse one response at the start of $buf.  Returns (response, bytes used)
# or () when more bytes are needed.  With $eof, a response short of its
# framing comes back with truncated => 1.

sub parse_response {
    my ($buf, $method, $eof) = @_;
    my $used_before = 0;

    while (1) {
        my ($hend, $sep) = (index($buf, "\r\n\r\n"), 4);
        my $lf = index($buf, "\n\n");
        if ($lf >= 0 && ($hend < 0 || $lf < $hend)) {
            ($hend, $sep) = ($lf, 2);
        }

        if ($hend < 0) {
            return () unless $eof && length $buf;
            return ({ status => undef, proto => undef, reason => undef,
                      headers => [], raw_headers => $buf, body => '',
                      truncated => 1 }, $used_before + length $buf);
        }

        my $head = substr($buf, 0, $hend);
        my @lines = split /\r?\n/, $head;
        my $status_line = shift @lines;
        my ($proto, $status, $reason) =
            $status_line =~ m{^(HTTP/\d+(?:\.\d+)?)\s+(\d{3})(?:\s+(.*))?$};

        my @headers;
        for my $l (@lines) {
            if ($l =~ /^[ \t]/ && @headers) {
                (my $cont = $l) =~ s/^\s+|\s+$//g;
                $headers[-1][1] .= " $cont";
                next;
            }
            my ($n, $v) = split /:/, $l, 2;
            next unless defined $v;
            $v =~ s/^[ \t]+|[ \t]+$//g;
            push @headers, [$n, $v];
        }

        my $res = { status => defined $status ? $status + 0 : undef,
                    proto => $proto, reason => $reason,
                    headers => \@headers,
                    raw_headers => substr($buf, 0, $hend + $sep),
                    body => '', truncated => 0 };

        my $start = $hend + $sep;

        # interim responses ("100 Continue") come before the real one
        if (defined $status && $status >= 100 && $status < 200
            && $status != 101)
        {
            $buf = substr($buf, $start);
            $used_before += $start;
            next;
        }

        my $no_body = uc($method || '') eq 'HEAD'
                      || (defined $status
                          && ($status == 204 || $status == 304
                              || $status < 200));
        if ($no_body) {
            return ($res, $used_before + $start);
        }

        my $te = header_of($res, 'Transfer-Encoding');
        my $cl = header_of($res, 'Content-Length');

        if (defined $te && $te =~ /chunked/i) {
            my ($body, $end) = dechunk($buf, $start);
            if (defined $end) {
                $res->{body} = $body;
                return ($res, $used_before + $end);
            }
            return () unless $eof;
            $res->{body} = $body;
            $res->{truncated} = 1;
            return ($res, $used_before + length $buf);
        }

        if (defined $cl && $cl =~ /^\s*(\d+)/) {
            my $len = $1;
            if (length($buf) - $start >= $len) {
                $res->{body} = substr($buf, $start, $len);
                return ($res, $used_before + $start + $len);
            }
            return () unless $eof;
            $res->{body} = substr($buf, $start);
            $res->{truncated} = 1;
            return ($res, $used_before + length $buf);
        }

        # no framing: the body runs until the connection closes
        return () unless $eof;
        $res->{body} = substr($buf, $start);
        return ($res, $used_before + length $buf);
    }
}


# Decode a chunked body starting at $pos.  Returns (body, end offset), the
# end offset undefined while the last chunk or the trailer is missing.

sub dechunk {
    my ($buf, $pos) = @_;
    my $body = '';

    while (1) {
        my $eol = index($buf, "\n", $pos);
        return ($body, undef) if $eol < 0;

        my $line = substr($buf, $pos, $eol - $pos);
        $line =~ s/\r\z//;
        $line =~ s/;.*//;
        $line =~ s/^\s+|\s+$//g;
        return ($body, undef) unless $line =~ /^[0-9a-fA-F]+$/;

        my $size = hex $line;
        $pos = $eol + 1;

        if ($size == 0) {
            # trailer fields, then an empty line
            while (1) {
                my $e = index($buf, "\n", $pos);
                return ($body, undef) if $e < 0;
                my $t = substr($buf, $pos, $e - $pos);
                $pos = $e + 1;
                return ($body, $pos) if $t =~ /^\r?\z/;
            }
        }

        return ($body, undef) if length($buf) < $pos + $size;
        $body .= substr($buf, $pos, $size);
        $pos += $size;
        $pos += 2 if substr($buf, $pos, 2) eq "\r\n";
        $pos += 1 if substr($buf, $pos, 1) eq "\n";
    }
}


# A response header by name, case-insensitively; repeated headers come
# back joined with ", " (as HTTP::Headers does); undef when absent.

sub header_of {
    my ($res, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
            @{ $res->{headers} || [] };
    return @v ? join(', ', @v) : undef;
}


1;
