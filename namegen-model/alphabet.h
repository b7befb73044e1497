/* alphabet.h - the characters a model knows, and UTF-8 <-> token ids.
 *
 * An alphabet is a sorted set of Unicode code points taken from the
 * training data. Token 0 is the boundary token (GRU_BOUNDARY: start and
 * end of a name); the character with rank i (0-based, by code point) is
 * token i + 1. Only well-formed UTF-8 is accepted: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no control characters. */
#ifndef NAMEGEN_MODEL_ALPHABET_H
#define NAMEGEN_MODEL_ALPHABET_H

#include <stddef.h>
#include <stdint.h>

#define ALPHABET_MAX 1024 /* characters, not counting the boundary */

struct alphabet {
	int size;		    /* characters; tokens are 0..size */
	uint32_t cp[ALPHABET_MAX];  /* code points, ascending */
	char utf8[ALPHABET_MAX][5]; /* each one NUL-terminated */
};

/* alphabet_decode reads one character from s (len bytes available) into
 * *cp. Returns the bytes it used (1-4), or -1 for malformed UTF-8 or a
 * control character (< U+0020, U+007F..U+009F). */
int alphabet_decode(const char *s, size_t len, uint32_t *cp);

/* alphabet_encode_cp writes cp as UTF-8 into out (at least 5 bytes, NUL
 * terminated) and returns the byte count, or -1 if cp is not a valid
 * scalar value. */
int alphabet_encode_cp(uint32_t cp, char *out);

/* alphabet_init sets a to the n code points of cps (any order, duplicates
 * allowed). Returns 0, or -1 with a sentence in err when there are more
 * than ALPHABET_MAX distinct ones or one is not a valid character. */
int alphabet_init(struct alphabet *a, const uint32_t *cps, size_t n, char *err,
		  size_t errlen);

/* alphabet_token returns the token of cp, or -1 when a lacks it. */
int alphabet_token(const struct alphabet *a, uint32_t cp);

/* alphabet_encode turns the UTF-8 string s (len bytes) into at most max
 * tokens. Returns the token count, or -1 with a sentence in err (which
 * names the byte offset and the character) when s is malformed, holds a
 * character the alphabet lacks, or is longer than max characters. */
int alphabet_encode(const struct alphabet *a, const char *s, size_t len,
		    int *tokens, int max, char *err, size_t errlen);

/* alphabet_utf8 returns token tok's character as a NUL-terminated UTF-8
 * string (owned by a), "" for the boundary token or an unknown id. */
const char *alphabet_utf8(const struct alphabet *a, int tok);

/* alphabet_decode_tokens writes the UTF-8 of tokens[0..n) into out (size
 * bytes, NUL-terminated). Returns the byte length, or -1 if it does not
 * fit or a token is out of range. */
int alphabet_decode_tokens(const struct alphabet *a, const int *tokens, int n,
			   char *out, size_t size);

#endif /* NAMEGEN_MODEL_ALPHABET_H */
