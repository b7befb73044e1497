/* workpool.h - a few threads running queued jobs (password hashing).
 *
 * Argon2id takes tens of milliseconds and megabytes per hash, so hashes
 * run here, on their own small pool, instead of on the RPC handler
 * threads: a burst of logins then queues here while WhoAmI calls keep
 * flowing. A job runs exactly once unless the pool is full at submit. */
#ifndef AUTH_WORKPOOL_H
#define AUTH_WORKPOOL_H

typedef void (*auth_pool_fn)(void *arg);

struct auth_pool;

/* auth_pool_start starts nthreads threads with room for queue_max waiting
 * jobs. Returns the pool, or NULL (out of memory, no thread). */
struct auth_pool *auth_pool_start(int nthreads, int queue_max);

/* auth_pool_submit queues fn(arg). Returns 0, or -1 when the queue is
 * full or the pool is stopping (fn is then not called). */
int auth_pool_submit(struct auth_pool *pool, auth_pool_fn fn, void *arg);

/* auth_pool_free runs the jobs already queued, joins the threads and
 * frees. Accepts NULL. */
void auth_pool_free(struct auth_pool *pool);

#endif /* AUTH_WORKPOOL_H */
