/* rules.h - what a valid account field or favorite looks like.
 *
 * Each check takes what a caller sent, writes the normalised form into
 * the caller's buffer and returns 0, or returns -1 with a sentence in err
 * that names the field and what is wrong with it (never its value, which
 * may be a password). No I/O, no allocation. */
#ifndef AUTH_RULES_H
#define AUTH_RULES_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_EMAIL_MAX	  254  /* bytes, after trimming */
#define AUTH_USERNAME_MAX 64   /* characters (code points) */
#define AUTH_PASSWORD_MIN 8    /* bytes */
#define AUTH_PASSWORD_MAX 1024 /* bytes */
#define AUTH_NAME_MAX	  64   /* characters of a favorite name */
#define AUTH_ERR_MAX	  128

/* Buffers large enough for any accepted value plus its NUL. */
#define AUTH_EMAIL_BUF	  (AUTH_EMAIL_MAX + 1)
#define AUTH_USERNAME_BUF (AUTH_USERNAME_MAX * 4 + 1)
#define AUTH_NAME_BUF	  (AUTH_NAME_MAX * 4 + 1)

/* A user as the service hands it out (never with the password hash). */
struct auth_user {
	int64_t id;
	int64_t created_ms;
	char username[AUTH_USERNAME_BUF];
	char email[AUTH_EMAIL_BUF];
};

/* auth_rules_email trims ASCII white space, lower-cases ASCII letters and
 * checks a plausible shape: one '@', a local part of 1 to 64 printable
 * bytes, a domain of dot-separated labels of letters, digits and '-' with
 * at least one dot. out must hold AUTH_EMAIL_BUF bytes. */
int auth_rules_email(const char *in, char *out, char *err, size_t errlen);

/* auth_rules_username trims white space and accepts 1 to 64 characters of
 * valid UTF-8 without control characters. out: AUTH_USERNAME_BUF bytes. */
int auth_rules_username(const char *in, char *out, char *err, size_t errlen);

/* auth_rules_password accepts 8 to 1024 bytes, kept as given. field names
 * the request field in the error ("password", "new_password"). */
int auth_rules_password(const char *in, const char *field, char *err,
			size_t errlen);

/* auth_rules_name trims white space and accepts 1 to 64 characters of
 * valid UTF-8 without control characters (a favorite's name). out:
 * AUTH_NAME_BUF bytes. */
int auth_rules_name(const char *in, char *out, char *err, size_t errlen);

/* auth_rules_country accepts "" or two ASCII letters, upper-cased into
 * out (3 bytes). */
int auth_rules_country(const char *in, char out[3], char *err, size_t errlen);

/* auth_rules_gender accepts 0 (any), 1 (male) and 2 (female). */
int auth_rules_gender(int gender, char *err, size_t errlen);

#endif /* AUTH_RULES_H */
