package RedisServer;

# A real redis-server for a test file: started on a free loopback port,
# stopped (by its PID) when the file ends; plus a tiny RESP client so a
# test can look at what the module stored.

use strict;
use warnings;

use IO::Socket::INET;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep time);

my @started;
my $owner = $$;     # forked children must not stop the servers

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "free_port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# new(port => N, args => [...]); the port is reused by restart()
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        port => $o{port} || free_port(),
        args => $o{args} || [],
        password => $o{password},
        dir => tempdir("webhook-redis-XXXXXX", TMPDIR => 1, CLEANUP => 1),
    }, $class;
    $self->start;
    push @started, $self;
    return $self;
}

# the server must not hold the test's output pipes (prove waits on them)
sub _detach {
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
}

sub port { $_[0]{port} }
sub pid { $_[0]{pid} }

sub _cmd {
    my ($self) = @_;
    return ('redis-server', '--port', $self->{port}, '--bind', '127.0.0.1',
               '--save', '', '--appendonly', 'no', '--dir', $self->{dir},
               '--daemonize', 'no', '--loglevel', 'warning',
               '--logfile', "$self->{dir}/redis.log",
               ($self->{password} ? ('--requirepass', $self->{password}) : ()),
               @{ $self->{args} });
}

sub start {
    my ($self) = @_;
    my @cmd = $self->_cmd;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        _detach();
        exec @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $deadline = time + 5;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port});
        if ($s) { close $s; return $self; }
        sleep 0.02;
    }
    die "redis-server did not start on port $self->{port}";
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'CONT', $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub restart { my ($self) = @_; $self->stop; $self->start }

# start again after $delay seconds, without waiting: the forked child
# sleeps and then becomes the redis-server, so its PID is known at once
sub start_later {
    my ($self, $delay) = @_;
    my @cmd = $self->_cmd;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        _detach();
        sleep $delay;
        exec @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
}
sub pause { kill 'STOP', $_[0]{pid} }
sub resume { kill 'CONT', $_[0]{pid} }

# command("SET", "k", "v") -> the reply (arrays as array refs, nil as undef)
sub command { my ($self, @args) = @_; return $self->command_in(0, @args) }

# the same in database $db
sub command_in {
    my ($self, $db, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Timeout => 2)
        or die "redis connect: $!";
    my $out = "";
    if ($self->{password}) {
        $out .= _encode("AUTH", $self->{password});
    }
    $out .= _encode("SELECT", $db) if $db;
    $out .= _encode(@args);
    print $s $out;
    my $reply;
    $reply = _read($s) if $self->{password};
    $reply = _read($s) if $db;
    $reply = _read($s);
    close $s;
    return $reply;
}

# Polls an nginx's "webhook_status" at /status?probe=redis until it says
# $want ("up", "down", "degraded"); dies after $limit seconds.
sub wait_probe {
    my ($port, $want, $limit) = @_;
    my $deadline = time + ($limit || 5);
    my $got = '';
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port);
        if ($s) {
            print $s "GET /status?probe=redis HTTP/1.0\r\nHost: localhost\r\n\r\n";
            local $/;
            my $r = <$s> // '';
            ($got) = $r =~ /"redis":"(\w+)"/;
            return if defined $got && $got eq $want;
        }
        sleep 0.05;
    }
    die "redis probe stayed '" . ($got // '') . "', wanted '$want'";
}

sub _encode {
    my @a = @_;
    return "*" . scalar(@a) . "\r\n"
           . join("", map { "\$" . length($_) . "\r\n$_\r\n" } @a);
}

sub _read {
    my ($s) = @_;
    my $line = <$s>;
    die "redis: connection closed" unless defined $line;
    $line =~ s/\r\n$//;
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+';
    return "ERR:$rest" if $t eq '-';
    return $rest + 0 if $t eq ':';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $data = "";
        read($s, $data, $rest + 2);
        return substr($data, 0, $rest);
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [ map { _read($s) } 1 .. $rest ];
    }
    die "redis: unexpected reply '$line'";
}

END {
    if ($$ == $owner) {
        $_->stop for @started;
    }
}

1;
