/*
 * NVMe/TCP devices of the Storage Management Agent: the IPU exports volumes
 * to hosts over the network. A device is a subsystem of the agent's own
 * NVMe/TCP target (lib/nvmf, made with the first such device) listening on the
 * device's address; AttachVolume opens a volume (local, or a remote NVMe/TCP
 * namespace through the initiator) and adds it as a namespace, DetachVolume
 * removes it, and DeleteDevice is refused while volumes are attached (as the
 * SMA definition says for devices that take AttachVolume). Listeners stay
 * until storaged exits; a subsystem is only reachable on its own listener's
 * address by convention (the target does not bind subsystems to ports).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "ipdk/nvmf.h"
#include "sma_internal.h"

int sma_nvmf_find(struct ipdk_sma *sma, const char *handle, struct sma_nvmf_dev **out,
		  struct ipdk_err *err)
{
	for (struct sma_nvmf_dev *d = sma->nvmf_devs; d; d = d->next) {
		if (!strcmp(d->handle, handle)) {
			*out = d;
			return 0;
		}
	}
	return ipdk_err_set(err, -ENOENT, "device %.240s does not exist", handle);
}

static int parse_params(const Sma__NvmfTcp__DeviceParameters *p, struct sma_nvmf_dev *d,
			struct ipdk_err *err)
{
	unsigned long port;
	char *end;

	if (!p->subnqn || !ipdk_nvmf_nqn_valid(p->subnqn) ||
	    !strcmp(p->subnqn, IPDK_NVMF_DISCOVERY_NQN))
		return ipdk_err_set(err, -EINVAL, "nvmf_tcp: subnqn '%.64s' is not a valid "
				    "subsystem NQN", p->subnqn ? p->subnqn : "");
	if (p->adrfam && p->adrfam[0] && strcasecmp(p->adrfam, "ipv4") &&
	    strcasecmp(p->adrfam, "ipv6"))
		return ipdk_err_set(err, -EINVAL, "nvmf_tcp: adrfam '%.16s' (ipv4 or ipv6)",
				    p->adrfam);
	if (!p->traddr || !p->traddr[0] || strlen(p->traddr) >= sizeof(d->traddr))
		return ipdk_err_set(err, -EINVAL, "nvmf_tcp: traddr is required");
	port = strtoul(p->trsvcid ? p->trsvcid : "", &end, 10);
	if (!p->trsvcid || !p->trsvcid[0] || *end || port == 0 || port > 65535)
		return ipdk_err_set(err, -EINVAL, "nvmf_tcp: trsvcid '%.16s' is not a port number",
				    p->trsvcid ? p->trsvcid : "");
	if (p->n_hosts > SMA_NVMF_HOSTS_MAX)
		return ipdk_err_set(err, -EINVAL, "nvmf_tcp: %zu hosts (at most %d)", p->n_hosts,
				    SMA_NVMF_HOSTS_MAX);
	for (size_t i = 0; i < p->n_hosts; i++) {
		if (!ipdk_nvmf_nqn_valid(p->hosts[i]))
			return ipdk_err_set(err, -EINVAL, "nvmf_tcp: host '%.64s' is not a valid NQN",
					    p->hosts[i]);
		snprintf(d->hosts[i], sizeof(d->hosts[i]), "%s", p->hosts[i]);
	}
	d->n_hosts = (unsigned int)p->n_hosts;
	snprintf(d->subnqn, sizeof(d->subnqn), "%s", p->subnqn);
	snprintf(d->handle, sizeof(d->handle), SMA_NVMF_TCP_PREFIX "%s", p->subnqn);
	snprintf(d->adrfam, sizeof(d->adrfam), "%s", p->adrfam && p->adrfam[0] ? p->adrfam :
		 (strchr(p->traddr, ':') ? "ipv6" : "ipv4"));
	snprintf(d->traddr, sizeof(d->traddr), "%s", p->traddr);
	snprintf(d->trsvcid, sizeof(d->trsvcid), "%lu", port);
	d->allow_any_host = p->allow_any_host;
	return 0;
}

static bool same_params(const struct sma_nvmf_dev *a, const struct sma_nvmf_dev *b)
{
	if (strcmp(a->traddr, b->traddr) || strcmp(a->trsvcid, b->trsvcid) ||
	    a->allow_any_host != b->allow_any_host || a->n_hosts != b->n_hosts)
		return false;
	for (unsigned int i = 0; i < a->n_hosts; i++)
		if (strcmp(a->hosts[i], b->hosts[i]))
			return false;
	return true;
}

/* Makes the target and a listener on the device's address when needed. */
static int ensure_listener(struct ipdk_sma *sma, const struct sma_nvmf_dev *d,
			   struct ipdk_err *err)
{
	char key[80];
	int rc;

	if (!sma->tgt) {
		struct ipdk_nvmf_tgt_opts o = { 0 };

		rc = ipdk_nvmf_tgt_create(&o, &sma->tgt, err);
		if (rc)
			return rc;
	}
	snprintf(key, sizeof(key), "%s:%s", d->traddr, d->trsvcid);
	for (unsigned int i = 0; i < sma->n_listens; i++)
		if (!strcmp(sma->listens[i], key))
			return 0;
	if (sma->n_listens == sizeof(sma->listens) / sizeof(sma->listens[0]))
		return ipdk_err_set(err, -ENOSPC, "nvmf_tcp: the agent listens on %u addresses "
				    "already (the most it takes)", sma->n_listens);
	rc = ipdk_nvmf_tgt_listen(sma->tgt, d->traddr, (uint16_t)strtoul(d->trsvcid, NULL, 10),
				  err);
	/* an address taken or not ours is a state of the host, not a bad request */
	if (rc == -EADDRINUSE || rc == -EADDRNOTAVAIL)
		err->code = rc = -EBUSY;
	if (rc)
		return ipdk_err_prefix(err, "nvmf_tcp %s", d->subnqn);
	snprintf(sma->listens[sma->n_listens++], sizeof(sma->listens[0]), "%s", key);
	return 0;
}

/* Makes the subsystem with its hosts; on failure nothing is left. */
static int make_subsystem(struct ipdk_sma *sma, const struct sma_nvmf_dev *d,
			  struct ipdk_err *err)
{
	struct ipdk_nvmf_subsys_opts o = { .allow_any_host = d->allow_any_host };
	int rc;

	rc = ensure_listener(sma, d, err);
	if (rc)
		return rc;
	rc = ipdk_nvmf_subsys_add(sma->tgt, d->subnqn, &o, err);
	for (unsigned int i = 0; !rc && i < d->n_hosts; i++)
		rc = ipdk_nvmf_host_add(sma->tgt, d->subnqn, d->hosts[i], err);
	if (rc && rc != -EEXIST)
		ipdk_nvmf_subsys_remove(sma->tgt, d->subnqn, NULL);
	return rc;
}

static void list_add(struct ipdk_sma *sma, struct sma_nvmf_dev *d)
{
	pthread_mutex_lock(&sma->lock);
	d->next = sma->nvmf_devs;
	sma->nvmf_devs = d;
	sma->n_devices++;
	pthread_mutex_unlock(&sma->lock);
}

/* Opens the volume and adds it as the device's next namespace. At restore a
 * volume that cannot be served even by a stand-in (its size is not in the
 * state file) is kept unopened, not a namespace, with the reason. */
static int add_volume(struct ipdk_sma *sma, struct sma_nvmf_dev *d, struct sma_volume *vol,
		      bool restore, struct ipdk_err *err)
{
	unsigned int k = d->n_vols;
	char name[64];
	int rc;

	if (k == SMA_NVMF_VOLUMES_MAX)
		return ipdk_err_set(err, -ENOSPC, "device %s has %d volumes (the most it takes)",
				    d->handle, SMA_NVMF_VOLUMES_MAX);
	snprintf(name, sizeof(name), "vol-%s", vol->id_text);
	if (restore && d->failed[0]) {
		rc = ipdk_err_set(err, -ENODEV, "device %s has no subsystem", d->handle);
		goto keep;
	}
	rc = restore ? sma_volume_restore(sma, vol, name, 1, err) :
		       sma_volume_open(sma, vol, name, 1, err);
	if (rc && restore)
		goto keep;
	if (rc)
		return rc;
	rc = ipdk_nvmf_ns_add(sma->tgt, d->subnqn, 0, vol->front, err);
	if (rc < 0) {
		sma_volume_close(vol);
		if (restore)
			goto keep;
		return rc;
	}
	pthread_mutex_lock(&sma->lock);
	d->vols[k] = *vol;
	d->nsids[k] = (uint32_t)rc;
	d->n_vols++;
	pthread_mutex_unlock(&sma->lock);
	IPDK_LOG_INFO("sma: device %s: volume %s is namespace %d%s", d->handle, vol->id_text, rc,
		      vol->failed[0] ? " (served by a stand-in)" : "");
	return 0;
keep:
	sma_reason_set(vol->failed, sizeof(vol->failed), err->msg);
	pthread_mutex_lock(&sma->lock);
	d->vols[k] = *vol;
	d->nsids[k] = 0;
	d->n_vols++;
	pthread_mutex_unlock(&sma->lock);
	IPDK_LOG_ERR("sma: device %s: volume %s kept without a namespace: %s", d->handle,
		     vol->id_text, vol->failed);
	return 0;
}

int sma_nvmf_create(struct ipdk_sma *sma, const Sma__CreateDeviceRequest *req,
		    char handle[240], struct ipdk_err *err)
{
	struct sma_nvmf_dev *d = calloc(1, sizeof(*d)), *other;
	struct sma_volume vol;
	int rc;

	if (!d)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = parse_params(req->nvmf_tcp, d, err);
	if (!rc && req->volume)
		rc = sma_volume_parse(sma, req->volume, &vol, err);
	if (rc)
		goto fail;
	if (!sma_nvmf_find(sma, d->handle, &other, NULL)) {
		if (!same_params(d, other)) {
			rc = ipdk_err_set(err, -EEXIST, "device %s exists with other parameters",
					  d->handle);
			goto fail;
		}
		snprintf(handle, 240, "%s", other->handle);
		free(d);
		/* the same device again; a volume given with it is attached too */
		return req->volume ? sma_nvmf_attach(sma, other, req->volume, err) : 0;
	}
	if (req->volume && sma_volume_user(sma, vol.id)) {
		rc = ipdk_err_set(err, -EEXIST, "volume %s is attached to device %s already",
				  vol.id_text, sma_volume_user(sma, vol.id));
		goto fail;
	}
	if (sma->n_devices >= sma->cfg.max_devices) {
		rc = ipdk_err_set(err, -ENOSPC, "the limit of %u devices is reached; delete one "
				  "first", sma->cfg.max_devices);
		goto fail;
	}
	rc = make_subsystem(sma, d, err);
	if (rc)
		goto fail;
	if (req->volume) {
		rc = add_volume(sma, d, &vol, false, err);
		if (rc) {
			ipdk_nvmf_subsys_remove(sma->tgt, d->subnqn, NULL);
			goto fail;
		}
	}
	list_add(sma, d);
	snprintf(handle, 240, "%s", d->handle);
	IPDK_LOG_INFO("sma: device %s on %s:%s", d->handle, d->traddr, d->trsvcid);
	sma_state_save(sma, NULL);
	return 0;
fail:
	free(d);
	return rc;
}

int sma_nvmf_delete(struct ipdk_sma *sma, const char *handle, struct ipdk_err *err)
{
	struct sma_nvmf_dev *d;
	int rc;

	if (sma_nvmf_find(sma, handle, &d, NULL))
		return 0;   /* deleted already */
	if (d->n_vols)
		return ipdk_err_set(err, -EBUSY, "device %s has %u volume(s) attached; detach "
				    "them first", handle, d->n_vols);
	rc = d->failed[0] || !sma->tgt ? 0 : ipdk_nvmf_subsys_remove(sma->tgt, d->subnqn, err);
	if (rc && rc != -ENOENT)
		return rc;
	pthread_mutex_lock(&sma->lock);
	for (struct sma_nvmf_dev **p = &sma->nvmf_devs; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			sma->n_devices--;
			break;
		}
	}
	pthread_mutex_unlock(&sma->lock);
	IPDK_LOG_INFO("sma: device %s deleted", d->handle);
	free(d);
	sma_state_save(sma, NULL);
	return 0;
}

int sma_nvmf_attach(struct ipdk_sma *sma, struct sma_nvmf_dev *d,
		    const Sma__VolumeParameters *vp, struct ipdk_err *err)
{
	struct sma_volume vol;
	const char *user;
	int rc;

	rc = sma_volume_parse(sma, vp, &vol, err);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < d->n_vols; i++)
		if (!memcmp(d->vols[i].id, vol.id, 16))
			return 0;   /* attached already */
	user = sma_volume_user(sma, vol.id);
	if (user)
		return ipdk_err_set(err, -EEXIST, "volume %s is attached to device %s already",
				    vol.id_text, user);
	if (d->failed[0])
		return ipdk_err_set(err, -EBUSY, "device %s failed at restore (%s); delete it "
				    "and create it again", d->handle, d->failed);
	rc = add_volume(sma, d, &vol, false, err);
	if (rc == 0)
		sma_state_save(sma, NULL);
	return rc;
}

int sma_nvmf_detach(struct ipdk_sma *sma, struct sma_nvmf_dev *d, const uint8_t id[16],
		    struct ipdk_err *err)
{
	struct sma_volume vol;
	unsigned int i;
	int rc;

	for (i = 0; i < d->n_vols; i++)
		if (!memcmp(d->vols[i].id, id, 16))
			break;
	if (i == d->n_vols)
		return 0;   /* detached already */
	/* held requests would keep the namespace's queues from letting go */
	sma_volume_give_up(sma, &d->vols[i], "the volume is detached");
	rc = d->nsids[i] ? ipdk_nvmf_ns_remove(sma->tgt, d->subnqn, d->nsids[i], err) : 0;
	if (rc && rc != -ENOENT)
		return rc;
	pthread_mutex_lock(&sma->lock);
	vol = d->vols[i];
	d->n_vols--;
	d->vols[i] = d->vols[d->n_vols];
	d->nsids[i] = d->nsids[d->n_vols];
	pthread_mutex_unlock(&sma->lock);
	sma_volume_close(&vol);
	IPDK_LOG_INFO("sma: device %s: volume %s detached", d->handle, vol.id_text);
	sma_state_save(sma, NULL);
	return 0;
}

int sma_nvmf_restore(struct ipdk_sma *sma, struct sma_nvmf_dev *d, struct ipdk_err *err)
{
	struct sma_volume vols[SMA_NVMF_VOLUMES_MAX];
	unsigned int n = d->n_vols, served = 0;
	struct sma_nvmf_dev *other;
	struct ipdk_err e;

	snprintf(d->handle, sizeof(d->handle), SMA_NVMF_TCP_PREFIX "%s", d->subnqn);
	if (!sma_nvmf_find(sma, d->handle, &other, NULL))
		return ipdk_err_set(err, -EEXIST, "device %s: listed twice", d->handle);
	/* a device whose subsystem cannot be made is kept (config is not lost) as failed */
	if (make_subsystem(sma, d, &e)) {
		sma_reason_set(d->failed, sizeof(d->failed), e.msg);
		IPDK_LOG_ERR("sma: device %s restored as failed: %s; delete it (detach its "
			     "volumes first)", d->handle, d->failed);
	}
	memcpy(vols, d->vols, n * sizeof(vols[0]));
	d->n_vols = 0;
	list_add(sma, d);
	for (unsigned int i = 0; i < n; i++) {
		add_volume(sma, d, &vols[i], true, &e);
		served += d->nsids[d->n_vols - 1] && !d->vols[d->n_vols - 1].failed[0];
	}
	IPDK_LOG_INFO("sma: device %s restored, %u of %u volumes served", d->handle, served, n);
	return 0;
}

void sma_nvmf_release(struct ipdk_sma *sma)
{
	struct sma_nvmf_dev *d;

	/* held I/O must not keep the target's queues from closing */
	for (d = sma->nvmf_devs; d; d = d->next)
		for (unsigned int i = 0; i < d->n_vols; i++)
			sma_volume_drop_held(&d->vols[i]);
	/* the target goes first: its queues hold the namespaces' block devices */
	ipdk_nvmf_tgt_destroy(sma->tgt);
	sma->tgt = NULL;
	for (;;) {
		pthread_mutex_lock(&sma->lock);
		d = sma->nvmf_devs;
		if (d)
			sma->nvmf_devs = d->next;
		pthread_mutex_unlock(&sma->lock);
		if (!d)
			break;
		for (unsigned int i = 0; i < d->n_vols; i++) {
			sma_retry_forget(sma, &d->vols[i]);
			sma_volume_close(&d->vols[i]);
		}
		free(d);
	}
}
