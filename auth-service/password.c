/* password.c - Argon2id hashing, verification and upgrades. */
#include "auth-service/password.h"

#include <stdio.h>
#include <string.h>

int auth_pw_init(struct auth_pw *pw, unsigned long long opslimit,
		 size_t memlimit, char *err, size_t errlen)
{
	unsigned char secret[32];
	char random_pw[2 * sizeof(secret) + 1];

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not start");
		return -1;
	}
	if (opslimit < crypto_pwhash_OPSLIMIT_MIN ||
	    opslimit > crypto_pwhash_OPSLIMIT_MAX) {
		snprintf(err, errlen, "password opslimit %llu out of range",
			 opslimit);
		return -1;
	}
	if (memlimit < crypto_pwhash_MEMLIMIT_MIN ||
	    memlimit > crypto_pwhash_MEMLIMIT_MAX) {
		snprintf(err, errlen, "password memlimit %zu out of range",
			 memlimit);
		return -1;
	}
	pw->opslimit = opslimit;
	pw->memlimit = memlimit;

	/* The dummy is a real hash of a password nobody knows. */
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(random_pw, sizeof(random_pw), secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	if (auth_pw_hash(pw, random_pw, pw->dummy) != 0) {
		snprintf(err, errlen,
			 "could not hash with memlimit %zu bytes (out of "
			 "memory)",
			 memlimit);
		return -1;
	}
	sodium_memzero(random_pw, sizeof(random_pw));
	return 0;
}

int auth_pw_hash(const struct auth_pw *pw, const char *password,
		 char out[AUTH_PW_HASH_BUF])
{
	return crypto_pwhash_str(out, password, strlen(password), pw->opslimit,
				 pw->memlimit) == 0
		   ? 0
		   : -1;
}

bool auth_pw_verify(const struct auth_pw *pw, const char *hash,
		    const char *password)
{
	size_t n = strlen(password);

	if (!hash || !memchr(hash, '\0', AUTH_PW_HASH_BUF) ||
	    strncmp(hash, crypto_pwhash_STRPREFIX,
		    strlen(crypto_pwhash_STRPREFIX)) != 0) {
		/* Same work as a real check, and never a match. */
		volatile int sink =
		    crypto_pwhash_str_verify(pw->dummy, password, n);

		(void)sink;
		return false;
	}
	return crypto_pwhash_str_verify(hash, password, n) == 0;
}

bool auth_pw_needs_rehash(const struct auth_pw *pw, const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, pw->opslimit,
					      pw->memlimit) != 0;
}
