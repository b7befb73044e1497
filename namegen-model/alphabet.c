/* alphabet.c - the characters a model knows, and UTF-8 <-> token ids. */
#include "namegen-model/alphabet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

int alphabet_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c, min;
	int n, i;

	if (len == 0)
		return -1;
	c = u[0];
	if (c < 0x80) {
		n = 1;
		min = 0;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	if ((size_t)n > len)
		return -1;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (u[i] & 0x3f);
	}
	// Overlong forms, surrogates and values past Unicode are malformed.
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	if (is_control(c))
		return -1;
	*cp = c;
	return n;
}

int alphabet_encode_cp(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;
	int n;

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (unsigned char)(0xf0 | (cp >> 18));
		o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	out[n] = '\0';
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int alphabet_init(struct alphabet *a, const uint32_t *cps, size_t n, char *err,
		  size_t errlen)
{
	uint32_t *sorted = NULL;
	size_t i;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted) {
		snprintf(err, errlen, "out of memory building the alphabet");
		goto out;
	}
	memcpy(sorted, cps, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u32);

	// Keep each distinct valid character once, in code point order.
	for (i = 0; i < n; i++) {
		if (i > 0 && sorted[i] == sorted[i - 1])
			continue;
		if (is_control(sorted[i]) ||
		    alphabet_encode_cp(sorted[i], a->utf8[0]) < 0) {
			snprintf(err, errlen,
				 "U+%04X is not a character a name may hold",
				 (unsigned)sorted[i]);
			goto out;
		}
		if (a->size == ALPHABET_MAX) {
			snprintf(err, errlen,
				 "more than %d distinct characters",
				 ALPHABET_MAX);
			goto out;
		}
		a->cp[a->size++] = sorted[i];
	}
	for (i = 0; i < (size_t)a->size; i++)
		(void)alphabet_encode_cp(a->cp[i], a->utf8[i]);
	rc = 0;
out:
	if (rc)
		memset(a, 0, sizeof(*a));
	free(sorted);
	return rc;
}

int alphabet_token(const struct alphabet *a, uint32_t cp)
{
	int lo = 0, hi = a->size - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (a->cp[mid] == cp)
			return mid + 1;
		if (a->cp[mid] < cp)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int alphabet_encode(const struct alphabet *a, const char *s, size_t len,
		    int *tokens, int max, char *err, size_t errlen)
{
	size_t off = 0;
	int count = 0;

	while (off < len) {
		uint32_t cp;
		int used = alphabet_decode(s + off, len - off, &cp);
		int tok;

		if (used < 0) {
			snprintf(err, errlen,
				 "malformed UTF-8 or a control character at "
				 "byte %zu",
				 off);
			return -1;
		}
		tok = alphabet_token(a, cp);
		if (tok < 0) {
			char c[5];

			(void)alphabet_encode_cp(cp, c);
			snprintf(
			    err, errlen,
			    "the character \"%s\" (U+%04X) at byte %zu is "
			    "not in the model's alphabet",
			    c, (unsigned)cp, off);
			return -1;
		}
		if (count == max) {
			snprintf(err, errlen, "longer than %d characters",
				 max);
			return -1;
		}
		tokens[count++] = tok;
		off += (size_t)used;
	}
	return count;
}

const char *alphabet_utf8(const struct alphabet *a, int tok)
{
	if (tok < 1 || tok > a->size)
		return "";
	return a->utf8[tok - 1];
}

int alphabet_decode_tokens(const struct alphabet *a, const int *tokens, int n,
			   char *out, size_t size)
{
	size_t used = 0;
	int i;

	if (size == 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *c;
		size_t cl;

		if (tokens[i] < 1 || tokens[i] > a->size)
			return -1;
		c = a->utf8[tokens[i] - 1];
		cl = strlen(c);
		if (used + cl + 1 > size)
			return -1;
		memcpy(out + used, c, cl);
		used += cl;
	}
	out[used] = '\0';
	return (int)used;
}
