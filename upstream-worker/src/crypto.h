/* Hashes, MACs, encodings and random ids (OpenSSL). */
#ifndef WORKER_CRYPTO_H
#define WORKER_CRYPTO_H

#include <stddef.h>

#define HEX_SHA256_LEN 64

void hex_encode(const unsigned char *in, size_t len, char *out);
void sha256_hex(const void *data, size_t len, char out[HEX_SHA256_LEN + 1]);
int hmac_sha256_hex(const void *key, size_t key_len, const void *msg,
    size_t msg_len, char out[HEX_SHA256_LEN + 1]);
/* nbytes random bytes as 2*nbytes hex chars; 0 on success. */
int random_hex(char *out, size_t nbytes);
/* Unpadded base64url; malloc'd, NULL on failure. */
char *base64url_encode(const unsigned char *in, size_t len);

#endif
