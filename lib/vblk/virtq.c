/*
 * The vhost-user-blk data path: one thread per started queue walks the split
 * ring, turns each descriptor chain into a virtio-blk request whose data
 * iovecs point straight into guest memory, and submits it to the queue's
 * lib/blk channel. Completions write the status byte and the used ring; the
 * guest is interrupted once per batch unless it asked not to be.
 *
 * Adaptive polling: after any activity the thread keeps polling for poll_ns,
 * then turns guest notifications back on (clears VRING_USED_F_NO_NOTIFY),
 * checks the ring once more and sleeps in poll() on the kick eventfd, the
 * block channel's fd and its stop eventfd. An idle device costs no CPU.
 *
 * Inflight tracking (vhost-user INFLIGHT_SHMFD): a fetched head is marked in
 * the shared region before it is processed and unmarked after its used entry
 * is published; last_batch_head and used_idx in the region let a restarted
 * backend tell whether the last completion reached the guest. At start the
 * marked heads are resubmitted in fetch order and the ring resumes at
 * used->idx plus their number.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "vblk_internal.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t vblk_inflight_qsize(unsigned int size)
{
	size_t n = sizeof(struct vhost_inflight_queue) + size * sizeof(struct vhost_inflight_desc);

	return (n + 63) & ~(size_t)63;
}

/* ---- completions ------------------------------------------------------------ */

static void req_done(struct vblk_req *r, uint8_t status)
{
	struct vblk_queue *q = r->q;
	struct vring_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

	*r->status = status;
	if (status != VIRTIO_BLK_S_OK)
		q->st.errors++;
	e->id = r->head;
	e->len = r->used_len;
	if (q->inflight)
		q->inflight->last_batch_head = r->head;
	q->used_idx++;
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
	if (q->inflight) {
		__atomic_store_n(&q->inflight->desc[r->head].inflight, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&q->inflight->used_idx, q->used_idx, __ATOMIC_RELEASE);
	}
	r->busy = false;
	q->n_inflight--;
	q->need_call = true;
}

static void blk_done(struct ipdk_blk_io *io, int status)
{
	struct vblk_req *r = (struct vblk_req *)io;

	if (status == -ECANCELED) {
		/* dropped unanswered (storaged stops): the head stays marked in the
		 * inflight region, so the next back-end resubmits it */
		r->busy = false;
		r->q->n_inflight--;
		return;
	}

	if (status)
		IPDK_LOG_DEBUG("vblk %s: %s at block %llu failed: %s", r->q->v->name,
			       ipdk_blk_op_name(io->op), (unsigned long long)io->offset_blocks,
			       strerror(-status));
	req_done(r, status ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void call_guest(struct vblk_queue *q)
{
	uint64_t one = 1;
	int fd;

	if (!q->need_call)
		return;
	q->need_call = false;
	/* the used index must be visible before we read the guest's flag */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->avail->flags, __ATOMIC_ACQUIRE) & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	fd = q->callfd;
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		IPDK_LOG_DEBUG("vblk %s: queue %u: call: %s", q->v->name, q->idx, strerror(errno));
}

/* ---- request parsing ---------------------------------------------------------- */

/* Copies len bytes from the front of iov[*first..*cnt) and drops them. */
static int iov_pull(struct iovec *iov, int *first, int cnt, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len) {
		size_t n;

		if (*first >= cnt)
			return -1;
		n = iov[*first].iov_len < len ? iov[*first].iov_len : len;
		memcpy(d, iov[*first].iov_base, n);
		d += n;
		len -= n;
		iov[*first].iov_base = (uint8_t *)iov[*first].iov_base + n;
		iov[*first].iov_len -= n;
		if (iov[*first].iov_len == 0)
			(*first)++;
	}
	return 0;
}

static size_t iov_bytes(const struct iovec *iov, int cnt)
{
	size_t n = 0;

	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Walks a descriptor chain into r->iov; returns the number of entries (the
 * readable ones first, *n_read of them) or -1 when the chain is malformed. */
static int chain_to_iov(struct vblk_queue *q, struct vblk_req *r, int *n_read)
{
	const struct vring_desc *table = q->desc;
	uint32_t table_size = q->size, idx = r->head, hops = 0;
	bool indirect_ok = q->v->acked_features & (1ull << VIRTIO_F_RING_INDIRECT_DESC);
	int n = 0;

	*n_read = 0;
	for (;;) {
		struct vring_desc d = table[idx];   /* copied: the guest may change it */
		void *p;

		if (++hops > VBLK_RING_MAX + q->iov_max)
			return -1;
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!indirect_ok || table != q->desc || d.len % sizeof(d) || !d.len ||
			    d.len / sizeof(d) > 65536)
				return -1;
			table = vblk_gpa_to_host(q->v, d.addr, d.len);
			if (!table)
				return -1;
			table_size = d.len / sizeof(d);
			idx = 0;
			continue;
		}
		if ((unsigned int)n == q->iov_max)
			return -1;
		p = vblk_gpa_to_host(q->v, d.addr, d.len);
		if (!p && d.len)
			return -1;
		if (d.flags & VRING_DESC_F_WRITE) {
			r->iov[n].iov_base = p;
			r->iov[n++].iov_len = d.len;
		} else {
			if (n != *n_read)
				return -1;     /* readable after writable */
			r->iov[n].iov_base = p;
			r->iov[n++].iov_len = d.len;
			(*n_read)++;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return n;
		idx = d.next;
		if (idx >= table_size)
			return -1;
	}
}

/* Finds the status byte of a chain chain_to_iov() refused: the last byte of
 * its last descriptor when that one is writable and in guest memory; NULL for
 * chains without an end (loops) or without a usable last descriptor. */
static uint8_t *find_status(struct vblk_queue *q, uint16_t head)
{
	const struct vring_desc *table = q->desc;
	uint32_t table_size = q->size, idx = head;

	for (unsigned int hops = 0; hops <= VBLK_RING_MAX + q->iov_max; hops++) {
		struct vring_desc d = table[idx];

		if ((d.flags & VRING_DESC_F_INDIRECT) && table == q->desc) {
			table = vblk_gpa_to_host(q->v, d.addr, d.len);
			table_size = d.len / sizeof(d);
			if (!table || !table_size)
				return NULL;
			idx = 0;
			continue;
		}
		if (!(d.flags & VRING_DESC_F_NEXT)) {
			uint8_t *p = d.len ? vblk_gpa_to_host(q->v, d.addr, d.len) : NULL;

			return p && (d.flags & VRING_DESC_F_WRITE) ? p + d.len - 1 : NULL;
		}
		idx = d.next;
		if (idx >= table_size)
			return NULL;
	}
	return NULL;
}

/* Checks a sector range against the device; returns 0 or -1. */
static int sectors_to_blocks(struct vblk_queue *q, uint64_t sector, uint64_t bytes,
			     uint64_t *off, uint32_t *num)
{
	uint32_t bs = q->v->bdev->block_size;
	uint64_t start = sector * VIRTIO_BLK_SECTOR;

	if (sector > UINT64_MAX / VIRTIO_BLK_SECTOR || start % bs || bytes % bs ||
	    bytes / bs > UINT32_MAX)
		return -1;
	*off = start / bs;
	*num = (uint32_t)(bytes / bs);
	return 0;
}

static void submit(struct vblk_req *r, enum ipdk_blk_op op, uint64_t off, uint32_t num,
		   int first, int cnt)
{
	struct vblk_queue *q = r->q;
	int rc;

	r->io.op = op;
	r->io.offset_blocks = off;
	r->io.num_blocks = num;
	r->io.iov = r->iov + first;
	r->io.iovcnt = cnt - first;
	r->io.cb = blk_done;
	r->io.cb_arg = r;
	rc = ipdk_blk_submit(q->ch, &r->io);
	if (rc) {
		IPDK_LOG_DEBUG("vblk %s: %s of %u blocks at %llu refused: %s", q->v->name,
			       ipdk_blk_op_name(op), num, (unsigned long long)off, strerror(-rc));
		req_done(r, rc == -ENOTSUP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR);
	}
}

static void range_op(struct vblk_req *r, enum ipdk_blk_op op, int first, int n_read)
{
	struct vblk_queue *q = r->q;
	struct virtio_blk_discard_wz seg;
	uint64_t off;
	uint32_t num;

	/* one segment (max_discard_seg = max_write_zeroes_seg = 1) */
	if (n_read - first < 0 || iov_bytes(r->iov + first, n_read - first) != sizeof(seg) ||
	    iov_pull(r->iov, &first, n_read, &seg, sizeof(seg)))
		return req_done(r, VIRTIO_BLK_S_IOERR);
	if (op == IPDK_BLK_DISCARD && seg.flags)
		return req_done(r, VIRTIO_BLK_S_UNSUPP);
	if (seg.flags & ~1u)
		return req_done(r, VIRTIO_BLK_S_UNSUPP);
	if (sectors_to_blocks(q, seg.sector, (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR,
			      &off, &num))
		return req_done(r, VIRTIO_BLK_S_IOERR);
	if (op == IPDK_BLK_DISCARD)
		q->st.discards++;
	else
		q->st.write_zeroes++;
	submit(r, op, off, num, first, first);
}

static void get_id(struct vblk_req *r, int first, int cnt)
{
	const char *s = r->q->v->serial;
	size_t want = VIRTIO_BLK_ID_BYTES, done = 0;

	r->q->st.get_ids++;
	for (int i = first; i < cnt && done < want; i++) {
		size_t n = r->iov[i].iov_len < want - done ? r->iov[i].iov_len : want - done;
		size_t slen = strlen(s);

		for (size_t k = 0; k < n; k++)
			((uint8_t *)r->iov[i].iov_base)[k] = done + k < slen ? (uint8_t)s[done + k] : 0;
		done += n;
	}
	r->used_len += (uint32_t)done;
	req_done(r, VIRTIO_BLK_S_OK);
}

static void process(struct vblk_queue *q, uint16_t head)
{
	struct vblk_req *r = &q->reqs[head];
	struct virtio_blk_outhdr hdr;
	int cnt, n_read, first = 0;
	uint64_t off, bytes;
	uint32_t num;

	r->head = head;
	r->used_len = 0;
	r->busy = true;
	q->n_inflight++;
	if (q->inflight) {
		struct vhost_inflight_desc *d = &q->inflight->desc[head];

		d->counter = ++q->counter;
		__atomic_store_n(&d->inflight, 1, __ATOMIC_RELEASE);
	}
	cnt = chain_to_iov(q, r, &n_read);
	/* a status byte at the very end is the least a request must have */
	if (cnt <= n_read || r->iov[cnt - 1].iov_len == 0 ||
	    iov_pull(r->iov, &first, n_read, &hdr, sizeof(hdr))) {
		IPDK_LOG_WARN("vblk %s: queue %u: malformed request at head %u", q->v->name,
			      q->idx, head);
		r->status = find_status(q, head);
		if (r->status) {
			r->used_len = 1;
			return req_done(r, VIRTIO_BLK_S_IOERR);
		}
		/* no status byte to answer in: the guest broke the ring */
		q->broken = true;
		q->n_inflight--;
		r->busy = false;
		if (q->inflight)
			q->inflight->desc[head].inflight = 0;
		return;
	}
	r->status = (uint8_t *)r->iov[cnt - 1].iov_base + r->iov[cnt - 1].iov_len - 1;
	r->used_len = 1;
	if (--r->iov[cnt - 1].iov_len == 0)
		cnt--;
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		bytes = iov_bytes(r->iov + first, cnt - first);
		if (first != n_read || sectors_to_blocks(q, hdr.sector, bytes, &off, &num))
			return req_done(r, VIRTIO_BLK_S_IOERR);
		q->st.reads++;
		q->st.read_bytes += bytes;
		r->used_len += (uint32_t)bytes;
		return submit(r, IPDK_BLK_READ, off, num, first, cnt);
	case VIRTIO_BLK_T_OUT:
		bytes = iov_bytes(r->iov + first, cnt - first);
		if (n_read != cnt || sectors_to_blocks(q, hdr.sector, bytes, &off, &num))
			return req_done(r, VIRTIO_BLK_S_IOERR);
		if (q->v->read_only)
			return req_done(r, VIRTIO_BLK_S_IOERR);
		q->st.writes++;
		q->st.write_bytes += bytes;
		return submit(r, IPDK_BLK_WRITE, off, num, first, cnt);
	case VIRTIO_BLK_T_FLUSH:
		q->st.flushes++;
		if (!ipdk_blk_supports(q->v->bdev, IPDK_BLK_FLUSH))
			return req_done(r, VIRTIO_BLK_S_OK);   /* nothing volatile to write back */
		return submit(r, IPDK_BLK_FLUSH, 0, 0, first, first);
	case VIRTIO_BLK_T_GET_ID:
		return get_id(r, n_read > first ? n_read : first, cnt);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (q->v->read_only)
			return req_done(r, VIRTIO_BLK_S_IOERR);
		return range_op(r, hdr.type == VIRTIO_BLK_T_DISCARD ? IPDK_BLK_DISCARD :
				IPDK_BLK_WRITE_ZEROES, first, n_read);
	default:
		return req_done(r, VIRTIO_BLK_S_UNSUPP);
	}
}

/* Takes new requests off the avail ring; returns how many. */
static unsigned int fetch(struct vblk_queue *q)
{
	uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (q->last_avail != avail_idx && !q->broken && q->n_inflight < q->size) {
		uint16_t head = q->avail->ring[q->last_avail & (q->size - 1)];

		if (head >= q->size || q->reqs[head].busy) {
			IPDK_LOG_WARN("vblk %s: queue %u: bad head %u in the avail ring; "
				      "queue stopped until the guest resets it", q->v->name, q->idx, head);
			q->broken = true;
			break;
		}
		q->last_avail++;
		process(q, head);
		n++;
	}
	return n;
}

/* ---- inflight recovery ------------------------------------------------------------ */

static int counter_cmp(const void *a, const void *b, void *arg)
{
	const struct vhost_inflight_queue *iq = arg;
	uint64_t ca = iq->desc[*(const uint16_t *)a].counter;
	uint64_t cb = iq->desc[*(const uint16_t *)b].counter;

	return ca < cb ? -1 : ca > cb;
}

/* Prepares the inflight region; returns how many heads to resubmit (in *heads). */
static unsigned int inflight_recover(struct vblk_queue *q, uint16_t *heads)
{
	struct vhost_inflight_queue *iq = q->inflight;
	uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	if (iq->version != 1 || iq->desc_num != q->size) {
		memset(iq, 0, vblk_inflight_qsize(q->size));
		iq->version = 1;
		iq->desc_num = (uint16_t)q->size;
		iq->used_idx = used_idx;
		iq->features = q->v->acked_features;
		q->used_idx = used_idx;
		return 0;
	}
	/* the last completion reached the used ring but not the region */
	if (iq->used_idx != used_idx) {
		iq->desc[iq->last_batch_head].inflight = 0;
		iq->used_idx = used_idx;
	}
	for (unsigned int i = 0; i < q->size; i++) {
		if (iq->desc[i].inflight) {
			heads[n++] = (uint16_t)i;
			if (iq->desc[i].counter > q->counter)
				q->counter = iq->desc[i].counter;
		}
	}
	IPDK_LOG_DEBUG("vblk %s: queue %u: inflight region at used %u (ring %u, avail %u), "
		       "%u marked", q->v->name, q->idx, iq->used_idx, used_idx, q->avail->idx, n);
	qsort_r(heads, n, sizeof(*heads), counter_cmp, iq);
	q->used_idx = used_idx;
	q->last_avail = (uint16_t)(used_idx + n);
	return n;
}

/* ---- the queue thread -------------------------------------------------------------- */

static void take_callfd(struct vblk_queue *q)
{
	int fd = __atomic_exchange_n(&q->callfd_pending, -1, __ATOMIC_ACQ_REL);

	if (fd == -1)
		return;
	if (q->callfd >= 0)
		close(q->callfd);
	q->callfd = fd == -2 ? -1 : fd;   /* -2: "no fd" */
}

static void sleep_until_work(struct vblk_queue *q)
{
	struct pollfd p[3];
	int n = 0, chfd = ipdk_blk_channel_fd(q->ch);
	uint64_t v;

	p[n++] = (struct pollfd){ .fd = q->stopfd, .events = POLLIN };
	if (!q->stop && !q->broken && q->kickfd >= 0)
		p[n++] = (struct pollfd){ .fd = q->kickfd, .events = POLLIN };
	if (chfd >= 0 && q->n_inflight)
		p[n++] = (struct pollfd){ .fd = chfd, .events = POLLIN };
	/* without fds to wait on (a polled kick, a backend without an fd) nap briefly */
	if (poll(p, (nfds_t)n, q->kickfd < 0 || (chfd < 0 && q->n_inflight) ? 1 : 1000) <= 0)
		return;
	/* a wake-up for a new call fd, or for stopping (read by vblk_queue_stop) */
	if ((p[0].revents & POLLIN) && !q->stop && read(q->stopfd, &v, sizeof(v)) < 0)
		v = 0;
	if (n > 1 && p[1].fd == q->kickfd && (p[1].revents & POLLIN) &&
	    read(q->kickfd, &v, sizeof(v)) < 0)
		v = 0;
}

static void *queue_thread(void *arg)
{
	struct vblk_queue *q = arg;
	uint64_t last = now_ns();
	uint16_t *heads = calloc(q->size, sizeof(*heads));
	unsigned int n_resub = 0;

	if (q->inflight && heads)
		n_resub = inflight_recover(q, heads);
	else
		q->used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	if (n_resub)
		IPDK_LOG_INFO("vblk %s: queue %u: resubmitting %u requests left in flight",
			      q->v->name, q->idx, n_resub);
	for (unsigned int i = 0; i < n_resub; i++)
		process(q, heads[i]);
	q->st.resubmitted += n_resub;
	free(heads);
	q->used->flags |= VRING_USED_F_NO_NOTIFY;

	for (;;) {
		unsigned int n = 0;

		take_callfd(q);
		if (!q->stop)
			n += fetch(q);
		n += ipdk_blk_poll(q->ch, 0);
		call_guest(q);
		if (q->stop && q->n_inflight == 0)
			break;
		if (n) {
			last = now_ns();
			continue;
		}
		if (q->v->poll_ns && now_ns() - last < q->v->poll_ns && !q->stop) {
			sched_yield();   /* a front-end sharing this core gets to run */
			continue;
		}
		if (!q->stop) {
			/* ask for kicks, then look once more: a request may have slipped in */
			__atomic_store_n(&q->used->flags, 0, __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail &&
			    !q->broken) {
				q->used->flags = VRING_USED_F_NO_NOTIFY;
				continue;
			}
		}
		sleep_until_work(q);
		q->used->flags = VRING_USED_F_NO_NOTIFY;
		last = now_ns();
	}
	q->used->flags = 0;
	return NULL;
}

static void *ring_addr(struct ipdk_vblk *v, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < v->n_regions; i++) {
		const struct vblk_region *r = &v->regions[i];

		if (uva >= r->uva && uva - r->uva < r->size && len <= r->size - (uva - r->uva))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

int vblk_queue_start(struct vblk_queue *q)
{
	struct ipdk_vblk *v = q->v;
	struct ipdk_err err;
	int rc;

	if (q->running || !q->kicked || !q->addr_set || !q->size || !v->n_regions ||
	    (v->protocol_negotiated && !q->enabled))
		return 0;
	q->desc = ring_addr(v, q->desc_uva, 16ull * q->size);
	q->avail = ring_addr(v, q->avail_uva, 4 + 2ull * q->size);
	q->used = ring_addr(v, q->used_uva, 4 + 8ull * q->size);
	if (!q->desc || !q->avail || !q->used) {
		IPDK_LOG_ERR("vblk %s: queue %u: ring addresses outside guest memory", v->name, q->idx);
		return -EFAULT;
	}
	q->inflight = NULL;
	if (v->inflight_map && q->idx < v->inflight_queues &&
	    vblk_inflight_qsize(q->size) <= v->inflight_qsize)
		q->inflight = (struct vhost_inflight_queue *)((uint8_t *)v->inflight_map +
							       q->idx * v->inflight_qsize);
	rc = ipdk_blk_channel_open(v->bdev, q->size, &q->ch, &err);
	if (rc) {
		IPDK_LOG_ERR("vblk %s: queue %u: %s", v->name, q->idx, err.msg);
		return rc;
	}
	q->stop = false;
	q->broken = false;
	q->n_inflight = 0;
	q->need_call = false;
	rc = -pthread_create(&q->thread, NULL, queue_thread, q);
	if (rc) {
		ipdk_blk_channel_close(q->ch);
		q->ch = NULL;
		IPDK_LOG_ERR("vblk %s: queue %u: cannot start a thread: %s", v->name, q->idx,
			     strerror(-rc));
		return rc;
	}
	q->running = true;
	IPDK_LOG_DEBUG("vblk %s: queue %u started (%u entries, inflight tracking %s)", v->name,
		       q->idx, q->size, q->inflight ? "on" : "off");
	return 0;
}

void vblk_queue_stop(struct vblk_queue *q)
{
	uint64_t one = 1;
	ssize_t w;

	if (!q->running)
		return;
	q->stop = true;
	w = write(q->stopfd, &one, sizeof(one));
	(void)w;
	pthread_join(q->thread, NULL);
	w = read(q->stopfd, &one, sizeof(one));
	(void)w;
	ipdk_blk_channel_close(q->ch);
	q->ch = NULL;
	q->running = false;
	take_callfd(q);
	IPDK_LOG_DEBUG("vblk %s: queue %u stopped at %u", q->v->name, q->idx, q->last_avail);
}

void vblk_queue_set_callfd(struct vblk_queue *q, int fd)
{
	int old = __atomic_exchange_n(&q->callfd_pending, fd < 0 ? -2 : fd, __ATOMIC_ACQ_REL);

	if (old >= 0)
		close(old);
	if (!q->running)
		take_callfd(q);
	else {
		uint64_t one = 1;
		ssize_t w = write(q->stopfd, &one, sizeof(one));

		(void)w;
	}
}
