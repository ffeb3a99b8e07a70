/*
 * The ipdk.test.Echo service (proto/ipdk/test/echo.proto) on lib/rpc, shared by
 * rpc_echo_server (run by test_rpc.py with Python clients) and
 * tests/unit/test_rpc.c (which hosts it in-process for lib/rpc's own client).
 * Long work (delayed replies, streams) runs on its own threads and completes
 * calls through the deferred completion API, as a real service would.
 */
#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc_echo_service.h"
#include "ipdk/test/echo.pb-c.h"

static struct ipdk_rpc_server *server;     /* for Stats */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Runs fn(call) on a detached thread that owns a reference to the call. */
static int run_deferred(struct ipdk_rpc_call *call, void *(*fn)(void *))
{
	pthread_attr_t attr;
	pthread_t tid;
	int ret;

	ipdk_rpc_call_ref(call);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&tid, &attr, fn, call);
	pthread_attr_destroy(&attr);
	if (ret) {
		ipdk_rpc_call_unref(call);
		return ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED,
				       "cannot start a thread: %s", strerror(ret));
	}
	return 0;
}

static void say_reply(struct ipdk_rpc_call *call, const Ipdk__Test__EchoRequest *req)
{
	Ipdk__Test__EchoReply reply = IPDK__TEST__ECHO_REPLY__INIT;

	if (req->fail_code) {
		const ProtobufCMessage *details[1];

		reply.text = req->fail_message;
		details[0] = &reply.base;
		ipdk_rpc_finish_details(call, (enum ipdk_rpc_code)req->fail_code,
					req->fail_message, details, 1);
		return;
	}
	reply.text = req->text;
	reply.payload = req->payload;
	ipdk_rpc_reply(call, &reply.base);
}

static void *say_later(void *arg)
{
	struct ipdk_rpc_call *call = arg;
	const Ipdk__Test__EchoRequest *req;

	req = (const Ipdk__Test__EchoRequest *)ipdk_rpc_call_request(call);
	sleep_ms(req->delay_ms);
	say_reply(call, req);
	ipdk_rpc_call_unref(call);
	return NULL;
}

static void on_say(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	const Ipdk__Test__EchoRequest *req = (const Ipdk__Test__EchoRequest *)msg;

	if (req->delay_ms) {
		run_deferred(call, say_later);
		return;
	}
	say_reply(call, req);
}

static void *count_stream(void *arg)
{
	struct ipdk_rpc_call *call = arg;
	const Ipdk__Test__CountRequest *req =
		(const Ipdk__Test__CountRequest *)ipdk_rpc_call_request(call);
	Ipdk__Test__EchoReply reply = IPDK__TEST__ECHO_REPLY__INIT;
	uint8_t *payload = calloc(1, req->payload_size + 1);
	int ret = 0;

	reply.payload.data = payload;
	reply.payload.len = payload ? req->payload_size : 0;
	for (uint64_t i = 0; !req->count || i < req->count; i++) {
		if (req->interval_ms)
			sleep_ms(req->interval_ms);
		reply.seq = i;
		ret = ipdk_rpc_send(call, &reply.base);
		if (ret < 0)
			break;
	}
	if (!ret)
		ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
	free(payload);
	ipdk_rpc_call_unref(call);
	return NULL;
}

/* State of a nowait Count: the request, the next seq and how often the send
 * queue was full. The lock is needed because on_writable can fire on another
 * worker just as the callback that saw -EAGAIN returns. */
struct count_nowait {
	pthread_mutex_t lock;
	const Ipdk__Test__CountRequest *req;
	uint64_t next, eagain;
};

static void count_nowait_pump(struct ipdk_rpc_call *call)
{
	struct count_nowait *st = ipdk_rpc_call_get_data(call);
	Ipdk__Test__EchoReply reply = IPDK__TEST__ECHO_REPLY__INIT;
	char text[32];
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	while (!st->req->count || st->next < st->req->count) {
		snprintf(text, sizeof(text), "%" PRIu64, st->eagain);
		reply.text = text;
		reply.seq = st->next;
		ret = ipdk_rpc_try_send(call, &reply.base);
		if (ret == -EAGAIN)
			st->eagain++;
		if (ret < 0)
			break;
		st->next++;
	}
	pthread_mutex_unlock(&st->lock);
	if (!ret)
		ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
}

static void on_count_done(struct ipdk_rpc_call *call, bool cancelled)
{
	struct count_nowait *st = ipdk_rpc_call_get_data(call);

	(void)cancelled;
	if (!st)
		return;
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static void on_count(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	const Ipdk__Test__CountRequest *req = (const Ipdk__Test__CountRequest *)msg;
	struct count_nowait *st;

	if (!req->nowait) {
		run_deferred(call, count_stream);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		ipdk_rpc_finish(call, IPDK_RPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	pthread_mutex_init(&st->lock, NULL);
	st->req = req;
	ipdk_rpc_call_set_data(call, st);
	count_nowait_pump(call);
}

static void on_sum_message(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	const Ipdk__Test__CountRequest *req = (const Ipdk__Test__CountRequest *)msg;
	uintptr_t sum = (uintptr_t)ipdk_rpc_call_get_data(call);

	ipdk_rpc_call_set_data(call, (void *)(sum + req->count));
}

static void on_sum_end(struct ipdk_rpc_call *call)
{
	Ipdk__Test__EchoReply reply = IPDK__TEST__ECHO_REPLY__INIT;

	reply.seq = (uintptr_t)ipdk_rpc_call_get_data(call);
	reply.text = "sum";
	ipdk_rpc_reply(call, &reply.base);
}

static void on_chat_message(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	const Ipdk__Test__EchoRequest *req = (const Ipdk__Test__EchoRequest *)msg;
	Ipdk__Test__EchoReply reply = IPDK__TEST__ECHO_REPLY__INIT;
	uintptr_t n = (uintptr_t)ipdk_rpc_call_get_data(call);
	int ret;

	if (req->fail_code) {
		ipdk_rpc_finish(call, (enum ipdk_rpc_code)req->fail_code, "%s",
				req->fail_message);
		return;
	}
	reply.text = req->text;
	reply.payload = req->payload;
	reply.seq = n;
	ipdk_rpc_call_set_data(call, (void *)(n + 1));
	/* One reply per request and reading pauses while the queue is full, so
	 * the queue always has room here. */
	ret = ipdk_rpc_try_send(call, &reply.base);
	if (ret == -EAGAIN)
		ipdk_rpc_finish(call, IPDK_RPC_INTERNAL, "chat: send queue full");
}

static void on_chat_end(struct ipdk_rpc_call *call)
{
	ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
}

/* Stats calls not yet ended on the server side. An earlier Stats call can
 * still be open after its reply reached the client (its end is seen a little
 * later), so counting them would make an idle server look busy to a client
 * that polls; only the asking call is counted. */
static atomic_ulong stats_open;

static void on_stats(struct ipdk_rpc_call *call, const ProtobufCMessage *msg)
{
	Ipdk__Test__StatsReply reply = IPDK__TEST__STATS_REPLY__INIT;
	unsigned long others = atomic_fetch_add(&stats_open, 1);

	(void)msg;
	ipdk_rpc_call_set_data(call, &stats_open);  /* counted: on_done uncounts */
	ipdk_rpc_server_stats(server, &reply.active_calls, &reply.total_calls);
	reply.active_calls -= reply.active_calls > others ? others : 0;
	ipdk_rpc_reply(call, &reply.base);
}

static void on_stats_done(struct ipdk_rpc_call *call, bool cancelled)
{
	(void)cancelled;
	if (ipdk_rpc_call_get_data(call))
		atomic_fetch_sub(&stats_open, 1);
}

const struct ipdk_rpc_method echo_methods[] = {
	{ .name = "/ipdk.test.Echo/Say", .kind = IPDK_RPC_UNARY,
	  .request = &ipdk__test__echo_request__descriptor,
	  .response = &ipdk__test__echo_reply__descriptor, .on_request = on_say },
	{ .name = "/ipdk.test.Echo/Count", .kind = IPDK_RPC_SERVER_STREAM,
	  .request = &ipdk__test__count_request__descriptor,
	  .response = &ipdk__test__echo_reply__descriptor, .on_request = on_count,
	  .on_writable = count_nowait_pump, .on_done = on_count_done },
	{ .name = "/ipdk.test.Echo/Sum", .kind = IPDK_RPC_CLIENT_STREAM,
	  .request = &ipdk__test__count_request__descriptor,
	  .response = &ipdk__test__echo_reply__descriptor,
	  .on_message = on_sum_message, .on_half_close = on_sum_end },
	{ .name = "/ipdk.test.Echo/Chat", .kind = IPDK_RPC_BIDI_STREAM,
	  .request = &ipdk__test__echo_request__descriptor,
	  .response = &ipdk__test__echo_reply__descriptor,
	  .on_message = on_chat_message, .on_half_close = on_chat_end },
	{ .name = "/ipdk.test.Echo/Stats", .kind = IPDK_RPC_UNARY,
	  .request = &ipdk__test__stats_request__descriptor,
	  .response = &ipdk__test__stats_reply__descriptor, .on_request = on_stats,
	  .on_done = on_stats_done },
};

const size_t n_echo_methods = sizeof(echo_methods) / sizeof(echo_methods[0]);

int echo_service_add(struct ipdk_rpc_server *srv, struct ipdk_err *err)
{
	server = srv;
	return ipdk_rpc_server_add_methods(srv, echo_methods, n_echo_methods, err);
}
