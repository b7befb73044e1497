/* fuzz_auth_request.c - libFuzzer target: the auth-service's request
 * decoding and validation.
 *
 * The first input byte picks an AuthService method (through the service
 * descriptor, as rpc_server dispatches); the rest is the call's body,
 * unpacked with the method's request type and checked with the rules
 * the handler applies before it touches PostgreSQL or Redis (rules.h,
 * auth_fav_cursor_ok). What the rules accept must be within the sizes
 * the database code relies on. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth-service/favorites.h"
#include "auth-service/rules.h"
#include "namegen.pb-c.h"

/* far_done aborts when a refusal gives no reason or an accepted value
 * overflows its buffer. */
static void far_done(int rc, const char *err, const char *out, size_t buf)
{
	if (rc != 0 && rc != -1)
		abort();
	if (rc != 0 && err[0] == '\0')
		abort();
	if (rc == 0 && out && (strlen(out) >= buf || (buf > 3 && !*out)))
		abort();
}

static void far_email(const char *in)
{
	char out[AUTH_EMAIL_BUF], err[AUTH_ERR_MAX] = "";
	int rc = auth_rules_email(in ? in : "", out, err, sizeof(err));
	size_t i;

	far_done(rc, err, rc == 0 ? out : NULL, sizeof(out));
	if (rc != 0)
		return;
	// Normalised: no upper-case ASCII, no white space, one '@'.
	for (i = 0; out[i]; i++)
		if ((out[i] >= 'A' && out[i] <= 'Z') || out[i] == ' ')
			abort();
	if (!strchr(out, '@') || strchr(out, '@') != strrchr(out, '@'))
		abort();
}

static void far_username(const char *in)
{
	char out[AUTH_USERNAME_BUF], err[AUTH_ERR_MAX] = "";
	int rc = auth_rules_username(in ? in : "", out, err, sizeof(err));

	far_done(rc, err, rc == 0 ? out : NULL, sizeof(out));
}

static void far_password(const char *in, const char *field)
{
	char err[AUTH_ERR_MAX] = "";
	int rc = auth_rules_password(in ? in : "", field, err, sizeof(err));
	size_t n = strlen(in ? in : "");

	far_done(rc, err, NULL, 0);
	if (rc == 0 && (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX))
		abort();
	// The error names the field it was given.
	if (rc != 0 && !strstr(err, field))
		abort();
}

static void far_favorite(const char *name, const char *country, int gender)
{
	char out[AUTH_NAME_BUF], c[3], err[AUTH_ERR_MAX] = "";
	int rc;

	rc = auth_rules_name(name ? name : "", out, err, sizeof(err));
	far_done(rc, err, rc == 0 ? out : NULL, sizeof(out));
	err[0] = '\0';
	rc = auth_rules_country(country ? country : "", c, err, sizeof(err));
	far_done(rc, err, NULL, 0);
	if (rc == 0 && strlen(c) != 0 && strlen(c) != 2)
		abort();
	err[0] = '\0';
	rc = auth_rules_gender(gender, err, sizeof(err));
	far_done(rc, err, NULL, 0);
	if (rc == 0 && (gender < 0 || gender > 2))
		abort();
}

static void far_dispatch(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (d == &namegen__v1__register_request__descriptor) {
		const Namegen__V1__RegisterRequest *r = (const void *)m;

		far_username(r->username);
		far_email(r->email);
		far_password(r->password, "password");
	} else if (d == &namegen__v1__login_request__descriptor) {
		const Namegen__V1__LoginRequest *r = (const void *)m;

		far_email(r->email);
		far_password(r->password, "password");
	} else if (d == &namegen__v1__change_password_request__descriptor) {
		const Namegen__V1__ChangePasswordRequest *r = (const void *)m;

		far_password(r->old_password, "old_password");
		far_password(r->new_password, "new_password");
	} else if (d == &namegen__v1__delete_account_request__descriptor) {
		const Namegen__V1__DeleteAccountRequest *r = (const void *)m;

		far_password(r->password, "password");
	} else if (d == &namegen__v1__add_favorite_request__descriptor) {
		const Namegen__V1__AddFavoriteRequest *r = (const void *)m;

		far_favorite(r->name, r->country, (int)r->gender);
	} else if (d == &namegen__v1__remove_favorite_request__descriptor) {
		const Namegen__V1__RemoveFavoriteRequest *r = (const void *)m;

		far_favorite(r->name, r->country, (int)r->gender);
	} else if (d == &namegen__v1__list_favorites_request__descriptor) {
		const Namegen__V1__ListFavoritesRequest *r = (const void *)m;

		(void)auth_fav_cursor_ok(r->cursor ? r->cursor : "");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCServiceDescriptor *sd =
	    &namegen__v1__auth_service__descriptor;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *req;

	if (size < 1)
		return 0;
	md = &sd->methods[data[0] % sd->n_methods];
	req = protobuf_c_message_unpack(md->input, NULL, size - 1, data + 1);
	if (!req)
		return 0;
	far_dispatch(req);
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}
