/* fuzz_model_file.c - libFuzzer target: the model file loader.
 *
 * The input is loaded twice with model_load_buffer: as it is (mostly
 * refused by the checksum, which is the first thing a corrupt file
 * meets) and with its last 8 bytes replaced by the right FNV-1a 64
 * checksum of the rest, so the fuzzer reaches the header, alphabet,
 * country, tensor and name parsers behind it. A file that loads is
 * written out again: that must succeed, load again, and write the same
 * bytes, and the loaded model's accessors must stay in bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/dataset.h"
#include "namegen-model/model_file.h"
#include "tests/fuzz/fuzz_tiny.h"

#define FMF_INPUT_MAX (1u << 20) /* bytes: the seeds are ~10 KiB */

/* fmf_use walks a loaded model's accessors. */
static void fmf_use(const struct model *m)
{
	const struct model_country *c;
	int i, n = model_country_count(m);

	if (n < 0 || model_max_length(m) < 1 ||
	    model_max_length(m) > MODEL_MAX_NAME_CHARS)
		abort();
	for (i = 0; i < n; i++) {
		c = model_country(m, i);
		if (!c || strlen(c->code) > 3 ||
		    model_country_find(m, c->code) != i)
			abort();
	}
	if (model_country(m, n) || model_country(m, -1))
		abort();
	(void)model_has_name(m, "Marco", 5);
	(void)model_has_name(m, "", 0);
}

/* fmf_rewrite writes m, loads the bytes and writes them again. */
static void fmf_rewrite(const struct model *m)
{
	void *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	struct model *again = NULL;
	char err[MODEL_ERR_MAX];

	if (model_write(m, &buf, &len, err, sizeof(err)) != 0)
		abort();
	if (model_load_buffer(&again, buf, len, err, sizeof(err)) != 0)
		abort(); // we cannot read what we wrote
	if (model_write(again, &buf2, &len2, err, sizeof(err)) != 0 ||
	    len2 != len || memcmp(buf, buf2, len) != 0)
		abort();
	model_free(again);
	free(buf);
	free(buf2);
}

static void fmf_load(const uint8_t *data, size_t size)
{
	struct model *m = NULL;
	char err[MODEL_ERR_MAX];

	err[0] = '\0';
	if (model_load_buffer(&m, data, size, err, sizeof(err)) != 0) {
		if (m || err[0] == '\0')
			abort();
		return;
	}
	fmf_use(m);
	fmf_rewrite(m);
	model_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Regression, once per run: what model_build makes must load again.
 * model_build used to accept countries out of code order, which the
 * loader then refused as corrupted (found by this target's seeds). */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const unsorted[3] = {"IT", "SE", "RU"};
	struct model *m = NULL;

	(void)argc;
	(void)argv;
	if (fuzz_tiny_model(&m, 2) != 0)
		abort();
	fmf_rewrite(m);
	model_free(m);
	if (fuzz_tiny_model_codes(&m, 1, unsorted) == 0)
		abort(); // built a model the loader cannot read
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t sum;
	uint8_t *fixed;
	int i;

	if (size > FMF_INPUT_MAX)
		return 0;
	fmf_load(data, size);
	if (size < 8)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	sum = dataset_fnv1a64(DATASET_FNV_SEED, fixed, size - 8);
	for (i = 0; i < 8; i++)
		fixed[size - 8 + (size_t)i] = (uint8_t)(sum >> (8 * i));
	fmf_load(fixed, size);
	free(fixed);
	return 0;
}
