/*
 * infrap4d: the networking daemon. Wires the libraries together: reads the
 * configuration, brings up DPDK, the ports and the pipeline (the embedded
 * default one unless told otherwise), starts the P4Runtime service and serves
 * the local control socket until SIGTERM or SIGINT, then shuts everything
 * down in order.
 */
#include <errno.h>
#include <sched.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "ipdk/rpc.h"
#include "infrap4d.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: infrap4d [OPTIONS]\n"
"Runs a P4 pipeline on the DPDK target and serves the local control socket.\n"
"With no --config and no --spec it runs the embedded default L2/L3 pipeline.\n"
"\n"
"  -c, --config FILE        JSON configuration (see docs/infrap4d.md)\n"
"  -s, --spec FILE          SWX pipeline spec to run (overrides the config)\n"
"  -b, --bundle FILE        pipeline bundle to run instead (docs/bundle.md): a single-file\n"
"                           bundle, a BfPipelineConfig (.pb.bin) or spec text; its P4Info\n"
"                           is served over P4Runtime and its declared entries installed\n"
"      --p4info FILE        P4Info (text or binary) of a --bundle that has none\n"
"  -p, --port SPEC          add a port: name=N,type=tap|link|vhost|ring|pcap[,netdev=D]\n"
"                           [,socket=PATH][,mode=auto|af_xdp|af_packet][,mtu=M]...\n"
"  -e, --entry LINE         install \"TABLE match ... action ...\" at start (repeatable)\n"
"  -S, --ctl-socket PATH    control socket (default %s)\n"
"  -t, --threads N          pipeline threads (default 1; the one pipeline runs on the\n"
"                           first, the others idle)\n"
"      --cpus LIST          pin pipeline threads to these CPUs, e.g. 1 or 1,2\n"
"      --busy-poll          never sleep when idle (for benchmarks)\n"
"      --hugepages          use hugepages (default: none needed)\n"
"      --memory MB          DPDK memory (default 512)\n"
"      --check              validate configuration and pipeline, then exit\n"
"  -l, --log-level LEVEL    err, warn, info (default) or debug\n"
"      --syslog             log to syslog instead of stderr\n"
"P4Runtime (port 9559, mutual TLS with certificates from --grpc-cert-dir):\n"
"      --p4rt-listen ADDR   listen on ADDR (default 0.0.0.0:9559)\n"
"      --no-p4rt            do not serve P4Runtime\n"
"      --grpc-security MODE mtls (default), tls or insecure\n"
"      --grpc-cert-dir DIR  ca.crt, server.crt, server.key (default %s)\n"
"      --p4rt-cpu-port NAME ring port used for PacketIn/PacketOut\n"
"      --p4rt-device-id N   P4Runtime device id (default 1)\n"
"                           Without certificates and without any of these options\n"
"                           the daemon runs without P4Runtime (with a warning).\n"
"gNMI (port 9339, same TLS settings; docs/gnmi.md):\n"
"      --gnmi-listen ADDR   listen on ADDR (default 0.0.0.0:9339); failing is then fatal\n"
"      --no-gnmi            do not serve gNMI\n"
"      --port-slots N       pipeline port ids for ports added at runtime (default %u)\n"
"      --state-file PATH    keeps what gNMI made (hosts, ports and their ids, virtual\n"
"                           devices) across restarts: written after every Set, restored\n"
"                           at start (default %s;\n"
"                           \"none\": keep nothing)\n"
"  -h, --help               show this help\n", INFRAP4D_DEFAULT_SOCKET, INFRAP4D_DEFAULT_CERT_DIR,
		INFRAP4D_DEFAULT_PORT_SLOTS, INFRAP4D_DEFAULT_STATE_FILE);
}

enum { OPT_P4INFO = 255, OPT_CPUS = 256, OPT_BUSY, OPT_HUGE, OPT_MEM, OPT_CHECK, OPT_SYSLOG,
       OPT_P4RT_LISTEN, OPT_NO_P4RT, OPT_GRPC_SEC, OPT_GRPC_CERTS, OPT_P4RT_CPU, OPT_P4RT_DEV,
       OPT_GNMI_LISTEN, OPT_NO_GNMI, OPT_PORT_SLOTS, OPT_STATE_FILE };

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "spec", required_argument, NULL, 's' },
	{ "bundle", required_argument, NULL, 'b' },
	{ "p4info", required_argument, NULL, OPT_P4INFO },
	{ "port", required_argument, NULL, 'p' },
	{ "entry", required_argument, NULL, 'e' },
	{ "ctl-socket", required_argument, NULL, 'S' },
	{ "threads", required_argument, NULL, 't' },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "busy-poll", no_argument, NULL, OPT_BUSY },
	{ "hugepages", no_argument, NULL, OPT_HUGE },
	{ "memory", required_argument, NULL, OPT_MEM },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "log-level", required_argument, NULL, 'l' },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "p4rt-listen", required_argument, NULL, OPT_P4RT_LISTEN },
	{ "no-p4rt", no_argument, NULL, OPT_NO_P4RT },
	{ "grpc-security", required_argument, NULL, OPT_GRPC_SEC },
	{ "grpc-cert-dir", required_argument, NULL, OPT_GRPC_CERTS },
	{ "p4rt-cpu-port", required_argument, NULL, OPT_P4RT_CPU },
	{ "p4rt-device-id", required_argument, NULL, OPT_P4RT_DEV },
	{ "gnmi-listen", required_argument, NULL, OPT_GNMI_LISTEN },
	{ "no-gnmi", no_argument, NULL, OPT_NO_GNMI },
	{ "port-slots", required_argument, NULL, OPT_PORT_SLOTS },
	{ "state-file", required_argument, NULL, OPT_STATE_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	const char *config, *spec, *socket, *bundle, *p4info;
	const char *ports[INFRAP4D_MAX_PORTS];
	unsigned int n_ports;
	char **entries;
	unsigned int n_entries;
	int threads, log_level;
	const char *cpus;
	bool busy, huge, check, syslog;
	unsigned int mem;
	const char *p4rt_listen, *grpc_cert_dir, *p4rt_cpu_port;
	bool no_p4rt;
	int grpc_security;                  /* -1: not set */
	unsigned long long p4rt_device_id;  /* 0: not set */
	const char *gnmi_listen;
	bool no_gnmi;
	unsigned int port_slots;            /* 0: not set */
	const char *state_file;             /* NULL: not set; "none": no file */
};

static int parse_cpus(const char *s, struct ipdk_dpdk_runner_cfg *t, struct ipdk_err *err)
{
	char *copy = strdup(s), *tok, *save = NULL;
	unsigned int i = 0;

	if (!copy)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(tok, &end, 10);

		if (*end || end == tok || v < 0 || v >= CPU_SETSIZE || i >= 64) {
			free(copy);
			return ipdk_err_set(err, -EINVAL, "--cpus %s: \"%s\" is not a CPU number", s, tok);
		}
		t->cpus[i++] = (int)v;
	}
	free(copy);
	for (; i < 64; i++)
		t->cpus[i] = -1;
	return 0;
}

static int parse_args(int argc, char **argv, struct cli *cli)
{
	int opt;

	memset(cli, 0, sizeof(*cli));
	cli->log_level = -1;
	cli->grpc_security = -1;
	while ((opt = getopt_long(argc, argv, "c:s:b:p:e:S:t:l:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cli->config = optarg; break;
		case 's': cli->spec = optarg; break;
		case 'b': cli->bundle = optarg; break;
		case OPT_P4INFO: cli->p4info = optarg; break;
		case 'S': cli->socket = optarg; break;
		case 'p':
			if (cli->n_ports == INFRAP4D_MAX_PORTS) {
				fprintf(stderr, "infrap4d: at most %d ports\n", INFRAP4D_MAX_PORTS);
				return 2;
			}
			cli->ports[cli->n_ports++] = optarg;
			break;
		case 'e': {
			char **n = realloc(cli->entries, (cli->n_entries + 1) * sizeof(*n));

			if (!n)
				return 2;
			cli->entries = n;
			cli->entries[cli->n_entries++] = optarg;
			break;
		}
		case 't':
			cli->threads = atoi(optarg);
			if (cli->threads < 1 || cli->threads > 64) {
				fprintf(stderr, "infrap4d: --threads %s: expected 1 to 64\n", optarg);
				return 2;
			}
			break;
		case OPT_CPUS: cli->cpus = optarg; break;
		case OPT_BUSY: cli->busy = true; break;
		case OPT_HUGE: cli->huge = true; break;
		case OPT_MEM:
			cli->mem = (unsigned int)atoi(optarg);
			if (cli->mem < 64) {
				fprintf(stderr, "infrap4d: --memory %s: expected at least 64 (MB)\n", optarg);
				return 2;
			}
			break;
		case OPT_CHECK: cli->check = true; break;
		case OPT_SYSLOG: cli->syslog = true; break;
		case OPT_P4RT_LISTEN: cli->p4rt_listen = optarg; break;
		case OPT_NO_P4RT: cli->no_p4rt = true; break;
		case OPT_GNMI_LISTEN: cli->gnmi_listen = optarg; break;
		case OPT_NO_GNMI: cli->no_gnmi = true; break;
		case OPT_PORT_SLOTS:
			cli->port_slots = (unsigned int)atoi(optarg);
			if (cli->port_slots < 1 || cli->port_slots > INFRAP4D_MAX_PORTS) {
				fprintf(stderr, "infrap4d: --port-slots %s: expected 1 to %d\n", optarg,
					INFRAP4D_MAX_PORTS);
				return 2;
			}
			break;
		case OPT_STATE_FILE:
			if (!optarg[0] || strlen(optarg) >= IPDK_PATH_MAX) {
				fprintf(stderr, "infrap4d: --state-file: expected a path shorter than %d or \"none\"\n",
					IPDK_PATH_MAX);
				return 2;
			}
			cli->state_file = optarg;
			break;
		case OPT_GRPC_CERTS: cli->grpc_cert_dir = optarg; break;
		case OPT_P4RT_CPU: cli->p4rt_cpu_port = optarg; break;
		case OPT_GRPC_SEC:
			cli->grpc_security = ipdk_rpc_security_parse(optarg);
			if (cli->grpc_security < 0) {
				fprintf(stderr, "infrap4d: --grpc-security %s: expected mtls, tls or insecure\n", optarg);
				return 2;
			}
			break;
		case OPT_P4RT_DEV: {
			char *end;

			cli->p4rt_device_id = strtoull(optarg, &end, 0);
			if (*end || end == optarg || !cli->p4rt_device_id || optarg[0] == '-') {
				fprintf(stderr, "infrap4d: --p4rt-device-id %s: expected a positive number\n", optarg);
				return 2;
			}
			break;
		}
		case 'l':
			cli->log_level = ipdk_log_level_parse(optarg);
			if (cli->log_level < 0) {
				fprintf(stderr, "infrap4d: --log-level %s: expected err, warn, info or debug\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "infrap4d: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* P4Runtime options; any of them makes P4Runtime explicit (failing to start it is fatal). */
static int p4rt_cfg(const struct cli *cli, struct infrap4d_cfg *cfg, struct ipdk_err *err)
{
	if (cli->p4rt_listen) {
		if (strlen(cli->p4rt_listen) >= sizeof(cfg->p4rt_listen))
			return ipdk_err_set(err, -EINVAL, "--p4rt-listen %s: too long", cli->p4rt_listen);
		snprintf(cfg->p4rt_listen, sizeof(cfg->p4rt_listen), "%s", cli->p4rt_listen);
	}
	if (cli->grpc_cert_dir) {
		if (strlen(cli->grpc_cert_dir) >= sizeof(cfg->grpc_cert_dir))
			return ipdk_err_set(err, -EINVAL, "--grpc-cert-dir %s: too long", cli->grpc_cert_dir);
		snprintf(cfg->grpc_cert_dir, sizeof(cfg->grpc_cert_dir), "%s", cli->grpc_cert_dir);
	}
	if (cli->p4rt_cpu_port) {
		if (strlen(cli->p4rt_cpu_port) >= sizeof(cfg->p4rt_cpu_port))
			return ipdk_err_set(err, -EINVAL, "--p4rt-cpu-port %s: too long", cli->p4rt_cpu_port);
		snprintf(cfg->p4rt_cpu_port, sizeof(cfg->p4rt_cpu_port), "%s", cli->p4rt_cpu_port);
	}
	if (cli->grpc_security >= 0)
		cfg->grpc_security = cli->grpc_security;
	if (cli->p4rt_device_id)
		cfg->p4rt_device_id = cli->p4rt_device_id;
	if (cli->p4rt_listen || cli->grpc_cert_dir || cli->p4rt_cpu_port || cli->grpc_security >= 0 ||
	    cli->p4rt_device_id)
		cfg->p4rt_explicit = true;
	if (cli->no_p4rt)
		cfg->p4rt_enabled = false;
#ifndef INFRAP4D_P4RT
	if (cfg->p4rt_enabled && cfg->p4rt_explicit)
		return ipdk_err_set(err, -ENOTSUP,
				    "P4Runtime options given but infrap4d was built without gRPC (libgrpc-dev, protobuf-c)");
	cfg->p4rt_enabled = false;
#endif
	return 0;
}

/* Configuration file first, then the command line on top of it. */
static int make_cfg(const struct cli *cli, struct infrap4d_cfg *cfg, struct ipdk_err *err)
{
	int rc;

	infrap4d_cfg_init(cfg);
	if (cli->config) {
		rc = infrap4d_cfg_load(cfg, cli->config, err);
		if (rc)
			return rc;
	}
	if (cli->spec && cli->bundle)
		return ipdk_err_set(err, -EINVAL, "--spec and --bundle exclude each other");
	/* either on the command line replaces the configuration's pipeline */
	if (cli->spec) {
		snprintf(cfg->spec_path, sizeof(cfg->spec_path), "%s", cli->spec);
		cfg->bundle_path[0] = cfg->p4info_path[0] = 0;
	}
	if (cli->bundle) {
		snprintf(cfg->bundle_path, sizeof(cfg->bundle_path), "%s", cli->bundle);
		cfg->spec_path[0] = cfg->p4info_path[0] = 0;
	}
	if (cli->p4info)
		snprintf(cfg->p4info_path, sizeof(cfg->p4info_path), "%s", cli->p4info);
	if (cfg->p4info_path[0] && !cfg->bundle_path[0])
		return ipdk_err_set(err, -EINVAL, "--p4info (pipeline.p4info) goes with a bundle");
#ifndef INFRAP4D_P4RT
	if (cfg->bundle_path[0])
		return ipdk_err_set(err, -ENOTSUP,
				    "a pipeline bundle needs infrap4d built with P4Runtime (libgrpc-dev, protobuf-c)");
#endif
	if (cli->socket)
		snprintf(cfg->ctl_socket, sizeof(cfg->ctl_socket), "%s", cli->socket);
	for (unsigned int i = 0; i < cli->n_ports; i++) {
		rc = infrap4d_cfg_add_port_str(cfg, cli->ports[i], err);
		if (rc)
			return ipdk_err_prefix(err, "--port %s", cli->ports[i]);
	}
	for (unsigned int i = 0; i < cli->n_entries; i++) {
		char **n = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*n));

		if (!n || !(n[cfg->n_entries] = strdup(cli->entries[i])))
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		cfg->entries = n;
		cfg->n_entries++;
	}
	if (cli->threads)
		cfg->threads.n_threads = (unsigned int)cli->threads;
	if (cli->cpus) {
		rc = parse_cpus(cli->cpus, &cfg->threads, err);
		if (rc)
			return rc;
	} else if (!cli->config) {
		for (int i = 0; i < 64; i++)
			cfg->threads.cpus[i] = -1;
	}
	if (cli->busy)
		cfg->threads.busy_poll = true;
	if (cli->huge)
		cfg->hugepages = true;
	if (cli->mem)
		cfg->mem_mb = cli->mem;
	if (cli->log_level >= 0)
		cfg->log_level = cli->log_level;
	if (cli->syslog)
		cfg->log_syslog = true;
	if (cli->port_slots)
		cfg->port_slots = cli->port_slots;
	if (cli->state_file)
		snprintf(cfg->state_file, sizeof(cfg->state_file), "%s",
			 strcmp(cli->state_file, "none") ? cli->state_file : "");
	if (cli->gnmi_listen) {
		if (strlen(cli->gnmi_listen) >= sizeof(cfg->gnmi_listen))
			return ipdk_err_set(err, -EINVAL, "--gnmi-listen %s: too long", cli->gnmi_listen);
		snprintf(cfg->gnmi_listen, sizeof(cfg->gnmi_listen), "%s", cli->gnmi_listen);
		cfg->gnmi_explicit = true;
	}
	if (cli->no_gnmi)
		cfg->gnmi_enabled = false;
#ifndef INFRAP4D_GNMI
	if (cfg->gnmi_enabled && cfg->gnmi_explicit)
		return ipdk_err_set(err, -ENOTSUP,
				    "gNMI options given but infrap4d was built without gRPC (libgrpc-dev, protobuf-c)");
	cfg->gnmi_enabled = false;
#endif
	return p4rt_cfg(cli, cfg, err);
}

static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int serve(struct infrap4d_dp *dp, const struct infrap4d_cfg *cfg, int sfd)
{
	struct ipdk_ctlsock *sock;
	char msg[IPDK_ERR_MSG_MAX];
	int rc;

	rc = ipdk_ctlsock_open(cfg->ctl_socket, infrap4d_ctl_handle, infrap4d_ctl_closed, dp,
			       &sock, msg);
	if (rc) {
		IPDK_LOG_ERR("%s", msg);
		return rc;
	}
	ipdk_ctlsock_watch_fd(sock, sfd);
	IPDK_LOG_INFO("ready: control socket %s", cfg->ctl_socket);
	for (;;) {
		struct signalfd_siginfo si;

		rc = ipdk_ctlsock_poll(sock, 1000);
		if (rc != 1)
			continue;
		if (read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			IPDK_LOG_INFO("SIGHUP ignored (use \"pipeline load\" to replace the pipeline)");
			continue;
		}
		IPDK_LOG_INFO("%s received: shutting down",
			      si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	}
	ipdk_ctlsock_close(sock);
	return 0;
}

int main(int argc, char **argv)
{
	struct infrap4d_cfg *cfg;
	struct infrap4d_dp dp;
	struct ipdk_err err;
	struct cli cli;
	int rc, sfd;

	rc = parse_args(argc, argv, &cli);
	if (rc)
		return rc;
	ipdk_log_init("infrap4d", cli.log_level >= 0 ? cli.log_level : IPDK_LOG_INFO, false);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return 1;
	ipdk_err_clear(&err);
	rc = make_cfg(&cli, cfg, &err);
	if (rc) {
		IPDK_LOG_ERR("configuration: %s", err.msg);
		rc = 2;
		goto out;
	}
	ipdk_log_init("infrap4d", cfg->log_level >= 0 ? cfg->log_level : IPDK_LOG_INFO,
		      cfg->log_syslog);
	sfd = signals_fd();
	if (sfd < 0) {
		IPDK_LOG_ERR("cannot set up signal handling: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	struct ipdk_dpdk_env_cfg env = {
		.hugepages = cfg->hugepages,
		.mem_mb = cfg->mem_mb,
		.log_level = ipdk_log_level_get() >= IPDK_LOG_DEBUG ? "info" : "error",
	};
	rc = ipdk_dpdk_env_init(&env, &err);
	if (rc) {
		IPDK_LOG_ERR("%s", err.msg);
		rc = 1;
		goto out_sfd;
	}
	rc = infrap4d_dp_start(&dp, cfg, &err);
	if (rc) {
		IPDK_LOG_ERR("%s", err.msg);
		rc = 1;
		goto out_env;
	}
	if (cli.check) {
		IPDK_LOG_INFO("configuration and pipeline are valid");
		rc = 0;
	} else {
#ifdef INFRAP4D_P4RT
		rc = infrap4d_p4rt_start(&dp, cfg, &err);
		if (rc) {
			IPDK_LOG_ERR("%s", err.msg);
			rc = 1;
			infrap4d_dp_stop(&dp);
			goto out_env;
		}
#endif
#ifdef INFRAP4D_GNMI
		rc = infrap4d_gnmi_start(&dp, cfg, &err);
		if (rc) {
			IPDK_LOG_ERR("%s", err.msg);
			rc = 1;
#ifdef INFRAP4D_P4RT
			infrap4d_p4rt_stop(&dp);
#endif
			infrap4d_dp_stop(&dp);
			goto out_env;
		}
#endif
		rc = serve(&dp, cfg, sfd) ? 1 : 0;
#ifdef INFRAP4D_GNMI
		infrap4d_gnmi_stop();
#endif
#ifdef INFRAP4D_P4RT
		infrap4d_p4rt_stop(&dp);
#endif
	}
	infrap4d_dp_stop(&dp);
	IPDK_LOG_INFO("stopped");
out_env:
	ipdk_dpdk_env_fini();
out_sfd:
	close(sfd);
out:
	infrap4d_cfg_fini(cfg);
	free(cfg);
	return rc;
}
