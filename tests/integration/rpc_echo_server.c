/*
 * rpc_echo_server: a small program serving ipdk.test.Echo through lib/rpc, run
 * by tests/integration/test_rpc.py with real gRPC clients. It prints "PORT <n>"
 * once listening and shuts down cleanly on SIGTERM or SIGINT ("STOPPED").
 * The service itself is in rpc_echo_service.c.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/log.h"
#include "rpc_echo_service.h"

static struct ipdk_rpc_server *server;

static void usage(void)
{
	fprintf(stderr, "usage: rpc_echo_server [--listen ADDR] [--security mtls|tls|insecure]\n"
		"       [--certs DIR] [--max-message BYTES] [--send-queue N] [--workers N]\n"
		"       [--log-level LEVEL]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "security", required_argument, NULL, 's' },
		{ "certs", required_argument, NULL, 'c' },
		{ "max-message", required_argument, NULL, 'm' },
		{ "send-queue", required_argument, NULL, 'q' },
		{ "workers", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'v' },
		{ 0 },
	};
	struct ipdk_rpc_config cfg = { .address = "127.0.0.1:0" };
	struct ipdk_err err = { 0 };
	int level = IPDK_LOG_INFO, opt, sig, sec;
	sigset_t set;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l': cfg.address = optarg; break;
		case 's':
			sec = ipdk_rpc_security_parse(optarg);
			if (sec < 0)
				usage();
			cfg.security = (enum ipdk_rpc_security)sec;
			break;
		case 'c': cfg.cert_dir = optarg; break;
		case 'm': cfg.max_message_size = strtoul(optarg, NULL, 0); break;
		case 'q': cfg.send_queue_len = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': cfg.workers = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'v':
			level = ipdk_log_level_parse(optarg);
			if (level < 0)
				usage();
			break;
		default: usage();
		}
	}
	ipdk_log_init("rpc_echo_server", (enum ipdk_log_level)level, false);
	/* Block the stop signals before gRPC starts threads so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ipdk_rpc_server_create(&cfg, &server, &err) < 0 ||
	    echo_service_add(server, &err) < 0 ||
	    ipdk_rpc_server_start(server, &err) < 0) {
		fprintf(stderr, "rpc_echo_server: %s\n", err.msg);
		ipdk_rpc_server_destroy(server);
		return 1;
	}
	printf("PORT %d\n", ipdk_rpc_server_port(server));
	fflush(stdout);
	sigwait(&set, &sig);
	IPDK_LOG_INFO("signal %d, shutting down", sig);
	ipdk_rpc_server_destroy(server);
	printf("STOPPED\n");
	fflush(stdout);
	return 0;
}
