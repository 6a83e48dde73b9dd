# Shared set-up of the self-tests: a free loopback port and a server root
# of their own, so they never meet a suite running on the default 1984.

use strict;
use warnings;
use IO::Socket::INET;

unless ($ENV{TEST_NGINX_PORT}) {
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, ReuseAddr => 1)
        or die "cannot find a free port: $!\n";
    $ENV{TEST_NGINX_PORT} = $probe->sockport;
    close $probe;
}

unless ($ENV{TEST_NGINX_SERVROOT}) {
    (my $name = $0) =~ s{.*/}{};
    $name =~ s/\.\w+\z//;
    $ENV{TEST_NGINX_SERVROOT} = "t/servroot-compat-$name";
}

$ENV{TEST_NGINX_BINARY} ||= '/usr/sbin/nginx' if -x '/usr/sbin/nginx';

1;
