/*
 * The vhost-user-blk control side: the listening Unix socket, the one
 * front-end connection at a time (QEMU reconnects to the same path), and the
 * vhost-user messages that describe guest memory, the rings and their fds.
 * Each device has a thread that accepts and serves its connection; queue
 * threads (virtq.c) run while their ring is started and enabled. Whatever a
 * message changes that a running queue uses, the queue is stopped (its
 * requests drained) first and started again afterwards.
 *
 * A malformed message (wrong size, missing fds, indices out of range) ends the
 * connection with a log line naming the device and the message; the device
 * keeps listening, so the front-end can reconnect.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "vblk_internal.h"

#define MSG_FDS_MAX 8

struct msg_in {
	struct vhost_user_msg m;
	int fds[MSG_FDS_MAX];
	int n_fds;
};

void *vblk_gpa_to_host(struct ipdk_vblk *v, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < v->n_regions; i++) {
		const struct vblk_region *r = &v->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static void close_fds(struct msg_in *in)
{
	for (int i = 0; i < in->n_fds; i++)
		if (in->fds[i] >= 0)
			close(in->fds[i]);
	in->n_fds = 0;
}

/* ---- socket I/O ------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_msg(int fd, struct msg_in *in)
{
	char ctl[CMSG_SPACE(sizeof(int) * MSG_FDS_MAX)];
	struct iovec iov = { .iov_base = &in->m.hdr, .iov_len = sizeof(in->m.hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	ssize_t n;

	in->n_fds = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (int i = 0; i < k && in->n_fds < MSG_FDS_MAX; i++)
			memcpy(&in->fds[in->n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if ((size_t)n < sizeof(in->m.hdr) &&
	    read_full(fd, (uint8_t *)&in->m.hdr + n, sizeof(in->m.hdr) - (size_t)n))
		goto fail;
	if (in->m.hdr.size > sizeof(in->m.p)) {
		IPDK_LOG_WARN("vhost-user: message %u with a %u-byte payload (at most %zu)",
			      in->m.hdr.request, in->m.hdr.size, sizeof(in->m.p));
		goto fail;
	}
	if (read_full(fd, &in->m.p, in->m.hdr.size))
		goto fail;
	return 0;
fail:
	close_fds(in);
	return -EPROTO;
}

static int send_reply(struct ipdk_vblk *v, const struct vhost_user_msg *req, const void *payload,
		      uint32_t size, int fd)
{
	struct vhost_user_msg m;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m.hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	m.hdr.request = req->hdr.request;
	m.hdr.flags = VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY;
	m.hdr.size = size;
	memcpy(&m.p, payload, size);
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(v->conn_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -EIO;
}

static int reply_u64(struct ipdk_vblk *v, const struct vhost_user_msg *req, uint64_t val)
{
	return send_reply(v, req, &val, sizeof(val), -1);
}

/* ---- guest memory and the inflight region ----------------------------------------- */

static void unmap_memory(struct ipdk_vblk *v)
{
	for (unsigned int i = 0; i < v->n_regions; i++)
		munmap(v->regions[i].map, v->regions[i].map_len);
	v->n_regions = 0;
}

static void unmap_inflight(struct ipdk_vblk *v)
{
	if (v->inflight_map)
		munmap(v->inflight_map, v->inflight_len);
	v->inflight_map = NULL;
	v->inflight_len = 0;
}

static void stop_queues(struct ipdk_vblk *v, bool *was_running)
{
	for (unsigned int i = 0; i < v->num_queues; i++) {
		if (was_running)
			was_running[i] = v->q[i].running;
		vblk_queue_stop(&v->q[i]);
	}
}

static void start_queues(struct ipdk_vblk *v)
{
	for (unsigned int i = 0; i < v->num_queues; i++)
		vblk_queue_start(&v->q[i]);
}

static int set_mem_table(struct ipdk_vblk *v, struct msg_in *in)
{
	const struct vhost_user_mem *mem = &in->m.p.mem;
	struct vblk_region regions[VHOST_USER_MEM_REGIONS_MAX];
	unsigned int n = mem->nregions;

	if (in->m.hdr.size < offsetof(struct vhost_user_mem, regions) || n == 0 ||
	    n > VHOST_USER_MEM_REGIONS_MAX ||
	    in->m.hdr.size < offsetof(struct vhost_user_mem, regions) + n * sizeof(mem->regions[0]) ||
	    (unsigned int)in->n_fds != n) {
		IPDK_LOG_WARN("vblk %s: SET_MEM_TABLE with %u regions, %d fds and %u bytes",
			      v->name, n, in->n_fds, in->m.hdr.size);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct vhost_user_mem_region *m = &mem->regions[i];
		size_t len = m->memory_size + m->mmap_offset;
		void *p;

		if (!m->memory_size || len < m->memory_size) {
			p = MAP_FAILED;
			errno = EINVAL;
		} else {
			p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, in->fds[i], 0);
		}
		if (p == MAP_FAILED) {
			IPDK_LOG_WARN("vblk %s: mapping guest memory region %u (%llu bytes): %s",
				      v->name, i, (unsigned long long)m->memory_size, strerror(errno));
			while (i--)
				munmap(regions[i].map, regions[i].map_len);
			return -EINVAL;
		}
		regions[i] = (struct vblk_region){ .gpa = m->guest_phys_addr, .size = m->memory_size,
			.uva = m->userspace_addr, .host = (uint8_t *)p + m->mmap_offset,
			.map = p, .map_len = len };
	}
	close_fds(in);
	stop_queues(v, NULL);
	unmap_memory(v);
	memcpy(v->regions, regions, n * sizeof(regions[0]));
	v->n_regions = n;
	start_queues(v);
	return 0;
}

static int get_inflight_fd(struct ipdk_vblk *v, struct msg_in *in)
{
	struct vhost_user_inflight info = in->m.p.inflight;
	size_t qsize, len;
	int fd, rc;
	void *p;

	if (in->m.hdr.size < sizeof(info) || info.num_queues == 0 ||
	    info.num_queues > v->num_queues || info.queue_size == 0 ||
	    info.queue_size > VBLK_RING_MAX)
		return -EINVAL;
	qsize = vblk_inflight_qsize(info.queue_size);
	len = qsize * info.num_queues;
	fd = memfd_create("vblk-inflight", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	stop_queues(v, NULL);
	unmap_inflight(v);
	v->inflight_map = p;
	v->inflight_len = len;
	v->inflight_qsize = qsize;
	v->inflight_queues = info.num_queues;
	info.mmap_size = len;
	info.mmap_offset = 0;
	rc = send_reply(v, &in->m, &info, sizeof(info), fd);
	close(fd);
	start_queues(v);
	return rc;
}

static int set_inflight_fd(struct ipdk_vblk *v, struct msg_in *in)
{
	const struct vhost_user_inflight *info = &in->m.p.inflight;
	void *p;

	if (in->m.hdr.size < sizeof(*info) || in->n_fds != 1 || !info->mmap_size ||
	    !info->num_queues || !info->queue_size || info->queue_size > VBLK_RING_MAX ||
	    vblk_inflight_qsize(info->queue_size) * info->num_queues > info->mmap_size)
		return -EINVAL;
	p = mmap(NULL, info->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, in->fds[0],
		 (off_t)info->mmap_offset);
	if (p == MAP_FAILED)
		return -errno;
	close_fds(in);
	stop_queues(v, NULL);
	unmap_inflight(v);
	v->inflight_map = p;
	v->inflight_len = info->mmap_size;
	v->inflight_qsize = vblk_inflight_qsize(info->queue_size);
	v->inflight_queues = info->num_queues;
	start_queues(v);
	return 0;
}

/* ---- per-queue messages --------------------------------------------------------- */

static struct vblk_queue *msg_queue(struct ipdk_vblk *v, const struct msg_in *in, size_t need,
				    uint32_t index)
{
	if (in->m.hdr.size < need || (index & 0xff) >= v->num_queues) {
		IPDK_LOG_WARN("vblk %s: message %u for queue %u (the device has %u) or short (%u bytes)",
			      v->name, in->m.hdr.request, index & 0xff, v->num_queues,
			      in->m.hdr.size);
		return NULL;
	}
	return &v->q[index & 0xff];
}

/* SET_VRING_KICK/CALL/ERR: the fd comes with the message unless bit 8 says "none". */
static int vring_fd(struct ipdk_vblk *v, struct msg_in *in, struct vblk_queue **q, int *fd)
{
	uint64_t val = in->m.p.u64;

	*q = msg_queue(v, in, sizeof(uint64_t), (uint32_t)val);
	if (!*q)
		return -EINVAL;
	if (val & VHOST_USER_VRING_NOFD_MASK) {
		close_fds(in);
		*fd = -1;
		return 0;
	}
	if (in->n_fds != 1)
		return -EINVAL;
	*fd = in->fds[0];
	in->n_fds = 0;
	return 0;
}

static int queue_msg(struct ipdk_vblk *v, struct msg_in *in)
{
	struct vblk_queue *q;
	int fd, rc;

	switch (in->m.hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
		q = msg_queue(v, in, sizeof(in->m.p.state), in->m.p.state.index);
		if (!q || !in->m.p.state.num || in->m.p.state.num > VBLK_RING_MAX ||
		    (in->m.p.state.num & (in->m.p.state.num - 1)))
			return -EINVAL;
		vblk_queue_stop(q);
		q->size = in->m.p.state.num;
		return 0;
	case VHOST_USER_SET_VRING_ADDR:
		q = msg_queue(v, in, sizeof(in->m.p.addr), in->m.p.addr.index);
		if (!q)
			return -EINVAL;
		vblk_queue_stop(q);
		q->desc_uva = in->m.p.addr.desc_user_addr;
		q->avail_uva = in->m.p.addr.avail_user_addr;
		q->used_uva = in->m.p.addr.used_user_addr;
		q->addr_set = true;
		return vblk_queue_start(q);
	case VHOST_USER_SET_VRING_BASE:
		q = msg_queue(v, in, sizeof(in->m.p.state), in->m.p.state.index);
		if (!q)
			return -EINVAL;
		vblk_queue_stop(q);
		q->last_avail = (uint16_t)in->m.p.state.num;
		return 0;
	case VHOST_USER_GET_VRING_BASE: {
		struct vhost_user_vring_state st;

		q = msg_queue(v, in, sizeof(in->m.p.state), in->m.p.state.index);
		if (!q)
			return -EINVAL;
		vblk_queue_stop(q);
		q->kicked = false;
		st.index = q->idx;
		st.num = q->last_avail;
		return send_reply(v, &in->m, &st, sizeof(st), -1);
	}
	case VHOST_USER_SET_VRING_KICK:
		if (vring_fd(v, in, &q, &fd))
			return -EINVAL;
		vblk_queue_stop(q);
		if (q->kickfd >= 0)
			close(q->kickfd);
		q->kickfd = fd;
		q->kicked = true;
		return vblk_queue_start(q);
	case VHOST_USER_SET_VRING_CALL:
		if (vring_fd(v, in, &q, &fd))
			return -EINVAL;
		vblk_queue_set_callfd(q, fd);
		return 0;
	case VHOST_USER_SET_VRING_ERR:
		if (vring_fd(v, in, &q, &fd))
			return -EINVAL;
		if (fd >= 0)
			close(fd);
		return 0;
	case VHOST_USER_SET_VRING_ENABLE:
		q = msg_queue(v, in, sizeof(in->m.p.state), in->m.p.state.index);
		if (!q)
			return -EINVAL;
		q->enabled = in->m.p.state.num != 0;
		if (!q->enabled)
			vblk_queue_stop(q);
		rc = vblk_queue_start(q);
		return rc;
	}
	return -ENOTSUP;
}

/* ---- the connection ------------------------------------------------------------- */

static void reset_queue(struct vblk_queue *q)
{
	vblk_queue_stop(q);
	if (q->kickfd >= 0)
		close(q->kickfd);
	vblk_queue_set_callfd(q, -1);
	q->kickfd = -1;
	q->kicked = q->enabled = q->addr_set = false;
	q->size = 0;
	q->last_avail = 0;
}

static void reset_connection(struct ipdk_vblk *v)
{
	for (unsigned int i = 0; i < v->num_queues; i++)
		reset_queue(&v->q[i]);
	unmap_memory(v);
	unmap_inflight(v);
	v->acked_features = 0;
	v->acked_protocol = 0;
	v->protocol_negotiated = false;
}

/* Handles one message; returns 0, or -errno to close the connection. */
static int handle(struct ipdk_vblk *v, struct msg_in *in)
{
	struct vhost_user_msg *m = &in->m;
	uint32_t req = m->hdr.request;
	bool ack = (m->hdr.flags & VHOST_USER_FLAG_NEED_REPLY) &&
		   (v->acked_protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	int rc = 0;

	switch (req) {
	case VHOST_USER_GET_FEATURES:
		return reply_u64(v, m, v->features);
	case VHOST_USER_SET_FEATURES:
		if (m->hdr.size < 8 || (m->p.u64 & ~v->features)) {
			IPDK_LOG_WARN("vblk %s: front-end asks for features %#llx beyond %#llx",
				      v->name, (unsigned long long)m->p.u64,
				      (unsigned long long)v->features);
			rc = -EINVAL;
			break;
		}
		v->acked_features = m->p.u64;
		v->protocol_negotiated = m->p.u64 & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		return reply_u64(v, m, v->protocol_features);
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (m->hdr.size < 8) {
			rc = -EINVAL;
			break;
		}
		v->acked_protocol = m->p.u64 & v->protocol_features;
		/* with REPLY_ACK just agreed, this message is acked too */
		ack = (m->hdr.flags & VHOST_USER_FLAG_NEED_REPLY) &&
		      (v->acked_protocol & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		return reply_u64(v, m, v->num_queues);
	case VHOST_USER_SET_OWNER:
		break;
	case VHOST_USER_RESET_OWNER:
		reset_connection(v);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		rc = set_mem_table(v, in);
		break;
	case VHOST_USER_GET_CONFIG: {
		struct vhost_user_config c;

		if (m->hdr.size < offsetof(struct vhost_user_config, region) ||
		    m->p.config.size > sizeof(c.region) ||
		    m->p.config.offset > sizeof(v->config) ||
		    m->p.config.size > sizeof(v->config) - m->p.config.offset) {
			rc = -EINVAL;
			break;
		}
		c = m->p.config;
		memcpy(c.region, (const uint8_t *)&v->config + c.offset, c.size);
		return send_reply(v, m, &c, offsetof(struct vhost_user_config, region) + c.size, -1);
	}
	case VHOST_USER_SET_CONFIG:
		rc = -EPERM;   /* nothing in our config space is writable */
		break;
	case VHOST_USER_GET_INFLIGHT_FD:
		rc = get_inflight_fd(v, in);
		if (rc)
			IPDK_LOG_WARN("vblk %s: GET_INFLIGHT_FD: %s", v->name, strerror(-rc));
		return rc;
	case VHOST_USER_SET_INFLIGHT_FD:
		rc = set_inflight_fd(v, in);
		break;
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_ADDR:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
	case VHOST_USER_SET_VRING_ENABLE:
		rc = queue_msg(v, in);
		if (req == VHOST_USER_GET_VRING_BASE)
			return rc;
		/* a ring that cannot start (e.g. no channel) is logged, not fatal */
		if (rc != -EINVAL)
			rc = 0;
		break;
	default:
		IPDK_LOG_DEBUG("vblk %s: vhost-user message %u not supported", v->name, req);
		rc = -ENOTSUP;
		break;
	}
	close_fds(in);
	if (ack)
		return reply_u64(v, m, rc ? 1 : 0) ? -EIO : 0;
	/* without an ack to carry it, a refused message ends the connection */
	if (rc == -EINVAL)
		IPDK_LOG_WARN("vblk %s: malformed vhost-user message %u", v->name, req);
	return rc == -EINVAL ? rc : 0;
}

static void serve(struct ipdk_vblk *v)
{
	struct msg_in in;
	int rc;

	v->connections++;
	v->connected = true;
	IPDK_LOG_INFO("vblk %s: front-end connected on %s", v->name, v->path);
	for (;;) {
		struct pollfd p[2] = { { .fd = v->conn_fd, .events = POLLIN },
				       { .fd = v->stopfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (v->stopping)
			break;
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		rc = recv_msg(v->conn_fd, &in);
		if (rc) {
			if (rc != -ECONNRESET)
				IPDK_LOG_WARN("vblk %s: reading a vhost-user message: %s", v->name,
					      strerror(-rc));
			break;
		}
		rc = handle(v, &in);
		close_fds(&in);
		if (rc && rc != -ENOTSUP && rc != -EPERM) {
			IPDK_LOG_WARN("vblk %s: closing the connection after message %u: %s",
				      v->name, in.m.hdr.request, strerror(-rc));
			break;
		}
	}
	reset_connection(v);
	close(v->conn_fd);
	v->conn_fd = -1;
	v->connected = false;
	IPDK_LOG_INFO("vblk %s: front-end disconnected", v->name);
}

static void *control_thread(void *arg)
{
	struct ipdk_vblk *v = arg;

	while (!v->stopping) {
		struct pollfd p[2] = { { .fd = v->listen_fd, .events = POLLIN },
				       { .fd = v->stopfd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (v->stopping)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		v->conn_fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (v->conn_fd < 0)
			continue;
		serve(v);
	}
	return NULL;
}

/* ---- devices ------------------------------------------------------------------- */

static void fill_config(struct ipdk_vblk *v)
{
	struct virtio_blk_config *c = &v->config;
	const struct ipdk_blk_dev *d = v->bdev;
	uint32_t per_sector = d->block_size / VIRTIO_BLK_SECTOR;
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
		     (1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		     (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		     (1ull << VIRTIO_BLK_F_TOPOLOGY);

	memset(c, 0, sizeof(*c));
	c->capacity = d->num_blocks * per_sector;
	c->seg_max = v->seg_max;
	c->blk_size = d->block_size;
	c->min_io_size = 1;
	c->num_queues = (uint16_t)v->num_queues;
	c->writeback = 1;
	if (v->num_queues > 1)
		f |= 1ull << VIRTIO_BLK_F_MQ;
	if (v->read_only)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (!v->read_only && ipdk_blk_supports(d, IPDK_BLK_DISCARD)) {
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
		c->max_discard_sectors = UINT32_MAX / d->block_size * per_sector;
		c->max_discard_seg = 1;
		c->discard_sector_alignment = per_sector;
	}
	if (!v->read_only && ipdk_blk_supports(d, IPDK_BLK_WRITE_ZEROES)) {
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
		c->max_write_zeroes_sectors = UINT32_MAX / d->block_size * per_sector;
		c->max_write_zeroes_seg = 1;
		c->write_zeroes_may_unmap = 1;
	}
	v->features = f;
	v->protocol_features = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
			       (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			       (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
			       (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
}

static int listen_on(struct ipdk_vblk *v, struct ipdk_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->path);
	if (stat(v->path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return ipdk_err_set(err, -EEXIST, "vhost-user-blk %s: %s exists and is not a socket",
				    v->name, v->path);
	unlink(v->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ipdk_err_set(err, -errno, "vhost-user-blk %s: socket: %s", v->name,
				    strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int e = errno;

		close(fd);
		return ipdk_err_set(err, -e, "vhost-user-blk %s: listening on %s: %s", v->name,
				    v->path, strerror(e));
	}
	v->listen_fd = fd;
	return 0;
}

static int check_opts(const char *name, const struct ipdk_vblk_opts *o, struct ipdk_err *err)
{
	if (!name || !name[0] || strlen(name) >= sizeof(((struct ipdk_vblk *)0)->name))
		return ipdk_err_set(err, -EINVAL, "vhost-user-blk: a name of 1 to %zu characters "
				    "is required", sizeof(((struct ipdk_vblk *)0)->name) - 1);
	if (!o || !o->socket_path || o->socket_path[0] != '/' ||
	    strlen(o->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ipdk_err_set(err, -EINVAL, "vhost-user-blk %s: an absolute socket path of at "
				    "most 107 characters is required", name);
	if (o->num_queues > IPDK_VBLK_QUEUES_MAX)
		return ipdk_err_set(err, -EINVAL, "vhost-user-blk %s: %u queues (at most %d)", name,
				    o->num_queues, IPDK_VBLK_QUEUES_MAX);
	if (o->seg_max > VBLK_RING_MAX)
		return ipdk_err_set(err, -EINVAL, "vhost-user-blk %s: seg_max %u (at most %d)", name,
				    o->seg_max, VBLK_RING_MAX);
	if (o->serial && strlen(o->serial) > IPDK_VBLK_SERIAL_MAX)
		return ipdk_err_set(err, -EINVAL, "vhost-user-blk %s: serial '%s' is longer than %d "
				    "bytes", name, o->serial, IPDK_VBLK_SERIAL_MAX);
	return 0;
}

static int alloc_queues(struct ipdk_vblk *v, struct ipdk_err *err)
{
	v->seg_max = v->seg_max ? v->seg_max : 126;
	for (unsigned int i = 0; i < v->num_queues; i++) {
		struct vblk_queue *q = &v->q[i];

		q->v = v;
		q->idx = i;
		q->kickfd = q->callfd = q->callfd_pending = -1;
		q->iov_max = v->seg_max + 2;
		q->reqs = calloc(VBLK_RING_MAX, sizeof(*q->reqs));
		q->iovs = calloc((size_t)VBLK_RING_MAX * q->iov_max, sizeof(*q->iovs));
		q->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!q->reqs || !q->iovs || q->stopfd < 0)
			return ipdk_err_set(err, -ENOMEM, "vhost-user-blk %s: out of memory for "
					    "queue %u", v->name, i);
		for (unsigned int k = 0; k < VBLK_RING_MAX; k++) {
			q->reqs[k].q = q;
			q->reqs[k].iov = q->iovs + (size_t)k * q->iov_max;
		}
	}
	return 0;
}

static void free_device(struct ipdk_vblk *v)
{
	for (unsigned int i = 0; i < IPDK_VBLK_QUEUES_MAX; i++) {
		free(v->q[i].reqs);
		free(v->q[i].iovs);
		if (v->q[i].stopfd > 0)
			close(v->q[i].stopfd);
	}
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->stopfd >= 0)
		close(v->stopfd);
	if (v->bdev)
		ipdk_blk_put(v->bdev);
	free(v);
}

int ipdk_vblk_create(const char *name, const char *bdev_name, const struct ipdk_vblk_opts *o,
		     struct ipdk_vblk **out, struct ipdk_err *err)
{
	struct ipdk_vblk *v;
	int rc;

	rc = check_opts(name, o, err);
	if (rc)
		return rc;
	v = calloc(1, sizeof(*v));
	if (!v)
		return ipdk_err_set(err, -ENOMEM, "vhost-user-blk %s: out of memory", name);
	v->listen_fd = v->conn_fd = -1;
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->path, sizeof(v->path), "%s", o->socket_path);
	snprintf(v->serial, sizeof(v->serial), "%s", o->serial ? o->serial : name);
	v->num_queues = o->num_queues ? o->num_queues : 1;
	v->seg_max = o->seg_max;
	v->poll_ns = o->poll_us == -1u ? 0 : (o->poll_us ? o->poll_us : 50) * 1000u;
	v->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->stopfd < 0) {
		rc = ipdk_err_set(err, -errno, "vhost-user-blk %s: eventfd: %s", name,
				  strerror(errno));
		goto fail;
	}
	rc = ipdk_blk_open(bdev_name, &v->bdev, err);
	if (rc) {
		ipdk_err_prefix(err, "vhost-user-blk %s", name);
		goto fail;
	}
	if (v->bdev->block_size % VIRTIO_BLK_SECTOR) {
		rc = ipdk_err_set(err, -EINVAL, "vhost-user-blk %s: block device %s has %u-byte "
				  "blocks (a multiple of 512 is needed)", name, bdev_name,
				  v->bdev->block_size);
		goto fail;
	}
	v->read_only = o->read_only || v->bdev->read_only;
	rc = alloc_queues(v, err);
	if (rc)
		goto fail;
	fill_config(v);
	rc = listen_on(v, err);
	if (rc)
		goto fail;
	rc = -pthread_create(&v->thread, NULL, control_thread, v);
	if (rc) {
		ipdk_err_set(err, rc, "vhost-user-blk %s: cannot start a thread", name);
		unlink(v->path);
		goto fail;
	}
	IPDK_LOG_INFO("vblk %s: %s on %s, %u queues, %llu blocks of %u bytes%s", name, bdev_name,
		      v->path, v->num_queues, (unsigned long long)v->bdev->num_blocks,
		      v->bdev->block_size, v->read_only ? ", read-only" : "");
	*out = v;
	return 0;
fail:
	free_device(v);
	return rc;
}

void ipdk_vblk_destroy(struct ipdk_vblk *v)
{
	uint64_t one = 1;
	ssize_t w;

	if (!v)
		return;
	v->stopping = true;
	w = write(v->stopfd, &one, sizeof(one));
	(void)w;
	pthread_join(v->thread, NULL);
	unlink(v->path);
	IPDK_LOG_INFO("vblk %s: removed", v->name);
	free_device(v);
}

void ipdk_vblk_get_stats(struct ipdk_vblk *v, struct ipdk_vblk_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < v->num_queues; i++) {
		const struct vblk_queue *q = &v->q[i];

		st->reads += q->st.reads;
		st->writes += q->st.writes;
		st->flushes += q->st.flushes;
		st->discards += q->st.discards;
		st->write_zeroes += q->st.write_zeroes;
		st->get_ids += q->st.get_ids;
		st->errors += q->st.errors;
		st->read_bytes += q->st.read_bytes;
		st->write_bytes += q->st.write_bytes;
		st->resubmitted += q->st.resubmitted;
		st->queues_running += q->running;
		st->in_flight += q->running ? q->n_inflight : 0;
	}
	st->connections = v->connections;
	st->connected = v->connected;
}

const char *ipdk_vblk_name(const struct ipdk_vblk *v)
{
	return v->name;
}

const char *ipdk_vblk_socket_path(const struct ipdk_vblk *v)
{
	return v->path;
}
