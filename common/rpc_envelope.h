/* rpc_envelope.h - sealing and opening the messages on the wire.
 *
 * A Call (caller -> worker) or a Result (worker -> caller) is serialised,
 * and the bytes travel inside a Sealed message with a MAC over them
 * (keyed BLAKE2b-256, the key derived from RPC_SECRET). Opening checks
 * the MAC before it parses the inner message, so unauthenticated bytes
 * never reach the protobuf parser beyond the outer two fields. */
#ifndef COMMON_RPC_ENVELOPE_H
#define COMMON_RPC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <protobuf-c/protobuf-c.h>

/* rpc_seal packs inner, MACs it with key (no MAC when key is NULL) and
 * returns a new nng message holding the Sealed bytes in *out (owned by
 * the caller). Returns 0, or -1 when out of memory. */
int rpc_seal(const uint8_t *key, const ProtobufCMessage *inner, nng_msg **out);

/* rpc_open parses the Sealed bytes in [data, data+len), checks the MAC
 * with key (when key is NULL any MAC, or none, is accepted), and unpacks
 * the payload as a message of type desc into *out (free with
 * protobuf_c_message_free_unpacked). Returns 0, or an RPC_* status with a
 * sentence in err: RPC_INVALID_ARGUMENT for bytes that are not a sealed
 * message of that type, RPC_UNAUTHENTICATED for a missing or wrong MAC. */
int rpc_open(const uint8_t *key, const void *data, size_t len,
	     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
	     char *err, size_t errlen);

/* A bundle carries several sealed messages in one transport message: the
 * Sealed field `bundle` repeated, each entry the bytes of one complete
 * Sealed Call (or Result), with its own MAC; payload and mac are then
 * absent. It saves the transport's per-message cost when many short calls
 * are waiting at once; see rpc_client.h. */
#define RPC_BUNDLE_MAX 64 /* sealed messages in one bundle */

struct rpc_part {
	const uint8_t *data;
	size_t len;
};

/* rpc_unbundle looks at the bytes of a received message. Returns 0 when
 * they are not a bundle (open them with rpc_open), the number of entries
 * (at most max) with each entry's bytes in parts when they are one, or -1
 * with a sentence in err for a malformed bundle: an empty entry, more than
 * max entries, a truncated field or any field but `bundle`. The parts
 * point into data. */
int rpc_unbundle(const void *data, size_t len, struct rpc_part *parts,
		 size_t max, char *err, size_t errlen);

/* rpc_bundle returns a new message in *out holding the n parts as one
 * bundle. Returns 0, or -1 when out of memory. */
int rpc_bundle(const struct rpc_part *parts, size_t n, nng_msg **out);

/* rpc_bundle_size is the size of that message. */
size_t rpc_bundle_size(const struct rpc_part *parts, size_t n);

#endif /* COMMON_RPC_ENVELOPE_H */
