/* fuzz_seeds.c - write the seed corpora of the fuzz targets.
 *
 *     fuzz_seeds DIR     writes DIR/<target>/<seed> for every target
 *
 * The committed corpora under tests/fuzz/corpus/ start from these
 * (`make fuzz-seeds` rewrites them); libFuzzer grows its own copy from
 * there. Each seed is a well-formed input of its target, or a typical
 * bad one, so fuzzing starts from the interesting shapes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/rpc.h"
#include "common/rpc_envelope.h"
#include "namegen-model/model_file.h"
#include "namegen.pb-c.h"
#include "tests/fuzz/fuzz_tiny.h"

#define SEED_PATH_MAX 4096

static const char *seed_root;
static int seed_failed;

/* seed_write writes len bytes as root/target/name. */
static void seed_write(const char *target, const char *name, const void *data,
		       size_t len)
{
	char path[SEED_PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", seed_root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		seed_failed = 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", seed_root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		seed_failed = 1;
	}
}

/* seed_text writes a selector byte and a string. */
static void seed_text(const char *target, const char *name, int sel,
		      const char *text)
{
	size_t n = strlen(text);
	char *buf = malloc(n + 1);

	if (!buf)
		abort();
	buf[0] = (char)sel;
	memcpy(buf + 1, text, n);
	seed_write(target, name, buf, n + 1);
	free(buf);
}

/* seed_msg writes a selector byte and a packed message. */
static void seed_msg(const char *target, const char *name, int sel,
		     const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n + 1);

	if (!buf)
		abort();
	buf[0] = (uint8_t)sel;
	protobuf_c_message_pack(m, buf + 1);
	seed_write(target, name, buf, n + 1);
	free(buf);
}

/* seed_method returns the index of method name in sd. */
static int seed_method(const ProtobufCServiceDescriptor *sd, const char *name)
{
	unsigned i;

	for (i = 0; i < sd->n_methods; i++)
		if (strcmp(sd->methods[i].name, name) == 0)
			return (int)i;
	abort();
}

/* ------------------------------------------------------------ envelope */

static void seed_envelope(void)
{
	/* Not fuzz_envelope's key: a message sealed by a process with
	 * another RPC_SECRET, which the target must refuse. */
	static const uint8_t key[RPC_KEY_BYTES] = {
	    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	};
	Namegen__V1__Call call = NAMEGEN__V1__CALL__INIT;
	Namegen__V1__Result res = NAMEGEN__V1__RESULT__INIT;
	Namegen__V1__MetadataEntry me = NAMEGEN__V1__METADATA_ENTRY__INIT;
	Namegen__V1__MetadataEntry *mep = &me;
	Namegen__V1__ScoreRequest sr = NAMEGEN__V1__SCORE_REQUEST__INIT;
	uint8_t body[64];
	size_t n;
	nng_msg *msg;
	uint8_t *buf;

	sr.name = "Marco";
	n = namegen__v1__score_request__pack(&sr, body);
	call.method = "ModelService/Score";
	call.client_id = 0x1122334455667788ull;
	call.call_id = 42;
	call.deadline_ms = 1900000000000;
	me.key = RPC_META_SESSION;
	me.value = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
	call.n_metadata = 1;
	call.metadata = &mep;
	call.body.data = body;
	call.body.len = n;

	// The payload forms (step 2 of the target seals them rightly).
	n = protobuf_c_message_get_packed_size(&call.base);
	buf = malloc(n);
	if (!buf)
		abort();
	protobuf_c_message_pack(&call.base, buf);
	seed_write("envelope", "call-score", buf, n);
	free(buf);
	res.client_id = 1;
	res.call_id = 42;
	res.status = NAMEGEN__V1__STATUS__STATUS_INVALID_ARGUMENT;
	res.message = "name: must not be empty";
	n = protobuf_c_message_get_packed_size(&res.base);
	buf = malloc(n);
	if (!buf)
		abort();
	protobuf_c_message_pack(&res.base, buf);
	seed_write("envelope", "result-error", buf, n);
	free(buf);

	// The wire forms, with and without a MAC.
	if (rpc_seal(key, &call.base, &msg) != 0)
		abort();
	seed_write("envelope", "sealed-call", nng_msg_body(msg),
		   nng_msg_len(msg));
	nng_msg_free(msg);
	if (rpc_seal(NULL, &res.base, &msg) != 0)
		abort();
	seed_write("envelope", "sealed-result-nomac", nng_msg_body(msg),
		   nng_msg_len(msg));
	nng_msg_free(msg);
	call.method = "AuthService/Nope";
	if (rpc_seal(NULL, &call.base, &msg) != 0)
		abort();
	seed_write("envelope", "sealed-call-unknown-method", nng_msg_body(msg),
		   nng_msg_len(msg));
	nng_msg_free(msg);
	seed_write("envelope", "empty", "", 0);

	// A bundle of two sealed calls, one with a MAC and one without.
	{
		struct rpc_part parts[2];
		nng_msg *two[2], *b;

		call.method = "AuthService/WhoAmI";
		if (rpc_seal(key, &call.base, &two[0]) != 0 ||
		    rpc_seal(NULL, &call.base, &two[1]) != 0)
			abort();
		parts[0].data = nng_msg_body(two[0]);
		parts[0].len = nng_msg_len(two[0]);
		parts[1].data = nng_msg_body(two[1]);
		parts[1].len = nng_msg_len(two[1]);
		if (rpc_bundle(parts, 2, &b) != 0)
			abort();
		seed_write("envelope", "bundle-of-two", nng_msg_body(b),
			   nng_msg_len(b));
		nng_msg_free(b);
		nng_msg_free(two[0]);
		nng_msg_free(two[1]);
	}
}

/* -------------------------------------------------------- gateway map */

/* Selectors of fuzz_gateway_map.c (enum gmf_case). */
enum {
	S_GENERATE,
	S_SCORE,
	S_REGISTER,
	S_LOGIN,
	S_PASSWORD,
	S_DELETE,
	S_FAVORITE,
	S_LIST,
	S_LEGACY_NAME,
	S_LEGACY_LIKE,
	S_LEGACY_REGISTER,
	S_LEGACY_LOGIN,
	S_R_GENERATE,
	S_R_SCORE,
	S_R_META,
	S_R_LOGIN,
	S_R_WHOAMI,
	S_R_FAVORITE,
	S_R_LIST,
	S_R_LEGACY,
	S_COOKIE,
	S_CORS
};

static void seed_gateway(void)
{
	static const struct {
		const char *name;
		int sel;
		const char *text;
	} t[] = {
	    {"generate", S_GENERATE,
	     "{\"countries\":[\"IT\",{\"code\":\"se\",\"weight\":0.5}],"
	     "\"gender\":\"female\",\"prefix\":\"Ma\",\"min_length\":3,"
	     "\"max_length\":12,\"count\":5,\"temperature\":0.8,"
	     "\"top_k\":10,\"unique\":true,\"novel\":false,\"seed\":7}"},
	    {"generate-bad-type", S_GENERATE, "{\"count\":\"5\"}"},
	    {"generate-unknown", S_GENERATE, "{\"counts\":5}"},
	    {"generate-dup-key", S_GENERATE, "{\"count\":1,\"count\":2}"},
	    {"generate-deep", S_GENERATE,
	     "{\"countries\":[[[[[[[[[[[[[[[[[[[[\"IT\"]]]]]]]]]]]]]]]]]]]}"},
	    {"generate-empty", S_GENERATE, ""},
	    {"score", S_SCORE, "{\"name\":\"Ren\xc3\xa9\"}"},
	    {"score-bad-utf8", S_SCORE, "{\"name\":\"Ren\xc3\"}"},
	    {"score-nul", S_SCORE, "{\"name\":\"a\\u0000b\"}"},
	    {"register", S_REGISTER,
	     "{\"username\":\"ann\",\"email\":\"Ann@Example.com\","
	     "\"password\":\"correct horse\"}"},
	    {"register-sql", S_REGISTER,
	     "{\"username\":\"x'); DROP TABLE users;--\","
	     "\"email\":\"a@b.co\",\"password\":\"$(rm -rf /)\"}"},
	    {"login", S_LOGIN,
	     "{\"email\":\"ann@example.com\",\"password\":\"secret12\"}"},
	    {"password", S_PASSWORD,
	     "{\"old_password\":\"secret12\","
	     "\"new_password\":\"secret34\"}"},
	    {"delete", S_DELETE, "{\"password\":\"secret12\"}"},
	    {"favorite", S_FAVORITE,
	     "{\"name\":\"Mar\\u00eda\",\"country\":\"es\","
	     "\"gender\":\"female\"}"},
	    {"list-bad", S_LIST, "-1"},
	    {"legacy-name", S_LEGACY_NAME,
	     "{\"countries\":[\"DE\"],\"gender\":\"M\",\"amount\":3,"
	     "\"extra\":1}"},
	    {"legacy-like", S_LEGACY_LIKE,
	     "{\"name\":\"Lars\",\"countrycode\":\"SE\",\"gender\":\"M\","
	     "\"like\":true}"},
	    {"legacy-register", S_LEGACY_REGISTER,
	     "{\"username\":\"bo\",\"email\":\"bo@x.org\","
	     "\"password\":\"12345678\"}"},
	    {"legacy-login", S_LEGACY_LOGIN,
	     "{\"email\":\"bo@x.org\",\"password\":\"12345678\"}"},
	    {"cookie", S_COOKIE,
	     "theme=dark; session=abcDEF123_-xyz; other=1"},
	    {"bearer", S_COOKIE, "Bearer abcDEF123_-xyz"},
	    {"cors", S_CORS,
	     "https://a.example,http://127.0.0.1:8080,https://b.example:8443"},
	    {"cors-bad", S_CORS, "https://a.example/path,javascript:x"},
	};
	Namegen__V1__GenerateReply gr = NAMEGEN__V1__GENERATE_REPLY__INIT;
	Namegen__V1__GeneratedName gn = NAMEGEN__V1__GENERATED_NAME__INIT;
	Namegen__V1__GeneratedName *gnp = &gn;
	Namegen__V1__ListFavoritesReply lr =
	    NAMEGEN__V1__LIST_FAVORITES_REPLY__INIT;
	Namegen__V1__Favorite fav = NAMEGEN__V1__FAVORITE__INIT;
	Namegen__V1__Favorite *favp = &fav;
	Namegen__V1__LoginReply lg = NAMEGEN__V1__LOGIN_REPLY__INIT;
	Namegen__V1__User u = NAMEGEN__V1__USER__INIT;
	Namegen__V1__MetaReply mr = NAMEGEN__V1__META_REPLY__INIT;
	Namegen__V1__CountryInfo ci = NAMEGEN__V1__COUNTRY_INFO__INIT;
	Namegen__V1__CountryInfo *cip = &ci;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		seed_text("gateway_map", t[i].name, t[i].sel, t[i].text);
	{
		static const char list[] = "\x07"
					   "20\0abc123";

		seed_write("gateway_map", "list", list, sizeof(list) - 1);
	}

	gn.name = "Giulia";
	gn.log_prob = -7.5f;
	gr.n_names = 1;
	gr.names = &gnp;
	seed_msg("gateway_map", "reply-generate", S_R_GENERATE, &gr.base);
	fav.name_id = 3;
	fav.name = "Jean-Luc";
	fav.country = "FR";
	fav.gender = NAMEGEN__V1__GENDER__GENDER_MALE;
	fav.created_at_ms = 1700000000000;
	lr.n_favorites = 1;
	lr.favorites = &favp;
	lr.next_cursor = "c1";
	seed_msg("gateway_map", "reply-list", S_R_LIST, &lr.base);
	seed_msg("gateway_map", "reply-favorite", S_R_FAVORITE, &fav.base);
	u.id = 1;
	u.username = "ann";
	u.email = "ann@example.com";
	lg.user = &u;
	lg.token = "tok";
	lg.expires_in_s = 3600;
	seed_msg("gateway_map", "reply-login", S_R_LOGIN, &lg.base);
	ci.code = "IT";
	ci.name = "Italy";
	ci.training_names = 300;
	mr.n_countries = 1;
	mr.countries = &cip;
	mr.alphabet = "abc";
	mr.max_length = 20;
	seed_msg("gateway_map", "reply-meta", S_R_META, &mr.base);
	seed_msg("gateway_map", "reply-legacy-meta", S_R_LEGACY, &mr.base);
}

/* ------------------------------------------------------ model request */

static void seed_model_request(void)
{
	const ProtobufCServiceDescriptor *sd =
	    &namegen__v1__model_service__descriptor;
	Namegen__V1__GenerateRequest g = NAMEGEN__V1__GENERATE_REQUEST__INIT;
	Namegen__V1__CountryWeight cw[2] = {
	    NAMEGEN__V1__COUNTRY_WEIGHT__INIT,
	    NAMEGEN__V1__COUNTRY_WEIGHT__INIT,
	};
	Namegen__V1__CountryWeight *cwp[2] = {&cw[0], &cw[1]};
	Namegen__V1__ScoreRequest s = NAMEGEN__V1__SCORE_REQUEST__INIT;
	Namegen__V1__MetaRequest m = NAMEGEN__V1__META_REQUEST__INIT;
	int gen = seed_method(sd, "Generate"), sc = seed_method(sd, "Score");

	cw[0].code = "IT";
	cw[1].code = "se";
	cw[1].weight = 0.25f;
	g.n_countries = 2;
	g.countries = cwp;
	g.gender = NAMEGEN__V1__GENDER__GENDER_FEMALE;
	g.prefix = "Ma";
	g.min_length = 3;
	g.max_length = 12;
	g.count = 5;
	g.temperature = 0.8f;
	g.top_k = 10;
	g.has_seed = 1;
	g.seed = 7;
	seed_msg("model_request", "generate", gen, &g.base);
	g.prefix = "\xd0\x9c\xd0\xb0";
	g.gender = NAMEGEN__V1__GENDER__GENDER_ANY;
	g.n_countries = 1;
	seed_msg("model_request", "generate-cyrillic", gen, &g.base);
	g.count = 500;
	g.temperature = -1.0f;
	seed_msg("model_request", "generate-bad", gen, &g.base);
	s.name = "Mar\xc3\xad"
		 "a";
	seed_msg("model_request", "score", sc, &s.base);
	s.name = "Nikos";
	seed_msg("model_request", "score-latin", sc, &s.base);
	s.name = "\xce\x9d\xce\xb9\xce\xba\xce\xbf\xcf\x82";
	seed_msg("model_request", "score-unknown-char", sc, &s.base);
	seed_msg("model_request", "meta", seed_method(sd, "Meta"), &m.base);
}

/* ------------------------------------------------------- auth request */

static void seed_auth_request(void)
{
	const ProtobufCServiceDescriptor *sd =
	    &namegen__v1__auth_service__descriptor;
	Namegen__V1__RegisterRequest r = NAMEGEN__V1__REGISTER_REQUEST__INIT;
	Namegen__V1__LoginRequest l = NAMEGEN__V1__LOGIN_REQUEST__INIT;
	Namegen__V1__ChangePasswordRequest c =
	    NAMEGEN__V1__CHANGE_PASSWORD_REQUEST__INIT;
	Namegen__V1__DeleteAccountRequest d =
	    NAMEGEN__V1__DELETE_ACCOUNT_REQUEST__INIT;
	Namegen__V1__AddFavoriteRequest a =
	    NAMEGEN__V1__ADD_FAVORITE_REQUEST__INIT;
	Namegen__V1__RemoveFavoriteRequest rm =
	    NAMEGEN__V1__REMOVE_FAVORITE_REQUEST__INIT;
	Namegen__V1__ListFavoritesRequest ls =
	    NAMEGEN__V1__LIST_FAVORITES_REQUEST__INIT;

	r.username = "  Ann \xc3\x85sa ";
	r.email = " Ann@Example.COM ";
	r.password = "correct horse battery";
	seed_msg("auth_request", "register", seed_method(sd, "RegisterUser"),
		 &r.base);
	r.email = "not-an-email";
	r.password = "short";
	seed_msg("auth_request", "register-bad",
		 seed_method(sd, "RegisterUser"), &r.base);
	l.email = "ann@example.com";
	l.password = "correct horse battery";
	seed_msg("auth_request", "login", seed_method(sd, "Login"), &l.base);
	c.old_password = "correct horse battery";
	c.new_password = "staple staple";
	seed_msg("auth_request", "change", seed_method(sd, "ChangePassword"),
		 &c.base);
	d.password = "staple staple";
	seed_msg("auth_request", "delete", seed_method(sd, "DeleteAccount"),
		 &d.base);
	a.name = "x'); DROP TABLE favorites;--";
	a.country = "de";
	a.gender = NAMEGEN__V1__GENDER__GENDER_MALE;
	seed_msg("auth_request", "add", seed_method(sd, "AddFavorite"),
		 &a.base);
	rm.name = "Jos\xc3\xa9";
	rm.country = "";
	seed_msg("auth_request", "remove", seed_method(sd, "RemoveFavorite"),
		 &rm.base);
	ls.limit = 20;
	ls.cursor = "1700000000000.42";
	seed_msg("auth_request", "list", seed_method(sd, "ListFavorites"),
		 &ls.base);
}

/* --------------------------------------------------- model file, data */

static void seed_model_file(void)
{
	struct model *m;
	char err[MODEL_ERR_MAX];
	void *buf;
	size_t len;
	int layers;

	for (layers = 1; layers <= 2; layers++) {
		if (fuzz_tiny_model(&m, layers) != 0 ||
		    model_write(m, &buf, &len, err, sizeof(err)) != 0)
			abort();
		seed_write("model_file",
			   layers == 1 ? "tiny-1layer" : "tiny-2layers", buf,
			   len);
		if (layers == 1)
			seed_write("model_file", "truncated", buf, len / 2);
		free(buf);
		model_free(m);
	}
	seed_write("model_file", "magic-only", MODEL_MAGIC, 8);
}

static void seed_dataset(void)
{
	static const struct {
		const char *name;
		const char *text;
	} t[] = {
	    {"tsv", "\x04"
		    "country\tgender\tname\nIT\tF\tGiulia\n"
		    "IT\tM\tMarco\nSE\tF\tAstrid\nRU\tF\t\xd0\x9c\xd0\xb0"
		    "\xd1\x80\xd0\xb8\xd1\x8f\nFR\tM\tJean-Luc\n"},
	    {"tsv-columns", "\x05"
			    "name\tcountry\tgender\r\nAnna\tde\tF\r\n"
			    "\xef\xbb\xbfLars\tSE\tM\r\n"},
	    {"tsv-bad-lines",
	     "\x41"
	     "\xef\xbb\xbf"
	     "country\tgender\tname\n"
	     "IT\tX\tGiulia\nITA\tM\tMarco\nSE\tF\t\n\tF\tA\n"
	     "SE\tF\tAs\xc3trid\nSE\tM\tLa\x01rs\nSE\tM\tLars\n\n"},
	    {"plain", "\x02"
		      "anna\nbob\n\nclara\r\nd\xc3\xa9sir\xc3\xa9\n"},
	    {"plain-long", "\x06"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			   "ok\n"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		seed_write("dataset", t[i].name, t[i].text, strlen(t[i].text));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	seed_root = argv[1];
	if (mkdir(seed_root, 0755) != 0 && errno != EEXIST) {
		perror(seed_root);
		return 1;
	}
	seed_envelope();
	seed_gateway();
	seed_model_request();
	seed_auth_request();
	seed_model_file();
	seed_dataset();
	return seed_failed;
}
