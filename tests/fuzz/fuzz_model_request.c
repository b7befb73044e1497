/* fuzz_model_request.c - libFuzzer target: the model worker's request
 * decoding and validation.
 *
 * The first input byte picks a ModelService method (through the service
 * descriptor, as rpc_server dispatches); the rest is the call's body,
 * unpacked with the method's request type. Generate goes through
 * model_service_parse_generate and Score through scorer_score, the
 * checks the handlers run, against a tiny model (fuzz_tiny.h). What they
 * accept must be within the limits the batcher and the GRU rely on. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/batcher.h"
#include "namegen-model/gru.h"
#include "namegen-model/model_file.h"
#include "namegen-model/model_service.h"
#include "namegen-model/scorer.h"
#include "namegen.pb-c.h"
#include "tests/fuzz/fuzz_tiny.h"

static struct model *fmr_model;
static struct model_service *fmr_service;
static struct scorer *fmr_scorer;
static float *fmr_cond;

/* fmr_generate checks what parse_generate accepted. */
static void fmr_generate(const Namegen__V1__GenerateRequest *req)
{
	const struct gru *g = model_gru(fmr_model);
	int n = gru_cond_size(g), i, vocab = model_dims(fmr_model)->vocab;
	char err[MODEL_SERVICE_ERR_MAX];
	struct batch_spec spec;

	err[0] = '\0';
	if (model_service_parse_generate(fmr_service, req, &spec, fmr_cond,
					 err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort(); // a refusal must say why
		return;
	}
	if (spec.count < 1 || spec.count > BATCH_MAX_COUNT ||
	    spec.min_len < 1 || spec.min_len > spec.max_len ||
	    spec.max_len > model_max_length(fmr_model) ||
	    spec.prefix_len < 0 || spec.prefix_len > spec.max_len ||
	    !(spec.rules.temperature > 0.0f) || spec.rules.top_k < 0 ||
	    spec.rules.top_k >= vocab)
		abort();
	for (i = 0; i < spec.prefix_len; i++)
		if (spec.prefix[i] < 1 || spec.prefix[i] >= vocab)
			abort();
	for (i = 0; i < n; i++)
		if (!isfinite(fmr_cond[i]))
			abort();
}

/* fmr_score checks what the scorer answers. */
static void fmr_score(const Namegen__V1__ScoreRequest *req)
{
	const char *name = req->name ? req->name : "";
	char err[SCORER_ERR_MAX];
	struct scorer_result res;
	double sum = 0;
	int i;

	err[0] = '\0';
	if (scorer_score(fmr_scorer, name, strlen(name), &res, err,
			 sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (res.ncountries != model_country_count(fmr_model) ||
	    res.ngenders != 2 || !isfinite(res.log_likelihood) ||
	    res.chars < 1 || res.chars > model_max_length(fmr_model))
		abort();
	for (i = 0; i < res.ncountries; i++) {
		if (!(res.countries[i].probability >= 0.0f) ||
		    res.countries[i].index < 0 ||
		    res.countries[i].index >= res.ncountries)
			abort();
		sum += res.countries[i].probability;
	}
	if (fabs(sum - 1.0) > 1e-3)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[MODEL_SERVICE_ERR_MAX];

	(void)argc;
	(void)argv;
	if (fuzz_tiny_model(&fmr_model, 2) != 0)
		abort();
	// The batcher is not needed to parse, only to generate.
	if (model_service_new(&fmr_service, fmr_model, NULL, err,
			      sizeof(err)) != 0 ||
	    scorer_new(&fmr_scorer, fmr_model, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_model_request: %s\n", err);
		abort();
	}
	fmr_cond =
	    calloc((size_t)gru_cond_size(model_gru(fmr_model)), sizeof(float));
	if (!fmr_cond)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCServiceDescriptor *sd =
	    &namegen__v1__model_service__descriptor;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *req;

	if (size < 1)
		return 0;
	md = &sd->methods[data[0] % sd->n_methods];
	req = protobuf_c_message_unpack(md->input, NULL, size - 1, data + 1);
	if (!req)
		return 0;
	if (md->input == &namegen__v1__generate_request__descriptor)
		fmr_generate((const Namegen__V1__GenerateRequest *)req);
	else if (md->input == &namegen__v1__score_request__descriptor)
		fmr_score((const Namegen__V1__ScoreRequest *)req);
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}
