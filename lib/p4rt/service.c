/*
 * The P4Runtime service: its own ipdk_rpc_server with the six p4.v1.P4Runtime
 * methods, client arbitration per (device_id, role) on StreamChannel, the
 * primary check for Write and SetForwardingPipelineConfig, Write batches (one
 * TDI batch per Write, per-update p4.v1.Error details), server-streamed Read,
 * pipeline configs (verify, save, commit) and packet I/O through the
 * controller port (packetio.c).
 *
 * Locking: the dataplane lock (ops->lock) covers TDI and the model, which
 * describe the same pipeline; p->lock covers streams and arbitration. The
 * dataplane lock is always taken first. Pipeline pushes and Reads run on
 * threads of their own (deferred completion) so they never hold a network
 * worker while they build a pipeline or wait for a slow reader; a Read
 * holds the dataplane lock only while it encodes its snapshot.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#include "p4rt_int.h"
#include "p4rt_service.h"

#define READ_CHUNK_BYTES (1u << 20)

/* ---- arbitration -------------------------------------------------------- */

static int u128_cmp(const struct p4rt_u128 *a, const struct p4rt_u128 *b)
{
	if (a->high != b->high)
		return a->high < b->high ? -1 : 1;
	if (a->low != b->low)
		return a->low < b->low ? -1 : 1;
	return 0;
}

/* The primary stream of a role (highest election id), or NULL; p->lock held. */
static struct p4rt_stream *primary_of(struct ipdk_p4rt *p, const char *role)
{
	struct p4rt_stream *best = NULL;

	for (struct p4rt_stream *s = p->streams; s; s = s->next) {
		if (!s->arbitrated || !s->has_election || strcmp(s->role, role))
			continue;
		if (!best || u128_cmp(&s->election, &best->election) > 0)
			best = s;
	}
	return best;
}

/* Sends one arbitration update to s; p->lock held. */
static void arbitration_send(struct ipdk_p4rt *p, struct p4rt_stream *s, struct p4rt_stream *primary)
{
	P4__V1__StreamMessageResponse r = P4__V1__STREAM_MESSAGE_RESPONSE__INIT;
	P4__V1__MasterArbitrationUpdate a = P4__V1__MASTER_ARBITRATION_UPDATE__INIT;
	P4__V1__Uint128 eid = P4__V1__UINT128__INIT;
	P4__V1__Role role = P4__V1__ROLE__INIT;
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;

	a.device_id = p->device_id;
	if (s->role[0]) {
		role.name = s->role;
		a.role = &role;
	}
	if (primary) {
		eid.high = primary->election.high;
		eid.low = primary->election.low;
		a.election_id = &eid;
	}
	if (primary == s) {
		st.code = IPDK_RPC_OK;
		st.message = "this client is the primary";
	} else if (primary) {
		st.code = IPDK_RPC_ALREADY_EXISTS;
		st.message = "another client is the primary";
	} else {
		st.code = IPDK_RPC_NOT_FOUND;
		st.message = "there is no primary client";
	}
	a.status = &st;
	r.update_case = P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ARBITRATION;
	r.arbitration = &a;
	if (ipdk_rpc_try_send(s->call, &r.base) == -EAGAIN)
		IPDK_LOG_WARN("p4rt: %s: send queue full, arbitration update dropped",
			      ipdk_rpc_call_peer(s->call));
}

/* After a change in role's streams: tells everyone if the primary changed. */
static void arbitration_changed(struct ipdk_p4rt *p, const char *role, struct p4rt_stream *old)
{
	struct p4rt_stream *now = primary_of(p, role);

	if (now == old)
		return;
	if (now)
		IPDK_LOG_INFO("p4rt: %s is the primary for role \"%s\" (election id %" PRIu64 ":%" PRIu64 ")",
			      ipdk_rpc_call_peer(now->call), role, now->election.high, now->election.low);
	for (struct p4rt_stream *s = p->streams; s; s = s->next)
		if (s->arbitrated && !strcmp(s->role, role))
			arbitration_send(p, s, now);
}

static int arbitrate(struct ipdk_p4rt *p, struct p4rt_stream *s,
		     const P4__V1__MasterArbitrationUpdate *a, struct ipdk_err *err)
{
	const char *role = a->role && a->role->name ? a->role->name : "";
	struct p4rt_stream *old;

	if (a->device_id != p->device_id)
		return ipdk_err_set(err, -ENOENT, "unknown device id %" PRIu64 " (this is device %" PRIu64 ")",
				    a->device_id, p->device_id);
	if (strlen(role) >= sizeof(s->role))
		return ipdk_err_set(err, -EINVAL, "role name longer than %zu characters", sizeof(s->role) - 1);
	if (s->arbitrated && strcmp(s->role, role))
		return ipdk_err_set(err, -EBUSY, "a stream cannot change its role (was \"%s\")", s->role);
	if (a->election_id) {
		struct p4rt_u128 e = { a->election_id->high, a->election_id->low };

		for (struct p4rt_stream *o = p->streams; o; o = o->next)
			if (o != s && o->arbitrated && o->has_election && !strcmp(o->role, role) &&
			    !u128_cmp(&o->election, &e))
				return ipdk_err_set(err, -EINVAL,
						    "election id %" PRIu64 ":%" PRIu64 " is in use by another client of role \"%s\"",
						    e.high, e.low, role);
	}
	old = primary_of(p, role);
	snprintf(s->role, sizeof(s->role), "%s", role);
	s->has_election = a->election_id != NULL;
	if (a->election_id) {
		s->election.high = a->election_id->high;
		s->election.low = a->election_id->low;
	}
	s->arbitrated = true;
	if (primary_of(p, role) != old)
		arbitration_changed(p, role, old);
	else
		arbitration_send(p, s, old);
	return 0;
}

/* 0 when (device, role, election) names the primary; else PERMISSION_DENIED or NOT_FOUND. */
static int primary_check(struct ipdk_p4rt *p, uint64_t device_id, const char *role,
			 const P4__V1__Uint128 *election, struct ipdk_err *err)
{
	struct p4rt_stream *s;
	int rc = 0;

	if (device_id != p->device_id)
		return ipdk_err_set(err, -ENOENT, "unknown device id %" PRIu64, device_id);
	role = role ? role : "";
	pthread_mutex_lock(&p->lock);
	s = primary_of(p, role);
	if (!s)
		rc = ipdk_err_set(err, -EPERM, "no primary client for role \"%s\": arbitrate on StreamChannel first",
				  role);
	else if (!election || election->high != s->election.high || election->low != s->election.low)
		rc = ipdk_err_set(err, -EPERM, "not the primary client of role \"%s\" (election id mismatch)",
				  role);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* ---- StreamChannel ----------------------------------------------------- */

static void stream_error(struct p4rt_stream *s, int code, const char *msg, const P4__V1__PacketOut *po)
{
	P4__V1__StreamMessageResponse r = P4__V1__STREAM_MESSAGE_RESPONSE__INIT;
	P4__V1__StreamError e = P4__V1__STREAM_ERROR__INIT;
	P4__V1__PacketOutError pe = P4__V1__PACKET_OUT_ERROR__INIT;

	e.canonical_code = code;
	e.message = (char *)msg;
	if (po) {
		pe.packet_out = (P4__V1__PacketOut *)po;
		e.details_case = P4__V1__STREAM_ERROR__DETAILS_PACKET_OUT;
		e.packet_out = &pe;
	}
	r.update_case = P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ERROR;
	r.error = &e;
	ipdk_rpc_try_send(s->call, &r.base);
}

static void on_stream_message(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__StreamMessageRequest *req = (const P4__V1__StreamMessageRequest *)msg;
	struct p4rt_stream *s = ipdk_rpc_call_get_data(call);
	struct ipdk_err err;
	int rc;

	ipdk_err_clear(&err);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		s->call = call;
		ipdk_rpc_call_set_data(call, s);
		pthread_mutex_lock(&p->lock);
		s->next = p->streams;
		p->streams = s;
		pthread_mutex_unlock(&p->lock);
	}
	switch (req->update_case) {
	case P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_ARBITRATION:
		pthread_mutex_lock(&p->lock);
		rc = arbitrate(p, s, req->arbitration, &err);
		pthread_mutex_unlock(&p->lock);
		if (rc)
			ipdk_rpc_finish_err(call, &err);
		return;
	case P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_PACKET: {
		bool primary;

		pthread_mutex_lock(&p->lock);
		primary = s->arbitrated && primary_of(p, s->role) == s;
		pthread_mutex_unlock(&p->lock);
		if (!primary) {
			stream_error(s, IPDK_RPC_PERMISSION_DENIED,
				     "PacketOut from a client that is not the primary", req->packet);
			return;
		}
		rc = p4rt_packet_out(p, req->packet, &err);
		if (rc)
			stream_error(s, ipdk_rpc_code_from_errno(rc), err.msg, req->packet);
		return;
	}
	case P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_DIGEST_ACK:
		stream_error(s, IPDK_RPC_UNIMPLEMENTED, "this target has no digests", NULL);
		return;
	default:
		stream_error(s, IPDK_RPC_UNIMPLEMENTED, "unsupported stream message", NULL);
		return;
	}
}

static void on_stream_done(struct ipdk_rpc_call *call, bool cancelled)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	struct p4rt_stream *s = ipdk_rpc_call_get_data(call), **pp;
	struct p4rt_stream *old;

	(void)cancelled;
	if (!s)
		return;
	pthread_mutex_lock(&p->lock);
	old = s->arbitrated ? primary_of(p, s->role) : NULL;
	for (pp = &p->streams; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (old == s) {
		IPDK_LOG_INFO("p4rt: primary %s of role \"%s\" left", ipdk_rpc_call_peer(call), s->role);
		arbitration_changed(p, s->role, old);
	}
	/* the packet-in thread may be sending on this call; it holds p->lock */
	pthread_mutex_unlock(&p->lock);
	ipdk_rpc_call_set_data(call, NULL);
	free(s);
}

void p4rt_packet_in_deliver(struct ipdk_p4rt *p, const P4__V1__PacketIn *pin)
{
	P4__V1__StreamMessageResponse r = P4__V1__STREAM_MESSAGE_RESPONSE__INIT;

	r.update_case = P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_PACKET;
	r.packet = (P4__V1__PacketIn *)pin;
	pthread_mutex_lock(&p->lock);
	for (struct p4rt_stream *s = p->streams; s; s = s->next) {
		if (!s->arbitrated || primary_of(p, s->role) != s)
			continue;
		if (ipdk_rpc_try_send(s->call, &r.base) == -EAGAIN)
			p->packet_in_dropped++;
		else
			p->packet_in_sent++;
	}
	pthread_mutex_unlock(&p->lock);
}

/* ---- Capabilities ------------------------------------------------------- */

static void on_capabilities(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	P4__V1__CapabilitiesResponse r = P4__V1__CAPABILITIES_RESPONSE__INIT;

	(void)msg;
	r.p4runtime_api_version = IPDK_P4RT_API_VERSION;
	ipdk_rpc_reply(call, &r.base);
}

/* ---- Write -------------------------------------------------------------- */

/* The model (and in *tdi, the TDI device) Writes and Reads address: a config
 * saved by VERIFY_AND_SAVE once there is one, else the running one; NULL
 * when a saved config cannot take them. Dataplane lock held. */
static struct p4_model *addressed(struct ipdk_p4rt *p, struct tdi_dev **tdi)
{
	if (!p->saved.pending)
		return p->model;
	*tdi = p->saved.tdi;
	return p->saved.model;
}

static bool touches_profiles(const P4__V1__WriteRequest *req)
{
	for (size_t i = 0; i < req->n_updates; i++) {
		const P4__V1__Entity *e = req->updates[i]->entity;

		if (e && (e->entity_case == P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER ||
			  e->entity_case == P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP ||
			  e->entity_case == P4__V1__ENTITY__ENTITY_TABLE_ENTRY))
			return true;
	}
	return false;
}

static void write_finish(struct ipdk_rpc_call *call, const P4__V1__WriteRequest *req, int *codes,
			 char **msgs, size_t n_failed)
{
	P4__V1__Error *errs = calloc(req->n_updates + 1, sizeof(*errs));
	const ProtobufCMessage **details = calloc(req->n_updates + 1, sizeof(*details));
	char summary[256];

	if (!errs || !details) {
		ipdk_rpc_finish(call, IPDK_RPC_UNKNOWN, "Write: %zu of %zu updates failed (no memory for details)",
				n_failed, req->n_updates);
		goto out;
	}
	for (size_t i = 0; i < req->n_updates; i++) {
		p4__v1__error__init(&errs[i]);
		errs[i].canonical_code = codes[i];
		errs[i].message = msgs[i] ? msgs[i] : "";
		details[i] = &errs[i].base;
	}
	if (req->n_updates == 1 && n_failed == 1) {
		/* a single update: its own code, so clients see e.g. ALREADY_EXISTS */
		ipdk_rpc_finish_details(call, (enum ipdk_rpc_code)codes[0], msgs[0], details, 1);
		goto out;
	}
	snprintf(summary, sizeof(summary), "Write: %zu of %zu updates failed; details per update",
		 n_failed, req->n_updates);
	ipdk_rpc_finish_details(call, IPDK_RPC_UNKNOWN, summary, details, req->n_updates);
out:
	free(errs);
	free(details);
}

struct write_result {
	int *codes;
	char **msgs;
	size_t n_failed;
};

/* A counter, meter or register write that failed after the commit. */
static void cell_failed(size_t update, int rc, const struct ipdk_err *err, void *arg)
{
	struct write_result *w = arg;

	if (w->codes[update])
		return;
	w->codes[update] = ipdk_rpc_code_from_errno(rc);
	w->msgs[update] = strdup(err->msg);
	w->n_failed++;
}

static void on_write(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__WriteRequest *req = (const P4__V1__WriteRequest *)msg;
	bool atomic = req->atomicity != P4__V1__WRITE_REQUEST__ATOMICITY__CONTINUE_ON_ERROR;
	int *codes = NULL;
	char **msgs = NULL;
	size_t n_failed = 0;
	struct ipdk_err err;
	struct tdi_dev *tdi;
	struct p4_model *m;
	void *saved = NULL;
	int rc;

	ipdk_err_clear(&err);
	if (req->atomicity > P4__V1__WRITE_REQUEST__ATOMICITY__DATAPLANE_ATOMIC) {
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT, "unknown atomicity %d", req->atomicity);
		return;
	}
	rc = primary_check(p, req->device_id, req->role, req->election_id, &err);
	if (rc) {
		ipdk_rpc_finish_err(call, &err);
		return;
	}
	if (!req->n_updates) {
		P4__V1__WriteResponse r = P4__V1__WRITE_RESPONSE__INIT;

		ipdk_rpc_reply(call, &r.base);
		return;
	}
	codes = calloc(req->n_updates, sizeof(*codes));
	msgs = calloc(req->n_updates, sizeof(*msgs));
	if (!codes || !msgs) {
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "Write: out of memory for %zu updates",
				req->n_updates);
		goto out;
	}
	tdi = p->ops.lock(p->ops_arg);
	m = addressed(p, &tdi);
	if (!m) {
		p->ops.unlock(p->ops_arg);
		ipdk_rpc_finish(call, IPDK_RPC_FAILED_PRECONDITION, "%s",
				p->saved.pending ? "a saved pipeline config awaits COMMIT" : "no pipeline config is set");
		goto out;
	}
	if (touches_profiles(req) && m->n_profiles)
		saved = p4_profiles_save(m);
	rc = tdi_batch_begin(tdi, &err);
	if (!rc && p4_batch_begin(m, &err)) {
		tdi_batch_abort(tdi);
		p->ops.unlock(p->ops_arg);
		p4_profiles_drop(m, saved);
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "Write: out of memory");
		goto out;
	}
	if (rc) {
		p->ops.unlock(p->ops_arg);
		p4_profiles_drop(m, saved);
		ipdk_rpc_finish(call, IPDK_RPC_UNAVAILABLE, "Write: %s (the local control socket has a batch open)",
				err.msg);
		goto out;
	}
	for (size_t i = 0; i < req->n_updates; i++) {
		ipdk_err_clear(&err);
		p4_batch_update(m, i);
		rc = p4_write_update(m, tdi, req->updates[i], &err);
		if (!rc)
			continue;
		codes[i] = ipdk_rpc_code_from_errno(rc);
		msgs[i] = strdup(err.msg);
		n_failed++;
		if (atomic) {
			for (size_t k = 0; k < req->n_updates; k++) {
				if (k == i)
					continue;
				codes[k] = IPDK_RPC_ABORTED;
				free(msgs[k]);
				msgs[k] = strdup("not applied: another update of this all-or-none batch failed");
			}
			break;
		}
	}
	if (atomic && n_failed) {
		tdi_batch_abort(tdi);
		p4_batch_abort(m);
		if (saved)
			p4_profiles_restore(m, saved);
		saved = NULL;
	} else {
		rc = tdi_batch_commit(tdi, &err);
		if (!rc) {
			struct write_result w = { codes, msgs, n_failed };

			p4_batch_commit(m, tdi, cell_failed, &w);
			n_failed = w.n_failed;
		} else {
			p4_batch_abort(m);
			for (size_t i = 0; i < req->n_updates; i++) {
				if (codes[i])
					continue;
				codes[i] = ipdk_rpc_code_from_errno(rc);
				msgs[i] = strdup(err.msg);
				n_failed++;
			}
			if (saved)
				p4_profiles_restore(m, saved);
			saved = NULL;
		}
	}
	p4_profiles_drop(m, saved);
	p->ops.unlock(p->ops_arg);
	if (!n_failed) {
		P4__V1__WriteResponse r = P4__V1__WRITE_RESPONSE__INIT;

		ipdk_rpc_reply(call, &r.base);
	} else {
		write_finish(call, req, codes, msgs, n_failed);
	}
out:
	for (size_t i = 0; msgs && i < req->n_updates; i++)
		free(msgs[i]);
	free(msgs);
	free(codes);
}

/* ---- Read --------------------------------------------------------------- */

/* A Read is a snapshot: the entities are encoded into ReadResponse chunks of
 * about READ_CHUNK_BYTES with the dataplane locked, then sent unlocked, so a
 * client that reads slowly holds up nobody but itself. */
struct read_chunk {
	uint8_t *buf;          /* ReadResponse wire bytes */
	size_t len;
};

struct read_ctx {
	uint8_t *buf;          /* the chunk under construction */
	size_t len, cap;
	struct read_chunk *chunks;
	uint32_t n_chunks, cap_chunks;
};

/* Closes the chunk under construction. */
static int read_seal(struct read_ctx *r)
{
	if (!r->len)
		return 0;
	if (p4_grow((void **)&r->chunks, &r->cap_chunks, r->n_chunks, sizeof(*r->chunks)))
		return -ENOMEM;
	r->chunks[r->n_chunks].buf = r->buf;
	r->chunks[r->n_chunks].len = r->len;
	r->n_chunks++;
	r->buf = NULL;
	r->len = r->cap = 0;
	return 0;
}

static int read_emit(P4__V1__Entity *e, void *arg)
{
	struct read_ctx *r = arg;
	size_t n = p4__v1__entity__get_packed_size(e), need = r->len + n + 11;

	if (need > r->cap) {
		size_t cap = need > READ_CHUNK_BYTES + READ_CHUNK_BYTES / 4 ? need
			     : READ_CHUNK_BYTES + READ_CHUNK_BYTES / 4;
		uint8_t *b = realloc(r->buf, cap);

		if (!b)
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	/* field 1 (entities), length-delimited */
	r->buf[r->len++] = 0x0a;
	for (size_t v = n; ; v >>= 7) {
		r->buf[r->len++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	r->len += p4__v1__entity__pack(e, r->buf + r->len);
	if (r->len >= READ_CHUNK_BYTES)
		return read_seal(r);
	return 0;
}

/* Sends the chunks in order; -ECANCELED when the client went away. */
static int read_send(struct ipdk_rpc_call *call, struct read_ctx *r)
{
	for (uint32_t i = 0; i < r->n_chunks; i++) {
		P4__V1__ReadResponse *resp;
		int rc;

		resp = p4__v1__read_response__unpack(NULL, r->chunks[i].len, r->chunks[i].buf);
		free(r->chunks[i].buf);
		r->chunks[i].buf = NULL;
		if (!resp)
			return -ENOMEM;
		rc = ipdk_rpc_send(call, &resp->base);
		p4__v1__read_response__free_unpacked(resp, NULL);
		if (rc)
			return -ECANCELED;
	}
	return 0;
}

static void read_free(struct read_ctx *r)
{
	for (uint32_t i = 0; i < r->n_chunks; i++)
		free(r->chunks[i].buf);
	free(r->chunks);
	free(r->buf);
}

static void *read_thread(void *arg)
{
	struct ipdk_rpc_call *call = arg;
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__ReadRequest *req = (const P4__V1__ReadRequest *)ipdk_rpc_call_request(call);
	struct read_ctx r = { 0 };
	struct ipdk_err err;
	struct tdi_dev *tdi;
	struct p4_model *m;
	int rc = 0;

	ipdk_err_clear(&err);
	tdi = p->ops.lock(p->ops_arg);
	m = addressed(p, &tdi);
	if (!m) {
		rc = ipdk_err_set(&err, -EBUSY, "%s", p->saved.pending ? "a saved pipeline config awaits COMMIT"
				  : "no pipeline config is set");
	} else {
		for (size_t i = 0; i < req->n_entities && !rc; i++)
			rc = p4_read_entity(m, tdi, req->entities[i], read_emit, &r, &err);
		if (!rc)
			rc = read_seal(&r);
	}
	p->ops.unlock(p->ops_arg);
	if (!rc)
		rc = read_send(call, &r);
	if (rc == -ECANCELED)
		;       /* the client went away */
	else if (rc == -ENOMEM && !err.code)
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "Read: out of memory");
	else if (rc)
		ipdk_rpc_finish_err(call, &err);
	else
		ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
	read_free(&r);
	ipdk_rpc_call_unref(call);
	return NULL;
}

/* Runs fn on a detached thread holding a reference to call. */
static void defer(struct ipdk_rpc_call *call, void *(*fn)(void *))
{
	pthread_attr_t attr;
	pthread_t t;

	ipdk_rpc_call_ref(call);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, fn, call)) {
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "cannot start a thread for this call");
		ipdk_rpc_call_unref(call);
	}
	pthread_attr_destroy(&attr);
}

static void on_read(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__ReadRequest *req = (const P4__V1__ReadRequest *)msg;

	if (req->device_id != p->device_id) {
		ipdk_rpc_finish(call, IPDK_RPC_NOT_FOUND, "unknown device id %" PRIu64, req->device_id);
		return;
	}
	defer(call, read_thread);
}

/* ---- pipeline configs -------------------------------------------------- */

struct load_check {
	struct p4_bundle *b;
	const P4__Config__V1__P4Info *p4info;
	struct p4_model *model;
};

static int load_check(struct tdi_dev *tdi, void *arg, struct ipdk_err *err)
{
	struct load_check *lc = arg;

	/* the program's entries go in before the pipeline runs */
	return p4_pipeline_model(lc->p4info, lc->b, tdi, true, &lc->model, err);
}

/* Forgets the saved config (and frees its pipeline); dataplane lock held. */
static void saved_clear(struct ipdk_p4rt *p)
{
	struct p4rt_saved *s = &p->saved;

	if (s->handle)
		p->ops.drop_saved(p->ops_arg, s->handle);
	p4_model_free(s->model);
	free(s->device_config);
	if (s->p4info)
		p4__config__v1__p4_info__free_unpacked(s->p4info, NULL);
	memset(s, 0, sizeof(*s));
}

/* Keeps what GetForwardingPipelineConfig returns; dataplane lock held. */
static void set_current(struct ipdk_p4rt *p, struct p4_model *m, uint8_t *devcfg, size_t len,
			const P4__V1__ForwardingPipelineConfig__Cookie *cookie)
{
	p4_model_free(p->model);
	p->model = m;
	free(p->device_config);
	p->device_config = devcfg;
	p->device_config_len = len;
	p->has_cookie = cookie != NULL;
	p->cookie = cookie ? cookie->cookie : 0;
	p4rt_packet_headers_set(p, m);
}

static uint8_t *copy_bin(const ProtobufCBinaryData *d)
{
	uint8_t *b = malloc(d->len + 1);

	if (b)
		memcpy(b, d->data, d->len);
	return b;
}

/* Verifies (and with commit, installs) cfg; dataplane lock held. */
static int push(struct ipdk_p4rt *p, const P4__V1__ForwardingPipelineConfig *cfg, bool commit,
		struct ipdk_err *err)
{
	struct p4_bundle b;
	struct load_check lc = { .b = &b };
	uint8_t *devcfg;
	int rc;

	rc = p4_bundle_decode(cfg, &b, err);
	if (rc)
		return rc;
	lc.p4info = cfg->p4info ? cfg->p4info : b.p4info;
	rc = p->ops.load(p->ops_arg, b.spec, b.name, commit, load_check, &lc, err);
	if (rc) {
		p4_bundle_fini(&b);
		return rc;
	}
	if (!commit) {
		p4_model_free(lc.model);
		p4_bundle_fini(&b);
		return 0;
	}
	devcfg = copy_bin(&cfg->p4_device_config);
	set_current(p, lc.model, devcfg, devcfg ? cfg->p4_device_config.len : 0, cfg->cookie);
	IPDK_LOG_INFO("p4rt: pipeline %s committed (%s P4Info)", b.name,
		      lc.p4info ? "given" : "derived");
	p4_bundle_fini(&b);
	return 0;
}

/* VERIFY_AND_SAVE's check: with the daemon's save ops the new pipeline and
 * its model are kept (Writes go to them until COMMIT), else cfg is only
 * verified. The previous saved config goes only when cfg is good. Dataplane
 * lock held. */
static int save(struct ipdk_p4rt *p, const P4__V1__ForwardingPipelineConfig *cfg,
		struct ipdk_err *err)
{
	struct p4_bundle b;
	struct load_check lc = { .b = &b };
	struct tdi_dev *tdi = NULL;
	void *handle = NULL;
	int rc;

	if (!p->ops.save) {
		rc = push(p, cfg, false, err);
		if (!rc)
			saved_clear(p);
		return rc;
	}
	rc = p4_bundle_decode(cfg, &b, err);
	if (rc)
		return rc;
	lc.p4info = cfg->p4info ? cfg->p4info : b.p4info;
	rc = p->ops.save(p->ops_arg, b.spec, b.name, load_check, &lc, &handle, &tdi, err);
	p4_bundle_fini(&b);
	if (rc)
		return rc;
	saved_clear(p);
	p->saved.handle = handle;
	p->saved.tdi = tdi;
	p->saved.model = lc.model;
	return 0;
}

/* COMMIT of a saved pipeline that took Writes: it runs as written. */
static int commit_saved(struct ipdk_p4rt *p, struct ipdk_err *err)
{
	P4__V1__ForwardingPipelineConfig__Cookie ck = P4__V1__FORWARDING_PIPELINE_CONFIG__COOKIE__INIT;
	struct p4rt_saved *s = &p->saved;
	int rc = p->ops.commit_saved(p->ops_arg, s->handle, err);

	s->handle = NULL;               /* consumed either way */
	if (!rc) {
		ck.cookie = s->cookie;
		set_current(p, s->model, s->device_config, s->device_config_len,
			    s->has_cookie ? &ck : NULL);
		s->model = NULL;
		s->device_config = NULL;
		IPDK_LOG_INFO("p4rt: saved pipeline config committed with the state written since");
	}
	saved_clear(p);
	return rc;
}

static void *set_pipeline_thread(void *arg)
{
	struct ipdk_rpc_call *call = arg;
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__SetForwardingPipelineConfigRequest *req =
		(const P4__V1__SetForwardingPipelineConfigRequest *)ipdk_rpc_call_request(call);
	P4__V1__ForwardingPipelineConfig *saved_cfg = NULL;
	struct ipdk_err err;
	int rc = 0;

	ipdk_err_clear(&err);
	p->ops.lock(p->ops_arg);
	switch (req->action) {
	case P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY:
	case P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_COMMIT:
	case P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_SAVE: {
		bool commit = req->action ==
			      P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_COMMIT;

		if (!req->config) {
			rc = ipdk_err_set(&err, -EINVAL, "the request has no config");
			break;
		}
		if (req->action != P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__VERIFY_AND_SAVE) {
			rc = push(p, req->config, commit, &err);
			if (!rc && commit)
				saved_clear(p);
			break;
		}
		rc = save(p, req->config, &err);
		if (rc)
			break;
		p->saved.pending = true;
		p->saved.device_config = copy_bin(&req->config->p4_device_config);
		p->saved.device_config_len = req->config->p4_device_config.len;
		p->saved.has_cookie = req->config->cookie != NULL;
		p->saved.cookie = req->config->cookie ? req->config->cookie->cookie : 0;
		if (req->config->p4info) {
			size_t n = p4__config__v1__p4_info__get_packed_size(req->config->p4info);
			uint8_t *buf = malloc(n + 1);

			if (buf) {
				p4__config__v1__p4_info__pack(req->config->p4info, buf);
				p->saved.p4info = p4__config__v1__p4_info__unpack(NULL, n, buf);
				free(buf);
			}
		}
		IPDK_LOG_INFO("p4rt: pipeline config verified and saved; COMMIT runs it%s",
			      p->saved.handle ? " with what is written meanwhile" : "");
		break;
	}
	case P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__COMMIT: {
		P4__V1__ForwardingPipelineConfig__Cookie ck = P4__V1__FORWARDING_PIPELINE_CONFIG__COOKIE__INIT;

		if (req->config) {
			rc = ipdk_err_set(&err, -EINVAL, "COMMIT takes no config (it runs the saved one)");
			break;
		}
		if (!p->saved.pending) {
			rc = ipdk_err_set(&err, -EBUSY, "COMMIT: no config was saved with VERIFY_AND_SAVE");
			break;
		}
		if (p->saved.handle) {
			rc = commit_saved(p, &err);
			break;
		}
		saved_cfg = calloc(1, sizeof(*saved_cfg));
		if (!saved_cfg) {
			rc = ipdk_err_set(&err, -ENOMEM, "out of memory");
			break;
		}
		p4__v1__forwarding_pipeline_config__init(saved_cfg);
		saved_cfg->p4info = p->saved.p4info;
		saved_cfg->p4_device_config.data = p->saved.device_config;
		saved_cfg->p4_device_config.len = p->saved.device_config_len;
		ck.cookie = p->saved.cookie;
		saved_cfg->cookie = p->saved.has_cookie ? &ck : NULL;
		rc = push(p, saved_cfg, true, &err);
		free(saved_cfg);
		if (!rc)
			saved_clear(p);
		break;
	}
	case P4__V1__SET_FORWARDING_PIPELINE_CONFIG_REQUEST__ACTION__RECONCILE_AND_COMMIT:
		rc = ipdk_err_set(&err, -ENOTSUP,
				  "RECONCILE_AND_COMMIT is not supported: the DPDK target cannot keep forwarding state across pipelines (use VERIFY_AND_COMMIT)");
		break;
	default:
		rc = ipdk_err_set(&err, -EINVAL, "unknown or unspecified action %d", req->action);
	}
	p->ops.unlock(p->ops_arg);
	if (rc) {
		ipdk_rpc_finish_err(call, &err);
	} else {
		P4__V1__SetForwardingPipelineConfigResponse r =
			P4__V1__SET_FORWARDING_PIPELINE_CONFIG_RESPONSE__INIT;

		ipdk_rpc_reply(call, &r.base);
	}
	ipdk_rpc_call_unref(call);
	return NULL;
}

static void on_set_pipeline(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__SetForwardingPipelineConfigRequest *req =
		(const P4__V1__SetForwardingPipelineConfigRequest *)msg;
	struct ipdk_err err;

	ipdk_err_clear(&err);
	if (primary_check(p, req->device_id, req->role, req->election_id, &err)) {
		ipdk_rpc_finish_err(call, &err);
		return;
	}
	defer(call, set_pipeline_thread);
}

static void on_get_pipeline(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	struct ipdk_p4rt *p = ipdk_rpc_call_ctx(call);
	const P4__V1__GetForwardingPipelineConfigRequest *req =
		(const P4__V1__GetForwardingPipelineConfigRequest *)msg;
	P4__V1__GetForwardingPipelineConfigResponse r = P4__V1__GET_FORWARDING_PIPELINE_CONFIG_RESPONSE__INIT;
	P4__V1__ForwardingPipelineConfig cfg = P4__V1__FORWARDING_PIPELINE_CONFIG__INIT;
	P4__V1__ForwardingPipelineConfig__Cookie ck = P4__V1__FORWARDING_PIPELINE_CONFIG__COOKIE__INIT;
	P4__Config__V1__P4Info *info = NULL;
	const struct p4rt_saved *sv;
	const struct p4_model *m;
	int t = req->response_type;

	if (req->device_id != p->device_id) {
		ipdk_rpc_finish(call, IPDK_RPC_NOT_FOUND, "unknown device id %" PRIu64, req->device_id);
		return;
	}
	if (t < P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__ALL ||
	    t > P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__DEVICE_CONFIG_AND_COOKIE) {
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT, "unknown response type %d", t);
		return;
	}
	p->ops.lock(p->ops_arg);
	/* a saved config that takes Writes is the one they are written for */
	sv = p->saved.model ? &p->saved : NULL;
	m = sv ? sv->model : p->model;
	if (!m) {
		p->ops.unlock(p->ops_arg);
		ipdk_rpc_finish(call, IPDK_RPC_FAILED_PRECONDITION, "no pipeline config is set");
		return;
	}
	if (sv ? sv->has_cookie : p->has_cookie) {
		ck.cookie = sv ? sv->cookie : p->cookie;
		cfg.cookie = &ck;
	}
	if (t == P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__ALL ||
	    t == P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__P4INFO_AND_COOKIE) {
		info = p4__config__v1__p4_info__unpack(NULL, m->p4info_len, m->p4info_bin);
		cfg.p4info = info;
	}
	if (t == P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__ALL ||
	    t == P4__V1__GET_FORWARDING_PIPELINE_CONFIG_REQUEST__RESPONSE_TYPE__DEVICE_CONFIG_AND_COOKIE) {
		cfg.p4_device_config.data = sv ? sv->device_config : p->device_config;
		cfg.p4_device_config.len = sv ? sv->device_config_len : p->device_config_len;
	}
	r.config = &cfg;
	ipdk_rpc_reply(call, &r.base);       /* encodes now: safe to unlock after */
	p->ops.unlock(p->ops_arg);
	if (info)
		p4__config__v1__p4_info__free_unpacked(info, NULL);
}

/* ---- set-up ------------------------------------------------------------- */

#define METHOD(n, k, rq, rs) .name = "/p4.v1.P4Runtime/" n, .kind = (k), \
	.request = &p4__v1__##rq##__descriptor, .response = &p4__v1__##rs##__descriptor

static const struct ipdk_rpc_method methods[] = {
	{ METHOD("Capabilities", IPDK_RPC_UNARY, capabilities_request, capabilities_response),
	  .on_request = on_capabilities },
	{ METHOD("Write", IPDK_RPC_UNARY, write_request, write_response), .on_request = on_write },
	{ METHOD("Read", IPDK_RPC_SERVER_STREAM, read_request, read_response), .on_request = on_read },
	{ METHOD("SetForwardingPipelineConfig", IPDK_RPC_UNARY, set_forwarding_pipeline_config_request,
		 set_forwarding_pipeline_config_response), .on_request = on_set_pipeline },
	{ METHOD("GetForwardingPipelineConfig", IPDK_RPC_UNARY, get_forwarding_pipeline_config_request,
		 get_forwarding_pipeline_config_response), .on_request = on_get_pipeline },
	{ METHOD("StreamChannel", IPDK_RPC_BIDI_STREAM, stream_message_request, stream_message_response),
	  .on_message = on_stream_message, .on_done = on_stream_done },
};

void ipdk_p4rt_pipeline_replaced(struct ipdk_p4rt *p, struct tdi_dev *tdi, const char *spec_text,
				 const char *spec_name)
{
	struct p4_model *m = NULL;
	struct ipdk_err err;
	uint8_t *devcfg = NULL;
	size_t len = 0;

	if (p4_model_derive(tdi, spec_name, spec_text, &m, &err)) {
		IPDK_LOG_WARN("p4rt: no P4Info for pipeline %s: %s", spec_name, err.msg);
		set_current(p, NULL, NULL, 0, NULL);
		return;
	}
	p4_bundle_device_config(spec_name, spec_text, &devcfg, &len);
	set_current(p, m, devcfg, devcfg ? len : 0, NULL);
	saved_clear(p);
}

int ipdk_p4rt_pipeline_replaced_bundle(struct ipdk_p4rt *p, struct tdi_dev *tdi,
				       struct ipdk_p4rt_bundle *b, struct ipdk_err *err)
{
	struct p4_model *m = NULL;
	uint8_t *devcfg = NULL;
	size_t len = 0;
	int rc = p4_bundle_take(b, tdi, &m, &devcfg, &len, err);

	if (rc) {
		IPDK_LOG_WARN("p4rt: no P4Info for pipeline %s: %s", ipdk_p4rt_bundle_name(b), err->msg);
		set_current(p, NULL, NULL, 0, NULL);
		saved_clear(p);
		return rc;
	}
	set_current(p, m, devcfg, len, NULL);
	saved_clear(p);
	return 0;
}

int ipdk_p4rt_create(const struct ipdk_p4rt_config *cfg, const struct ipdk_p4rt_dp_ops *ops,
		     void *ops_arg, struct ipdk_p4rt **out, struct ipdk_err *err)
{
	struct ipdk_rpc_config rc_cfg = cfg->rpc;
	struct ipdk_p4rt *p;
	struct methods_ctx;
	struct ipdk_rpc_method m[sizeof(methods) / sizeof(methods[0])];
	struct tdi_dev *tdi;
	int rc = 0;

	p = calloc(1, sizeof(*p));
	if (!p)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	p->ops = *ops;
	p->ops_arg = ops_arg;
	p->device_id = cfg->device_id ? cfg->device_id : IPDK_P4RT_DEFAULT_DEVICE_ID;
	p->cpu_port = cfg->cpu_port;
	p->cpu_port_id = cfg->cpu_port_id;
	if (!rc_cfg.address)
		rc_cfg.address = IPDK_P4RT_DEFAULT_ADDRESS;
	rc = ipdk_rpc_server_create(&rc_cfg, &p->srv, err);
	if (rc)
		goto fail;
	memcpy(m, methods, sizeof(m));
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		m[i].ctx = p;
	rc = ipdk_rpc_server_add_methods(p->srv, m, sizeof(m) / sizeof(m[0]), err);
	if (rc)
		goto fail;
	rc = p4rt_packetio_init(p, err);
	if (rc)
		goto fail;
	tdi = p->ops.lock(p->ops_arg);
	rc = 0;
	if (cfg->bundle)
		rc = ipdk_p4rt_pipeline_replaced_bundle(p, tdi, cfg->bundle, err);
	else
		ipdk_p4rt_pipeline_replaced(p, tdi, cfg->spec_text ? cfg->spec_text : "",
					    cfg->spec_name ? cfg->spec_name : "pipeline");
	p->ops.unlock(p->ops_arg);
	if (rc)
		goto fail;
	*out = p;
	return 0;
fail:
	ipdk_p4rt_destroy(p);
	return rc;
}

int ipdk_p4rt_start(struct ipdk_p4rt *p, struct ipdk_err *err)
{
	int rc = ipdk_rpc_server_start(p->srv, err);

	if (rc)
		return ipdk_err_prefix(err, "P4Runtime");
	rc = p4rt_packetio_start(p, err);
	if (rc)
		return rc;
	IPDK_LOG_INFO("p4rt: P4Runtime listening on port %d (device id %" PRIu64 ")",
		      ipdk_rpc_server_port(p->srv), p->device_id);
	return 0;
}

int ipdk_p4rt_port(const struct ipdk_p4rt *p)
{
	return ipdk_rpc_server_port(p->srv);
}

void ipdk_p4rt_destroy(struct ipdk_p4rt *p)
{
	if (!p)
		return;
	p4rt_packetio_stop(p);
	ipdk_rpc_server_destroy(p->srv);
	p4_model_free(p->model);
	free(p->device_config);
	saved_clear(p);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
