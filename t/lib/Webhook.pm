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

sub sha256_of { sha256_hex($_[0]) }

# hex HMAC-SHA256 over v1:{provider}:{id}:{time}:{hex sha256 body}
sub attestation {
    my ($secret, $provider, $id, $time, $body) = @_;
    return hmac_sha256_hex("v1:$provider:$id:$time:" . sha256_hex($body),
                           $secret);
}

# A request section: "POST /uri\n<body>" (Test::Nginx drops the final \n).
sub post { "POST $_[0]\n$_[1]" }

1;
