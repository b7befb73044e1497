/* fuzz_tiny.h - a small, deterministic model for the fuzz targets.
 *
 * The model worker's validators and the model file loader need a real
 * model to run against; training one takes minutes, so the fuzz targets
 * build a tiny one (random weights with a fixed seed, three countries,
 * both genders, a mixed-script alphabet) in memory instead. */
#ifndef TESTS_FUZZ_FUZZ_TINY_H
#define TESTS_FUZZ_FUZZ_TINY_H

#include <stddef.h>

struct model;

/* fuzz_tiny_model builds the model into *out (free with model_free).
 * layers is 1 or 2; the countries are IT, RU and SE. Returns 0, or -1
 * with the reason on stderr. */
int fuzz_tiny_model(struct model **out, int layers);

/* fuzz_tiny_model_codes is fuzz_tiny_model with three country codes of
 * the caller's (model_build refuses them out of code order). */
int fuzz_tiny_model_codes(struct model **out, int layers,
			  const char *const codes[3]);

/* fuzz_read_file reads at most max bytes of path into a new buffer
 * (*out, freed by the caller). Returns the length, or -1 (with the reason
 * on stderr) when it cannot be read or is larger than max. */
long fuzz_read_file(const char *path, size_t max, unsigned char **out);

#endif /* TESTS_FUZZ_FUZZ_TINY_H */
