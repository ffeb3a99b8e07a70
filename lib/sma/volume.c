/*
 * Volumes of the Storage Management Agent. A volume is named by a 16-byte
 * UUID. With NVMe-oF parameters it is a namespace with that UUID on a remote
 * NVMe/TCP target: each discovery endpoint is asked for its log, and the NVM
 * subsystems it lists (only the requested one when subnqn is given) are
 * connected in turn until one has the namespace; the block device that
 * connection makes ("nvme-tcp" backend) is the volume. Without connection
 * parameters the volume is a block device already registered in storaged
 * under the UUID's text (made on its control socket: bdev_ram, bdev_file), for
 * tests and for storage local to the IPU. Either way the devices use a QoS
 * device in front of it ("qos-<block device>"), unlimited until SetQos says
 * otherwise, so limits can change while the device runs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "ipdk/nvmf.h"
#include "sma_internal.h"

void ipdk_sma_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

int sma_uuid_parse(const char *s, uint8_t out[16])
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	unsigned int n = 0;

	if (strlen(s) != sizeof(form) - 1)
		return -EINVAL;
	for (size_t i = 0; form[i]; i++) {
		int hi;

		if (form[i] == '-') {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]) || !isxdigit((unsigned char)s[i + 1]))
			return -EINVAL;
		hi = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower(s[i]) - 'a' + 10);
		out[n++] = (uint8_t)(hi << 4 | (isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0' :
						tolower(s[i + 1]) - 'a' + 10));
		i++;
	}
	return 0;
}

int sma_volume_id(const ProtobufCBinaryData *id, uint8_t out[16], struct ipdk_err *err)
{
	if (id->len != 16)
		return ipdk_err_set(err, -EINVAL, "volume_id: %zu bytes (a UUID takes 16)", id->len);
	memcpy(out, id->data, 16);
	return 0;
}

static int copy_str(char *dst, size_t size, const char *src, const char *what,
		    struct ipdk_err *err)
{
	if (strlen(src) >= size)
		return ipdk_err_set(err, -EINVAL, "%s '%.40s...' is longer than %zu characters",
				    what, src, size - 1);
	snprintf(dst, size, "%s", src);
	return 0;
}

static int parse_endpoint(const Sma__Nvmf__Address *a, struct sma_volume *vol,
			  struct ipdk_err *err)
{
	unsigned int i = vol->n_endpoints;
	char *end;
	unsigned long port;

	if (!a->trtype || strcasecmp(a->trtype, "tcp"))
		return ipdk_err_set(err, -EINVAL, "discovery endpoint %u: trtype '%s' is not "
				    "supported (only tcp)", i, a->trtype ? a->trtype : "");
	if (!a->traddr || !a->traddr[0])
		return ipdk_err_set(err, -EINVAL, "discovery endpoint %u: traddr is empty", i);
	port = strtoul(a->trsvcid ? a->trsvcid : "", &end, 10);
	if (!a->trsvcid || !a->trsvcid[0] || *end || port == 0 || port > 65535)
		return ipdk_err_set(err, -EINVAL, "discovery endpoint %u: trsvcid '%s' is not a "
				    "port number", i, a->trsvcid ? a->trsvcid : "");
	snprintf(vol->ep[i].trtype, sizeof(vol->ep[i].trtype), "tcp");
	if (copy_str(vol->ep[i].traddr, sizeof(vol->ep[i].traddr), a->traddr, "traddr", err))
		return err->code;
	snprintf(vol->ep[i].trsvcid, sizeof(vol->ep[i].trsvcid), "%lu", port);
	vol->n_endpoints++;
	return 0;
}

int sma_volume_parse(struct ipdk_sma *sma, const Sma__VolumeParameters *vp,
		     struct sma_volume *vol, struct ipdk_err *err)
{
	const Sma__Nvmf__VolumeConnectionParameters *p;
	int rc;

	memset(vol, 0, sizeof(*vol));
	rc = sma_volume_id(&vp->volume_id, vol->id, err);
	if (rc)
		return rc;
	ipdk_sma_uuid_format(vol->id, vol->id_text);
	if (vp->crypto)
		return ipdk_err_set(err, -ENOTSUP, "volume %s: encryption is not supported yet",
				    vol->id_text);
	if (vp->connection_params_case != SMA__VOLUME_PARAMETERS__CONNECTION_PARAMS_NVMF)
		return 0;   /* a local block device */
	p = vp->nvmf;
	vol->remote = true;
	if (p->subnqn && p->subnqn[0] && !ipdk_nvmf_nqn_valid(p->subnqn))
		return ipdk_err_set(err, -EINVAL, "volume %s: subnqn '%.64s' is not a valid NQN",
				    vol->id_text, p->subnqn);
	if (p->hostnqn && p->hostnqn[0] && !ipdk_nvmf_nqn_valid(p->hostnqn))
		return ipdk_err_set(err, -EINVAL, "volume %s: hostnqn '%.64s' is not a valid NQN",
				    vol->id_text, p->hostnqn);
	snprintf(vol->subnqn, sizeof(vol->subnqn), "%s", p->subnqn ? p->subnqn : "");
	snprintf(vol->hostnqn, sizeof(vol->hostnqn), "%s",
		 p->hostnqn && p->hostnqn[0] ? p->hostnqn : sma->hostnqn);
	if (p->connection_params_case !=
	    SMA__NVMF__VOLUME_CONNECTION_PARAMETERS__CONNECTION_PARAMS_DISCOVERY ||
	    !p->discovery->n_discovery_endpoints)
		return ipdk_err_set(err, -EINVAL, "volume %s: NVMe-oF parameters without "
				    "discovery endpoints", vol->id_text);
	if (p->discovery->n_discovery_endpoints > SMA_ENDPOINTS_MAX)
		return ipdk_err_set(err, -EINVAL, "volume %s: %zu discovery endpoints (at most %d)",
				    vol->id_text, p->discovery->n_discovery_endpoints,
				    SMA_ENDPOINTS_MAX);
	for (size_t i = 0; i < p->discovery->n_discovery_endpoints; i++) {
		rc = parse_endpoint(p->discovery->discovery_endpoints[i], vol, err);
		if (rc)
			return ipdk_err_prefix(err, "volume %s", vol->id_text);
	}
	return 0;
}

#ifdef IPDK_SMA_NVME_TCP
static void host_opts(struct ipdk_sma *sma, const struct sma_volume *vol, const char *addr,
		      const char *port, const char *subnqn, unsigned int queues,
		      struct ipdk_nvmf_host_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->addr = addr;
	o->port = (uint16_t)strtoul(port, NULL, 10);
	o->subnqn = subnqn;
	o->hostnqn = vol->hostnqn[0] ? vol->hostnqn : NULL;
	o->io_queues = queues;
	o->connect_timeout_ms = sma->cfg.connect_timeout_ms;
	o->ctrl_loss_tmo_ms = sma->cfg.ctrl_loss_tmo_ms;
}

/* Tries the NVM subsystems one discovery log lists; 0, -ENOENT when none has the volume. */
static int try_log(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		   unsigned int queues, const struct ipdk_nvmf_disc_entry *e, unsigned int n,
		   unsigned int *n_subsys, struct ipdk_err *last, struct ipdk_err *err)
{
	for (unsigned int i = 0; i < n; i++) {
		struct ipdk_blk_nvme_opts bo = { .uuid = vol->id };
		struct ipdk_nvmf_host_opts ho;
		struct ipdk_err e2;
		int rc;

		if (e[i].subtype != 2 || e[i].trtype != 3 ||
		    (vol->subnqn[0] && strcmp(vol->subnqn, e[i].subnqn)))
			continue;   /* not NVM, not TCP, or not the subsystem asked for */
		(*n_subsys)++;
		host_opts(sma, vol, e[i].traddr, e[i].trsvcid, e[i].subnqn, queues, &ho);
		bo.host = &ho;
		rc = ipdk_blk_nvme_create(name, &bo, &vol->dev, &e2);
		if (rc == 0) {
			IPDK_LOG_INFO("volume %s: namespace of %s at %s:%s", vol->id_text,
				      e[i].subnqn, e[i].traddr, e[i].trsvcid);
			return 0;
		}
		IPDK_LOG_INFO("volume %s: not at %s (%s:%s): %s", vol->id_text, e[i].subnqn,
			      e[i].traddr, e[i].trsvcid, e2.msg);
		if (rc != -ENOENT)
			*last = e2;
	}
	(void)err;
	return -ENOENT;
}

static int open_remote(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		       unsigned int queues, struct ipdk_err *err)
{
	struct ipdk_err last = { 0 };
	unsigned int n_subsys = 0, reached = 0;

	for (unsigned int i = 0; i < vol->n_endpoints; i++) {
		struct ipdk_nvmf_disc_entry *e = NULL;
		struct ipdk_nvmf_host_opts ho;
		unsigned int n = 0;
		int rc;

		host_opts(sma, vol, vol->ep[i].traddr, vol->ep[i].trsvcid, NULL, 1, &ho);
		rc = ipdk_nvmf_discover(&ho, &e, &n, &last);
		if (rc) {
			IPDK_LOG_WARN("volume %s: discovery at %s:%s: %s", vol->id_text,
				      vol->ep[i].traddr, vol->ep[i].trsvcid, last.msg);
			continue;
		}
		reached++;
		rc = try_log(sma, vol, name, queues, e, n, &n_subsys, &last, err);
		free(e);
		if (rc == 0)
			return 0;
	}
	if (!reached)
		return ipdk_err_set(err, last.code ? last.code : -EHOSTUNREACH,
				    "volume %s: no discovery service answered (last: %s)",
				    vol->id_text, last.msg);
	if (!n_subsys && vol->subnqn[0])
		return ipdk_err_set(err, -ENOENT, "volume %s: subsystem %s is not offered to host "
				    "%s by the discovery services", vol->id_text, vol->subnqn,
				    vol->hostnqn);
	if (last.code)
		return ipdk_err_set(err, last.code, "volume %s: %s", vol->id_text, last.msg);
	return ipdk_err_set(err, -ENOENT, "volume %s: no namespace with this UUID in the %u "
			    "subsystem(s) the discovery services list", vol->id_text, n_subsys);
}
#else
static int open_remote(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		       unsigned int queues, struct ipdk_err *err)
{
	(void)sma;
	(void)name;
	(void)queues;
	return ipdk_err_set(err, -ENOTSUP, "volume %s: this storaged was built without the "
			    "NVMe/TCP initiator", vol->id_text);
}
#endif

int sma_volume_open_base(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
			 unsigned int queues, struct ipdk_err *err)
{
	int rc;

	if (vol->remote) {
		rc = open_remote(sma, vol, name, queues, err);
		if (rc == 0)
			snprintf(vol->bdev, sizeof(vol->bdev), "%s", name);
		return rc;
	}
	rc = ipdk_blk_open(vol->id_text, &vol->dev, err);
	if (rc == -ENOENT)
		return ipdk_err_set(err, -ENOENT, "volume %s: no NVMe-oF parameters and no local "
				    "block device of that name", vol->id_text);
	if (rc == 0)
		snprintf(vol->bdev, sizeof(vol->bdev), "%s", vol->id_text);
	return rc;
}

/* Puts the volume's QoS device in front of block device base. */
static int open_front(struct sma_volume *vol, const char *base, struct ipdk_err *err)
{
	struct ipdk_blk_qos_opts o = { 0 };
	int rc;

	snprintf(vol->front, sizeof(vol->front), "qos-%s", base);
	sma_qos_to_blk(vol->qos, &o.limits);
	rc = ipdk_blk_qos_create(vol->front, base, &o, &vol->qos_dev, err);
	if (rc) {
		sma_volume_close(vol);
		return ipdk_err_prefix(err, "volume %s", vol->id_text);
	}
	return 0;
}

static void geometry_from(struct sma_volume *vol, const struct ipdk_blk_dev *d)
{
	vol->has_geometry = true;
	vol->block_size = d->block_size;
	vol->num_blocks = d->num_blocks;
	vol->features = d->features;
	vol->read_only = d->read_only;
}

int sma_volume_open(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		    unsigned int queues, struct ipdk_err *err)
{
	int rc;

	rc = sma_volume_open_base(sma, vol, name, queues, err);
	if (rc)
		return rc;
	geometry_from(vol, vol->dev);
	return open_front(vol, vol->bdev, err);
}

void sma_reason_set(char *dst, size_t size, const char *msg)
{
	snprintf(dst, size, "%s", msg && msg[0] ? msg : "unknown reason");
	for (char *c = dst; *c; c++) {
		if (*c == '"')
			*c = '\'';
		else if (*c == '\\')
			*c = '/';
		else if ((unsigned char)*c < 0x20)
			*c = ' ';
	}
}

/* Serves the volume with a stand-in of its recorded geometry. */
static int open_standin(struct ipdk_sma *sma, struct sma_volume *vol, bool retry,
			struct ipdk_err *err)
{
	struct ipdk_blk_standin_opts o = {
		.block_size = vol->block_size, .num_blocks = vol->num_blocks,
		.features = vol->features, .read_only = vol->read_only, .failed = !retry,
	};
	uint64_t now;
	int rc;

	snprintf(vol->standin_name, sizeof(vol->standin_name), "standin-%s", vol->name);
	rc = ipdk_blk_standin_create(vol->standin_name, &o, &vol->standin, err);
	if (rc)
		return ipdk_err_prefix(err, "volume %s", vol->id_text);
	rc = open_front(vol, vol->standin_name, err);
	if (rc)
		return rc;
	vol->retry = retry;
	vol->retry_enoent = false;
	now = sma_now_ns();
	vol->retry_next_ns = now + SMA_RETRY_DELAY_MS * 1000000ull;
	vol->retry_until_ns = now + (uint64_t)sma->cfg.ctrl_loss_tmo_ms * 1000000ull;
	return 0;
}

int sma_volume_restore(struct ipdk_sma *sma, struct sma_volume *vol, const char *name,
		       unsigned int queues, struct ipdk_err *err)
{
	struct sma_volume was = *vol;
	bool resized = false;
	struct ipdk_err e2;
	int rc;

	snprintf(vol->name, sizeof(vol->name), "%s", name);
	vol->queues = queues;
	rc = sma_volume_open(sma, vol, name, queues, err);
	if (rc == 0 && (!was.has_geometry || (vol->num_blocks == was.num_blocks &&
					      vol->block_size == was.block_size)))
		return 0;
	if (rc == 0) {
		ipdk_err_set(err, -EINVAL, "volume %s has %llu blocks of %u bytes now, %llu of "
			     "%u before", vol->id_text, (unsigned long long)vol->num_blocks,
			     vol->block_size, (unsigned long long)was.num_blocks, was.block_size);
		sma_volume_close(vol);
		rc = -EINVAL;
		resized = true;
	}
	if (!was.has_geometry)
		return rc;
	vol->bdev[0] = 0;
	vol->has_geometry = true;
	vol->block_size = was.block_size;
	vol->num_blocks = was.num_blocks;
	vol->features = was.features;
	vol->read_only = was.read_only;
	sma_reason_set(vol->failed, sizeof(vol->failed), err->msg);
	/* a remote volume may come back; a local one gone, or resized, does not */
	if (open_standin(sma, vol, vol->remote && !resized, &e2)) {
		*err = e2;
		return e2.code;
	}
	return 0;
}

void sma_volume_give_up(struct ipdk_sma *sma, struct sma_volume *vol, const char *why)
{
	sma_retry_forget(sma, vol);
	if (vol->standin && !vol->dev && ipdk_blk_standin_fail(vol->standin, NULL) == 0)
		IPDK_LOG_INFO("volume %s: held I/O fails (%s)", vol->id_text, why);
	/* a remote volume whose target is away: its controller stops reconnecting */
	if (vol->dev && ipdk_blk_give_up(vol->dev, false) == 0)
		IPDK_LOG_INFO("volume %s: I/O held while its target is away fails (%s)",
			      vol->id_text, why);
}

void sma_volume_drop_held(struct sma_volume *vol)
{
	if (vol->standin)
		ipdk_blk_standin_cancel(vol->standin);
	if (vol->dev)
		ipdk_blk_give_up(vol->dev, true);
}

void sma_volume_close(struct sma_volume *vol)
{
	if (vol->qos_dev) {
		ipdk_blk_delete(vol->front, NULL);
		ipdk_blk_put(vol->qos_dev);
		vol->qos_dev = NULL;
	}
	if (vol->standin) {
		ipdk_blk_delete(vol->standin_name, NULL);
		ipdk_blk_put(vol->standin);
		vol->standin = NULL;
	}
	if (!vol->dev)
		return;
	if (vol->remote)
		ipdk_blk_delete(vol->bdev, NULL);
	ipdk_blk_put(vol->dev);
	vol->dev = NULL;
}
