/*
 * p4rt-ctl's gRPC transport: one channel to a P4Runtime server (mutual TLS,
 * server-only TLS or plaintext), unary calls, the server-streaming Read and
 * the bidirectional StreamChannel, all on the gRPC core C API with one
 * pluck completion queue (the tool is single-threaded). A failed call reports
 * its status code, message and the p4.v1.Error list a Write carries in
 * grpc-status-details-bin.
 */
#ifndef P4RT_CTL_CONN_H
#define P4RT_CTL_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#include "ipdk/err.h"
#include "p4/v1/p4runtime.pb-c.h"

enum p4rt_sec { P4RT_SEC_MTLS, P4RT_SEC_TLS, P4RT_SEC_INSECURE };

struct p4rt_conn_opts {
	const char *addr;               /* host:port */
	enum p4rt_sec security;
	const char *cert_dir;           /* ca.crt, client.crt, client.key */
	const char *ca, *cert, *key;    /* override one file, or NULL */
	const char *tls_name;           /* server name expected in its certificate, or NULL */
	double timeout;                 /* seconds per call */
};

/* The outcome of a call: code 0 is OK; otherwise a gRPC status code and its message. */
struct p4rt_status {
	int code;
	char *msg;
	P4__V1__Error **errors;         /* per-update errors of a Write (may be empty) */
	size_t n_errors;
};

struct p4rt_conn;
struct p4rt_stream;

/* Returns the name of a gRPC status code ("NOT_FOUND"). */
const char *p4rt_code_name(int code);

/* Creates the channel (no connection is made until the first call); 0 or -errno. */
int p4rt_conn_open(const struct p4rt_conn_opts *o, struct p4rt_conn **out, struct ipdk_err *err);

/* Closes the channel and frees c; c may be NULL. */
void p4rt_conn_close(struct p4rt_conn *c);

/* Frees what a status holds (not the struct). */
void p4rt_status_fini(struct p4rt_status *st);

/* One request, one reply; *reply is set only when the status is OK. Returns st->code. */
int p4rt_unary(struct p4rt_conn *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
	       struct p4rt_status *st);

/* Read: calls fn for each ReadResponse (fn returns non-zero to stop). Returns st->code. */
int p4rt_read(struct p4rt_conn *c, const P4__V1__ReadRequest *req,
	      int (*fn)(const P4__V1__ReadResponse *r, void *arg), void *arg,
	      struct p4rt_status *st);

/* Opens a StreamChannel; 0 or -errno. */
int p4rt_stream_open(struct p4rt_conn *c, struct p4rt_stream **out, struct ipdk_err *err);

/* Sends one message; 0, or -EPIPE once the stream has ended. */
int p4rt_stream_send(struct p4rt_stream *s, const P4__V1__StreamMessageRequest *m);

/* Waits up to timeout seconds (<0: forever) for a message: 1 and *out set, 0 on
 * timeout, -EPIPE when the stream ended (p4rt_stream_status() tells why). */
int p4rt_stream_recv(struct p4rt_stream *s, double timeout, P4__V1__StreamMessageResponse **out);

/* The final status of an ended stream (code -1 while it is open). */
const struct p4rt_status *p4rt_stream_status(const struct p4rt_stream *s);

/* Half-closes, waits briefly for the server to end the stream, cancels it otherwise, frees s. */
void p4rt_stream_close(struct p4rt_stream *s);

#endif
