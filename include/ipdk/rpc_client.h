/*
 * The shared gRPC client module: the client side of lib/rpc for ipdk's tools
 * and benchmarks (p4rt-ctl, gnmi-ctl, sma-ctl, bench_p4rt). A client is one
 * channel to one server with mutual TLS, server-only TLS or plaintext, its
 * certificates taken from a directory in the layout scripts/gen-certs.sh
 * writes (ca.crt, client.crt, client.key). Calls exchange protobuf-c messages:
 * unary calls, server-streaming calls with a callback per reply, and streams
 * the caller drives itself (send, half-close, receive with a timeout, cancel),
 * which covers client-streaming and bidirectional methods.
 *
 * Every call ends with a struct ipdk_rpc_status: the gRPC status code, its
 * message, and the typed details of a google.rpc.Status trailer
 * (grpc-status-details-bin), which ipdk_rpc_status_detail() decodes into the
 * caller's message type (P4Runtime's per-update p4.v1.Error, for instance).
 *
 * Threads. A client has one completion queue that each function waits on for
 * its own batches (gRPC's pluck), so the module needs no thread of its own. A
 * client and its streams are meant for one thread at a time; use one client
 * per thread when several threads make calls.
 */
#ifndef IPDK_RPC_CLIENT_H
#define IPDK_RPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"
#include "ipdk/rpc.h"

#define IPDK_RPC_CLIENT_DEFAULT_TIMEOUT 30.0

struct ipdk_rpc_client_config {
	const char *address;            /* "host:port" */
	enum ipdk_rpc_security security;        /* IPDK_RPC_SEC_MTLS by default */
	/* PEM files; a NULL path defaults to cert_dir/{ca.crt,client.crt,client.key}.
	 * TLS needs the CA only; MTLS all three; plaintext none. */
	const char *cert_dir;
	const char *ca_cert_file;
	const char *cert_file;
	const char *key_file;
	const char *tls_name;           /* name expected in the server's certificate, or NULL */
	size_t max_message_size;        /* receive limit, replies and trailers; 0 means 64 MiB */
	double timeout;                 /* seconds per unary call; 0 means 30 */
};

/* One google.rpc.Status detail: the packed message and its full type name. */
struct ipdk_rpc_detail {
	char *type;                     /* "p4.v1.Error" (the type URL after its last '/') */
	uint8_t *data;
	size_t len;
};

/* How a call ended. */
struct ipdk_rpc_status {
	int code;                       /* enum ipdk_rpc_code; -1 while a stream is open */
	char *message;                  /* never NULL once set; "(no message)" for a bare error */
	struct ipdk_rpc_detail *details;
	size_t n_details;
};

struct ipdk_rpc_client;
struct ipdk_rpc_stream;

/* Reads the credentials and creates the channel (it connects at the first call); 0 or -errno. */
int ipdk_rpc_client_create(const struct ipdk_rpc_client_config *cfg,
			   struct ipdk_rpc_client **out, struct ipdk_err *err);

/* Closes the channel and frees c (its streams must be closed first); c may be NULL. */
void ipdk_rpc_client_destroy(struct ipdk_rpc_client *c);

/* Returns the address the client was created for. */
const char *ipdk_rpc_client_address(const struct ipdk_rpc_client *c);

/* One request, one reply within the client's timeout; *reply is set only on OK. Returns st->code. */
int ipdk_rpc_client_unary(struct ipdk_rpc_client *c, const char *method,
			  const ProtobufCMessage *req,
			  const ProtobufCMessageDescriptor *reply_desc,
			  ProtobufCMessage **reply, struct ipdk_rpc_status *st);

/* One request, a stream of replies: fn runs per reply (freed after it returns);
 * fn returning non-zero cancels the call, which then counts as OK. Returns st->code. */
int ipdk_rpc_client_each(struct ipdk_rpc_client *c, const char *method,
			 const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply_desc,
			 int (*fn)(const ProtobufCMessage *reply, void *arg), void *arg,
			 struct ipdk_rpc_status *st);

/* Starts a streaming call that ends after timeout seconds (<= 0: no deadline); 0 or -ENOMEM.
 * A call the server cannot take shows up as -EPIPE from send/recv and in its status. */
int ipdk_rpc_client_stream_open(struct ipdk_rpc_client *c, const char *method,
				const ProtobufCMessageDescriptor *reply_desc, double timeout,
				struct ipdk_rpc_stream **out, struct ipdk_err *err);

/* Sends one message and waits until gRPC took it; 0, or -EPIPE once the call ended or was half-closed. */
int ipdk_rpc_stream_send(struct ipdk_rpc_stream *s, const ProtobufCMessage *msg);

/* Tells the server no more messages follow (half-close); 0 or -EPIPE. */
int ipdk_rpc_stream_close_send(struct ipdk_rpc_stream *s);

/* Waits up to timeout seconds (< 0: forever) for a reply: 1 with *out set (free it with
 * protobuf_c_message_free_unpacked), 0 on timeout, -EPIPE once the call ended. */
int ipdk_rpc_stream_recv(struct ipdk_rpc_stream *s, double timeout, ProtobufCMessage **out);

/* Cancels the call unless it ended already and waits for its final status (CANCELLED). */
void ipdk_rpc_stream_cancel(struct ipdk_rpc_stream *s);

/* Returns true once the call has ended (its status is final). */
bool ipdk_rpc_stream_ended(const struct ipdk_rpc_stream *s);

/* The status of an ended call (code -1 while it is open). */
const struct ipdk_rpc_status *ipdk_rpc_stream_status(const struct ipdk_rpc_stream *s);

/* Half-closes, discards replies for up to linger seconds until the server ends the
 * call, cancels it after that, and frees s; s may be NULL. */
void ipdk_rpc_stream_close(struct ipdk_rpc_stream *s, double linger);

/* Unpacks detail i as desc when its type is desc's; NULL otherwise (free with
 * protobuf_c_message_free_unpacked). */
ProtobufCMessage *ipdk_rpc_status_detail(const struct ipdk_rpc_status *st, size_t i,
					 const ProtobufCMessageDescriptor *desc);

/* Frees what st holds and zeroes it (not the struct itself). */
void ipdk_rpc_status_fini(struct ipdk_rpc_status *st);

#endif
