/* test_rpc_envelope.c - sealing and opening messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/rpc.h"
#include "common/rpc_envelope.h"
#include "namegen.pb-c.h"

static uint8_t key_a[RPC_KEY_BYTES], key_b[RPC_KEY_BYTES];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key_a, sizeof(key_a));
	randombytes_buf(key_b, sizeof(key_b));
	return 0;
}

/* seal_call seals a Call with a few fields set. */
static nng_msg *seal_call(const uint8_t *key)
{
	Namegen__V1__Call c = NAMEGEN__V1__CALL__INIT;
	Namegen__V1__MetadataEntry e = NAMEGEN__V1__METADATA_ENTRY__INIT;
	Namegen__V1__MetadataEntry *ep = &e;
	nng_msg *m;

	c.method = "ModelService/Meta";
	c.client_id = 0x1122334455667788ULL;
	c.call_id = 42;
	c.deadline_ms = 1234567890123LL;
	e.key = "session";
	e.value = "tok";
	c.n_metadata = 1;
	c.metadata = &ep;
	c.body.data = (uint8_t *)"\x0a\x02hi";
	c.body.len = 4;
	assert_int_equal(rpc_seal(key, &c.base, &m), 0);
	return m;
}

static void test_roundtrip(void **state)
{
	Namegen__V1__Call *c;
	nng_msg *m = seal_call(key_a);
	char err[128];

	(void)state;
	assert_int_equal(rpc_open(key_a, nng_msg_body(m), nng_msg_len(m),
				  &namegen__v1__call__descriptor,
				  (ProtobufCMessage **)&c, err, sizeof(err)),
			 0);
	assert_string_equal(c->method, "ModelService/Meta");
	assert_true(c->client_id == 0x1122334455667788ULL);
	assert_true(c->call_id == 42);
	assert_true(c->deadline_ms == 1234567890123LL);
	assert_int_equal(c->n_metadata, 1);
	assert_string_equal(c->metadata[0]->value, "tok");
	assert_int_equal(c->body.len, 4);
	namegen__v1__call__free_unpacked(c, NULL);
	nng_msg_free(m);
}

static void test_wrong_or_missing_mac(void **state)
{
	ProtobufCMessage *c = NULL;
	nng_msg *m = seal_call(key_a), *plain = seal_call(NULL);
	char err[128];

	(void)state;
	assert_int_equal(rpc_open(key_b, nng_msg_body(m), nng_msg_len(m),
				  &namegen__v1__call__descriptor, &c, err,
				  sizeof(err)),
			 RPC_UNAUTHENTICATED);
	assert_null(c);
	assert_non_null(strstr(err, "authentication code is wrong"));
	assert_int_equal(
	    rpc_open(key_a, nng_msg_body(plain), nng_msg_len(plain),
		     &namegen__v1__call__descriptor, &c, err, sizeof(err)),
	    RPC_UNAUTHENTICATED);
	assert_non_null(strstr(err, "not authenticated"));
	/* a server in development mode (no key) takes both */
	assert_int_equal(rpc_open(NULL, nng_msg_body(m), nng_msg_len(m),
				  &namegen__v1__call__descriptor, &c, err,
				  sizeof(err)),
			 0);
	protobuf_c_message_free_unpacked(c, NULL);
	nng_msg_free(m);
	nng_msg_free(plain);
}

/* Flipping any single byte of a sealed message is caught: either the
 * outer parse fails or the MAC does not match. */
static void test_every_flipped_byte_is_refused(void **state)
{
	nng_msg *m = seal_call(key_a);
	size_t len = nng_msg_len(m), i;
	uint8_t *copy = malloc(len);
	ProtobufCMessage *c;
	char err[128];
	int rv;

	(void)state;
	for (i = 0; i < len; i++) {
		memcpy(copy, nng_msg_body(m), len);
		copy[i] ^= 0x5a;
		c = NULL;
		rv = rpc_open(key_a, copy, len, &namegen__v1__call__descriptor,
			      &c, err, sizeof(err));
		if (rv == 0)
			fail_msg("flipping byte %zu went unnoticed", i);
		assert_true(rv == RPC_UNAUTHENTICATED ||
			    rv == RPC_INVALID_ARGUMENT);
		assert_null(c);
	}
	free(copy);
	nng_msg_free(m);
}

static void test_truncations_and_garbage(void **state)
{
	nng_msg *m = seal_call(key_a);
	size_t len = nng_msg_len(m), i;
	ProtobufCMessage *c;
	uint8_t junk[512];
	char err[128];

	(void)state;
	for (i = 0; i < len; i++) {
		c = NULL;
		assert_int_not_equal(rpc_open(key_a, nng_msg_body(m), i,
					      &namegen__v1__call__descriptor,
					      &c, err, sizeof(err)),
				     0);
		assert_null(c);
	}
	for (i = 0; i < 2000; i++) {
		size_t n = randombytes_uniform(sizeof(junk));

		randombytes_buf(junk, n);
		c = NULL;
		assert_int_not_equal(rpc_open(key_a, junk, n,
					      &namegen__v1__call__descriptor,
					      &c, err, sizeof(err)),
				     0);
		assert_null(c);
	}
	nng_msg_free(m);
}

/* Well-sealed bytes that are not a Call are refused by the inner parse. */
static void test_sealed_garbage_payload(void **state)
{
	Namegen__V1__Sealed s = NAMEGEN__V1__SEALED__INIT;
	uint8_t payload[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	uint8_t mac[32], buf[128];
	ProtobufCMessage *c = NULL;
	size_t n;
	char err[128];

	(void)state;
	crypto_generichash(mac, sizeof(mac), payload, sizeof(payload), key_a,
			   sizeof(key_a));
	s.payload.data = payload;
	s.payload.len = sizeof(payload);
	s.mac.data = mac;
	s.mac.len = sizeof(mac);
	n = namegen__v1__sealed__pack(&s, buf);
	assert_int_equal(rpc_open(key_a, buf, n,
				  &namegen__v1__call__descriptor, &c, err,
				  sizeof(err)),
			 RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(err, "does not hold a valid Call"));
}

/* A bundle of sealed calls comes apart into the same bytes, each entry
 * opens on its own, and the bytes protobuf-c reads as a Sealed hold the
 * same entries; anything else is refused or is not a bundle. */
static void test_bundles(void **state)
{
	struct rpc_part parts[3], got[RPC_BUNDLE_MAX];
	nng_msg *calls[3], *b;
	Namegen__V1__Sealed *sealed;
	Namegen__V1__Call *c;
	char err[128];
	uint8_t bad[3 * 70];
	size_t i, n;

	(void)state;
	for (i = 0; i < 3; i++) {
		calls[i] = seal_call(key_a);
		parts[i].data = nng_msg_body(calls[i]);
		parts[i].len = nng_msg_len(calls[i]);
	}
	assert_int_equal(rpc_bundle(parts, 3, &b), 0);
	assert_int_equal(nng_msg_len(b), rpc_bundle_size(parts, 3));
	assert_int_equal(rpc_unbundle(nng_msg_body(b), nng_msg_len(b), got,
				      RPC_BUNDLE_MAX, err, sizeof(err)),
			 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(got[i].len, parts[i].len);
		assert_memory_equal(got[i].data, parts[i].data, got[i].len);
		assert_int_equal(rpc_open(key_a, got[i].data, got[i].len,
					  &namegen__v1__call__descriptor,
					  (ProtobufCMessage **)&c, err,
					  sizeof(err)),
				 0);
		assert_true(c->call_id == 42);
		namegen__v1__call__free_unpacked(c, NULL);
	}
	sealed =
	    namegen__v1__sealed__unpack(NULL, nng_msg_len(b), nng_msg_body(b));
	assert_non_null(sealed);
	assert_int_equal(sealed->n_bundle, 3);
	assert_int_equal(sealed->payload.len, 0);
	namegen__v1__sealed__free_unpacked(sealed, NULL);

	/* a bundle is never opened as one message, nor nested */
	assert_int_equal(rpc_open(key_a, nng_msg_body(b), nng_msg_len(b),
				  &namegen__v1__call__descriptor,
				  (ProtobufCMessage **)&c, err, sizeof(err)),
			 RPC_INVALID_ARGUMENT);
	/* more entries than allowed */
	assert_int_equal(rpc_unbundle(nng_msg_body(b), nng_msg_len(b), got, 2,
				      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "more than 2 entries"));
	/* every truncation */
	for (n = 1; n < nng_msg_len(b); n++) {
		int k = rpc_unbundle(nng_msg_body(b), n, got, RPC_BUNDLE_MAX,
				     err, sizeof(err));

		if (k > 0) /* cut between two entries */
			assert_int_equal(rpc_bundle_size(got, (size_t)k), n);
		else
			assert_int_equal(k, -1);
	}
	/* a single sealed message is not a bundle */
	assert_int_equal(rpc_unbundle(parts[0].data, parts[0].len, got,
				      RPC_BUNDLE_MAX, err, sizeof(err)),
			 0);
	/* an empty entry; an entry and then another field */
	assert_int_equal(
	    rpc_unbundle("\x1a\x00", 2, got, RPC_BUNDLE_MAX, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(rpc_unbundle("\x1a\x01x\x0a\x00", 5, got,
				      RPC_BUNDLE_MAX, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "other than its entries"));
	/* a length beyond the end, and a varint that never ends */
	memset(bad, 0xff, sizeof(bad));
	bad[0] = 0x1a;
	assert_int_equal(rpc_unbundle(bad, sizeof(bad), got, RPC_BUNDLE_MAX,
				      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "truncated"));

	nng_msg_free(b);
	for (i = 0; i < 3; i++)
		nng_msg_free(calls[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_wrong_or_missing_mac),
	    cmocka_unit_test(test_every_flipped_byte_is_refused),
	    cmocka_unit_test(test_truncations_and_garbage),
	    cmocka_unit_test(test_sealed_garbage_payload),
	    cmocka_unit_test(test_bundles),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
