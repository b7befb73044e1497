/* password.h - Argon2id password hashes (libsodium crypto_pwhash_str).
 *
 * The limits are configurable (PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT_KIB);
 * a hash made under lower limits is reported as needing a rehash, so a
 * login upgrades it. A dummy hash made at start under the same limits lets
 * a login for an unknown email cost what a real one costs. */
#ifndef AUTH_PASSWORD_H
#define AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#define AUTH_PW_HASH_BUF crypto_pwhash_STRBYTES

/* OWASP's floor for Argon2id: 19 MiB of memory, 2 iterations. */
#define AUTH_PW_OPSLIMIT_DEFAULT 2ULL
#define AUTH_PW_MEMLIMIT_DEFAULT (19u * 1024u * 1024u)

struct auth_pw {
	unsigned long long opslimit;
	size_t memlimit;	      /* bytes */
	char dummy[AUTH_PW_HASH_BUF]; /* hash of a random password */
};

/* auth_pw_init checks the limits against libsodium's range and makes the
 * dummy hash. Returns 0, or -1 with a sentence in err. */
int auth_pw_init(struct auth_pw *pw, unsigned long long opslimit,
		 size_t memlimit, char *err, size_t errlen);

/* auth_pw_hash writes the Argon2id string of password into out. Returns 0,
 * or -1 when libsodium could not allocate the memory it needs. */
int auth_pw_hash(const struct auth_pw *pw, const char *password,
		 char out[AUTH_PW_HASH_BUF]);

/* auth_pw_verify returns true when password matches hash. A NULL or
 * malformed hash is checked against the dummy hash, so a missing user
 * costs the same time, and is never a match. */
bool auth_pw_verify(const struct auth_pw *pw, const char *hash,
		    const char *password);

/* auth_pw_needs_rehash tells whether hash was made with other limits. */
bool auth_pw_needs_rehash(const struct auth_pw *pw, const char *hash);

#endif /* AUTH_PASSWORD_H */
