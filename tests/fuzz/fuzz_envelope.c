/* fuzz_envelope.c - libFuzzer target: the RPC envelope (rpc_open).
 *
 * Every message a worker or the gateway takes off an nng socket goes
 * through rpc_open first. The input is tried three ways:
 *   1. as the wire bytes of a Sealed message, opened as a Call and as a
 *      Result, with the key (must never be accepted: the fuzzer cannot
 *      know the MAC) and without one (dev mode: parses what is inside);
 *   2. as the payload of a Sealed message that carries the right MAC, so
 *      the inner parsers see hostile bytes that passed authentication;
 *      the same bytes with one bit of the MAC flipped must be refused;
 *   3. when it opens as a Call, the way a worker continues: the method
 *      looked up in both services, the body unpacked with the method's
 *      request type, and the Call sealed again and reopened;
 *   4. as a bundle (rpc_unbundle): the entries must be non-empty, in
 *      order and make up all of the input; each is opened as a worker
 *      opens it, and bundled again they come apart the same. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/rpc.h"
#include "common/rpc_envelope.h"
#include "namegen.pb-c.h"

#define ENV_MAC_BYTES 32

static uint8_t env_key[RPC_KEY_BYTES];

/* env_check_err aborts unless rc is a status rpc_open may return, with
 * a sentence in err when it is not OK. */
static void env_check_err(int rc, const char *err)
{
	if (rc == 0)
		return;
	if (rc != RPC_INVALID_ARGUMENT && rc != RPC_UNAUTHENTICATED)
		abort();
	if (err[0] == '\0' || strlen(err) >= RPC_MESSAGE_MAX)
		abort();
}

/* env_open opens data as desc; returns the message or NULL. */
static ProtobufCMessage *env_open(const uint8_t *key, const void *data,
				  size_t len,
				  const ProtobufCMessageDescriptor *desc,
				  int *rc)
{
	ProtobufCMessage *m = NULL;
	char err[RPC_MESSAGE_MAX];

	err[0] = '\0';
	*rc = rpc_open(key, data, len, desc, &m, err, sizeof(err));
	env_check_err(*rc, err);
	if ((*rc == 0) != (m != NULL))
		abort();
	return m;
}

/* env_method finds "<Service>/<Method>" in our two services and unpacks
 * body with its request type, as rpc_server does. */
static void env_method(const Namegen__V1__Call *call)
{
	static const ProtobufCServiceDescriptor *const services[] = {
	    &namegen__v1__model_service__descriptor,
	    &namegen__v1__auth_service__descriptor,
	};
	const char *slash = call->method ? strchr(call->method, '/') : NULL;
	const ProtobufCMethodDescriptor *md;
	ProtobufCMessage *body;
	size_t i;

	if (!slash || strlen(call->method) > RPC_METHOD_MAX)
		return;
	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		md = protobuf_c_service_descriptor_get_method_by_name(
		    services[i], slash + 1);
		if (!md)
			continue;
		body = protobuf_c_message_unpack(
		    md->input, NULL, call->body.len, call->body.data);
		if (body)
			protobuf_c_message_free_unpacked(body, NULL);
	}
}

/* env_reseal seals an opened Call again and checks that it opens to a
 * message of the same packed size. Only for Calls without unknown
 * fields: protobuf-c 1.4.1 keeps an unknown field numbered 0 when it
 * parses and writes it back as a tag it then refuses, and our processes
 * never re-send a Call they received. */
static void env_reseal(const ProtobufCMessage *call)
{
	const Namegen__V1__Call *c = (const Namegen__V1__Call *)call;
	ProtobufCMessage *again;
	nng_msg *msg;
	size_t i;
	int rc;

	if (call->n_unknown_fields)
		return;
	for (i = 0; i < c->n_metadata; i++)
		if (c->metadata[i]->base.n_unknown_fields)
			return;
	if (rpc_seal(env_key, call, &msg) != 0)
		return; // out of memory
	again = env_open(env_key, nng_msg_body(msg), nng_msg_len(msg),
			 &namegen__v1__call__descriptor, &rc);
	if (rc != 0 || protobuf_c_message_get_packed_size(again) !=
			   protobuf_c_message_get_packed_size(call))
		abort();
	protobuf_c_message_free_unpacked(again, NULL);
	nng_msg_free(msg);
}

/* env_sealed_payload wraps data with the right MAC (or a wrong one). */
static void env_sealed_payload(const uint8_t *data, size_t size, bool corrupt)
{
	Namegen__V1__Sealed s = NAMEGEN__V1__SEALED__INIT;
	uint8_t mac[ENV_MAC_BYTES], *wire;
	ProtobufCMessage *m;
	size_t n;
	int rc;

	crypto_generichash(mac, sizeof(mac), data, size, env_key,
			   sizeof(env_key));
	if (corrupt)
		mac[size % ENV_MAC_BYTES] ^= (uint8_t)(1u << (size % 8));
	s.payload.data = (uint8_t *)data;
	s.payload.len = size;
	s.mac.data = mac;
	s.mac.len = sizeof(mac);
	n = namegen__v1__sealed__get_packed_size(&s);
	wire = malloc(n ? n : 1);
	if (!wire)
		return;
	namegen__v1__sealed__pack(&s, wire);

	m = env_open(env_key, wire, n, &namegen__v1__call__descriptor, &rc);
	if (corrupt && rc != RPC_UNAUTHENTICATED)
		abort();
	if (m) {
		env_method((const Namegen__V1__Call *)m);
		env_reseal(m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	m = env_open(env_key, wire, n, &namegen__v1__result__descriptor, &rc);
	if (corrupt && rc != RPC_UNAUTHENTICATED)
		abort();
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	free(wire);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	for (i = 0; i < sizeof(env_key); i++)
		env_key[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

/* env_bundle is step 4. */
static void env_bundle(const uint8_t *data, size_t size)
{
	struct rpc_part parts[RPC_BUNDLE_MAX], back[RPC_BUNDLE_MAX];
	char err[RPC_MESSAGE_MAX] = "";
	ProtobufCMessage *m;
	nng_msg *again;
	int k, i, rc;

	k = rpc_unbundle(data, size, parts, RPC_BUNDLE_MAX, err, sizeof(err));
	if (k < -1 || k > RPC_BUNDLE_MAX)
		abort();
	if (k < 0 && (err[0] == '\0' || strlen(err) >= RPC_MESSAGE_MAX))
		abort();
	if (k <= 0)
		return;
	/* in order, each after a tag and a length (of 1 to 10 bytes: a
	 * longer varint than needed is still protobuf), the last one
	 * ending where the input ends */
	for (i = 0; i < k; i++) {
		const uint8_t *from =
		    i ? parts[i - 1].data + parts[i - 1].len : data;

		if (parts[i].len == 0 || parts[i].data < from + 2 ||
		    parts[i].data > from + 11 ||
		    parts[i].data + parts[i].len > data + size)
			abort();
		m = env_open(env_key, parts[i].data, parts[i].len,
			     &namegen__v1__call__descriptor, &rc);
		if (m)
			abort(); // a forged MAC was accepted
		m = env_open(NULL, parts[i].data, parts[i].len,
			     &namegen__v1__call__descriptor, &rc);
		if (m) {
			env_method((const Namegen__V1__Call *)m);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	if (parts[k - 1].data + parts[k - 1].len != data + size)
		abort();
	/* bundled again (lengths now minimal), it comes apart the same */
	if (rpc_bundle(parts, (size_t)k, &again) != 0)
		return; // out of memory
	if (nng_msg_len(again) > size ||
	    rpc_unbundle(nng_msg_body(again), nng_msg_len(again), back,
			 RPC_BUNDLE_MAX, err, sizeof(err)) != k)
		abort();
	for (i = 0; i < k; i++)
		if (back[i].len != parts[i].len ||
		    memcmp(back[i].data, parts[i].data, parts[i].len) != 0)
			abort();
	nng_msg_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m;
	int rc;

	// 1. wire bytes: never authenticated, parsed in dev mode.
	m = env_open(env_key, data, size, &namegen__v1__call__descriptor, &rc);
	if (m)
		abort(); // a forged MAC was accepted
	m = env_open(env_key, data, size, &namegen__v1__result__descriptor,
		     &rc);
	if (m)
		abort();
	m = env_open(NULL, data, size, &namegen__v1__call__descriptor, &rc);
	if (m) {
		env_method((const Namegen__V1__Call *)m);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	m = env_open(NULL, data, size, &namegen__v1__result__descriptor, &rc);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);

	// 2. and 3. payload bytes behind a good MAC, then a bad one.
	env_sealed_payload(data, size, false);
	env_sealed_payload(data, size, true);

	// 4. as a bundle of sealed messages.
	env_bundle(data, size);
	return 0;
}
