/*
 * The agent's state file: the devices it made, with what is needed to make
 * them again (physical id, queues, the volume's UUID and NVMe-oF parameters),
 * as JSON. Written to a temporary file and renamed over the old one after
 * every change, read once at start: a restarted storaged serves the same
 * vhost-user sockets again and QEMU, which kept the devices, reconnects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "sma_internal.h"

static json_t *volume_json(const struct sma_volume *v)
{
	json_t *o = json_pack("{s:s}", "volume_id", v->id_text), *eps;

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
	char tmp[300];
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
	root = json_pack("{s:i, s:o}", "version", 1, "devices", devs);
	snprintf(tmp, sizeof(tmp), "%s.tmp", sma->state_path);
	if (!root || json_dump_file(root, tmp, JSON_INDENT(1)) < 0 ||
	    rename(tmp, sma->state_path) < 0) {
		rc = ipdk_err_set(err, -EIO, "state file %s: cannot write it", sma->state_path);
		IPDK_LOG_ERR("sma: state file %s: cannot write it", sma->state_path);
		unlink(tmp);
	}
	json_decref(root);
	return rc;
}

static int volume_from_json(json_t *jv, struct sma_volume *v)
{
	const char *id = NULL, *subnqn = "", *hostnqn = "";
	json_t *nvmf = NULL, *eps = NULL, *ep;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (json_unpack(jv, "{s:s, s?o}", "volume_id", &id, "nvmf", &nvmf) ||
	    sma_uuid_parse(id, v->id) < 0)
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

int sma_state_load(struct ipdk_sma *sma, struct ipdk_err *err)
{
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
		if (sma_device_restore(sma, d, &e)) {
			IPDK_LOG_ERR("sma: restoring device vblk%d: %s", pid, e.msg);
			free(d);
		}
	}
	json_decref(root);
	return 0;
}
