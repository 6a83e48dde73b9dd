#include "crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}


void
sha256_hex(const void *data, size_t len, char out[HEX_SHA256_LEN + 1])
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256(data, len, md);
    hex_encode(md, sizeof(md), out);
}


int
hmac_sha256_hex(const void *key, size_t key_len, const void *msg,
    size_t msg_len, char out[HEX_SHA256_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int  md_len = 0;

    if (HMAC(EVP_sha256(), key, (int) key_len, msg, msg_len, md, &md_len)
        == NULL || md_len != SHA256_DIGEST_LENGTH)
    {
        return -1;
    }
    hex_encode(md, md_len, out);
    return 0;
}


int
random_hex(char *out, size_t nbytes)
{
    unsigned char buf[64];

    if (nbytes > sizeof(buf) || RAND_bytes(buf, (int) nbytes) != 1) {
        return -1;
    }
    hex_encode(buf, nbytes, out);
    return 0;
}


char *
base64url_encode(const unsigned char *in, size_t len)
{
    char   *out;
    size_t  n, i;

    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out == NULL) {
        return NULL;
    }
    n = (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) len);
    while (n > 0 && out[n - 1] == '=') {
        n--;
    }
    out[n] = '\0';
    for (i = 0; i < n; i++) {
        if (out[i] == '+') {
            out[i] = '-';
        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }
    return out;
}
