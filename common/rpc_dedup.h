/* rpc_dedup.h - remembering recent calls so a resent one is not redone.
 *
 * nng's REQ protocol resends a request when its connection drops or its
 * resend timer fires, so a worker may receive one call twice. The cache
 * maps (client_id, call_id) to the call's state: in progress, or done
 * with its sealed answer kept for replay. It is direct-mapped with a fixed
 * number of slots and a cap on the bytes of one kept answer, so its memory
 * is bounded whatever the load: a slot is reused by a newer call, and an
 * answer over the cap is not kept (the resent call then runs again).
 * Thread-safe. */
#ifndef COMMON_RPC_DEDUP_H
#define COMMON_RPC_DEDUP_H

#include <stddef.h>
#include <stdint.h>

/* The largest answer kept for replay. */
#define RPC_DEDUP_REPLY_MAX 8192

struct rpc_dedup;

enum rpc_dedup_state {
	RPC_DEDUP_NEW = 0,     /* not seen: now marked in progress */
	RPC_DEDUP_RUNNING = 1, /* seen, not answered yet */
	RPC_DEDUP_DONE = 2     /* answered: the answer is copied out */
};

/* rpc_dedup_new makes a cache with the given number of slots (>= 1).
 * Returns NULL when out of memory. */
struct rpc_dedup *rpc_dedup_new(size_t slots);

/* rpc_dedup_free frees the cache. Accepts NULL. */
void rpc_dedup_free(struct rpc_dedup *d);

/* rpc_dedup_begin looks a call up. NEW: the call was not known and is now
 * recorded as running. RUNNING: a copy is being handled. DONE: its answer
 * is in a new buffer *reply of *reply_len bytes (the caller frees it); if
 * that allocation fails the call is reported RUNNING. */
int rpc_dedup_begin(struct rpc_dedup *d, uint64_t client_id, uint64_t call_id,
		    void **reply, size_t *reply_len);

/* rpc_dedup_finish stores the answer of a call begun with NEW (a copy, if
 * it fits under RPC_DEDUP_REPLY_MAX; otherwise the entry is dropped). */
void rpc_dedup_finish(struct rpc_dedup *d, uint64_t client_id,
		      uint64_t call_id, const void *reply, size_t reply_len);

#endif /* COMMON_RPC_DEDUP_H */
