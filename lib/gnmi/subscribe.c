/*
 * gNMI Subscribe. ONCE sends the subscribed values and a sync response and
 * ends; POLL does the same on every Poll request; STREAM sends them once and
 * then keeps the subscription with the subscription thread, which serves
 * every stream of the server:
 *
 * - ON_CHANGE (and TARGET_DEFINED): the thread lists the paths again when a
 *   Set or a model reports a change (ipdk_gnmi_server_changed) and at least
 *   once a second (counters change without anyone saying so), and sends what
 *   differs from the last values sent: updates, and deletes for leaves gone.
 * - SAMPLE: every sample_interval (default 1 s, at least 10 ms) it sends all
 *   values, or with suppress_redundant only the changed ones (all of them
 *   again once heartbeat_interval has passed).
 *
 * The thread never waits for a client: it queues with ipdk_rpc_try_send(), and
 * when a stream's queue is full it keeps the old values as "last sent", so
 * the difference goes out at the next turn instead of being lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipdk/log.h"
#include "gnmi_priv.h"

#define SUB_RECHECK_NS 1000000000ull       /* ON_CHANGE: look at least this often */
#define SUB_SAMPLE_DEFAULT_NS 1000000000ull
#define SUB_SAMPLE_MIN_NS 10000000ull

struct gnmi_subpath {
	struct ipdk_gnmi_path path;
	bool sample;                      /* SAMPLE; otherwise ON_CHANGE */
	bool suppress;
	uint64_t interval, heartbeat;     /* ns */
	uint64_t next, next_hb;           /* monotonic ns */
	struct gnmi_leafset last;         /* values last sent */
};

struct gnmi_sub {
	struct ipdk_gnmi_server *srv;
	struct ipdk_rpc_call *call;
	Gnmi__SubscriptionList__Mode mode;
	Gnmi__Encoding enc;
	bool updates_only;
	bool listed;                      /* in srv->subs (sub_lock) */
	size_t n;
	struct gnmi_subpath *paths;
	struct gnmi_sub *next;
};

static void sub_free(struct gnmi_sub *sub)
{
	for (size_t i = 0; i < sub->n; i++)
		gnmi_leafset_clear(&sub->paths[i].last);
	free(sub->paths);
	free(sub);
}

/* Sends one notification (skipped when empty unless force); 0 or -errno. */
static int send_notification(struct ipdk_rpc_call *call, Gnmi__Notification *n, bool empty,
			     bool from_thread)
{
	Gnmi__SubscribeResponse rep = GNMI__SUBSCRIBE_RESPONSE__INIT;
	int rc = 0;

	if (!n)
		return -ENOMEM;
	if (!empty) {
		rep.response_case = GNMI__SUBSCRIBE_RESPONSE__RESPONSE_UPDATE;
		rep.update = n;
		rc = from_thread ? ipdk_rpc_try_send(call, &rep.base) :
				   ipdk_rpc_send(call, &rep.base);
	}
	protobuf_c_message_free_unpacked(&n->base, NULL);
	return rc;
}

static int send_sync(struct ipdk_rpc_call *call)
{
	Gnmi__SubscribeResponse rep = GNMI__SUBSCRIBE_RESPONSE__INIT;

	rep.response_case = GNMI__SUBSCRIBE_RESPONSE__RESPONSE_SYNC_RESPONSE;
	rep.sync_response = true;
	return ipdk_rpc_send(call, &rep.base);
}

/* Sends every subscribed value (unless updates_only) and the sync response;
 * keeps what was sent as each path's last values. */
static int send_all(struct gnmi_sub *sub, struct ipdk_err *err)
{
	Gnmi__Notification *n;
	bool empty = true;
	int rc;

	for (size_t i = 0; i < sub->n; i++) {
		struct gnmi_subpath *sp = &sub->paths[i];

		gnmi_leafset_clear(&sp->last);
		rc = gnmi_collect(sub->srv, &sp->path, 1, GNMI_ALL, &sp->last, err);
		if (rc)
			return rc;
		if (sub->updates_only)
			continue;
		n = gnmi_notification(&sp->last, NULL, sub->enc, &empty);
		rc = send_notification(sub->call, n, empty, false);
		if (rc)
			return ipdk_err_set(err, rc, "cannot send the values: %s", strerror(-rc));
	}
	rc = send_sync(sub->call);
	if (rc)
		return ipdk_err_set(err, rc, "cannot send the sync response: %s", strerror(-rc));
	return 0;
}

static int sub_parse(struct gnmi_sub *sub, const Gnmi__SubscriptionList *list,
		     struct ipdk_err *err)
{
	char text[1024];
	int rc;

	if (list->mode > GNMI__SUBSCRIPTION_LIST__MODE__POLL)
		return ipdk_err_set(err, -EINVAL, "subscription mode %d is unknown",
				    (int)list->mode);
	if (list->encoding != GNMI__ENCODING__JSON && list->encoding != GNMI__ENCODING__JSON_IETF &&
	    list->encoding != GNMI__ENCODING__PROTO && list->encoding != GNMI__ENCODING__ASCII)
		return ipdk_err_set(err, -ENOTSUP, "encoding %d is not supported (JSON, "
				    "JSON_IETF, PROTO or ASCII)", (int)list->encoding);
	if (!list->n_subscription)
		return ipdk_err_set(err, -EINVAL, "the subscription list is empty");
	sub->mode = list->mode;
	sub->enc = list->encoding;
	sub->updates_only = list->updates_only;
	sub->paths = calloc(list->n_subscription, sizeof(*sub->paths));
	if (!sub->paths)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	sub->n = list->n_subscription;
	for (size_t i = 0; i < sub->n; i++) {
		const Gnmi__Subscription *s = list->subscription[i];
		struct gnmi_subpath *sp = &sub->paths[i];

		rc = gnmi_pb_path_get(list->prefix, s->path, &sp->path, err);
		if (rc)
			return ipdk_err_prefix(err, "subscription %zu", i);
		if (s->mode > GNMI__SUBSCRIPTION_MODE__SAMPLE)
			return ipdk_err_set(err, -EINVAL, "subscription %zu: mode %d is unknown",
					    i, (int)s->mode);
		sp->sample = s->mode == GNMI__SUBSCRIPTION_MODE__SAMPLE;
		sp->suppress = s->suppress_redundant;
		sp->heartbeat = s->heartbeat_interval;
		sp->interval = s->sample_interval ? s->sample_interval : SUB_SAMPLE_DEFAULT_NS;
		ipdk_gnmi_path_print(&sp->path, text, sizeof(text));
		if (sub->mode == GNMI__SUBSCRIPTION_LIST__MODE__STREAM && sp->sample &&
		    sp->interval < SUB_SAMPLE_MIN_NS)
			return ipdk_err_set(err, -EINVAL, "subscription %s: sample_interval %llu "
					    "ns is below the minimum of %llu ns", text,
					    (unsigned long long)sp->interval,
					    (unsigned long long)SUB_SAMPLE_MIN_NS);
		if (sub->mode == GNMI__SUBSCRIPTION_LIST__MODE__STREAM && sp->heartbeat &&
		    sp->heartbeat < SUB_SAMPLE_MIN_NS)
			return ipdk_err_set(err, -EINVAL, "subscription %s: heartbeat_interval "
					    "%llu ns is below the minimum of %llu ns", text,
					    (unsigned long long)sp->heartbeat,
					    (unsigned long long)SUB_SAMPLE_MIN_NS);
	}
	return 0;
}

static void subscribe_list(struct ipdk_rpc_call *call, const Gnmi__SubscriptionList *list)
{
	struct ipdk_gnmi_server *srv = ipdk_rpc_call_ctx(call);
	struct gnmi_sub *sub;
	struct ipdk_err err;
	uint64_t now;
	int rc;

	ipdk_err_clear(&err);
	if (ipdk_rpc_call_get_data(call)) {
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT,
				"a Subscribe call takes one subscription list");
		return;
	}
	sub = calloc(1, sizeof(*sub));
	if (!sub) {
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	sub->srv = srv;
	sub->call = call;
	ipdk_rpc_call_set_data(call, sub);
	rc = sub_parse(sub, list, &err);
	if (!rc)
		rc = send_all(sub, &err);
	if (rc) {
		ipdk_rpc_finish_err(call, &err);
		return;
	}
	if (sub->mode == GNMI__SUBSCRIPTION_LIST__MODE__ONCE) {
		ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
		return;
	}
	if (sub->mode != GNMI__SUBSCRIPTION_LIST__MODE__STREAM)
		return;
	now = gnmi_mono_ns();
	for (size_t i = 0; i < sub->n; i++) {
		sub->paths[i].next = now + (sub->paths[i].sample ? sub->paths[i].interval :
					    SUB_RECHECK_NS);
		sub->paths[i].next_hb = now + sub->paths[i].heartbeat;
	}
	pthread_mutex_lock(&srv->sub_lock);
	sub->next = srv->subs;
	srv->subs = sub;
	sub->listed = true;
	pthread_cond_broadcast(&srv->sub_cond);
	pthread_mutex_unlock(&srv->sub_lock);
}

void gnmi_subscribe_message(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	const Gnmi__SubscribeRequest *req = (const Gnmi__SubscribeRequest *)msg;
	struct gnmi_sub *sub = ipdk_rpc_call_get_data(call);
	struct ipdk_err err;

	switch (req->request_case) {
	case GNMI__SUBSCRIBE_REQUEST__REQUEST_SUBSCRIBE:
		subscribe_list(call, req->subscribe);
		return;
	case GNMI__SUBSCRIBE_REQUEST__REQUEST_POLL:
		if (!sub || sub->mode != GNMI__SUBSCRIPTION_LIST__MODE__POLL) {
			ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT, "a Poll request needs "
					"a subscription list in POLL mode first");
			return;
		}
		ipdk_err_clear(&err);
		if (send_all(sub, &err))
			ipdk_rpc_finish_err(call, &err);
		return;
	default:
		ipdk_rpc_finish(call, IPDK_RPC_INVALID_ARGUMENT, "a SubscribeRequest must hold "
				"a subscription list or a poll");
		return;
	}
}

/* A stream goes on after the client closed its side; a poll does not. */
void gnmi_subscribe_half_close(struct ipdk_rpc_call *call)
{
	struct gnmi_sub *sub = ipdk_rpc_call_get_data(call);

	if (sub && sub->mode == GNMI__SUBSCRIPTION_LIST__MODE__STREAM)
		return;
	ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
}

void gnmi_subscribe_done(struct ipdk_rpc_call *call, bool cancelled)
{
	struct gnmi_sub *sub = ipdk_rpc_call_get_data(call), **pp;

	(void)cancelled;
	if (!sub)
		return;
	pthread_mutex_lock(&sub->srv->sub_lock);
	if (sub->listed)
		for (pp = &sub->srv->subs; *pp; pp = &(*pp)->next)
			if (*pp == sub) {
				*pp = sub->next;
				break;
			}
	pthread_mutex_unlock(&sub->srv->sub_lock);
	sub_free(sub);
}

/* ---- the subscription thread ------------------------------------------------ */

static void serve_path(struct gnmi_sub *sub, struct gnmi_subpath *sp, uint64_t now, bool changed)
{
	struct gnmi_leafset cur = { 0 };
	struct ipdk_err err;
	bool hb = sp->heartbeat && now >= sp->next_hb, full, empty = true;
	Gnmi__Notification *n;
	int rc;

	if (sp->sample ? now < sp->next : !changed && now < sp->next && !hb)
		return;
	if (sp->sample)
		sp->next = sp->next + sp->interval > now ? sp->next + sp->interval :
			   now + sp->interval;
	else
		sp->next = now + SUB_RECHECK_NS;
	if (gnmi_collect(sub->srv, &sp->path, 1, GNMI_ALL, &cur, &err))
		return;
	full = hb || (sp->sample && !sp->suppress);
	n = gnmi_notification(&cur, full ? NULL : &sp->last, sub->enc, &empty);
	rc = send_notification(sub->call, n, empty, true);
	if (rc) {
		gnmi_leafset_clear(&cur);
		return;
	}
	if (hb)
		sp->next_hb = now + sp->heartbeat;
	gnmi_leafset_clear(&sp->last);
	sp->last = cur;
}

static void *subs_main(void *arg)
{
	struct ipdk_gnmi_server *srv = arg;

	pthread_mutex_lock(&srv->sub_lock);
	while (!srv->stop) {
		uint64_t now = gnmi_mono_ns(), next = now + SUB_RECHECK_NS;
		bool changed = srv->changed;
		struct timespec ts;

		srv->changed = false;
		for (struct gnmi_sub *sub = srv->subs; sub; sub = sub->next) {
			for (size_t i = 0; i < sub->n; i++) {
				struct gnmi_subpath *sp = &sub->paths[i];

				serve_path(sub, sp, now, changed);
				if (sp->next < next)
					next = sp->next;
				if (sp->heartbeat && sp->next_hb < next)
					next = sp->next_hb;
			}
		}
		if (srv->changed || srv->stop)
			continue;
		ts.tv_sec = (time_t)(next / 1000000000u);
		ts.tv_nsec = (long)(next % 1000000000u);
		pthread_cond_timedwait(&srv->sub_cond, &srv->sub_lock, &ts);
	}
	pthread_mutex_unlock(&srv->sub_lock);
	return NULL;
}

int gnmi_subs_start(struct ipdk_gnmi_server *srv, struct ipdk_err *err)
{
	int rc;

	if (srv->thread_started)
		return 0;
	rc = -pthread_create(&srv->thread, NULL, subs_main, srv);
	if (rc)
		return ipdk_err_set(err, rc, "cannot start the subscription thread: %s",
				    strerror(-rc));
	pthread_setname_np(srv->thread, "ipdk-gnmi-sub");
	srv->thread_started = true;
	return 0;
}

void gnmi_subs_stop(struct ipdk_gnmi_server *srv)
{
	if (!srv->thread_started)
		return;
	pthread_mutex_lock(&srv->sub_lock);
	srv->stop = true;
	pthread_cond_broadcast(&srv->sub_cond);
	pthread_mutex_unlock(&srv->sub_lock);
	pthread_join(srv->thread, NULL);
	srv->thread_started = false;
}
