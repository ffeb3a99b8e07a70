/*
 * The block layer core: the registry of named devices with their reference
 * counts, channels, and the checks every I/O passes before a backend sees it
 * (range, buffer sizes, read-only, supported operation, channel depth). The
 * backends (ram.c, file.c, ...) only move data.
 *
 * The registry is a linked list under one mutex; it changes at control-path
 * pace. The I/O path takes no lock: a channel is used by one thread.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/blk.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipdk_blk_dev *registry;

static const char *const op_names[IPDK_BLK_OP_MAX] = {
	[IPDK_BLK_READ] = "read",
	[IPDK_BLK_WRITE] = "write",
	[IPDK_BLK_FLUSH] = "flush",
	[IPDK_BLK_WRITE_ZEROES] = "write-zeroes",
	[IPDK_BLK_DISCARD] = "discard",
};

const char *ipdk_blk_op_name(enum ipdk_blk_op op)
{
	return (unsigned int)op < IPDK_BLK_OP_MAX ? op_names[op] : "unknown";
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IPDK_BLK_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.' ||
		      *s == ':'))
			return false;
	return true;
}

static struct ipdk_blk_dev *find_locked(const char *name)
{
	for (struct ipdk_blk_dev *d = registry; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

int ipdk_blk_register(struct ipdk_blk_dev *dev, struct ipdk_err *err)
{
	if (!name_ok(dev->name))
		return ipdk_err_set(err, -EINVAL,
				    "block device '%s': name must be 1-%d letters, digits, '-', '_', '.', ':'",
				    dev->name, IPDK_BLK_NAME_MAX - 1);
	if (dev->block_size < 512 || dev->block_size > 65536 ||
	    (dev->block_size & (dev->block_size - 1)))
		return ipdk_err_set(err, -EINVAL,
				    "block device %s: block size %u is not a power of two in 512..65536",
				    dev->name, dev->block_size);
	if (dev->num_blocks == 0)
		return ipdk_err_set(err, -EINVAL, "block device %s: no blocks", dev->name);
	pthread_mutex_lock(&registry_lock);
	if (find_locked(dev->name)) {
		pthread_mutex_unlock(&registry_lock);
		return ipdk_err_set(err, -EEXIST, "block device %s: name in use", dev->name);
	}
	dev->refs = 2;
	dev->next = registry;
	registry = dev;
	pthread_mutex_unlock(&registry_lock);
	return 0;
}

int ipdk_blk_open(const char *name, struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	struct ipdk_blk_dev *d;

	pthread_mutex_lock(&registry_lock);
	d = find_locked(name);
	if (d)
		d->refs++;
	pthread_mutex_unlock(&registry_lock);
	if (!d)
		return ipdk_err_set(err, -ENOENT, "block device %s: no such device", name);
	*out = d;
	return 0;
}

void ipdk_blk_get(struct ipdk_blk_dev *dev)
{
	pthread_mutex_lock(&registry_lock);
	dev->refs++;
	pthread_mutex_unlock(&registry_lock);
}

void ipdk_blk_put(struct ipdk_blk_dev *dev)
{
	int left;

	if (!dev)
		return;
	pthread_mutex_lock(&registry_lock);
	left = --dev->refs;
	pthread_mutex_unlock(&registry_lock);
	if (left == 0)
		dev->ops->destroy(dev);
}

int ipdk_blk_delete(const char *name, struct ipdk_err *err)
{
	struct ipdk_blk_dev **pp, *d = NULL;

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			d = *pp;
			*pp = d->next;
			d->next = NULL;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	if (!d)
		return ipdk_err_set(err, -ENOENT, "block device %s: no such device", name);
	ipdk_blk_put(d);
	return 0;
}

int ipdk_blk_foreach(int (*fn)(const struct ipdk_blk_dev *dev, void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&registry_lock);
	for (struct ipdk_blk_dev *d = registry; d && !rc; d = d->next)
		rc = fn(d, arg);
	pthread_mutex_unlock(&registry_lock);
	return rc;
}

int ipdk_blk_give_up(struct ipdk_blk_dev *dev, bool cancel)
{
	return dev->ops->give_up ? dev->ops->give_up(dev, cancel) : -ENOTSUP;
}

bool ipdk_blk_supports(const struct ipdk_blk_dev *dev, enum ipdk_blk_op op)
{
	switch (op) {
	case IPDK_BLK_READ:
	case IPDK_BLK_WRITE:
	case IPDK_BLK_FLUSH:
		return true;
	case IPDK_BLK_WRITE_ZEROES:
		return dev->features & IPDK_BLK_F_WRITE_ZEROES;
	case IPDK_BLK_DISCARD:
		return dev->features & IPDK_BLK_F_DISCARD;
	default:
		return false;
	}
}

int ipdk_blk_channel_open(struct ipdk_blk_dev *dev, unsigned int depth,
			  struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct ipdk_blk_channel *ch;
	int rc;

	if (depth == 0)
		depth = 128;
	if (depth > 65536)
		return ipdk_err_set(err, -EINVAL, "block device %s: channel depth %u above 65536",
				    dev->name, depth);
	rc = dev->ops->channel_create(dev, depth, &ch, err);
	if (rc < 0)
		return rc;
	ch->dev = dev;
	ch->depth = depth;
	ch->inflight = 0;
	pthread_mutex_lock(&registry_lock);
	dev->refs++;
	pthread_mutex_unlock(&registry_lock);
	*out = ch;
	return 0;
}

void ipdk_blk_channel_close(struct ipdk_blk_channel *ch)
{
	struct ipdk_blk_dev *dev;

	if (!ch)
		return;
	dev = ch->dev;
	while (ch->inflight) {
		if (ipdk_blk_poll(ch, 0) == 0 && ch->event_fd >= 0) {
			struct pollfd p = { .fd = ch->event_fd, .events = POLLIN };

			poll(&p, 1, 100);
		}
	}
	dev->ops->channel_destroy(ch);
	ipdk_blk_put(dev);
}

static size_t iov_bytes(const struct iovec *iov, int n)
{
	size_t s = 0;

	for (int i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

int ipdk_blk_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct ipdk_blk_dev *dev = ch->dev;
	int rc;

	if ((unsigned int)io->op >= IPDK_BLK_OP_MAX)
		return -EINVAL;
	if (!ipdk_blk_supports(dev, io->op))
		return -ENOTSUP;
	if (io->op != IPDK_BLK_READ && io->op != IPDK_BLK_FLUSH && dev->read_only)
		return -EPERM;
	if (io->op != IPDK_BLK_FLUSH) {
		if (io->num_blocks == 0 || io->offset_blocks >= dev->num_blocks ||
		    io->num_blocks > dev->num_blocks - io->offset_blocks)
			return -ERANGE;
	}
	if (io->op == IPDK_BLK_READ || io->op == IPDK_BLK_WRITE) {
		if (io->iovcnt <= 0 || io->iovcnt > IOV_MAX ||
		    iov_bytes(io->iov, io->iovcnt) != (size_t)io->num_blocks * dev->block_size)
			return -EINVAL;
	}
	if (ch->inflight >= ch->depth)
		return -EAGAIN;
	io->next = NULL;
	io->status = 0;
	rc = dev->ops->submit(ch, io);
	if (rc == 0)
		ch->inflight++;
	return rc;
}

unsigned int ipdk_blk_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	unsigned int n = ch->dev->ops->poll(ch, max ? max : ~0u);

	return n;
}

int ipdk_blk_channel_fd(const struct ipdk_blk_channel *ch)
{
	return ch->event_fd;
}

struct sync_wait {
	bool done;
	int status;
};

static void sync_cb(struct ipdk_blk_io *io, int status)
{
	struct sync_wait *w = io->cb_arg;

	w->done = true;
	w->status = status;
}

int ipdk_blk_io_sync(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct sync_wait w = { false, 0 };
	int rc;

	io->cb = sync_cb;
	io->cb_arg = &w;
	rc = ipdk_blk_submit(ch, io);
	if (rc < 0)
		return rc;
	while (!w.done) {
		if (ipdk_blk_poll(ch, 0) == 0 && !w.done && ch->event_fd >= 0) {
			struct pollfd p = { .fd = ch->event_fd, .events = POLLIN };

			poll(&p, 1, 100);
		}
	}
	return w.status;
}
