/*
 * Stock sync from HFT71 (GET /stock/available) to WooCommerce (products
 * and variations batch updates), one run at a time across all workers (a
 * lease, wh:lease:stock), its state in Redis so that a run killed halfway
 * is resumed from its cursor by the next holder; and the drift report.
 */
#ifndef WORKER_JOBS_STOCK_H
#define WORKER_JOBS_STOCK_H

#include <jansson.h>

#include "../config.h"
#include "../metrics.h"
#include "commerce.h"

#define STOCK_SKUS_MAX  1000    /* a partial sync's SKUs */

/*
 * Asks for a run: kind "full" (skus NULL) or "partial" (skus, an array of
 * SKU strings the caller checked with stock_sku_valid). When a run is
 * already queued or running, nothing new is made: 0 and run_id is that
 * run. min_gap_ms > 0 (the timer): 2 and nothing made when a run started
 * less than min_gap_ms ago. 1 made (run_id the new run), -1 Redis error.
 */
int stock_request(queue *q, const char *source, json_t *skus, int reindex,
    long long min_gap_ms, char run_id[64]);

/* GET /stock/sync/{id}: NULL with *found 0 unknown, -1 on error. */
json_t *stock_run_view(queue *q, const char *run_id, int *found);

/*
 * GET /stock/drift: HFT71 and WooCommerce compared now, every SKU
 * (sample 0) or sample random ones plus STOCK_PRIORITY_SKUS. NULL with
 * err set when a call or Redis failed.
 */
json_t *stock_drift(commerce_env *e, long sample, char *err, size_t err_len);

/* The thread that runs the sync (timer and requested runs). */
typedef struct stock_runner stock_runner;

stock_runner *stock_runner_new(const worker_config *cfg, metrics *m,
    char *err, size_t err_len);
int stock_runner_start(stock_runner *r);
void stock_runner_stop(stock_runner *r);
void stock_runner_free(stock_runner *r);

#endif
