/*
 * Jobs in Redis: a stream with a consumer group (wh:jobs / workers), a hash
 * per job (state and step journal), idempotency keys, a delayed-retry zset
 * and a dead-letter stream. One queue per thread (hiredis is not shared).
 */
#ifndef WORKER_QUEUE_H
#define WORKER_QUEUE_H

#include <jansson.h>

#include "config.h"
#include "intake.h"

#define QUEUE_STREAM   "wh:jobs"
#define QUEUE_GROUP    "workers"
#define QUEUE_DEAD     "wh:dead"
#define QUEUE_DELAYED  "wh:delayed"

typedef struct queue queue;

/*
 * The keys one queue works on. queue_new uses queue_jobs_names (the
 * fulfillment jobs); another flow keeps its jobs apart with its own
 * stream, group, delayed zset, dead-letter stream and job hash prefix and
 * gets the same reading, claiming, retry and dead-letter calls on them
 * (queue_enqueue, the steps journal, the AddOrder claim and the order
 * markers stay the fulfillment job's).
 */
typedef struct {
    const char  *stream;
    const char  *group;
    const char  *delayed;
    const char  *dead;
    const char  *job_prefix;        /* job hash key = prefix + job id */
} queue_names;

extern const queue_names queue_jobs_names;

typedef struct {
    char  entry_id[64];
    char  job_id[64];
} queue_entry;

typedef struct {
    long long  pending;       /* delivered, not yet acknowledged */
    long long  lag;           /* not yet delivered */
    long long  delayed;       /* waiting for a retry */
    long long  dead;
    json_t    *last_success;  /* integration -> unix ms */
} queue_stats;

queue *queue_new(const redis_target *target, int command_timeout_ms);
queue *queue_new_named(const redis_target *target, int command_timeout_ms,
    const queue_names *names);
void queue_free(queue *q);
/* Connects if needed and makes the group; 0 when Redis answers. */
int queue_ready(queue *q);
const char *queue_error(queue *q);

/*
 * Stores the job and its stream entry atomically unless the idempotency key
 * is known. *created = 1 for a new job, 0 when job_id is the existing one.
 */
int queue_enqueue(queue *q, const intake_request *req, long long now_ms,
    char job_id[64], int *created);

/* Any hash as a JSON object of strings; NULL if absent or on error (then
 * *failed = 1). queue_hash_set also stamps updated_ms. */
json_t *queue_hash_get(queue *q, const char *key, int *failed);
int queue_hash_set(queue *q, const char *key, ...);

/* The job hash as a JSON object of strings; NULL if absent or on error
 * (then *failed = 1). */
json_t *queue_job_get(queue *q, const char *job_id, int *failed);
/* The job's finished steps, oldest first (JSON array). */
json_t *queue_job_steps(queue *q, const char *job_id);
/* The latest job for a Salesforce order id; 1 found, 0 none, -1 error. */
int queue_order_job(queue *q, const char *order_id, char job_id[64]);

/* The job that provisioned an order: set on success, read by
 * GET /orders/{id} when a later job was skipped. 1 found, 0 none, -1 error. */
int queue_set_provisioned_job(queue *q, const char *order_id,
    const char *job_id);
int queue_provisioned_job(queue *q, const char *order_id, char job_id[64]);

/* The job an idempotency key names; 1 found, 0 none, -1 error. */
int queue_idem_job(queue *q, const char *idem_key, char job_id[64]);

/* Sets field/value pairs (NULL-terminated list of strings). */
int queue_job_set(queue *q, const char *job_id, ...);
/* Journals a finished step: last_step = index, appends a steps record. */
int queue_job_step_done(queue *q, const char *job_id, int index,
    const char *step, const char *outcome, long duration_ms);
long long queue_job_incr_attempts(queue *q, const char *job_id);

/* 1 got an entry, 0 none, -1 error. */
int queue_read_own_pending(queue *q, const char *consumer, queue_entry *e);
int queue_read_new(queue *q, const char *consumer, int block_ms,
    queue_entry *e);
int queue_autoclaim(queue *q, const char *consumer, long min_idle_ms,
    queue_entry *e);
int queue_ack(queue *q, const char *entry_id);

/* Where a consumer's reading stands (zero it before the first call). */
typedef struct {
    long long  last_claim_ms;
    int        own_checked;
} queue_reader;

/*
 * A consumer's next entry: due retries promoted first; then the entries
 * this consumer name held when it last stopped; another consumer's
 * entries idle for claim_idle_ms (looked for once a second); then new
 * ones, waiting up to block_ms. 1 got one, 0 none, -1 error (the next
 * call checks the own pending entries again).
 */
int queue_next(queue *q, queue_reader *rd, const char *consumer,
    long claim_idle_ms, int block_ms, queue_entry *e);

int queue_schedule_retry(queue *q, const queue_entry *e, long long due_ms);
int queue_promote_due(queue *q, long long now_ms);
/* Also gives back the order's active marker (below) if the job holds it. */
int queue_dead_letter(queue *q, const queue_entry *e, const char *reason);
/* 0 requeued (the job takes its order's active marker back and is marked
 * "retried": its next run checks the order's status again), 404 unknown
 * job, 409 not dead-lettered, 423 another unfinished job holds the order,
 * 410 another job provisioned the order; other names that job for 423 and
 * 410. -1 error. */
int queue_retry_dead(queue *q, const char *job_id, long long now_ms,
    char other[64]);

/*
 * One job works on a Salesforce order at a time: a run marks itself as the
 * order's active job (wh:active:{order}) before its first step. 1 marked
 * (or already ours: a resumed run), 0 another job that is QUEUED, RUNNING
 * or RETRY_WAIT holds it (holder set), -1 error. A holder in any other
 * state (finished, dead, gone) is taken over.
 */
int queue_order_begin(queue *q, const char *order_id, const char *job_id,
    char holder[64]);
/* Gives the marker back (only when job_id holds it). */
int queue_order_end(queue *q, const char *order_id, const char *job_id);

/*
 * Before AddOrder, atomically: refuses when the job's addorder_state is
 * already "sending" or "done" (2: another run of the job got there), or
 * when another job holds the order's claim (0, holder set); else claims
 * the order and sets addorder_state = "sending" (1). -1 on error.
 */
int queue_begin_addorder(queue *q, const char *order_id, const char *job_id,
    char holder[64]);

/* A lease on running a job, so that a reclaimed entry is not run twice at
 * once. take: 1 taken, 0 held by another; renew: 1 still ours, 0 lost. */
int queue_lease_take(queue *q, const char *job_id, const char *token,
    long ms);
int queue_lease_renew(queue *q, const char *job_id, const char *token,
    long ms);
void queue_lease_release(queue *q, const char *job_id, const char *token);

/* Gives the claim back (only when job_id holds it). */
int queue_release_addorder(queue *q, const char *order_id, const char *job_id);

/*
 * A command on the queue's connection (reconnecting as every call does),
 * for stores that keep their own keys beside the job queue: the reply
 * (freeReplyObject it), or NULL with queue_error set. An error reply is
 * NULL too.
 */
struct redisReply;
struct redisReply *queue_argv(queue *q, int argc, const char **argv);

/*
 * n commands sent at once and their replies read after (one round trip):
 * 0 with every replies[i] set (error replies among them, as Redis sent
 * them; freeReplyObject each), or -1 with queue_error set and none. lens
 * (or lens[i]) NULL: the arguments are C strings.
 */
int queue_pipeline(queue *q, size_t n, const int *argc,
    const char *const *const *argv, const size_t *const *lens,
    struct redisReply **replies);
/* An HGETALL reply as a JSON object of strings; NULL when empty. */
json_t *queue_reply_hash(const struct redisReply *r);

/* Publishes an integration's last success (never moves it backwards). */
int queue_mark_success(queue *q, const char *integration, long long now_ms);
int queue_stats_get(queue *q, queue_stats *s);

#endif
