// The Stripe check of bench/run's "njs" configuration: the equivalent of
// `webhook_verify stripe` as far as njs 0.7.9 (Debian bookworm) allows.
//
// njs has no access phase and no state shared between requests (the
// shared dictionary arrived in njs 0.8.0; every request runs in a fresh
// clone of the VM), so this is a js_content handler that verifies and then
// hands the request, body already read, to the proxying location with
// r.internalRedirect(), and it keeps NO nonce store: the timestamp window
// is its only replay bound. It checks the header's shape, the timestamp
// both ways, HMAC-SHA256 of "<t>.<body>" (njs's own crypto module), and
// compares the hex without an early exit; 400/401 on failure.
//
// Environment (`env` lines in nginx.conf): BENCH_STRIPE_SECRET,
// BENCH_STRIPE_TOLERANCE (seconds).

var crypto = require('crypto');

var SECRET = process.env.BENCH_STRIPE_SECRET || '';
var TOLERANCE = Number(process.env.BENCH_STRIPE_TOLERANCE || 300);

function deny(r, status, reason) {
    r.error('stripe check rejected: ' + reason);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, '{"error":"' + reason + '"}');
}

function sameHex(a, b) {
    var diff = 0;
    var i;

    if (a.length !== b.length) {
        return false;
    }
    for (i = 0; i < a.length; i++) {
        diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
}

function verify(r) {
    var header = r.headersIn['Stripe-Signature'];
    var t = null;
    var sigs = [];
    var parts, i, eq, key, age, body, mac, matched;

    if (header === undefined) {
        return deny(r, 400, 'missing_signature');
    }
    if (header.length > 4096) {
        return deny(r, 400, 'malformed_signature');
    }
    parts = header.split(',');
    for (i = 0; i < parts.length; i++) {
        eq = parts[i].indexOf('=');
        if (eq < 0) {
            continue;
        }
        key = parts[i].slice(0, eq);
        if (key === 't') {
            if (t !== null) {
                return deny(r, 400, 'malformed_signature');
            }
            t = parts[i].slice(eq + 1);
        } else if (key === 'v1') {
            sigs.push(parts[i].slice(eq + 1));
        }
    }
    if (t === null || sigs.length === 0) {
        return deny(r, 400, 'malformed_signature');
    }
    if (!/^[0-9]{1,12}$/.test(t)) {
        return deny(r, 400, 'malformed_timestamp');
    }
    age = Math.floor(Date.now() / 1000) - Number(t);
    if (age > TOLERANCE || -age > TOLERANCE) {
        return deny(r, 401, 'stale_timestamp');
    }

    // njs 0.7.9 reads the body only from memory: when nginx spilled it to
    // a temporary file, r.requestBuffer throws "request body is in a file"
    // (and the file is already unlinked, so it cannot be read back by
    // name). bench/run gives the njs location a client_body_buffer_size
    // that holds its largest body.
    try {
        body = r.requestBuffer;
    } catch (e) {
        return deny(r, 413, 'body_in_file');
    }
    if (body === undefined) {
        body = '';
    }
    mac = crypto.createHmac('sha256', SECRET).update(t).update('.')
                .update(body).digest('hex');

    matched = false;
    for (i = 0; i < sigs.length; i++) {
        if (sameHex(sigs[i], mac)) {
            matched = true;
        }
    }
    if (!matched) {
        return deny(r, 401, 'invalid_signature');
    }
    r.internalRedirect('@upstream');
}

export default { verify: verify };
