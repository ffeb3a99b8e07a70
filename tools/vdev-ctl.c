/*
 * vdev-ctl: the virtual device table from the command line. Binds host names
 * to VMs (their QMP sockets), hotplugs virtio-net and virtio-blk devices into
 * them and unplugs them again, through lib/vdev.
 *
 * The table outlives one command in a JSON state file (default
 * /run/ipdk/vdev.json), read at the start of each command and written back
 * atomically after a change; a lock file beside it serialises concurrent
 * commands. A daemon that holds the table itself (infrap4d's gNMI service)
 * uses lib/vdev directly instead.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ipdk/file.h"
#include "ipdk/log.h"
#include "ipdk/vdev.h"

#define DEFAULT_STATE "/run/ipdk/vdev.json"

struct ctl {
	const char *state_path;
	bool json;
	struct ipdk_vdev_table *table;
	json_t *hosts;      /* {name: {"qmp", "bus-prefix", "slots", "timeout-ms"}} */
	struct ipdk_err err;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdev-ctl [-s STATE] [--json] COMMAND [ARGS]\n"
		"  host-add NAME QMP_SOCKET [bus-prefix=P] [slots=N] [timeout-ms=MS]\n"
		"                 bind host NAME to the VM whose QMP socket is QMP_SOCKET;\n"
		"                 physical id I is root port P+I (default rpI), N slots (32)\n"
		"  host-del NAME  forget a host no device uses\n"
		"  hosts          list hosts\n"
		"  add NAME KEY=VALUE[,KEY=VALUE]...\n"
		"                 hotplug a device; keys: device-type (virtio-net, virtio-blk),\n"
		"                 host-name, socket-path, queues, physical-id, pci-bus, mac,\n"
		"                 pf-name, vf-index\n"
		"  del NAME [--force]\n"
		"                 unplug a device (--force: forget it even if the unplug fails)\n"
		"  list           list devices\n"
		"  show NAME      one device\n"
		"options:\n"
		"  -s, --state FILE  state file (default %s, or $IPDK_VDEV_STATE)\n"
		"  -j, --json        JSON output\n"
		"  -v, --verbose     log driver steps to stderr\n"
		"  -h, --help        this text\n", DEFAULT_STATE);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* ---- state file ----------------------------------------------------------- */

static int lock_state(const char *path)
{
	char lock[4096];
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		fail("state lock %s: %s", lock, strerror(errno));
		return -1;
	}
	return fd;
}

static int host_from_json(struct ctl *c, const char *name, json_t *h)
{
	struct ipdk_vdev_host_cfg hc = {
		.address = json_string_value(json_object_get(h, "qmp")),
		.bus_prefix = json_string_value(json_object_get(h, "bus-prefix")),
		.n_slots = (unsigned int)json_integer_value(json_object_get(h, "slots")),
		.timeout_ms = (unsigned int)json_integer_value(json_object_get(h, "timeout-ms")),
	};

	return ipdk_vdev_host_add(c->table, name, &hc, &c->err);
}

static int device_from_json(struct ctl *c, json_t *d)
{
	struct ipdk_vdev_info info = { 0 };
	const char *key;
	json_t *v;
	int rc;

	ipdk_vdev_cfg_init(&info.cfg);
	json_object_foreach(d, key, v) {
		char num[32];
		const char *text = json_string_value(v);

		if (!strcmp(key, "state")) {
			info.state = text && !strcmp(text, "unplug-failed") ?
				     IPDK_VDEV_UNPLUG_FAILED : IPDK_VDEV_PLUGGED;
			continue;
		}
		if (!strcmp(key, "note")) {
			snprintf(info.note, sizeof(info.note), "%s", text ? text : "");
			continue;
		}
		if (json_is_integer(v)) {
			if (json_integer_value(v) < 0)
				continue;   /* -1: unset */
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
			text = num;
		}
		if (!text || !text[0])
			continue;
		rc = ipdk_vdev_cfg_set(&info.cfg, key, text, &c->err);
		if (rc)
			return rc;
	}
	return ipdk_vdev_restore(c->table, &info, &c->err);
}

static int load_state(struct ctl *c)
{
	json_error_t jerr;
	json_t *root, *devs, *h, *d;
	const char *name;
	size_t i;
	int rc = 0;

	c->hosts = json_object();
	if (access(c->state_path, F_OK) < 0)
		return 0;
	root = json_load_file(c->state_path, 0, &jerr);
	if (!root)
		return fail("state file %s:%d:%d: %s", c->state_path, jerr.line, jerr.column,
			    jerr.text);
	json_object_foreach(json_object_get(root, "hosts"), name, h) {
		rc = host_from_json(c, name, h);
		if (rc)
			goto bad;
		json_object_set(c->hosts, name, h);
	}
	devs = json_object_get(root, "devices");
	json_array_foreach(devs, i, d) {
		rc = device_from_json(c, d);
		if (rc)
			goto bad;
	}
	json_decref(root);
	return 0;
bad:
	json_decref(root);
	return fail("state file %s: %s", c->state_path, c->err.msg);
}

static json_t *device_json(const struct ipdk_vdev_info *info)
{
	const struct ipdk_vdev_cfg *cfg = &info->cfg;
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s}",
			      "name", cfg->name, "device-type", ipdk_vdev_type_name(cfg->type),
			      "host-name", cfg->host_name, "socket-path", cfg->socket_path,
			      "queues", cfg->queues, "physical-id", cfg->physical_id,
			      "pci-bus", cfg->pci_bus, "state", ipdk_vdev_state_name(info->state));
	char mac[18];

	if (cfg->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", cfg->mac[0],
			 cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
		json_object_set_new(d, "mac", json_string(mac));
	}
	if (cfg->pf_name[0]) {
		json_object_set_new(d, "pf-name", json_string(cfg->pf_name));
		json_object_set_new(d, "vf-index", json_integer(cfg->vf_index));
	}
	if (info->note[0])
		json_object_set_new(d, "note", json_string(info->note));
	return d;
}

static int collect(const struct ipdk_vdev_info *info, void *arg)
{
	json_array_append_new(arg, device_json(info));
	return 0;
}

static json_t *devices_json(struct ctl *c)
{
	json_t *a = json_array();

	ipdk_vdev_foreach(c->table, collect, a);
	return a;
}

static int save_state(struct ctl *c)
{
	json_t *root = json_pack("{s:O, s:o}", "hosts", c->hosts, "devices", devices_json(c));
	char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	int rc = text ? ipdk_file_replace(c->state_path, text, strlen(text)) : -ENOMEM;

	free(text);
	json_decref(root);
	if (rc)
		return fail("state file %s: cannot write: %s", c->state_path, strerror(-rc));
	return 0;
}

/* ---- commands ------------------------------------------------------------- */

static int cmd_host_add(struct ctl *c, int argc, char **argv)
{
	json_t *h;

	if (argc < 3)
		return fail("host-add: NAME and QMP_SOCKET required");
	if (json_object_get(c->hosts, argv[1]))
		return fail("host %s: already configured (host-del it first)", argv[1]);
	h = json_pack("{s:s}", "qmp", argv[2]);
	for (int i = 3; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		char *end;
		long n;

		if (!eq)
			goto bad;
		*eq = '\0';
		if (!strcmp(argv[i], "bus-prefix")) {
			json_object_set_new(h, "bus-prefix", json_string(eq + 1));
			continue;
		}
		if (strcmp(argv[i], "slots") && strcmp(argv[i], "timeout-ms"))
			goto bad;
		n = strtol(eq + 1, &end, 10);
		if (!eq[1] || *end || n <= 0 || n > 1000000) {
			json_decref(h);
			return fail("host %s: %s: \"%s\" is not a positive number", argv[1],
				    argv[i], eq + 1);
		}
		json_object_set_new(h, argv[i], json_integer(n));
	}
	if (host_from_json(c, argv[1], h)) {
		json_decref(h);
		return fail("%s", c->err.msg);
	}
	json_object_set_new(c->hosts, argv[1], h);
	return save_state(c);
bad:
	json_decref(h);
	return fail("host-add: unknown option \"%s\" (bus-prefix=, slots=, timeout-ms=)",
		    argv[3]);
}

static int find_host_user(const struct ipdk_vdev_info *info, void *arg)
{
	return !strcmp(info->cfg.host_name, arg);
}

static int cmd_host_del(struct ctl *c, int argc, char **argv)
{
	if (argc != 2)
		return fail("host-del: NAME required");
	if (ipdk_vdev_foreach(c->table, find_host_user, argv[1]))
		return fail("host %s: devices still use it (del them first)", argv[1]);
	if (ipdk_vdev_host_remove(c->table, argv[1], &c->err))
		return fail("%s", c->err.msg);
	json_object_del(c->hosts, argv[1]);
	return save_state(c);
}

static int cmd_hosts(struct ctl *c)
{
	const char *name;
	json_t *h;

	if (c->json) {
		json_dumpf(c->hosts, stdout, JSON_INDENT(2));
		putchar('\n');
		return 0;
	}
	json_object_foreach(c->hosts, name, h)
		printf("%s qmp %s\n", name, json_string_value(json_object_get(h, "qmp")));
	return 0;
}

/* Splits "k=v,k=v" (also "k:v", IPDK's gnmi-ctl habit) into cfg keys. */
static int parse_keys(struct ctl *c, struct ipdk_vdev_cfg *cfg, char *arg)
{
	for (char *save = NULL, *kv = strtok_r(arg, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *sep = strpbrk(kv, "=:");

		if (!sep)
			return fail("add: \"%s\" is not KEY=VALUE", kv);
		*sep = '\0';
		if (ipdk_vdev_cfg_set(cfg, kv, sep + 1, &c->err))
			return fail("device %s: %s", cfg->name, c->err.msg);
	}
	return 0;
}

static int cmd_add(struct ctl *c, int argc, char **argv)
{
	struct ipdk_vdev_info info;
	struct ipdk_vdev_cfg cfg;

	if (argc < 3)
		return fail("add: NAME and KEY=VALUE,... required");
	ipdk_vdev_cfg_init(&cfg);
	if (ipdk_vdev_cfg_set(&cfg, "name", argv[1], &c->err))
		return fail("device: %s", c->err.msg);
	for (int i = 2; i < argc; i++)
		if (parse_keys(c, &cfg, argv[i]))
			return 1;
	if (ipdk_vdev_add(c->table, &cfg, &c->err))
		return fail("%s", c->err.msg);
	if (save_state(c))
		return 1;
	ipdk_vdev_get(c->table, cfg.name, &info, NULL);
	if (c->json) {
		json_t *d = device_json(&info);

		json_dumpf(d, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(d);
	} else {
		printf("%s plugged into %s on %s\n", info.cfg.name, info.cfg.host_name,
		       info.cfg.pci_bus);
	}
	return 0;
}

static int cmd_del(struct ctl *c, int argc, char **argv)
{
	unsigned int flags = 0;
	int rc;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--force")))
		return fail("del: NAME [--force]");
	if (argc == 3)
		flags |= IPDK_VDEV_FORCE;
	rc = ipdk_vdev_remove(c->table, argv[1], flags, &c->err);
	if (rc != -ENOENT && save_state(c))
		return 1;
	if (rc)
		return fail("%s", c->err.msg);
	return 0;
}

static int print_line(const struct ipdk_vdev_info *info, void *arg)
{
	const struct ipdk_vdev_cfg *cfg = &info->cfg;

	(void)arg;
	printf("%-16s %-10s %-12s %-6s %-3d %-13s %s%s%s\n", cfg->name,
	       ipdk_vdev_type_name(cfg->type), cfg->host_name, cfg->pci_bus, cfg->physical_id,
	       ipdk_vdev_state_name(info->state), cfg->socket_path, info->note[0] ? "  # " : "",
	       info->note);
	return 0;
}

static int cmd_list(struct ctl *c)
{
	if (c->json) {
		json_t *a = devices_json(c);

		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(a);
		return 0;
	}
	printf("%-16s %-10s %-12s %-6s %-3s %-13s %s\n", "name", "type", "host", "bus", "id",
	       "state", "socket");
	ipdk_vdev_foreach(c->table, print_line, NULL);
	return 0;
}

static int cmd_show(struct ctl *c, int argc, char **argv)
{
	struct ipdk_vdev_info info;
	json_t *d;

	if (argc != 2)
		return fail("show: NAME required");
	if (ipdk_vdev_get(c->table, argv[1], &info, &c->err))
		return fail("%s", c->err.msg);
	d = device_json(&info);
	if (c->json) {
		json_dumpf(d, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		const char *key;
		json_t *v;

		json_object_foreach(d, key, v) {
			if (json_is_string(v))
				printf("%s: %s\n", key, json_string_value(v));
			else
				printf("%s: %lld\n", key, (long long)json_integer_value(v));
		}
	}
	json_decref(d);
	return 0;
}

static int run(struct ctl *c, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "host-add"))
		return cmd_host_add(c, argc, argv);
	if (!strcmp(cmd, "host-del"))
		return cmd_host_del(c, argc, argv);
	if (!strcmp(cmd, "hosts"))
		return cmd_hosts(c);
	if (!strcmp(cmd, "add"))
		return cmd_add(c, argc, argv);
	if (!strcmp(cmd, "del"))
		return cmd_del(c, argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list(c);
	if (!strcmp(cmd, "show"))
		return cmd_show(c, argc, argv);
	fail("unknown command \"%s\" (vdev-ctl --help lists them)", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .state_path = getenv("IPDK_VDEV_STATE") };
	int opt, lock_fd, rc;
	bool verbose = false;

	if (!c.state_path || !c.state_path[0])
		c.state_path = DEFAULT_STATE;
	/* '+': options end at the command, so "del NAME --force" reaches it. */
	while ((opt = getopt_long(argc, argv, "+s:jvh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.state_path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	ipdk_log_init("vdev-ctl", verbose ? IPDK_LOG_DEBUG : IPDK_LOG_ERR, false);
	if (!strcmp(c.state_path, DEFAULT_STATE))
		mkdir("/run/ipdk", 0755);
	lock_fd = lock_state(c.state_path);
	if (lock_fd < 0)
		return 1;
	if (ipdk_vdev_table_create(&c.table, &c.err)) {
		rc = fail("%s", c.err.msg);
		goto out;
	}
	rc = load_state(&c);
	if (!rc)
		rc = run(&c, argc - optind, argv + optind);
out:
	ipdk_vdev_table_destroy(c.table);
	json_decref(c.hosts);
	close(lock_fd);
	return rc;
}
