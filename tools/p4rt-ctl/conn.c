/*
 * p4rt-ctl's gRPC transport (see conn.h). Every batch is started with a tag
 * of its own and waited for with grpc_completion_queue_pluck(), so unary calls,
 * a Read and the StreamChannel can share one queue without a thread. The only
 * batch left pending across functions is a stream's receive after a timeout:
 * the next receive (or the close) plucks that same tag.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "conn.h"
#include "google/rpc/status.pb-c.h"

#define DETAILS_KEY "grpc-status-details-bin"
#define MAX_MESSAGE (64 << 20)

struct p4rt_conn {
	grpc_channel *ch;
	grpc_completion_queue *cq;
	double timeout;
};

struct p4rt_stream {
	struct p4rt_conn *c;
	grpc_call *call;
	grpc_metadata_array init_md;
	bool got_init_md;
	bool recv_pending, ended, closed_send;
	grpc_byte_buffer *recv_buf;
	int recv_tag, send_tag, status_tag, close_tag;
	struct p4rt_status st;
};

static const char *const code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *p4rt_code_name(int code)
{
	if (code >= 0 && code < (int)(sizeof(code_names) / sizeof(code_names[0])))
		return code_names[code];
	return "UNKNOWN_CODE";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = 0;
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static int read_pem(const char *dir, const char *given, const char *name, const char *hint,
		    char **out, struct ipdk_err *err)
{
	char path[4096];
	int e;

	if (given)
		snprintf(path, sizeof(path), "%s", given);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	*out = slurp(path, NULL);
	if (*out)
		return 0;
	e = errno;
	return ipdk_err_set(err, -e, "cannot read %s %s: %s (%s)", hint, path, strerror(e),
			    "use --cert-dir, or --grpc-security tls|insecure");
}

int p4rt_conn_open(const struct p4rt_conn_opts *o, struct p4rt_conn **out, struct ipdk_err *err)
{
	grpc_channel_credentials *creds;
	grpc_arg args[3];
	grpc_channel_args cargs = { .num_args = 0, .args = args };
	struct p4rt_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	c->timeout = o->timeout > 0 ? o->timeout : 30;
	grpc_init();
	if (o->security == P4RT_SEC_INSECURE) {
		creds = grpc_insecure_credentials_create();
	} else {
		char *ca = NULL, *crt = NULL, *key = NULL;
		grpc_ssl_pem_key_cert_pair pair;

		rc = read_pem(o->cert_dir, o->ca, "ca.crt", "CA certificate", &ca, err);
		if (!rc && o->security == P4RT_SEC_MTLS) {
			rc = read_pem(o->cert_dir, o->cert, "client.crt", "client certificate", &crt, err);
			if (!rc)
				rc = read_pem(o->cert_dir, o->key, "client.key", "client key", &key, err);
		}
		if (rc) {
			free(ca);
			free(crt);
			free(key);
			grpc_shutdown();
			free(c);
			return rc;
		}
		pair.private_key = key;
		pair.cert_chain = crt;
		creds = grpc_ssl_credentials_create(ca, crt ? &pair : NULL, NULL, NULL);
		free(ca);
		free(crt);
		free(key);
		if (o->tls_name) {
			args[cargs.num_args].type = GRPC_ARG_STRING;
			args[cargs.num_args].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
			args[cargs.num_args++].value.string = (char *)o->tls_name;
		}
	}
	args[cargs.num_args].type = GRPC_ARG_INTEGER;
	args[cargs.num_args].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[cargs.num_args++].value.integer = MAX_MESSAGE;
	args[cargs.num_args].type = GRPC_ARG_INTEGER;
	args[cargs.num_args].key = GRPC_ARG_MAX_METADATA_SIZE;
	args[cargs.num_args++].value.integer = MAX_MESSAGE;
	c->ch = creds ? grpc_channel_create(o->addr, creds, &cargs) : NULL;
	if (creds)
		grpc_channel_credentials_release(creds);
	if (!c->ch) {
		grpc_shutdown();
		free(c);
		return ipdk_err_set(err, -EINVAL, "cannot create a gRPC channel to %s (bad certificates?)",
				    o->addr);
	}
	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	*out = c;
	return 0;
}

void p4rt_conn_close(struct p4rt_conn *c)
{
	if (!c)
		return;
	grpc_channel_destroy(c->ch);
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_past(GPR_CLOCK_REALTIME), NULL).type ==
	       GRPC_OP_COMPLETE)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_shutdown();
	free(c);
}

void p4rt_status_fini(struct p4rt_status *st)
{
	free(st->msg);
	for (size_t i = 0; i < st->n_errors; i++)
		p4__v1__error__free_unpacked(st->errors[i], NULL);
	free(st->errors);
	memset(st, 0, sizeof(*st));
}

static gpr_timespec deadline(double s)
{
	if (s < 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis((int64_t)(s * 1000), GPR_TIMESPAN));
}

/* Starts a batch and waits for it; true when it completed successfully. */
static bool batch(struct p4rt_conn *c, grpc_call *call, const grpc_op *ops, size_t n, void *tag)
{
	grpc_event ev;

	if (grpc_call_start_batch(call, ops, n, tag, NULL) != GRPC_CALL_OK)
		return false;
	ev = grpc_completion_queue_pluck(c->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d)
{
	grpc_byte_buffer_reader r;
	ProtobufCMessage *m;
	grpc_slice s;

	if (!bb || !grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return m;
}

/* Status code, message and the p4.v1.Error details from the trailers. */
static void status_fill(struct p4rt_status *st, grpc_status_code code, grpc_slice details,
			const grpc_metadata_array *trailers)
{
	st->code = (int)code;
	st->msg = grpc_slice_to_c_string(details);
	for (size_t i = 0; i < trailers->count; i++) {
		const grpc_metadata *md = &trailers->metadata[i];
		Google__Rpc__Status *rs;

		if (grpc_slice_str_cmp(md->key, DETAILS_KEY) != 0)
			continue;
		rs = google__rpc__status__unpack(NULL, GRPC_SLICE_LENGTH(md->value),
						 GRPC_SLICE_START_PTR(md->value));
		if (!rs)
			continue;
		st->errors = calloc(rs->n_details ? rs->n_details : 1, sizeof(*st->errors));
		for (size_t k = 0; st->errors && k < rs->n_details; k++) {
			Google__Protobuf__Any *a = rs->details[k];
			const char *t = a->type_url ? strrchr(a->type_url, '/') : NULL;
			P4__V1__Error *e;

			if (!t || strcmp(t + 1, "p4.v1.Error"))
				continue;
			e = p4__v1__error__unpack(NULL, a->value.len, a->value.data);
			if (e)
				st->errors[st->n_errors++] = e;
		}
		google__rpc__status__free_unpacked(rs, NULL);
		break;
	}
	{	/* own the text with malloc; "no message" reads better than nothing */
		char *m = strdup(st->code && !*st->msg ? "(no message)" : st->msg);

		gpr_free(st->msg);
		st->msg = m;
	}
}

static grpc_call *new_call(struct p4rt_conn *c, const char *method, gpr_timespec until)
{
	grpc_slice m = grpc_slice_from_static_string(method);

	return grpc_channel_create_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL,
					until, NULL);
}

/* Waits for the call's final status (a batch of its own) and fills st. */
static void recv_status(struct p4rt_conn *c, grpc_call *call, void *tag, bool cancelled_by_us,
			struct p4rt_status *st)
{
	grpc_metadata_array trail_md;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op op;

	grpc_metadata_array_init(&trail_md);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op.data.recv_status_on_client.trailing_metadata = &trail_md;
	op.data.recv_status_on_client.status = &code;
	op.data.recv_status_on_client.status_details = &details;
	batch(c, call, &op, 1, tag);
	status_fill(st, cancelled_by_us ? GRPC_STATUS_OK : code, details, &trail_md);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&trail_md);
}

int p4rt_unary(struct p4rt_conn *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
	       struct p4rt_status *st)
{
	grpc_metadata_array init_md, trail_md;
	grpc_byte_buffer *send = pack(req), *recv = NULL;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_call *call = new_call(c, method, deadline(c->timeout));
	grpc_op ops[6];
	int tag;

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
	ops[5].data.recv_status_on_client.status_details = &details;
	batch(c, call, ops, 6, &tag);
	status_fill(st, code, details, &trail_md);
	if (!st->code && reply) {
		*reply = unpack(recv, reply_desc);
		if (!*reply) {
			free(st->msg);
			st->msg = strdup("the server's reply is not a valid message of its type");
			st->code = GRPC_STATUS_INTERNAL;
		}
	}
	grpc_byte_buffer_destroy(send);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	return st->code;
}

int p4rt_read(struct p4rt_conn *c, const P4__V1__ReadRequest *req,
	      int (*fn)(const P4__V1__ReadResponse *r, void *arg), void *arg,
	      struct p4rt_status *st)
{
	grpc_metadata_array init_md;
	grpc_byte_buffer *send = pack(&req->base);
	grpc_call *call = new_call(c, "/p4.v1.P4Runtime/Read", deadline(c->timeout));
	bool stop = false;
	grpc_op ops[4];
	int tag;

	memset(st, 0, sizeof(*st));
	grpc_metadata_array_init(&init_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	batch(c, call, ops, 4, &tag);
	while (!stop) {
		grpc_byte_buffer *recv = NULL;
		P4__V1__ReadResponse *r;

		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_RECV_MESSAGE;
		ops[0].data.recv_message.recv_message = &recv;
		if (!batch(c, call, ops, 1, &tag) || !recv)
			break;
		r = (P4__V1__ReadResponse *)unpack(recv, &p4__v1__read_response__descriptor);
		grpc_byte_buffer_destroy(recv);
		if (!r) {
			grpc_call_cancel_with_status(call, GRPC_STATUS_INTERNAL, "bad ReadResponse", NULL);
			break;
		}
		stop = fn(r, arg) != 0;
		p4__v1__read_response__free_unpacked(r, NULL);
	}
	if (stop)
		grpc_call_cancel(call, NULL);
	recv_status(c, call, &tag, stop, st);
	grpc_byte_buffer_destroy(send);
	grpc_metadata_array_destroy(&init_md);
	grpc_call_unref(call);
	return st->code;
}

/* ---- StreamChannel ------------------------------------------------------------- */

int p4rt_stream_open(struct p4rt_conn *c, struct p4rt_stream **out, struct ipdk_err *err)
{
	struct p4rt_stream *s = calloc(1, sizeof(*s));
	grpc_op op;

	if (!s)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	s->c = c;
	s->st.code = -1;
	s->call = new_call(c, "/p4.v1.P4Runtime/StreamChannel", gpr_inf_future(GPR_CLOCK_REALTIME));
	grpc_metadata_array_init(&s->init_md);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_INITIAL_METADATA;
	if (!batch(c, s->call, &op, 1, &s->send_tag)) {
		grpc_call_unref(s->call);
		grpc_metadata_array_destroy(&s->init_md);
		free(s);
		return ipdk_err_set(err, -EIO, "cannot start a StreamChannel");
	}
	*out = s;
	return 0;
}

static void stream_finish(struct p4rt_stream *s)
{
	if (s->ended)
		return;
	s->ended = true;
	recv_status(s->c, s->call, &s->status_tag, false, &s->st);
}

int p4rt_stream_send(struct p4rt_stream *s, const P4__V1__StreamMessageRequest *m)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	bool ok;

	if (s->ended || s->closed_send)
		return -EPIPE;
	bb = pack(&m->base);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_SEND_MESSAGE;
	op.data.send_message.send_message = bb;
	ok = batch(s->c, s->call, &op, 1, &s->send_tag);
	grpc_byte_buffer_destroy(bb);
	return ok ? 0 : -EPIPE;
}

int p4rt_stream_recv(struct p4rt_stream *s, double timeout, P4__V1__StreamMessageResponse **out)
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
	*out = (P4__V1__StreamMessageResponse *)unpack(s->recv_buf,
						       &p4__v1__stream_message_response__descriptor);
	grpc_byte_buffer_destroy(s->recv_buf);
	s->recv_buf = NULL;
	if (!*out) {
		grpc_call_cancel_with_status(s->call, GRPC_STATUS_INTERNAL,
					     "bad StreamMessageResponse", NULL);
		stream_finish(s);
		return -EPIPE;
	}
	return 1;
}

const struct p4rt_status *p4rt_stream_status(const struct p4rt_stream *s)
{
	return &s->st;
}

void p4rt_stream_close(struct p4rt_stream *s)
{
	grpc_op op;

	if (!s)
		return;
	if (!s->ended) {
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		batch(s->c, s->call, &op, 1, &s->close_tag);
		s->closed_send = true;
		/* the server ends the stream once it sees our half-close */
		for (;;) {
			P4__V1__StreamMessageResponse *m;
			int rc = p4rt_stream_recv(s, 2.0, &m);

			if (rc == 1) {
				p4__v1__stream_message_response__free_unpacked(m, NULL);
				continue;
			}
			if (rc == 0)
				grpc_call_cancel(s->call, NULL);
			else
				break;
		}
	}
	if (s->recv_pending)
		grpc_completion_queue_pluck(s->c->cq, &s->recv_tag,
					    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (s->recv_buf)
		grpc_byte_buffer_destroy(s->recv_buf);
	p4rt_status_fini(&s->st);
	grpc_metadata_array_destroy(&s->init_md);
	grpc_call_unref(s->call);
	free(s);
}
