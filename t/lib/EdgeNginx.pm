package EdgeNginx;

# An nginx of a test's own (beside Test::Nginx's): the packaged binary with
# our module, a given http{} body, a free loopback port; stopped by its PID
# when the test file ends. For "a second edge" and for timing tests.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);

my @started;
my $owner = $$;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "free_port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# new(http => sub { my ($port, $dir) = @_; "...http body..." }, workers => N,
#     main => "env NAME;\n" (main-context lines, optional))
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        port => $o{port} || free_port(),
        dir => tempdir("webhook-edge-XXXXXX", TMPDIR => 1, CLEANUP => 1),
        workers => $o{workers} || 2,
        log_level => $o{log_level} || 'info',
    }, $class;
    mkdir "$self->{dir}/logs";

    # workers run unprivileged: they must reach the temp-file folders
    chmod 0755, $self->{dir};

    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $modules = join "", map { "load_module $_;\n" }
                           split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
    my $http = $o{http}->($self->{port}, $self->{dir});
    my $main = $o{main} // '';

    open my $fh, '>', "$self->{dir}/nginx.conf" or die $!;
    print $fh <<"CONF";
${modules}${main}daemon on;
master_process on;
worker_processes $self->{workers};
error_log $self->{dir}/logs/error.log $self->{log_level};
pid $self->{dir}/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $self->{dir}/body;
    proxy_temp_path $self->{dir}/proxy;
$http
}
CONF
    close $fh;

    # under TEST_NGINX_USE_VALGRIND the options are valgrind's (as in
    # Test::Nginx when they are not "1"); it follows nginx's own forks
    my $vg = $ENV{TEST_NGINX_USE_VALGRIND};
    my $prefix = !$vg ? ""
               : $vg eq '1' ? "valgrind -q --leak-check=full "
               : "valgrind $vg ";

    system("$prefix$nginx -p $self->{dir}/ -c $self->{dir}/nginx.conf "
           . "-e $self->{dir}/logs/error.log") == 0
        or die "nginx did not start: " . $self->error_log;

    my $deadline = time + ($vg ? 60 : 5);
    until (IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $self->{port})) {
        die "nginx is not listening on $self->{port}" if time > $deadline;
        sleep 0.02;
    }

    push @started, $self;
    return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

sub pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/nginx.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid;
}

sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/logs/error.log" or return "";
    local $/;
    return <$fh>;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->pid or return;
    kill 'QUIT', $pid;
    my $tries = $ENV{TEST_NGINX_USE_VALGRIND} ? 1200 : 100;
    for (1 .. $tries) { last unless kill 0, $pid; sleep 0.05 }
    kill 'KILL', $pid if kill 0, $pid;
    unlink "$self->{dir}/nginx.pid";
}

# request($method, $uri, $body, $headers) -> ($status, $body, $seconds)
sub request {
    my ($self, $method, $uri, $body, $headers, $timeout) = @_;
    $body //= "";
    $headers //= "";
    (my $h = $headers) =~ s/\r?\n/\r\n/g;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  Timeout => $timeout || 5)
        or return (0, "connect: $!", time - $t0);
    print $s "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
             . $h . "Content-Length: " . length($body) . "\r\n\r\n" . $body;
    my $resp = "";
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm($timeout || 5);
    eval { local $/; $resp = <$s> // ""; };
    alarm 0;
    my $took = time - $t0;
    my ($status) = $resp =~ m{^HTTP/1\.\d (\d+)};
    my ($content) = $resp =~ /\r\n\r\n(.*)$/s;
    return ($status || 0, $content // "", $took);
}

# nginx_t(\@modules, "location body") -> (exit code, output of nginx -t)
# for a one-location config; @modules default to TEST_NGINX_LOAD_MODULES.
sub nginx_t {
    my ($modules, $loc) = @_;
    $modules //= [split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '')];
    my $d = tempdir("webhook-nginx-t-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    mkdir "$d/logs";
    open my $fh, '>', "$d/nginx.conf" or die $!;
    print $fh join "", map { "load_module $_;\n" } @$modules;
    print $fh "error_log $d/logs/error.log;\npid $d/nginx.pid;\nevents {}\n"
            . "http { server { listen 127.0.0.1:1; location / { $loc } } }\n";
    close $fh;
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $out = `$nginx -t -p $d/ -c $d/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

END {
    if ($$ == $owner) {
        $_->stop for @started;
    }
}

1;
