package Test::Nginx::Compat::Server;

# The nginx lifecycle of our Test::Nginx::Socket stand-in: the server root,
# starting, stopping, HUP reloads, "must_die" runs and error.log offsets.
# It knows nothing about test blocks: Socket.pm hands it config texts.

use strict;
use warnings;

use Config ();
use File::Path qw(make_path remove_tree);
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

our $VERSION = '0.01';


#   servroot     absolute path of the server root
#   binary       the nginx binary
#   valgrind     undef, or the valgrind options (array ref) to run under
#   ld_preload   LD_PRELOAD for nginx only
#   workers      worker_processes (for knowing when a master is ready)

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{conf_file} = "$o{servroot}/conf/nginx.conf";
    $self->{pid_file} = "$o{servroot}/logs/nginx.pid";
    $self->{error_log} = "$o{servroot}/logs/error.log";
    $self->{stderr_file} = "$o{servroot}/logs/nginx.stderr";
    $self->{pid} = undef;       # the running nginx (master) process
    $self->{child} = undef;     # our own child when nginx runs in the
                                # foreground (valgrind)
    $self->{conf} = undef;      # the config text the running nginx has
    $self->{mark} = 0;          # error.log offset of the current block
    $self->{start_mark} = 0;    # error.log offset when nginx was last
                                # started or HUPed: the real one removes
                                # error.log then, so a block that reuses a
                                # running nginx sees everything since
    return $self;
}


sub servroot { $_[0]{servroot} }
sub error_log_file { $_[0]{error_log} }
sub mark { $_[0]{mark} }
sub pid { $_[0]{pid} }
sub running_conf { $_[0]{conf} }


# A fresh server root: stop an nginx a previous run left behind (its pid
# is in our pid file), then recreate conf/, logs/ and html/.

sub prepare {
    my $self = shift;
    my $root = $self->{servroot};

    become_subreaper();

    if (open my $fh, '<', $self->{pid_file}) {
        my $pid = <$fh>;
        close $fh;
        if (defined $pid && $pid =~ /^\s*(\d+)/ && _is_nginx($1)) {
            $self->{pid} = $1;
            $self->stop;
        }
    }

    for my $d (qw(conf logs html client_body_temp proxy_temp fastcgi_temp
                  uwsgi_temp scgi_temp))
    {
        remove_tree("$root/$d") if -e "$root/$d";
    }
    make_path(map { "$root/$_" } qw(conf logs html));
}


sub _is_nginx {
    my $pid = shift;
    return 0 unless _proc_alive($pid);
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    local $/;
    my $cmd = <$fh>;
    close $fh;
    return defined $cmd && $cmd =~ /nginx/;
}


# kill 0 says yes for zombies too; a daemonized nginx is not our child,
# and whoever reaps it may take its time.

sub _proc_alive {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh>;
        close $fh;
        if (defined $stat && $stat =~ /\)\s+(\S)/) {
            return 0 if $1 eq 'Z' || $1 eq 'X';
        }
    }
    return 1;
}


sub _children {
    my $ppid = shift;
    my @kids;
    opendir my $dh, '/proc' or return ();
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh>;
        close $fh;
        next unless defined $stat && $stat =~ /\)\s+(\S)\s+(\d+)/;
        next if $1 eq 'Z' || $1 eq 'X';
        push @kids, $pid if $2 == $ppid;
    }
    closedir $dh;
    @kids = sort { $a <=> $b } @kids;
    return @kids;
}


sub alive {
    my $self = shift;

    if ($self->{child}) {
        my $r = waitpid($self->{child}, WNOHANG);
        if ($r == $self->{child} || $r == -1) {
            $self->{child} = undef;
            return 0;
        }
    }

    # a daemonized master is our child when we are a subreaper (below)
    my $pid = $self->{pid};
    return 0 if $pid && waitpid($pid, WNOHANG) == $pid;

    return _proc_alive($pid);
}


# Become the subreaper of our descendants, so that a daemonized nginx is
# reparented to us and reaped by alive(), not left a zombie where pid 1
# reaps nothing (as in some containers).  Linux only; harmless elsewhere.

sub become_subreaper {
    my %prctl = (x86_64 => 157, aarch64 => 167);
    my ($arch) = $Config::Config{archname} =~ /^([^-]+)/;
    my $nr = $prctl{$arch || ''} or return 0;
    my $PR_SET_CHILD_SUBREAPER = 36;
    return syscall($nr, $PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}


# Since 1.19.5 "-e" names the log nginx uses before it has read its
# config.  Pointing it at logs/error.log makes a warning nginx or a module
# gives while loading the config land where the block's error_log checks
# look, as with an nginx built with the default --error-log-path (Debian's
# says stderr).

sub _has_startup_log_option {
    my $self = shift;
    unless (defined $self->{has_e}) {
        my $v = `"$self->{binary}" -v 2>&1`;
        my ($maj, $min, $pat) = $v =~ m{/(\d+)\.(\d+)\.(\d+)};
        $self->{has_e} = defined $pat
            && ($maj * 1_000_000 + $min * 1000 + $pat) >= 1_019_005 ? 1 : 0;
    }
    return $self->{has_e};
}


sub command {
    my $self = shift;
    my @cmd = ($self->{binary}, '-p', "$self->{servroot}/",
               ($self->_has_startup_log_option ? ('-e', 'logs/error.log')
                                               : ()),
               '-c', 'conf/nginx.conf');
    unshift @cmd, 'valgrind', @{ $self->{valgrind} }
        if $self->{valgrind} && !$_[0];
    return @cmd;
}


sub write_conf {
    my ($self, $conf) = @_;
    open my $fh, '>', $self->{conf_file}
        or die "cannot write $self->{conf_file}: $!\n";
    print $fh $conf;
    close $fh or die "cannot write $self->{conf_file}: $!\n";
}


sub log_size {
    my $self = shift;
    return -s $self->{error_log} || 0;
}


# The error.log text written since byte $off (all of it when the file
# shrank under us).

sub log_since {
    my ($self, $off) = @_;
    open my $fh, '<', $self->{error_log} or return '';
    binmode $fh;
    my $size = -s $fh || 0;
    $off = 0 if $off > $size;
    seek $fh, $off, 0;
    local $/;
    my $text = <$fh>;
    close $fh;
    return defined $text ? $text : '';
}


# Wait until error.log has not grown for $quiet seconds (at most $max).
# A connection nginx closes with a lingering close is only finished, and
# its last lines logged, after the client has closed its end: reading the
# log at once would miss them.

sub settle_log {
    my ($self, $quiet, $max) = @_;
    my $scale = $self->{valgrind} ? 10 : 1;
    $quiet = ($quiet || 0.01) * $scale;
    my $deadline = time + ($max || 0.5) * $scale;
    my $size = $self->log_size;
    my $since = time;

    while (time < $deadline) {
        sleep 0.005;
        my $now = $self->log_size;
        if ($now != $size) {
            ($size, $since) = ($now, time);
        } elsif (time - $since >= $quiet) {
            return;
        }
    }
}


sub _slurp {
    my $file = shift;
    open my $fh, '<', $file or return '';
    local $/;
    my $text = <$fh>;
    close $fh;
    return defined $text ? $text : '';
}


sub _spawn {
    my ($self, $foreground, $no_valgrind) = @_;
    my @cmd = $self->command($no_valgrind);

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        if ($foreground) {
            # valgrind reports belong on our stderr, never on the TAP stream
            open STDOUT, '>&', \*STDERR;
        } else {
            open STDOUT, '>', $self->{stderr_file};
            open STDERR, '>&', \*STDOUT;
        }
        if ($self->{ld_preload}) {
            $ENV{LD_PRELOAD} = $self->{ld_preload};
        } else {
            delete $ENV{LD_PRELOAD};
        }
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "cannot exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }

    return $pid;
}


# Wait for our direct child to exit; returns its exit code, or undef when
# it is still running after $secs.

sub _wait_exit {
    my ($pid, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my $r = waitpid($pid, WNOHANG);
        return $? >> 8 | ($? & 127 ? 128 + ($? & 127) : 0) if $r == $pid;
        return -1 if $r == -1;
        sleep 0.005;
    }
    return undef;
}


sub _exit_text {
    my $rc = shift;
    my %names = (6 => 'SIGABRT', 9 => 'SIGKILL', 11 => 'SIGSEGV',
                 15 => 'SIGTERM');
    return "exit code $rc" if $rc <= 128;
    my $sig = $rc - 128;
    return "killed by signal $sig" . ($names{$sig} ? " ($names{$sig})" : '');
}


# The lines of error.log text above debug level: what happened, without
# nginx's tracing.

sub loud_lines {
    my $log = shift;
    return grep { /^\d{4}\/\d\d\/\d\d [\d:]+ \[(?!debug\])/ }
           split /\n/, $log;
}


sub _loud_text {
    return join '', map { "$_\n" } loud_lines(shift);
}


sub _read_pid_file {
    my $self = shift;
    open my $fh, '<', $self->{pid_file} or return undef;
    my $line = <$fh>;
    close $fh;
    return defined $line && $line =~ /^\s*(\d+)/ ? $1 : undef;
}


sub _start_wait { $_[0]{valgrind} ? 60 : 10 }


# Start nginx with $conf.  Returns (1) or (0, why).

sub start {
    my ($self, $conf, %o) = @_;
    my $foreground = $self->{valgrind} ? 1 : 0;

    $self->write_conf($conf);
    unlink $self->{pid_file};

    my $pid = eval { $self->_spawn($foreground) };
    return (0, $@) unless $pid;

    my $deadline = time + $self->_start_wait;

    if ($foreground) {
        $self->{child} = $pid;
    } else {
        my $rc = _wait_exit($pid, $self->_start_wait);
        if (!defined $rc) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            return (0, "nginx did not daemonize within "
                       . $self->_start_wait . " s (is \"daemon off\" in"
                       . " the config?)");
        }
        if ($rc != 0) {
            return (0, "nginx failed to start (" . _exit_text($rc) . "):\n"
                       . _slurp($self->{stderr_file})
                       . _loud_text($self->log_since($self->{mark})));
        }
    }

    # The pid file is written after the listening sockets are open, so a
    # client connecting from then on is queued until a worker takes it.
    my $master;
    while (time < $deadline) {
        if ($foreground) {
            my $r = waitpid($pid, WNOHANG);
            if ($r == $pid) {
                $self->{child} = undef;
                return (0, "nginx exited (status $?) while starting;"
                           . " see stderr");
            }
        }
        $master = $self->_read_pid_file;
        last if $master && _proc_alive($master);
        sleep 0.005;
    }

    unless ($master && _proc_alive($master)) {
        return (0, "nginx wrote no pid file within " . $self->_start_wait
                   . " s:\n" . _slurp($self->{stderr_file})
                   . _loud_text($self->log_since($self->{mark})));
    }

    $self->{pid} = $master;

    if ($o{master}) {
        my $want = $o{workers} || 1;
        while (time < $deadline) {
            last if _children($master) >= $want;
            sleep 0.005;
        }
        return (0, "nginx master $master started no worker")
            unless _children($master);
    }

    return (1);
}


# HUP the master with $conf and wait until every old worker is gone and
# new ones run.  Returns (1) or (0, why) and leaves nginx as it is.

sub reload {
    my ($self, $conf, %o) = @_;
    my $master = $self->{pid};
    my %old = map { ($_ => 1) } _children($master);
    my $want = $o{workers} || 1;

    $self->write_conf($conf);
    my $off = $self->log_size;
    kill 'HUP', $master or return (0, "cannot signal nginx $master: $!");

    my $deadline = time + $self->_start_wait;
    while (time < $deadline) {
        sleep 0.005;
        return (0, "nginx master $master died on reload")
            unless $self->alive;

        my @now = _children($master);
        return (1) if @now >= $want && !grep { $old{$_} } @now;

        my $log = $self->log_since($off);
        if ($log =~ /\[emerg\]/) {
            my @lines = grep { /\[emerg\]/ } split /\n/, $log;
            return (0, "nginx refused the new config:\n"
                       . join("\n", @lines));
        }
    }

    return (0, "old nginx workers still running "
               . $self->_start_wait . " s after HUP");
}


# Stop the running nginx: QUIT, then TERM, then KILL, waiting for each.

sub stop {
    my $self = shift;
    my $pid = $self->{pid};

    if ($pid && $self->alive) {
        my @kids = _children($pid);
        my $grace = $self->{valgrind} ? 60 : 5;

        for my $sig (['QUIT', $grace], ['TERM', 3], ['KILL', 3]) {
            kill $sig->[0], $pid;
            last if $self->_wait_gone($pid, $sig->[1]);
        }

        # workers of a master killed the hard way keep the listen socket
        for my $kid (@kids) {
            kill 'KILL', $kid if _proc_alive($kid) && _is_nginx($kid);
        }
    }

    if ($self->{child}) {
        waitpid $self->{child}, 0;
        $self->{child} = undef;
    }

    $self->{pid} = undef;
    $self->{conf} = undef;
    $self->{key} = undef;
}


sub _wait_gone {
    my ($self, $pid, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 unless $self->alive;
        sleep 0.005;
    }
    return !$self->alive;
}


# Make the running nginx have $conf, restarting only when the block's
# config section $o{key} differs from the previous block's, or $o{restart}
# asks for it anyway (then with use_hup and a master, a HUP reload of the
# same text).  A dead nginx is not restarted when the key is the same, as
# with the real one.  Sets mark(): the error.log
# offset the block's log checks start from (taken after an old nginx is
# stopped, before the new one starts, so a start-up complaint about this
# config is this block's).  Returns (1) or (0, why).

sub ensure {
    my ($self, $conf, %o) = @_;

    # As the real one: without a forced restart, a block whose config
    # section ($o{key}) is the previous block's keeps the nginx that runs,
    # or keeps none when it died (its requests then find no server).
    if (!$o{restart} && defined $self->{key} && defined $o{key}
        && $self->{key} eq $o{key})
    {
        $self->{mark} = $self->{start_mark};
        return (1);
    }

    if ($self->{pid} && $self->alive) {

        if ($o{use_hup} && $o{master}) {
            $self->{mark} = $self->{start_mark} = $self->log_size;
            my ($ok, $why) = $self->reload($conf, %o);
            if ($ok) {
                $self->{conf} = $conf;
                $self->{key} = $o{key};
                return (1);
            }
            # A refused config leaves the old one running: start afresh,
            # which reports the same problem as a failed start.
            $self->{hup_error} = $why;
        }
    }

    $self->stop;
    $self->{mark} = $self->{start_mark} = $self->log_size;

    my ($ok, $why) = $self->start($conf, %o);
    if ($ok) {
        $self->{conf} = $conf;
        $self->{key} = $o{key};
        return (1);
    }

    $self->stop if $self->{pid};
    return (0, $why);
}


# Run nginx with $conf expecting it to fail.  Returns (exit code, its
# stdout+stderr).  An nginx that starts after all is stopped again.

sub must_die {
    my ($self, $conf) = @_;

    $self->stop;
    $self->write_conf($conf);
    unlink $self->{pid_file};
    $self->{mark} = $self->log_size;

    my $pid = $self->_spawn(0, 1);
    my $rc = _wait_exit($pid, 10);
    if (!defined $rc) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
        $rc = 0;
    }

    my $out = _slurp($self->{stderr_file});

    if ($rc == 0) {
        my $deadline = time + 2;
        while (time < $deadline) {
            my $master = $self->_read_pid_file;
            if ($master && _proc_alive($master)) {
                $self->{pid} = $master;
                last;
            }
            sleep 0.01;
        }
        $self->stop;
    }

    return ($rc, $out);
}


1;
