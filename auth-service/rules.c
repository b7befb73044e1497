/* rules.c - validation and normalisation of account fields and favorites. */
#include "auth-service/rules.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool rules_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* rules_trim finds the part of s without leading and trailing ASCII white
 * space: sets *start and returns its length. */
static size_t rules_trim(const char *s, const char **start)
{
	size_t n;

	while (rules_is_space((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && rules_is_space((unsigned char)s[n - 1]))
		n--;
	*start = s;
	return n;
}

/* rules_utf8_count counts the code points of s[0..n), or returns -1 when
 * s is not valid UTF-8 (overlong forms, surrogates and values past
 * U+10FFFF are invalid) or holds a control character. */
static long rules_utf8_count(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long count = 0;

	while (i < n) {
		uint32_t cp;
		int len, k;

		if (p[i] < 0x80) {
			if (p[i] < 0x20 || p[i] == 0x7f)
				return -1;
			i++;
			count++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
		} else {
			return -1;
		}
		if (i + (size_t)len > n)
			return -1;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp < 0xa0))
			return -1;
		i += (size_t)len;
		count++;
	}
	return count;
}

static bool rules_domain_ok(const char *d, size_t n)
{
	size_t i, label = 0;
	int dots = 0;

	if (n < 3 || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			dots++;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || (unsigned char)c >= 0x80))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return dots > 0;
}

int auth_rules_email(const char *in, char *out, char *err, size_t errlen)
{
	const char *s, *at;
	size_t n, i, local;

	n = rules_trim(in ? in : "", &s);
	if (n == 0) {
		snprintf(err, errlen, "email is required");
		return -1;
	}
	if (n > AUTH_EMAIL_MAX) {
		snprintf(err, errlen, "email is longer than %d bytes",
			 AUTH_EMAIL_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
		if (c <= ' ' || c == 0x7f || c == '"' || c == '\\' ||
		    c == '<' || c == '>' || c == ',' || c == ';') {
			snprintf(err, errlen,
				 "email holds a character not allowed there");
			return -1;
		}
	}
	out[n] = '\0';
	at = memchr(out, '@', n);
	if (!at || memchr(at + 1, '@', n - (size_t)(at - out) - 1)) {
		snprintf(err, errlen, "email must hold exactly one '@'");
		return -1;
	}
	local = (size_t)(at - out);
	if (local == 0 || local > 64) {
		snprintf(err, errlen,
			 "email must have 1 to 64 bytes before the '@'");
		return -1;
	}
	if (!rules_domain_ok(at + 1, n - local - 1)) {
		snprintf(err, errlen,
			 "email must end with a domain such as example.org");
		return -1;
	}
	if (rules_utf8_count(out, n) < 0) {
		snprintf(err, errlen, "email is not valid UTF-8");
		return -1;
	}
	return 0;
}

/* rules_text checks a trimmed UTF-8 field of 1 to max characters. */
static int rules_text(const char *in, const char *field, long max, char *out,
		      char *err, size_t errlen)
{
	const char *s;
	size_t n;
	long count;

	n = rules_trim(in ? in : "", &s);
	if (n == 0) {
		snprintf(err, errlen, "%s is required", field);
		return -1;
	}
	if (n > (size_t)max * 4) {
		snprintf(err, errlen, "%s is longer than %ld characters",
			 field, max);
		return -1;
	}
	count = rules_utf8_count(s, n);
	if (count < 0) {
		snprintf(err, errlen,
			 "%s must be UTF-8 text without control characters",
			 field);
		return -1;
	}
	if (count > max) {
		snprintf(err, errlen, "%s is longer than %ld characters",
			 field, max);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int auth_rules_username(const char *in, char *out, char *err, size_t errlen)
{
	return rules_text(in, "username", AUTH_USERNAME_MAX, out, err, errlen);
}

int auth_rules_name(const char *in, char *out, char *err, size_t errlen)
{
	return rules_text(in, "name", AUTH_NAME_MAX, out, err, errlen);
}

int auth_rules_password(const char *in, const char *field, char *err,
			size_t errlen)
{
	size_t n = in ? strlen(in) : 0;

	if (n < AUTH_PASSWORD_MIN) {
		snprintf(err, errlen, "%s must be at least %d bytes", field,
			 AUTH_PASSWORD_MIN);
		return -1;
	}
	if (n > AUTH_PASSWORD_MAX) {
		snprintf(err, errlen, "%s must be at most %d bytes", field,
			 AUTH_PASSWORD_MAX);
		return -1;
	}
	return 0;
}

int auth_rules_country(const char *in, char out[3], char *err, size_t errlen)
{
	const char *s;
	size_t n, i;

	n = rules_trim(in ? in : "", &s);
	if (n == 0) {
		out[0] = '\0';
		return 0;
	}
	if (n != 2)
		goto bad;
	for (i = 0; i < 2; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c < 'A' || c > 'Z')
			goto bad;
		out[i] = c;
	}
	out[2] = '\0';
	return 0;
bad:
	snprintf(err, errlen,
		 "country must be empty or a two-letter ISO 3166-1 code");
	return -1;
}

int auth_rules_gender(int gender, char *err, size_t errlen)
{
	if (gender < 0 || gender > 2) {
		snprintf(err, errlen,
			 "gender must be GENDER_ANY, GENDER_MALE or "
			 "GENDER_FEMALE");
		return -1;
	}
	return 0;
}
