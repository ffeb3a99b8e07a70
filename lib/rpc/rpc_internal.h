/*
 * Internals shared by the files of lib/rpc: the server and call structures and
 * the completion-queue tags. Only lib/rpc includes this; services use ipdk/rpc.h.
 */
#ifndef IPDK_RPC_INTERNAL_H
#define IPDK_RPC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <grpc/grpc.h>

#include "ipdk/rpc.h"

/* Every completion-queue tag starts with this; the worker calls done(tag, ok). */
struct rpc_tag {
	void (*done)(struct rpc_tag *tag, bool ok);
};

#define rpc_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* One outstanding grpc_server_request_call(): a slot waiting for a new call. */
struct rpc_accept_slot {
	struct rpc_tag tag;
	struct ipdk_rpc_server *srv;
	grpc_call *gcall;
	grpc_call_details details;
	grpc_metadata_array metadata;
};

struct ipdk_rpc_server {
	char *address;
	enum ipdk_rpc_security security;
	char *ca_file, *cert_file, *key_file;
	size_t max_message;
	unsigned int n_workers;
	unsigned int send_queue_len;

	struct ipdk_rpc_method *methods;
	size_t n_methods;

	grpc_server *server;
	grpc_completion_queue *cq;
	pthread_t *workers;
	unsigned int n_started;
	struct rpc_accept_slot *slots;
	unsigned int n_slots;
	struct rpc_tag shutdown_tag;
	int port;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, stopping, stopped, shutdown_done;
	uint64_t active, total;
};

/*
 * One RPC. The server's reference lasts until gRPC is done with the call (the
 * close notification arrived and no batch is in flight); services may hold more.
 * Everything below `lock` is protected by it, and every grpc_call_start_batch()
 * is made under it so batches of one kind never overlap.
 */
struct ipdk_rpc_call {
	struct ipdk_rpc_server *srv;
	const struct ipdk_rpc_method *method;   /* NULL for an unknown method */
	char *method_name;
	char *peer;
	atomic_int refs;
	void *data;
	ProtobufCMessage *request;              /* unary and server-stream only */

	struct rpc_tag close_tag, recv_tag, send_tag;
	int close_cancelled;                    /* written by gRPC */
	grpc_byte_buffer *recv_bb;              /* written by gRPC */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	grpc_call *gcall;                       /* NULL once released */
	grpc_byte_buffer **queue;
	unsigned int q_head, q_len, q_cap;
	grpc_byte_buffer *send_bb;              /* in flight */
	unsigned int inflight;                  /* batches started, not completed */
	bool sending, reading, recv_paused, md_sent;
	bool finishing, status_sent, closed, cancelled, broken;
	bool want_writable;
	enum ipdk_rpc_code code;
	grpc_slice status_msg;
	grpc_metadata trailer;
	bool has_trailer;
};

/* True on the server's worker threads: callbacks there must not wait for queue room. */
extern __thread bool rpc_on_worker;

/* Builds a call for gcall (taking it over) and starts serving it; method may be NULL. */
void rpc_call_accept(struct ipdk_rpc_server *srv, const struct ipdk_rpc_method *method,
		     grpc_call *gcall, const char *method_name);

/* Called by a call when gRPC no longer holds it, to update the server's counts. */
void rpc_server_call_ended(struct ipdk_rpc_server *srv);

/* Serializes a google.rpc.Status with code, message and details as Any; 0 or -ENOMEM. */
int rpc_status_pack(enum ipdk_rpc_code code, const char *message,
		    const ProtobufCMessage *const *details, size_t n_details,
		    grpc_slice *out);

/* Returns a malloc'd copy of path, or dir/name when path is NULL (NULL when both are missing). */
char *rpc_path_or_default(const char *path, const char *dir, const char *name);

/* Reads a PEM file (at most 1 MiB) into a new string; 0, -errno or -EINVAL if it is not PEM. */
int rpc_pem_read(const char *path, char **out, struct ipdk_err *err);

/* Encodes a protobuf-c message into a new byte buffer; NULL on allocation failure. */
grpc_byte_buffer *rpc_encode(const ProtobufCMessage *msg);

/* Decodes bb as desc; NULL when the bytes are not a valid message. */
ProtobufCMessage *rpc_decode(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb);

#endif
