/* model_file.h - a trained name model: loading, saving and reading it.
 *
 * The file is little-endian: a header (magic "NAMEGENM", format version,
 * dimensions, training metadata), the alphabet, the countries (code,
 * English name, training names per gender), the float32 tensors in
 * gru_params order, the sorted set of training names, and last an FNV-1a
 * 64 checksum of every byte before it. A truncated, corrupted, oversized
 * or wrong-version file is refused with one sentence saying what is
 * wrong; no input crashes the loader or makes it read out of bounds.
 *
 * A loaded model is read-only, so any number of threads may use it (and
 * its struct gru) at once. */
#ifndef NAMEGEN_MODEL_MODEL_FILE_H
#define NAMEGEN_MODEL_MODEL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "namegen-model/alphabet.h"
#include "namegen-model/gru.h"

#define MODEL_MAGIC	       "NAMEGENM"
#define MODEL_FORMAT_VERSION   1
#define MODEL_FILE_MAX	       (256u << 20) /* bytes; larger is refused */
#define MODEL_MAX_NAMES	       4000000	    /* training names in the set */
#define MODEL_MAX_NAME_CHARS   32	    /* = DATASET_MAX_NAME_CHARS */
#define MODEL_COUNTRY_NAME_MAX 64 /* bytes of an English name + NUL */
#define MODEL_ERR_MAX	       256

struct model;

struct model_country {
	char code[4];			   /* e.g. "IT", NUL-terminated */
	char name[MODEL_COUNTRY_NAME_MAX]; /* e.g. "Italy" */
	uint32_t names[2];		   /* training names: [F], [M] */
};

struct model_meta {
	uint32_t format_version;
	uint64_t params;	/* trainable floats */
	int64_t trained_at;	/* Unix seconds, UTC */
	float heldout_loss;	/* nats per character, end token counted */
	float train_loss;	/* same, last epoch */
	uint32_t epochs;	/* run, including those after the best */
	uint32_t best_epoch;	/* whose weights were kept */
	uint32_t train_names;	/* used to fit */
	uint32_t heldout_names; /* used to measure heldout_loss */
	float train_seconds;
	uint64_t seed;
	uint64_t data_checksum; /* FNV-1a 64 of the training file */
	uint64_t file_bytes;	/* size of the model file (0 if unsaved) */
	char version[32];	/* e.g. "1-3fa2c19d": format + checksum */
};

/* model_load reads the model file at path. Returns 0 with *out set (free
 * with model_free), or -1 with a sentence in err and *out NULL. */
int model_load(struct model **out, const char *path, char *err, size_t errlen);

/* model_load_buffer is model_load from len bytes at buf (copied; buf may
 * be freed afterwards). */
int model_load_buffer(struct model **out, const void *buf, size_t len,
		      char *err, size_t errlen);

/* model_free releases m; accepts NULL. */
void model_free(struct model *m);

/* model_build makes a model from its parts (all copied): the network
 * params, the alphabet, n countries (in code order, as the loader wants
 * them), meta (format_version, params, file_bytes and version are filled
 * in) and the training names (UTF-8 strings, any order, duplicates
 * dropped). Returns 0 with *out set, or -1 with a sentence in err when a
 * part is one the loader would refuse (countries out of order, a country
 * name that is not valid UTF-8, a name over MODEL_MAX_NAME_CHARS, a
 * weight that is not finite), so a built model always reads back. */
int model_build(struct model **out, const struct gru_params *params,
		const struct alphabet *alphabet,
		const struct model_country *countries, int n,
		const struct model_meta *meta, const char *const *names,
		size_t n_names, char *err, size_t errlen);

/* model_write serialises m into a new buffer (*buf, freed by the caller
 * with free; *len its size). Returns 0, or -1 with a sentence in err. */
int model_write(const struct model *m, void **buf, size_t *len, char *err,
		size_t errlen);

/* model_save writes m to path atomically (a temporary file renamed over
 * path), so a reader never sees half a model. Returns 0 or -1 + err. */
int model_save(const struct model *m, const char *path, char *err,
	       size_t errlen);

/* The accessors below never fail; pointers stay valid until model_free. */

/* model_gru is the inference network (see gru.h). */
const struct gru *model_gru(const struct model *m);

/* model_params is the trainable tensors. */
const struct gru_params *model_params(const struct model *m);

/* model_dims is the network's dimensions. */
const struct gru_dims *model_dims(const struct model *m);

/* model_alphabet maps characters to tokens and back (see alphabet.h). */
const struct alphabet *model_alphabet(const struct model *m);

/* model_start_token / model_end_token: both are GRU_BOUNDARY. */
int model_start_token(const struct model *m);
int model_end_token(const struct model *m);

/* model_max_length is the longest name, in characters, the model was
 * trained on and should generate (<= MODEL_MAX_NAME_CHARS). */
int model_max_length(const struct model *m);

/* model_country_count is the number of countries (0: unconditioned). */
int model_country_count(const struct model *m);

/* model_country returns country i (0 <= i < count), else NULL. */
const struct model_country *model_country(const struct model *m, int i);

/* model_country_find returns the index of code ("IT"; ASCII case is
 * ignored), or -1. */
int model_country_find(const struct model *m, const char *code);

/* model_meta is the training metadata. */
const struct model_meta *model_meta(const struct model *m);

/* model_name_count is the number of distinct training names. */
size_t model_name_count(const struct model *m);

/* model_has_name tells whether name (UTF-8, len bytes, exact bytes) is in
 * the training data, in any country or gender. O(log n). */
bool model_has_name(const struct model *m, const char *name, size_t len);

#endif /* NAMEGEN_MODEL_MODEL_FILE_H */
