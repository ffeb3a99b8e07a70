/*
 * What every p4rt-ctl command shares: the connection to the P4Runtime
 * server, the P4Info fetched once, StreamChannel arbitration before writes,
 * Write and Read requests, the messages and exit status of failed calls and
 * bad input, the --json output collected across a command, and small input
 * helpers (a file's contents, KEY=N pairs of a FLOW).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_ctl.h"
#include "value.h"

/* ---- errors and calls ------------------------------------------------------------ */

int input_error(struct ctl *c)
{
	fprintf(stderr, "p4rt-ctl: %s: %s\n", c->cmd, c->err.msg);
	return EX_USAGE;
}

/* Prints a failed call's status and the p4.v1.Error of each failed update. */
int rpc_error(struct ctl *c, const char *rpc, const struct ipdk_rpc_status *st)
{
	size_t shown = 0;

	fprintf(stderr, "p4rt-ctl: %s: %s failed: %s: %s\n", c->cmd, rpc,
		ipdk_rpc_code_name(st->code), st->message ? st->message : "");
	for (size_t i = 0; i < st->n_details; i++) {
		P4__V1__Error *e = (P4__V1__Error *)ipdk_rpc_status_detail(st, i,
									  &p4__v1__error__descriptor);

		if (e && e->canonical_code && shown++ < 20)
			fprintf(stderr, "  update %zu: %s: %s\n", i,
				ipdk_rpc_code_name(e->canonical_code), e->message ? e->message : "");
		if (e)
			p4__v1__error__free_unpacked(e, NULL);
	}
	if (shown > 20)
		fprintf(stderr, "  ... %zu failed updates in all\n", shown);
	if (st->code == 14 || st->code == 4) {  /* UNAVAILABLE, DEADLINE_EXCEEDED */
		fprintf(stderr, "p4rt-ctl: is a P4Runtime server listening on %s with %s? "
			"(--grpc-addr, --grpc-security, --cert-dir)\n", c->co.address,
			c->co.security == IPDK_RPC_SEC_MTLS ? "mutual TLS" :
			c->co.security == IPDK_RPC_SEC_TLS ? "TLS" : "plaintext");
		return EX_UNREACHABLE;
	}
	return EX_REFUSED;
}

static int connect_once(struct ctl *c)
{
	if (c->conn)
		return 0;
	if (ipdk_rpc_client_create(&c->co, &c->conn, &c->err)) {
		fprintf(stderr, "p4rt-ctl: %s (use --cert-dir, or --grpc-security tls|insecure)\n",
			c->err.msg);
		return EX_USAGE;
	}
	return 0;
}

int get_pipeline(struct ctl *c, int type, P4__V1__ForwardingPipelineConfig **out)
{
	P4__V1__GetForwardingPipelineConfigRequest req =
		P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__INIT;
	P4__V1__GetForwardingPipelineConfigResponse *rep = NULL;
	struct ipdk_rpc_status st;
	int rc = connect_once(c);

	if (rc)
		return rc;
	req.device_id = c->device_id;
	req.response_type = type;
	if (ipdk_rpc_client_unary(c->conn, SVC "GetForwardingPipelineConfig", &req.base,
		       &p4__v1__get_forwarding_pipeline_config_response__descriptor,
		       (ProtobufCMessage **)&rep, &st)) {
		rc = rpc_error(c, "GetForwardingPipelineConfig", &st);
		ipdk_rpc_status_fini(&st);
		return rc;
	}
	ipdk_rpc_status_fini(&st);
	*out = rep->config;
	rep->config = NULL;
	p4__v1__get_forwarding_pipeline_config_response__free_unpacked(rep, NULL);
	if (!*out)
		*out = msg_new(&p4__v1__forwarding_pipeline_config__descriptor);
	return 0;
}

/* The P4Info of the running pipeline, fetched once. */
int need_info(struct ctl *c)
{
	P4__V1__ForwardingPipelineConfig *cfg;
	int rc;

	if (c->info)
		return 0;
	rc = get_pipeline(c, P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__P4INFO_AND_COOKIE,
			  &cfg);
	if (rc)
		return rc;
	c->info = cfg->p4info;
	cfg->p4info = NULL;
	p4__v1__forwarding_pipeline_config__free_unpacked(cfg, NULL);
	if (!c->info) {
		fprintf(stderr, "p4rt-ctl: %s: device %" PRIu64 " has no pipeline (no P4Info); "
			"use set-pipe first\n", c->cmd, c->device_id);
		return EX_REFUSED;
	}
	return 0;
}

P4__V1__Uint128 *election(struct ctl *c)
{
	P4__V1__Uint128 *e = msg_new(&p4__v1__uint128__descriptor);

	e->high = c->elect_high;
	e->low = c->elect_low;
	return e;
}

/* Opens a StreamChannel and becomes primary for (device, role) with our election id. */
int arbitrate(struct ctl *c)
{
	P4__V1__StreamMessageRequest req = P4__V1__STREAM_MESSAGE_REQUEST__INIT;
	P4__V1__MasterArbitrationUpdate arb = P4__V1__MASTER_ARBITRATION_UPDATE__INIT;
	P4__V1__Role role = P4__V1__ROLE__INIT;
	P4__V1__Uint128 eid = P4__V1__UINT128__INIT;
	double wait = c->co.timeout > 0 ? c->co.timeout : 30;
	int rc = connect_once(c);

	if (rc || c->stream)
		return rc;
	if (ipdk_rpc_client_stream_open(c->conn, SVC "StreamChannel",
					&p4__v1__stream_message_response__descriptor, 0,
					&c->stream, &c->err)) {
		fprintf(stderr, "p4rt-ctl: %s: %s\n", c->cmd, c->err.msg);
		return EX_REFUSED;
	}
	eid.high = c->elect_high;
	eid.low = c->elect_low;
	arb.device_id = c->device_id;
	arb.election_id = &eid;
	if (c->role) {
		role.name = (char *)c->role;
		arb.role = &role;
	}
	req.update_case = P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_ARBITRATION;
	req.arbitration = &arb;
	ipdk_rpc_stream_send(c->stream, &req.base);
	for (;;) {
		P4__V1__StreamMessageResponse *m;
		int got = ipdk_rpc_stream_recv(c->stream, wait, (ProtobufCMessage **)&m);

		if (got == 0) {
			fprintf(stderr, "p4rt-ctl: %s: no arbitration answer within %.0f s\n", c->cmd, wait);
			return EX_UNREACHABLE;
		}
		if (got < 0)
			return rpc_error(c, "StreamChannel arbitration", ipdk_rpc_stream_status(c->stream));
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ARBITRATION) {
			const P4__V1__MasterArbitrationUpdate *a = m->arbitration;
			int code = a->status ? a->status->code : 0;

			if (code) {
				fprintf(stderr, "p4rt-ctl: %s: not primary for device %" PRIu64 " role \"%s\": "
					"the primary's election id is %" PRIu64 ":%" PRIu64 ", ours %" PRIu64
					":%" PRIu64 " (use a higher --election-id)\n", c->cmd, c->device_id,
					c->role ? c->role : "", a->election_id ? a->election_id->high : 0,
					a->election_id ? a->election_id->low : 0, c->elect_high, c->elect_low);
				p4__v1__stream_message_response__free_unpacked(m, NULL);
				return EX_REFUSED;
			}
			p4__v1__stream_message_response__free_unpacked(m, NULL);
			return 0;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
}

/* Sends updates (taking ownership) as one WriteRequest; prints per-update errors. */
int write_updates(struct ctl *c, P4__V1__Update **ups, size_t n)
{
	P4__V1__WriteRequest *req = msg_new(&p4__v1__write_request__descriptor);
	ProtobufCMessage *rep = NULL;
	struct ipdk_rpc_status st;
	int rc;

	req->device_id = c->device_id;
	req->election_id = election(c);
	if (c->role)
		req->role = strdup(c->role);
	req->updates = ups;
	req->n_updates = n;
	rc = arbitrate(c);
	if (!rc) {
		if (ipdk_rpc_client_unary(c->conn, SVC "Write", &req->base, &p4__v1__write_response__descriptor,
			       &rep, &st))
			rc = rpc_error(c, "Write", &st);
		ipdk_rpc_status_fini(&st);
	}
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	p4__v1__write_request__free_unpacked(req, NULL);
	return rc;
}

P4__V1__Update *update_of(int type, P4__V1__Entity *e)
{
	P4__V1__Update *u = msg_new(&p4__v1__update__descriptor);

	u->type = type;
	u->entity = e;
	return u;
}

int write_one(struct ctl *c, int type, P4__V1__Entity *e)
{
	P4__V1__Update **ups = malloc(sizeof(*ups));

	if (!ups)
		return EX_REFUSED;
	ups[0] = update_of(type, e);
	return write_updates(c, ups, 1);
}

/* Sends e, which a command has just built, as one update of type; when
 * building it failed (rc) drops it and reports c->err as bad input instead. */
int write_built(struct ctl *c, int type, P4__V1__Entity *e, int rc)
{
	if (rc) {
		p4__v1__entity__free_unpacked(e, NULL);
		return input_error(c);
	}
	return write_one(c, type, e);
}

P4__V1__Entity *entity_new(void)
{
	return msg_new(&p4__v1__entity__descriptor);
}

struct read_cb {
	struct ctl *c;
	void (*fn)(struct ctl *c, const P4__V1__Entity *e, void *arg);
	void *arg;
};

static int read_each(const ProtobufCMessage *m, void *p)
{
	const P4__V1__ReadResponse *r = (const P4__V1__ReadResponse *)m;
	struct read_cb *x = p;

	for (size_t i = 0; i < r->n_entities; i++)
		x->fn(x->c, r->entities[i], x->arg);
	return 0;
}

/* Reads entities matching e (taking ownership); fn runs per entity. */
int read_entities(struct ctl *c, P4__V1__Entity *e,
			 void (*fn)(struct ctl *c, const P4__V1__Entity *e, void *arg), void *arg)
{
	P4__V1__ReadRequest *req = msg_new(&p4__v1__read_request__descriptor);
	struct read_cb cb = { c, fn, arg };
	struct ipdk_rpc_status st;
	int rc = connect_once(c);

	req->device_id = c->device_id;
	if (c->role)
		req->role = strdup(c->role);
	req->entities = malloc(sizeof(*req->entities));
	req->entities[0] = e;
	req->n_entities = 1;
	if (!rc) {
		if (ipdk_rpc_client_each(c->conn, SVC "Read", &req->base,
					 &p4__v1__read_response__descriptor, read_each, &cb, &st))
			rc = rpc_error(c, "Read", &st);
		ipdk_rpc_status_fini(&st);
	}
	p4__v1__read_request__free_unpacked(req, NULL);
	return rc;
}

/* ---- output helpers ------------------------------------------------------------ */

static json_t *out_json;        /* --json: results collect here, printed at the end */

void json_emit(json_t *o)
{
	if (!out_json)
		out_json = json_array();
	json_array_append_new(out_json, o);
}

void json_flush(bool as_object)
{
	json_t *all = out_json ? out_json : json_array();
	json_t *o = as_object && json_array_size(all) == 1 ? json_array_get(all, 0) : all;

	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(all);
	out_json = NULL;
}

json_t *counter_json(const P4__V1__CounterData *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "bytes", json_integer(d ? d->byte_count : 0));
	json_object_set_new(o, "packets", json_integer(d ? d->packet_count : 0));
	return o;
}

/* ---- input helpers -------------------------------------------------------------- */

char *slurp(const char *path, size_t *len, struct ipdk_err *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		ipdk_err_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *nb = realloc(buf, cap = (cap ? cap * 2 : 65536) + 65536 + 1);

			if (!nb) {
				free(buf);
				fclose(f);
				ipdk_err_set(err, -ENOMEM, "%s: out of memory", path);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 65536, f);

		n += r;
		if (r < 65536)
			break;
	}
	if (ferror(f)) {
		ipdk_err_set(err, -EIO, "%s: read error", path);
		free(buf);
		buf = NULL;
	} else {
		buf[n] = 0;
		*len = n;
	}
	fclose(f);
	return buf;
}

/* A KEY=N pair of kv (0 when absent); -1 with err set when malformed. */
int kv_u32(struct ctl *c, const struct kvlist *kv, const char *key, uint32_t *out,
		  bool required)
{
	*out = 0;
	for (size_t i = 0; i < kv->n; i++) {
		uint64_t v;

		if (strcmp(kv->v[i].key, key))
			continue;
		if (!kv->v[i].val || u64_parse(kv->v[i].val, key, &v, &c->err))
			return kv->v[i].val ? -1 : ipdk_err_set(&c->err, -EINVAL, "%s needs a value", key);
		if (v > UINT32_MAX)
			return ipdk_err_set(&c->err, -ERANGE, "%s=%s is out of range", key, kv->v[i].val);
		*out = (uint32_t)v;
		return 0;
	}
	if (required)
		return ipdk_err_set(&c->err, -EINVAL, "%s=N is missing", key);
	return 0;
}

const char *kv_get(const struct kvlist *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->v[i].key, key))
			return kv->v[i].val ? kv->v[i].val : "";
	return NULL;
}
