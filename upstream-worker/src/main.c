/* webhook-worker: durable intake behind the edge and the Salesforce ->
 * WHMCS fulfillment job. */
#include "config.h"
#include "consumer.h"
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
    http_server   *http;
    consumer      *jobs;
    sigset_t       sigs;
    int            sig = 0;

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
        return 1;
    }
    jobs = consumer_new(&cfg, m, err, sizeof(err));
    if (jobs == NULL) {
        log_json("error", "config_invalid", json_pack("{s:s}", "message", err));
        return 2;
    }
    http = http_start(&cfg, m, err, sizeof(err));
    if (http == NULL) {
        log_json("error", "start_failed", json_pack("{s:s}", "message", err));
        consumer_free(jobs);
        return 1;
    }
    if (consumer_start(jobs) != 0) {
        log_msg("error", "start_failed", "cannot start the job thread");
        http_stop(http);
        consumer_free(jobs);
        return 1;
    }
    log_json("info", "worker_started",
             json_pack("{s:s,s:s,s:s,s:s}", "listen",
                       cfg.listen.unix_path[0] ? cfg.listen.unix_path
                                               : cfg.listen.host,
                       "environment", cfg.environment, "consumer",
                       cfg.consumer_name, "edge_attestation",
                       cfg.edge_attest_secret ? "required" : "off"));

    sigwait(&sigs, &sig);
    log_msg("info", "worker_stopping", "signal %d", sig);
    http_stop(http);
    consumer_stop(jobs);
    consumer_free(jobs);
    metrics_free(m);
    config_free(&cfg);
    curl_global_cleanup();
    log_msg("info", "worker_stopped", "bye");
    return 0;
}
