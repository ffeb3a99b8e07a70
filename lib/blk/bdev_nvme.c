/*
 * The nvme-tcp backend: a block device on a namespace of a remote NVMe/TCP
 * controller, through lib/nvmf's initiator. The device owns its controller
 * connection (admin queue, keep-alive, reconnection); each channel is one I/O
 * queue of that controller, driven by the channel's thread with no lock on
 * the I/O path. Write-zeroes and discard are offered when the controller's
 * ONCS has them (discard only when the namespace's DLFEAT says deallocated
 * blocks read as zeroes, as lib/blk's discard promises); flush always goes to the controller (it is a no-op there
 * when it has no volatile cache). While the controller reconnects, I/O is
 * held in the queues and resent; it fails with -EIO only after
 * ctrl_loss_tmo_ms, or at once when the device's user gives up on it (a
 * device being deleted: ipdk_blk_give_up()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk_internal.h"
#include "initiator.h"

struct nvme_dev {
	struct ipdk_blk_dev dev;
	struct ipdk_nvmf_host *host;
	uint32_t nsid;
};

struct nvme_channel {
	struct ipdk_blk_channel ch;
	struct nvmf_qpair *q;
};

static void nvme_done(void *ctx, struct ipdk_blk_io *io, int status)
{
	blk_complete(ctx, io, status);
}

static int nvme_channel_create(struct ipdk_blk_dev *dev, unsigned int depth,
			       struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct nvme_dev *d = (struct nvme_dev *)dev;
	struct nvme_channel *c = calloc(1, sizeof(*c));
	int rc;

	(void)depth;   /* more than the queue holds waits inside the queue */
	if (!c)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	rc = nvmf_qpair_create(d->host, d->nsid, dev->block_size, nvme_done, &c->ch, &c->q, err);
	if (rc < 0) {
		free(c);
		return ipdk_err_prefix(err, "block device %s", dev->name);
	}
	c->ch.event_fd = nvmf_qpair_fd(c->q);
	*out = &c->ch;
	return 0;
}

static void nvme_channel_destroy(struct ipdk_blk_channel *ch)
{
	struct nvme_channel *c = (struct nvme_channel *)ch;

	nvmf_qpair_destroy(c->q);
	free(c);
}

static int nvme_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	return nvmf_qpair_submit(((struct nvme_channel *)ch)->q, io);
}

static unsigned int nvme_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	return nvmf_qpair_poll(((struct nvme_channel *)ch)->q, max);
}

static void nvme_destroy(struct ipdk_blk_dev *dev)
{
	struct nvme_dev *d = (struct nvme_dev *)dev;

	ipdk_nvmf_host_close(d->host);
	free(d);
}

static int nvme_give_up(struct ipdk_blk_dev *dev, bool cancel)
{
	ipdk_nvmf_host_give_up(((struct nvme_dev *)dev)->host, cancel);
	return 0;
}

static const struct ipdk_blk_ops nvme_ops = {
	.name = "nvme-tcp",
	.channel_create = nvme_channel_create,
	.channel_destroy = nvme_channel_destroy,
	.submit = nvme_submit,
	.poll = nvme_poll,
	.destroy = nvme_destroy,
	.give_up = nvme_give_up,
};

int ipdk_blk_nvme_create(const char *name, const struct ipdk_blk_nvme_opts *opts,
			 struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	struct ipdk_nvmf_host_ns ns;
	const struct ipdk_nvmf_host_info *info;
	struct nvme_dev *d;
	int rc;

	if (strlen(name) >= IPDK_BLK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "block device %.*s...: name too long",
				    IPDK_BLK_NAME_MAX - 1, name);
	if (!opts || !opts->host || !opts->host->subnqn ||
	    !strcmp(opts->host->subnqn, IPDK_NVMF_DISCOVERY_NQN))
		return ipdk_err_set(err, -EINVAL, "block device %s: needs an NVM subsystem NQN", name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", name);
	rc = ipdk_nvmf_host_connect(opts->host, &d->host, err);
	if (rc < 0)
		goto fail;
	info = ipdk_nvmf_host_info(d->host);
	if (info->discovery || info->io_queues == 0) {
		rc = ipdk_err_set(err, -EINVAL, "%s: a discovery controller or no I/O queues granted",
				  opts->host->subnqn);
		goto fail;
	}
	d->nsid = opts->nsid;
	if (!d->nsid && opts->uuid) {
		rc = ipdk_nvmf_host_ns_by_uuid(d->host, opts->uuid, err);
		if (rc < 0)
			goto fail;
		d->nsid = (uint32_t)rc;
	} else if (!d->nsid) {
		rc = ipdk_nvmf_host_active_ns(d->host, &d->nsid, 1, err);
		if (rc == 0)
			rc = ipdk_err_set(err, -ENOENT, "%s: no active namespace", opts->host->subnqn);
		if (rc < 0)
			goto fail;
	}
	rc = ipdk_nvmf_host_ns_info(d->host, d->nsid, &ns, err);
	if (rc < 0)
		goto fail;
	snprintf(d->dev.name, sizeof(d->dev.name), "%s", name);
	d->dev.block_size = ns.block_size;
	d->dev.num_blocks = ns.num_blocks;
	d->dev.read_only = opts->read_only;
	d->dev.features = (info->vwc ? IPDK_BLK_F_FLUSH : 0) |
			  (info->oncs & (1u << 3) ? IPDK_BLK_F_WRITE_ZEROES : 0) |
			  /* lib/blk's discard promises zeroes: only when DLFEAT does too */
			  (info->oncs & (1u << 2) && ns.dealloc_zeroes ? IPDK_BLK_F_DISCARD : 0);
	d->dev.ops = &nvme_ops;
	rc = ipdk_blk_register(&d->dev, err);
	if (rc < 0)
		goto fail;
	*out = &d->dev;
	return 0;
fail:
	ipdk_err_prefix(err, "block device %s", name);
	ipdk_nvmf_host_close(d->host);
	free(d);
	return rc;
}

struct ipdk_nvmf_host *ipdk_blk_nvme_host(const struct ipdk_blk_dev *dev)
{
	return dev->ops == &nvme_ops ? ((const struct nvme_dev *)dev)->host : NULL;
}
