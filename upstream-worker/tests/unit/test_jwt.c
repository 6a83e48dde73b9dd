/* RS256 JWT building: shape, claims and a signature that verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "jwt.h"


static unsigned char *
b64url_decode(const char *in, size_t len, size_t *out_len)
{
    char          *buf = malloc(len + 4);
    unsigned char *out = malloc(len + 4);
    size_t         i, n = len;
    int            decoded;

    for (i = 0; i < len; i++) {
        buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    }
    while (n % 4) {
        buf[n++] = '=';
    }
    decoded = EVP_DecodeBlock(out, (unsigned char *) buf, (int) n);
    assert_true(decoded >= 0);
    *out_len = (size_t) decoded - (n - len);
    free(buf);
    return out;
}


static void
test_base64url(void **state)
{
    char *s;

    (void) state;
    s = base64url_encode((const unsigned char *) "\xfb\xff\xfe", 3);
    assert_string_equal(s, "-__-");
    free(s);
    s = base64url_encode((const unsigned char *) "ab", 2);
    assert_string_equal(s, "YWI");     /* no padding */
    free(s);
}


static void
test_jwt_rs256(void **state)
{
    EVP_PKEY      *key = EVP_RSA_gen(2048);
    char          *jwt, *dot1, *dot2;
    unsigned char *part, *sig;
    size_t         len, sig_len;
    json_t        *claims;
    EVP_MD_CTX    *md;

    (void) state;
    assert_non_null(key);
    jwt = jwt_build_rs256(key, "client-id", "user@example.com",
                          "https://login.salesforce.com", 1700000180);
    assert_non_null(jwt);
    dot1 = strchr(jwt, '.');
    assert_non_null(dot1);
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(jwt, '='));

    part = b64url_decode(jwt, (size_t) (dot1 - jwt), &len);
    assert_int_equal(len, strlen("{\"alg\":\"RS256\"}"));
    assert_memory_equal(part, "{\"alg\":\"RS256\"}", len);
    free(part);

    part = b64url_decode(dot1 + 1, (size_t) (dot2 - dot1 - 1), &len);
    claims = json_loadb((char *) part, len, 0, NULL);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")),
                        "client-id");
    assert_string_equal(json_string_value(json_object_get(claims, "sub")),
                        "user@example.com");
    assert_string_equal(json_string_value(json_object_get(claims, "aud")),
                        "https://login.salesforce.com");
    assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
                     1700000180);
    json_decref(claims);
    free(part);

    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig_len);
    assert_int_equal(sig_len, 256);
    md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key),
                     1);
    assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (unsigned char *) jwt,
                                      (size_t) (dot2 - jwt)), 1);
    /* a changed claim no longer verifies */
    jwt[dot1 - jwt + 3] ^= 1;
    EVP_MD_CTX_free(md);
    md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key);
    assert_int_not_equal(EVP_DigestVerify(md, sig, sig_len,
                                          (unsigned char *) jwt,
                                          (size_t) (dot2 - jwt)), 1);
    EVP_MD_CTX_free(md);
    free(sig);
    free(jwt);
    EVP_PKEY_free(key);
}


static void
test_key_loading(void **state)
{
    char      err[128];
    char      path[] = "/tmp/jwt-test-XXXXXX";
    int       fd = mkstemp(path);

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a key\n", 10), 10);
    close(fd);
    assert_null(jwt_load_private_key(path, err, sizeof(err)));
    assert_non_null(strstr(err, "PEM"));
    unlink(path);
    assert_null(jwt_load_private_key("/nonexistent/key.pem", err, sizeof(err)));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt_rs256),
        cmocka_unit_test(test_key_loading),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
