/* CometD event messages -> intake requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "events.h"

#define ORDER "801000000000001AAA"


static json_t *
event(const char *payload, const char *uuid, long long replay)
{
    json_t *m = json_pack("{s:s,s:{s:s,s:o,s:{s:I}}}",
                          "channel", "/event/OrderProvisionRequested__e",
                          "data", "schema", "abc",
                          "payload", json_loads(payload, 0, NULL),
                          "event", "replayId", (json_int_t) replay);

    if (uuid != NULL) {
        json_object_set_new(json_object_get(json_object_get(m, "data"),
                                            "event"),
                            "EventUuid", json_string(uuid));
    }
    return m;
}


static void
test_key_from_payload(void **state)
{
    intake_request  req;
    long long       replay;
    char            err[128];
    json_t         *m = event("{\"OrderId__c\":\"" ORDER "\",\"IdemKey__c\":"
                              "\"k1\",\"CorrelationId__c\":\"c1\"}", "u-1", 7);

    (void) state;
    assert_int_equal(events_message_request(m, &req, &replay, err,
                                            sizeof(err)), 0);
    assert_int_equal(replay, 7);
    assert_string_equal(req.order_id, ORDER);
    assert_string_equal(req.idem_key, "k1");
    assert_string_equal(req.correlation_id, "c1");
    assert_string_equal(req.source, "platform_event");
    json_decref(m);
}


static void
test_key_from_uuid_or_replay(void **state)
{
    intake_request  req;
    long long       replay;
    char            err[128];
    json_t         *m = event("{\"OrderId__c\":\"" ORDER "\"}", "u-2", 8);

    (void) state;
    assert_int_equal(events_message_request(m, &req, &replay, err,
                                            sizeof(err)), 0);
    assert_string_equal(req.idem_key, "sfevt:u-2");
    json_decref(m);
    m = event("{\"OrderId__c\":\"" ORDER "\"}", NULL, 9);
    assert_int_equal(events_message_request(m, &req, &replay, err,
                                            sizeof(err)), 0);
    assert_string_equal(req.idem_key,
                        "sfevt:/event/OrderProvisionRequested__e:9");
    json_decref(m);
}


static void
test_unusable(void **state)
{
    intake_request  req;
    long long       replay;
    char            err[128];
    json_t         *m = event("{\"OrderId__c\":\"nope\"}", "u-3", 10);

    (void) state;
    assert_int_equal(events_message_request(m, &req, &replay, err,
                                            sizeof(err)), 400);
    assert_int_equal(replay, 10);
    json_decref(m);
    m = json_pack("{s:s,s:{s:{s:i}}}", "channel", "/event/X__e", "data",
                  "event", "replayId", 11);
    assert_int_equal(events_message_request(m, &req, &replay, err,
                                            sizeof(err)), 400);
    assert_int_equal(replay, 11);
    json_decref(m);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_from_payload),
        cmocka_unit_test(test_key_from_uuid_or_replay),
        cmocka_unit_test(test_unusable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
