/*
 * The shared gRPC server module: one server (address, TLS, worker threads) that
 * the P4Runtime, gNMI and storage services register their methods with. A
 * service describes each method (full name, call kind, protobuf-c descriptors
 * and callbacks) and talks to its calls through ipdk_rpc_call; it never sees a
 * gRPC core object. Messages are decoded before a callback runs and encoded on
 * send, so handlers work with protobuf-c structs only.
 *
 * Threads. Callbacks run on the server's worker threads, which also drive the
 * network, so a callback must not block for long. A handler that needs time
 * takes a reference (ipdk_rpc_call_ref), returns, and completes the call later
 * from any thread (deferred completion); every ipdk_rpc_send/finish function
 * is thread-safe.
 *
 * Back-pressure. Each call has a bounded send queue (config.send_queue_len
 * messages not yet handed to gRPC). When it is full, ipdk_rpc_send() waits for
 * room if called from a non-worker thread and returns -EAGAIN if called from a
 * worker thread (a callback); ipdk_rpc_try_send() never waits. After an -EAGAIN
 * the method's on_writable callback runs once the queue has room again. For
 * client and bidi streams the server also stops reading requests while the
 * send queue is full, so a peer that does not read its replies is slowed down
 * rather than growing memory.
 */
#ifndef IPDK_RPC_H
#define IPDK_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"

/* gRPC status codes (same numbers as grpc_status_code and google.rpc.Code). */
enum ipdk_rpc_code {
	IPDK_RPC_OK = 0,
	IPDK_RPC_CANCELLED = 1,
	IPDK_RPC_UNKNOWN = 2,
	IPDK_RPC_INVALID_ARGUMENT = 3,
	IPDK_RPC_DEADLINE_EXCEEDED = 4,
	IPDK_RPC_NOT_FOUND = 5,
	IPDK_RPC_ALREADY_EXISTS = 6,
	IPDK_RPC_PERMISSION_DENIED = 7,
	IPDK_RPC_RESOURCE_EXHAUSTED = 8,
	IPDK_RPC_FAILED_PRECONDITION = 9,
	IPDK_RPC_ABORTED = 10,
	IPDK_RPC_OUT_OF_RANGE = 11,
	IPDK_RPC_UNIMPLEMENTED = 12,
	IPDK_RPC_INTERNAL = 13,
	IPDK_RPC_UNAVAILABLE = 14,
	IPDK_RPC_DATA_LOSS = 15,
	IPDK_RPC_UNAUTHENTICATED = 16,
};

/* How requests and replies flow in a method. */
enum ipdk_rpc_kind {
	IPDK_RPC_UNARY,          /* one request, one reply */
	IPDK_RPC_SERVER_STREAM,  /* one request, any number of replies */
	IPDK_RPC_CLIENT_STREAM,  /* a stream of requests, one reply */
	IPDK_RPC_BIDI_STREAM,    /* both sides stream */
};

/* Transport security of the listening port. */
enum ipdk_rpc_security {
	IPDK_RPC_SEC_MTLS = 0,   /* TLS; clients must present a cert signed by the CA */
	IPDK_RPC_SEC_TLS,        /* TLS; client certificates are not requested */
	IPDK_RPC_SEC_INSECURE,   /* plaintext, must be asked for explicitly */
};

#define IPDK_RPC_DEFAULT_MAX_MESSAGE (64u << 20)
#define IPDK_RPC_DEFAULT_WORKERS 2
#define IPDK_RPC_DEFAULT_SEND_QUEUE 64

struct ipdk_rpc_config {
	const char *address;           /* "host:port", e.g. "0.0.0.0:9559"; port 0 picks one */
	enum ipdk_rpc_security security;
	/* PEM files; when a path is NULL it defaults to cert_dir/{ca.crt,server.crt,server.key}
	 * (the names scripts/gen-certs.sh writes). The CA is needed for MTLS only. */
	const char *cert_dir;
	const char *ca_cert_file;
	const char *cert_file;
	const char *key_file;
	size_t max_message_size;       /* bytes in either direction; 0 means 64 MiB */
	unsigned int workers;          /* completion-queue threads; 0 means 2 */
	unsigned int send_queue_len;   /* per-call send queue bound; 0 means 64 */
};

struct ipdk_rpc_server;
struct ipdk_rpc_call;

/*
 * One method of a service. Unary and server-streaming methods get their single
 * request through on_request; client and bidi streams get each request through
 * on_message and the end of the client's stream through on_half_close. A
 * request passed to on_message is freed when the callback returns; the one
 * passed to on_request lives as long as the call (so deferred handlers may
 * keep using it while they hold a reference).
 */
struct ipdk_rpc_method {
	const char *name;                               /* "/package.Service/Method" */
	enum ipdk_rpc_kind kind;
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *response;
	void (*on_request)(struct ipdk_rpc_call *call, const ProtobufCMessage *req);
	void (*on_message)(struct ipdk_rpc_call *call, const ProtobufCMessage *req);
	void (*on_half_close)(struct ipdk_rpc_call *call);
	/* optional; may start on another worker just as the callback that got
	 * -EAGAIN returns, so state shared between the two needs a lock */
	void (*on_writable)(struct ipdk_rpc_call *call);
	/* optional; runs once when gRPC is done with the call, after every other
	 * callback of the call has returned (threads holding references may still
	 * run, so free shared state with them by reference count) */
	void (*on_done)(struct ipdk_rpc_call *call, bool cancelled);
	void *ctx;                                      /* the service's own state */
};

/* Parses "mtls", "tls" or "insecure" (the --grpc-security values of every daemon
 * and client); returns the enum ipdk_rpc_security value or -EINVAL. */
int ipdk_rpc_security_parse(const char *s);

/* Validates cfg and creates a server (not yet listening); returns 0 or -errno. */
int ipdk_rpc_server_create(const struct ipdk_rpc_config *cfg,
			   struct ipdk_rpc_server **out, struct ipdk_err *err);

/* Registers one method (copied) before the server starts; returns 0 or -errno. */
int ipdk_rpc_server_add_method(struct ipdk_rpc_server *srv,
			       const struct ipdk_rpc_method *m, struct ipdk_err *err);

/* Registers n methods at once, stopping at the first failure. */
int ipdk_rpc_server_add_methods(struct ipdk_rpc_server *srv,
				const struct ipdk_rpc_method *m, size_t n,
				struct ipdk_err *err);

/* Loads credentials, binds the address and starts the worker threads. */
int ipdk_rpc_server_start(struct ipdk_rpc_server *srv, struct ipdk_err *err);

/* Returns the TCP port the server listens on (useful with port 0), or 0. */
int ipdk_rpc_server_port(const struct ipdk_rpc_server *srv);

/* Returns the number of calls currently open and the number accepted so far. */
void ipdk_rpc_server_stats(struct ipdk_rpc_server *srv, uint64_t *active,
			   uint64_t *total);

/* Stops accepting calls, cancels the open ones and joins the workers; idempotent, never from a callback. */
void ipdk_rpc_server_stop(struct ipdk_rpc_server *srv);

/* Stops the server if needed and frees it; srv may be NULL. */
void ipdk_rpc_server_destroy(struct ipdk_rpc_server *srv);

/* Takes a reference so the call outlives the callback (deferred completion). */
void ipdk_rpc_call_ref(struct ipdk_rpc_call *call);

/* Drops a reference; the call is freed after the last one and the end of the RPC. */
void ipdk_rpc_call_unref(struct ipdk_rpc_call *call);

/* Returns the method the call is for. */
const struct ipdk_rpc_method *ipdk_rpc_call_method(const struct ipdk_rpc_call *call);

/* Returns the method's ctx pointer. */
void *ipdk_rpc_call_ctx(const struct ipdk_rpc_call *call);

/* Returns the request of a unary or server-stream call (NULL before it arrived or for streams). */
const ProtobufCMessage *ipdk_rpc_call_request(const struct ipdk_rpc_call *call);

/* Returns the peer address as gRPC reports it ("ipv4:127.0.0.1:5555"). */
const char *ipdk_rpc_call_peer(const struct ipdk_rpc_call *call);

/* Stores a per-call pointer for the service (freed by the service in on_done). */
void ipdk_rpc_call_set_data(struct ipdk_rpc_call *call, void *data);

/* Returns the per-call pointer set with ipdk_rpc_call_set_data(). */
void *ipdk_rpc_call_get_data(const struct ipdk_rpc_call *call);

/* Returns true once the RPC has ended without a normal status (cancel, disconnect, shutdown). */
bool ipdk_rpc_call_cancelled(struct ipdk_rpc_call *call);

/* Queues a reply, waiting for room off worker threads; 0, -EAGAIN, -ECANCELED, -EALREADY or -EINVAL. */
int ipdk_rpc_send(struct ipdk_rpc_call *call, const ProtobufCMessage *msg);

/* Queues a reply without ever waiting; -EAGAIN when the send queue is full. */
int ipdk_rpc_try_send(struct ipdk_rpc_call *call, const ProtobufCMessage *msg);

/* Sends msg and then an OK status (the usual end of a unary or client-stream call). */
int ipdk_rpc_reply(struct ipdk_rpc_call *call, const ProtobufCMessage *msg);

/* Ends the call with a status and a printf-style message, after queued replies. */
int ipdk_rpc_finish(struct ipdk_rpc_call *call, enum ipdk_rpc_code code,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like ipdk_rpc_finish() with typed details sent as a google.rpc.Status trailer. */
int ipdk_rpc_finish_details(struct ipdk_rpc_call *call, enum ipdk_rpc_code code,
			    const char *message,
			    const ProtobufCMessage *const *details, size_t n_details);

/* Ends the call with the status that err's errno maps to and err's message. */
int ipdk_rpc_finish_err(struct ipdk_rpc_call *call, const struct ipdk_err *err);

/* Maps a negative errno to the closest gRPC status code. */
enum ipdk_rpc_code ipdk_rpc_code_from_errno(int neg_errno);

/* Returns the canonical name of a status code ("NOT_FOUND"). */
const char *ipdk_rpc_code_name(enum ipdk_rpc_code code);

#endif
