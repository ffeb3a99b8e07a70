/*
 * Unit tests of lib/rpc that need no client: errno to status mapping,
 * configuration and method validation with their error messages, credential
 * loading failures, binding (port 0, address in use), start/stop cycles and
 * the routing of gRPC's log lines into ipdk_log. Calls from real clients are
 * covered by tests/integration/test_rpc.py.
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
#include "ipdk/test/echo.pb-c.h"

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
	};

	ipdk_log_init("test_rpc", IPDK_LOG_INFO, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
