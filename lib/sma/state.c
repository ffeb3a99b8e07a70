/*
 * The agent's state file: the devices it made, with what is needed to make
 * them again (physical id, queues, the volume's UUID, NVMe-oF parameters,
 * QoS limits, and the size, block size and features the guest saw, so that a
 * volume away at restart can be stood in for), as JSON. Replaced whole
 * (ipdk_file_replace: temporary file, fsync, rename) after every change,
 * read once at start: a restarted storaged serves the same
 * vhost-user sockets again and QEMU, which kept the devices, reconnects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipdk/file.h"
#include "ipdk/log.h"
#include "sma_internal.h"

/* The volume's limits by their QosLimit names, or NULL when it has none. */
static json_t *qos_json(const struct sma_volume *v)
{
	json_t *q = NULL;

	for (int k = 0; k < SMA_QOS_N; k++) {
		if (!v->qos[k])
			continue;
		if (!q)
			q = json_object();
		json_object_set_new(q, sma_qos_names[k], json_integer((json_int_t)v->qos[k]));
	}
	return q;
}

static const struct {
	unsigned int flag;
	const char *name;
} feature_names[] = {
	{ IPDK_BLK_F_FLUSH, "flush" },
	{ IPDK_BLK_F_WRITE_ZEROES, "write_zeroes" },
	{ IPDK_BLK_F_DISCARD, "discard" },
};

/* What the volume's users saw, so a stand-in can show it when the volume is away. */
static void geometry_json(json_t *o, const struct sma_volume *v)
{
	json_t *f = json_array();

	for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (v->features & feature_names[i].flag)
			json_array_append_new(f, json_string(feature_names[i].name));
	json_object_set_new(o, "num_blocks", json_integer((json_int_t)v->num_blocks));
	json_object_set_new(o, "block_size", json_integer(v->block_size));
	json_object_set_new(o, "read_only", json_boolean(v->read_only));
	json_object_set_new(o, "features", f);
}

/* Reads what geometry_json wrote; absent (older state files) is no error. */
static int geometry_from_json(json_t *jv, struct sma_volume *v)
{
	json_int_t nb = 0, bs = 0;
	json_t *f = NULL, *x;
	int ro = 0;
	size_t i;

	if (!json_object_get(jv, "num_blocks"))
		return 0;
	if (json_unpack(jv, "{s:I, s:I, s?b, s?o}", "num_blocks", &nb, "block_size", &bs,
			"read_only", &ro, "features", &f) || nb <= 0 || bs < 512 || bs > 65536 ||
	    (bs & (bs - 1)) || (f && !json_is_array(f)))
		return -EINVAL;
	json_array_foreach(f, i, x) {
		for (size_t k = 0; k < sizeof(feature_names) / sizeof(feature_names[0]); k++)
			if (json_is_string(x) && !strcmp(json_string_value(x), feature_names[k].name))
				v->features |= feature_names[k].flag;
	}
	v->has_geometry = true;
	v->num_blocks = (uint64_t)nb;
	v->block_size = (uint32_t)bs;
	v->read_only = ro;
	return 0;
}

static json_t *volume_json(const struct sma_volume *v)
{
	json_t *o = json_pack("{s:s}", "volume_id", v->id_text), *eps, *q = qos_json(v);

	if (o && q)
		json_object_set_new(o, "qos", q);
	if (o && v->has_geometry)
		geometry_json(o, v);
	if (!o || !v->remote)
		return o;
	eps = json_array();
	for (unsigned int i = 0; i < v->n_endpoints; i++)
		json_array_append_new(eps, json_pack("{s:s, s:s, s:s}", "trtype", v->ep[i].trtype,
						     "traddr", v->ep[i].traddr,
						     "trsvcid", v->ep[i].trsvcid));
	json_object_set_new(o, "nvmf", json_pack("{s:s, s:s, s:o}", "subnqn", v->subnqn,
						  "hostnqn", v->hostnqn, "discovery_endpoints", eps));
	return o;
}

int sma_state_save(struct ipdk_sma *sma, struct ipdk_err *err)
{
	char *text = NULL;
	json_t *root, *devs;
	int rc = 0;

	if (!sma->state_path[0])
		return 0;
	devs = json_array();
	for (const struct sma_device *d = sma->devices; d; d = d->next)
		json_array_append_new(devs, json_pack("{s:s, s:i, s:i, s:o}", "handle", d->handle,
						      "physical_id", (int)d->physical_id,
						      "queues", (int)d->queues,
						      "volume", volume_json(&d->vol)));
	for (const struct sma_nvmf_dev *n = sma->nvmf_devs; n; n = n->next) {
		json_t *hosts = json_array(), *vols = json_array();

		for (unsigned int i = 0; i < n->n_hosts; i++)
			json_array_append_new(hosts, json_string(n->hosts[i]));
		for (unsigned int i = 0; i < n->n_vols; i++)
			json_array_append_new(vols, volume_json(&n->vols[i]));
		json_array_append_new(devs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o}",
						      "handle", n->handle, "subnqn", n->subnqn,
						      "adrfam", n->adrfam, "traddr", n->traddr,
						      "trsvcid", n->trsvcid,
						      "allow_any_host", n->allow_any_host,
						      "hosts", hosts, "volumes", vols));
	}
	root = json_pack("{s:i, s:o}", "version", 1, "devices", devs);
	text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	if (!text || ipdk_file_replace(sma->state_path, text, strlen(text))) {
		rc = ipdk_err_set(err, -EIO, "state file %s: cannot write it", sma->state_path);
		IPDK_LOG_ERR("sma: state file %s: cannot write it", sma->state_path);
	}
	free(text);
	json_decref(root);
	return rc;
}

/* Reads limits written by qos_json (absent: none); -EINVAL for anything else. */
static int qos_from_json(json_t *q, struct sma_volume *v)
{
	const char *key;
	json_t *x;

	if (!q)
		return 0;
	if (!json_is_object(q))
		return -EINVAL;
	json_object_foreach(q, key, x) {
		int k;

		for (k = 0; k < SMA_QOS_N; k++)
			if (!strcmp(key, sma_qos_names[k]))
				break;
		if (k == SMA_QOS_N || !json_is_integer(x) || json_integer_value(x) < 0 ||
		    (uint64_t)json_integer_value(x) > (k <= SMA_QOS_RW_IOPS ? SMA_QOS_KIOPS_MAX :
								      SMA_QOS_MIBS_MAX))
			return -EINVAL;
		v->qos[k] = (uint64_t)json_integer_value(x);
	}
	return 0;
}

static int volume_from_json(json_t *jv, struct sma_volume *v)
{
	const char *id = NULL, *subnqn = "", *hostnqn = "";
	json_t *nvmf = NULL, *eps = NULL, *ep, *qos = NULL;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (json_unpack(jv, "{s:s, s?o, s?o}", "volume_id", &id, "nvmf", &nvmf, "qos", &qos) ||
	    sma_uuid_parse(id, v->id) < 0 || qos_from_json(qos, v) || geometry_from_json(jv, v))
		return -EINVAL;
	ipdk_sma_uuid_format(v->id, v->id_text);
	if (!nvmf)
		return 0;
	v->remote = true;
	if (json_unpack(nvmf, "{s?s, s?s, s:o}", "subnqn", &subnqn, "hostnqn", &hostnqn,
			"discovery_endpoints", &eps) || !json_is_array(eps))
		return -EINVAL;
	snprintf(v->subnqn, sizeof(v->subnqn), "%s", subnqn);
	snprintf(v->hostnqn, sizeof(v->hostnqn), "%s", hostnqn);
	json_array_foreach(eps, i, ep) {
		const char *tt, *ta, *ts;

		if (v->n_endpoints == SMA_ENDPOINTS_MAX ||
		    json_unpack(ep, "{s:s, s:s, s:s}", "trtype", &tt, "traddr", &ta, "trsvcid", &ts))
			return -EINVAL;
		snprintf(v->ep[v->n_endpoints].trtype, sizeof(v->ep[0].trtype), "%s", tt);
		snprintf(v->ep[v->n_endpoints].traddr, sizeof(v->ep[0].traddr), "%s", ta);
		snprintf(v->ep[v->n_endpoints].trsvcid, sizeof(v->ep[0].trsvcid), "%s", ts);
		v->n_endpoints++;
	}
	return 0;
}

/* An nvmf_tcp entry of the state file; *unsized counts its volumes without geometry. */
static void load_nvmf(struct ipdk_sma *sma, json_t *jd, size_t i, unsigned int *unsized)
{
	struct sma_nvmf_dev *d = calloc(1, sizeof(*d));
	const char *nqn, *adrfam = "", *traddr, *trsvcid;
	json_t *hosts = NULL, *vols = NULL, *x;
	int any = 0;
	struct ipdk_err e;
	size_t k;

	if (!d)
		return;
	if (json_unpack(jd, "{s:s, s?s, s:s, s:s, s?b, s?o, s?o}", "subnqn", &nqn, "adrfam",
			&adrfam, "traddr", &traddr, "trsvcid", &trsvcid, "allow_any_host", &any,
			"hosts", &hosts, "volumes", &vols) ||
	    json_array_size(hosts) > SMA_NVMF_HOSTS_MAX ||
	    json_array_size(vols) > SMA_NVMF_VOLUMES_MAX)
		goto bad;
	snprintf(d->subnqn, sizeof(d->subnqn), "%s", nqn);
	snprintf(d->adrfam, sizeof(d->adrfam), "%s", adrfam);
	snprintf(d->traddr, sizeof(d->traddr), "%s", traddr);
	snprintf(d->trsvcid, sizeof(d->trsvcid), "%s", trsvcid);
	d->allow_any_host = any;
	json_array_foreach(hosts, k, x)
		snprintf(d->hosts[d->n_hosts++], sizeof(d->hosts[0]), "%s",
			 json_string_value(x) ? json_string_value(x) : "");
	json_array_foreach(vols, k, x) {
		if (volume_from_json(x, &d->vols[d->n_vols]))
			goto bad;
		*unsized += !d->vols[d->n_vols++].has_geometry;
	}
	if (sma_nvmf_restore(sma, d, &e)) {
		IPDK_LOG_ERR("sma: restoring device nvmf_tcp:%s: %s", d->subnqn, e.msg);
		free(d);
	}
	return;
bad:
	IPDK_LOG_ERR("sma: state file %s: device %zu is malformed; skipped", sma->state_path, i);
	free(d);
}

/* Counts volumes without a recorded geometry and those being retried. */
static void count_volumes(struct ipdk_sma *sma, unsigned int *unsized, unsigned int *retry)
{
	*unsized = *retry = 0;
	for (const struct sma_device *d = sma->devices; d; d = d->next) {
		*unsized += !d->vol.has_geometry;
		*retry += d->vol.retry;
	}
	for (const struct sma_nvmf_dev *n = sma->nvmf_devs; n; n = n->next) {
		for (unsigned int i = 0; i < n->n_vols; i++) {
			*unsized += !n->vols[i].has_geometry;
			*retry += n->vols[i].retry;
		}
	}
}

int sma_state_load(struct ipdk_sma *sma, struct ipdk_err *err)
{
	unsigned int unsized = 0, unsized_now, retry;
	json_error_t jerr;
	json_t *root, *devs, *jd;
	size_t i;

	if (!sma->state_path[0] || access(sma->state_path, F_OK))
		return 0;
	root = json_load_file(sma->state_path, 0, &jerr);
	if (!root)
		return ipdk_err_set(err, -EINVAL, "state file %s: line %d: %s", sma->state_path,
				    jerr.line, jerr.text);
	devs = json_object_get(root, "devices");
	json_array_foreach(devs, i, jd) {
		struct sma_device *d = calloc(1, sizeof(*d));
		json_t *jv = NULL;
		int pid = -1, queues = 1;
		struct ipdk_err e;

		if (!d)
			break;
		if (json_object_get(jd, "subnqn")) {
			free(d);
			load_nvmf(sma, jd, i, &unsized);
			continue;
		}
		if (json_unpack(jd, "{s:i, s?i, s:o}", "physical_id", &pid, "queues", &queues,
				"volume", &jv) || pid < 0 || (unsigned int)pid >= sma->cfg.n_slots ||
		    queues < 1 || queues > IPDK_VBLK_QUEUES_MAX || volume_from_json(jv, &d->vol)) {
			IPDK_LOG_ERR("sma: state file %s: device %zu is malformed; skipped",
				     sma->state_path, i);
			free(d);
			continue;
		}
		d->physical_id = (unsigned int)pid;
		d->queues = (unsigned int)queues;
		unsized += !d->vol.has_geometry;
		if (sma_device_restore(sma, d, &e)) {
			IPDK_LOG_ERR("sma: restoring device vblk%d: %s", pid, e.msg);
			free(d);
		}
	}
	json_decref(root);
	count_volumes(sma, &unsized_now, &retry);
	/* an older file: record the sizes of the volumes that opened */
	if (unsized_now < unsized)
		sma_state_save(sma, NULL);
	return retry ? sma_retry_start(sma, err) : 0;
}
