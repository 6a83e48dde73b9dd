/* Wall-clock time in milliseconds (job timestamps, retry due times). */
#ifndef WORKER_CLOCK_H
#define WORKER_CLOCK_H

long long clock_now_ms(void);

#endif
