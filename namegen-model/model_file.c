/* model_file.c - the model file: writing, checking and reading it. */
#include "namegen-model/model_file.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "namegen-model/dataset.h"

/* Bytes before the dimensions: magic, version, file size. */
#define HEAD_BYTES     (8 + 4 + 8)
#define CHECKSUM_BYTES 8

struct model {
	float *data;		  // the parameter block, owned
	struct gru_params params; // cut from data
	struct gru gru;
	struct alphabet alphabet;
	struct model_country *countries; // (countries), owned
	struct model_meta meta;
	int max_length;
	char *pool;	    // training names, NUL after each
	uint32_t *name_off; // (n_names) sorted by bytes
	size_t n_names;
};

/* ---------------------------------------------------------- writing */

struct writer {
	unsigned char *buf;
	size_t len, cap;
	int failed;
};

static void put(struct writer *w, const void *p, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > MODEL_FILE_MAX) {
		w->failed = 1;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1 << 16;
		unsigned char *nb;

		while (cap < w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->failed = 1;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_u64(struct writer *w, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(w, b, 8);
}

static void put_u32(struct writer *w, uint32_t v)
{
	unsigned char b[4];
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(w, b, 4);
}

static void put_u8(struct writer *w, unsigned v)
{
	unsigned char b = (unsigned char)v;

	put(w, &b, 1);
}

static void put_f32(struct writer *w, float f)
{
	uint32_t v;

	memcpy(&v, &f, 4);
	put_u32(w, v);
}

static void put_str8(struct writer *w, const char *s)
{
	size_t n = strlen(s);

	put_u8(w, (unsigned)n);
	put(w, s, n);
}

static const uint32_t *dims_u32(const struct gru_dims *d, uint32_t *v)
{
	v[0] = (uint32_t)d->vocab;
	v[1] = (uint32_t)d->countries;
	v[2] = (uint32_t)d->genders;
	v[3] = (uint32_t)d->emb_char;
	v[4] = (uint32_t)d->emb_country;
	v[5] = (uint32_t)d->emb_gender;
	v[6] = (uint32_t)d->hidden;
	v[7] = (uint32_t)d->layers;
	return v;
}

int model_write(const struct model *m, void **buf, size_t *len, char *err,
		size_t errlen)
{
	const struct gru_dims *d = &m->params.d;
	const struct model_meta *mt = &m->meta;
	struct writer w = {0};
	uint32_t dv[8];
	size_t i, np = gru_param_count(d);
	uint64_t sum;
	int k;

	*buf = NULL;
	*len = 0;
	put(&w, MODEL_MAGIC, 8);
	put_u32(&w, MODEL_FORMAT_VERSION);
	put_u64(&w, 0); // the file size, patched below
	dims_u32(d, dv);
	for (k = 0; k < 8; k++)
		put_u32(&w, dv[k]);
	put_u32(&w, (uint32_t)m->max_length);

	put_u64(&w, mt->params);
	put_u64(&w, (uint64_t)mt->trained_at);
	put_f32(&w, mt->heldout_loss);
	put_f32(&w, mt->train_loss);
	put_u32(&w, mt->epochs);
	put_u32(&w, mt->best_epoch);
	put_u32(&w, mt->train_names);
	put_u32(&w, mt->heldout_names);
	put_f32(&w, mt->train_seconds);
	put_u64(&w, mt->seed);
	put_u64(&w, mt->data_checksum);

	for (k = 0; k < m->alphabet.size; k++)
		put_u32(&w, m->alphabet.cp[k]);
	for (k = 0; k < d->countries; k++) {
		put_str8(&w, m->countries[k].code);
		put_str8(&w, m->countries[k].name);
		put_u32(&w, m->countries[k].names[0]);
		put_u32(&w, m->countries[k].names[1]);
	}
	for (i = 0; i < np; i++)
		put_f32(&w, m->data[i]);
	put_u32(&w, (uint32_t)m->n_names);
	for (i = 0; i < m->n_names; i++)
		put_str8(&w, m->pool + m->name_off[i]);
	if (w.failed) {
		snprintf(err, errlen,
			 "the model does not fit in %u bytes or memory",
			 MODEL_FILE_MAX);
		free(w.buf);
		return -1;
	}

	// Patch the size in, then seal everything with the checksum.
	for (k = 0; k < 8; k++)
		w.buf[12 + k] =
		    (unsigned char)((uint64_t)(w.len + CHECKSUM_BYTES) >>
				    (8 * k));
	sum = dataset_fnv1a64(DATASET_FNV_SEED, w.buf, w.len);
	put_u64(&w, sum);
	if (w.failed) {
		snprintf(err, errlen, "out of memory writing the model");
		free(w.buf);
		return -1;
	}
	*buf = w.buf;
	*len = w.len;
	return 0;
}

int model_save(const struct model *m, const char *path, char *err,
	       size_t errlen)
{
	char tmp[4096];
	void *buf = NULL;
	size_t len;
	FILE *f = NULL;
	int rc = -1;

	if (model_write(m, &buf, &len, err, errlen) != 0)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "model path too long");
		goto out;
	}
	f = fopen(tmp, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	if (rc)
		(void)unlink(tmp); // nothing to add if this fails too
	free(buf);
	return rc;
}

/* ---------------------------------------------------------- building */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int utf8_chars(const char *s, size_t len)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		uint32_t cp;
		int used = alphabet_decode(s + off, len - off, &cp);

		if (used < 0)
			return -1;
		off += (size_t)used;
		n++;
	}
	return n;
}

/* set_names copies n names (sorted, duplicates dropped) into m. */
static int set_names(struct model *m, const char *const *names, size_t n,
		     char *err, size_t errlen)
{
	const char **sorted = NULL;
	size_t i, bytes = 0, used = 0;
	int rc = -1;

	if (n > MODEL_MAX_NAMES) {
		snprintf(err, errlen, "more than %d training names",
			 MODEL_MAX_NAMES);
		return -1;
	}
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		goto oom;
	for (i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		int chars = utf8_chars(names[i], len);

		if (len == 0 || len > DATASET_MAX_NAME_BYTES || chars < 0 ||
		    chars > MODEL_MAX_NAME_CHARS) {
			snprintf(err, errlen, "training name %zu is invalid",
				 i);
			goto out;
		}
		m->max_length = chars > m->max_length ? chars : m->max_length;
		sorted[i] = names[i];
		bytes += len + 1;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_names);
	m->pool = malloc(bytes ? bytes : 1);
	m->name_off = malloc((n ? n : 1) * sizeof(*m->name_off));
	if (!m->pool || !m->name_off)
		goto oom;
	for (i = 0; i < n; i++) {
		size_t len = strlen(sorted[i]);

		if (m->n_names > 0 &&
		    strcmp(m->pool + m->name_off[m->n_names - 1], sorted[i]) ==
			0)
			continue;
		m->name_off[m->n_names++] = (uint32_t)used;
		memcpy(m->pool + used, sorted[i], len + 1);
		used += len + 1;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory for the training names");
out:
	free(sorted);
	return rc;
}

static void set_version(struct model *m, uint64_t sum)
{
	snprintf(m->meta.version, sizeof(m->meta.version), "%d-%08x",
		 MODEL_FORMAT_VERSION, (unsigned)(sum >> 32));
}

static int model_alloc(struct model **out, const struct gru_dims *d, char *err,
		       size_t errlen)
{
	struct model *m;

	*out = NULL;
	if (gru_dims_check(d, err, errlen) != 0)
		return -1;
	m = calloc(1, sizeof(*m));
	if (!m)
		goto oom;
	m->data = malloc(gru_param_count(d) * sizeof(float));
	m->countries = calloc(d->countries ? (size_t)d->countries : 1,
			      sizeof(*m->countries));
	if (!m->data || !m->countries) {
		model_free(m);
		goto oom;
	}
	gru_params_point(&m->params, d, m->data);
	*out = m;
	return 0;
oom:
	snprintf(err, errlen, "out of memory for the model");
	return -1;
}

static int valid_code(const char *s);

int model_build(struct model **out, const struct gru_params *params,
		const struct alphabet *alphabet,
		const struct model_country *countries, int n,
		const struct model_meta *meta, const char *const *names,
		size_t n_names, char *err, size_t errlen)
{
	const struct gru_dims *d = &params->d;
	struct model *m = NULL;
	void *buf = NULL;
	size_t len, i;
	int rc = -1, k;

	*out = NULL;
	if (model_alloc(&m, d, err, errlen) != 0)
		return -1;
	if (alphabet->size + 1 != d->vocab || n != d->countries) {
		snprintf(err, errlen,
			 "the alphabet or the countries do not match the "
			 "network's dimensions");
		goto out;
	}
	// The loader takes countries only in code order: refuse here what
	// it would refuse, so that a built model can always be read back.
	for (k = 0; k < n; k++) {
		const struct model_country *c = &countries[k];

		if (!valid_code(c->code) ||
		    (k > 0 && strcmp(countries[k - 1].code, c->code) >= 0)) {
			snprintf(err, errlen,
				 "country %d is not an upper-case code in "
				 "code order",
				 k);
			goto out;
		}
		if (!memchr(c->name, '\0', sizeof(c->name)) ||
		    utf8_chars(c->name, strlen(c->name)) < 0) {
			snprintf(err, errlen,
				 "the English name of country %s is not "
				 "valid UTF-8 without control characters",
				 c->code);
			goto out;
		}
	}
	for (i = 0; i < gru_param_count(d); i++) {
		if (!isfinite(params->data[i])) {
			snprintf(err, errlen, "parameter %zu is not finite",
				 i);
			goto out;
		}
	}
	memcpy(m->data, params->data, gru_param_count(d) * sizeof(float));
	m->alphabet = *alphabet;
	if (n > 0)
		memcpy(m->countries, countries,
		       (size_t)n * sizeof(*countries));
	m->meta = *meta;
	m->meta.format_version = MODEL_FORMAT_VERSION;
	m->meta.params = gru_param_count(d);
	if (set_names(m, names, n_names, err, errlen) != 0)
		goto out;
	if (m->max_length == 0)
		m->max_length = MODEL_MAX_NAME_CHARS;
	if (gru_init(&m->gru, &m->params) != 0) {
		snprintf(err, errlen, "out of memory for the model");
		goto out;
	}

	// The size and version are those of the file it would make.
	if (model_write(m, &buf, &len, err, errlen) != 0)
		goto out;
	m->meta.file_bytes = len;
	set_version(
	    m, dataset_fnv1a64(DATASET_FNV_SEED, buf, len - CHECKSUM_BYTES));
	rc = 0;
out:
	free(buf);
	if (rc) {
		model_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	gru_free(&m->gru);
	free(m->data);
	free(m->countries);
	free(m->pool);
	free(m->name_off);
	free(m);
}

/* ---------------------------------------------------------- reading */

struct reader {
	const unsigned char *p;
	size_t len, off;
	const char *failed; // what was being read when the bytes ran out
};

static int take(struct reader *r, size_t n, const char *what)
{
	if (r->failed)
		return -1;
	if (n > r->len - r->off) {
		r->failed = what;
		return -1;
	}
	return 0;
}

static uint64_t get_u64(struct reader *r, const char *what)
{
	uint64_t v = 0;
	int i;

	if (take(r, 8, what))
		return 0;
	for (i = 0; i < 8; i++)
		v |= (uint64_t)r->p[r->off + i] << (8 * i);
	r->off += 8;
	return v;
}

static uint32_t get_u32(struct reader *r, const char *what)
{
	uint32_t v = 0;
	int i;

	if (take(r, 4, what))
		return 0;
	for (i = 0; i < 4; i++)
		v |= (uint32_t)r->p[r->off + i] << (8 * i);
	r->off += 4;
	return v;
}

static float get_f32(struct reader *r, const char *what)
{
	uint32_t v = get_u32(r, what);
	float f;

	memcpy(&f, &v, 4);
	return f;
}

/* get_str8 reads a length byte and that many bytes into out (size
 * bytes); the string must fit with its NUL. */
static int get_str8(struct reader *r, char *out, size_t size, const char *what)
{
	size_t n;

	if (take(r, 1, what))
		return -1;
	n = r->p[r->off++];
	if (n + 1 > size || take(r, n, what))
		return -1;
	memcpy(out, r->p + r->off, n);
	out[n] = '\0';
	r->off += n;
	return 0;
}

static int valid_code(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || n > 3)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	}
	return 1;
}

/* read_names reads the training name set, checking it is sorted. */
static int read_names(struct model *m, struct reader *r, char *err,
		      size_t errlen)
{
	uint32_t n = get_u32(r, "the name count");
	size_t i, used = 0;

	if (r->failed)
		return -1;
	// Each name takes at least 2 bytes, which bounds the count.
	if (n > MODEL_MAX_NAMES || n > (r->len - r->off) / 2) {
		snprintf(err, errlen,
			 "corrupted: %u training names cannot "
			 "fit in the file",
			 (unsigned)n);
		return -1;
	}
	m->pool = malloc(r->len - r->off + 1);
	m->name_off = malloc(((size_t)n ? n : 1) * sizeof(*m->name_off));
	if (!m->pool || !m->name_off) {
		snprintf(err, errlen, "out of memory for the training names");
		return -1;
	}
	for (i = 0; i < n; i++) {
		char *s = m->pool + used;
		int chars;

		if (get_str8(r, s, DATASET_MAX_NAME_BYTES + 1, "the names"))
			break;
		chars = utf8_chars(s, strlen(s));
		if (chars < 1 || chars > MODEL_MAX_NAME_CHARS ||
		    (i > 0 && strcmp(m->pool + m->name_off[i - 1], s) >= 0)) {
			snprintf(err, errlen,
				 "corrupted: training name %zu is invalid or "
				 "out of order",
				 i);
			return -1;
		}
		m->name_off[i] = (uint32_t)used;
		used += strlen(s) + 1;
		m->n_names = i + 1;
	}
	return r->failed ? -1 : 0;
}

/* parse reads the body after the checks of magic, version, size and
 * checksum; every field is still checked, since a fuzzer may fix up the
 * checksum. */
static int parse(struct model **out, struct reader *r, char *err,
		 size_t errlen)
{
	struct gru_dims d;
	struct model *m = NULL;
	uint32_t dv[8], cps[ALPHABET_MAX];
	size_t i, np;
	int k, rc = -1, max_length;

	for (k = 0; k < 8; k++)
		dv[k] = get_u32(r, "the dimensions");
	max_length = (int)get_u32(r, "the dimensions");
	if (r->failed)
		goto short_read;
	for (k = 0; k < 8; k++) {
		if (dv[k] > 1u << 20) {
			snprintf(err, errlen,
				 "unsupported network: dimension "
				 "%d is %u",
				 k, (unsigned)dv[k]);
			goto out;
		}
	}
	d = (struct gru_dims){(int)dv[0], (int)dv[1], (int)dv[2], (int)dv[3],
			      (int)dv[4], (int)dv[5], (int)dv[6], (int)dv[7]};
	if (max_length < 1 || max_length > MODEL_MAX_NAME_CHARS) {
		snprintf(err, errlen, "corrupted: maximum name length %d",
			 max_length);
		goto out;
	}
	// The tensors alone must fit in what is left, before allocating.
	np = gru_dims_check(&d, err, errlen) == 0 ? gru_param_count(&d) : 0;
	if (np == 0)
		goto out;
	if (np > (r->len - r->off) / 4) {
		snprintf(err, errlen,
			 "truncated: the network's %zu floats do "
			 "not fit in the file",
			 np);
		goto out;
	}
	if (model_alloc(&m, &d, err, errlen) != 0)
		goto out;
	m->max_length = max_length;

	m->meta.format_version = MODEL_FORMAT_VERSION;
	m->meta.params = get_u64(r, "the metadata");
	m->meta.trained_at = (int64_t)get_u64(r, "the metadata");
	m->meta.heldout_loss = get_f32(r, "the metadata");
	m->meta.train_loss = get_f32(r, "the metadata");
	m->meta.epochs = get_u32(r, "the metadata");
	m->meta.best_epoch = get_u32(r, "the metadata");
	m->meta.train_names = get_u32(r, "the metadata");
	m->meta.heldout_names = get_u32(r, "the metadata");
	m->meta.train_seconds = get_f32(r, "the metadata");
	m->meta.seed = get_u64(r, "the metadata");
	m->meta.data_checksum = get_u64(r, "the metadata");
	if (r->failed)
		goto short_read;
	if (m->meta.params != np) {
		snprintf(err, errlen,
			 "corrupted: parameter count %llu, the "
			 "dimensions say %zu",
			 (unsigned long long)m->meta.params, np);
		goto out;
	}

	// The alphabet: strictly ascending, valid characters.
	for (k = 0; k < d.vocab - 1; k++) {
		cps[k] = get_u32(r, "the alphabet");
		if (!r->failed && k > 0 && cps[k] <= cps[k - 1]) {
			snprintf(err, errlen,
				 "corrupted: the alphabet is not sorted");
			goto out;
		}
	}
	if (r->failed)
		goto short_read;
	if (alphabet_init(&m->alphabet, cps, (size_t)d.vocab - 1, err,
			  errlen) != 0)
		goto out;

	for (k = 0; k < d.countries; k++) {
		struct model_country *c = &m->countries[k];

		if (get_str8(r, c->code, sizeof(c->code), "the countries") ||
		    get_str8(r, c->name, sizeof(c->name), "the countries"))
			goto short_read;
		c->names[0] = get_u32(r, "the countries");
		c->names[1] = get_u32(r, "the countries");
		if (!valid_code(c->code) ||
		    utf8_chars(c->name, strlen(c->name)) < 0 ||
		    (k > 0 &&
		     strcmp(m->countries[k - 1].code, c->code) >= 0)) {
			snprintf(err, errlen,
				 "corrupted: country %d is invalid or out of "
				 "order",
				 k);
			goto out;
		}
	}
	if (r->failed)
		goto short_read;

	for (i = 0; i < np; i++) {
		m->data[i] = get_f32(r, "the tensors");
		if (!isfinite(m->data[i]) && !r->failed) {
			snprintf(err, errlen,
				 "corrupted: parameter %zu is not finite", i);
			goto out;
		}
	}
	if (r->failed)
		goto short_read;
	if (read_names(m, r, err, errlen) != 0) {
		if (r->failed)
			goto short_read;
		goto out;
	}
	if (r->off != r->len) {
		snprintf(err, errlen,
			 "corrupted: %zu unexpected bytes after "
			 "the training names",
			 r->len - r->off);
		goto out;
	}
	if (gru_init(&m->gru, &m->params) != 0) {
		snprintf(err, errlen, "out of memory for the model");
		goto out;
	}
	rc = 0;
	goto out;
short_read:
	snprintf(err, errlen,
		 "truncated or corrupted: the file ends inside %s",
		 r->failed ? r->failed : "the header");
out:
	if (rc) {
		model_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

int model_load_buffer(struct model **out, const void *buf, size_t len,
		      char *err, size_t errlen)
{
	const unsigned char *p = buf;
	struct reader r = {.p = p};
	uint64_t size, sum, want;
	uint32_t version;
	int rc;

	*out = NULL;
	if (len < 8 || memcmp(p, MODEL_MAGIC, 8) != 0) {
		snprintf(err, errlen, "not a namegen model file (no %s magic)",
			 MODEL_MAGIC);
		return -1;
	}
	if (len < HEAD_BYTES + CHECKSUM_BYTES) {
		snprintf(err, errlen,
			 "truncated: %zu bytes is too short for "
			 "a model file",
			 len);
		return -1;
	}
	if (len > MODEL_FILE_MAX) {
		snprintf(err, errlen, "larger than %u bytes", MODEL_FILE_MAX);
		return -1;
	}
	r.len = len - CHECKSUM_BYTES;
	r.off = 8;
	version = get_u32(&r, "the header");
	if (version != MODEL_FORMAT_VERSION) {
		snprintf(err, errlen,
			 "model format version %u, this program reads "
			 "version %d; retrain or use a matching build",
			 (unsigned)version, MODEL_FORMAT_VERSION);
		return -1;
	}
	size = get_u64(&r, "the header");
	if (size != len) {
		snprintf(err, errlen,
			 "truncated or padded: the header says %llu bytes, "
			 "there are %zu",
			 (unsigned long long)size, len);
		return -1;
	}
	want = dataset_fnv1a64(DATASET_FNV_SEED, p, len - CHECKSUM_BYTES);
	r.off = len - CHECKSUM_BYTES;
	r.len = len;
	sum = get_u64(&r, "the checksum");
	if (sum != want) {
		snprintf(err, errlen, "corrupted: checksum mismatch");
		return -1;
	}
	r.len = len - CHECKSUM_BYTES;
	r.off = HEAD_BYTES;
	rc = parse(out, &r, err, errlen);
	if (rc == 0) {
		(*out)->meta.file_bytes = len;
		set_version(*out, want);
	}
	return rc;
}

int model_load(struct model **out, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	long len;
	int rc;

	*out = NULL;
	len = dataset_file_read(path, MODEL_FILE_MAX, &buf, err, errlen);
	if (len < 0)
		return -1;
	rc = model_load_buffer(out, buf, (size_t)len, err, errlen);
	if (rc != 0) {
		// Say which file: the sentence alone would not.
		char inner[MODEL_ERR_MAX];

		snprintf(inner, sizeof(inner), "%s", err);
		snprintf(err, errlen, "%s: %s", path, inner);
	}
	free(buf);
	return rc;
}

/* --------------------------------------------------------- accessors */

const struct gru *model_gru(const struct model *m)
{
	return &m->gru;
}

const struct gru_params *model_params(const struct model *m)
{
	return &m->params;
}

const struct gru_dims *model_dims(const struct model *m)
{
	return &m->params.d;
}

const struct alphabet *model_alphabet(const struct model *m)
{
	return &m->alphabet;
}

int model_start_token(const struct model *m)
{
	(void)m;
	return GRU_BOUNDARY;
}

int model_end_token(const struct model *m)
{
	(void)m;
	return GRU_BOUNDARY;
}

int model_max_length(const struct model *m)
{
	return m->max_length;
}

int model_country_count(const struct model *m)
{
	return m->params.d.countries;
}

const struct model_country *model_country(const struct model *m, int i)
{
	if (i < 0 || i >= m->params.d.countries)
		return NULL;
	return &m->countries[i];
}

int model_country_find(const struct model *m, const char *code)
{
	int i;

	for (i = 0; i < m->params.d.countries; i++) {
		if (strcasecmp(m->countries[i].code, code) == 0)
			return i;
	}
	return -1;
}

const struct model_meta *model_meta(const struct model *m)
{
	return &m->meta;
}

size_t model_name_count(const struct model *m)
{
	return m->n_names;
}

bool model_has_name(const struct model *m, const char *name, size_t len)
{
	size_t lo = 0, hi = m->n_names;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = m->pool + m->name_off[mid];
		size_t sl = strlen(s);
		int c = memcmp(s, name, sl < len ? sl : len);

		if (c == 0)
			c = (sl > len) - (sl < len);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}
