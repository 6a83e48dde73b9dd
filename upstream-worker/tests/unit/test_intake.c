/* Routing and intake body parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "intake.h"

#define ORDER "801000000000001AAA"


static void
test_routes(void **state)
{
    route r;

    (void) state;
    assert_int_equal(route_match("POST", "/orders/" ORDER "/fulfill", &r), 0);
    assert_int_equal(r.kind, ROUTE_FULFILL);
    assert_string_equal(r.id, ORDER);
    assert_int_equal(route_match("GET", "/orders/" ORDER "/fulfill", &r), 405);
    assert_int_equal(route_match("GET", "/orders/" ORDER, &r), 0);
    assert_int_equal(r.kind, ROUTE_ORDER);
    assert_int_equal(route_match("POST", "/events/salesforce", &r), 0);
    assert_int_equal(r.kind, ROUTE_EVENT);
    assert_int_equal(route_match("GET", "/jobs/job_1", &r), 0);
    assert_int_equal(r.kind, ROUTE_JOB);
    assert_string_equal(r.id, "job_1");
    assert_int_equal(route_match("POST", "/jobs/job_1/retry", &r), 0);
    assert_int_equal(r.kind, ROUTE_JOB_RETRY);
    assert_int_equal(route_match("GET", "/health", &r), 0);
    assert_int_equal(route_match("GET", "/metrics", &r), 0);
    assert_int_equal(r.kind, ROUTE_METRICS);
    assert_int_equal(route_match("GET", "/nope", &r), 404);
    assert_int_equal(route_match("POST", "/orders//fulfill", &r), 404);
    assert_int_equal(route_match("POST", "/orders/a/b/fulfill", &r), 404);
    assert_int_equal(route_match("POST", "/orders/" ORDER "/cancel", &r), 404);
}


static void
test_fulfill_needs_idempotency_key(void **state)
{
    intake_request req;
    char           err[128];

    (void) state;
    assert_int_equal(intake_parse_fulfill(ORDER, "", 0, NULL, NULL, &req, err,
                                          sizeof(err)), 400);
    assert_non_null(strstr(err, "Idempotency-Key"));
    assert_int_equal(intake_parse_fulfill(ORDER, "", 0, "", NULL, &req, err,
                                          sizeof(err)), 400);
    assert_int_equal(intake_parse_fulfill(ORDER, "", 0, "has space", NULL,
                                          &req, err, sizeof(err)), 400);
    assert_int_equal(intake_parse_fulfill(ORDER, "", 0, "k-1", "corr-9", &req,
                                          err, sizeof(err)), 0);
    assert_string_equal(req.idem_key, "k-1");
    assert_string_equal(req.correlation_id, "corr-9");
    assert_string_equal(req.order_id, ORDER);
    assert_string_equal(req.source, "quick_action");
}


static void
test_fulfill_body(void **state)
{
    intake_request  req;
    char            err[128];
    const char     *ok = "{\"orderId\":\"" ORDER "\",\"timestamp\":1,"
                         "\"nonce\":\"n\",\"whmcsClientId\":7}";
    const char     *other = "{\"orderId\":\"801000000000002AAA\"}";

    (void) state;
    assert_int_equal(intake_parse_fulfill(ORDER, ok, strlen(ok), "k", NULL,
                                          &req, err, sizeof(err)), 0);
    assert_int_equal(req.whmcs_client_id, 7);
    assert_int_equal(intake_parse_fulfill(ORDER, other, strlen(other), "k",
                                          NULL, &req, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "does not match"));
    assert_int_equal(intake_parse_fulfill(ORDER, "[1]", 3, "k", NULL, &req,
                                          err, sizeof(err)), 400);
    assert_int_equal(intake_parse_fulfill(ORDER, "{bad", 4, "k", NULL, &req,
                                          err, sizeof(err)), 400);
    assert_int_equal(intake_parse_fulfill("801-bad", "", 0, "k", NULL, &req,
                                          err, sizeof(err)), 400);
    assert_int_equal(intake_parse_fulfill("80100000000000", "", 0, "k", NULL,
                                          &req, err, sizeof(err)), 400);
}


static void
test_event_shapes(void **state)
{
    intake_request  req;
    char            err[128];
    const char     *flat = "{\"OrderId__c\":\"" ORDER "\",\"IdemKey__c\":"
                           "\"ik\",\"CorrelationId__c\":\"c1\","
                           "\"RequestedBy__c\":\"ops\"}";
    const char     *cometd = "{\"data\":{\"schema\":\"x\",\"payload\":"
                             "{\"OrderId__c\":\"" ORDER "\",\"IdemKey__c\":"
                             "\"ik2\"},\"event\":{\"replayId\":5}},"
                             "\"channel\":\"/event/OrderProvisionRequested__e\"}";
    const char     *no_key = "{\"OrderId__c\":\"" ORDER "\"}";
    const char     *bad_id = "{\"OrderId__c\":\"x\",\"IdemKey__c\":\"k\"}";
    const char     *wrong_type = "{\"OrderId__c\":5,\"IdemKey__c\":\"k\"}";

    (void) state;
    assert_int_equal(intake_parse_event(flat, strlen(flat), NULL, NULL, &req,
                                        err, sizeof(err)), 0);
    assert_string_equal(req.idem_key, "ik");
    assert_string_equal(req.correlation_id, "c1");
    assert_string_equal(req.requested_by, "ops");
    assert_string_equal(req.source, "platform_event");
    assert_int_equal(intake_parse_event(cometd, strlen(cometd), NULL, NULL,
                                        &req, err, sizeof(err)), 0);
    assert_string_equal(req.idem_key, "ik2");
    assert_string_equal(req.order_id, ORDER);
    /* the header wins over the payload's key */
    assert_int_equal(intake_parse_event(flat, strlen(flat), "hdr", NULL, &req,
                                        err, sizeof(err)), 0);
    assert_string_equal(req.idem_key, "hdr");
    assert_int_equal(intake_parse_event(no_key, strlen(no_key), NULL, NULL,
                                        &req, err, sizeof(err)), 400);
    assert_non_null(strstr(err, "Idempotency-Key"));
    assert_int_equal(intake_parse_event(no_key, strlen(no_key), "h", NULL,
                                        &req, err, sizeof(err)), 0);
    assert_int_equal(intake_parse_event(bad_id, strlen(bad_id), NULL, NULL,
                                        &req, err, sizeof(err)), 400);
    assert_int_equal(intake_parse_event(wrong_type, strlen(wrong_type), NULL,
                                        NULL, &req, err, sizeof(err)), 400);
    assert_int_equal(intake_parse_event("", 0, "k", NULL, &req, err,
                                        sizeof(err)), 400);
    {
        const char *edge = "{\"orderId\":\"" ORDER "\",\"timestamp\":1,"
                           "\"nonce\":\"n\",\"idempotencyKey\":\"ek\"}";

        assert_int_equal(intake_parse_event(edge, strlen(edge), NULL, NULL,
                                            &req, err, sizeof(err)), 0);
        assert_string_equal(req.order_id, ORDER);
        assert_string_equal(req.idem_key, "ek");
    }
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_fulfill_needs_idempotency_key),
        cmocka_unit_test(test_fulfill_body),
        cmocka_unit_test(test_event_shapes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
