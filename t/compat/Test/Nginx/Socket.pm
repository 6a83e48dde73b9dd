package Test::Nginx::Socket;

# Our own runner for the Test::Nginx::Socket test-file interface, used
# where the real Test::Nginx is not installed.  Written from the real
# module's documentation; see t/compat/README.md for what it supports and
# how it counts tests.

use strict;
use warnings;

use Cwd ();
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use Test::Base ();
use Test::LongString ();
use Test::More ();
use Time::HiRes qw(sleep);

use Test::Nginx::Compat::HTTP;
use Test::Nginx::Compat::Server;

our $VERSION = '0.01';

# Test::Base's import (inherited) makes this the default class, passes
# "no_plan" / "tests => N" to Test::More and exports Test::Base's
# functions (plan, blocks, is, ...) together with ours.
our @ISA = ('Test::Base');

our @EXPORT = qw(
    run_tests repeat_each no_shuffle no_long_string no_root_location
    log_level master_on master_off master_process_enabled workers
    worker_connections env_to_nginx add_block_preprocessor use_hup
    no_nginx_manager server_port server_port_for_client server_addr
    html_dir server_root bail_out
    $ServerPort $ServerPortForClient $ServerAddr $ServRoot $HtmlDir
    $RepeatEach
);


# --- settings -------------------------------------------------------------

our $RepeatEach = 1;
our $NoLongString = 0;
our $NoRootLocation = 0;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = 0;
our $Workers = 1;
our $WorkerConnections = 64;
our $UseHup = $ENV{TEST_NGINX_USE_HUP} ? 1 : 0;
our $NoNginxManager = 0;
# As the real one: nginx is restarted (HUPed with TEST_NGINX_USE_HUP) for
# every block unless this is set to a false value, even when its config
# text is the same as the previous block's.  Read when this module loads,
# so a suite sets it in a BEGIN block before "use Test::Nginx::Socket".
our $ForceRestartOnTest = defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
                          ? $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} : 1;
our $DefaultTimeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
# As the real one: nginx gets LD_PRELOAD as it was when this module was
# loaded (a suite that wants a preload sets it in a BEGIN block), after
# TEST_NGINX_LD_PRELOAD.
our $LdPreloadAtLoad = $ENV{LD_PRELOAD};
our @EnvToNginx;
our @BlockPreprocessors;

our $ServerAddr = '127.0.0.1';
our $ServerPort = $ENV{TEST_NGINX_PORT} || $ENV{TEST_NGINX_SERVER_PORT}
                  || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_SERVER_PORT} || $ServerPort;
our $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                    || 't/servroot');
$ServRoot =~ s{/+\z}{};
our $HtmlDir = "$ServRoot/html";

$ENV{TEST_NGINX_SERVER_PORT} = $ServerPortForClient;
$ENV{TEST_NGINX_HTML_DIR} = $HtmlDir;
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

my $Server;             # Test::Nginx::Compat::Server, made by run_tests


sub repeat_each {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub no_shuffle { }      # blocks always run in file order

sub no_long_string { $NoLongString = 1 }

sub no_root_location { $NoRootLocation = 1 }

sub log_level {
    $LogLevel = shift if @_;
    return $LogLevel;
}

sub master_on { $MasterProcessEnabled = 1 }

sub master_off { $MasterProcessEnabled = 0 }

sub master_process_enabled {
    $MasterProcessEnabled = shift() ? 1 : 0 if @_;
    return $MasterProcessEnabled;
}

sub workers {
    $Workers = shift if @_;
    return $Workers;
}

sub worker_connections {
    $WorkerConnections = shift if @_;
    return $WorkerConnections;
}

sub env_to_nginx { push @EnvToNginx, @_ }

sub add_block_preprocessor { push @BlockPreprocessors, @_ }

sub use_hup { $UseHup = 1 }

sub no_nginx_manager { $NoNginxManager = 1 }

sub server_port { $ServerPort }

sub server_port_for_client { $ServerPortForClient }

sub server_addr { $ServerAddr }

sub html_dir { $HtmlDir }

sub server_root { $ServRoot }

sub bail_out { Test::More::BAIL_OUT(@_) }


# --- config ---------------------------------------------------------------

# $TEST_NGINX_FOO -> $ENV{TEST_NGINX_FOO}, for names that are set.

sub expand_env {
    my $text = shift;
    return $text unless defined $text && !ref $text;
    $text =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
               defined $ENV{$1} ? $ENV{$1} : "\$$1"/ge;
    return $text;
}


sub _load_module_lines {
    my @lines;
    for my $so (split ' ', $ENV{TEST_NGINX_LOAD_MODULES} || '') {
        push @lines, 'load_module ' . File::Spec->rel2abs($so) . ';';
    }
    return @lines;
}


sub _env_lines {
    my @lines = map { "env $_;" } sort grep { /^TEST_NGINX_/ } keys %ENV;
    for my $e (@EnvToNginx) {
        push @lines, $e =~ /[\s;'"]/ ? "env '$e';" : "env $e;";
    }
    return @lines;
}


sub _indent {
    my ($text, $pad) = @_;
    $text = expand_env(defined $text ? $text : '');
    $text =~ s/\n*\z//;
    return '' unless length $text;
    return join('', map { "$pad$_\n" } split /\n/, $text);
}


# The nginx.conf for $block.  Nothing block-specific but its sections goes
# in, so that blocks with the same sections share one running nginx.

sub build_conf {
    my ($block, %o) = @_;
    my $main = _sec($block, q{main_config});
    my $daemon = $o{daemon} || !$ENV{TEST_NGINX_USE_VALGRIND};
    my $level = _sec($block, q{log_level});
    $level = $LogLevel unless defined $level;
    $level =~ s/^\s+|\s+$//g;

    my $conf = '';
    $conf .= "$_\n" for _load_module_lines();
    $conf .= "daemon " . ($daemon ? 'on' : 'off') . ";\n";
    $conf .= "master_process " . ($MasterProcessEnabled ? 'on' : 'off')
             . ";\n";
    $conf .= "worker_processes $Workers;\n"
        unless defined $main && $main =~ /^\s*worker_processes\s/m;
    # workers as "nobody" could not read a root-owned server root
    $conf .= "user root;\n"
        if $> == 0 && $MasterProcessEnabled
           && !(defined $main && $main =~ /^\s*user\s/m);
    $conf .= "error_log logs/error.log $level;\n";
    $conf .= "pid logs/nginx.pid;\n";
    $conf .= "$_\n" for _env_lines();
    $conf .= "\n" . _indent($main, '');
    $conf .= "\nevents {\n    worker_connections $WorkerConnections;\n}\n";
    $conf .= <<"HTTP";

http {
    access_log logs/access.log;
    default_type text/plain;
    keepalive_timeout 68;

    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;

HTTP
    $conf .= _indent(_sec($block, q{http_config}), '    ');
    $conf .= "\n    server {\n        listen $ServerPort;\n"
             . "        server_name localhost;\n"
             . "        client_max_body_size 30M;\n\n";
    $conf .= _indent(_sec($block, q{config}), '        ');
    unless ($NoRootLocation) {
        $conf .= "\n        location / {\n            root html;\n"
                 . "            index index.html index.htm;\n        }\n";
    }
    $conf .= "    }\n}\n";

    return $conf;
}


# --- blocks ---------------------------------------------------------------

# A section's value in scalar context: a missing section's accessor
# returns an empty list, which would shift a function's arguments.

sub _sec {
    my ($block, $name) = @_;
    my $v = $block->$name;
    return $v;
}


sub _trim {
    my $v = shift;
    return $v unless defined $v && !ref $v;
    $v =~ s/^\s+|\s+$//g;
    return $v;
}


# element $i of an array-ref section, or the section itself for every $i

sub _pick {
    my ($v, $i) = @_;
    return ref $v eq 'ARRAY' ? $v->[$i] : $v;
}


# error_log / no_error_log: lines of text, one qr//, or an array of both

sub _patterns {
    my $v = shift;
    return () unless defined $v;
    return @$v if ref $v eq 'ARRAY';
    return ($v) if ref $v;
    return grep { /\S/ } split /\n/, $v;
}


# The requests of a block as exchanges: each is one connection with the
# chunks to write and the methods of the responses to read back.

sub _exchanges {
    my $block = shift;
    my $more = _sec($block, q{more_headers});
    my @x;

    if (defined(my $pipelined = _sec($block, q{pipelined_requests}))) {
        my @reqs = ref $pipelined eq 'ARRAY' ? @$pipelined : ($pipelined);
        my ($bytes, @methods) = ('');
        for my $i (0 .. $#reqs) {
            my ($b, $m) = Test::Nginx::Compat::HTTP::build_request(
                expand_env($reqs[$i]), expand_env(_pick($more, $i)),
                $i < $#reqs);
            $bytes .= $b;
            push @methods, $m;
        }
        push @x, { chunks => [$bytes], methods => \@methods,
                   until_eof => 1 };

    } elsif (defined(my $raw = _sec($block, q{raw_request}))) {
        my @chunks = map { expand_env($_) }
                     ref $raw eq 'ARRAY' ? @$raw : ($raw);
        my $all = join '', @chunks;
        my $closes = $all =~ /^Connection:\s*close/mi
                     || ($all =~ m{\A\S+\s+\S+\s+HTTP/1\.0}
                         && $all !~ /^Connection:\s*keep-alive/mi);
        push @x, { chunks => \@chunks,
                   methods => [Test::Nginx::Compat::HTTP::raw_method($all)],
                   delay => _sec($block, q{raw_request_middle_delay}),
                   until_eof => $closes };

    } elsif (defined(my $req = _sec($block, q{request}))) {
        my @reqs = ref $req eq 'ARRAY' ? @$req : ($req);
        for my $i (0 .. $#reqs) {
            my $h = expand_env(_pick($more, $i));
            my $keep = defined $h && $h =~ /^\s*Connection:\s*keep-alive/mi;
            my ($b, $m) = Test::Nginx::Compat::HTTP::build_request(
                expand_env($reqs[$i]), $h, $keep);
            push @x, { chunks => [$b], methods => [$m],
                       until_eof => !$keep };
        }
    }

    return @x;
}


# The checks one response gets, as [kind, ...] lists.  Counting a block's
# tests and running them both go through here.

sub _response_checks {
    my ($block, $i) = @_;
    my @checks;

    return () if defined _sec($block, q{ignore_response});

    my $code = _trim(_pick(_sec($block, q{error_code}), $i));
    push @checks, ['status', defined $code && length $code ? $code : 200];

    my $headers = _pick(_sec($block, q{response_headers}), $i);
    for my $line (defined $headers ? split /\n/, $headers : ()) {
        next unless $line =~ /\S/;
        if ($line =~ /^\s*!\s*([^:\s]+)\s*$/) {
            push @checks, ['no_header', $1];
        } elsif ($line =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/) {
            push @checks, ['header', $1, $2];
        } else {
            push @checks, ['bad_line', 'response_headers', $line];
        }
    }

    my $like = _pick(_sec($block, q{response_headers_like}), $i);
    for my $line (defined $like ? split /\n/, $like : ()) {
        next unless $line =~ /\S/;
        if ($line =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/) {
            push @checks, ['header_like', $1, $2];
        } else {
            push @checks, ['bad_line', 'response_headers_like', $line];
        }
    }

    my $body = _pick(_sec($block, q{response_body}), $i);
    push @checks, ['body', $body] if defined _sec($block, q{response_body})
                                     && defined $body;

    my $body_like = _pick(_sec($block, q{response_body_like}), $i);
    push @checks, ['body_like', $body_like]
        if defined _sec($block, q{response_body_like}) && defined $body_like;

    my $body_unlike = _pick(_sec($block, q{response_body_unlike}), $i);
    push @checks, ['body_unlike', $body_unlike]
        if defined _sec($block, q{response_body_unlike})
           && defined $body_unlike;

    my $raw_like = _pick(_sec($block, q{raw_response_headers_like}), $i);
    push @checks, ['raw_headers_like', $raw_like]
        if defined _sec($block, q{raw_response_headers_like})
           && defined $raw_like;

    return @checks;
}


sub _log_checks {
    my $block = shift;
    my @yes = _patterns(_sec($block, q{error_log}));
    my @no = _patterns(_sec($block, q{no_error_log}));
    my @grep;
    if (defined _sec($block, q{grep_error_log})
        && defined _sec($block, q{grep_error_log_out}))
    {
        @grep = (['grep_error_log', _sec($block, q{grep_error_log}),
                  _sec($block, q{grep_error_log_out})]);
    }
    return ((map { ['error_log', $_] } @yes),
            (map { ['no_error_log', $_] } @no), @grep);
}


sub _response_count {
    my $block = shift;
    if (defined(my $p = _sec($block, q{pipelined_requests}))) {
        return ref $p eq 'ARRAY' ? scalar @$p : 1;
    }
    return 1 if defined _sec($block, q{raw_request});
    my $r = _sec($block, q{request});
    return ref $r eq 'ARRAY' ? scalar @$r : 1;
}


# How many tests one run of $block makes when all goes to plan.

sub planned_tests {
    my $block = shift;
    my $logs = scalar _log_checks($block);
    return 1 + $logs if defined _sec($block, q{must_die});
    # the log checks run once after each response (see _run_block)
    my $n = $logs * _response_count($block);
    $n += scalar _response_checks($block, $_)
        for 0 .. _response_count($block) - 1;
    return $n;
}


sub _write_user_files {
    my $block = shift;
    my $files = _sec($block, q{user_files});
    return unless defined $files;

    my @files;
    if (ref $files eq 'ARRAY') {
        @files = map { [$_->[0], $_->[1]] } @$files;
    } else {
        for my $part (split /^>>>[ \t]*/m, $files) {
            next unless $part =~ /\S/;
            my ($name, $body) = split /\n/, $part, 2;
            push @files, [_trim($name), defined $body ? $body : ''];
        }
    }

    for my $f (@files) {
        my $path = "$HtmlDir/$f->[0]";
        make_path(dirname($path));
        open my $fh, '>', $path or die "cannot write $path: $!\n";
        print $fh expand_env($f->[1]);
        close $fh;
    }
}


sub _diag_response {
    my $res = shift;
    return unless $res;
    my $body = $res->{body};
    $body = substr($body, 0, 600) . "...\n" if length $body > 600;
    Test::More::diag("response headers:\n$res->{raw_headers}\n"
                     . "response body:\n$body"
                     . ($res->{truncated} ? "\n(response truncated)" : ''));
}


sub _tail {
    my ($text, $n) = @_;
    my @lines = split /\n/, $text;
    @lines = @lines[-$n .. -1] if @lines > $n;
    return join "\n", @lines;
}


sub _run_response_check {
    my ($check, $res, $label) = @_;
    my ($kind, @a) = @$check;
    my $got_body = $res ? $res->{body} : undef;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if ($kind eq 'status') {
        my $ok = Test::More::is($res ? $res->{status} : undef, $a[0],
                                "$label - status code ok");
        _diag_response($res) unless $ok;

    } elsif ($kind eq 'header') {
        my $v = Test::Nginx::Compat::HTTP::header_of($res || {}, $a[0]);
        Test::More::is($v, $a[1], "$label - header $a[0] ok");

    } elsif ($kind eq 'no_header') {
        my $v = Test::Nginx::Compat::HTTP::header_of($res || {}, $a[0]);
        Test::More::ok(!defined $v, "$label - header $a[0] not present")
            or Test::More::diag("got $a[0]: $v");

    } elsif ($kind eq 'header_like') {
        my $v = Test::Nginx::Compat::HTTP::header_of($res || {}, $a[0]);
        if (defined $v) {
            Test::More::like($v, qr/^(?:$a[1])$/s,
                             "$label - header $a[0] like ok");
        } else {
            Test::More::fail("$label - header $a[0] like ok");
            Test::More::diag("header $a[0] is not present");
        }

    } elsif ($kind eq 'body') {
        my $name = "$label - response_body - response is expected";
        my $got = defined $got_body ? $got_body : '';
        if ($NoLongString) {
            Test::More::is($got, $a[0], $name);
        } else {
            Test::LongString::is_string($got, $a[0], $name);
        }
        Test::More::diag("(response truncated)")
            if $res && $res->{truncated};

    } elsif ($kind eq 'body_unlike') {
        my $re = ref $a[0] eq 'Regexp' ? $a[0] : qr/$a[0]/s;
        Test::More::unlike(defined $got_body ? $got_body : '', $re,
                           "$label - response_body_unlike - response is"
                           . " expected");

    } elsif ($kind eq 'raw_headers_like') {
        my $re = ref $a[0] eq 'Regexp' ? $a[0] : qr/$a[0]/s;
        Test::More::like($res ? $res->{raw_headers} : '', $re,
                         "$label - raw_response_headers_like - headers are"
                         . " expected");

    } elsif ($kind eq 'body_like') {
        my $re = ref $a[0] eq 'Regexp' ? $a[0] : qr/$a[0]/s;
        Test::More::like(defined $got_body ? $got_body : '', $re,
                         "$label - response_body_like - response is"
                         . " expected");

    } elsif ($kind eq 'bad_line') {
        Test::More::fail("$label - $a[0] line \"$a[1]\" is not"
                         . " \"Name: value\"");
    }
}


# The block's error.log for a failed pattern: its last lines above debug
# level, which say what happened without nginx's tracing.

sub _diag_log {
    my $log = shift;
    my @loud = Test::Nginx::Compat::Server::loud_lines($log);
    my $total = () = $log =~ /\n/g;
    Test::More::diag("error.log of this block: $total lines, "
                     . scalar(@loud) . " above debug level; the last of"
                     . " them:\n" . _tail(join("\n", @loud), 20));
}


sub _run_log_check {
    my ($check, $log, $label, $rep) = @_;
    my ($kind, $pat) = @$check;

    if ($kind eq 'grep_error_log') {
        return _run_grep_check($check, $log, $label, $rep);
    }

    my @lines = split /\n/, $log;
    my $match = ref $pat eq 'Regexp'
                ? sub { $_[0] =~ $pat }
                : sub { index($_[0], $pat) >= 0 };
    my ($hit) = grep { $match->($_) } @lines;
    my $shown = ref $pat eq 'Regexp' ? "$pat" : $pat;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    if ($kind eq 'error_log') {
        Test::More::ok(defined $hit, "$label - pattern \"$shown\" matches"
                                     . " a line in error.log")
            or _diag_log($log);
    } else {
        Test::More::ok(!defined $hit, "$label - pattern \"$shown\" should"
                                      . " not match any line in error.log")
            or Test::More::diag("matching line: $hit");
    }
}


# grep_error_log: every match of the pattern in the block's log, each
# followed by a newline, must equal grep_error_log_out (an array of them
# gives one per repeat_each run).

sub _run_grep_check {
    my ($check, $log, $label, $rep) = @_;
    my (undef, $pat, $want) = @$check;
    local $Test::Builder::Level = $Test::Builder::Level + 2;

    $want = $want->[($rep || 1) - 1] if ref $want eq 'ARRAY';
    $want = '' unless defined $want;
    if (!ref $pat) {
        $pat =~ s/\n\z//;
        $pat = qr/\Q$pat\E/;
    }

    my $got = '';
    for my $line (split /\n/, $log) {
        while ($line =~ /($pat)/g) {
            $got .= "$1\n";
        }
    }

    Test::More::is($got, $want, "$label - grep_error_log - log lines are"
                                . " expected");
}


sub _skip_block {
    my ($label, $why, $n) = @_;
    Test::More::fail("$label - nginx is up");
    Test::More::diag($why) if defined $why;
    SKIP: {
        Test::More::skip("$label - nginx is not up", $n) if $n > 0;
    }
}


sub _run_must_die {
    my ($block, $label) = @_;

    my $conf = build_conf($block, daemon => 1);
    my ($rc, $out) = $Server->must_die($conf);

    Test::More::ok($rc != 0, "$label - nginx must die")
        or Test::More::diag("nginx started with this config");

    my $log = $out . $Server->log_since($Server->mark);
    _run_log_check($_, $log, $label) for _log_checks($block);
}


sub _run_block {
    my ($block, $rep) = @_;
    my $label = $block->name;
    $label .= " (repeat $rep)" if $RepeatEach > 1;

    # before nginx starts: a config may name these files
    _write_user_files($block);

    if (defined _sec($block, q{must_die})) {
        return _run_must_die($block, $label);
    }

    my @exchanges = _exchanges($block);
    unless (@exchanges) {
        Test::More::fail("$label - no request, raw_request or"
                         . " pipelined_requests section");
        return;
    }

    # as the real one: a HUP reload needs a master, so it turns one on
    $MasterProcessEnabled = 1 if $UseHup;

    unless ($NoNginxManager) {
        # once per block, as the real one: its repeat_each runs share
        # the nginx the block started with
        my ($ok, $why) = $Server->ensure(
            build_conf($block), master => $MasterProcessEnabled,
            use_hup => $UseHup, workers => $Workers,
            key => expand_env(_sec($block, q{config}) // ''),
            restart => $ForceRestartOnTest && $rep == 1);
        unless ($ok) {
            return _skip_block($label, $why, planned_tests($block) - 1);
        }
    }
    my $mark = $Server->mark;

    if (defined(my $init = _sec($block, q{init}))) {
        unless (eval "package main; $init; 1") {
            Test::More::fail("$label - init section runs");
            Test::More::diag($@);
        }
    }

    my $timeout = _trim(_sec($block, q{timeout}));
    $timeout = $DefaultTimeout unless defined $timeout && length $timeout;

    # As the real one: each response is checked as it comes, and after
    # every response but the last the log checks run on the lines logged
    # since the previous log check (so with several requests, an error_log
    # pattern must show for each of them); the last run follows the block.
    my $total = 0;
    $total += @{ $_->{methods} } for @exchanges;
    my @log_checks = _log_checks($block);
    my $wait = _trim(_sec($block, q{wait}));
    $wait = undef unless defined $wait && length $wait;
    my $from = $mark;
    my $check_log = sub {
        my $l = shift;
        sleep $wait if defined $wait;
        $Server->settle_log if @log_checks;
        my $log = $Server->log_since($from);
        $from += length $log;
        _run_log_check($_, $log, $l, $rep) for @log_checks;
    };

    my $n = 0;
    for my $x (@exchanges) {
        my $r = Test::Nginx::Compat::HTTP::exchange(
            %$x, host => $ServerAddr, port => $ServerPortForClient,
            timeout => $timeout);

        if ($r->{error}) {
            Test::More::fail("$label - $r->{error}");
        } elsif ($r->{timed_out} && !defined _sec($block, q{abort})) {
            Test::More::fail("$label - client socket timed out after"
                             . " $timeout s");
        }

        for my $i (0 .. $#{ $x->{methods} }) {
            my $l = $total > 1 ? "$label (req $n)" : $label;
            _run_response_check($_, $r->{responses}[$i], $l)
                for _response_checks($block, $n);
            $check_log->($l) if ++$n < $total;
        }
    }
    $check_log->($label);

    # Like the real one: say so when nginx complained loudly and the block
    # did not mention it.
    unless (@log_checks) {
        for my $line (grep { /\[(?:emerg|alert)\]/ }
                      split /\n/, $Server->log_since($mark))
        {
            Test::More::diag("$label - error.log: $line");
        }
    }
}


sub _find_binary {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    return -x $bin ? File::Spec->rel2abs($bin) : undef if $bin =~ m{/};
    for my $dir (File::Spec->path, '/usr/sbin', '/usr/local/sbin') {
        return "$dir/$bin" if -x "$dir/$bin";
    }
    return undef;
}


sub _valgrind_options {
    my $v = $ENV{TEST_NGINX_USE_VALGRIND};
    return undef unless $v;
    return [split ' ', $v] unless $v =~ /^\d+$/;
    return ['-q', '--leak-check=full', '--gen-suppressions=all',
            (-f 'valgrind.suppress'
             ? ('--suppressions=valgrind.suppress') : ())];
}


sub run_tests {
    Test::More::plan('no_plan') unless Test::More->builder->has_plan;

    unless ($NoNginxManager || $Server) {
        my $bin = _find_binary()
            or bail_out("nginx binary not found (TEST_NGINX_BINARY="
                        . ($ENV{TEST_NGINX_BINARY} || '') . ")");
        $Server = Test::Nginx::Compat::Server->new(
            servroot => $ServRoot, binary => $bin,
            valgrind => _valgrind_options(),
            ld_preload => join(' ', grep { defined && length }
                                    $ENV{TEST_NGINX_LD_PRELOAD},
                                    $LdPreloadAtLoad));
        $Server->prepare;
    }
    $Server ||= Test::Nginx::Compat::Server->new(servroot => $ServRoot);

    local $SIG{INT} = sub { exit 130 };
    local $SIG{TERM} = sub { exit 143 };

    for my $block (Test::Base::blocks()) {
        $_->($block) for @BlockPreprocessors;
        _run_block($block, $_) for 1 .. $RepeatEach;
    }
}


# As the real one's END block, this one runs in every process that exits
# through perl's exit, a child the test forked (and did not exec or
# POSIX::_exit) included: nginx is stopped then.
END {
    if ($Server && $Server->pid && !$NoNginxManager
        && !$ENV{TEST_NGINX_NO_CLEAN})
    {
        local $?;
        $Server->stop;
    }
}


1;
