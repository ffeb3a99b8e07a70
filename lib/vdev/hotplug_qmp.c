/*
 * The QEMU hotplug driver: plugs virtual devices into a running VM through its
 * QMP socket. Each plug or unplug opens its own QMP connection, so a VM that
 * restarted or is not running is noticed at once and nothing is held open
 * between requests.
 *
 * virtio-net: chardev-add (a Unix socket client to the vhost-user path, with
 * reconnect=1 so a restarted backend is found again, after a probe without
 * it), netdev_add (vhost-user on that chardev), device_add virtio-net-pci on
 * the chosen root port. virtio-blk: the same chardev, device_add
 * vhost-user-blk-pci.
 * Unplug: device_del, wait for DEVICE_DELETED (the guest has let go), then
 * netdev_del and chardev-remove. The QEMU object ids derive from the device
 * name ("ipdk-NAME", "ipdk-net-NAME", "ipdk-chr-NAME"), so an unplug needs no
 * state beyond the configuration. A plug that fails half-way removes what it
 * had added, in reverse order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipdk/log.h"
#include "ipdk/vdev.h"

struct qmp_host {
	char name[IPDK_VDEV_NAME_MAX];
	char path[IPDK_VDEV_PATH_MAX];
	unsigned int timeout_ms;
};

struct qmp_ids {
	char dev[IPDK_VDEV_NAME_MAX + 16];
	char net[IPDK_VDEV_NAME_MAX + 16];
	char chr[IPDK_VDEV_NAME_MAX + 16];
};

static void qmp_ids(const struct ipdk_vdev_cfg *cfg, struct qmp_ids *ids)
{
	snprintf(ids->dev, sizeof(ids->dev), "ipdk-%s", cfg->name);
	snprintf(ids->net, sizeof(ids->net), "ipdk-net-%s", cfg->name);
	snprintf(ids->chr, sizeof(ids->chr), "ipdk-chr-%s", cfg->name);
}

static int qmp_host_open(const char *host_name, const char *address, unsigned int timeout_ms,
			 void **ctx, struct ipdk_err *err)
{
	struct qmp_host *h;

	if (!address || !address[0])
		return ipdk_err_set(err, -EINVAL, "host %s: no QMP socket path given", host_name);
	if (strlen(address) >= IPDK_VDEV_PATH_MAX)
		return ipdk_err_set(err, -ENAMETOOLONG, "host %s: QMP socket path %s is longer "
				    "than %d characters", host_name, address, IPDK_VDEV_PATH_MAX - 1);
	h = calloc(1, sizeof(*h));
	if (!h)
		return ipdk_err_set(err, -ENOMEM, "host %s: out of memory", host_name);
	snprintf(h->name, sizeof(h->name), "%s", host_name);
	snprintf(h->path, sizeof(h->path), "%s", address);
	h->timeout_ms = timeout_ms;
	*ctx = h;
	return 0;
}

static void qmp_host_close(void *ctx)
{
	free(ctx);
}

/* Runs one command whose arguments are built by json_pack(fmt, ...). */
static int qmp_run(struct ipdk_qmp *q, const struct qmp_host *h, const char *command,
		   struct ipdk_err *err, const char *fmt, ...)
{
	json_error_t jerr;
	json_t *args;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	args = json_vpack_ex(&jerr, 0, fmt, ap);
	va_end(ap);
	if (!args)
		return ipdk_err_set(err, -EINVAL, "%s arguments: %s", command, jerr.text);
	rc = ipdk_qmp_execute(q, command, args, NULL, h->timeout_ms, err);
	json_decref(args);
	return rc;
}

/* Removes an object; one QEMU no longer has counts as removed. */
static int qmp_remove(struct ipdk_qmp *q, const struct qmp_host *h, const char *command,
		      const char *id, struct ipdk_err *err)
{
	int rc = qmp_run(q, h, command, err, "{s:s}", "id", id);

	return rc && strstr(err->msg, "not found") ? 0 : rc;
}

/* Undo steps only log errors: they run after a failure already being reported. */
static void qmp_undo(struct ipdk_qmp *q, const struct qmp_host *h, const char *command,
		     const char *id)
{
	struct ipdk_err e;

	if (qmp_remove(q, h, command, id, &e))
		IPDK_LOG_WARN("host %s: undoing %s %s: %s", h->name, command, id, e.msg);
}

/* A chardev that is a Unix socket client of path. */
static int qmp_chardev(struct ipdk_qmp *q, const struct qmp_host *h, const char *id,
		       const char *path, int reconnect, struct ipdk_err *err)
{
	return qmp_run(q, h, "chardev-add", err,
		       "{s:s, s:{s:s, s:{s:{s:s, s:{s:s}}, s:b, s:i}}}",
		       "id", id, "backend", "type", "socket", "data",
		       "addr", "type", "unix", "data", "path", path,
		       "server", 0, "reconnect", reconnect);
}

static int qmp_add_chardev(struct ipdk_qmp *q, const struct qmp_host *h,
			   const struct ipdk_vdev_cfg *cfg, const struct qmp_ids *ids,
			   struct ipdk_err *err)
{
	char probe[IPDK_VDEV_NAME_MAX + 16];
	int rc;

	/* reconnect=1: QEMU connects again every second when the vhost-user
	 * server (storaged, infrap4d) restarts and serves the socket again; a
	 * virtio-blk device resubmits what was in flight, a virtio-net device's
	 * link comes back up with its rings where the guest left them. But such
	 * a chardev does not fail when nobody serves the socket, and the
	 * netdev_add or device_add after it would then hold QEMU until someone
	 * does: a chardev without reconnect, connected and removed first, makes
	 * that a plain error. */
	snprintf(probe, sizeof(probe), "ipdk-probe-%s", cfg->name);
	rc = qmp_chardev(q, h, probe, cfg->socket_path, 0, err);
	if (rc)
		return rc;
	qmp_undo(q, h, "chardev-remove", probe);
	return qmp_chardev(q, h, ids->chr, cfg->socket_path, 1, err);
}

static int qmp_plug_net(struct ipdk_qmp *q, const struct qmp_host *h,
			const struct ipdk_vdev_cfg *cfg, const struct qmp_ids *ids,
			struct ipdk_err *err)
{
	unsigned int queues = cfg->queues ? cfg->queues : 1;
	char mac[18];
	json_t *dev;
	int rc;

	rc = qmp_add_chardev(q, h, cfg, ids, err);
	if (rc)
		return rc;
	rc = qmp_run(q, h, "netdev_add", err, "{s:s, s:s, s:s, s:i}", "type", "vhost-user",
		     "id", ids->net, "chardev", ids->chr, "queues", (int)queues);
	if (rc)
		goto undo_chr;
	/* vectors=0: this QEMU's vhost-user virtio-net does not come up with MSI-X
	 * in our guests; legacy interrupts work. */
	dev = json_pack("{s:s, s:s, s:s, s:s, s:i}", "driver", "virtio-net-pci", "id", ids->dev,
			"netdev", ids->net, "bus", cfg->pci_bus, "vectors", 0);
	if (!dev) {
		rc = ipdk_err_set(err, -ENOMEM, "device_add: out of memory");
		goto undo_net;
	}
	if (queues > 1)
		json_object_set_new(dev, "mq", json_true());
	if (cfg->has_mac) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", cfg->mac[0],
			 cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
		json_object_set_new(dev, "mac", json_string(mac));
	}
	rc = ipdk_qmp_execute(q, "device_add", dev, NULL, h->timeout_ms, err);
	json_decref(dev);
	if (rc)
		goto undo_net;
	return 0;
undo_net:
	qmp_undo(q, h, "netdev_del", ids->net);
undo_chr:
	qmp_undo(q, h, "chardev-remove", ids->chr);
	return rc;
}

static int qmp_plug_blk(struct ipdk_qmp *q, const struct qmp_host *h,
			const struct ipdk_vdev_cfg *cfg, const struct qmp_ids *ids,
			struct ipdk_err *err)
{
	int rc;

	rc = qmp_add_chardev(q, h, cfg, ids, err);
	if (rc)
		return rc;
	rc = qmp_run(q, h, "device_add", err, "{s:s, s:s, s:s, s:s, s:i}",
		     "driver", "vhost-user-blk-pci", "id", ids->dev, "chardev", ids->chr,
		     "bus", cfg->pci_bus, "num-queues", cfg->queues ? (int)cfg->queues : 1);
	if (rc)
		qmp_undo(q, h, "chardev-remove", ids->chr);
	return rc;
}

static int qmp_plug(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err)
{
	const struct qmp_host *h = ctx;
	struct ipdk_qmp *q;
	struct qmp_ids ids;
	int rc;

	if (cfg->type == IPDK_VDEV_NVME)
		return ipdk_err_set(err, -EOPNOTSUPP, "device %s: the QEMU driver cannot plug "
				    "nvme devices (QEMU 7.2 has no vfio-user or vhost-user NVMe "
				    "transport)", cfg->name);
	rc = ipdk_qmp_connect(h->path, h->timeout_ms, &q, err);
	if (rc)
		return ipdk_err_prefix(err, "device %s: host %s", cfg->name, h->name);
	qmp_ids(cfg, &ids);
	if (cfg->type == IPDK_VDEV_VIRTIO_NET)
		rc = qmp_plug_net(q, h, cfg, &ids, err);
	else
		rc = qmp_plug_blk(q, h, cfg, &ids, err);
	ipdk_qmp_close(q);
	if (rc)
		return ipdk_err_prefix(err, "device %s: host %s", cfg->name, h->name);
	IPDK_LOG_INFO("device %s: plugged into host %s on %s", cfg->name, h->name, cfg->pci_bus);
	return 0;
}

/* device_del, then wait until the guest has released the device. */
static int qmp_device_del(struct ipdk_qmp *q, const struct qmp_host *h, const char *id,
			  struct ipdk_err *err)
{
	int rc = qmp_run(q, h, "device_del", err, "{s:s}", "id", id);

	if (rc == -ENOENT)
		return 0;    /* gone already: the VM was restarted, or a retry */
	/* A retry after a timed-out wait: the first request is still pending. */
	if (rc && !strstr(err->msg, "in the process of unplug"))
		return rc;
	return ipdk_qmp_wait_event(q, "DEVICE_DELETED", "device", id, h->timeout_ms, NULL, err);
}

static int qmp_unplug(void *ctx, const struct ipdk_vdev_cfg *cfg, struct ipdk_err *err)
{
	const struct qmp_host *h = ctx;
	struct ipdk_qmp *q;
	struct qmp_ids ids;
	int rc;

	if (cfg->type == IPDK_VDEV_NVME)
		return 0;    /* never plugged by this driver */
	rc = ipdk_qmp_connect(h->path, h->timeout_ms, &q, err);
	if (rc == -EHOSTDOWN) {
		/* hotplugged devices end with their VM: there is nothing to unplug */
		IPDK_LOG_INFO("device %s: host %s: %s; nothing to unplug", cfg->name, h->name,
			      err->msg);
		ipdk_err_clear(err);
		return 0;
	}
	if (rc)
		return ipdk_err_prefix(err, "device %s: host %s", cfg->name, h->name);
	qmp_ids(cfg, &ids);
	rc = qmp_device_del(q, h, ids.dev, err);
	/* QEMU 7.2 deletes a vhost-user netdev's chardev with the netdev; the
	 * chardev-remove after it is for older QEMUs and for virtio-blk. */
	if (!rc && cfg->type == IPDK_VDEV_VIRTIO_NET)
		rc = qmp_remove(q, h, "netdev_del", ids.net, err);
	if (!rc)
		rc = qmp_remove(q, h, "chardev-remove", ids.chr, err);
	ipdk_qmp_close(q);
	if (rc)
		return ipdk_err_prefix(err, "device %s: host %s", cfg->name, h->name);
	IPDK_LOG_INFO("device %s: unplugged from host %s", cfg->name, h->name);
	return 0;
}

const struct ipdk_vdev_hotplug_ops ipdk_vdev_qmp_ops = {
	.name = "qmp",
	.open = qmp_host_open,
	.close = qmp_host_close,
	.plug = qmp_plug,
	.unplug = qmp_unplug,
};
