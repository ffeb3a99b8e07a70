/*
 * Unit tests of lib/rpc. The server alone: errno to status mapping,
 * configuration and method validation with their error messages, credential
 * loading failures, binding (port 0, address in use), start/stop cycles and
 * the routing of gRPC's log lines into ipdk_log. The client module
 * (ipdk/rpc_client.h) against the Echo service hosted in-process: unary calls,
 * error details, server/client/bidi streams, receive timeouts, cancel and
 * deadlines, message limits, unreachable servers, credentials and the
 * mTLS/TLS/plaintext combinations with certificates from scripts/gen-certs.sh.
 * Calls from other gRPC implementations are covered by
 * tests/integration/test_rpc.py.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/support/log.h>

#include "ipdk/log.h"
#include "ipdk/rpc.h"
#include "ipdk/rpc_client.h"
#include "ipdk/test/echo.pb-c.h"
#include "rpc_echo_service.h"

static void on_req(struct ipdk_rpc_call *call, const ProtobufCMessage *req)
{
	(void)req;
	ipdk_rpc_finish(call, IPDK_RPC_OK, "%s", "");
}

static const struct ipdk_rpc_method say = {
	.name = "/ipdk.test.Echo/Say", .kind = IPDK_RPC_UNARY,
	.request = &ipdk__test__echo_request__descriptor,
	.response = &ipdk__test__echo_reply__descriptor, .on_request = on_req,
};

static const struct ipdk_rpc_config insecure = {
	.address = "127.0.0.1:0", .security = IPDK_RPC_SEC_INSECURE,
};

static void test_errno_mapping(void **state)
{
	(void)state;
	assert_int_equal(ipdk_rpc_code_from_errno(0), IPDK_RPC_OK);
	assert_int_equal(ipdk_rpc_code_from_errno(-EINVAL), IPDK_RPC_INVALID_ARGUMENT);
	assert_int_equal(ipdk_rpc_code_from_errno(-ENOENT), IPDK_RPC_NOT_FOUND);
	assert_int_equal(ipdk_rpc_code_from_errno(-EEXIST), IPDK_RPC_ALREADY_EXISTS);
	assert_int_equal(ipdk_rpc_code_from_errno(-EPERM), IPDK_RPC_PERMISSION_DENIED);
	assert_int_equal(ipdk_rpc_code_from_errno(-ENOSPC), IPDK_RPC_RESOURCE_EXHAUSTED);
	assert_int_equal(ipdk_rpc_code_from_errno(-ENOTSUP), IPDK_RPC_UNIMPLEMENTED);
	assert_int_equal(ipdk_rpc_code_from_errno(-ERANGE), IPDK_RPC_OUT_OF_RANGE);
	assert_int_equal(ipdk_rpc_code_from_errno(-EBUSY), IPDK_RPC_FAILED_PRECONDITION);
	assert_int_equal(ipdk_rpc_code_from_errno(-EXDEV), IPDK_RPC_INTERNAL);
	assert_string_equal(ipdk_rpc_code_name(IPDK_RPC_NOT_FOUND), "NOT_FOUND");
	assert_string_equal(ipdk_rpc_code_name(IPDK_RPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	assert_string_equal(ipdk_rpc_code_name((enum ipdk_rpc_code)99), "UNKNOWN");
}

static void test_config_errors(void **state)
{
	struct ipdk_rpc_config cfg = { .address = "127.0.0.1:0" };
	struct ipdk_rpc_server *srv = NULL;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_rpc_server_create(&(struct ipdk_rpc_config){ 0 }, &srv, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "no listen address"));

	/* mutual TLS is the default and needs certificates */
	assert_int_equal(ipdk_rpc_server_create(&cfg, &srv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "127.0.0.1:0"));
	assert_non_null(strstr(err.msg, "certificate"));

	cfg.cert_file = "/x/server.crt";
	cfg.key_file = "/x/server.key";
	assert_int_equal(ipdk_rpc_server_create(&cfg, &srv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "CA"));

	cfg.security = IPDK_RPC_SEC_TLS;
	cfg.max_message_size = (size_t)1 << 40;
	assert_int_equal(ipdk_rpc_server_create(&cfg, &srv, &err), -ERANGE);
	assert_null(srv);
}

static void test_missing_cert_file(void **state)
{
	struct ipdk_rpc_config cfg = {
		.address = "127.0.0.1:0", .security = IPDK_RPC_SEC_MTLS,
		.cert_dir = "/nonexistent-ipdk-certs",
	};
	struct ipdk_rpc_server *srv;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_rpc_server_create(&cfg, &srv, &err), 0);
	assert_int_equal(ipdk_rpc_server_start(srv, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent-ipdk-certs/server.crt"));
	assert_int_equal(ipdk_rpc_server_port(srv), 0);
	ipdk_rpc_server_destroy(srv);
}

static void test_not_pem(void **state)
{
	char path[] = "/tmp/ipdk-rpc-notpem-XXXXXX";
	struct ipdk_rpc_config cfg = {
		.address = "127.0.0.1:0", .security = IPDK_RPC_SEC_TLS,
	};
	struct ipdk_rpc_server *srv;
	struct ipdk_err err;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	cfg.cert_file = path;
	cfg.key_file = path;
	assert_int_equal(ipdk_rpc_server_create(&cfg, &srv, &err), 0);
	assert_int_equal(ipdk_rpc_server_start(srv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a PEM file"));
	ipdk_rpc_server_destroy(srv);
	unlink(path);
}

static void test_method_validation(void **state)
{
	struct ipdk_rpc_server *srv;
	struct ipdk_rpc_method m = say;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_rpc_server_create(&insecure, &srv, &err), 0);

	m.name = "Say";
	assert_int_equal(ipdk_rpc_server_add_method(srv, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/package.Service/Method"));

	m = say;
	m.response = NULL;
	assert_int_equal(ipdk_rpc_server_add_method(srv, &m, &err), -EINVAL);

	m = say;
	m.kind = IPDK_RPC_BIDI_STREAM;       /* streams need on_message */
	assert_int_equal(ipdk_rpc_server_add_method(srv, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "on_message"));

	assert_int_equal(ipdk_rpc_server_add_methods(srv, &say, 1, &err), 0);
	assert_int_equal(ipdk_rpc_server_add_method(srv, &say, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "/ipdk.test.Echo/Say"));

	assert_int_equal(ipdk_rpc_server_start(srv, &err), 0);
	m = say;
	m.name = "/ipdk.test.Echo/Later";
	assert_int_equal(ipdk_rpc_server_add_method(srv, &m, &err), -EBUSY);
	ipdk_rpc_server_destroy(srv);
}

static void test_start_stop_and_address_in_use(void **state)
{
	struct ipdk_rpc_config cfg = insecure;
	struct ipdk_rpc_server *a, *b;
	struct ipdk_err err;
	uint64_t active = 1, total = 1;
	char addr[64];
	int port;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ipdk_rpc_server_create(&cfg, &a, &err), 0);
		assert_int_equal(ipdk_rpc_server_add_method(a, &say, &err), 0);
		assert_int_equal(ipdk_rpc_server_start(a, &err), 0);
		assert_int_equal(ipdk_rpc_server_start(a, &err), -EALREADY);
		port = ipdk_rpc_server_port(a);
		assert_true(port > 0);
		ipdk_rpc_server_stats(a, &active, &total);
		assert_int_equal(active, 0);
		assert_int_equal(total, 0);

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
		cfg.address = addr;
		assert_int_equal(ipdk_rpc_server_create(&cfg, &b, &err), 0);
		assert_int_equal(ipdk_rpc_server_start(b, &err), -EADDRNOTAVAIL);
		assert_non_null(strstr(err.msg, addr));
		ipdk_rpc_server_destroy(b);
		cfg.address = insecure.address;

		ipdk_rpc_server_stop(a);
		ipdk_rpc_server_stop(a);
		ipdk_rpc_server_destroy(a);
	}
	ipdk_rpc_server_destroy(NULL);
}

static void test_grpc_log_goes_to_ipdk_log(void **state)
{
	char path[] = "/tmp/ipdk-rpc-log-XXXXXX";
	struct ipdk_rpc_server *srv;
	struct ipdk_err err;
	char buf[4096] = "";
	int fd = mkstemp(path), saved;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ipdk_rpc_server_create(&insecure, &srv, &err), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	gpr_log(GPR_ERROR, "marker %d", 42);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	ipdk_rpc_server_destroy(srv);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	unlink(path);
	assert_non_null(strstr(buf, "test_rpc[WARN] grpc: marker 42"));
}

/* ---- the client module against the in-process Echo service ---- */

struct echo {
	struct ipdk_rpc_server *srv;
	struct ipdk_rpc_client *cli;
	char addr[64];
};

static void echo_start(struct echo *e, enum ipdk_rpc_security sec, const char *cert_dir)
{
	struct ipdk_rpc_config cfg = {
		.address = "127.0.0.1:0", .security = sec, .cert_dir = cert_dir,
	};
	struct ipdk_err err;

	memset(e, 0, sizeof(*e));
	assert_int_equal(ipdk_rpc_server_create(&cfg, &e->srv, &err), 0);
	assert_int_equal(echo_service_add(e->srv, &err), 0);
	assert_int_equal(ipdk_rpc_server_start(e->srv, &err), 0);
	snprintf(e->addr, sizeof(e->addr), "127.0.0.1:%d", ipdk_rpc_server_port(e->srv));
}

static void echo_connect(struct echo *e, double timeout)
{
	struct ipdk_rpc_client_config cfg = {
		.address = e->addr, .security = IPDK_RPC_SEC_INSECURE, .timeout = timeout,
	};
	struct ipdk_err err;

	assert_int_equal(ipdk_rpc_client_create(&cfg, &e->cli, &err), 0);
	assert_string_equal(ipdk_rpc_client_address(e->cli), e->addr);
}

static void echo_stop(struct echo *e)
{
	uint64_t active = 1, total;

	ipdk_rpc_client_destroy(e->cli);
	/* every call the client made is over on the server too */
	for (int i = 0; i < 200 && active; i++) {
		ipdk_rpc_server_stats(e->srv, &active, &total);
		if (active)
			usleep(10000);
	}
	assert_int_equal(active, 0);
	ipdk_rpc_server_destroy(e->srv);
}

/* Opens a stream of the Echo service whose replies are EchoReply. */
static struct ipdk_rpc_stream *echo_stream(struct echo *e, const char *method, double timeout)
{
	struct ipdk_rpc_stream *s = NULL;
	struct ipdk_err err;
	char full[64];

	snprintf(full, sizeof(full), "/ipdk.test.Echo/%s", method);
	assert_int_equal(ipdk_rpc_client_stream_open(e->cli, full,
						     &ipdk__test__echo_reply__descriptor, timeout,
						     &s, &err), 0);
	return s;
}

/* A unary Say; returns the status code and frees everything but st. */
static int say_text(struct ipdk_rpc_client *c, const char *text, int fail_code,
		    const char *reply_text, struct ipdk_rpc_status *st)
{
	Ipdk__Test__EchoRequest req = IPDK__TEST__ECHO_REQUEST__INIT;
	Ipdk__Test__EchoReply *rep = NULL;
	int code;

	req.text = (char *)text;
	req.fail_code = fail_code;
	req.fail_message = (char *)text;
	code = ipdk_rpc_client_unary(c, "/ipdk.test.Echo/Say", &req.base,
				     &ipdk__test__echo_reply__descriptor,
				     (ProtobufCMessage **)&rep, st);
	assert_int_equal(code, st->code);
	if (code) {
		assert_null(rep);
	} else {
		assert_non_null(rep);
		assert_string_equal(rep->text, reply_text);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	return code;
}

static void test_client_unary_and_details(void **state)
{
	Ipdk__Test__EchoRequest req = IPDK__TEST__ECHO_REQUEST__INIT;
	Ipdk__Test__CountRequest *wrong = NULL;
	struct ipdk_rpc_status st;
	Ipdk__Test__EchoReply *d;
	struct echo e;

	(void)state;
	echo_start(&e, IPDK_RPC_SEC_INSECURE, NULL);
	echo_connect(&e, 0);
	assert_int_equal(say_text(e.cli, "hello", 0, "hello", &st), IPDK_RPC_OK);
	assert_string_equal(st.message, "");
	assert_int_equal(st.n_details, 0);
	ipdk_rpc_status_fini(&st);

	/* a failure with an EchoReply detail in google.rpc.Status */
	assert_int_equal(say_text(e.cli, "no such thing", IPDK_RPC_NOT_FOUND, NULL, &st),
			 IPDK_RPC_NOT_FOUND);
	assert_string_equal(st.message, "no such thing");
	assert_int_equal(st.n_details, 1);
	assert_string_equal(st.details[0].type, "ipdk.test.EchoReply");
	assert_null(ipdk_rpc_status_detail(&st, 0, &ipdk__test__count_request__descriptor));
	assert_null(ipdk_rpc_status_detail(&st, 1, &ipdk__test__echo_reply__descriptor));
	d = (Ipdk__Test__EchoReply *)ipdk_rpc_status_detail(&st, 0,
							    &ipdk__test__echo_reply__descriptor);
	assert_non_null(d);
	assert_string_equal(d->text, "no such thing");
	protobuf_c_message_free_unpacked(&d->base, NULL);
	ipdk_rpc_status_fini(&st);
	assert_null(st.message);

	/* an error without a message still reads as one */
	assert_int_equal(say_text(e.cli, "", IPDK_RPC_ABORTED, NULL, &st), IPDK_RPC_ABORTED);
	assert_string_equal(st.message, "(no message)");
	ipdk_rpc_status_fini(&st);

	assert_int_equal(ipdk_rpc_client_unary(e.cli, "/ipdk.test.Echo/Nope", &req.base,
					       &ipdk__test__echo_reply__descriptor, NULL, &st),
			 IPDK_RPC_UNIMPLEMENTED);
	assert_non_null(strstr(st.message, "/ipdk.test.Echo/Nope"));
	ipdk_rpc_status_fini(&st);

	/* a reply that does not decode as the expected type (string vs varint field 1) */
	req.text = "x";
	assert_int_equal(ipdk_rpc_client_unary(e.cli, "/ipdk.test.Echo/Say", &req.base,
					       &ipdk__test__count_request__descriptor,
					       (ProtobufCMessage **)&wrong, &st),
			 IPDK_RPC_INTERNAL);
	assert_null(wrong);
	assert_non_null(strstr(st.message, "not a valid message"));
	ipdk_rpc_status_fini(&st);
	echo_stop(&e);
}

struct seen {
	uint64_t n, stop_at;
	bool in_order;
};

static int count_each(const ProtobufCMessage *m, void *arg)
{
	const Ipdk__Test__EchoReply *r = (const Ipdk__Test__EchoReply *)m;
	struct seen *s = arg;

	if (r->seq != s->n)
		s->in_order = false;
	s->n++;
	return s->stop_at && s->n == s->stop_at;
}

static void test_client_server_stream(void **state)
{
	Ipdk__Test__CountRequest req = IPDK__TEST__COUNT_REQUEST__INIT;
	struct seen seen = { .in_order = true };
	struct ipdk_rpc_status st;
	struct echo e;

	(void)state;
	echo_start(&e, IPDK_RPC_SEC_INSECURE, NULL);
	echo_connect(&e, 0);
	req.count = 1000;
	req.payload_size = 100;
	assert_int_equal(ipdk_rpc_client_each(e.cli, "/ipdk.test.Echo/Count", &req.base,
					      &ipdk__test__echo_reply__descriptor, count_each,
					      &seen, &st), IPDK_RPC_OK);
	assert_int_equal(seen.n, 1000);
	assert_true(seen.in_order);
	ipdk_rpc_status_fini(&st);

	/* stopping early cancels the call, which is not an error */
	memset(&seen, 0, sizeof(seen));
	seen.stop_at = 10;
	req.count = 0;            /* endless */
	req.interval_ms = 1;
	assert_int_equal(ipdk_rpc_client_each(e.cli, "/ipdk.test.Echo/Count", &req.base,
					      &ipdk__test__echo_reply__descriptor, count_each,
					      &seen, &st), IPDK_RPC_OK);
	assert_int_equal(seen.n, 10);
	ipdk_rpc_status_fini(&st);
	echo_stop(&e);
}

static void test_client_bidi_and_client_stream(void **state)
{
	Ipdk__Test__EchoRequest req = IPDK__TEST__ECHO_REQUEST__INIT;
	Ipdk__Test__CountRequest add = IPDK__TEST__COUNT_REQUEST__INIT;
	struct ipdk_rpc_stream *s;
	Ipdk__Test__EchoReply *r;
	struct echo e;
	char text[16];

	(void)state;
	echo_start(&e, IPDK_RPC_SEC_INSECURE, NULL);
	echo_connect(&e, 0);
	s = echo_stream(&e, "Chat", 0);
	assert_int_equal(ipdk_rpc_stream_status(s)->code, -1);
	for (int i = 0; i < 50; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		req.text = text;
		assert_int_equal(ipdk_rpc_stream_send(s, &req.base), 0);
		assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), 1);
		assert_string_equal(r->text, text);
		assert_int_equal(r->seq, i);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_int_equal(ipdk_rpc_stream_close_send(s), 0);
	assert_int_equal(ipdk_rpc_stream_send(s, &req.base), -EPIPE);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), -EPIPE);
	assert_true(ipdk_rpc_stream_ended(s));
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_OK);
	ipdk_rpc_stream_close(s, 1);

	/* the server ends a bidi stream with an error */
	s = echo_stream(&e, "Chat", 0);
	req.fail_code = IPDK_RPC_PERMISSION_DENIED;
	req.fail_message = "go away";
	assert_int_equal(ipdk_rpc_stream_send(s, &req.base), 0);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), -EPIPE);
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_PERMISSION_DENIED);
	assert_string_equal(ipdk_rpc_stream_status(s)->message, "go away");
	ipdk_rpc_stream_close(s, 1);

	/* client stream: many requests, then one reply after the half-close */
	s = echo_stream(&e, "Sum", 10);
	for (uint64_t i = 1; i <= 100; i++) {
		add.count = i;
		assert_int_equal(ipdk_rpc_stream_send(s, &add.base), 0);
	}
	assert_int_equal(ipdk_rpc_stream_close_send(s), 0);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), 1);
	assert_int_equal(r->seq, 5050);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), -EPIPE);
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_OK);
	ipdk_rpc_stream_close(s, 1);
	echo_stop(&e);
}

static void test_client_timeouts_cancel_and_limits(void **state)
{
	Ipdk__Test__CountRequest req = IPDK__TEST__COUNT_REQUEST__INIT;
	struct ipdk_rpc_client_config cfg = { .security = IPDK_RPC_SEC_INSECURE };
	struct ipdk_rpc_client *small;
	struct ipdk_rpc_stream *s;
	struct ipdk_rpc_status st;
	Ipdk__Test__EchoReply *r;
	struct ipdk_err err;
	struct echo e;
	int got;

	(void)state;
	echo_start(&e, IPDK_RPC_SEC_INSECURE, NULL);
	echo_connect(&e, 0.5);

	/* a receive that times out keeps the call; cancel ends it */
	s = echo_stream(&e, "Count", 0);
	req.count = 2;
	req.interval_ms = 300;
	assert_int_equal(ipdk_rpc_stream_send(s, &req.base), 0);
	assert_int_equal(ipdk_rpc_stream_close_send(s), 0);
	assert_int_equal(ipdk_rpc_stream_recv(s, 0.01, (ProtobufCMessage **)&r), 0);
	assert_null(r);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r), 1);
	assert_int_equal(r->seq, 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	ipdk_rpc_stream_cancel(s);
	assert_true(ipdk_rpc_stream_ended(s));
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_CANCELLED);
	assert_int_equal(ipdk_rpc_stream_recv(s, 1, (ProtobufCMessage **)&r), -EPIPE);
	ipdk_rpc_stream_close(s, 1);

	/* the stream's own deadline */
	s = echo_stream(&e, "Count", 0.3);
	req.count = 0;
	req.interval_ms = 50;
	assert_int_equal(ipdk_rpc_stream_send(s, &req.base), 0);
	for (got = 0; got < 1000; got++) {
		if (ipdk_rpc_stream_recv(s, 10, (ProtobufCMessage **)&r) != 1)
			break;
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	assert_true(got < 1000);
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_DEADLINE_EXCEEDED);
	ipdk_rpc_stream_close(s, 1);

	/* a half-close the server ignores: close() cancels after the linger time */
	s = echo_stream(&e, "Count", 0);
	assert_int_equal(ipdk_rpc_stream_send(s, &req.base), 0);
	ipdk_rpc_stream_close(s, 0.1);

	/* the unary timeout of the client (0.5 s) against a 3 s delayed reply */
	{
		Ipdk__Test__EchoRequest slow = IPDK__TEST__ECHO_REQUEST__INIT;

		slow.delay_ms = 3000;
		assert_int_equal(ipdk_rpc_client_unary(e.cli, "/ipdk.test.Echo/Say", &slow.base,
						       &ipdk__test__echo_reply__descriptor, NULL,
						       &st), IPDK_RPC_DEADLINE_EXCEEDED);
		ipdk_rpc_status_fini(&st);
	}

	/* replies over the client's receive limit */
	cfg.address = e.addr;
	cfg.max_message_size = 1000;
	assert_int_equal(ipdk_rpc_client_create(&cfg, &small, &err), 0);
	req.count = 1;
	req.interval_ms = 0;
	req.payload_size = 5000;
	assert_int_equal(ipdk_rpc_client_each(small, "/ipdk.test.Echo/Count", &req.base,
					      &ipdk__test__echo_reply__descriptor, count_each,
					      &(struct seen){ 0 }, &st), IPDK_RPC_RESOURCE_EXHAUSTED);
	ipdk_rpc_status_fini(&st);
	ipdk_rpc_client_destroy(small);
	echo_stop(&e);
}

static void test_client_unreachable_and_config(void **state)
{
	Ipdk__Test__EchoRequest req = IPDK__TEST__ECHO_REQUEST__INIT;
	struct ipdk_rpc_client_config cfg = {
		.address = "127.0.0.1:1", .security = IPDK_RPC_SEC_INSECURE, .timeout = 5,
	};
	struct ipdk_rpc_client *c;
	struct ipdk_rpc_stream *s;
	ProtobufCMessage *m;
	struct ipdk_rpc_status st;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_rpc_client_create(&cfg, &c, &err), 0);
	assert_int_equal(ipdk_rpc_client_unary(c, "/ipdk.test.Echo/Say", &req.base,
					       &ipdk__test__echo_reply__descriptor, NULL, &st),
			 IPDK_RPC_UNAVAILABLE);
	ipdk_rpc_status_fini(&st);
	/* a stream to nowhere opens, and fails at its first exchange */
	assert_int_equal(ipdk_rpc_client_stream_open(c, "/ipdk.test.Echo/Chat",
						     &ipdk__test__echo_reply__descriptor, 0,
						     &s, &err), 0);
	ipdk_rpc_stream_send(s, &req.base);
	assert_int_equal(ipdk_rpc_stream_recv(s, 10, &m), -EPIPE);
	assert_int_equal(ipdk_rpc_stream_status(s)->code, IPDK_RPC_UNAVAILABLE);
	ipdk_rpc_stream_close(s, 1);
	ipdk_rpc_client_destroy(c);
	ipdk_rpc_client_destroy(NULL);

	cfg.address = NULL;
	assert_int_equal(ipdk_rpc_client_create(&cfg, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no server address"));
	cfg.address = "127.0.0.1:1";
	cfg.timeout = -1;
	assert_int_equal(ipdk_rpc_client_create(&cfg, &c, &err), -EINVAL);
	cfg.timeout = 0;
	cfg.security = IPDK_RPC_SEC_MTLS;
	cfg.cert_dir = "/nonexistent-ipdk-certs";
	assert_int_equal(ipdk_rpc_client_create(&cfg, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent-ipdk-certs/ca.crt"));
	cfg.cert_dir = NULL;
	assert_int_equal(ipdk_rpc_client_create(&cfg, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "ca.crt"));
}

static char cert_dir[] = "/tmp/ipdk-rpc-certs-XXXXXX";

static bool make_certs(void)
{
	const char *src = getenv("IPDK_SRC");
	char cmd[1024];

	if (!src || !mkdtemp(cert_dir))
		return false;
	snprintf(cmd, sizeof(cmd), "sh %s/scripts/gen-certs.sh %s localhost 127.0.0.1 "
		 ">/dev/null 2>&1", src, cert_dir);
	return system(cmd) == 0;
}

static void remove_certs(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", cert_dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", cert_dir);
}

/* A Say over cfg's security; returns the status code. */
static int secure_say(const char *addr, enum ipdk_rpc_security sec, const char *tls_name,
		      const char *cert_file)
{
	struct ipdk_rpc_client_config cfg = {
		.address = addr, .security = sec, .cert_dir = cert_dir, .tls_name = tls_name,
		.cert_file = cert_file, .timeout = 5,
	};
	struct ipdk_rpc_client *c;
	struct ipdk_rpc_status st;
	struct ipdk_err err;
	int code;

	if (ipdk_rpc_client_create(&cfg, &c, &err))
		return -1;
	code = say_text(c, "tls", 0, "tls", &st);
	ipdk_rpc_status_fini(&st);
	ipdk_rpc_client_destroy(c);
	return code;
}

static void test_client_tls(void **state)
{
	char path[300];
	struct echo m, t;

	(void)state;
	if (!make_certs()) {
		remove_certs();
		skip();
	}
	echo_start(&m, IPDK_RPC_SEC_MTLS, cert_dir);
	echo_start(&t, IPDK_RPC_SEC_TLS, cert_dir);
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_MTLS, NULL, NULL), IPDK_RPC_OK);
	/* the certificate names localhost too */
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_MTLS, "localhost", NULL), IPDK_RPC_OK);
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_MTLS, "other.example", NULL),
			 IPDK_RPC_UNAVAILABLE);
	/* without a client certificate, or in plaintext, the handshake fails */
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_TLS, NULL, NULL), IPDK_RPC_UNAVAILABLE);
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_INSECURE, NULL, NULL),
			 IPDK_RPC_UNAVAILABLE);
	/* a server-only TLS port takes TLS clients, with or without a certificate */
	assert_int_equal(secure_say(t.addr, IPDK_RPC_SEC_TLS, NULL, NULL), IPDK_RPC_OK);
	assert_int_equal(secure_say(t.addr, IPDK_RPC_SEC_MTLS, NULL, NULL), IPDK_RPC_OK);
	assert_int_equal(secure_say(t.addr, IPDK_RPC_SEC_INSECURE, NULL, NULL),
			 IPDK_RPC_UNAVAILABLE);
	/* a client file that is not PEM is refused before connecting */
	snprintf(path, sizeof(path), "%s/ca.srl", cert_dir);
	if (access(path, R_OK))
		snprintf(path, sizeof(path), "/etc/hostname");
	assert_int_equal(secure_say(m.addr, IPDK_RPC_SEC_MTLS, NULL, path), -1);
	ipdk_rpc_client_destroy(m.cli);
	m.cli = NULL;
	echo_stop(&m);
	echo_stop(&t);
	remove_certs();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_mapping),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_missing_cert_file),
		cmocka_unit_test(test_not_pem),
		cmocka_unit_test(test_method_validation),
		cmocka_unit_test(test_start_stop_and_address_in_use),
		cmocka_unit_test(test_grpc_log_goes_to_ipdk_log),
		cmocka_unit_test(test_client_unary_and_details),
		cmocka_unit_test(test_client_server_stream),
		cmocka_unit_test(test_client_bidi_and_client_stream),
		cmocka_unit_test(test_client_timeouts_cancel_and_limits),
		cmocka_unit_test(test_client_unreachable_and_config),
		cmocka_unit_test(test_client_tls),
	};

	ipdk_log_init("test_rpc", IPDK_LOG_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
