/*
 * sma-ctl: the storage command sender, in the spirit of IPDK's cmd-sender.
 * Target-side commands talk to a storaged in target mode through its control
 * socket (subsystems and RAM namespaces: the remote volumes); device commands
 * talk to a storaged in ipu mode through the Storage Management Agent (gRPC,
 * package sma, through lib/rpc's client module):
 *
 *   sma-ctl -T /run/target.sock create-subsystem nqn.2024-01.io.ipdk:vol0 --any-host
 *   sma-ctl -T /run/target.sock create-ramdrive nqn.2024-01.io.ipdk:vol0 64
 *     volume 8c6b...  nsid 1  bdev rd-...
 *   sma-ctl -s 127.0.0.1:8080 create-virtio-blk --volume 8c6b... --physical-id 0 \
 *       --nqn nqn.2024-01.io.ipdk:vol0 --discovery 192.0.2.1:4420
 *     virtio_blk:vblk0
 *   sma-ctl delete-virtio-blk virtio_blk:vblk0
 *
 * --json prints one JSON object per command. Exit status: 0 on success, 1
 * when the server refused (its code and message on stderr), 2 for usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ipdk/rpc_client.h"
#include "sma/sma.pb-c.h"

#define DEFAULT_SERVER "127.0.0.1:8080"
#define DEFAULT_CERT_DIR "/etc/ipdk/certs"
#define DEFAULT_TARGET_SOCKET "/run/storaged.sock"
#define MAX_ENDPOINTS 8

struct opts {
	struct ipdk_rpc_client_config conn;
	const char *target_sock;
	bool json;
};

/* Options of the device and volume commands. */
struct vol_args {
	const char *volume, *nqn, *hostnqn;
	const char *discovery[MAX_ENDPOINTS];
	unsigned int n_discovery;
	long physical_id, virtual_id;
	bool any_host;
	const char *hosts[16];
	unsigned int n_hosts;
	const char *name;
	const char *listen;
	const char *qos[6];     /* rd_iops ... rw_bandwidth values as given */
};

static const char *const qos_names[6] = {
	"rd_iops", "wr_iops", "rw_iops", "rd_bandwidth", "wr_bandwidth", "rw_bandwidth",
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: sma-ctl [OPTIONS] COMMAND [ARGS]\n"
"Target side (storaged --mode target, control socket -T):\n"
"  create-subsystem NQN [--any-host] [--host HOSTNQN]...\n"
"  delete-subsystem NQN\n"
"  create-ramdrive NQN SIZE_MIB [--name BDEV]   a RAM namespace; prints its volume UUID\n"
"  delete-ramdrive NQN NSID                      removes the namespace and its RAM device\n"
"  list-subsystems\n"
"IPU side (storaged --mode ipu, the SMA service -s):\n"
"  create-virtio-blk --volume UUID --physical-id N [--virtual-id N]\n"
"                    [--nqn SUBNQN] [--hostnqn HOSTNQN] [--discovery ADDR:PORT]...\n"
"                    without --discovery the volume is a block device storaged has\n"
"                    under the UUID's name; prints the device handle\n"
"  delete-virtio-blk HANDLE\n"
"  create-nvmf-tcp --nqn SUBNQN --listen ADDR:PORT [--any-host] [--host HOSTNQN]...\n"
"                  [--volume UUID [--discovery ...]]   a subsystem of the IPU's own\n"
"                    target exporting attached volumes; prints the handle\n"
"  delete-nvmf-tcp HANDLE                        (refused while volumes are attached)\n"
"  attach-volume HANDLE --volume UUID [--nqn ...] [--hostnqn ...] [--discovery ...]\n"
"  detach-volume HANDLE --volume UUID\n"
"  set-qos HANDLE [--volume UUID] [rd_iops=N] [wr_iops=N] [rw_iops=N]\n"
"          [rd_bandwidth=N] [wr_bandwidth=N] [rw_bandwidth=N]\n"
"                    limits in kIOPS and MiB/s; 0 or 'unlimited' lifts one, a limit\n"
"                    not named (or 'unchanged') stays as it is\n"
"  get-qos-capabilities TYPE                     virtio_blk, nvme or nvmf_tcp: the limits\n"
"                    a device (max_device_caps) and a volume (max_volume_caps) take\n"
"Options:\n"
"  -s, --server ADDR          the SMA service (default %s)\n"
"  -T, --target-socket PATH   the target's control socket (default %s)\n"
"      --grpc-security MODE   mtls (default), tls or insecure\n"
"      --grpc-cert-dir DIR    ca.crt, client.crt, client.key (default %s)\n"
"      --tls-name NAME        the server name its certificate must carry\n"
"      --timeout S            seconds per call (default 60)\n"
"      --json                 print JSON\n"
"  -h, --help\n", DEFAULT_SERVER, DEFAULT_TARGET_SOCKET, DEFAULT_CERT_DIR);
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	printf("%s\n", s ? s : "{}");
	free(s);
	json_decref(o);
}

/* ---- the target's control socket ------------------------------------------------ */

/* Sends one line; *out gets the reply lines (free()). Returns 0, 1 (ERR, printed) or -1. */
static int target_cmd(const struct opts *o, const char *line, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *end;
	int fd;

	*out = NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->target_sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "error: target control socket %s: %s\n", o->target_sock,
			strerror(errno));
		goto fail;
	}
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0)
		goto fail;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap && !(buf = realloc(buf, cap *= 2)))
			goto fail;
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (!strncmp(buf, "OK\n", 3) || strstr(buf, "\nOK\n") ||
		    !strncmp(buf, "ERR", 3) || strstr(buf, "\nERR"))
			break;
	}
	close(fd);
	buf[len] = '\0';
	end = !strncmp(buf, "ERR", 3) ? buf : strstr(buf, "\nERR");
	if (end) {
		end += *end == '\n';
		end[strcspn(end, "\n")] = '\0';
		fprintf(stderr, "error: target: %s\n", end[3] == ' ' ? end + 4 : end);
		free(buf);
		return 1;
	}
	end = !strncmp(buf, "OK\n", 3) ? buf : strstr(buf, "\nOK\n");
	if (!end) {
		fprintf(stderr, "error: target: no answer to '%s'\n", line);
		free(buf);
		return 1;
	}
	*end = '\0';
	*out = buf;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}

static int target_simple(const struct opts *o, const char *line)
{
	char *out;
	int rc = target_cmd(o, line, &out);

	free(out);
	return rc ? 1 : 0;
}

static int cmd_create_subsystem(const struct opts *o, const char *nqn, const struct vol_args *a)
{
	char line[1024];
	int rc;

	snprintf(line, sizeof(line), "subsys_add %s%s", nqn, a->any_host ? " any" : "");
	rc = target_simple(o, line);
	for (unsigned int i = 0; i < a->n_hosts && !rc; i++) {
		snprintf(line, sizeof(line), "host_add %s %s", nqn, a->hosts[i]);
		rc = target_simple(o, line);
	}
	if (!rc && o->json)
		print_json(json_pack("{s:s}", "nqn", nqn));
	return rc;
}

/* Finds namespace nsid of nqn in subsys_list; *bdev and uuid copied out. */
static int find_ns(const struct opts *o, const char *nqn, long nsid, char *bdev, char *uuid)
{
	char *out, *save = NULL;
	int rc = target_cmd(o, "subsys_list", &out);

	if (rc)
		return 1;
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *s = json_loads(l, 0, NULL), *ns;
		size_t i;

		if (!s)
			continue;
		if (strcmp(json_string_value(json_object_get(s, "nqn")) ?: "", nqn)) {
			json_decref(s);
			continue;
		}
		json_array_foreach(json_object_get(s, "namespaces"), i, ns) {
			if (json_integer_value(json_object_get(ns, "nsid")) != nsid)
				continue;
			snprintf(bdev, 64, "%s", json_string_value(json_object_get(ns, "bdev")));
			snprintf(uuid, 37, "%s", json_string_value(json_object_get(ns, "uuid")));
			json_decref(s);
			free(out);
			return 0;
		}
		json_decref(s);
	}
	free(out);
	fprintf(stderr, "error: target: subsystem %s has no namespace %ld\n", nqn, nsid);
	return 1;
}

static int cmd_create_ramdrive(const struct opts *o, const char *nqn, const char *size,
			       const struct vol_args *a)
{
	char line[1024], name[64], bdev[64], uuid[37], *out;
	long nsid;
	int rc;

	if (a->name)
		snprintf(name, sizeof(name), "%s", a->name);
	else
		snprintf(name, sizeof(name), "rd-%08lx%04lx", (unsigned long)time(NULL),
			 (unsigned long)getpid() & 0xffff);
	snprintf(line, sizeof(line), "bdev_ram %s %s", name, size);
	if (target_simple(o, line))
		return 1;
	snprintf(line, sizeof(line), "ns_add %s %s", nqn, name);
	rc = target_cmd(o, line, &out);
	if (rc) {
		snprintf(line, sizeof(line), "bdev_delete %s", name);
		target_simple(o, line);
		return 1;
	}
	nsid = strtol(out, NULL, 10);
	free(out);
	if (find_ns(o, nqn, nsid, bdev, uuid))
		return 1;
	if (o->json)
		print_json(json_pack("{s:s, s:i, s:s, s:s}", "nqn", nqn, "nsid", (json_int_t)nsid,
				     "bdev", bdev, "volume", uuid));
	else
		printf("volume %s  nsid %ld  bdev %s\n", uuid, nsid, bdev);
	return 0;
}

static int cmd_delete_ramdrive(const struct opts *o, const char *nqn, const char *nsid_s)
{
	char line[1024], bdev[64], uuid[37], *end;
	long nsid = strtol(nsid_s, &end, 10);

	if (*end || nsid <= 0) {
		fprintf(stderr, "error: NSID '%s' is not a namespace id\n", nsid_s);
		return 2;
	}
	if (find_ns(o, nqn, nsid, bdev, uuid))
		return 1;
	snprintf(line, sizeof(line), "ns_remove %s %ld", nqn, nsid);
	if (target_simple(o, line))
		return 1;
	snprintf(line, sizeof(line), "bdev_delete %s", bdev);
	if (target_simple(o, line))
		return 1;
	if (o->json)
		print_json(json_pack("{s:s, s:i, s:s}", "nqn", nqn, "nsid", (json_int_t)nsid,
				     "volume", uuid));
	return 0;
}

static int cmd_list_subsystems(const struct opts *o)
{
	char *out;
	int rc = target_cmd(o, "subsys_list", &out);

	if (rc)
		return 1;
	if (o->json) {
		json_t *arr = json_array();
		char *save = NULL;

		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			json_array_append_new(arr, json_loads(l, 0, NULL));
		print_json(json_pack("{s:o}", "subsystems", arr));
	} else {
		fputs(out, stdout);
	}
	free(out);
	return 0;
}

/* ---- the SMA service ------------------------------------------------------------- */

static int parse_uuid(const char *s, uint8_t out[16])
{
	unsigned int n = 0;

	for (; *s && n < 16; s++) {
		unsigned int v;

		if (*s == '-')
			continue;
		if (sscanf(s, "%2x", &v) != 1 || !s[1] || s[1] == '-')
			return -1;
		out[n++] = (uint8_t)v;
		s++;
	}
	return n == 16 && !*s ? 0 : -1;
}

/* Builds VolumeParameters from the options; everything it allocates lives in
 * the static pools below (the tool makes one request per run). */
static int volume_params(const struct vol_args *a, Sma__VolumeParameters *v, uint8_t id[16])
{
	static Sma__Nvmf__VolumeConnectionParameters nv;
	static Sma__Nvmf__VolumeDiscoveryParameters disc;
	static Sma__Nvmf__Address addr[MAX_ENDPOINTS], *addrp[MAX_ENDPOINTS];
	static char host[MAX_ENDPOINTS][128];

	if (!a->volume || parse_uuid(a->volume, id)) {
		fprintf(stderr, "error: --volume UUID is required (xxxxxxxx-xxxx-xxxx-xxxx-"
			"xxxxxxxxxxxx)\n");
		return -1;
	}
	sma__volume_parameters__init(v);
	v->volume_id.data = id;
	v->volume_id.len = 16;
	if (!a->n_discovery)
		return 0;
	sma__nvmf__volume_connection_parameters__init(&nv);
	sma__nvmf__volume_discovery_parameters__init(&disc);
	nv.subnqn = (char *)(a->nqn ? a->nqn : "");
	nv.hostnqn = (char *)(a->hostnqn ? a->hostnqn : "");
	for (unsigned int i = 0; i < a->n_discovery; i++) {
		char *colon;

		snprintf(host[i], sizeof(host[i]), "%s", a->discovery[i]);
		colon = strrchr(host[i], ':');
		if (!colon) {
			fprintf(stderr, "error: --discovery %s: expected ADDR:PORT\n", a->discovery[i]);
			return -1;
		}
		*colon = '\0';
		sma__nvmf__address__init(&addr[i]);
		addr[i].trtype = "tcp";
		addr[i].traddr = host[i][0] == '[' ? host[i] + 1 : host[i];
		if (host[i][0] == '[' && colon[-1] == ']')
			colon[-1] = '\0';
		addr[i].trsvcid = colon + 1;
		addrp[i] = &addr[i];
	}
	disc.n_discovery_endpoints = a->n_discovery;
	disc.discovery_endpoints = addrp;
	nv.connection_params_case =
		SMA__NVMF__VOLUME_CONNECTION_PARAMETERS__CONNECTION_PARAMS_DISCOVERY;
	nv.discovery = &disc;
	v->connection_params_case = SMA__VOLUME_PARAMETERS__CONNECTION_PARAMS_NVMF;
	v->nvmf = &nv;
	return 0;
}

/* Runs one SMA call; prints a refusal. Returns 0, 1 or 2. */
static int sma_call(const struct opts *o, const char *method, const ProtobufCMessage *req,
		    const ProtobufCMessageDescriptor *rd, ProtobufCMessage **reply)
{
	struct ipdk_rpc_status st = { 0 };
	struct ipdk_rpc_client *c;
	struct ipdk_err err;
	char full[128];
	int rc;

	if (ipdk_rpc_client_create(&o->conn, &c, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		return 1;
	}
	snprintf(full, sizeof(full), "/sma.StorageManagementAgent/%s", method);
	rc = ipdk_rpc_client_unary(c, full, req, rd, reply, &st);
	if (rc) {
		const char *name = ipdk_rpc_code_name((enum ipdk_rpc_code)st.code);

		if (o->json)
			print_json(json_pack("{s:s, s:s}", "error", name, "message", st.message));
		fprintf(stderr, "error: %s: %s\n", name, st.message);
	}
	ipdk_rpc_status_fini(&st);
	ipdk_rpc_client_destroy(c);
	return rc ? 1 : 0;
}

/* CreateDevice; prints the new device's handle. */
static int create_device(const struct opts *o, const Sma__CreateDeviceRequest *req)
{
	ProtobufCMessage *reply = NULL;
	const char *handle;
	int rc;

	rc = sma_call(o, "CreateDevice", &req->base, &sma__create_device_response__descriptor,
		      &reply);
	if (rc)
		return rc;
	handle = ((Sma__CreateDeviceResponse *)reply)->handle;
	if (o->json)
		print_json(json_pack("{s:s}", "handle", handle));
	else
		printf("%s\n", handle);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

static int cmd_create_virtio_blk(const struct opts *o, const struct vol_args *a)
{
	Sma__CreateDeviceRequest req = SMA__CREATE_DEVICE_REQUEST__INIT;
	Sma__VirtioBlk__DeviceParameters p = SMA__VIRTIO_BLK__DEVICE_PARAMETERS__INIT;
	Sma__VolumeParameters v;
	uint8_t id[16];

	if (a->physical_id < 0) {
		fprintf(stderr, "error: --physical-id N is required\n");
		return 2;
	}
	if (volume_params(a, &v, id))
		return 2;
	p.physical_id = (uint32_t)a->physical_id;
	p.virtual_id = (uint32_t)(a->virtual_id > 0 ? a->virtual_id : 0);
	req.volume = &v;
	req.params_case = SMA__CREATE_DEVICE_REQUEST__PARAMS_VIRTIO_BLK;
	req.virtio_blk = &p;
	return create_device(o, &req);
}

static int cmd_create_nvmf_tcp(const struct opts *o, const struct vol_args *a)
{
	Sma__CreateDeviceRequest req = SMA__CREATE_DEVICE_REQUEST__INIT;
	Sma__NvmfTcp__DeviceParameters p = SMA__NVMF_TCP__DEVICE_PARAMETERS__INIT;
	Sma__VolumeParameters v;
	char addr[128], *colon;
	uint8_t id[16];

	if (!a->nqn || !a->listen) {
		fprintf(stderr, "error: --nqn SUBNQN and --listen ADDR:PORT are required\n");
		return 2;
	}
	snprintf(addr, sizeof(addr), "%s", a->listen);
	colon = strrchr(addr, ':');
	if (!colon) {
		fprintf(stderr, "error: --listen %s: expected ADDR:PORT\n", a->listen);
		return 2;
	}
	*colon = '\0';
	p.subnqn = (char *)a->nqn;
	p.traddr = addr;
	p.trsvcid = colon + 1;
	p.allow_any_host = a->any_host;
	p.n_hosts = a->n_hosts;
	p.hosts = (char **)a->hosts;
	req.params_case = SMA__CREATE_DEVICE_REQUEST__PARAMS_NVMF_TCP;
	req.nvmf_tcp = &p;
	if (a->volume) {
		struct vol_args va = *a;

		va.nqn = NULL;      /* --nqn names the exported subsystem here */
		if (volume_params(&va, &v, id))
			return 2;
		req.volume = &v;
	}
	return create_device(o, &req);
}

static int done_json(const struct opts *o, int rc, ProtobufCMessage *reply, const char *handle)
{
	if (reply)
		protobuf_c_message_free_unpacked(reply, NULL);
	if (!rc && o->json)
		print_json(json_pack("{s:s}", "handle", handle));
	return rc;
}

static int cmd_delete_virtio_blk(const struct opts *o, const char *handle)
{
	Sma__DeleteDeviceRequest req = SMA__DELETE_DEVICE_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	int rc;

	req.handle = (char *)handle;
	rc = sma_call(o, "DeleteDevice", &req.base, &sma__delete_device_response__descriptor,
		      &reply);
	return done_json(o, rc, reply, handle);
}

static int cmd_attach(const struct opts *o, const char *handle, const struct vol_args *a)
{
	Sma__AttachVolumeRequest req = SMA__ATTACH_VOLUME_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	Sma__VolumeParameters v;
	uint8_t id[16];
	int rc;

	if (volume_params(a, &v, id))
		return 2;
	req.device_handle = (char *)handle;
	req.volume = &v;
	rc = sma_call(o, "AttachVolume", &req.base, &sma__attach_volume_response__descriptor,
		      &reply);
	return done_json(o, rc, reply, handle);
}

static int cmd_detach(const struct opts *o, const char *handle, const struct vol_args *a)
{
	Sma__DetachVolumeRequest req = SMA__DETACH_VOLUME_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	uint8_t id[16];
	int rc;

	if (!a->volume || parse_uuid(a->volume, id)) {
		fprintf(stderr, "error: --volume UUID is required\n");
		return 2;
	}
	req.device_handle = (char *)handle;
	req.volume_id.data = id;
	req.volume_id.len = 16;
	rc = sma_call(o, "DetachVolume", &req.base, &sma__detach_volume_response__descriptor,
		      &reply);
	return done_json(o, rc, reply, handle);
}

static int cmd_set_qos(const struct opts *o, const char *handle, const struct vol_args *a)
{
	Sma__SetQosRequest req = SMA__SET_QOS_REQUEST__INIT;
	Sma__QosLimit lim = SMA__QOS_LIMIT__INIT;
	uint64_t *fields[6] = { &lim.rd_iops, &lim.wr_iops, &lim.rw_iops, &lim.rd_bandwidth,
				&lim.wr_bandwidth, &lim.rw_bandwidth };
	ProtobufCMessage *reply = NULL;
	uint8_t id[16];
	int rc;

	for (int i = 0; i < 6; i++) {
		char *end;

		/* a limit not named stays as it is (UINT64_MAX in SMA's QosLimit) */
		*fields[i] = UINT64_MAX;
		if (!a->qos[i] || !strcmp(a->qos[i], "unchanged"))
			continue;
		if (!strcmp(a->qos[i], "unlimited")) {
			*fields[i] = 0;
			continue;
		}
		errno = 0;
		*fields[i] = strtoull(a->qos[i], &end, 10);
		if (errno || *end || !a->qos[i][0] || a->qos[i][0] == '-') {
			fprintf(stderr, "error: %s=%s: expected a number, 'unlimited' or "
				"'unchanged'\n", qos_names[i], a->qos[i]);
			return 2;
		}
	}
	if (a->volume) {
		if (parse_uuid(a->volume, id)) {
			fprintf(stderr, "error: --volume %s is not a UUID\n", a->volume);
			return 2;
		}
		req.volume_id.data = id;
		req.volume_id.len = 16;
	}
	req.device_handle = (char *)handle;
	req.maximum = &lim;
	rc = sma_call(o, "SetQos", &req.base, &sma__set_qos_response__descriptor, &reply);
	return done_json(o, rc, reply, handle);
}

static json_t *caps_json(const Sma__GetQosCapabilitiesResponse__QosCapabilities *c)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "rd_iops", c && c->rd_iops,
			 "wr_iops", c && c->wr_iops, "rw_iops", c && c->rw_iops,
			 "rd_bandwidth", c && c->rd_bandwidth, "wr_bandwidth", c && c->wr_bandwidth,
			 "rw_bandwidth", c && c->rw_bandwidth);
}

static int cmd_qos_caps(const struct opts *o, const char *type)
{
	Sma__GetQosCapabilitiesRequest req = SMA__GET_QOS_CAPABILITIES_REQUEST__INIT;
	Sma__GetQosCapabilitiesResponse *r;
	ProtobufCMessage *reply = NULL;
	json_t *j;
	int rc;

	if (!strcasecmp(type, "virtio_blk") || !strcasecmp(type, "virtio-blk"))
		req.device_type = SMA__DEVICE_TYPE__DEVICE_TYPE_VIRTIO_BLK;
	else if (!strcasecmp(type, "nvme"))
		req.device_type = SMA__DEVICE_TYPE__DEVICE_TYPE_NVME;
	else if (!strcasecmp(type, "nvmf_tcp") || !strcasecmp(type, "nvmf-tcp"))
		req.device_type = SMA__DEVICE_TYPE__DEVICE_TYPE_NVMF_TCP;
	else {
		fprintf(stderr, "error: device type '%s': expected virtio_blk, nvme or nvmf_tcp\n",
			type);
		return 2;
	}
	rc = sma_call(o, "GetQosCapabilities", &req.base,
		      &sma__get_qos_capabilities_response__descriptor, &reply);
	if (rc)
		return rc;
	r = (Sma__GetQosCapabilitiesResponse *)reply;
	j = json_pack("{s:o, s:o}", "max_device_caps", caps_json(r->max_device_caps),
		      "max_volume_caps", caps_json(r->max_volume_caps));
	if (o->json) {
		print_json(j);
	} else {
		char *s = json_dumps(j, JSON_INDENT(2));

		printf("%s\n", s);
		free(s);
		json_decref(j);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* ---- command line ------------------------------------------------------------------ */

enum {
	OPT_SEC = 256, OPT_CERTS, OPT_TLS_NAME, OPT_TIMEOUT, OPT_JSON, OPT_VOLUME, OPT_PID,
	OPT_VID, OPT_NQN, OPT_HOSTNQN, OPT_DISC, OPT_ANY, OPT_HOST, OPT_NAME, OPT_LISTEN,
};

static int parse_args(int argc, char **argv, struct opts *o, struct vol_args *a)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "target-socket", required_argument, NULL, 'T' },
		{ "grpc-security", required_argument, NULL, OPT_SEC },
		{ "grpc-cert-dir", required_argument, NULL, OPT_CERTS },
		{ "tls-name", required_argument, NULL, OPT_TLS_NAME },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "volume", required_argument, NULL, OPT_VOLUME },
		{ "physical-id", required_argument, NULL, OPT_PID },
		{ "virtual-id", required_argument, NULL, OPT_VID },
		{ "nqn", required_argument, NULL, OPT_NQN },
		{ "hostnqn", required_argument, NULL, OPT_HOSTNQN },
		{ "discovery", required_argument, NULL, OPT_DISC },
		{ "any-host", no_argument, NULL, OPT_ANY },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, sec;

	while ((c = getopt_long(argc, argv, "s:T:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->conn.address = optarg; break;
		case 'T': o->target_sock = optarg; break;
		case OPT_CERTS: o->conn.cert_dir = optarg; break;
		case OPT_TLS_NAME: o->conn.tls_name = optarg; break;
		case OPT_TIMEOUT: o->conn.timeout = atof(optarg); break;
		case OPT_JSON: o->json = true; break;
		case OPT_VOLUME: a->volume = optarg; break;
		case OPT_PID: a->physical_id = strtol(optarg, NULL, 0); break;
		case OPT_VID: a->virtual_id = strtol(optarg, NULL, 0); break;
		case OPT_NQN: a->nqn = optarg; break;
		case OPT_HOSTNQN: a->hostnqn = optarg; break;
		case OPT_ANY: a->any_host = true; break;
		case OPT_NAME: a->name = optarg; break;
		case OPT_LISTEN: a->listen = optarg; break;
		case OPT_DISC:
			if (a->n_discovery == MAX_ENDPOINTS) {
				fprintf(stderr, "error: at most %d --discovery endpoints\n",
					MAX_ENDPOINTS);
				return -1;
			}
			a->discovery[a->n_discovery++] = optarg;
			break;
		case OPT_HOST:
			if (a->n_hosts == 16) {
				fprintf(stderr, "error: at most 16 --host options\n");
				return -1;
			}
			a->hosts[a->n_hosts++] = optarg;
			break;
		case OPT_SEC:
			sec = ipdk_rpc_security_parse(optarg);
			if (sec < 0) {
				fprintf(stderr, "error: --grpc-security %s: expected mtls, tls or "
					"insecure\n", optarg);
				return -1;
			}
			o->conn.security = (enum ipdk_rpc_security)sec;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return optind;
}

/* set-qos takes NAME=VALUE words after the handle. */
static int qos_words(int argc, char **argv, struct vol_args *a)
{
	for (int i = 0; i < argc; i++) {
		int k;

		for (k = 0; k < 6; k++) {
			size_t n = strlen(qos_names[k]);

			if (!strncmp(argv[i], qos_names[k], n) && argv[i][n] == '=') {
				a->qos[k] = argv[i] + n + 1;
				break;
			}
		}
		if (k == 6) {
			fprintf(stderr, "error: set-qos: unknown limit '%s'\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .conn = { .address = DEFAULT_SERVER, .cert_dir = DEFAULT_CERT_DIR,
				    .timeout = 60 },
			  .target_sock = DEFAULT_TARGET_SOCKET };
	struct vol_args a = { .physical_id = -1 };
	const char *cmd;
	char **args;
	int n, first;

	/* options may come before and after the command and its words (GNU getopt
	 * moves the words to the end) */
	first = parse_args(argc, argv, &o, &a);
	if (first < 0 || first >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[first];
	args = argv + first + 1;
	n = argc - first - 1;
#define NEED(k) do { if (n < (k)) { usage(stderr); return 2; } } while (0)
	if (!strcmp(cmd, "create-subsystem")) {
		NEED(1);
		return cmd_create_subsystem(&o, args[0], &a);
	}
	if (!strcmp(cmd, "delete-subsystem")) {
		char line[512];

		NEED(1);
		snprintf(line, sizeof(line), "subsys_remove %s", args[0]);
		n = target_simple(&o, line);
		if (!n && o.json)
			print_json(json_pack("{s:s}", "nqn", args[0]));
		return n;
	}
	if (!strcmp(cmd, "create-ramdrive")) {
		NEED(2);
		return cmd_create_ramdrive(&o, args[0], args[1], &a);
	}
	if (!strcmp(cmd, "delete-ramdrive")) {
		NEED(2);
		return cmd_delete_ramdrive(&o, args[0], args[1]);
	}
	if (!strcmp(cmd, "list-subsystems"))
		return cmd_list_subsystems(&o);
	if (!strcmp(cmd, "create-virtio-blk"))
		return cmd_create_virtio_blk(&o, &a);
	if (!strcmp(cmd, "create-nvmf-tcp"))
		return cmd_create_nvmf_tcp(&o, &a);
	if (!strcmp(cmd, "delete-virtio-blk") || !strcmp(cmd, "delete-nvmf-tcp")) {
		NEED(1);
		return cmd_delete_virtio_blk(&o, args[0]);
	}
	if (!strcmp(cmd, "attach-volume")) {
		NEED(1);
		return cmd_attach(&o, args[0], &a);
	}
	if (!strcmp(cmd, "detach-volume")) {
		NEED(1);
		return cmd_detach(&o, args[0], &a);
	}
	if (!strcmp(cmd, "set-qos")) {
		NEED(1);
		if (qos_words(n - 1, args + 1, &a))
			return 2;
		return cmd_set_qos(&o, args[0], &a);
	}
	if (!strcmp(cmd, "get-qos-capabilities")) {
		NEED(1);
		return cmd_qos_caps(&o, args[0]);
	}
	fprintf(stderr, "error: unknown command '%s' (try --help)\n", cmd);
	return 2;
}
