/* rpc_socket.h - closing an nng socket without risking a hang.
 *
 * nng 1.5.2 (Debian 12) can wait forever in nng_close when a socket is
 * closed while messages are still in flight on its pipes (seen in a stress
 * test that frees a server right after draining it while its client keeps
 * sending: about one close in 150). A process that hangs there never exits
 * on SIGTERM, so every close of ours goes through this bound instead. */
#ifndef COMMON_RPC_SOCKET_H
#define COMMON_RPC_SOCKET_H

#include <stdbool.h>

#include <nng/nng.h>

/* rpc_socket_close closes s on a helper thread and waits up to timeout_ms
 * for it. Returns true when the socket is closed; false when nng is still
 * closing it: the caller must then leave everything nng may still touch
 * (aios, their callback arguments) allocated, since the close may finish
 * later or never. */
bool rpc_socket_close(nng_socket s, int timeout_ms);

#endif /* COMMON_RPC_SOCKET_H */
