/*
 * The client side of lib/rpc (include/ipdk/rpc_client.h): a channel with its
 * credentials, unary and streaming calls on protobuf-c messages, and the
 * decoding of a call's status and google.rpc.Status details.
 *
 * Every batch is started with a tag of its own and waited for with
 * grpc_completion_queue_pluck(), so unary calls and several streams share one
 * queue without a thread. The only batch left pending across functions is a
 * stream's receive after a timeout: the next receive (or the cancel/close)
 * plucks that same tag. A stream's status is asked for only once a receive or
 * send failed (or the caller cancels), in a batch of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "google/rpc/status.pb-c.h"
#include "ipdk/rpc_client.h"
#include "rpc_internal.h"

#define DETAILS_KEY "grpc-status-details-bin"

struct ipdk_rpc_client {
	char *address;
	grpc_channel *ch;
	grpc_completion_queue *cq;
	double timeout;
};

struct ipdk_rpc_stream {
	struct ipdk_rpc_client *c;
	const ProtobufCMessageDescriptor *reply_desc;
	grpc_call *call;
	grpc_metadata_array init_md;
	bool got_init_md, recv_pending, ended, closed_send;
	grpc_byte_buffer *recv_buf;
	/* distinct addresses as pluck tags */
	char recv_tag, send_tag, status_tag, close_tag;
	struct ipdk_rpc_status st;
};

/* ---- channel ---- */

static int client_credentials(const struct ipdk_rpc_client_config *cfg,
			      grpc_channel_credentials **out, struct ipdk_err *err)
{
	char *paths[3] = { NULL, NULL, NULL }, *pem[3] = { NULL, NULL, NULL };
	static const char *const names[3] = { "ca.crt", "client.crt", "client.key" };
	const char *given[3] = { cfg->ca_cert_file, cfg->cert_file, cfg->key_file };
	int n = cfg->security == IPDK_RPC_SEC_MTLS ? 3 : 1, ret = 0;
	grpc_ssl_pem_key_cert_pair pair;

	if (cfg->security == IPDK_RPC_SEC_INSECURE) {
		*out = grpc_insecure_credentials_create();
		return 0;
	}
	for (int i = 0; i < n && !ret; i++) {
		paths[i] = rpc_path_or_default(given[i], cfg->cert_dir, names[i]);
		if (!paths[i])
			ret = ipdk_err_set(err, -EINVAL, "rpc client %s: no %s (set a certificate "
					   "directory or the file)", cfg->address, names[i]);
		else
			ret = rpc_pem_read(paths[i], &pem[i], err);
	}
	if (!ret) {
		pair.cert_chain = pem[1];
		pair.private_key = pem[2];
		*out = grpc_ssl_credentials_create(pem[0], n == 3 ? &pair : NULL, NULL, NULL);
		if (!*out)
			ret = ipdk_err_set(err, -EINVAL, "rpc client %s: gRPC rejected the TLS "
					   "credentials", cfg->address);
	}
	if (pem[2])
		explicit_bzero(pem[2], strlen(pem[2]));
	for (int i = 0; i < 3; i++) {
		free(paths[i]);
		free(pem[i]);
	}
	return ret;
}

int ipdk_rpc_client_create(const struct ipdk_rpc_client_config *cfg,
			   struct ipdk_rpc_client **out, struct ipdk_err *err)
{
	size_t max = cfg->max_message_size ? cfg->max_message_size : IPDK_RPC_DEFAULT_MAX_MESSAGE;
	grpc_channel_credentials *creds = NULL;
	grpc_arg args[3];
	grpc_channel_args cargs = { .num_args = 0, .args = args };
	struct ipdk_rpc_client *c;
	int ret;

	if (!cfg->address || !*cfg->address)
		return ipdk_err_set(err, -EINVAL, "rpc client: no server address");
	if (max > 0x7fffffff || cfg->timeout < 0)
		return ipdk_err_set(err, -EINVAL, "rpc client %s: %s", cfg->address,
				    cfg->timeout < 0 ? "negative timeout" :
				    "max_message_size is over 2 GiB - 1");
	c = calloc(1, sizeof(*c));
	if (!c || !(c->address = strdup(cfg->address))) {
		free(c);
		return ipdk_err_set(err, -ENOMEM, "rpc client %s: out of memory", cfg->address);
	}
	c->timeout = cfg->timeout > 0 ? cfg->timeout : IPDK_RPC_CLIENT_DEFAULT_TIMEOUT;
	grpc_init();
	ret = client_credentials(cfg, &creds, err);
	if (ret)
		goto fail;
	if (cfg->tls_name && cfg->security != IPDK_RPC_SEC_INSECURE) {
		args[cargs.num_args].type = GRPC_ARG_STRING;
		args[cargs.num_args].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[cargs.num_args++].value.string = (char *)cfg->tls_name;
	}
	/* big Read replies, and Write errors that travel in the trailers */
	args[cargs.num_args].type = GRPC_ARG_INTEGER;
	args[cargs.num_args].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[cargs.num_args++].value.integer = (int)max;
	args[cargs.num_args].type = GRPC_ARG_INTEGER;
	args[cargs.num_args].key = GRPC_ARG_MAX_METADATA_SIZE;
	args[cargs.num_args++].value.integer = (int)max;
	c->ch = grpc_channel_create(cfg->address, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!c->ch) {
		ret = ipdk_err_set(err, -EINVAL, "rpc client %s: cannot create a channel",
				   cfg->address);
		goto fail;
	}
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	*out = c;
	return 0;
fail:
	grpc_shutdown();
	free(c->address);
	free(c);
	return ret;
}

void ipdk_rpc_client_destroy(struct ipdk_rpc_client *c)
{
	if (!c)
		return;
	grpc_channel_destroy(c->ch);
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_past(GPR_CLOCK_REALTIME),
					   NULL).type == GRPC_OP_COMPLETE)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_shutdown();
	free(c->address);
	free(c);
}

const char *ipdk_rpc_client_address(const struct ipdk_rpc_client *c)
{
	return c->address;
}

static gpr_timespec deadline(double s)
{
	if (s < 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis((int64_t)(s * 1000), GPR_TIMESPAN));
}

/* Starts a batch and waits for it; true when it completed successfully. */
static bool batch(struct ipdk_rpc_client *c, grpc_call *call, const grpc_op *ops, size_t n,
		  void *tag)
{
	grpc_event ev;

	if (grpc_call_start_batch(call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	ev = grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static grpc_call *new_call(struct ipdk_rpc_client *c, const char *method, gpr_timespec until)
{
	grpc_slice m = grpc_slice_from_copied_string(method);   /* the call takes a reference */
	grpc_call *call;

	call = grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL,
					until, NULL);
	grpc_slice_unref(m);
	return call;
}

/* ---- status ---- */

static void status_set_message(struct ipdk_rpc_status *st, const char *msg)
{
	free(st->message);
	st->message = strdup(msg);
}

/* Keeps the details of a google.rpc.Status trailer as (type, bytes) pairs. */
static void status_details(struct ipdk_rpc_status *st, grpc_slice value)
{
	Google__Rpc__Status *rs;

	rs = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(value),
					 GRPC_SLICE_START_PTR(value));
	if (!rs)
		return;
	st->details = calloc(rs->n_details ? rs->n_details : 1, sizeof(*st->details));
	for (size_t k = 0; st->details && k < rs->n_details; k++) {
		const Google__Protobuf__Any *a = rs->details[k];
		const char *t = a->type_url ? strrchr(a->type_url, '/') : NULL;
		struct ipdk_rpc_detail *d = &st->details[st->n_details];

		d->type = strdup(t ? t + 1 : a->type_url ? a->type_url : "");
		d->data = malloc(a->value.len + 1);
		if (!d->type || !d->data) {
			free(d->type);
			free(d->data);
			break;
		}
		if (a->value.len)
			memcpy(d->data, a->value.data, a->value.len);
		d->len = a->value.len;
		st->n_details++;
	}
	google__rpc__status__free_unpacked(rs, NULL);
}

static void status_fill(struct ipdk_rpc_status *st, grpc_status_code code, grpc_slice text,
			const grpc_metadata_array *trailers)
{
	char *msg = grpc_slice_to_c_string(text);

	st->code = (int)code;
	status_set_message(st, st->code && !*msg ? "(no message)" : msg);
	gpr_free(msg);
	for (size_t i = 0; i < trailers->count; i++) {
		if (!grpc_slice_str_cmp(trailers->metadata[i].key, DETAILS_KEY)) {
			status_details(st, trailers->metadata[i].value);
			break;
		}
	}
}

ProtobufCMessage *ipdk_rpc_status_detail(const struct ipdk_rpc_status *st, size_t i,
					 const ProtobufCMessageDescriptor *desc)
{
	const struct ipdk_rpc_detail *d;

	if (i >= st->n_details)
		return NULL;
	d = &st->details[i];
	if (strcmp(d->type, desc->name))
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, d->len, d->data);
}

void ipdk_rpc_status_fini(struct ipdk_rpc_status *st)
{
	free(st->message);
	for (size_t i = 0; i < st->n_details; i++) {
		free(st->details[i].type);
		free(st->details[i].data);
	}
	free(st->details);
	memset(st, 0, sizeof(*st));
}

/* Waits for the call's final status (a batch of its own) and fills st. */
static void recv_status(struct ipdk_rpc_client *c, grpc_call *call, void *tag,
			struct ipdk_rpc_status *st)
{
	grpc_metadata_array trail_md;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice text = grpc_empty_slice();
	grpc_op op;

	grpc_metadata_array_init(&trail_md);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &trail_md;
	op.data.recv_status_on_client.status = &code;
	op.data.recv_status_on_client.status_details = &text;
	batch(c, call, &op, 1, tag);
	status_fill(st, code, text, &trail_md);
	grpc_slice_unref(text);
	grpc_metadata_array_destroy(&trail_md);
}

/* ---- unary ---- */

int ipdk_rpc_client_unary(struct ipdk_rpc_client *c, const char *method,
			  const ProtobufCMessage *req,
			  const ProtobufCMessageDescriptor *reply_desc,
			  ProtobufCMessage **reply, struct ipdk_rpc_status *st)
{
	grpc_metadata_array init_md, trail_md;
	grpc_byte_buffer *send = rpc_encode(req), *recv = NULL;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice text = grpc_empty_slice();
	grpc_call *call = new_call(c, method, deadline(c->timeout));
	grpc_op ops[6];
	char tag;

	memset(st, 0, sizeof(*st));
	if (reply)
		*reply = NULL;
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[5].data.recv_status_on_client.status = &code;
	ops[5].data.recv_status_on_client.status_details = &text;
	batch(c, call, ops, 6, &tag);
	status_fill(st, code, text, &trail_md);
	if (!st->code && reply) {
		*reply = recv ? rpc_decode(reply_desc, recv) : NULL;
		if (!*reply) {
			st->code = IPDK_RPC_INTERNAL;
			status_set_message(st, recv ? "the server's reply is not a valid message of "
					   "its type" : "the server sent no reply");
		}
	}
	grpc_byte_buffer_destroy(send);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_slice_unref(text);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	return st->code;
}

/* ---- streams ---- */

static void stream_finish(struct ipdk_rpc_stream *s)
{
	if (s->ended)
		return;
	s->ended = true;
	ipdk_rpc_status_fini(&s->st);
	recv_status(s->c, s->call, &s->status_tag, &s->st);
}

int ipdk_rpc_client_stream_open(struct ipdk_rpc_client *c, const char *method,
				const ProtobufCMessageDescriptor *reply_desc, double timeout,
				struct ipdk_rpc_stream **out, struct ipdk_err *err)
{
	struct ipdk_rpc_stream *s = calloc(1, sizeof(*s));
	grpc_op op;

	if (!s)
		return ipdk_err_set(err, -ENOMEM, "rpc client %s: %s: out of memory", c->address,
				    method);
	s->c = c;
	s->reply_desc = reply_desc;
	s->st.code = -1;
	s->call = new_call(c, method, deadline(timeout > 0 ? timeout : -1));
	grpc_metadata_array_init(&s->init_md);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	if (!batch(c, s->call, &op, 1, &s->send_tag))
		stream_finish(s);
	*out = s;
	return 0;
}

int ipdk_rpc_stream_send(struct ipdk_rpc_stream *s, const ProtobufCMessage *msg)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	bool ok;

	if (s->ended || s->closed_send)
		return -EPIPE;
	bb = rpc_encode(msg);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	ok = batch(s->c, s->call, &op, 1, &s->send_tag);
	grpc_byte_buffer_destroy(bb);
	return ok ? 0 : -EPIPE;
}

int ipdk_rpc_stream_close_send(struct ipdk_rpc_stream *s)
{
	grpc_op op;

	if (s->ended || s->closed_send)
		return -EPIPE;
	s->closed_send = true;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	return batch(s->c, s->call, &op, 1, &s->close_tag) ? 0 : -EPIPE;
}

int ipdk_rpc_stream_recv(struct ipdk_rpc_stream *s, double timeout, ProtobufCMessage **out)
{
	grpc_event ev;

	*out = NULL;
	if (s->ended)
		return -EPIPE;
	if (!s->recv_pending) {
		grpc_op ops[2];
		size_t n = 0;

		memset(ops, 0, sizeof(ops));
		if (!s->got_init_md) {
			ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
			ops[n++].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
			s->got_init_md = true;
		}
		ops[n].op = GRPC_OP_RECV_MESSAGE;
		ops[n++].data.recv_message.recv_message = &s->recv_buf;
		if (grpc_call_start_batch(s->call, ops, n, &s->recv_tag, NULL) != GRPC_CALL_OK) {
			stream_finish(s);
			return -EPIPE;
		}
		s->recv_pending = true;
	}
	ev = grpc_completion_queue_pluck(s->c->cq, &s->recv_tag, deadline(timeout), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT)
		return 0;
	s->recv_pending = false;
	if (ev.type != GRPC_OP_COMPLETE || !ev.success || !s->recv_buf) {
		stream_finish(s);
		return -EPIPE;
	}
	*out = rpc_decode(s->reply_desc, s->recv_buf);
	grpc_byte_buffer_destroy(s->recv_buf);
	s->recv_buf = NULL;
	if (!*out) {
		grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL,
					     "the server's reply is not a valid message of its type",
					     NULL);
		stream_finish(s);
		return -EPIPE;
	}
	return 1;
}

void ipdk_rpc_stream_cancel(struct ipdk_rpc_stream *s)
{
	if (s->ended)
		return;
	grpc_call_cancel(s->call, NULL);
	if (s->recv_pending) {
		grpc_completion_queue_pluck(s->c->cq, &s->recv_tag,
					    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		s->recv_pending = false;
	}
	stream_finish(s);
}

bool ipdk_rpc_stream_ended(const struct ipdk_rpc_stream *s)
{
	return s->ended;
}

const struct ipdk_rpc_status *ipdk_rpc_stream_status(const struct ipdk_rpc_stream *s)
{
	return &s->st;
}

void ipdk_rpc_stream_close(struct ipdk_rpc_stream *s, double linger)
{
	gpr_timespec until;

	if (!s)
		return;
	if (!s->ended && !s->closed_send)
		ipdk_rpc_stream_close_send(s);
	/* the server ends the call once it sees our half-close */
	until = deadline(linger > 0 ? linger : 0);
	while (!s->ended) {
		gpr_timespec left = gpr_time_sub(until, gpr_now(GPR_CLOCK_REALTIME));
		ProtobufCMessage *m;
		int rc = 0;

		if (gpr_time_cmp(left, gpr_time_0(GPR_TIMESPAN)) > 0)
			rc = ipdk_rpc_stream_recv(s, gpr_timespec_to_micros(left) / 1e6, &m);
		if (rc == 1)
			protobuf_c_message_free_unpacked(m, NULL);
		else if (rc == 0)
			ipdk_rpc_stream_cancel(s);
	}
	if (s->recv_buf)
		grpc_byte_buffer_destroy(s->recv_buf);
	ipdk_rpc_status_fini(&s->st);
	grpc_metadata_array_destroy(&s->init_md);
	grpc_call_unref(s->call);
	free(s);
}

/* ---- server streaming ---- */

int ipdk_rpc_client_each(struct ipdk_rpc_client *c, const char *method,
			 const ProtobufCMessage *req,
			 const ProtobufCMessageDescriptor *reply_desc,
			 int (*fn)(const ProtobufCMessage *reply, void *arg), void *arg,
			 struct ipdk_rpc_status *st)
{
	struct ipdk_rpc_stream *s;
	ProtobufCMessage *m;
	bool stop = false;

	memset(st, 0, sizeof(*st));
	if (ipdk_rpc_client_stream_open(c, method, reply_desc, c->timeout, &s, NULL)) {
		st->code = IPDK_RPC_RESOURCE_EXHAUSTED;
		status_set_message(st, "out of memory");
		return st->code;
	}
	ipdk_rpc_stream_send(s, req);
	ipdk_rpc_stream_close_send(s);
	while (!stop && ipdk_rpc_stream_recv(s, -1, &m) == 1) {
		stop = fn(m, arg) != 0;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (stop)
		ipdk_rpc_stream_cancel(s);
	*st = s->st;
	memset(&s->st, 0, sizeof(s->st));
	if (stop) {
		st->code = IPDK_RPC_OK;
		status_set_message(st, "");
	}
	ipdk_rpc_stream_close(s, 0);
	return st->code;
}
