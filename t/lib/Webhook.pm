package Webhook;

# Signing for the test suites, in core Perl only (Digest::SHA, MIME::Base64):
# never with the code under test. Every function returns the header lines
# a provider would send, ready for "--- more_headers eval".

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha256_hex hmac_sha1_hex hmac_sha512_hex
                   sha256_hex);
use MIME::Base64 qw(encode_base64 decode_base64);

our $NOW = time();      # one clock per test file: bodies and headers agree

my $seq = 0;

# A unique nonce per call, so blocks never collide by accident.
sub nonce { sprintf "n%d-%d-%d", $$, $NOW, ++$seq }

sub b64 { encode_base64($_[0], '') }

sub stripe {
    my ($secret, $body, %o) = @_;
    my $t = $o{t} // $NOW;
    my $sig = hmac_sha256_hex("$t.$body", $secret);
    my @v1 = ($o{extra_v1} ? @{ $o{extra_v1} } : (), "v1=$sig");
    return "Stripe-Signature: " . join(",", "t=$t", @v1,
                                       $o{v0} ? "v0=$o{v0}" : ()) . "\n";
}

sub github {
    my ($secret, $body) = @_;
    return "X-Hub-Signature-256: sha256=" . hmac_sha256_hex($body, $secret)
           . "\nX-GitHub-Delivery: " . nonce() . "\n";
}

sub slack {
    my ($secret, $body, %o) = @_;
    my $t = $o{t} // $NOW;
    return "X-Slack-Request-Timestamp: $t\nX-Slack-Signature: v0="
           . hmac_sha256_hex("v0:$t:$body", $secret) . "\n";
}

sub shopify {
    my ($secret, $body) = @_;
    return "X-Shopify-Hmac-Sha256: " . b64(hmac_sha256($body, $secret))
           . "\nX-Shopify-Webhook-Id: " . nonce() . "\n";
}

# Standard Webhooks: the key is the base64 after "whsec_"; svix => 1 uses
# the svix-* header names.
sub standard {
    my ($secret, $body, %o) = @_;
    my $t = $o{t} // $NOW;
    my $id = $o{id} // ("msg_" . nonce());
    (my $k = $secret) =~ s/^whsec_//;
    my $sig = b64(hmac_sha256("$id.$t.$body", decode_base64($k)));
    my $p = $o{svix} ? "svix" : "webhook";
    my $list = join " ", ($o{extra} ? @{ $o{extra} } : ()), "v1,$sig";
    return "$p-id: $id\n$p-timestamp: $t\n$p-signature: $list\n";
}

sub woocommerce {
    my ($secret, $body) = @_;
    return "X-WC-Webhook-Signature: " . b64(hmac_sha256($body, $secret))
           . "\nX-WC-Webhook-Delivery-ID: " . nonce() . "\n";
}

# Salesforce: our Apex sender. The body carries orderId/timestamp/nonce;
# salesforce_body() builds one that matches the headers.
sub salesforce_body {
    my (%o) = @_;
    my $t = $o{t} // $NOW;
    my $n = $o{nonce} // nonce();
    my $order = $o{orderId} // "801xx000003GZ8AAAW";
    return qq({"orderId":"$order","timestamp":$t,"nonce":"$n",)
           . qq("status":"Activating"});
}

sub salesforce {
    my ($secret, $body, %o) = @_;
    my ($t) = $body =~ /"timestamp":"?([^",}]+)/;
    my ($n) = $body =~ /"nonce":"([^"]+)"/;
    $t = $o{t} if defined $o{t};
    $n = $o{nonce} if defined $o{nonce};
    my $prefix = exists $o{prefix} ? $o{prefix} : "sha256=";
    return "X-SF-Signature: $prefix" . hmac_sha256_hex($body, $secret)
           . "\nX-SF-Timestamp: $t\nX-SF-Nonce: $n\n";
}

sub whmcs {
    my ($secret, $body, %o) = @_;
    my $h = "X-WHMCS-Signature: " . hmac_sha256_hex($body, $secret) . "\n";
    $h .= "X-WHMCS-Timestamp: $o{t}\n" if defined $o{t};
    $h .= "X-WHMCS-Nonce: $o{nonce}\n" if defined $o{nonce};
    return $h;
}

# Meta: the app secret over the raw body, GitHub's header.
sub meta {
    my ($secret, $body) = @_;
    return "X-Hub-Signature-256: sha256=" . hmac_sha256_hex($body, $secret)
           . "\n";
}

# Notion: the verification token over the raw body.
sub notion {
    my ($secret, $body) = @_;
    return "X-Notion-Signature: sha256=" . hmac_sha256_hex($body, $secret)
           . "\n";
}

sub sha256_of { sha256_hex($_[0]) }

# Debian's libfaketime, for the suites that run nginx under a frozen clock
# (t/043, t/090). make deps installs it: its absence fails, never skips.
sub faketime_library {
    my ($lib) = grep { -f } glob('/usr/lib/*/faketime/libfaketime.so.1');
    die "libfaketime is not installed (make deps installs it)\n" unless $lib;
    return $lib;
}

# hex HMAC-SHA256 over v1:{provider}:{id}:{time}:{hex sha256 body}
sub attestation {
    my ($secret, $provider, $id, $time, $body) = @_;
    return hmac_sha256_hex("v1:$provider:$id:$time:" . sha256_hex($body),
                           $secret);
}

# A request section: "POST /uri\n<body>" (Test::Nginx drops the final \n).
sub post { "POST $_[0]\n$_[1]" }

# Both Test::Nginx runners trim a "--- request" body's leading and trailing
# white space unless more_headers gives its Content-Length: a block whose
# body must end (or start) with white space adds this line.
sub content_length { "Content-Length: " . length($_[0]) . "\n" }

# --- for the scheme suites (t/01x, t/080, t/090) ---------------------------

# The answer every rejection gives, byte for byte.
our %MESSAGE = (
    ip_denied                => "IP not allowed",
    missing_signature        => "Signature header is missing",
    malformed_signature      => "Signature header is malformed",
    missing_timestamp        => "Timestamp is missing",
    malformed_timestamp      => "Timestamp is malformed",
    missing_nonce            => "Nonce or message id is missing",
    stale_timestamp          => "Timestamp outside the tolerance window",
    body_too_large           => "Request body too large",
    invalid_signature        => "Invalid signature",
    missing_fields           => "Missing fields",
    replay                   => "Nonce already used",
    replay_store_unavailable => "Replay store unavailable, retry later",
    invalid_verify_token     => "Verify token does not match",
    invalid_challenge        => "Setup challenge is missing or malformed",
    setup_refused            => "Setup request refused at the edge",
    missing_token            => "Bearer token is missing",
    invalid_token            => "Invalid token",
);

sub error_body {
    my $reason = shift;
    die "no message for reason \"$reason\"" unless exists $MESSAGE{$reason};
    return qq({"error":"$reason","message":"$MESSAGE{$reason}"}\r\n);
}

# The one [error] line a rejection logs (for "--- error_log eval").
sub rejected_log {
    my ($reason, $label) = @_;
    return qr/\[error\] .*webhook rejected: \Q$reason\E \(.*\), label "\Q$label\E", client: 127\.0\.0\.1/;
}

# The preprocessor every scheme suite installs: file-wide defaults for
# sections a block leaves out, and "no [error]" unless the block talks
# about the error log itself. Hand it to add_block_preprocessor inside a
# literal sub: the real one has a (&) prototype.
#
# Blocks of several requests (pipelined_requests) assert each status and
# body and say "no_error_log [alert] [crit]" rather than an error_log line:
# the real Test::Nginx checks the log after every response and each check
# sees only lines it has not seen, so a line would match once and then be
# missed. Bodies never start or end with white space: the real one trims
# a request body before sending it.
sub defaults {
    my (%d) = @_;
    return sub {
        my $block = shift;
        for my $s (sort keys %d) {
            $block->set_value($s, $d{$s}) unless defined $block->$s;
        }
        if (!defined $block->error_log && !defined $block->no_error_log) {
            $block->set_value("no_error_log", "[error]");
        }
        return $block;
    };
}

# The usual http{} and the upstream a passing request reaches.
our $HTTP_CONFIG = "    webhook_zone webhook:1m;\n";
our $UPSTREAM = <<'CONF';
    location = /up {
        return 200 "upstream got it\n";
    }
CONF

# Response headers exposing the module's variables on the passing location.
our $VARIABLE_HEADERS = <<'CONF';
        add_header X-Webhook-Result $webhook_result always;
        add_header X-Webhook-Reason $webhook_reason always;
        add_header X-Webhook-Provider $webhook_provider always;
        add_header X-Webhook-Id $webhook_id always;
        add_header X-Webhook-Timestamp $webhook_timestamp always;
        add_header X-Webhook-Secret-Index $webhook_secret_index always;
        add_header X-Webhook-Body-Sha256 $webhook_body_sha256 always;
        add_header X-Webhook-Time $webhook_time always;
CONF

# A whole request, byte for byte, for "--- raw_request eval": $headers are
# "Name: value" lines; Content-Length is computed unless $o{no_length}.
sub raw {
    my ($method, $uri, $headers, $body, %o) = @_;
    $body //= '';
    my $h = join '', map { "$_\r\n" } grep { length } split /\n/, $headers // '';
    return "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . $h
           . ($o{no_length} ? "" : "Content-Length: " . length($body) . "\r\n")
           . "\r\n$body";
}

# The same body chunked, in pieces of $size bytes.
sub raw_chunked {
    my ($method, $uri, $headers, $body, $size) = @_;
    my $chunks = '';
    for (my $i = 0; $i < length $body; $i += $size) {
        my $c = substr $body, $i, $size;
        $chunks .= sprintf("%x\r\n", length $c) . "$c\r\n";
    }
    return raw($method, $uri, $headers . "\nTransfer-Encoding: chunked",
               "${chunks}0\r\n\r\n", no_length => 1);
}

sub hex_sha256 { hmac_sha256_hex($_[1], $_[0]) }    # (secret, bytes)
sub b64_sha256 { b64(hmac_sha256($_[1], $_[0])) }   # (secret, bytes)

# Shopify / WooCommerce with a caller's delivery id (or none).
sub shopify_sig { "X-Shopify-Hmac-Sha256: " . b64_sha256(@_) . "\n" }
sub woocommerce_sig { "X-WC-Webhook-Signature: " . b64_sha256(@_) . "\n" }

# Any HMAC the custom scheme offers: mac("sha512", "base64", $secret, $bytes).
sub mac {
    my ($alg, $enc, $secret, $bytes) = @_;
    my $raw = $alg eq "sha1"   ? Digest::SHA::hmac_sha1($bytes, $secret)
            : $alg eq "sha512" ? Digest::SHA::hmac_sha512($bytes, $secret)
            :                    hmac_sha256($bytes, $secret);
    return $enc eq "base64" ? b64($raw) : unpack("H*", $raw);
}

1;
