package Jwt;

# RS256 keys and tokens for the Pub/Sub suites, made with the openssl
# command line and core Perl: never with the code under test.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use File::Temp qw(tempdir);

my $dir = tempdir("webhook-jwt-XXXXXX", TMPDIR => 1, CLEANUP => 1);

# nginx's workers run unprivileged and re-read the key files themselves
chmod 0755, $dir;
my $n = 0;

sub dir { $dir }

sub b64url {
    (my $s = encode_base64($_[0], '')) =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>&1`;
    die "$cmd: $out" if $?;
    return $out;
}

# a new 2048-bit RSA key: { pem => private key file, pub => public PEM,
# cert => self-signed certificate PEM, n => base64url modulus }
sub rsa_key {
    my $f = "$dir/key" . ++$n;
    run("openssl genrsa -out $f.pem 2048");
    my $pub = run("openssl rsa -in $f.pem -pubout");
    my ($mod) = run("openssl rsa -in $f.pem -noout -modulus") =~ /Modulus=([0-9A-F]+)/;
    my $cert = run("openssl req -x509 -new -key $f.pem -subj /CN=webhook-test -days 2");
    return { pem => "$f.pem", pub => $pub, cert => $cert,
             n => b64url(pack("H*", $mod)) };
}

sub jwks_json {
    my (%keys) = @_;        # kid => key
    return JSON::PP->new->canonical->encode({ keys => [
        map { { kid => $_, kty => "RSA", alg => "RS256", use => "sig",
                n => $keys{$_}{n}, e => "AQAB" } } sort keys %keys ] });
}

sub pem_map_json {
    my (%keys) = @_;
    return JSON::PP->new->canonical->encode(
        { map { ($_ => $keys{$_}{cert}) } keys %keys });
}

# write a file the way an operator's cron job would: a new file renamed
# over the old one
sub install {
    my ($path, $content) = @_;
    open my $fh, '>', "$path.tmp" or die $!;
    print $fh $content;
    close $fh;
    rename "$path.tmp", $path or die $!;
}

sub rs256_sign {
    my ($key, $input) = @_;
    my $f = "$dir/input" . ++$n;
    open my $fh, '>', $f or die $!;
    print $fh $input;
    close $fh;
    my $sig = `openssl dgst -sha256 -sign $key->{pem} $f`;
    die "openssl dgst failed" if $? || !length $sig;
    unlink $f;
    return $sig;
}

# token(key => $k, kid => "k1", claims => {...}, alg => "RS256",
#       header => {...} (replaces the header), sign => sub { bytes })
sub token {
    my (%o) = @_;
    my $json = JSON::PP->new->canonical;
    my $header = $o{header} // { alg => $o{alg} // "RS256", kid => $o{kid},
                                 typ => "JWT" };
    my $input = b64url($json->encode($header)) . "."
              . b64url($json->encode($o{claims}));
    my $sig = $o{sign} ? $o{sign}->($input) : rs256_sign($o{key}, $input);
    return "$input." . b64url($sig);
}

# the claims of a Pub/Sub push token, overridable one by one
sub claims {
    my (%o) = @_;
    my $now = time;
    my %c = (
        iss => "https://accounts.google.com",
        aud => "https://edge.example.com/push",
        azp => "111222333444555666777",
        sub => "111222333444555666777",
        email => "push\@my-project.iam.gserviceaccount.com",
        email_verified => JSON::PP::true,
        iat => $now,
        exp => $now + 3600,
        %o,
    );
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return \%c;
}

sub hs256 {
    my ($secret) = @_;
    return sub { hmac_sha256($_[0], $secret) };
}

1;
