/* rpc_dedup.c - remembering recent calls so a resent one is not redone. */
#include "common/rpc_dedup.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct dedup_slot {
	uint64_t client_id;
	uint64_t call_id;
	int state;   /* RPC_DEDUP_RUNNING or _DONE; 0 = empty */
	void *reply; /* owned; NULL unless DONE */
	size_t reply_len;
};

struct rpc_dedup {
	pthread_mutex_t mu;
	size_t nslots;
	struct dedup_slot *slots;
};

struct rpc_dedup *rpc_dedup_new(size_t slots)
{
	struct rpc_dedup *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->slots = calloc(slots ? slots : 1, sizeof(*d->slots));
	if (!d->slots) {
		free(d);
		return NULL;
	}
	d->nslots = slots ? slots : 1;
	pthread_mutex_init(&d->mu, NULL);
	return d;
}

void rpc_dedup_free(struct rpc_dedup *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nslots; i++)
		free(d->slots[i].reply);
	free(d->slots);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* dedup_slot_of mixes both ids (splitmix64 finaliser) into a slot. */
static struct dedup_slot *dedup_slot_of(struct rpc_dedup *d,
					uint64_t client_id, uint64_t call_id)
{
	uint64_t x = client_id ^ (call_id * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return &d->slots[x % d->nslots];
}

int rpc_dedup_begin(struct rpc_dedup *d, uint64_t client_id, uint64_t call_id,
		    void **reply, size_t *reply_len)
{
	struct dedup_slot *s;
	int state;

	*reply = NULL;
	*reply_len = 0;
	pthread_mutex_lock(&d->mu);
	s = dedup_slot_of(d, client_id, call_id);
	if (s->state && s->client_id == client_id && s->call_id == call_id) {
		state = s->state;
		if (state == RPC_DEDUP_DONE) {
			*reply = malloc(s->reply_len ? s->reply_len : 1);
			if (*reply) {
				memcpy(*reply, s->reply, s->reply_len);
				*reply_len = s->reply_len;
			} else {
				state = RPC_DEDUP_RUNNING;
			}
		}
		pthread_mutex_unlock(&d->mu);
		return state;
	}

	/* A newer call takes the slot, whatever it held. */
	free(s->reply);
	s->reply = NULL;
	s->reply_len = 0;
	s->client_id = client_id;
	s->call_id = call_id;
	s->state = RPC_DEDUP_RUNNING;
	pthread_mutex_unlock(&d->mu);
	return RPC_DEDUP_NEW;
}

void rpc_dedup_finish(struct rpc_dedup *d, uint64_t client_id,
		      uint64_t call_id, const void *reply, size_t reply_len)
{
	struct dedup_slot *s;
	void *copy = NULL;
	bool keep = reply_len <= RPC_DEDUP_REPLY_MAX;

	if (keep) {
		copy = malloc(reply_len ? reply_len : 1);
		if (copy)
			memcpy(copy, reply, reply_len);
	}
	pthread_mutex_lock(&d->mu);
	s = dedup_slot_of(d, client_id, call_id);
	if (s->client_id == client_id && s->call_id == call_id &&
	    s->state == RPC_DEDUP_RUNNING) {
		if (copy) {
			s->reply = copy;
			s->reply_len = reply_len;
			s->state = RPC_DEDUP_DONE;
			copy = NULL;
		} else {
			s->state = 0; /* too big to keep: forget the call */
		}
	}
	pthread_mutex_unlock(&d->mu);
	free(copy);
}
