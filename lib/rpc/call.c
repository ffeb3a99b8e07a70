/*
 * The life of one RPC in lib/rpc: reading requests, the bounded send queue
 * that feeds gRPC one message at a time, the final status (with its optional
 * google.rpc.Status trailer) and the hand-back of the gRPC call once the
 * peer, the network and the service are all done with it.
 *
 * gRPC core allows one batch of each kind in flight per call, so the queue is
 * pumped from its head: a send completion starts the next batch. All batches
 * start under call->lock; service callbacks always run with it released.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>

#include "ipdk/log.h"
#include "rpc_internal.h"

#define STATUS_DETAILS_KEY "grpc-status-details-bin"

__thread bool rpc_on_worker;

static void call_close_done(struct rpc_tag *tag, bool ok);
static void call_recv_done(struct rpc_tag *tag, bool ok);
static void call_send_done(struct rpc_tag *tag, bool ok);

static bool is_stream_in(const struct ipdk_rpc_call *call)
{
	return call->method && (call->method->kind == IPDK_RPC_CLIENT_STREAM ||
				call->method->kind == IPDK_RPC_BIDI_STREAM);
}

static void call_free(struct ipdk_rpc_call *call)
{
	while (call->q_len) {
		grpc_byte_buffer_destroy(call->queue[call->q_head]);
		call->q_head = (call->q_head + 1) % call->q_cap;
		call->q_len--;
	}
	if (call->request)
		protobuf_c_message_free_unpacked(call->request, NULL);
	grpc_slice_unref(call->status_msg);
	if (call->has_trailer)
		grpc_slice_unref(call->trailer.value);
	pthread_cond_destroy(&call->cond);
	pthread_mutex_destroy(&call->lock);
	free(call->queue);
	free(call->method_name);
	gpr_free(call->peer);
	free(call);
}

void ipdk_rpc_call_ref(struct ipdk_rpc_call *call)
{
	atomic_fetch_add(&call->refs, 1);
}

void ipdk_rpc_call_unref(struct ipdk_rpc_call *call)
{
	if (call && atomic_fetch_sub(&call->refs, 1) == 1)
		call_free(call);
}

const struct ipdk_rpc_method *ipdk_rpc_call_method(const struct ipdk_rpc_call *call)
{
	return call->method;
}

void *ipdk_rpc_call_ctx(const struct ipdk_rpc_call *call)
{
	return call->method ? call->method->ctx : NULL;
}

const ProtobufCMessage *ipdk_rpc_call_request(const struct ipdk_rpc_call *call)
{
	return call->request;
}

const char *ipdk_rpc_call_peer(const struct ipdk_rpc_call *call)
{
	return call->peer ? call->peer : "unknown";
}

void ipdk_rpc_call_set_data(struct ipdk_rpc_call *call, void *data)
{
	call->data = data;
}

void *ipdk_rpc_call_get_data(const struct ipdk_rpc_call *call)
{
	return call->data;
}

bool ipdk_rpc_call_cancelled(struct ipdk_rpc_call *call)
{
	bool cancelled;

	pthread_mutex_lock(&call->lock);
	cancelled = call->cancelled || call->broken;
	pthread_mutex_unlock(&call->lock);
	return cancelled;
}

/* Drops every queued reply once the call can no longer send; wakes waiting senders. */
static void call_break(struct ipdk_rpc_call *call)
{
	call->broken = true;
	while (call->q_len) {
		grpc_byte_buffer_destroy(call->queue[call->q_head]);
		call->q_head = (call->q_head + 1) % call->q_cap;
		call->q_len--;
	}
	pthread_cond_broadcast(&call->cond);
}

static int call_start(struct ipdk_rpc_call *call, const grpc_op *ops, size_t n,
		      struct rpc_tag *tag)
{
	grpc_call_error rc = grpc_call_start_batch(call->gcall, ops, n, tag, NULL);

	if (rc != GRPC_CALL_OK) {
		IPDK_LOG_ERR("rpc %s: starting a batch failed (grpc_call_error %d)",
			     call->method_name, rc);
		return -EIO;
	}
	call->inflight++;
	return 0;
}

/* Starts the next send batch if none is in flight: initial metadata once, the
 * queue head, and the status when nothing else is left to send. */
static void call_pump(struct ipdk_rpc_call *call)
{
	grpc_op ops[3];
	size_t n = 0;
	bool with_status;

	if (call->sending || !call->gcall || call->broken || call->status_sent)
		return;
	if (!call->q_len && !call->finishing)
		return;
	memset(ops, 0, sizeof(ops));
	if (!call->md_sent)
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (call->q_len) {
		call->send_bb = call->queue[call->q_head];
		call->q_head = (call->q_head + 1) % call->q_cap;
		call->q_len--;
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = call->send_bb;
		pthread_cond_broadcast(&call->cond);
	}
	with_status = call->finishing && !call->q_len;
	if (with_status) {
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n].data.send_status_from_server.status = (grpc_status_code)call->code;
		ops[n].data.send_status_from_server.status_details = &call->status_msg;
		if (call->has_trailer) {
			ops[n].data.send_status_from_server.trailing_metadata_count = 1;
			ops[n].data.send_status_from_server.trailing_metadata = &call->trailer;
		}
		n++;
	}
	if (call_start(call, ops, n, &call->send_tag) < 0) {
		if (call->send_bb)
			grpc_byte_buffer_destroy(call->send_bb);
		call->send_bb = NULL;
		call_break(call);
		return;
	}
	call->md_sent = true;
	call->sending = true;
	call->status_sent = with_status;
}

/* Asks gRPC for the next request unless the service is done reading or, for
 * streams, the send queue is full: a peer that does not read is not fed more. */
static void call_read(struct ipdk_rpc_call *call)
{
	grpc_op op;

	if (call->reading || !call->gcall || call->broken || call->finishing)
		return;
	if (is_stream_in(call) && call->q_len >= call->q_cap) {
		call->recv_paused = true;
		return;
	}
	call->recv_paused = false;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &call->recv_bb;
	if (call_start(call, &op, 1, &call->recv_tag) < 0) {
		call_break(call);
		return;
	}
	call->reading = true;
}

/* Called with the lock held after a batch completed: once gRPC is done with
 * the call, hands it back and drops the server's reference (lock released). */
static void call_op_done_unlock(struct ipdk_rpc_call *call)
{
	grpc_call *gcall = NULL;
	bool cancelled;

	call->inflight--;
	if (call->closed && !call->inflight && call->gcall) {
		gcall = call->gcall;
		call->gcall = NULL;
		pthread_cond_broadcast(&call->cond);
	}
	cancelled = call->cancelled;
	pthread_mutex_unlock(&call->lock);
	if (!gcall)
		return;
	if (call->method && call->method->on_done)
		call->method->on_done(call, cancelled);
	grpc_call_unref(gcall);
	rpc_server_call_ended(call->srv);
	ipdk_rpc_call_unref(call);
}

static void call_close_done(struct rpc_tag *tag, bool ok)
{
	struct ipdk_rpc_call *call = rpc_container_of(tag, struct ipdk_rpc_call, close_tag);

	pthread_mutex_lock(&call->lock);
	call->closed = true;
	call->cancelled = !ok || call->close_cancelled;
	if (call->cancelled)
		call_break(call);
	call_op_done_unlock(call);
}

static void call_send_done(struct rpc_tag *tag, bool ok)
{
	struct ipdk_rpc_call *call = rpc_container_of(tag, struct ipdk_rpc_call, send_tag);
	void (*on_writable)(struct ipdk_rpc_call *) = NULL;

	pthread_mutex_lock(&call->lock);
	if (call->send_bb)
		grpc_byte_buffer_destroy(call->send_bb);
	call->send_bb = NULL;
	call->sending = false;
	if (!ok)
		call_break(call);
	call_pump(call);
	if (call->recv_paused && call->q_len < call->q_cap)
		call_read(call);
	if (call->want_writable && call->q_len < call->q_cap && !call->broken) {
		call->want_writable = false;
		on_writable = call->method ? call->method->on_writable : NULL;
	}
	pthread_mutex_unlock(&call->lock);
	if (on_writable)
		on_writable(call);
	pthread_mutex_lock(&call->lock);
	call_op_done_unlock(call);
}

static void call_deliver(struct ipdk_rpc_call *call, grpc_byte_buffer *bb)
{
	const struct ipdk_rpc_method *m = call->method;
	ProtobufCMessage *msg;

	if (!bb) {
		if (is_stream_in(call)) {
			if (m->on_half_close)
				m->on_half_close(call);
			else
				ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
			return;
		}
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT,
				"%s: the client sent no request", call->method_name);
		return;
	}
	msg = rpc_decode(m->request, bb);
	grpc_byte_buffer_destroy(bb);
	if (!msg) {
		IPDK_LOG_DEBUG("rpc %s from %s: malformed %s", call->method_name,
			       ipdk_rpc_call_peer(call), m->request->name);
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT,
				"%s: request is not a valid %s", call->method_name,
				m->request->name);
		return;
	}
	if (is_stream_in(call)) {
		if (m->on_message)
			m->on_message(call, msg);
		protobuf_c_message_free_unpacked(msg, NULL);
		return;
	}
	call->request = msg;
	if (m->on_request)
		m->on_request(call, msg);
	else
		ipdk_rpc_finish(call, IPDK_RPC_UNIMPLEMENTED, "%s: no handler",
				call->method_name);
}

static void call_recv_done(struct rpc_tag *tag, bool ok)
{
	struct ipdk_rpc_call *call = rpc_container_of(tag, struct ipdk_rpc_call, recv_tag);
	grpc_byte_buffer *bb;

	/* reading stays true while the callback runs so requests arrive in order. */
	pthread_mutex_lock(&call->lock);
	bb = call->recv_bb;
	call->recv_bb = NULL;
	pthread_mutex_unlock(&call->lock);
	if (ok)
		call_deliver(call, bb);
	else if (bb)
		grpc_byte_buffer_destroy(bb);
	pthread_mutex_lock(&call->lock);
	call->reading = false;
	if (ok && bb && is_stream_in(call))
		call_read(call);
	call_op_done_unlock(call);
}

static struct ipdk_rpc_call *call_new(struct ipdk_rpc_server *srv,
				      const struct ipdk_rpc_method *method,
				      grpc_call *gcall, const char *method_name)
{
	struct ipdk_rpc_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	call->q_cap = srv->send_queue_len;
	call->queue = calloc(call->q_cap, sizeof(*call->queue));
	call->method_name = strdup(method_name);
	if (!call->queue || !call->method_name) {
		free(call->queue);
		free(call->method_name);
		free(call);
		return NULL;
	}
	call->srv = srv;
	call->method = method;
	call->gcall = gcall;
	call->peer = grpc_call_get_peer(gcall);
	atomic_init(&call->refs, 1);
	call->close_tag.done = call_close_done;
	call->recv_tag.done = call_recv_done;
	call->send_tag.done = call_send_done;
	call->status_msg = grpc_empty_slice();
	pthread_mutex_init(&call->lock, NULL);
	pthread_cond_init(&call->cond, NULL);
	return call;
}

void rpc_call_accept(struct ipdk_rpc_server *srv, const struct ipdk_rpc_method *method,
		     grpc_call *gcall, const char *method_name)
{
	struct ipdk_rpc_call *call = call_new(srv, method, gcall, method_name);
	grpc_op op;

	if (!call) {
		IPDK_LOG_ERR("rpc %s: out of memory accepting a call", method_name);
		grpc_call_cancel_with_status(gcall, GRPC_STATUS_RESOURCE_EXHAUSTED,
					     "server out of memory", NULL);
		grpc_call_unref(gcall);
		rpc_server_call_ended(srv);
		return;
	}
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &call->close_cancelled;
	pthread_mutex_lock(&call->lock);
	/* The close batch is counted in inflight like any other, so it holds the
	 * call until it completes; if it cannot start, nothing else will either. */
	if (call_start(call, &op, 1, &call->close_tag) < 0) {
		gcall = call->gcall;
		call->gcall = NULL;
		pthread_mutex_unlock(&call->lock);
		grpc_call_unref(gcall);
		rpc_server_call_ended(srv);
		ipdk_rpc_call_unref(call);
		return;
	}
	if (method) {
		call_read(call);
		pthread_mutex_unlock(&call->lock);
		return;
	}
	/* A cancel could release the call as soon as the lock drops. */
	ipdk_rpc_call_ref(call);
	pthread_mutex_unlock(&call->lock);
	IPDK_LOG_DEBUG("rpc: %s asked for unknown method %s", ipdk_rpc_call_peer(call),
		       method_name);
	ipdk_rpc_finish(call, IPDK_RPC_UNIMPLEMENTED, "method %s is not implemented",
			method_name);
	ipdk_rpc_call_unref(call);
}

/* Queues msg; with last, the OK status goes right behind it (one batch for a
 * unary reply instead of two). */
static int call_enqueue(struct ipdk_rpc_call *call, const ProtobufCMessage *msg,
			bool may_wait, bool last)
{
	const struct ipdk_rpc_method *m = call->method;
	grpc_byte_buffer *bb;
	int ret = 0;

	if (!m || !msg || msg->descriptor != m->response)
		return -EINVAL;
	bb = rpc_encode(msg);
	if (!bb)
		return -ENOMEM;
	pthread_mutex_lock(&call->lock);
	while (may_wait && !rpc_on_worker && call->q_len >= call->q_cap &&
	       !call->broken && !call->finishing && call->gcall)
		pthread_cond_wait(&call->cond, &call->lock);
	if (call->finishing)
		ret = -EALREADY;
	else if (call->broken || !call->gcall)
		ret = -ECANCELED;
	else if (call->q_len >= call->q_cap) {
		call->want_writable = true;
		ret = -EAGAIN;
	}
	if (ret < 0) {
		pthread_mutex_unlock(&call->lock);
		grpc_byte_buffer_destroy(bb);
		return ret;
	}
	call->queue[(call->q_head + call->q_len) % call->q_cap] = bb;
	call->q_len++;
	if (last) {
		call->finishing = true;
		call->code = IPDK_RPC_OK;
	}
	call_pump(call);
	pthread_mutex_unlock(&call->lock);
	return 0;
}

int ipdk_rpc_send(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	return call_enqueue(call, msg, true, false);
}

int ipdk_rpc_try_send(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	return call_enqueue(call, msg, false, false);
}

int ipdk_rpc_reply(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	return call_enqueue(call, msg, true, true);
}

/* Records the status (and its details trailer) and lets the pump send it after
 * whatever is still queued; only the first finish of a call counts. */
static int call_set_status(struct ipdk_rpc_call *call, enum ipdk_rpc_code code,
			   const char *message, const grpc_slice *trailer)
{
	int ret = 0;

	pthread_mutex_lock(&call->lock);
	if (call->finishing)
		ret = -EALREADY;
	else if (call->broken || !call->gcall)
		ret = -ECANCELED;
	if (ret < 0) {
		pthread_mutex_unlock(&call->lock);
		if (trailer)
			grpc_slice_unref(*trailer);
		return ret;
	}
	call->finishing = true;
	/* gRPC clients reject codes outside the defined set; report those as UNKNOWN. */
	call->code = (unsigned int)code > IPDK_RPC_UNAUTHENTICATED ? IPDK_RPC_UNKNOWN : code;
	call->status_msg = grpc_slice_from_copied_string(message);
	if (trailer) {
		call->trailer.key = grpc_slice_from_static_string(STATUS_DETAILS_KEY);
		call->trailer.value = *trailer;
		call->has_trailer = true;
	}
	pthread_cond_broadcast(&call->cond);
	call_pump(call);
	pthread_mutex_unlock(&call->lock);
	return 0;
}

int ipdk_rpc_finish(struct ipdk_rpc_call *call, enum ipdk_rpc_code code,
		    const char *fmt, ...)
{
	char msg[IPDK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return call_set_status(call, code, msg, NULL);
}

int ipdk_rpc_finish_details(struct ipdk_rpc_call *call, enum ipdk_rpc_code code,
			    const char *message,
			    const ProtobufCMessage *const *details, size_t n_details)
{
	grpc_slice trailer;

	if (!message)
		message = "";
	if ((unsigned int)code > IPDK_RPC_UNAUTHENTICATED)
		code = IPDK_RPC_UNKNOWN;
	if (code == IPDK_RPC_OK)
		return call_set_status(call, code, message, NULL);
	if (rpc_status_pack(code, message, details, n_details, &trailer) < 0)
		return call_set_status(call, code, message, NULL);
	return call_set_status(call, code, message, &trailer);
}

int ipdk_rpc_finish_err(struct ipdk_rpc_call *call, const struct ipdk_err *err)
{
	enum ipdk_rpc_code code = ipdk_rpc_code_from_errno(err->code);

	if (code == IPDK_RPC_OK && err->code)
		code = IPDK_RPC_INTERNAL;
	return call_set_status(call, code, err->msg, NULL);
}
