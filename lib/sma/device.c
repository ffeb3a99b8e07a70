/*
 * virtio-blk devices of the Storage Management Agent. A device is named by
 * its physical id ("vblk<N>", handle "virtio_blk:vblk<N>"): the name of its
 * vhost-user server, of its entry in the virtual device table (root port
 * <bus_prefix><N>) and of the block device a remote volume makes. Creating
 * one opens the volume, starts the vhost-user-blk server and hotplugs it;
 * whichever step fails, the ones before are undone. Requests run on the
 * agent's thread only; the lock guards the list against readers (listing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/blk.h"
#include "ipdk/log.h"
#include "sma_internal.h"

int sma_device_find(struct ipdk_sma *sma, const char *handle, struct sma_device **out,
		    struct ipdk_err *err)
{
	size_t plen = strlen(SMA_VIRTIO_BLK_PREFIX);

	if (!handle || !handle[0])
		return ipdk_err_set(err, -EINVAL, "device handle is empty");
	if (strncmp(handle, SMA_VIRTIO_BLK_PREFIX, plen) || strncmp(handle + plen, "vblk", 4))
		return ipdk_err_set(err, -ENOENT, "device handle '%.80s' is not one of ours "
				    "(expected virtio_blk:vblk<physical_id> or nvmf_tcp:<NQN>)",
				    handle);
	for (struct sma_device *d = sma->devices; d; d = d->next) {
		if (!strcmp(d->handle, handle)) {
			*out = d;
			return 0;
		}
	}
	return ipdk_err_set(err, -ENOENT, "device %.80s does not exist", handle);
}

static struct sma_device *by_physical_id(struct ipdk_sma *sma, unsigned int id)
{
	for (struct sma_device *d = sma->devices; d; d = d->next)
		if (d->physical_id == id)
			return d;
	return NULL;
}

const char *sma_volume_user(struct ipdk_sma *sma, const uint8_t id[16])
{
	for (struct sma_device *d = sma->devices; d; d = d->next)
		if (!memcmp(d->vol.id, id, 16))
			return d->handle;
	for (struct sma_nvmf_dev *n = sma->nvmf_devs; n; n = n->next)
		for (unsigned int i = 0; i < n->n_vols; i++)
			if (!memcmp(n->vols[i].id, id, 16))
				return n->handle;
	return NULL;
}

static void device_names(struct ipdk_sma *sma, struct sma_device *d)
{
	snprintf(d->name, sizeof(d->name), "vblk%u", d->physical_id);
	snprintf(d->handle, sizeof(d->handle), SMA_VIRTIO_BLK_PREFIX "%s", d->name);
	snprintf(d->socket_path, sizeof(d->socket_path), "%s/%s.sock", sma->vhost_dir, d->name);
}

static void vdev_cfg(struct ipdk_sma *sma, const struct sma_device *d, struct ipdk_vdev_cfg *c)
{
	ipdk_vdev_cfg_init(c);
	snprintf(c->name, sizeof(c->name), "%s", d->name);
	c->type = IPDK_VDEV_VIRTIO_BLK;
	snprintf(c->host_name, sizeof(c->host_name), "%s", sma->vm_name);
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", d->socket_path);
	c->queues = (uint16_t)d->queues;
	c->physical_id = (int)d->physical_id;
}

/* Opens the volume (at restore: or its stand-in) and starts the vhost-user
 * server (no hotplug). */
static int device_serve(struct ipdk_sma *sma, struct sma_device *d, bool restore,
			struct ipdk_err *err)
{
	struct ipdk_vblk_opts o = { .socket_path = d->socket_path, .num_queues = d->queues };
	char serial[IPDK_VBLK_SERIAL_MAX + 1];
	int rc;

	rc = restore ? sma_volume_restore(sma, &d->vol, d->name, d->queues, err) :
		       sma_volume_open(sma, &d->vol, d->name, d->queues, err);
	if (rc)
		return rc;
	/* the guest sees the volume's UUID (its first 20 characters) as the serial */
	snprintf(serial, sizeof(serial), "%s", d->vol.id_text);
	o.serial = serial;
	rc = ipdk_vblk_create(d->name, d->vol.front, &o, &d->vblk, err);
	if (rc)
		sma_volume_close(&d->vol);
	return rc;
}

static void device_unserve(struct sma_device *d)
{
	ipdk_vblk_destroy(d->vblk);
	d->vblk = NULL;
	sma_volume_close(&d->vol);
}

static void list_add(struct ipdk_sma *sma, struct sma_device *d)
{
	pthread_mutex_lock(&sma->lock);
	d->next = sma->devices;
	sma->devices = d;
	sma->n_devices++;
	pthread_mutex_unlock(&sma->lock);
}

static void list_remove(struct ipdk_sma *sma, struct sma_device *d)
{
	pthread_mutex_lock(&sma->lock);
	for (struct sma_device **p = &sma->devices; *p; p = &(*p)->next) {
		if (*p == d) {
			*p = d->next;
			sma->n_devices--;
			break;
		}
	}
	pthread_mutex_unlock(&sma->lock);
}

/* Copies why d is failed (unserved, or its volume away) into why; false when it is not. */
static bool device_failed(struct ipdk_sma *sma, const struct sma_device *d, char why[160])
{
	pthread_mutex_lock(&sma->lock);
	snprintf(why, 160, "%s", d->failed[0] ? d->failed : d->vol.failed);
	pthread_mutex_unlock(&sma->lock);
	return why[0] != 0;
}

static int check_params(struct ipdk_sma *sma, const Sma__CreateDeviceRequest *req,
			unsigned int *physical_id, struct ipdk_err *err)
{
	const Sma__VirtioBlk__DeviceParameters *p;

	switch (req->params_case) {
	case SMA__CREATE_DEVICE_REQUEST__PARAMS_VIRTIO_BLK:
		break;
	case SMA__CREATE_DEVICE_REQUEST__PARAMS_NVME:
		return ipdk_err_set(err, -ENOTSUP, "nvme devices are not supported by this agent "
				    "(QEMU has no transport to plug them)");
	default:
		return ipdk_err_set(err, -EINVAL, "CreateDevice: no device parameters (virtio_blk "
				    "is expected)");
	}
	p = req->virtio_blk;
	if (p->virtual_id)
		return ipdk_err_set(err, -EINVAL, "virtio_blk: virtual_id %u: only physical "
				    "functions (virtual_id 0) are offered", p->virtual_id);
	if (p->physical_id >= sma->cfg.n_slots)
		return ipdk_err_set(err, -ERANGE, "virtio_blk: physical_id %u is out of range "
				    "(0 to %u)", p->physical_id, sma->cfg.n_slots - 1);
	if (!req->volume)
		return ipdk_err_set(err, -EINVAL, "virtio_blk: a volume is required");
	*physical_id = p->physical_id;
	return 0;
}

int sma_device_create(struct ipdk_sma *sma, const Sma__CreateDeviceRequest *req,
		      char handle[64], struct ipdk_err *err)
{
	struct ipdk_vdev_cfg c;
	struct sma_device *d, *other;
	unsigned int pid = 0;
	char why[160];
	int rc;

	rc = check_params(sma, req, &pid, err);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	rc = sma_volume_parse(sma, req->volume, &d->vol, err);
	if (rc)
		goto fail;
	d->physical_id = pid;
	d->queues = sma->cfg.queues;
	device_names(sma, d);
	/* idempotence: the same device again is success */
	other = by_physical_id(sma, pid);
	if (other && device_failed(sma, other, why)) {
		rc = ipdk_err_set(err, -EEXIST, "virtio_blk: device %s failed at restore (%s); "
				  "delete it first", other->handle, why);
		goto fail;
	}
	if (other && !memcmp(other->vol.id, d->vol.id, 16)) {
		snprintf(handle, 64, "%s", other->handle);
		free(d);
		return 0;
	}
	if (other) {
		rc = ipdk_err_set(err, -EEXIST, "virtio_blk: physical_id %u is taken by device %s "
				  "(volume %s)", pid, other->handle, other->vol.id_text);
		goto fail;
	}
	if (sma_volume_user(sma, d->vol.id)) {
		rc = ipdk_err_set(err, -EEXIST, "volume %s is attached to device %s already",
				  d->vol.id_text, sma_volume_user(sma, d->vol.id));
		goto fail;
	}
	if (sma->n_devices >= sma->cfg.max_devices) {
		rc = ipdk_err_set(err, -ENOSPC, "virtio_blk: the limit of %u devices is reached; "
				  "delete one first", sma->cfg.max_devices);
		goto fail;
	}
	if (sma->table) {
		vdev_cfg(sma, d, &c);
		rc = ipdk_vdev_check(sma->table, &c, err);
		if (rc)
			goto fail;
	}
	rc = device_serve(sma, d, false, err);
	if (rc)
		goto fail;
	if (sma->table) {
		rc = ipdk_vdev_add(sma->table, &c, err);
		if (rc) {
			device_unserve(d);   /* a VM not running is -EHOSTDOWN: UNAVAILABLE */
			goto fail;
		}
	}
	list_add(sma, d);
	snprintf(handle, 64, "%s", d->handle);
	IPDK_LOG_INFO("sma: device %s: volume %s (%s) on %s", d->handle, d->vol.id_text,
		      d->vol.remote ? "NVMe/TCP" : "local", d->socket_path);
	sma_state_save(sma, NULL);
	return 0;
fail:
	free(d);
	return rc;
}

int sma_device_delete(struct ipdk_sma *sma, const char *handle, struct ipdk_err *err)
{
	struct sma_device *d;
	int rc;

	rc = sma_device_find(sma, handle, &d, err);
	if (rc == -ENOENT && !strncmp(handle, SMA_VIRTIO_BLK_PREFIX "vblk",
				      strlen(SMA_VIRTIO_BLK_PREFIX "vblk")))
		return 0;   /* deleted already */
	if (rc)
		return rc;
	/* held requests would keep the guest from letting go of the device */
	sma_volume_give_up(sma, &d->vol, "the device is deleted");
	if (sma->table) {
		rc = ipdk_vdev_remove(sma->table, d->name, 0, err);
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			return ipdk_err_prefix(err, "device %s stays: unplug failed", handle);
	}
	list_remove(sma, d);
	device_unserve(d);
	IPDK_LOG_INFO("sma: device %s deleted", d->handle);
	free(d);
	sma_state_save(sma, NULL);
	return 0;
}

int sma_device_restore(struct ipdk_sma *sma, struct sma_device *d, struct ipdk_err *err)
{
	struct ipdk_vdev_info info;
	int rc;

	device_names(sma, d);
	if (by_physical_id(sma, d->physical_id) || sma_volume_user(sma, d->vol.id))
		return ipdk_err_set(err, -EEXIST, "device %s: listed twice", d->handle);
	rc = device_serve(sma, d, true, err);
	if (rc)
		sma_reason_set(d->failed, sizeof(d->failed), err->msg);
	if (sma->table) {
		memset(&info, 0, sizeof(info));
		vdev_cfg(sma, d, &info.cfg);
		info.state = IPDK_VDEV_PLUGGED;
		rc = ipdk_vdev_restore(sma->table, &info, err);
		if (rc) {
			device_unserve(d);
			return rc;
		}
	}
	list_add(sma, d);
	if (d->failed[0])
		IPDK_LOG_ERR("sma: device %s (volume %s) restored as failed: %s; the VM keeps it "
			     "unserved until DeleteDevice (its size is not in the state file)",
			     d->handle, d->vol.id_text, d->failed);
	else if (d->vol.failed[0])
		IPDK_LOG_ERR("sma: device %s served by a stand-in: %s; its I/O %s",
			     d->handle, d->vol.failed,
			     d->vol.retry ? "waits while the volume is retried" : "fails");
	else
		IPDK_LOG_INFO("sma: device %s restored (volume %s)", d->handle, d->vol.id_text);
	return 0;
}

void sma_devices_release(struct ipdk_sma *sma)
{
	struct sma_device *d;

	while ((d = sma->devices)) {
		/* requests held for a volume being retried or a target away are
		 * left to the next storaged (QEMU keeps them in its inflight region) */
		sma_volume_drop_held(&d->vol);
		ipdk_vblk_destroy(d->vblk);
		list_remove(sma, d);
		d->vblk = NULL;
		sma_retry_forget(sma, &d->vol);
		sma_volume_close(&d->vol);
		free(d);
	}
	sma->n_devices = 0;
	sma_nvmf_release(sma);
}
