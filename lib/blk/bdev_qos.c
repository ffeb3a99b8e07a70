/*
 * The QoS middle layer: a block device that wraps another and holds its I/O
 * to limits of read, write and total IOPS and bandwidth (0: unlimited), the
 * limiter between storaged's frontends and its volumes.
 *
 * Each limit is a token bucket of the device, shared by all its channels
 * without a lock: tokens (in thousandths, so slow rates lose nothing to
 * rounding) are taken with atomic adds, and whichever channel first sees the
 * clock move refills every bucket (a compare-and-swap on the refill time picks
 * it), in steps of at least 1 ms. A bucket holds at most IPDK_BLK_QOS_BURST_MS
 * of its rate. An I/O goes
 * when each of its buckets holds a token and then takes its whole cost, so a
 * bucket may go into debt: an I/O larger than the burst is not starved, and
 * the debt holds the next ones back until the rate has paid for it.
 *
 * An I/O that may not go waits in its channel's FIFO (chained through
 * io->next; later I/O queues behind it even when tokens are there, so large
 * requests are not overtaken forever). The channel's fd is an epoll set of the
 * base channel's fd and a timerfd armed for when the first waiting I/O's
 * buckets will have refilled (at most 100 ms ahead, so a change of limits
 * reaches waiting I/O soon); ipdk_blk_poll() releases what the buckets allow.
 * An idle channel arms nothing. Nothing is allocated per I/O: each channel has
 * one slot (the I/O passed to the base device) per unit of depth.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "blk_internal.h"

enum { QOS_RD_IOPS, QOS_WR_IOPS, QOS_RW_IOPS, QOS_RD_BPS, QOS_WR_BPS, QOS_RW_BPS, QOS_NB };

#define QOS_MILLI 1000                  /* tokens are counted in thousandths */
#define QOS_IOPS_MAX 1000000000ull
#define QOS_BPS_MAX (1ull << 44)
#define QOS_TICK_NS 1000000ull          /* buckets refill in steps of at least 1 ms */
#define QOS_WAIT_MIN_NS QOS_TICK_NS     /* the timer never fires sooner than a step */
#define QOS_WAIT_MAX_NS 100000000ull    /* nor later: new limits reach waiting I/O */
#define QOS_REFILL_MAX_NS 1000000000ull /* a longer pause refills at most this much */

struct qos_bucket {
	uint64_t rate;                  /* per second; 0: unlimited (atomic) */
	int64_t tokens;                 /* thousandths; below zero: debt (atomic) */
};

struct qos_dev {
	struct ipdk_blk_dev dev;
	struct ipdk_blk_dev *base;
	struct qos_bucket b[QOS_NB];
	bool limited;                   /* any rate set (atomic) */
	uint64_t last_ns;               /* last refill (atomic) */
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
	pthread_mutex_t lock;           /* set_limits callers */
	uint64_t waited;                /* atomic */
	unsigned int waiting;           /* atomic */
};

struct qos_channel;

/* The I/O handed to the base device for one of ours. */
struct qos_slot {
	struct ipdk_blk_io inner;
	struct ipdk_blk_io *outer;
	struct qos_channel *qc;
	struct qos_slot *next_free;
};

struct qos_channel {
	struct ipdk_blk_channel ch;
	struct ipdk_blk_channel *base;
	int epfd, tfd;
	bool timer_armed;
	struct ipdk_blk_io *head, *tail;   /* waiting I/O */
	struct qos_slot *slots, *free;
};

static const struct ipdk_blk_ops qos_ops;

static uint64_t mono_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(const struct qos_dev *d)
{
	return d->clock_ns(d->clock_arg);
}

static uint64_t rate_of(const struct qos_dev *d, int k)
{
	return __atomic_load_n(&d->b[k].rate, __ATOMIC_RELAXED);
}

/* The most a bucket holds: IPDK_BLK_QOS_BURST_MS of its rate, in thousandths. */
static int64_t burst_of(uint64_t rate)
{
	return (int64_t)(rate * IPDK_BLK_QOS_BURST_MS);
}

/* Adds what the time since the last refill earned to every bucket; only the
 * channel whose compare-and-swap moves the refill time does it. Refilling in
 * steps of a millisecond lets I/O go in batches: a throttled queue sleeps
 * between them instead of waking for every token. */
static void refill(struct qos_dev *d, uint64_t now)
{
	uint64_t last = __atomic_load_n(&d->last_ns, __ATOMIC_ACQUIRE), dt;

	if (now < last + QOS_TICK_NS ||
	    !__atomic_compare_exchange_n(&d->last_ns, &last, now, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	dt = now - last;
	if (dt > QOS_REFILL_MAX_NS)
		dt = QOS_REFILL_MAX_NS;
	for (int k = 0; k < QOS_NB; k++) {
		uint64_t rate = rate_of(d, k);
		int64_t add, cap, old, new;

		if (!rate)
			continue;
		/* rate per second * dt ns, in thousandths of a token */
		add = (int64_t)((unsigned __int128)rate * dt / 1000000u);
		cap = burst_of(rate);
		old = __atomic_load_n(&d->b[k].tokens, __ATOMIC_RELAXED);
		do {
			new = old + add > cap ? cap : old + add;
		} while (!__atomic_compare_exchange_n(&d->b[k].tokens, &old, new, true,
						      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	}
}

/* The buckets an I/O draws on and what it costs each (thousandths); returns how many. */
static int io_costs(const struct qos_dev *d, const struct ipdk_blk_io *io, int *k, int64_t *cost)
{
	int64_t bytes = (int64_t)io->num_blocks * d->dev.block_size * QOS_MILLI;
	int n = 0;

	switch (io->op) {
	case IPDK_BLK_READ:
		k[n] = QOS_RD_IOPS, cost[n++] = QOS_MILLI;
		k[n] = QOS_RW_IOPS, cost[n++] = QOS_MILLI;
		k[n] = QOS_RD_BPS, cost[n++] = bytes;
		k[n] = QOS_RW_BPS, cost[n++] = bytes;
		break;
	case IPDK_BLK_WRITE:
		k[n] = QOS_WR_BPS, cost[n++] = bytes;
		k[n] = QOS_RW_BPS, cost[n++] = bytes;
		/* fall through */
	case IPDK_BLK_WRITE_ZEROES:
	case IPDK_BLK_DISCARD:
		k[n] = QOS_WR_IOPS, cost[n++] = QOS_MILLI;
		k[n] = QOS_RW_IOPS, cost[n++] = QOS_MILLI;
		break;
	default:
		break;   /* flush: nothing to count */
	}
	return n;
}

/* Takes io's tokens if each of its limited buckets holds some; false otherwise. */
static bool admit(struct qos_dev *d, const struct ipdk_blk_io *io)
{
	int k[4];
	int64_t cost[4];
	int n = io_costs(d, io, k, cost);

	for (int i = 0; i < n; i++)
		if (rate_of(d, k[i]) && __atomic_load_n(&d->b[k[i]].tokens, __ATOMIC_RELAXED) <= 0)
			return false;
	for (int i = 0; i < n; i++)
		if (rate_of(d, k[i]))
			__atomic_sub_fetch(&d->b[k[i]].tokens, cost[i], __ATOMIC_RELAXED);
	return true;
}

/* How long until every limited bucket of io holds a token again. */
static uint64_t wait_ns(const struct qos_dev *d, const struct ipdk_blk_io *io)
{
	int k[4];
	int64_t cost[4];
	int n = io_costs(d, io, k, cost);
	uint64_t w = QOS_WAIT_MIN_NS;

	for (int i = 0; i < n; i++) {
		uint64_t rate = rate_of(d, k[i]), t;
		int64_t tokens = __atomic_load_n(&d->b[k[i]].tokens, __ATOMIC_RELAXED);

		if (!rate || tokens > 0)
			continue;
		t = (uint64_t)((unsigned __int128)(1 - tokens) * 1000000u / rate);
		if (t > w)
			w = t;
	}
	return w > QOS_WAIT_MAX_NS ? QOS_WAIT_MAX_NS : w;
}

static void arm_timer(struct qos_channel *qc, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
						.tv_nsec = (long)(ns % 1000000000ull) } };

	if (qc->tfd >= 0 && timerfd_settime(qc->tfd, 0, &its, NULL) == 0)
		qc->timer_armed = true;
}

static void slot_done(struct ipdk_blk_io *inner, int status)
{
	struct qos_slot *s = (struct qos_slot *)inner;
	struct qos_channel *qc = s->qc;
	struct ipdk_blk_io *outer = s->outer;

	s->next_free = qc->free;
	qc->free = s;
	blk_complete(&qc->ch, outer, status);
}

/* Hands io to the base channel; 0 or its error (io not started). */
static int pass(struct qos_channel *qc, struct ipdk_blk_io *io)
{
	struct qos_slot *s = qc->free;
	int rc;

	if (!s)
		return -EAGAIN;   /* cannot happen: one slot per unit of depth */
	qc->free = s->next_free;
	s->outer = io;
	s->inner.op = io->op;
	s->inner.offset_blocks = io->offset_blocks;
	s->inner.num_blocks = io->num_blocks;
	s->inner.iov = io->iov;
	s->inner.iovcnt = io->iovcnt;
	s->inner.cb = slot_done;
	s->inner.cb_arg = s;
	rc = ipdk_blk_submit(qc->base, &s->inner);
	if (rc) {
		s->next_free = qc->free;
		qc->free = s;
	}
	return rc;
}

static int qos_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct qos_channel *qc = (struct qos_channel *)ch;
	struct qos_dev *d = (struct qos_dev *)ch->dev;

	if (!qc->head) {
		if (!__atomic_load_n(&d->limited, __ATOMIC_RELAXED))
			return pass(qc, io);
		refill(d, now_ns(d));
		if (admit(d, io))
			return pass(qc, io);
	}
	io->next = NULL;
	if (qc->tail)
		qc->tail->next = io;
	else
		qc->head = io;
	qc->tail = io;
	__atomic_add_fetch(&d->waited, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&d->waiting, 1, __ATOMIC_RELAXED);
	if (qc->head == io)
		arm_timer(qc, wait_ns(d, io));
	return 0;
}

/* Starts the waiting I/O the buckets allow, in order; returns how many failed
 * to start (they are completed with the error). */
static unsigned int release(struct qos_channel *qc)
{
	struct qos_dev *d = (struct qos_dev *)qc->ch.dev;
	unsigned int failed = 0;
	bool limited = __atomic_load_n(&d->limited, __ATOMIC_RELAXED);

	if (limited)
		refill(d, now_ns(d));
	while (qc->head && (!limited || admit(d, qc->head))) {
		struct ipdk_blk_io *io = qc->head;
		int rc;

		qc->head = io->next;
		if (!qc->head)
			qc->tail = NULL;
		__atomic_sub_fetch(&d->waiting, 1, __ATOMIC_RELAXED);
		rc = pass(qc, io);
		if (rc) {
			blk_complete(&qc->ch, io, rc);
			failed++;
		}
	}
	return failed;
}

static unsigned int qos_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	struct qos_channel *qc = (struct qos_channel *)ch;
	struct qos_dev *d = (struct qos_dev *)ch->dev;
	unsigned int n = 0;
	uint64_t v;

	if (qc->timer_armed && read(qc->tfd, &v, sizeof(v)) == sizeof(v))
		qc->timer_armed = false;
	if (qc->head)
		n += release(qc);
	if (n < max)
		n += ipdk_blk_poll(qc->base, max - n);
	/* completions may have submitted more; a waiting head needs the timer */
	if (qc->head && !qc->timer_armed)
		arm_timer(qc, wait_ns(d, qc->head));
	return n;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void qos_channel_destroy(struct ipdk_blk_channel *ch)
{
	struct qos_channel *qc = (struct qos_channel *)ch;

	ipdk_blk_channel_close(qc->base);
	if (qc->epfd >= 0)
		close(qc->epfd);
	if (qc->tfd >= 0)
		close(qc->tfd);
	free(qc->slots);
	free(qc);
}

static int qos_channel_create(struct ipdk_blk_dev *dev, unsigned int depth,
			      struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct qos_dev *d = (struct qos_dev *)dev;
	struct qos_channel *qc = calloc(1, sizeof(*qc));
	int rc, bfd;

	if (!qc)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	qc->epfd = qc->tfd = -1;
	qc->slots = calloc(depth, sizeof(*qc->slots));
	if (!qc->slots) {
		free(qc);
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	}
	for (unsigned int i = 0; i < depth; i++) {
		qc->slots[i].qc = qc;
		qc->slots[i].next_free = qc->free;
		qc->free = &qc->slots[i];
	}
	rc = ipdk_blk_channel_open(d->base, depth, &qc->base, err);
	if (rc) {
		free(qc->slots);
		free(qc);
		return ipdk_err_prefix(err, "block device %s", dev->name);
	}
	qc->ch.event_fd = -1;
	bfd = ipdk_blk_channel_fd(qc->base);
	if (bfd >= 0) {
		/* without a base fd the caller polls anyway; the timer would be unseen */
		qc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		qc->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (qc->tfd < 0 || qc->epfd < 0 || add_fd(qc->epfd, bfd) || add_fd(qc->epfd, qc->tfd)) {
			rc = -errno;
			qos_channel_destroy(&qc->ch);
			return ipdk_err_set(err, rc, "block device %s: channel fds: %s", dev->name,
					    strerror(-rc));
		}
		qc->ch.event_fd = qc->epfd;
	}
	*out = &qc->ch;
	return 0;
}

static void qos_destroy(struct ipdk_blk_dev *dev)
{
	struct qos_dev *d = (struct qos_dev *)dev;

	ipdk_blk_put(d->base);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static const struct ipdk_blk_ops qos_ops = {
	.name = "qos",
	.channel_create = qos_channel_create,
	.channel_destroy = qos_channel_destroy,
	.submit = qos_submit,
	.poll = qos_poll,
	.destroy = qos_destroy,
};

static int check_limits(const char *name, const struct ipdk_blk_qos_limits *l,
			struct ipdk_err *err)
{
	const uint64_t iops[3] = { l->rd_iops, l->wr_iops, l->rw_iops };
	const uint64_t bps[3] = { l->rd_bps, l->wr_bps, l->rw_bps };
	static const char *const iops_names[3] = { "rd_iops", "wr_iops", "rw_iops" };
	static const char *const bps_names[3] = { "rd_bps", "wr_bps", "rw_bps" };

	for (int i = 0; i < 3; i++) {
		if (iops[i] > QOS_IOPS_MAX)
			return ipdk_err_set(err, -EINVAL, "QoS device %s: %s %llu is above %llu "
					    "(0 is unlimited)", name, iops_names[i],
					    (unsigned long long)iops[i], QOS_IOPS_MAX);
		if (bps[i] > QOS_BPS_MAX)
			return ipdk_err_set(err, -EINVAL, "QoS device %s: %s %llu is above %llu "
					    "(0 is unlimited)", name, bps_names[i],
					    (unsigned long long)bps[i], QOS_BPS_MAX);
	}
	return 0;
}

/* Sets every bucket's rate; a bucket that was unlimited starts full, one whose
 * rate falls keeps no more than its new burst. */
static void apply_limits(struct qos_dev *d, const struct ipdk_blk_qos_limits *l)
{
	const uint64_t r[QOS_NB] = { l->rd_iops, l->wr_iops, l->rw_iops,
				     l->rd_bps, l->wr_bps, l->rw_bps };
	bool any = false;

	refill(d, now_ns(d));   /* what was earned at the old rates */
	for (int k = 0; k < QOS_NB; k++) {
		uint64_t old = rate_of(d, k);
		int64_t t = __atomic_load_n(&d->b[k].tokens, __ATOMIC_RELAXED);

		if (!old || t > burst_of(r[k]))
			__atomic_store_n(&d->b[k].tokens, burst_of(r[k]), __ATOMIC_RELAXED);
		__atomic_store_n(&d->b[k].rate, r[k], __ATOMIC_RELAXED);
		any |= r[k] != 0;
	}
	__atomic_store_n(&d->limited, any, __ATOMIC_RELEASE);
}

int ipdk_blk_qos_create(const char *name, const char *base, const struct ipdk_blk_qos_opts *opts,
			struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	static const struct ipdk_blk_qos_opts none = { 0 };
	struct qos_dev *d;
	int rc;

	if (!opts)
		opts = &none;
	if (strlen(name) >= IPDK_BLK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "block device %.*s...: name too long",
				    IPDK_BLK_NAME_MAX - 1, name);
	rc = check_limits(name, &opts->limits, err);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return ipdk_err_set(err, -ENOMEM, "QoS device %s: out of memory", name);
	rc = ipdk_blk_open(base, &d->base, err);
	if (rc) {
		free(d);
		return ipdk_err_prefix(err, "QoS device %s", name);
	}
	pthread_mutex_init(&d->lock, NULL);
	d->clock_ns = opts->clock_ns ? opts->clock_ns : mono_ns;
	d->clock_arg = opts->clock_arg;
	d->last_ns = now_ns(d);
	snprintf(d->dev.name, sizeof(d->dev.name), "%s", name);
	d->dev.block_size = d->base->block_size;
	d->dev.num_blocks = d->base->num_blocks;
	d->dev.features = d->base->features;
	d->dev.read_only = d->base->read_only;
	d->dev.ops = &qos_ops;
	apply_limits(d, &opts->limits);
	rc = ipdk_blk_register(&d->dev, err);
	if (rc) {
		qos_destroy(&d->dev);
		return rc;
	}
	*out = &d->dev;
	return 0;
}

int ipdk_blk_qos_set_limits(struct ipdk_blk_dev *dev, const struct ipdk_blk_qos_limits *l,
			    struct ipdk_err *err)
{
	struct qos_dev *d = (struct qos_dev *)dev;
	int rc;

	if (dev->ops != &qos_ops)
		return ipdk_err_set(err, -EINVAL, "block device %s is not a QoS device", dev->name);
	rc = check_limits(dev->name, l, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&d->lock);
	apply_limits(d, l);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int ipdk_blk_qos_get(struct ipdk_blk_dev *dev, struct ipdk_blk_qos_limits *l,
		     struct ipdk_blk_qos_stats *st)
{
	struct qos_dev *d = (struct qos_dev *)dev;

	if (dev->ops != &qos_ops)
		return -EINVAL;
	if (l) {
		l->rd_iops = rate_of(d, QOS_RD_IOPS);
		l->wr_iops = rate_of(d, QOS_WR_IOPS);
		l->rw_iops = rate_of(d, QOS_RW_IOPS);
		l->rd_bps = rate_of(d, QOS_RD_BPS);
		l->wr_bps = rate_of(d, QOS_WR_BPS);
		l->rw_bps = rate_of(d, QOS_RW_BPS);
	}
	if (st) {
		st->waited = __atomic_load_n(&d->waited, __ATOMIC_RELAXED);
		st->waiting = __atomic_load_n(&d->waiting, __ATOMIC_RELAXED);
	}
	return 0;
}
