/*
 * libFuzzer target for what the worker parses from the network: routes,
 * Quick Action and event bodies, the attestation headers, and the
 * registry's bodies, tokens file, bearer header and r1 attestation.
 *
 *   make -C upstream-worker fuzz FUZZ_SECONDS=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "intake.h"
#include "registry.h"
#include "registry_tokens.h"


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
    attest_verify_registry("secret", p[1], &h, data, size, 1700000000, 300);
    {
        registry_create_req  cr;
        registry_tokens      tokens;
        registry_stats       st;
        const char          *code;
        long                 grace;

        if (registry_parse_create(p[1], (const char *) data, size, &cr,
                                  &code, err, sizeof(err)) == 0)
        {
            json_decref(registry_events_json(cr.events));
        }
        registry_create_req_free(&cr);
        registry_parse_rotate((const char *) data, size, 60, &grace, &code,
                              err, sizeof(err));
        if (registry_tokens_parse((const char *) data, size, &tokens, err,
                                  sizeof(err)) == 0)
        {
            registry_tokens_tenant(&tokens, p[2]);
            registry_tokens_free(&tokens);
        }
        memset(&st, 0, sizeof(st));
        registry_stats_add(&st, p[2], (long long) size);
        registry_stats_add(&st, p[3], 1);
        json_decref(registry_health_recommendations(&st, 1700000000, 900));
        registry_id_valid(p[4]);
    }
    free(buf);
    return 0;
}
