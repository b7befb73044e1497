/* dataset.c - reading training names from a TSV or a plain list. */
#include "namegen-model/dataset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/alphabet.h"
#include "namegen-model/gru.h"

#define MAX_COLUMNS 64

/* The reader's state while it walks the buffer. */
struct reader {
	struct dataset *ds;
	const char *filename;
	size_t max_bad;
	dataset_report_fn *report;
	void *arg;
	int col_country, col_gender, col_name, columns;
};

uint64_t dataset_fnv1a64(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void bad_line(struct reader *r, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_line(struct reader *r, size_t line, const char *fmt, ...)
{
	char what[DATASET_ERR_MAX], msg[DATASET_ERR_MAX + 64];
	va_list ap;

	r->ds->bad_lines++;
	if (!r->report)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%zu: %s", r->filename, line, what);
	r->report(r->arg, msg);
}

/* split_tabs cuts line (len bytes) at tabs into at most MAX_COLUMNS
 * fields; returns the field count. */
static int split_tabs(const char *line, size_t len, const char **field,
		      size_t *flen)
{
	size_t start = 0, i;
	int n = 0;

	for (i = 0; i <= len && n < MAX_COLUMNS; i++) {
		if (i == len || line[i] == '\t') {
			field[n] = line + start;
			flen[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static int field_is(const char *f, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(f, word, len) == 0;
}

/* read_header finds the country, gender and name columns; 0 if all
 * three are there. */
static int read_header(struct reader *r, const char *line, size_t len)
{
	const char *field[MAX_COLUMNS];
	size_t flen[MAX_COLUMNS];
	int n = split_tabs(line, len, field, flen), i;

	r->col_country = r->col_gender = r->col_name = -1;
	for (i = 0; i < n; i++) {
		if (field_is(field[i], flen[i], "country"))
			r->col_country = i;
		else if (field_is(field[i], flen[i], "gender"))
			r->col_gender = i;
		else if (field_is(field[i], flen[i], "name"))
			r->col_name = i;
	}
	r->columns = n;
	return r->col_country >= 0 && r->col_gender >= 0 && r->col_name >= 0
		   ? 0
		   : -1;
}

/* check_name returns NULL when name is acceptable, else why not. */
static const char *check_name(const char *name, size_t len, char *why,
			      size_t whylen)
{
	size_t off = 0;
	int chars = 0;

	if (len == 0)
		return "empty name";
	if (name[0] == ' ' || name[len - 1] == ' ')
		return "name starts or ends with a space";
	while (off < len) {
		uint32_t cp;
		int used = alphabet_decode(name + off, len - off, &cp);

		if (used < 0) {
			snprintf(why, whylen,
				 "malformed UTF-8 or a control character at "
				 "byte %zu of the name",
				 off + 1);
			return why;
		}
		off += (size_t)used;
		chars++;
	}
	if (chars > DATASET_MAX_NAME_CHARS) {
		snprintf(why, whylen, "name longer than %d characters",
			 DATASET_MAX_NAME_CHARS);
		return why;
	}
	return NULL;
}

/* country_slot returns the code's index in order of appearance, adding it
 * when new; -1 when it is malformed, -2 when there are too many. */
static int country_slot(struct reader *r, const char *code, size_t len)
{
	struct dataset *ds = r->ds;
	size_t i;
	int c;

	if (len < 2 || len > 3)
		return -1;
	for (i = 0; i < len; i++) {
		if (code[i] < 'A' || code[i] > 'Z')
			return -1;
	}
	for (c = 0; c < ds->countries; c++) {
		if (strlen(ds->codes[c]) == len &&
		    memcmp(ds->codes[c], code, len) == 0)
			return c;
	}
	if (ds->countries == DATASET_MAX_COUNTRIES)
		return -2;
	memcpy(ds->codes[ds->countries], code, len);
	ds->codes[ds->countries][len] = '\0';
	return ds->countries++;
}

/* add_line parses one data line; problems are reported, not returned. */
static void add_line(struct reader *r, const char *line, size_t len,
		     size_t lineno, size_t *pool_used)
{
	struct dataset *ds = r->ds;
	const char *field[MAX_COLUMNS], *name = line, *why;
	size_t flen[MAX_COLUMNS], nlen = len;
	struct dataset_name *e;
	char whybuf[128];
	int country = -1, gender = -1;

	if (ds->conditioned) {
		int n = split_tabs(line, len, field, flen);

		if (n != r->columns) {
			bad_line(r, lineno, "%d columns, expected %d", n,
				 r->columns);
			return;
		}
		country = country_slot(r, field[r->col_country],
				       flen[r->col_country]);
		if (country == -1) {
			bad_line(r, lineno,
				 "country \"%.*s\" is not a code of 2 or 3 "
				 "capital letters",
				 (int)(flen[r->col_country] > 16
					   ? 16
					   : flen[r->col_country]),
				 field[r->col_country]);
			return;
		}
		if (country == -2) {
			bad_line(r, lineno, "more than %d countries",
				 DATASET_MAX_COUNTRIES);
			return;
		}
		if (field_is(field[r->col_gender], flen[r->col_gender], "F")) {
			gender = GRU_GENDER_F;
		} else if (field_is(field[r->col_gender], flen[r->col_gender],
				    "M")) {
			gender = GRU_GENDER_M;
		} else {
			bad_line(r, lineno,
				 "unknown gender \"%.*s\" (expected F or M)",
				 (int)(flen[r->col_gender] > 16
					   ? 16
					   : flen[r->col_gender]),
				 field[r->col_gender]);
			return;
		}
		name = field[r->col_name];
		nlen = flen[r->col_name];
	} else if (memchr(line, '\t', len)) {
		bad_line(r, lineno, "a tab in a plain list of names");
		return;
	}

	why = check_name(name, nlen, whybuf, sizeof(whybuf));
	if (why) {
		bad_line(r, lineno, "%s", why);
		return;
	}

	// The pool can hold every name: it is as large as the input.
	e = &ds->names[ds->count++];
	e->off = (uint32_t)*pool_used;
	e->len = (uint16_t)nlen;
	e->country = (int16_t)country;
	e->gender = (int8_t)gender;
	e->line = (uint32_t)lineno;
	memcpy(ds->pool + *pool_used, name, nlen);
	*pool_used += nlen;
	ds->pool[(*pool_used)++] = '\0';
}

static int cmp_codes(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* sort_countries orders the codes and renumbers the names' indices. */
static void sort_countries(struct dataset *ds)
{
	char old[DATASET_MAX_COUNTRIES][4];
	int16_t remap[DATASET_MAX_COUNTRIES];
	size_t i;
	int c;

	memcpy(old, ds->codes, sizeof(old));
	qsort(ds->codes, (size_t)ds->countries, sizeof(ds->codes[0]),
	      cmp_codes);
	for (c = 0; c < ds->countries; c++)
		remap[c] = (int16_t)dataset_country_index(ds, old[c]);
	for (i = 0; i < ds->count; i++) {
		if (ds->names[i].country >= 0)
			ds->names[i].country = remap[ds->names[i].country];
	}
}

int dataset_parse(struct dataset *ds, const char *buf, size_t len,
		  const char *filename, enum dataset_format format,
		  size_t max_bad, dataset_report_fn *report, void *arg,
		  char *err, size_t errlen)
{
	struct reader r = {.ds = ds,
			   .filename = filename,
			   .max_bad = max_bad,
			   .report = report,
			   .arg = arg};
	size_t off = 0, lines = 1, pool_used = 0, i;
	int rc = -1, first = 1;

	memset(ds, 0, sizeof(*ds));
	if (len > DATASET_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %u bytes", filename,
			 DATASET_MAX_BYTES);
		goto out;
	}
	ds->checksum = dataset_fnv1a64(DATASET_FNV_SEED, buf, len);

	// At most one name per line, and the names fit in len bytes + NULs.
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ds->names = calloc(lines, sizeof(*ds->names));
	ds->pool = malloc(len + lines + 1);
	if (!ds->names || !ds->pool) {
		snprintf(err, errlen, "%s: out of memory", filename);
		goto out;
	}

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	while (off < len) {
		const char *line = buf + off, *nl;
		size_t ll, lineno = ++ds->lines;

		nl = memchr(line, '\n', len - off);
		ll = nl ? (size_t)(nl - line) : len - off;
		off += ll + (nl ? 1 : 0);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll > DATASET_MAX_LINE) {
			bad_line(&r, lineno, "line longer than %d bytes",
				 DATASET_MAX_LINE);
			goto check_bad;
		}

		// The first line decides the format.
		if (first) {
			first = 0;
			if (format != DATASET_PLAIN &&
			    read_header(&r, line, ll) == 0) {
				ds->conditioned = 1;
				continue;
			}
			if (format == DATASET_TSV) {
				snprintf(err, errlen,
					 "%s:1: the header must name the "
					 "columns country, gender and name",
					 filename);
				goto out;
			}
		}
		if (ll == 0)
			continue;
		add_line(&r, line, ll, lineno, &pool_used);
	check_bad:
		if (ds->bad_lines > max_bad) {
			snprintf(err, errlen,
				 "%s: more than %zu bad lines (the last at "
				 "line %zu)",
				 filename, max_bad, lineno);
			goto out;
		}
	}
	if (ds->count == 0) {
		snprintf(err, errlen, "%s: no usable names", filename);
		goto out;
	}
	sort_countries(ds);
	rc = 0;
out:
	if (rc)
		dataset_free(ds);
	return rc;
}

long dataset_file_read(const char *path, size_t max, char **out, char *err,
		       size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	long size = -1, rc = -1;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: cannot tell its size", path);
		goto out;
	}
	if ((size_t)size > max) {
		snprintf(err, errlen,
			 "%s: %ld bytes, more than the %zu allowed", path,
			 size, max);
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	buf[size] = '\0';
	*out = buf;
	buf = NULL;
	rc = size;
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

int dataset_load(struct dataset *ds, const char *path,
		 enum dataset_format format, size_t max_bad,
		 dataset_report_fn *report, void *arg, char *err,
		 size_t errlen)
{
	char *buf = NULL;
	long len;
	int rc;

	memset(ds, 0, sizeof(*ds));
	len = dataset_file_read(path, DATASET_MAX_BYTES, &buf, err, errlen);
	if (len < 0)
		return -1;
	rc = dataset_parse(ds, buf, (size_t)len, path, format, max_bad, report,
			   arg, err, errlen);
	free(buf);
	return rc;
}

const char *dataset_name_str(const struct dataset *ds, size_t i)
{
	return ds->pool + ds->names[i].off;
}

int dataset_country_index(const struct dataset *ds, const char *code)
{
	int c;

	for (c = 0; c < ds->countries; c++) {
		if (strcmp(ds->codes[c], code) == 0)
			return c;
	}
	return -1;
}

void dataset_free(struct dataset *ds)
{
	free(ds->names);
	free(ds->pool);
	memset(ds, 0, sizeof(*ds));
}
