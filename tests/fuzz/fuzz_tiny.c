/* fuzz_tiny.c - a small, deterministic model for the fuzz targets. */
#include "tests/fuzz/fuzz_tiny.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/alphabet.h"
#include "namegen-model/gru.h"
#include "namegen-model/model_file.h"

/* Latin, accented Latin, Cyrillic and Greek, plus the space, hyphen and
 * apostrophe that real names hold. */
static const char tiny_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "\xc3\xa9\xc3\xb6\xc3\xa5\xc3\xb1"	       /* é ö å ñ */
    "\xd0\x9c\xd0\xb0\xd1\x80\xd0\xb8\xd1\x8f" /* М а р и я */
    "\xce\x9d\xce\xb9\xce\xba\xce\xbf"	       /* Ν ι κ ο */
    " -'";

static const char *const tiny_names[] = {
    "Marco",
    "Giulia",
    "Lars",
    "Astrid",
    "Jean-Luc",
    "Ren\xc3\xa9",
    "\xd0\x9c\xd0\xb0\xd1\x80\xd0\xb8\xd1\x8f",
    "Nikos",
    "Mary Ann",
    "O'Neil",
};

int fuzz_tiny_model(struct model **out, int layers)
{
	static const char *const codes[3] = {"IT", "RU", "SE"};

	return fuzz_tiny_model_codes(out, layers, codes);
}

int fuzz_tiny_model_codes(struct model **out, int layers,
			  const char *const codes[3])
{
	uint32_t cps[sizeof(tiny_chars)];
	struct model_country c[3];
	struct model_meta meta;
	struct alphabet *a = calloc(1, sizeof(*a));
	struct gru_params p;
	struct gru_dims d;
	float *data = NULL;
	char err[MODEL_ERR_MAX];
	size_t n = 0, off = 0, len = strlen(tiny_chars);
	int rc = -1, k;

	*out = NULL;
	if (!a)
		goto out;
	// The alphabet: every code point of tiny_chars.
	while (off < len) {
		k = alphabet_decode(tiny_chars + off, len - off, &cps[n]);
		if (k < 0)
			goto out;
		off += (size_t)k;
		n++;
	}
	if (alphabet_init(a, cps, n, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_tiny_model: %s\n", err);
		goto out;
	}

	memset(&d, 0, sizeof(d));
	d.vocab = a->size + 1;
	d.countries = 3;
	d.genders = 2;
	d.emb_char = 6;
	d.emb_country = 3;
	d.emb_gender = 2;
	d.hidden = 8;
	d.layers = layers;
	data = calloc(gru_param_count(&d), sizeof(*data));
	if (!data)
		goto out;
	gru_params_point(&p, &d, data);
	gru_params_init(&p, 1);

	memset(c, 0, sizeof(c));
	for (k = 0; k < 3; k++) {
		snprintf(c[k].code, sizeof(c[k].code), "%s", codes[k]);
		snprintf(c[k].name, sizeof(c[k].name), "Country %s", codes[k]);
		c[k].names[0] = c[k].names[1] = 3;
	}

	memset(&meta, 0, sizeof(meta));
	meta.trained_at = 1700000000;
	meta.heldout_loss = 2.5f;
	meta.train_loss = 2.4f;
	meta.epochs = 1;
	meta.train_names = 10;
	meta.seed = 1;
	if (model_build(out, &p, a, c, 3, &meta, tiny_names,
			sizeof(tiny_names) / sizeof(tiny_names[0]), err,
			sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_tiny_model: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	free(data);
	free(a);
	return rc;
}

long fuzz_read_file(const char *path, size_t max, unsigned char **out)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t got;
	long rv = -1;

	*out = NULL;
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(max + 1);
	if (!buf)
		goto out;
	got = fread(buf, 1, max + 1, f);
	if (ferror(f) || got > max) {
		fprintf(stderr, "%s: unreadable or larger than %zu bytes\n",
			path, max);
		goto out;
	}
	*out = buf;
	buf = NULL;
	rv = (long)got;
out:
	free(buf);
	fclose(f);
	return rv;
}
