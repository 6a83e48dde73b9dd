/*
 * libFuzzer target for what the worker parses from the network: routes,
 * Quick Action and event bodies, and the attestation headers.
 *
 *   make -C upstream-worker fuzz FUZZ_SECONDS=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "intake.h"


/* Splits data at NUL bytes into up to n NUL-terminated pieces. */
static size_t
pieces(const uint8_t *data, size_t size, char *buf, char **out, size_t n)
{
    size_t i, k = 0;

    memcpy(buf, data, size);
    buf[size] = '\0';
    out[k++] = buf;
    for (i = 0; i < size && k < n; i++) {
        if (buf[i] == '\0') {
            out[k++] = buf + i + 1;
        }
    }
    return k;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char            *buf, *p[6] = { "", "", "", "", "", "" };
    route            rt;
    intake_request   req;
    attest_headers   h;
    char             err[256];

    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }
    pieces(data, size, buf, p, 6);

    route_match(p[0], p[1], &rt);
    intake_parse_fulfill(p[1], (const char *) data, size, p[2], p[3], &req,
                         err, sizeof(err));
    intake_parse_event((const char *) data, size, p[2], NULL, &req, err,
                       sizeof(err));
    h.attestation = p[2];
    h.edge_time = p[3];
    h.provider = p[4];
    h.id = p[5];
    attest_verify("secret", &h, data, size, 1700000000, 300);
    free(buf);
    return 0;
}
