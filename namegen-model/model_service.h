/* model_service.h - the ModelService handlers: Generate, Score, Meta.
 *
 * Generate checks its request, turns it into a batch_spec and a
 * conditioning row, and hands it to the batcher; the batcher's thread
 * completes the call when the names are ready. Score and Meta answer on
 * the RPC server's handler thread. Every bad request gets
 * INVALID_ARGUMENT with a message that names the field and the rule. */
#ifndef NAMEGEN_MODEL_MODEL_SERVICE_H
#define NAMEGEN_MODEL_MODEL_SERVICE_H

#include <stddef.h>

#include "namegen-model/batcher.h"
#include "namegen-model/model_file.h"
#include "namegen.pb-c.h"

#define MODEL_SERVICE_ERR_MAX 256

struct model_service;

/* model_service_new makes the service for model m, generating through
 * batcher b (both must outlive it). Returns 0 with *out set, or -1 with a
 * sentence in err. */
int model_service_new(struct model_service **out, const struct model *m,
		      struct batcher *b, char *err, size_t errlen);

/* model_service_free releases ms; accepts NULL. */
void model_service_free(struct model_service *ms);

/* model_service_base is the protobuf-c service to give rpc_server. */
ProtobufCService *model_service_base(struct model_service *ms);

/* model_service_inline_methods lists the methods whose handlers never
 * block (for struct rpc_server_opts.inline_methods): Generate only hands
 * the request to the batcher, Meta answers a reply built at start. Score
 * runs its batch on the handler's thread and stays on the pool. */
extern const char *const model_service_inline_methods[];

/* model_service_parse_generate checks req and fills spec and cond
 * (gru_cond_size floats). A request without a seed gets a random one;
 * spec->deadline_ms is left 0. Returns 0, or -1 with a message for the
 * caller in err ("count: must be 1..100, not 500"). */
int model_service_parse_generate(const struct model_service *ms,
				 const Namegen__V1__GenerateRequest *req,
				 struct batch_spec *spec, float *cond,
				 char *err, size_t errlen);

#endif /* NAMEGEN_MODEL_MODEL_SERVICE_H */
