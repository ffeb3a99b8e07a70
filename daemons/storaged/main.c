/*
 * storaged: the storage daemon. In "target" mode it is the remote NVMe/TCP
 * storage target: block devices (RAM, files) exported as namespaces of NVMe
 * subsystems to the hosts on each subsystem's allow list. In "ipu" mode it
 * serves the Storage Management Agent (lib/sma): virtio-blk devices for a VM,
 * backed by remote NVMe/TCP volumes (or local block devices), hotplugged over
 * QMP. Both are configured through a local control socket, one command per
 * line (the same commands may be given in a file with --config), e.g.
 *
 *   bdev_ram ram0 64            64 MiB RAM device, 512-byte blocks
 *   subsys_add nqn.2024-01.io.ipdk:vol0 any
 *   ns_add nqn.2024-01.io.ipdk:vol0 ram0
 *
 * The daemon's main thread serves the control socket; the target runs its own
 * accept and per-connection threads.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ipdk/blk.h"
#include "ipdk/ctlsock.h"
#include "ipdk/log.h"
#include "ipdk/nvmf.h"
#include "ipdk/sma.h"

#define DEFAULT_SOCKET "/run/storaged.sock"
#define DEFAULT_CERT_DIR "/etc/ipdk/certs"
#define DEFAULT_VHOST_DIR "/run/storaged/vhost"
#define MAX_ARGS 8

struct storaged {
	struct ipdk_nvmf_tgt *tgt;      /* target mode */
	struct ipdk_sma *sma;           /* ipu mode */
};

struct cmd {
	const char *name;
	const char *usage;
	int min_args;
	int (*fn)(struct storaged *sd, int argc, char **argv, FILE *out, struct ipdk_err *err);
	char mode;                      /* 't': target mode only, 'i': ipu mode only */
};

static int parse_u64(const char *s, const char *what, uint64_t *v, struct ipdk_err *err)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return ipdk_err_set(err, -EINVAL, "%s: '%s' is not a number", what, s);
	return 0;
}

static int c_bdev_ram(struct storaged *sd, int argc, char **argv, FILE *out,
		      struct ipdk_err *err)
{
	uint64_t mb, bs = 512;
	struct ipdk_blk_dev *dev;
	int rc;

	(void)sd;
	(void)out;
	if (parse_u64(argv[1], "size (MiB)", &mb, err) ||
	    (argc > 2 && parse_u64(argv[2], "block size", &bs, err)))
		return err->code;
	if (mb == 0 || mb > (1u << 20) || bs > 65536)
		return ipdk_err_set(err, -EINVAL, "RAM device %s: %" PRIu64 " MiB with %" PRIu64
				    "-byte blocks is out of range", argv[0], mb, bs);
	rc = ipdk_blk_ram_create(argv[0], (uint32_t)bs, (mb << 20) / bs, &dev, err);
	if (rc == 0)
		ipdk_blk_put(dev);
	return rc;
}

static int c_bdev_file(struct storaged *sd, int argc, char **argv, FILE *out,
		       struct ipdk_err *err)
{
	struct ipdk_blk_file_opts o = { 0 };
	struct ipdk_blk_dev *dev;
	uint64_t v;
	int rc;

	(void)sd;
	(void)out;
	for (int i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "size=", 5)) {
			if (parse_u64(argv[i] + 5, "size (MiB)", &v, err))
				return err->code;
			o.size = v << 20;
			o.create = true;
		} else if (!strncmp(argv[i], "bs=", 3)) {
			if (parse_u64(argv[i] + 3, "block size", &v, err))
				return err->code;
			o.block_size = (uint32_t)v;
		} else if (!strcmp(argv[i], "ro")) {
			o.read_only = true;
		} else if (!strcmp(argv[i], "buffered")) {
			o.buffered = true;
		} else {
			return ipdk_err_set(err, -EINVAL, "bdev_file: unknown option '%s'", argv[i]);
		}
	}
	rc = ipdk_blk_file_create(argv[0], argv[1], &o, &dev, err);
	if (rc == 0)
		ipdk_blk_put(dev);
	return rc;
}

static int c_bdev_delete(struct storaged *sd, int argc, char **argv, FILE *out,
			 struct ipdk_err *err)
{
	(void)sd;
	(void)argc;
	(void)out;
	return ipdk_blk_delete(argv[0], err);
}

static int print_bdev(const struct ipdk_blk_dev *d, void *arg)
{
	fprintf(arg, "{\"name\": \"%s\", \"type\": \"%s\", \"block_size\": %u, "
		"\"num_blocks\": %" PRIu64 ", \"read_only\": %s}\n",
		d->name, d->ops->name, d->block_size, d->num_blocks,
		d->read_only ? "true" : "false");
	return 0;
}

static int c_bdev_list(struct storaged *sd, int argc, char **argv, FILE *out,
		       struct ipdk_err *err)
{
	(void)sd;
	(void)argc;
	(void)argv;
	(void)err;
	return ipdk_blk_foreach(print_bdev, out);
}

static int c_subsys_add(struct storaged *sd, int argc, char **argv, FILE *out,
			struct ipdk_err *err)
{
	struct ipdk_nvmf_subsys_opts o = { 0 };

	(void)out;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "any"))
			o.allow_any_host = true;
		else if (!strncmp(argv[i], "serial=", 7))
			o.serial = argv[i] + 7;
		else if (!strncmp(argv[i], "model=", 6))
			o.model = argv[i] + 6;
		else
			return ipdk_err_set(err, -EINVAL, "subsys_add: unknown option '%s'", argv[i]);
	}
	return ipdk_nvmf_subsys_add(sd->tgt, argv[0], &o, err);
}

static int c_subsys_remove(struct storaged *sd, int argc, char **argv, FILE *out,
			   struct ipdk_err *err)
{
	(void)argc;
	(void)out;
	return ipdk_nvmf_subsys_remove(sd->tgt, argv[0], err);
}

static int c_ns_add(struct storaged *sd, int argc, char **argv, FILE *out,
		    struct ipdk_err *err)
{
	uint64_t nsid = 0;
	int rc;

	if (argc > 2 && parse_u64(argv[2], "nsid", &nsid, err))
		return err->code;
	if (nsid > UINT32_MAX)
		return ipdk_err_set(err, -ERANGE, "nsid %" PRIu64 " out of range", nsid);
	rc = ipdk_nvmf_ns_add(sd->tgt, argv[0], (uint32_t)nsid, argv[1], err);
	if (rc > 0) {
		fprintf(out, "%d\n", rc);
		rc = 0;
	}
	return rc;
}

static int c_ns_remove(struct storaged *sd, int argc, char **argv, FILE *out,
		       struct ipdk_err *err)
{
	uint64_t nsid;

	(void)argc;
	(void)out;
	if (parse_u64(argv[1], "nsid", &nsid, err))
		return err->code;
	if (nsid > UINT32_MAX)
		return ipdk_err_set(err, -ERANGE, "nsid %" PRIu64 " out of range", nsid);
	return ipdk_nvmf_ns_remove(sd->tgt, argv[0], (uint32_t)nsid, err);
}

static int c_host_add(struct storaged *sd, int argc, char **argv, FILE *out,
		      struct ipdk_err *err)
{
	(void)argc;
	(void)out;
	return ipdk_nvmf_host_add(sd->tgt, argv[0], argv[1], err);
}

static int c_host_remove(struct storaged *sd, int argc, char **argv, FILE *out,
			 struct ipdk_err *err)
{
	(void)argc;
	(void)out;
	return ipdk_nvmf_host_remove(sd->tgt, argv[0], argv[1], err);
}

static int print_subsys(const struct ipdk_nvmf_subsys_info *s, void *arg)
{
	FILE *out = arg;

	fprintf(out, "{\"nqn\": \"%s\", \"serial\": \"%s\", \"allow_any_host\": %s, "
		"\"controllers\": %u, \"hosts\": [", s->nqn, s->serial,
		s->allow_any_host ? "true" : "false", s->n_controllers);
	for (unsigned int i = 0; i < s->n_hosts; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", s->hosts[i]);
	fprintf(out, "], \"namespaces\": [");
	for (unsigned int i = 0; i < s->n_ns; i++) {
		const struct ipdk_nvmf_ns_info *n = &s->ns[i];

		fprintf(out, "%s{\"nsid\": %u, \"bdev\": \"%s\", \"num_blocks\": %" PRIu64
			", \"block_size\": %u, \"uuid\": \"", i ? ", " : "", n->nsid, n->bdev,
			n->num_blocks, n->block_size);
		for (int k = 0; k < 16; k++)
			fprintf(out, "%s%02x", k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "",
				n->uuid[k]);
		fprintf(out, "\"}");
	}
	fprintf(out, "]}\n");
	return 0;
}

static int c_subsys_list(struct storaged *sd, int argc, char **argv, FILE *out,
			 struct ipdk_err *err)
{
	(void)argc;
	(void)argv;
	(void)err;
	return ipdk_nvmf_subsys_foreach(sd->tgt, print_subsys, out);
}

static int print_sma_device(const struct ipdk_sma_device_info *d, void *arg)
{
	fprintf(arg, "{\"handle\": \"%s\", \"type\": \"%s\", \"physical_id\": %u, "
		"\"volumes\": %u, \"volume\": \"%s\", \"bdev\": \"%s\", \"remote\": %s, "
		"\"socket\": \"%s\", "
		"\"connected\": %s, \"reads\": %" PRIu64 ", \"writes\": %" PRIu64
		", \"errors\": %" PRIu64 ", \"in_flight\": %u, \"qos_waited\": %" PRIu64
		", \"qos_waiting\": %u, \"failed\": \"%s\", \"reconnecting\": %s}\n", d->handle, d->type,
		d->physical_id, d->n_volumes, d->volume, d->bdev, d->remote ? "true" : "false", d->socket_path,
		d->connected ? "true" : "false", d->reads, d->writes, d->errors, d->in_flight,
		d->qos_waited, d->qos_waiting, d->failed, d->reconnecting ? "true" : "false");
	return 0;
}

static int c_sma_devices(struct storaged *sd, int argc, char **argv, FILE *out,
			 struct ipdk_err *err)
{
	(void)argc;
	(void)argv;
	(void)err;
	return ipdk_sma_foreach_device(sd->sma, print_sma_device, out);
}

static const struct cmd commands[] = {
	{ "bdev_ram", "NAME SIZE_MIB [BLOCK_SIZE]", 2, c_bdev_ram },
	{ "bdev_file", "NAME PATH [size=MIB] [bs=N] [ro] [buffered]", 2, c_bdev_file },
	{ "bdev_delete", "NAME", 1, c_bdev_delete },
	{ "bdev_list", "", 0, c_bdev_list },
	{ "subsys_add", "NQN [any] [serial=S] [model=M]", 1, c_subsys_add, 't' },
	{ "subsys_remove", "NQN", 1, c_subsys_remove, 't' },
	{ "subsys_list", "", 0, c_subsys_list, 't' },
	{ "ns_add", "NQN BDEV [NSID]", 2, c_ns_add, 't' },
	{ "ns_remove", "NQN NSID", 2, c_ns_remove, 't' },
	{ "host_add", "NQN HOSTNQN", 2, c_host_add, 't' },
	{ "host_remove", "NQN HOSTNQN", 2, c_host_remove, 't' },
	{ "sma_devices", "", 0, c_sma_devices, 'i' },
};

static int run_line(struct storaged *sd, char *line, FILE *out, struct ipdk_err *err)
{
	char *argv[MAX_ARGS + 1], *save = NULL, *w;
	int argc = 0;

	ipdk_err_clear(err);
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_ARGS + 1)
			return ipdk_err_set(err, -E2BIG, "too many words");
		argv[argc++] = w;
	}
	if (argc == 0 || argv[0][0] == '#')
		return 0;
	if (!strcmp(argv[0], "help")) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			fprintf(out, "%s %s\n", commands[i].name, commands[i].usage);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct cmd *c = &commands[i];

		if (strcmp(argv[0], c->name))
			continue;
		if ((c->mode == 't' && !sd->tgt) || (c->mode == 'i' && !sd->sma))
			return ipdk_err_set(err, -ENOTSUP, "%s: only in --mode %s", c->name,
					    c->mode == 't' ? "target" : "ipu");
		if (argc - 1 < c->min_args)
			return ipdk_err_set(err, -EINVAL, "usage: %s %s", c->name, c->usage);
		return c->fn(sd, argc - 1, argv + 1, out, err);
	}
	return ipdk_err_set(err, -EINVAL, "unknown command '%s' (try help)", argv[0]);
}

static int ctl_handler(void *arg, unsigned int conn_id, char *line,
		       struct ipdk_ctl_reply *reply, char *err_msg)
{
	struct ipdk_err err;
	int rc;

	(void)conn_id;
	rc = run_line(arg, line, reply->out, &err);
	if (rc < 0)
		snprintf(err_msg, IPDK_ERR_MSG_MAX, "%s", err.msg);
	return rc;
}

static int run_config(struct storaged *sd, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	struct ipdk_err err;
	unsigned int n = 0;

	if (!f) {
		IPDK_LOG_ERR("config %s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		n++;
		line[strcspn(line, "\r\n")] = '\0';
		if (run_line(sd, line, stdout, &err) < 0) {
			IPDK_LOG_ERR("config %s:%u: %s", path, n, err.msg);
			fclose(f);
			return err.code;
		}
	}
	fclose(f);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: storaged --mode target|ipu [OPTIONS]\n"
"The ipdk storage daemon. In target mode: an NVMe/TCP target whose subsystems,\n"
"namespaces (on RAM or file block devices) and allowed hosts are set through\n"
"the control socket (see docs/storage.md). In ipu mode: the Storage Management\n"
"Agent (gRPC, package sma) making virtio-blk devices for a VM from remote\n"
"NVMe/TCP volumes (see docs/sma.md).\n"
"\n"
"  -m, --mode MODE        target or ipu\n"
"  -S, --socket PATH      control socket (default %s)\n"
"  -c, --config FILE      control commands to run at start, one per line\n"
"  -L, --log-level LEVEL  err, warn, info (default) or debug\n"
"  -h, --help             this help\n"
"target mode:\n"
"  -l, --listen ADDR:PORT NVMe/TCP listener (repeatable; default 0.0.0.0:4420)\n"
"  -q, --queue-depth N    entries per I/O queue (default 128)\n"
"ipu mode:\n"
"      --sma-listen ADDR:PORT   the SMA gRPC service (default 0.0.0.0:%d)\n"
"      --grpc-security MODE     mtls (default), tls or insecure\n"
"      --grpc-cert-dir DIR      ca.crt, server.crt, server.key (default %s)\n"
"      --qmp PATH               the VM's QMP socket (without it devices are served\n"
"                               but not plugged)\n"
"      --vm-name NAME           the VM's name in the device table (default vm)\n"
"      --bus-prefix P           root port ids: P + physical_id (default rp)\n"
"      --slots N                physical ids 0..N-1 (default: --max-devices)\n"
"      --max-devices N          CreateDevice refused beyond N devices (default %d)\n"
"      --vhost-dir DIR          vhost-user sockets (default %s)\n"
"      --state FILE             keep the devices here and restore them at start\n"
"      --hostnqn NQN            host NQN for volumes that give none\n"
"      --queues N               queues per virtio-blk device (default 1)\n"
"      --hotplug-timeout MS     per QMP step (default 10000)\n"
"      --connect-timeout MS     to discovery services and targets (default 5000)\n"
"      --ctrl-loss-timeout MS   I/O to a lost target, or to a remote volume away\n"
"                               at restart (retried), is held this long, then\n"
"                               fails (default 60000)\n",
		DEFAULT_SOCKET, IPDK_SMA_DEFAULT_PORT, DEFAULT_CERT_DIR,
		IPDK_SMA_DEFAULT_MAX_DEVICES, DEFAULT_VHOST_DIR);
}

enum {
	OPT_SMA_LISTEN = 256, OPT_GRPC_SEC, OPT_GRPC_CERTS, OPT_QMP, OPT_VM_NAME, OPT_BUS_PREFIX,
	OPT_SLOTS, OPT_MAX_DEVICES, OPT_VHOST_DIR, OPT_STATE, OPT_HOSTNQN, OPT_QUEUES,
	OPT_HOTPLUG_TMO, OPT_CONNECT_TMO, OPT_CTRL_LOSS_TMO,
};

static int parse_uint_opt(const char *name, const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x > 1000000000ul) {
		fprintf(stderr, "storaged: --%s %s: expected a number\n", name, s);
		return -1;
	}
	*v = (unsigned int)x;
	return 0;
}

/* Sets an ipu-mode option; returns 0, or -1 after printing why not. */
static int ipu_option(int c, const char *arg, struct ipdk_sma_config *sc)
{
	switch (c) {
	case OPT_SMA_LISTEN: sc->rpc.address = arg; return 0;
	case OPT_GRPC_CERTS: sc->rpc.cert_dir = arg; return 0;
	case OPT_QMP: sc->qmp_path = arg; return 0;
	case OPT_VM_NAME: sc->vm_name = arg; return 0;
	case OPT_BUS_PREFIX: sc->bus_prefix = arg; return 0;
	case OPT_VHOST_DIR: sc->vhost_dir = arg; return 0;
	case OPT_STATE: sc->state_path = arg; return 0;
	case OPT_HOSTNQN: sc->hostnqn = arg; return 0;
	case OPT_SLOTS: return parse_uint_opt("slots", arg, &sc->n_slots);
	case OPT_MAX_DEVICES: return parse_uint_opt("max-devices", arg, &sc->max_devices);
	case OPT_QUEUES: return parse_uint_opt("queues", arg, &sc->queues);
	case OPT_HOTPLUG_TMO: return parse_uint_opt("hotplug-timeout", arg, &sc->hotplug_timeout_ms);
	case OPT_CONNECT_TMO: return parse_uint_opt("connect-timeout", arg, &sc->connect_timeout_ms);
	case OPT_CTRL_LOSS_TMO:
		return parse_uint_opt("ctrl-loss-timeout", arg, &sc->ctrl_loss_tmo_ms);
	case OPT_GRPC_SEC: {
		int sec = ipdk_rpc_security_parse(arg);

		if (sec < 0) {
			fprintf(stderr, "storaged: --grpc-security %s: expected mtls, tls or insecure\n",
				arg);
			return -1;
		}
		sc->rpc.security = (enum ipdk_rpc_security)sec;
		return 0;
	}
	}
	return -1;
}

static int split_addr(char *s, char **addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	unsigned long p;

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	p = strtoul(colon + 1, NULL, 10);
	if (p > 65535)
		return -EINVAL;
	*addr = s[0] == '[' ? s + 1 : s;
	if (s[0] == '[' && colon[-1] == ']')
		colon[-1] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* Serves the control socket until SIGINT or SIGTERM. */
static void serve_until_signal(struct ipdk_ctlsock *sock, sigset_t *set)
{
	int sfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);

	ipdk_ctlsock_watch_fd(sock, sfd);
	for (;;) {
		struct signalfd_siginfo si;

		if (ipdk_ctlsock_poll(sock, 1000) == 1 &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			IPDK_LOG_INFO("storaged: signal %u, stopping", si.ssi_signo);
			break;
		}
	}
	close(sfd);
}

/* ipu mode: the config file first (it may make the local volumes the state
 * file's devices need), then the agent, then the control socket. */
static int run_ipu(struct storaged *sd, const struct ipdk_sma_config *scfg, const char *config,
		   const char *sock_path, sigset_t *set)
{
	struct ipdk_ctlsock *sock = NULL;
	char msg[IPDK_ERR_MSG_MAX];
	struct ipdk_err err;

	if (config && run_config(sd, config) < 0)
		return 1;
	if (ipdk_sma_create(scfg, &sd->sma, &err) < 0 || ipdk_sma_start(sd->sma, &err) < 0) {
		IPDK_LOG_ERR("%s", err.msg);
		if (scfg->rpc.security != IPDK_RPC_SEC_INSECURE)
			IPDK_LOG_ERR("(create certificates with scripts/gen-certs.sh, or use "
				     "--grpc-security insecure)");
		return 1;
	}
	if (ipdk_ctlsock_open(sock_path, ctl_handler, NULL, sd, &sock, msg) < 0) {
		IPDK_LOG_ERR("control socket %s: %s", sock_path, msg);
		return 1;
	}
	IPDK_LOG_INFO("storaged: ipu mode ready (SMA port %d, control socket %s)",
		      ipdk_sma_port(sd->sma), sock_path);
	serve_until_signal(sock, set);
	ipdk_ctlsock_close(sock);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "listen", required_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'c' },
		{ "queue-depth", required_argument, NULL, 'q' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "sma-listen", required_argument, NULL, OPT_SMA_LISTEN },
		{ "grpc-security", required_argument, NULL, OPT_GRPC_SEC },
		{ "grpc-cert-dir", required_argument, NULL, OPT_GRPC_CERTS },
		{ "qmp", required_argument, NULL, OPT_QMP },
		{ "vm-name", required_argument, NULL, OPT_VM_NAME },
		{ "bus-prefix", required_argument, NULL, OPT_BUS_PREFIX },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "max-devices", required_argument, NULL, OPT_MAX_DEVICES },
		{ "vhost-dir", required_argument, NULL, OPT_VHOST_DIR },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "hostnqn", required_argument, NULL, OPT_HOSTNQN },
		{ "queues", required_argument, NULL, OPT_QUEUES },
		{ "hotplug-timeout", required_argument, NULL, OPT_HOTPLUG_TMO },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TMO },
		{ "ctrl-loss-timeout", required_argument, NULL, OPT_CTRL_LOSS_TMO },
		{ NULL, 0, NULL, 0 },
	};
	struct ipdk_sma_config scfg = { .rpc = { .cert_dir = DEFAULT_CERT_DIR },
					.vhost_dir = DEFAULT_VHOST_DIR };
	bool ipu_opts = false;
	const char *mode = NULL, *sock_path = DEFAULT_SOCKET, *config = NULL;
	char *listen[8];
	unsigned int n_listen = 0;
	struct ipdk_nvmf_tgt_opts topts = { 0 };
	struct storaged sd = { 0 };
	struct ipdk_ctlsock *sock = NULL;
	char msg[IPDK_ERR_MSG_MAX];
	struct ipdk_err err;
	sigset_t set;
	int level = IPDK_LOG_INFO, c, rc = 1;

	while ((c = getopt_long(argc, argv, "m:l:S:c:q:L:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mode = optarg;
			break;
		case 'l':
			if (n_listen == 8) {
				fprintf(stderr, "storaged: at most 8 listeners\n");
				return 2;
			}
			listen[n_listen++] = optarg;
			break;
		case 'S':
			sock_path = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'q':
			topts.max_queue_depth = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'L':
			level = ipdk_log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "storaged: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (c >= OPT_SMA_LISTEN) {
				if (ipu_option(c, optarg, &scfg) < 0)
					return 2;
				ipu_opts = true;
				break;
			}
			usage(stderr);
			return 2;
		}
	}
	if (!mode || (strcmp(mode, "target") && strcmp(mode, "ipu"))) {
		fprintf(stderr, "storaged: --mode target or --mode ipu is required\n");
		return 2;
	}
	if (ipu_opts && strcmp(mode, "ipu")) {
		fprintf(stderr, "storaged: SMA and VM options need --mode ipu\n");
		return 2;
	}
	if (!strcmp(mode, "ipu") && (n_listen || topts.max_queue_depth)) {
		fprintf(stderr, "storaged: --listen and --queue-depth are for --mode target (an "
			"nvmf_tcp device of ipu mode names its own address)\n");
		return 2;
	}
	ipdk_log_init("storaged", level, false);
	signal(SIGPIPE, SIG_IGN);
	/* blocked before any thread starts, so only the signalfd sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (!strcmp(mode, "ipu")) {
		rc = run_ipu(&sd, &scfg, config, sock_path, &set);
		ipdk_sma_destroy(sd.sma);
		return rc;
	}
	if (ipdk_nvmf_tgt_create(&topts, &sd.tgt, &err) < 0) {
		IPDK_LOG_ERR("%s", err.msg);
		return 1;
	}
	if (n_listen == 0)
		listen[n_listen++] = "0.0.0.0:4420";
	for (unsigned int i = 0; i < n_listen; i++) {
		char buf[128], *addr;
		uint16_t port;

		snprintf(buf, sizeof(buf), "%s", listen[i]);
		if (split_addr(buf, &addr, &port) < 0) {
			IPDK_LOG_ERR("--listen %s: expected ADDR:PORT", listen[i]);
			goto out;
		}
		if (ipdk_nvmf_tgt_listen(sd.tgt, addr, port, &err) < 0) {
			IPDK_LOG_ERR("%s", err.msg);
			goto out;
		}
	}
	if (config && run_config(&sd, config) < 0)
		goto out;
	if (ipdk_ctlsock_open(sock_path, ctl_handler, NULL, &sd, &sock, msg) < 0) {
		IPDK_LOG_ERR("control socket %s: %s", sock_path, msg);
		goto out;
	}
	IPDK_LOG_INFO("storaged: target ready (port %u, control socket %s)",
		      ipdk_nvmf_tgt_port(sd.tgt), sock_path);
	serve_until_signal(sock, &set);
	rc = 0;
out:
	if (sock)
		ipdk_ctlsock_close(sock);
	ipdk_nvmf_tgt_destroy(sd.tgt);
	return rc;
}
