/* The commerce flow's threads: the job loop on wh:commerce and the timer
 * (sweep, polling). */
#ifndef WORKER_COMMERCE_H
#define WORKER_COMMERCE_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

typedef struct commerce commerce;

commerce *commerce_new(const worker_config *cfg, metrics *m, char *err,
    size_t err_len);
int commerce_start(commerce *c);
void commerce_stop(commerce *c);
void commerce_free(commerce *c);

#endif
