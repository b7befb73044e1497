/* model_service.c - the ModelService handlers: Generate, Score, Meta. */
#include "namegen-model/model_service.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/rpc_server.h"
#include "namegen-model/scorer.h"

#define MS_ALPHABET_BYTES (ALPHABET_MAX * 4 + 1)

struct model_service {
	Namegen__V1__ModelService_Service base; /* first: handlers cast */
	const struct model *m;
	struct batcher *b;
	struct scorer *scorer;

	/* The Meta reply, built once: the model never changes. */
	Namegen__V1__MetaReply meta;
	Namegen__V1__CountryInfo *meta_countries; /* (C) */
	Namegen__V1__CountryInfo **meta_country_ptrs;
	Namegen__V1__Gender meta_genders[2];
	char *meta_alphabet;
	char meta_trained_at[32];
};

/* One Generate call waiting for the batcher. */
struct pending {
	Namegen__V1__GenerateReply_Closure closure;
	void *closure_data; /* the struct rpc_call */
};

/* printable copies at most 8 printable ASCII bytes of s for a message,
 * so that a hostile code cannot put control bytes into our answers. */
static const char *printable(char out[12], const char *s)
{
	int i;

	for (i = 0; i < 8 && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] && i == 8)
		out[i++] = '.';
	out[i] = '\0';
	return out;
}

static uint64_t random_seed(void)
{
	static _Atomic uint64_t counter;
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	// No entropy yet (early boot): a counter and the clock will do.
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return sampler_mix64(atomic_fetch_add(&counter, 1) ^
			     (uint64_t)ts.tv_nsec ^
			     ((uint64_t)ts.tv_sec << 32));
}

/* ---------------------------------------------------------- Generate */

/* parse_countries maps the request's countries to model indices and
 * weights; 0 weights mean 1. */
static int parse_countries(const struct model_service *ms,
			   const Namegen__V1__GenerateRequest *req, int *idx,
			   float *w, char *err, size_t errlen)
{
	int nc = model_country_count(ms->m);
	char q[12];
	size_t i, k;

	if (nc == 0) {
		if (req->n_countries > 0) {
			snprintf(err, errlen,
				 "countries: this model has no "
				 "countries; leave it empty");
			return -1;
		}
		return 0;
	}
	if (req->n_countries == 0) {
		snprintf(err, errlen,
			 "countries: at least one country is "
			 "needed (see Meta for the list)");
		return -1;
	}
	if (req->n_countries > (size_t)nc) {
		snprintf(err, errlen,
			 "countries: at most %d (one per country "
			 "of the model), not %zu",
			 nc, req->n_countries);
		return -1;
	}
	for (i = 0; i < req->n_countries; i++) {
		const Namegen__V1__CountryWeight *cw = req->countries[i];
		const char *code = cw->code ? cw->code : "";
		float wt = cw->weight;

		idx[i] = model_country_find(ms->m, code);
		if (idx[i] < 0) {
			snprintf(err, errlen,
				 "countries[%zu].code: unknown "
				 "country \"%s\" (see Meta for "
				 "the list)",
				 i, printable(q, code));
			return -1;
		}
		for (k = 0; k < i; k++)
			if (idx[k] == idx[i]) {
				snprintf(err, errlen,
					 "countries[%zu].code: %s "
					 "is listed twice",
					 i, printable(q, code));
				return -1;
			}
		if (!isfinite(wt) || wt < 0.0f || wt > 1e6f) {
			snprintf(err, errlen,
				 "countries[%zu].weight: must be "
				 "a number in [0, 1e6] (0 means "
				 "1), not %g",
				 i, (double)wt);
			return -1;
		}
		w[i] = wt == 0.0f ? 1.0f : wt;
	}
	return (int)req->n_countries;
}

int model_service_parse_generate(const struct model_service *ms,
				 const Namegen__V1__GenerateRequest *req,
				 struct batch_spec *spec, float *cond,
				 char *err, size_t errlen)
{
	const struct gru *g = model_gru(ms->m);
	int model_max = model_max_length(ms->m);
	int idx[GRU_MAX_COUNTRIES], gender, nc, n;
	float w[GRU_MAX_COUNTRIES], temp;
	char why[MODEL_SERVICE_ERR_MAX];
	const char *prefix = req->prefix ? req->prefix : "";

	memset(spec, 0, sizeof(*spec));

	// count, lengths, temperature, top-k: ranges first.
	spec->count = req->count ? (int)req->count : 1;
	if (req->count > BATCH_MAX_COUNT) {
		snprintf(err, errlen, "count: must be 1..%d, not %u",
			 BATCH_MAX_COUNT, req->count);
		return -1;
	}
	if (req->max_length > (uint32_t)model_max) {
		snprintf(err, errlen,
			 "max_length: must be at most %d (the "
			 "model's maximum), not %u",
			 model_max, req->max_length);
		return -1;
	}
	spec->max_len = req->max_length ? (int)req->max_length : model_max;
	if (req->min_length > (uint32_t)spec->max_len) {
		snprintf(err, errlen, "min_length: %u is above max_length %d",
			 req->min_length, spec->max_len);
		return -1;
	}
	spec->min_len = req->min_length ? (int)req->min_length : 1;
	temp = req->temperature;
	if (!(temp >= 0.0f && temp <= SAMPLER_TEMP_MAX)) {
		snprintf(err, errlen,
			 "temperature: must be in (0, %g] (0 "
			 "means 1), not %g",
			 (double)SAMPLER_TEMP_MAX, (double)temp);
		return -1;
	}
	spec->rules.temperature = temp == 0.0f		    ? 1.0f
				  : temp < SAMPLER_TEMP_MIN ? SAMPLER_TEMP_MIN
							    : temp;
	if (req->top_k > (uint32_t)(g->d.vocab - 1)) {
		snprintf(err, errlen,
			 "top_k: must be 0..%d (the alphabet "
			 "size; 0 = no cut), not %u",
			 g->d.vocab - 1, req->top_k);
		return -1;
	}
	spec->rules.top_k = (int)req->top_k;

	// The prefix: known characters, and short enough.
	n = alphabet_encode(model_alphabet(ms->m), prefix, strlen(prefix),
			    spec->prefix, MODEL_MAX_NAME_CHARS, why,
			    sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "prefix: %s", why);
		return -1;
	}
	if (n > spec->max_len) {
		snprintf(err, errlen,
			 "prefix: %d characters is longer than "
			 "max_length %d",
			 n, spec->max_len);
		return -1;
	}
	spec->prefix_len = n;

	// Conditioning: countries with weights, and the gender.
	switch (req->gender) {
	case NAMEGEN__V1__GENDER__GENDER_ANY:
		gender = GRU_GENDER_ANY;
		break;
	case NAMEGEN__V1__GENDER__GENDER_MALE:
		gender = GRU_GENDER_M;
		break;
	case NAMEGEN__V1__GENDER__GENDER_FEMALE:
		gender = GRU_GENDER_F;
		break;
	default:
		snprintf(err, errlen,
			 "gender: must be GENDER_ANY, "
			 "GENDER_MALE or GENDER_FEMALE, not %d",
			 (int)req->gender);
		return -1;
	}
	if (g->d.genders == 0 && gender != GRU_GENDER_ANY) {
		snprintf(err, errlen,
			 "gender: this model has no genders; "
			 "leave it GENDER_ANY");
		return -1;
	}
	nc = parse_countries(ms, req, idx, w, err, errlen);
	if (nc < 0)
		return -1;
	if (gru_condition(g, cond, nc, idx, w,
			  g->d.genders ? gender : GRU_GENDER_ANY, why,
			  sizeof(why)) != 0) {
		snprintf(err, errlen, "countries: %s", why);
		return -1;
	}

	spec->unique = !req->allow_duplicates;
	spec->novel = req->novel;
	spec->seed = req->has_seed ? req->seed : random_seed();
	return 0;
}

/* generate_done runs on the batcher's thread with the request's names. */
static void generate_done(void *arg, const struct batch_result *res)
{
	struct pending *p = arg;
	Namegen__V1__GenerateReply reply = NAMEGEN__V1__GENERATE_REPLY__INIT;
	Namegen__V1__GeneratedName names[BATCH_MAX_COUNT];
	Namegen__V1__GeneratedName *ptrs[BATCH_MAX_COUNT];
	int i;

	if (res->status == BATCH_EXPIRED) {
		rpc_call_fail(p->closure_data, RPC_DEADLINE_EXCEEDED,
			      "the deadline passed before the names were "
			      "ready");
		goto out;
	}
	if (res->status == BATCH_STOPPED) {
		rpc_call_fail(p->closure_data, RPC_UNAVAILABLE,
			      "the model worker is shutting down");
		goto out;
	}
	for (i = 0; i < res->n; i++) {
		namegen__v1__generated_name__init(&names[i]);
		names[i].name = (char *)res->names[i].text;
		names[i].log_prob = res->names[i].log_prob;
		names[i].in_training_data = res->names[i].in_training_data;
		ptrs[i] = &names[i];
	}
	reply.n_names = (size_t)res->n;
	reply.names = ptrs;
	reply.incomplete = res->incomplete;
	reply.incomplete_reason = (char *)res->reason;
	reply.attempts = res->attempts;
	p->closure(&reply, p->closure_data);
out:
	free(p);
}

static void ms_generate(Namegen__V1__ModelService_Service *svc,
			const Namegen__V1__GenerateRequest *req,
			Namegen__V1__GenerateReply_Closure closure,
			void *closure_data)
{
	struct model_service *ms = (struct model_service *)svc;
	struct rpc_call *call = closure_data;
	float cond[3 * GRU_MAX_HIDDEN];
	char err[MODEL_SERVICE_ERR_MAX];
	struct batch_spec spec;
	struct pending *p;
	int rv;

	if (model_service_parse_generate(ms, req, &spec, cond, err,
					 sizeof(err)) != 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	spec.deadline_ms = rpc_call_deadline_ms(call);
	p = malloc(sizeof(*p));
	if (!p) {
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
			      "the model worker is out of memory");
		return;
	}
	p->closure = closure;
	p->closure_data = closure_data;
	rv = batcher_submit(ms->b, &spec, cond, generate_done, p);
	if (rv == 0)
		return; // generate_done answers
	free(p);
	if (rv == BATCH_E_STOPPED) {
		rpc_call_fail(call, RPC_UNAVAILABLE,
			      "the model worker is shutting down");
		return;
	}
	rpc_call_set_retry_after(call, 1);
	rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
		      rv == BATCH_E_FULL
			  ? "the model worker's queue is full; "
			    "retry shortly"
			  : "the model worker is out of memory");
}

const char *const model_service_inline_methods[] = {"Generate", "Meta", NULL};

/* ------------------------------------------------------------- Score */

static Namegen__V1__Gender gender_to_proto(int g)
{
	return g == GRU_GENDER_M ? NAMEGEN__V1__GENDER__GENDER_MALE
				 : NAMEGEN__V1__GENDER__GENDER_FEMALE;
}

static void ms_score(Namegen__V1__ModelService_Service *svc,
		     const Namegen__V1__ScoreRequest *req,
		     Namegen__V1__ScoreReply_Closure closure,
		     void *closure_data)
{
	struct model_service *ms = (struct model_service *)svc;
	Namegen__V1__ScoreReply reply = NAMEGEN__V1__SCORE_REPLY__INIT;
	Namegen__V1__CountryScore cs[GRU_MAX_COUNTRIES];
	Namegen__V1__CountryScore *cps[GRU_MAX_COUNTRIES];
	Namegen__V1__GenderScore gs[2], *gps[2];
	struct scorer_result *res = malloc(sizeof(*res));
	char err[MODEL_SERVICE_ERR_MAX];
	const char *name = req->name ? req->name : "";
	int i;

	if (!res) {
		rpc_call_fail(closure_data, RPC_RESOURCE_EXHAUSTED,
			      "the model worker is out of memory");
		return;
	}
	if (scorer_score(ms->scorer, name, strlen(name), res, err,
			 sizeof(err)) != 0) {
		rpc_call_fail(closure_data, RPC_INVALID_ARGUMENT, "%s", err);
		goto out;
	}
	for (i = 0; i < res->ncountries; i++) {
		const struct model_country *c =
		    model_country(ms->m, res->countries[i].index);

		namegen__v1__country_score__init(&cs[i]);
		cs[i].code = (char *)c->code;
		cs[i].probability = res->countries[i].probability;
		cps[i] = &cs[i];
	}
	for (i = 0; i < res->ngenders; i++) {
		namegen__v1__gender_score__init(&gs[i]);
		gs[i].gender = gender_to_proto(res->genders[i].gender);
		gs[i].probability = res->genders[i].probability;
		gps[i] = &gs[i];
	}
	reply.name = (char *)name;
	reply.n_countries = (size_t)res->ncountries;
	reply.countries = cps;
	reply.n_genders = (size_t)res->ngenders;
	reply.genders = gps;
	reply.log_likelihood = (float)res->log_likelihood;
	closure(&reply, closure_data);
out:
	free(res);
}

/* -------------------------------------------------------------- Meta */

static void ms_meta(Namegen__V1__ModelService_Service *svc,
		    const Namegen__V1__MetaRequest *req,
		    Namegen__V1__MetaReply_Closure closure, void *closure_data)
{
	struct model_service *ms = (struct model_service *)svc;

	(void)req;
	closure(&ms->meta, closure_data);
}

/* meta_build fills ms->meta from the model. */
static int meta_build(struct model_service *ms)
{
	const struct model_meta *mm = model_meta(ms->m);
	const struct alphabet *a = model_alphabet(ms->m);
	int nc = model_country_count(ms->m), i;
	size_t off = 0;
	struct tm tm;
	time_t t = (time_t)mm->trained_at;

	namegen__v1__meta_reply__init(&ms->meta);
	ms->meta_countries =
	    calloc((size_t)(nc ? nc : 1), sizeof(*ms->meta_countries));
	ms->meta_country_ptrs =
	    calloc((size_t)(nc ? nc : 1), sizeof(*ms->meta_country_ptrs));
	ms->meta_alphabet = malloc(MS_ALPHABET_BYTES);
	if (!ms->meta_countries || !ms->meta_country_ptrs ||
	    !ms->meta_alphabet)
		return -1;
	for (i = 0; i < nc; i++) {
		const struct model_country *c = model_country(ms->m, i);
		Namegen__V1__CountryInfo *ci = &ms->meta_countries[i];

		namegen__v1__country_info__init(ci);
		ci->code = (char *)c->code;
		ci->name = (char *)c->name;
		ci->training_names = c->names[0] + c->names[1];
		ms->meta_country_ptrs[i] = ci;
	}
	for (i = 0; i < a->size; i++) {
		size_t l = strlen(a->utf8[i]);

		memcpy(ms->meta_alphabet + off, a->utf8[i], l);
		off += l;
	}
	ms->meta_alphabet[off] = '\0';
	if (!gmtime_r(&t, &tm) ||
	    !strftime(ms->meta_trained_at, sizeof(ms->meta_trained_at),
		      "%Y-%m-%dT%H:%M:%SZ", &tm))
		ms->meta_trained_at[0] = '\0';

	ms->meta.n_countries = (size_t)nc;
	ms->meta.countries = ms->meta_country_ptrs;
	if (model_dims(ms->m)->genders == 2) {
		ms->meta_genders[0] = NAMEGEN__V1__GENDER__GENDER_MALE;
		ms->meta_genders[1] = NAMEGEN__V1__GENDER__GENDER_FEMALE;
		ms->meta.n_genders = 2;
		ms->meta.genders = ms->meta_genders;
	}
	ms->meta.alphabet = ms->meta_alphabet;
	ms->meta.max_length = (uint32_t)model_max_length(ms->m);
	ms->meta.model_version = (char *)mm->version;
	ms->meta.parameters = mm->params;
	ms->meta.trained_at = ms->meta_trained_at;
	ms->meta.heldout_loss = mm->heldout_loss;
	ms->meta.model_bytes = mm->file_bytes;
	return 0;
}

/* --------------------------------------------------------- lifecycle */

int model_service_new(struct model_service **out, const struct model *m,
		      struct batcher *b, char *err, size_t errlen)
{
	static const Namegen__V1__ModelService_Service init =
	    NAMEGEN__V1__MODEL_SERVICE__INIT(ms_);
	struct model_service *ms = calloc(1, sizeof(*ms));

	*out = NULL;
	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ms->base = init;
	ms->m = m;
	ms->b = b;
	if (scorer_new(&ms->scorer, m, err, errlen) != 0)
		goto fail;
	if (meta_build(ms) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	*out = ms;
	return 0;
fail:
	model_service_free(ms);
	return -1;
}

void model_service_free(struct model_service *ms)
{
	if (!ms)
		return;
	scorer_free(ms->scorer);
	free(ms->meta_countries);
	free(ms->meta_country_ptrs);
	free(ms->meta_alphabet);
	free(ms);
}

ProtobufCService *model_service_base(struct model_service *ms)
{
	return &ms->base.base;
}
