/* The job loop: reads the stream, reclaims idle entries, runs jobs,
 * schedules retries and dead-letters what keeps failing. */
#ifndef WORKER_CONSUMER_H
#define WORKER_CONSUMER_H

#include <stddef.h>

#include "config.h"
#include "metrics.h"

typedef struct consumer consumer;

consumer *consumer_new(const worker_config *cfg, metrics *m, char *err,
    size_t err_len);
/* Runs in its own thread until consumer_stop; the job in hand finishes. */
int consumer_start(consumer *c);
void consumer_stop(consumer *c);
void consumer_free(consumer *c);

#endif
