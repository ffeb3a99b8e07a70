/*
 * gnmi-ctl: a gNMI client with IPDK's command syntax, written on lib/rpc's
 * client module (ipdk/rpc_client.h) and protobuf-c. Parameters are "key:value" pairs separated by commas;
 * "device:virtual-device,name:N" names the port
 * /interfaces/virtual-interface[name=N] and the other pairs are its keys:
 *
 *   gnmi-ctl set "device:virtual-device,name:net_vhost0,host-name:host1,
 *                 device-type:VIRTIO_NET,queues:1,socket-path:/tmp/vhost-user-0,
 *                 port-type:LINK"
 *   gnmi-ctl get "device:virtual-device,name:net_vhost0,tdi-portin-id"
 *   gnmi-ctl del "device:virtual-device,name:net_vhost0"
 *
 * A VHOST port whose host-name is a VM known to the virtual device table is
 * also hotplugged into that VM (docs/gnmi.md). "device:host,name:H" names
 * /virtual-devices/host[name=H], a VM and its QMP socket:
 *
 *   gnmi-ctl set "device:host,name:host1,qmp-socket:/run/host1-qmp.sock"
 *
 * get, del and the subscriptions also take plain gNMI paths
 * ("/interfaces/virtual-interface[name=*]/state/counters",
 * "/virtual-devices/virtual-device[name=net_vhost0]"). Values print as
 * "PATH = VALUE" lines, or as one JSON object with --json. Exit status: 0 on
 * success, 1 when the server refused (its message on stderr), 2 for usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnmi_pb.h"
#include "ipdk/rpc_client.h"

#define MAX_PAIRS 32
#define DEFAULT_CERT_DIR "/etc/ipdk/certs"

struct opts {
	const char *server;
	const char *security;
	const char *cert_dir, *ca, *cert, *key, *tls_name;
	bool json;
	int count;              /* subscriptions: stop after this many notifications */
	double timeout;         /* seconds; 0: unary 10 s, subscriptions forever */
	unsigned int interval;  /* sub-sample, ms */
};

struct client {
	struct ipdk_rpc_client *rpc;
	const struct opts *o;
};

static volatile sig_atomic_t interrupted;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: gnmi-ctl [OPTIONS] COMMAND [PARAMS]\n"
"A gNMI client for infrap4d's ports (IPDK's gnmi-ctl syntax).\n"
"\n"
"Commands:\n"
"  set \"device:virtual-device,name:N,KEY:VALUE,...\"   create a port (and hotplug\n"
"                                   it when host-name is a VM of the device table)\n"
"  set \"device:host,name:H,qmp-socket:PATH\"           add a VM for hotplug\n"
"  get \"device:virtual-device[,name:N][,KEY...]\" | PATH   read values\n"
"  del \"device:virtual-device,name:N\" | PATH            remove a port\n"
"  cap                                                 server capabilities\n"
"  sub-onchange \"device:virtual-device[,name:N][,KEY]\" | PATH\n"
"  sub-sample \"device:virtual-device[,name:N][,KEY]\" | PATH\n"
"                                                      stream changes / samples\n"
"Keys: port-type (TAP|LINK|VHOST), device-type, queues, socket-path, host-name,\n"
"pci-bdf, netdev, mtu, pipeline-name, packet-dir, control-port, mempool-name;\n"
"read-only: tdi-portin-id, tdi-portout-id, backend, netdev, counters.\n"
"Host keys: qmp-socket, bus-prefix, slots, timeout-ms; read-only: driver, devices.\n"
"\n"
"Options:\n"
"  -g, --server HOST:PORT   gNMI server (default localhost:9339)\n"
"      --grpc-security MODE mtls (default), tls or insecure\n"
"      --cert-dir DIR       ca.crt, client.crt, client.key (default %s)\n"
"      --ca FILE, --cert FILE, --key FILE   override one of them\n"
"      --tls-name NAME      expected server name in its certificate\n"
"  -j, --json               print results as JSON\n"
"  -n, --count N            subscriptions: stop after N notifications\n"
"  -t, --timeout SECONDS    give up after this long (default 10 for requests)\n"
"  -i, --interval MS        sub-sample: sample interval (default 1000)\n"
"  -h, --help               show this help\n", DEFAULT_CERT_DIR);
}

/* ---- transport (lib/rpc's client module) --------------------------------------- */

static int client_open(struct client *c, const struct opts *o)
{
	struct ipdk_rpc_client_config cfg = {
		.address = o->server, .cert_dir = o->cert_dir, .ca_cert_file = o->ca,
		.cert_file = o->cert, .key_file = o->key, .tls_name = o->tls_name,
		.timeout = o->timeout > 0 ? o->timeout : 10,
	};
	struct ipdk_err err;

	c->o = o;
	cfg.security = (enum ipdk_rpc_security)ipdk_rpc_security_parse(o->security);
	if (ipdk_rpc_client_create(&cfg, &c->rpc, &err)) {
		fprintf(stderr, "gnmi-ctl: %s (use --cert-dir, or --grpc-security tls|insecure)\n",
			err.msg);
		return -1;
	}
	return 0;
}

/* Prints a failed status on stderr; returns the exit status (0 for OK, else 1). */
static int report_status(const struct ipdk_rpc_status *st)
{
	if (st->code != IPDK_RPC_OK)
		fprintf(stderr, "error: %s: %s\n", ipdk_rpc_code_name(st->code),
			st->message ? st->message : "");
	return st->code == IPDK_RPC_OK ? 0 : 1;
}

/* One request, one reply; *reply is NULL unless the status is OK. */
static int unary(struct client *c, const char *method, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *rd, ProtobufCMessage **reply)
{
	struct ipdk_rpc_status st;
	int rc;

	ipdk_rpc_client_unary(c->rpc, method, req, rd, reply, &st);
	rc = report_status(&st);
	ipdk_rpc_status_fini(&st);
	return rc;
}

/* ---- parameters ------------------------------------------------------------- */

struct pair {
	char *key, *value;      /* value NULL for a bare key */
};

struct params {
	char *buf;
	struct pair p[MAX_PAIRS];
	int n;
	const char *device, *name;
};

static int parse_params(const char *text, struct params *ps)
{
	char *save = NULL, *tok;

	memset(ps, 0, sizeof(*ps));
	ps->buf = strdup(text);
	if (!ps->buf)
		return -1;
	for (tok = strtok_r(ps->buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');

		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (colon)
			*colon = '\0';
		if (!strcmp(tok, "device")) {
			ps->device = colon ? colon + 1 : "";
			continue;
		}
		if (!strcmp(tok, "name")) {
			ps->name = colon ? colon + 1 : "";
			continue;
		}
		if (ps->n == MAX_PAIRS) {
			fprintf(stderr, "gnmi-ctl: more than %d keys\n", MAX_PAIRS);
			return -1;
		}
		ps->p[ps->n].key = tok;
		ps->p[ps->n++].value = colon ? colon + 1 : NULL;
	}
	if (!ps->device) {
		fprintf(stderr, "gnmi-ctl: \"%s\": expected \"device:virtual-device,...\" or a "
			"path starting with '/'\n", text);
		return -1;
	}
	if (strcmp(ps->device, "virtual-device") && strcmp(ps->device, "host")) {
		fprintf(stderr, "gnmi-ctl: device \"%s\" is unknown (virtual-device or host)\n",
			ps->device);
		return -1;
	}
	return 0;
}

static bool is_host(const struct params *ps)
{
	return !strcmp(ps->device, "host");
}

static bool state_key(const struct params *ps, const char *key)
{
	if (is_host(ps))
		return !strcmp(key, "driver") || !strcmp(key, "devices");
	return !strcmp(key, "tdi-portin-id") || !strcmp(key, "tdi-portout-id") ||
	       !strcmp(key, "backend") || !strcmp(key, "counters");
}

/* /interfaces/virtual-interface[name=N or *][/config|state/KEY], or for
 * device:host /virtual-devices/host[name=H or *][/config|state/KEY] */
static int port_path(const struct params *ps, const char *key, struct ipdk_gnmi_path *p)
{
	memset(p, 0, sizeof(*p));
	if (ipdk_gnmi_path_add(p, is_host(ps) ? "virtual-devices" : "interfaces") ||
	    ipdk_gnmi_path_add(p, is_host(ps) ? "host" : "virtual-interface") ||
	    ipdk_gnmi_path_add_key(p, "name", ps->name ? ps->name : "*"))
		return -1;
	if (!key)
		return 0;
	if (ipdk_gnmi_path_add(p, state_key(ps, key) ? "state" : "config") ||
	    ipdk_gnmi_path_add(p, key)) {
		fprintf(stderr, "gnmi-ctl: key %s is too long\n", key);
		return -1;
	}
	return 0;
}

/* The paths a get/del/subscribe names: one plain path, or one per key. */
static int target_paths(const char *text, struct ipdk_gnmi_path **out, size_t *n)
{
	struct ipdk_err err;
	struct params ps;
	size_t k = 0;
	int rc = -1;

	if (text[0] == '/') {
		*out = calloc(1, sizeof(**out));
		if (!*out || ipdk_gnmi_path_parse(text, *out, &err)) {
			fprintf(stderr, "gnmi-ctl: %s\n", *out ? err.msg : "out of memory");
			return -1;
		}
		*n = 1;
		return 0;
	}
	if (parse_params(text, &ps))
		goto out;
	*out = calloc(ps.n ? ps.n : 1, sizeof(**out));
	if (!*out)
		goto out;
	if (!ps.n) {
		rc = port_path(&ps, NULL, &(*out)[k++]);
	} else {
		for (int i = 0; i < ps.n; i++) {
			if (ps.p[i].value) {
				fprintf(stderr, "gnmi-ctl: %s:%s: give keys without values here\n",
					ps.p[i].key, ps.p[i].value);
				goto out;
			}
			rc = port_path(&ps, ps.p[i].key, &(*out)[k++]);
			if (rc)
				goto out;
		}
	}
	*n = k;
out:
	free(ps.buf);
	return rc;
}

static Gnmi__Path **pb_paths(const struct ipdk_gnmi_path *paths, size_t n)
{
	Gnmi__Path **v = calloc(n, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = gnmi_pb_path_new(&paths[i]);
	return v;
}

static void pb_paths_free(Gnmi__Path **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		if (v[i])
			protobuf_c_message_free_unpacked(&v[i]->base, NULL);
	free(v);
}

/* ---- output -------------------------------------------------------------------- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_val(const Gnmi__TypedValue *tv)
{
	char buf[4096];

	gnmi_pb_val_print(tv, buf, sizeof(buf));
	switch (tv ? tv->value_case : GNMI__TYPED_VALUE__VALUE__NOT_SET) {
	case GNMI__TYPED_VALUE__VALUE_UINT_VAL:
	case GNMI__TYPED_VALUE__VALUE_INT_VAL:
	case GNMI__TYPED_VALUE__VALUE_BOOL_VAL:
	case GNMI__TYPED_VALUE__VALUE_DOUBLE_VAL:
	case GNMI__TYPED_VALUE__VALUE_JSON_VAL:
	case GNMI__TYPED_VALUE__VALUE_JSON_IETF_VAL:
		fputs(buf, stdout);
		break;
	default:
		json_str(buf);
	}
}

/* Prints a notification's updates (and deletes); returns the count printed. */
static int print_notification(const Gnmi__Notification *n, bool json, bool *first,
			      bool stream)
{
	char path[2048], val[4096];
	struct ipdk_gnmi_path p, prefix;
	int count = 0;

	gnmi_pb_path_get(n->prefix, NULL, &prefix, NULL);
	for (size_t i = 0; i < n->n_update; i++, count++) {
		if (gnmi_pb_path_get(n->prefix, n->update[i]->path, &p, NULL))
			continue;
		ipdk_gnmi_path_print(&p, path, sizeof(path));
		if (json) {
			printf("%s", *first ? "" : ",\n");
			if (stream)
				printf("{\"update\": ");
			json_str(path);
			printf(": ");
			json_val(n->update[i]->val);
			if (stream)
				printf("}");
		} else {
			gnmi_pb_val_print(n->update[i]->val, val, sizeof(val));
			printf("%s%s = %s\n", stream ? "update " : "", path, val);
		}
		*first = false;
	}
	for (size_t i = 0; i < n->n_delete_; i++, count++) {
		if (gnmi_pb_path_get(n->prefix, n->delete_[i], &p, NULL))
			continue;
		ipdk_gnmi_path_print(&p, path, sizeof(path));
		if (json) {
			printf("%s{\"delete\": ", *first ? "" : ",\n");
			json_str(path);
			printf("}");
		} else {
			printf("delete %s\n", path);
		}
		*first = false;
	}
	return count;
}

/* ---- commands -------------------------------------------------------------------- */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int cmd_set(struct client *c, const char *text)
{
	Gnmi__SetRequest req = GNMI__SET_REQUEST__INIT;
	Gnmi__Update upd[MAX_PAIRS], *updp[MAX_PAIRS];
	Gnmi__TypedValue tv[MAX_PAIRS];
	struct ipdk_gnmi_path path;
	ProtobufCMessage *rep = NULL;
	struct params ps;
	int rc = 2;

	if (parse_params(text, &ps))
		goto out;
	if (!ps.name || !ps.name[0] || !ps.n) {
		fprintf(stderr, "gnmi-ctl: set needs name:N and at least one KEY:VALUE\n");
		goto out;
	}
	for (int i = 0; i < ps.n; i++) {
		if (!ps.p[i].value) {
			fprintf(stderr, "gnmi-ctl: set: key %s has no value (KEY:VALUE)\n",
				ps.p[i].key);
			goto out;
		}
		gnmi__update__init(&upd[i]);
		gnmi__typed_value__init(&tv[i]);
		/* The path's config/ or state/ is the server's to judge. */
		if (port_path(&ps, ps.p[i].key, &path)) {
			for (int j = 0; j < i; j++)
				protobuf_c_message_free_unpacked(&upd[j].path->base, NULL);
			goto out;
		}
		upd[i].path = gnmi_pb_path_new(&path);
		if (all_digits(ps.p[i].value)) {
			tv[i].value_case = GNMI__TYPED_VALUE__VALUE_UINT_VAL;
			tv[i].uint_val = strtoull(ps.p[i].value, NULL, 10);
		} else {
			tv[i].value_case = GNMI__TYPED_VALUE__VALUE_STRING_VAL;
			tv[i].string_val = ps.p[i].value;
		}
		upd[i].val = &tv[i];
		updp[i] = &upd[i];
	}
	req.n_update = (size_t)ps.n;
	req.update = updp;
	rc = unary(c, "/gnmi.gNMI/Set", &req.base, &gnmi__set_response__descriptor, &rep);
	for (int i = 0; i < ps.n; i++)
		protobuf_c_message_free_unpacked(&upd[i].path->base, NULL);
	if (!rc && c->o->json)
		printf("{\"set\": \"%s\", \"keys\": %d}\n", ps.name, ps.n);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
out:
	free(ps.buf);
	return rc;
}

static int cmd_get(struct client *c, const char *text)
{
	Gnmi__GetRequest req = GNMI__GET_REQUEST__INIT;
	Gnmi__GetResponse *rep = NULL;
	struct ipdk_gnmi_path *paths = NULL;
	bool first = true;
	size_t n = 0;
	int rc;

	if (target_paths(text, &paths, &n)) {
		free(paths);
		return 2;
	}
	req.n_path = n;
	req.path = pb_paths(paths, n);
	req.encoding = GNMI__ENCODING__PROTO;
	rc = unary(c, "/gnmi.gNMI/Get", &req.base, &gnmi__get_response__descriptor,
		   (ProtobufCMessage **)&rep);
	if (!rc) {
		if (c->o->json)
			printf("{");
		for (size_t i = 0; i < rep->n_notification; i++)
			print_notification(rep->notification[i], c->o->json, &first, false);
		if (c->o->json)
			printf("}\n");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	pb_paths_free(req.path, n);
	free(paths);
	return rc;
}

static int cmd_del(struct client *c, const char *text)
{
	Gnmi__SetRequest req = GNMI__SET_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	struct ipdk_gnmi_path *paths = NULL;
	size_t n = 0;
	int rc;

	if (target_paths(text, &paths, &n)) {
		free(paths);
		return 2;
	}
	if (text[0] != '/' && !strstr(text, "name:")) {
		fprintf(stderr, "gnmi-ctl: del needs name:N (or a path)\n");
		free(paths);
		return 2;
	}
	req.n_delete_ = n;
	req.delete_ = pb_paths(paths, n);
	rc = unary(c, "/gnmi.gNMI/Set", &req.base, &gnmi__set_response__descriptor, &rep);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	pb_paths_free(req.delete_, n);
	free(paths);
	return rc;
}

static int cmd_cap(struct client *c)
{
	Gnmi__CapabilityRequest req = GNMI__CAPABILITY_REQUEST__INIT;
	Gnmi__CapabilityResponse *rep = NULL;
	static const char *enc[] = { "JSON", "BYTES", "PROTO", "ASCII", "JSON_IETF" };
	int rc;

	rc = unary(c, "/gnmi.gNMI/Capabilities", &req.base,
		   &gnmi__capability_response__descriptor, (ProtobufCMessage **)&rep);
	if (rc)
		return rc;
	if (c->o->json) {
		printf("{\"gnmi_version\": ");
		json_str(rep->gnmi_version);
		printf(", \"models\": [");
		for (size_t i = 0; i < rep->n_supported_models; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(rep->supported_models[i]->name);
			printf(", \"organization\": ");
			json_str(rep->supported_models[i]->organization);
			printf(", \"version\": ");
			json_str(rep->supported_models[i]->version);
			printf("}");
		}
		printf("], \"encodings\": [");
		for (size_t i = 0; i < rep->n_supported_encodings; i++)
			printf("%s\"%s\"", i ? ", " : "", (unsigned int)rep->supported_encodings[i] < 5 ?
			       enc[rep->supported_encodings[i]] : "?");
		printf("]}\n");
	} else {
		printf("gNMI version: %s\n", rep->gnmi_version);
		for (size_t i = 0; i < rep->n_supported_models; i++)
			printf("model: %s (%s) %s\n", rep->supported_models[i]->name,
			       rep->supported_models[i]->organization,
			       rep->supported_models[i]->version);
		for (size_t i = 0; i < rep->n_supported_encodings; i++)
			printf("encoding: %s\n", (unsigned int)rep->supported_encodings[i] < 5 ?
			       enc[rep->supported_encodings[i]] : "?");
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A STREAM subscription: prints notifications until --count, --timeout,
 * Ctrl-C or the server ends the call. Ending it ourselves is not an error. */
static int cmd_sub(struct client *c, const char *text, bool sample)
{
	Gnmi__SubscribeRequest req = GNMI__SUBSCRIBE_REQUEST__INIT;
	Gnmi__SubscriptionList list = GNMI__SUBSCRIPTION_LIST__INIT;
	Gnmi__Subscription *subs = NULL, **subp = NULL;
	struct ipdk_gnmi_path *paths = NULL;
	struct ipdk_rpc_stream *s = NULL;
	struct ipdk_err err;
	bool first = true;
	int notes = 0, rc = 0;
	size_t n = 0;

	if (target_paths(text, &paths, &n)) {
		free(paths);
		return 2;
	}
	subs = calloc(n, sizeof(*subs));
	subp = calloc(n, sizeof(*subp));
	for (size_t i = 0; i < n; i++) {
		gnmi__subscription__init(&subs[i]);
		subs[i].path = gnmi_pb_path_new(&paths[i]);
		subs[i].mode = sample ? GNMI__SUBSCRIPTION_MODE__SAMPLE :
			       GNMI__SUBSCRIPTION_MODE__ON_CHANGE;
		subs[i].sample_interval = (uint64_t)c->o->interval * 1000000u;
		subp[i] = &subs[i];
	}
	list.mode = GNMI__SUBSCRIPTION_LIST__MODE__STREAM;
	list.encoding = GNMI__ENCODING__PROTO;
	list.n_subscription = n;
	list.subscription = subp;
	req.request_case = GNMI__SUBSCRIBE_REQUEST__REQUEST_SUBSCRIBE;
	req.subscribe = &list;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (ipdk_rpc_client_stream_open(c->rpc, "/gnmi.gNMI/Subscribe",
					&gnmi__subscribe_response__descriptor, c->o->timeout,
					&s, &err)) {
		fprintf(stderr, "gnmi-ctl: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	ipdk_rpc_stream_send(s, &req.base);
	if (c->o->json)
		printf("[");
	while (!interrupted && (c->o->count <= 0 || notes < c->o->count)) {
		Gnmi__SubscribeResponse *rep;
		/* wake up now and then to notice Ctrl-C */
		int got = ipdk_rpc_stream_recv(s, 0.2, (ProtobufCMessage **)&rep);

		if (got == 0)
			continue;
		if (got < 0)
			break;
		if (rep->response_case == GNMI__SUBSCRIBE_RESPONSE__RESPONSE_UPDATE) {
			print_notification(rep->update, c->o->json, &first, true);
			notes++;
		} else if (rep->response_case == GNMI__SUBSCRIBE_RESPONSE__RESPONSE_SYNC_RESPONSE) {
			if (c->o->json) {
				printf("%s{\"sync_response\": true}", first ? "" : ",\n");
				first = false;
			} else {
				printf("sync\n");
			}
		}
		fflush(stdout);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	if (c->o->json)
		printf("]\n");
	if (ipdk_rpc_stream_ended(s)) {
		const struct ipdk_rpc_status *st = ipdk_rpc_stream_status(s);

		/* --timeout ends the subscription through the call's deadline */
		if (st->code != IPDK_RPC_DEADLINE_EXCEEDED || c->o->timeout <= 0)
			rc = report_status(st);
	}
	ipdk_rpc_stream_close(s, 0);
out:
	for (size_t i = 0; i < n; i++)
		protobuf_c_message_free_unpacked(&subs[i].path->base, NULL);
	free(subs);
	free(subp);
	free(paths);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "server", required_argument, NULL, 'g' },
		{ "grpc-security", required_argument, NULL, 's' },
		{ "cert-dir", required_argument, NULL, 'C' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ "tls-name", required_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.server = "localhost:9339", .security = "mtls", .cert_dir = DEFAULT_CERT_DIR,
		.interval = 1000,
	};
	struct client c = { 0 };
	const char *cmd, *arg;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "g:jn:t:i:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'g': o.server = optarg; break;
		case 's': o.security = optarg; break;
		case 'C': o.cert_dir = optarg; break;
		case 'A': o.ca = optarg; break;
		case 'E': o.cert = optarg; break;
		case 'K': o.key = optarg; break;
		case 'N': o.tls_name = optarg; break;
		case 'j': o.json = true; break;
		case 'n': o.count = atoi(optarg); break;
		case 't': o.timeout = atof(optarg); break;
		case 'i':
			o.interval = (unsigned int)atoi(optarg);
			if (o.interval < 10) {
				fprintf(stderr, "gnmi-ctl: --interval %s: at least 10 ms\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (ipdk_rpc_security_parse(o.security) < 0) {
		fprintf(stderr, "gnmi-ctl: --grpc-security %s: expected mtls, tls or insecure\n",
			o.security);
		return 2;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (strcmp(cmd, "cap") && !arg) {
		fprintf(stderr, "gnmi-ctl: %s needs a parameter string (see --help)\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "set") && strcmp(cmd, "get") && strcmp(cmd, "del") &&
	    strcmp(cmd, "cap") && strcmp(cmd, "sub-onchange") && strcmp(cmd, "sub-sample")) {
		fprintf(stderr, "gnmi-ctl: unknown command \"%s\" (set, get, del, cap, "
			"sub-onchange, sub-sample)\n", cmd);
		return 2;
	}
	if (client_open(&c, &o))
		return 1;
	if (!strcmp(cmd, "set"))
		rc = cmd_set(&c, arg);
	else if (!strcmp(cmd, "get"))
		rc = cmd_get(&c, arg);
	else if (!strcmp(cmd, "del"))
		rc = cmd_del(&c, arg);
	else if (!strcmp(cmd, "cap"))
		rc = cmd_cap(&c);
	else
		rc = cmd_sub(&c, arg, !strcmp(cmd, "sub-sample"));
	ipdk_rpc_client_destroy(c.rpc);
	return rc;
}
