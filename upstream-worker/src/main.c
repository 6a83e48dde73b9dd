/* webhook-worker: durable intake behind the edge and the Salesforce ->
 * WHMCS fulfillment job. */
#include "commerce.h"
#include "config.h"
#include "jobs/stock.h"
#include "consumer.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>


int
main(void)
{
    worker_config  cfg;
    char           err[512];
    metrics       *m;
    http_server   *http = NULL;
    consumer      *jobs = NULL;
    events        *subscriber = NULL;
    commerce      *orders = NULL;
    stock_runner  *stock = NULL;
    sigset_t       sigs;
    int            sig = 0, rc;

    if (config_load(&cfg, getenv, err, sizeof(err)) != 0) {
        log_json("error", "config_invalid",
                 json_pack("{s:s}", "message", err));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    /* threads inherit the mask: only sigwait below sees these */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    m = metrics_new();
    if (m == NULL) {
        config_free(&cfg);
        return 1;
    }
    jobs = consumer_new(&cfg, m, err, sizeof(err));
    if (jobs == NULL) {
        log_json("error", "config_invalid", json_pack("{s:s}", "message", err));
        rc = 2;
        goto done;
    }
    if (cfg.events_enabled) {
        subscriber = events_new(&cfg, m, err, sizeof(err));
        if (subscriber == NULL) {
            log_json("error", "config_invalid",
                     json_pack("{s:s}", "message", err));
            rc = 2;
            goto done;
        }
    }
    if (cfg.commerce_enabled) {
        orders = commerce_new(&cfg, m, err, sizeof(err));
        stock = orders ? stock_runner_new(&cfg, m, err, sizeof(err)) : NULL;
        if (stock == NULL) {
            log_json("error", "config_invalid",
                     json_pack("{s:s}", "message", err));
            rc = 2;
            goto done;
        }
    }
    http = http_start(&cfg, m, err, sizeof(err));
    if (http == NULL) {
        log_json("error", "start_failed", json_pack("{s:s}", "message", err));
        rc = 1;
        goto done;
    }
    if (consumer_start(jobs) != 0
        || (subscriber != NULL && events_start(subscriber) != 0)
        || (orders != NULL && commerce_start(orders) != 0)
        || (stock != NULL && stock_runner_start(stock) != 0))
    {
        log_msg("error", "start_failed", "cannot start a thread");
        rc = 1;
        goto done;
    }
    log_json("info", "worker_started",
             json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "listen",
                       cfg.listen.unix_path[0] ? cfg.listen.unix_path
                                               : cfg.listen.host,
                       "port", cfg.listen.port,
                       "environment", cfg.environment, "consumer",
                       cfg.consumer_name, "edge_attestation",
                       cfg.edge_attest_secret ? "required" : "off",
                       "platform_events",
                       cfg.events_enabled ? cfg.events_channel : "off",
                       "commerce", cfg.commerce_enabled ? "on" : "off"));

    sigwait(&sigs, &sig);
    log_msg("info", "worker_stopping", "signal %d", sig);
    rc = 0;

done:
    http_stop(http);
    if (subscriber != NULL) {
        events_stop(subscriber);
        events_free(subscriber);
    }
    if (stock != NULL) {
        stock_runner_stop(stock);
        stock_runner_free(stock);
    }
    if (orders != NULL) {
        commerce_stop(orders);
        commerce_free(orders);
    }
    if (jobs != NULL) {
        consumer_stop(jobs);
        consumer_free(jobs);
    }
    metrics_free(m);
    config_free(&cfg);
    curl_global_cleanup();
    if (rc == 0) {
        log_msg("info", "worker_stopped", "bye");
    }
    return rc;
}
