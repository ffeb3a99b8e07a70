/*
 * The stand-in backend: a device with a known size, block size and features
 * but no data of its own, standing in for a volume that cannot be opened now
 * (a remote target that is down when storaged restarts). The frontends above
 * it (QoS, vhost-user-blk, NVMe/TCP namespaces) are served with the geometry
 * the guest or host saw before, and the stand-in decides what its I/O does:
 *
 * - held: I/O waits in its channel, in arrival order (the start state);
 * - attached (ipdk_blk_standin_attach): the volume is back; each channel opens
 *   a channel on it from its own thread and passes held and new I/O through;
 * - failed (ipdk_blk_standin_fail, or created failed): held and new I/O
 *   completes with -EIO at once, an "error device";
 * - cancelled (ipdk_blk_standin_cancel, when storaged stops): held and new
 *   I/O completes with -ECANCELED, which tells the frontend to leave the
 *   request unanswered for whoever serves the device next.
 *
 * The state is one atomic word (the base pointer is published before it);
 * a change wakes every channel through its eventfd, which is in the channel's
 * epoll set with the base channel's fd. Held I/O is chained through io->next
 * and passed I/O uses one preallocated slot per unit of depth, so nothing is
 * allocated per I/O and the I/O path takes no lock (the device's mutex only
 * guards its channel list and state changes).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_internal.h"
#include "ipdk/log.h"

enum { STANDIN_HOLD, STANDIN_PASS, STANDIN_FAIL, STANDIN_CANCEL };

struct standin_channel;

struct standin_dev {
	struct ipdk_blk_dev dev;
	int state;                       /* atomic; base is set before PASS is stored */
	struct ipdk_blk_dev *base;       /* our reference, once attached */
	pthread_mutex_t lock;            /* channel list and state changes */
	struct standin_channel *chans;
};

struct standin_slot {
	struct ipdk_blk_io io;           /* what the base channel runs */
	struct ipdk_blk_io *orig;
	struct standin_channel *sc;
	struct standin_slot *next_free;
};

struct standin_channel {
	struct ipdk_blk_channel ch;
	struct standin_channel *next;    /* in the device's list */
	int wake_fd;                     /* eventfd: the state changed, or I/O to finish */
	int epfd;
	struct ipdk_blk_io *head, *tail; /* held, in arrival order */
	struct ipdk_blk_channel *base;   /* opened here once the device is attached */
	bool broken;                     /* the base channel could not be opened */
	struct standin_slot *slots, *free;
};

static int load_state(struct standin_dev *d)
{
	return __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
}

static void wake(struct standin_channel *c)
{
	uint64_t one = 1;
	ssize_t w = write(c->wake_fd, &one, sizeof(one));

	(void)w;
}

static void pass_done(struct ipdk_blk_io *bio, int status)
{
	struct standin_slot *s = bio->cb_arg;
	struct standin_channel *c = s->sc;
	struct ipdk_blk_io *io = s->orig;

	s->next_free = c->free;
	c->free = s;
	blk_complete(&c->ch, io, status);
}

/* Hands io to the base channel; 0, or the base's refusal (slot returned). */
static int pass(struct standin_channel *c, struct ipdk_blk_io *io)
{
	struct standin_slot *s = c->free;
	int rc;

	c->free = s->next_free;
	s->orig = io;
	s->io.op = io->op;
	s->io.offset_blocks = io->offset_blocks;
	s->io.num_blocks = io->num_blocks;
	s->io.iov = io->iov;
	s->io.iovcnt = io->iovcnt;
	s->io.cb = pass_done;
	s->io.cb_arg = s;
	rc = ipdk_blk_submit(c->base, &s->io);
	if (rc) {
		s->next_free = c->free;
		c->free = s;
	}
	return rc;
}

static int standin_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct standin_channel *c = (struct standin_channel *)ch;
	int state = load_state((struct standin_dev *)ch->dev);

	if (state == STANDIN_PASS && c->base && !c->head)
		return pass(c, io);
	io->next = NULL;
	if (c->tail)
		c->tail->next = io;
	else
		c->head = io;
	c->tail = io;
	if (state != STANDIN_HOLD)
		wake(c);   /* poll fails it, or opens the base channel and passes it */
	return 0;
}

/* Opens the base channel on this (the channel's) thread; on failure the
 * channel fails its I/O rather than holding it forever. */
static void open_base(struct standin_channel *c, struct standin_dev *d)
{
	struct ipdk_err err;
	int fd;

	if (ipdk_blk_channel_open(d->base, c->ch.depth, &c->base, &err)) {
		IPDK_LOG_ERR("block device %s: %s; its I/O fails", d->dev.name, err.msg);
		c->broken = true;
		return;
	}
	fd = ipdk_blk_channel_fd(c->base);
	if (fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			IPDK_LOG_WARN("block device %s: epoll: %s", d->dev.name, strerror(errno));
	}
}

static unsigned int standin_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	struct standin_channel *c = (struct standin_channel *)ch;
	struct standin_dev *d = (struct standin_dev *)ch->dev;
	int state = load_state(d);
	unsigned int n = 0;
	uint64_t v;

	if (read(c->wake_fd, &v, sizeof(v)) < 0)
		v = 0;
	if (state == STANDIN_PASS && !c->base && !c->broken)
		open_base(c, d);
	while (c->head && n < max && state != STANDIN_HOLD) {
		struct ipdk_blk_io *io = c->head;
		int rc = state == STANDIN_CANCEL ? -ECANCELED : -EIO;

		c->head = io->next;
		if (!c->head)
			c->tail = NULL;
		if (state == STANDIN_PASS && c->base) {
			rc = pass(c, io);
			if (rc == 0) {
				n++;
				continue;
			}
		}
		blk_complete(ch, io, rc);
		n++;
	}
	if (c->head && state != STANDIN_HOLD)
		wake(c);   /* more than max: come back */
	if (c->base && n < max)
		n += ipdk_blk_poll(c->base, max - n);
	return n;
}

static void standin_channel_destroy(struct ipdk_blk_channel *ch)
{
	struct standin_channel *c = (struct standin_channel *)ch;
	struct standin_dev *d = (struct standin_dev *)ch->dev;

	pthread_mutex_lock(&d->lock);
	for (struct standin_channel **p = &d->chans; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
	ipdk_blk_channel_close(c->base);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	free(c->slots);
	free(c);
}

static int standin_channel_create(struct ipdk_blk_dev *dev, unsigned int depth,
				  struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct standin_dev *d = (struct standin_dev *)dev;
	struct standin_channel *c = calloc(1, sizeof(*c));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!c)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	c->ch.dev = dev;
	c->slots = calloc(depth, sizeof(*c->slots));
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = c->wake_fd;
	if (!c->slots || c->wake_fd < 0 || c->epfd < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wake_fd, &ev) < 0) {
		rc = c->slots ? -errno : -ENOMEM;
		standin_channel_destroy(&c->ch);
		return ipdk_err_set(err, rc, "block device %s: channel: %s", dev->name,
				    strerror(-rc));
	}
	for (unsigned int i = 0; i < depth; i++) {
		c->slots[i].sc = c;
		c->slots[i].next_free = c->free;
		c->free = &c->slots[i];
	}
	c->ch.event_fd = c->epfd;
	pthread_mutex_lock(&d->lock);
	c->next = d->chans;
	d->chans = c;
	pthread_mutex_unlock(&d->lock);
	*out = &c->ch;
	return 0;
}

static void standin_destroy(struct ipdk_blk_dev *dev)
{
	struct standin_dev *d = (struct standin_dev *)dev;

	ipdk_blk_put(d->base);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static const struct ipdk_blk_ops standin_ops = {
	.name = "standin",
	.channel_create = standin_channel_create,
	.channel_destroy = standin_channel_destroy,
	.submit = standin_submit,
	.poll = standin_poll,
	.destroy = standin_destroy,
};

int ipdk_blk_standin_create(const char *name, const struct ipdk_blk_standin_opts *o,
			    struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	struct standin_dev *d;
	int rc;

	if (strlen(name) >= IPDK_BLK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "block device %.*s...: name too long",
				    IPDK_BLK_NAME_MAX - 1, name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", name);
	snprintf(d->dev.name, sizeof(d->dev.name), "%s", name);
	d->dev.block_size = o->block_size;
	d->dev.num_blocks = o->num_blocks;
	d->dev.features = o->features & (IPDK_BLK_F_FLUSH | IPDK_BLK_F_WRITE_ZEROES |
					 IPDK_BLK_F_DISCARD);
	d->dev.read_only = o->read_only;
	d->dev.ops = &standin_ops;
	d->state = o->failed ? STANDIN_FAIL : STANDIN_HOLD;
	pthread_mutex_init(&d->lock, NULL);
	rc = ipdk_blk_register(&d->dev, err);
	if (rc < 0) {
		standin_destroy(&d->dev);
		return rc;
	}
	*out = &d->dev;
	return 0;
}

/* Moves a held stand-in to state (base already set for PASS) and wakes its channels. */
static int change(struct ipdk_blk_dev *dev, int state, struct ipdk_blk_dev *base,
		  struct ipdk_err *err)
{
	struct standin_dev *d = (struct standin_dev *)dev;

	if (dev->ops != &standin_ops)
		return ipdk_err_set(err, -EINVAL, "block device %s is not a stand-in", dev->name);
	pthread_mutex_lock(&d->lock);
	if (d->state != STANDIN_HOLD) {
		pthread_mutex_unlock(&d->lock);
		return ipdk_err_set(err, -EALREADY, "block device %s: %s already", dev->name,
				    d->state == STANDIN_PASS ? "attached" :
				    d->state == STANDIN_FAIL ? "failed" : "cancelled");
	}
	d->base = base;
	__atomic_store_n(&d->state, state, __ATOMIC_RELEASE);
	for (struct standin_channel *c = d->chans; c; c = c->next)
		wake(c);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int ipdk_blk_standin_attach(struct ipdk_blk_dev *dev, struct ipdk_blk_dev *base,
			    struct ipdk_err *err)
{
	int rc;

	if (base->block_size != dev->block_size || base->num_blocks != dev->num_blocks)
		return ipdk_err_set(err, -EINVAL, "block device %s: %s has %llu blocks of %u "
				    "bytes, not %llu of %u as before", dev->name, base->name,
				    (unsigned long long)base->num_blocks, base->block_size,
				    (unsigned long long)dev->num_blocks, dev->block_size);
	ipdk_blk_get(base);
	rc = change(dev, STANDIN_PASS, base, err);
	if (rc)
		ipdk_blk_put(base);
	return rc;
}

int ipdk_blk_standin_fail(struct ipdk_blk_dev *dev, struct ipdk_err *err)
{
	return change(dev, STANDIN_FAIL, NULL, err);
}

int ipdk_blk_standin_cancel(struct ipdk_blk_dev *dev)
{
	return change(dev, STANDIN_CANCEL, NULL, NULL);
}
