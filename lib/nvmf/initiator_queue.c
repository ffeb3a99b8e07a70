/*
 * One NVMe/TCP I/O queue of the initiator, driven by the thread that owns it
 * (a lib/blk channel of the nvme-tcp backend): block I/Os become Read, Write,
 * Flush, Write Zeroes and Dataset Management commands (split when larger
 * than the controller takes), write data goes in the capsule when it fits
 * and in H2CData PDUs when the controller sends R2T, read data arrives in
 * C2HData PDUs straight into the caller's buffers when large, through a
 * staging buffer when small. Digests are checked and generated as ICResp
 * agreed.
 *
 * The socket is non-blocking: sends that do not fit wait in a ring of PDUs
 * (header buffers live in the command slots, data is sent from the caller's
 * iovecs), and receiving is a state machine over the byte stream. Nothing is
 * allocated per I/O: command slots, the send ring and the staging buffer are
 * allocated with the queue.
 *
 * When the connection fails (socket error, malformed PDU, TermReq) the queue
 * closes its socket, keeps every command it had and tells the controller;
 * when the controller hands it a new connection it sends them all again.
 * Commands are held, not failed, until the controller fails (after the
 * ctrl-loss timeout, or at once when its owner gives up on it: then with the
 * status it asked for).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "initiator.h"

#define RBUF_LEN 65536
#define TX_IOV_MAX (IOV_MAX + 8)   /* the largest I/O's data plus its PDU pieces */
#define CMD_NLB_MAX 65536u           /* NLB is 16 bits, 0's based */
#define RETRIES_MAX 3
#define RESENDS_MAX 5                /* reconnections a command rides out */

enum { TX_CMD, TX_H2C };
enum { RX_HDR, RX_PAD, RX_DATA, RX_DDGST };

struct nvmf_req {
	struct ipdk_blk_io *io;
	struct nvmf_req *head;       /* first command of the block I/O */
	unsigned int pending;        /* head: commands of the I/O not finished */
	int status;                  /* head: first error */
	uint16_t cid;
	uint8_t opc;
	bool busy, in_capsule, queued, cmd_out, resp_seen, doomed;
	uint64_t slba;
	uint32_t nlb;
	size_t off;                  /* where this command's data starts in io's buffers */
	uint32_t len;                /* data bytes (16 for a DSM range) */
	uint32_t rcvd;               /* C2H bytes arrived */
	uint32_t r2t_off, r2t_left;  /* data the controller asked for, not yet queued */
	uint16_t ttag;
	uint32_t h2c_len;            /* payload of the H2CData PDU in the ring */
	int resp_status;
	unsigned int retries;        /* path errors the controller asked us to retry */
	unsigned int resends;        /* reconnections it went through */
	struct nvmf_pdu_layout cl, hl;
	uint8_t cmd[PDU_CMD_HLEN + DGST_LEN];
	uint8_t h2c[PDU_DATA_HLEN + DGST_LEN];
	uint8_t cmd_dd[DGST_LEN], h2c_dd[DGST_LEN];
	uint8_t dsm[16];
	struct iovec dsm_iov;
};

struct tx_ent {
	struct nvmf_req *req;
	int kind;
	size_t len;                  /* bytes on the wire */
};

struct nvmf_qpair {
	struct ipdk_nvmf_host *h;
	uint16_t qid;
	uint32_t nsid, bs;
	nvmf_qpair_done_fn done;
	void *ctx;
	int epfd, evfd;
	atomic_int event;            /* the controller has news for us */
	bool failed;

	/* the connection, and the one the controller handed over */
	struct nvmf_link link;
	unsigned int gen;
	struct nvmf_link next;
	unsigned int next_gen;
	bool want_out;

	/* command slots */
	struct nvmf_req *reqs;
	unsigned int n_reqs;
	uint16_t *free_ids;
	unsigned int n_free;
	uint32_t chunk_bytes;        /* data bytes per read/write command */
	struct ipdk_blk_io *pend_head, *pend_tail;   /* waiting for slots */
	unsigned long completed;     /* block I/Os finished */

	/* sending */
	struct tx_ent *tx;
	unsigned int tx_cap, tx_head, tx_n;
	size_t tx_sent;              /* bytes of the first entry already sent */
	struct iovec *iov;

	/* receiving */
	uint8_t *rbuf;
	size_t rpos, rlen;
	int rx_state;
	uint8_t rh[PDU_TERM_MAX + DGST_LEN];
	struct nvmf_req *rx_req;
	uint32_t rx_pad, rx_left, rx_off, rx_crc;
	bool rx_dd;
};

/* ---- helpers ------------------------------------------------------------------------ */

static void data_src(struct nvmf_req *r, const struct iovec **iov, int *cnt, size_t *base)
{
	if (r->opc == NVM_DSM) {
		*iov = &r->dsm_iov;
		*cnt = 1;
		*base = 0;
	} else {
		*iov = r->io->iov;
		*cnt = r->io->iovcnt;
		*base = r->off;
	}
}

struct iov_out {
	struct iovec *v;
	int n, max;
	bool cut;
};

static void iov_piece(void *arg, uint8_t *p, size_t n)
{
	struct iov_out *o = arg;

	if (o->n < o->max)
		o->v[o->n++] = (struct iovec){ p, n };
	else
		o->cut = true;
}

/* Appends the iovecs covering [off, off + len) of src to out (at most max); returns
 * how many, and whether some did not fit in *cut. */
static int iov_sub(const struct iovec *src, int cnt, size_t off, size_t len, struct iovec *out,
		   int max, bool *cut)
{
	struct iov_out o = { out, 0, max, false };

	nvmf_iov_walk(src, cnt, off, len, iov_piece, &o);
	*cut = o.cut;
	return o.n;
}

static void copy_piece(void *arg, uint8_t *p, size_t n)
{
	const uint8_t **src = arg;

	memcpy(p, *src, n);
	*src += n;
}

static void wake_self(struct nvmf_qpair *q)
{
	uint64_t one = 1;

	if (write(q->evfd, &one, sizeof(one)) < 0)
		IPDK_LOG_DEBUG("nvmf host: eventfd: %s", strerror(errno));
}

/* ---- the connection ---------------------------------------------------------------- */

static void epoll_out(struct nvmf_qpair *q, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = q->link.fd };

	if (q->want_out == on || q->link.fd < 0)
		return;
	q->want_out = on;
	epoll_ctl(q->epfd, EPOLL_CTL_MOD, q->link.fd, &ev);
}

/* Closes the socket and forgets what was in flight on it; the commands stay. */
static void link_drop(struct nvmf_qpair *q)
{
	if (q->link.fd < 0)
		return;
	epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->link.fd, NULL);
	close(q->link.fd);
	q->link.fd = -1;
	q->want_out = false;
	q->tx_head = q->tx_n = 0;
	q->tx_sent = 0;
	q->rpos = q->rlen = 0;
	q->rx_state = RX_HDR;
	q->rx_req = NULL;
	for (unsigned int i = 0; i < q->n_reqs; i++) {
		struct nvmf_req *r = &q->reqs[i];

		r->queued = r->cmd_out = r->resp_seen = false;
		r->r2t_left = 0;
		r->rcvd = 0;
	}
}

/* The connection failed: drop it, hold the commands, let the controller reconnect. */
static int link_fail(struct nvmf_qpair *q, struct ipdk_err *err)
{
	IPDK_LOG_WARN("nvmf host: %s", err->msg);
	link_drop(q);
	nvmf_host_queue_lost(q->h, q->gen, err);
	return -ENOTCONN;
}

static int link_fail_msg(struct nvmf_qpair *q, int code, const char *why)
{
	struct ipdk_err err;

	ipdk_err_set(&err, code, "NVMe/TCP target %s: I/O queue %u: %s", q->h->peer, q->qid, why);
	return link_fail(q, &err);
}

/* A malformed PDU on our socket: H2CTermReq, then the connection goes. */
static int rx_malformed(struct nvmf_qpair *q, uint16_t fes, uint32_t fei, const char *why)
{
	struct ipdk_err err;

	nvmf_host_term(q->link.fd, fes, fei, q->rh, q->rh[2] > 128 ? PDU_CH_LEN : q->rh[2]);
	ipdk_err_set(&err, -EPROTO, "NVMe/TCP target %s: malformed PDU (type 0x%02x) on I/O queue %u: %s",
		     q->h->peer, q->rh[0], q->qid, why);
	return link_fail(q, &err);
}

/* ---- sending ----------------------------------------------------------------------------- */

static int tx_push(struct nvmf_qpair *q, struct nvmf_req *r, int kind, size_t len)
{
	struct tx_ent *e;

	if (q->tx_n == q->tx_cap)
		return -ENOSPC;   /* cannot happen: two entries per slot at most */
	e = &q->tx[(q->tx_head + q->tx_n++) % q->tx_cap];
	e->req = r;
	e->kind = kind;
	e->len = len;
	return 0;
}

/* Queues the command PDU of r (with in-capsule data when it has some). */
static void req_send_cmd(struct nvmf_qpair *q, struct nvmf_req *r)
{
	uint8_t *pdu = r->cmd, *sqe = r->cmd + PDU_CH_LEN;
	const struct iovec *iov;
	size_t base;
	int cnt;
	uint32_t dlen;

	r->in_capsule = (r->opc == NVM_WRITE || r->opc == NVM_DSM) &&
			r->len <= q->h->info.in_capsule;
	dlen = r->in_capsule ? r->len : 0;
	memset(sqe, 0, SQE_LEN);
	sqe[SQE_OPC] = r->opc;
	sqe[SQE_FLAGS] = 0x40;
	put16(sqe + SQE_CID, r->cid);
	put32(sqe + SQE_NSID, q->nsid);
	put32(sqe + SQE_SGL + 8, r->opc == NVM_FLUSH || r->opc == NVM_WRITE_ZEROES ? 0 : r->len);
	sqe[SQE_SGL + 15] = r->in_capsule ? SGL_TYPE_DATA_OFFSET : SGL_TYPE_TRANSPORT;
	if (r->opc == NVM_DSM) {
		put32(sqe + SQE_CDW10, 0);            /* one range */
		put32(sqe + SQE_CDW11, 0x4);          /* deallocate */
	} else if (r->opc != NVM_FLUSH) {
		put64(sqe + SQE_CDW10, r->slba);
		put32(sqe + SQE_CDW12, r->nlb - 1);
	}
	nvmf_pdu_frame(pdu, PDU_CMD, 0, PDU_CMD_HLEN, dlen, q->link.hd, q->link.dd, q->link.cpda,
		       pdu + PDU_CMD_HLEN, &r->cl);
	if (r->cl.dd) {
		data_src(r, &iov, &cnt, &base);
		put32(r->cmd_dd, crc32c_final(nvmf_crc32c_iov(CRC32C_INIT, iov, cnt, base, dlen)));
	}
	r->queued = true;
	r->cmd_out = false;
	tx_push(q, r, TX_CMD, r->cl.plen);
}

/* Queues the next H2CData PDU of the transfer the controller asked for. */
static void req_send_h2c(struct nvmf_qpair *q, struct nvmf_req *r)
{
	uint32_t n = r->r2t_left < q->link.maxh2c ? r->r2t_left : q->link.maxh2c;
	const struct iovec *iov;
	size_t base;
	int cnt;

	memset(r->h2c, 0, PDU_DATA_HLEN);
	put16(r->h2c + DATA_CCCID, r->cid);
	put16(r->h2c + DATA_TTAG, r->ttag);
	put32(r->h2c + DATA_OFFSET, r->r2t_off);
	put32(r->h2c + DATA_LEN, n);
	nvmf_pdu_frame(r->h2c, PDU_H2C_DATA, n == r->r2t_left ? PDU_F_LAST : 0, PDU_DATA_HLEN, n,
		       q->link.hd, q->link.dd, q->link.cpda, r->h2c + PDU_DATA_HLEN, &r->hl);
	if (r->hl.dd) {
		data_src(r, &iov, &cnt, &base);
		put32(r->h2c_dd, crc32c_final(nvmf_crc32c_iov(CRC32C_INIT, iov, cnt,
							      base + r->r2t_off, n)));
	}
	r->h2c_len = n;
	r->queued = true;
	tx_push(q, r, TX_H2C, r->hl.plen);
}

/* The iovecs of one ring entry. */
static int tx_iov(struct tx_ent *e, struct iovec *out, int max)
{
	struct nvmf_req *r = e->req;
	const struct nvmf_pdu_layout *l = e->kind == TX_CMD ? &r->cl : &r->hl;
	uint8_t *hdr = e->kind == TX_CMD ? r->cmd : r->h2c;
	uint32_t hlen = e->kind == TX_CMD ? PDU_CMD_HLEN : PDU_DATA_HLEN;
	uint32_t dlen = e->kind == TX_CMD ? (r->in_capsule ? r->len : 0) : r->h2c_len;
	size_t off = e->kind == TX_CMD ? 0 : r->r2t_off;
	const struct iovec *iov;
	size_t base;
	int cnt, n = 0;
	bool cut;

	if (max < 4)
		return 0;
	out[n++] = (struct iovec){ hdr, hlen + (l->hd ? DGST_LEN : 0) };
	if (!dlen)
		return n;
	if (l->pad)
		out[n++] = (struct iovec){ (void *)nvmf_zeros, l->pad };
	data_src(r, &iov, &cnt, &base);
	n += iov_sub(iov, cnt, base + off, dlen, out + n, max - n - 1, &cut);
	if (cut)
		return 0;   /* does not fit in this batch */
	if (l->dd)
		out[n++] = (struct iovec){ e->kind == TX_CMD ? r->cmd_dd : r->h2c_dd, DGST_LEN };
	return n;
}

static void tx_sent_entry(struct nvmf_qpair *q, struct tx_ent *e);

/* Sends what the ring holds until the socket is full; -ENOTCONN when the link failed. */
static int tx_flush(struct nvmf_qpair *q)
{
	while (q->tx_n && q->link.fd >= 0) {
		struct msghdr m = { .msg_iov = q->iov };
		size_t skip = q->tx_sent;
		unsigned int k;
		int n = 0;
		ssize_t w;

		for (k = 0; k < q->tx_n && k < 64; k++) {
			int got = tx_iov(&q->tx[(q->tx_head + k) % q->tx_cap], q->iov + n,
					 TX_IOV_MAX - n);

			if (got == 0)
				break;
			n += got;
		}
		/* skip what went out already of the first entry */
		while (skip) {
			struct iovec *v = &q->iov[m.msg_iovlen];

			if (skip >= v->iov_len) {
				skip -= v->iov_len;
				m.msg_iovlen++;
				continue;
			}
			v->iov_base = (uint8_t *)v->iov_base + skip;
			v->iov_len -= skip;
			skip = 0;
		}
		m.msg_iov = q->iov + m.msg_iovlen;
		m.msg_iovlen = (size_t)n - m.msg_iovlen;
		if (m.msg_iovlen > IOV_MAX)
			m.msg_iovlen = IOV_MAX;   /* the rest goes in the next round */
		w = sendmsg(q->link.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				epoll_out(q, true);
				return 0;
			}
			return link_fail_msg(q, -errno, strerror(errno));
		}
		while (w > 0) {
			struct tx_ent *e = &q->tx[q->tx_head];
			size_t rest = e->len - q->tx_sent;

			if ((size_t)w < rest) {
				q->tx_sent += (size_t)w;
				break;
			}
			w -= (ssize_t)rest;
			q->tx_sent = 0;
			q->tx_head = (q->tx_head + 1) % q->tx_cap;
			q->tx_n--;
			tx_sent_entry(q, e);
		}
	}
	epoll_out(q, false);
	return 0;
}

/* ---- completions --------------------------------------------------------------------- */

static void req_free(struct nvmf_qpair *q, struct nvmf_req *r)
{
	r->busy = false;
	r->io = NULL;
	q->free_ids[q->n_free++] = r->cid;
}

/* One command finished; the block I/O completes with its last command. */
static void req_done(struct nvmf_qpair *q, struct nvmf_req *r, int status)
{
	struct nvmf_req *h = r->head;
	struct ipdk_blk_io *io = r->io;

	if (status && !h->status)
		h->status = status;
	if (r != h)
		req_free(q, r);
	if (--h->pending)
		return;
	status = h->status;
	req_free(q, h);
	q->completed++;
	q->done(q->ctx, io, status);
}

static void tx_sent_entry(struct nvmf_qpair *q, struct tx_ent *e)
{
	struct nvmf_req *r = e->req;

	r->queued = false;
	if (e->kind != TX_H2C) {
		r->cmd_out = true;
		return;
	}
	r->r2t_off += r->h2c_len;
	r->r2t_left -= r->h2c_len;
	if (r->resp_seen) {
		r->r2t_left = 0;
		req_done(q, r, r->resp_status);
	} else if (r->r2t_left) {
		req_send_h2c(q, r);
	}
}

static int nvme_errno(uint16_t sct, uint16_t sc)
{
	if (sct == 0 && sc == SC_LBA_RANGE)
		return -ERANGE;
	if (sct == 0 && (sc == SC_INVALID_OPCODE || sc == SC_INVALID_FIELD))
		return -ENOTSUP;
	if (sct == 1 && sc == SC_WRITE_READ_ONLY)
		return -EPERM;
	return -EIO;
}

/* ---- receiving ----------------------------------------------------------------------- */

/* Makes at least need bytes available in rbuf; 1 when they are, 0 to wait, <0 on failure. */
static int rx_fill(struct nvmf_qpair *q, size_t need)
{
	ssize_t r;

	while (q->rlen - q->rpos < need) {
		if (q->rpos) {
			memmove(q->rbuf, q->rbuf + q->rpos, q->rlen - q->rpos);
			q->rlen -= q->rpos;
			q->rpos = 0;
		}
		r = recv(q->link.fd, q->rbuf + q->rlen, RBUF_LEN - q->rlen, MSG_DONTWAIT);
		if (r == 0)
			return link_fail_msg(q, -ECONNRESET, "the target closed the connection");
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return link_fail_msg(q, -errno, strerror(errno));
		}
		q->rlen += (size_t)r;
	}
	return 1;
}

/* The command a PDU names, if it is one the controller has seen. */
static struct nvmf_req *req_by_cid(struct nvmf_qpair *q, uint16_t cid)
{
	if (cid >= q->n_reqs || !q->reqs[cid].busy || !q->reqs[cid].cmd_out)
		return NULL;
	return &q->reqs[cid];
}

static int rx_resp(struct nvmf_qpair *q)
{
	const uint8_t *cqe = q->rh + PDU_CH_LEN;
	uint16_t sf = get16(cqe + CQE_STATUS), sct = (sf >> 9) & 7, sc = (sf >> 1) & 0xff;
	struct nvmf_req *r = req_by_cid(q, get16(cqe + CQE_CID));
	int status = 0;

	if (!r)
		return rx_malformed(q, FES_INVALID_HEADER, PDU_CH_LEN + CQE_CID,
				    "response for no command in flight");
	if (sct || sc) {
		if (sct == 3 && !(sf & 0x8000) && r->retries < RETRIES_MAX && !r->queued) {
			/* a path error the controller says may go away: send it again */
			r->retries++;
			r->rcvd = 0;
			req_send_cmd(q, r);
			return 0;
		}
		status = nvme_errno(sct, sc);
		IPDK_LOG_DEBUG("nvmf host: queue %u: command 0x%02x failed, status 0x%x", q->qid,
			       r->opc, sct << 8 | sc);
	} else if (r->opc == NVM_READ && r->rcvd != r->len) {
		status = -EIO;
	}
	if (r->queued) {
		/* H2CData still going out: finish once it has */
		r->resp_seen = true;
		r->resp_status = status;
		return 0;
	}
	req_done(q, r, status);
	return 0;
}

static int rx_r2t(struct nvmf_qpair *q)
{
	const uint8_t *h = q->rh;
	uint16_t cid = get16(h + DATA_CCCID);
	uint32_t off = get32(h + DATA_OFFSET), len = get32(h + DATA_LEN);
	struct nvmf_req *r = req_by_cid(q, cid);

	if (!r || (r->opc != NVM_WRITE && r->opc != NVM_DSM) || r->in_capsule ||
	    r->r2t_left || r->queued)
		return rx_malformed(q, FES_INVALID_HEADER, DATA_CCCID, "R2T for no transfer of ours");
	if (len == 0 || off > r->len || len > r->len - off)
		return rx_malformed(q, FES_DATA_RANGE, DATA_OFFSET, "R2T outside the command's data");
	r->ttag = get16(h + DATA_TTAG);
	r->r2t_off = off;
	r->r2t_left = len;
	req_send_h2c(q, r);
	return 0;
}

static int rx_c2h(struct nvmf_qpair *q, uint32_t hd)
{
	const uint8_t *h = q->rh;
	uint16_t cid = get16(h + DATA_CCCID);
	uint32_t off = get32(h + DATA_OFFSET), len = get32(h + DATA_LEN);
	uint32_t pdo = h[3], plen = get32(h + 4);
	struct nvmf_req *r = req_by_cid(q, cid);

	q->rx_dd = h[1] & PDU_F_DDGST;
	if (!r || r->opc != NVM_READ)
		return rx_malformed(q, FES_INVALID_HEADER, DATA_CCCID, "C2HData for no read of ours");
	if (off != r->rcvd || len == 0 || len > r->len - off)
		return rx_malformed(q, FES_DATA_RANGE, DATA_OFFSET, "C2HData outside the read");
	if (q->link.dd != q->rx_dd)
		return rx_malformed(q, FES_INVALID_HEADER, 1, "data digest flag wrong");
	if (pdo < PDU_DATA_HLEN + hd || pdo > PDU_DATA_HLEN + hd + 255 ||
	    plen != pdo + len + (q->rx_dd ? DGST_LEN : 0))
		return rx_malformed(q, FES_INVALID_HEADER, 3, "C2HData offsets do not add up");
	if ((h[1] & PDU_F_SUCCESS) && !(h[1] & PDU_F_LAST))
		return rx_malformed(q, FES_INVALID_HEADER, 1, "SUCCESS without LAST");
	q->rx_req = r;
	q->rx_pad = pdo - PDU_DATA_HLEN - hd;
	q->rx_off = off;
	q->rx_left = len;
	q->rx_crc = CRC32C_INIT;
	q->rx_state = RX_PAD;
	return 0;
}

/* The end of a C2HData PDU. */
static void rx_c2h_end(struct nvmf_qpair *q, unsigned int *n)
{
	struct nvmf_req *r = q->rx_req;
	uint32_t len = get32(q->rh + DATA_LEN);

	r->rcvd += len;
	q->rx_state = RX_HDR;
	q->rx_req = NULL;
	if ((q->rh[1] & PDU_F_SUCCESS) && r->rcvd == r->len) {
		unsigned long before = q->completed;

		req_done(q, r, 0);
		*n += (unsigned int)(q->completed - before);
	}
}

/* Reads and handles what the socket holds; stops after max completions. */
static int rx_run(struct nvmf_qpair *q, unsigned int max, unsigned int *n)
{
	int rc;

	while (q->link.fd >= 0 && *n < max) {
		switch (q->rx_state) {
		case RX_HDR: {
			uint8_t type, hlen;
			uint32_t plen, hd;

			rc = rx_fill(q, PDU_CH_LEN);
			if (rc <= 0)
				return rc;
			memcpy(q->rh, q->rbuf + q->rpos, PDU_CH_LEN);
			type = q->rh[0];
			hlen = q->rh[2];
			plen = get32(q->rh + 4);
			if (type != PDU_RESP && type != PDU_C2H_DATA && type != PDU_R2T &&
			    type != PDU_C2H_TERM)
				return rx_malformed(q, FES_INVALID_HEADER, 0,
						    "PDU type not expected on an I/O queue");
			if (hlen != nvmf_pdu_hlen(type))
				return rx_malformed(q, FES_INVALID_HEADER, 2,
						    "header length wrong for the PDU type");
			hd = q->link.hd && type != PDU_C2H_TERM ? DGST_LEN : 0;
			if (hd && !(q->rh[1] & PDU_F_HDGST))
				return rx_malformed(q, FES_INVALID_HEADER, 1, "header digest missing");
			if (plen < hlen + hd || (type != PDU_C2H_DATA && type != PDU_C2H_TERM &&
						 plen != hlen + hd))
				return rx_malformed(q, FES_INVALID_HEADER, 4, "PDU length wrong");
			rc = rx_fill(q, hlen + hd);
			if (rc <= 0)
				return rc;
			memcpy(q->rh, q->rbuf + q->rpos, hlen + hd);
			q->rpos += hlen + hd;
			if (type == PDU_C2H_TERM) {
				struct ipdk_err err;

				ipdk_err_set(&err, -ECONNABORTED,
					     "NVMe/TCP target %s: terminated I/O queue %u (C2HTermReq: %s, field offset %u)",
					     q->h->peer, q->qid, nvmf_fes_name(get16(q->rh + TERM_FES)),
					     get32(q->rh + TERM_FEI));
				return link_fail(q, &err);
			}
			if (hd && !nvmf_hdgst_ok(q->rh, hlen))
				return rx_malformed(q, FES_HDGST, 0, "header digest mismatch");
			if (type == PDU_RESP) {
				unsigned long before = q->completed;

				rc = rx_resp(q);
				*n += (unsigned int)(q->completed - before);
			} else if (type == PDU_R2T) {
				rc = rx_r2t(q);
			} else {
				rc = rx_c2h(q, hd);
			}
			if (rc)
				return rc;
			break;
		}
		case RX_PAD: {
			size_t k = q->rlen - q->rpos;

			if (!q->rx_pad) {
				q->rx_state = RX_DATA;
				break;
			}
			if (!k && (rc = rx_fill(q, 1)) <= 0)
				return rc;
			k = q->rlen - q->rpos;
			k = k < q->rx_pad ? k : q->rx_pad;
			q->rpos += k;
			q->rx_pad -= (uint32_t)k;
			break;
		}
		case RX_DATA: {
			struct nvmf_req *r = q->rx_req;
			size_t k = q->rlen - q->rpos;
			size_t at = r->off + q->rx_off;

			if (!q->rx_left) {
				q->rx_state = RX_DDGST;
				break;
			}
			if (k) {
				k = k < q->rx_left ? k : q->rx_left;
				{
					const uint8_t *src = q->rbuf + q->rpos;

					nvmf_iov_walk(r->io->iov, r->io->iovcnt, at, k, copy_piece, &src);
				}
				q->rpos += k;
			} else if (q->rx_left >= 4096) {
				/* a big piece: straight into the caller's buffers */
				struct iovec v[64];
				bool cut;
				int cnt = iov_sub(r->io->iov, r->io->iovcnt, at, q->rx_left, v, 64, &cut);
				ssize_t got = readv(q->link.fd, v, cnt);

				if (got == 0)
					return link_fail_msg(q, -ECONNRESET,
							     "the target closed the connection");
				if (got < 0) {
					if (errno == EAGAIN)
						return 0;
					if (errno == EINTR)
						break;
					return link_fail_msg(q, -errno, strerror(errno));
				}
				k = (size_t)got;
			} else {
				if ((rc = rx_fill(q, 1)) <= 0)
					return rc;
				break;
			}
			if (q->rx_dd)
				q->rx_crc = nvmf_crc32c_iov(q->rx_crc, r->io->iov, r->io->iovcnt, at, k);
			q->rx_off += (uint32_t)k;
			q->rx_left -= (uint32_t)k;
			break;
		}
		case RX_DDGST:
			if (q->rx_dd) {
				rc = rx_fill(q, DGST_LEN);
				if (rc <= 0)
					return rc;
				if (get32(q->rbuf + q->rpos) != crc32c_final(q->rx_crc))
					return rx_malformed(q, FES_HDGST, 0, "C2HData data digest mismatch");
				q->rpos += DGST_LEN;
			}
			rx_c2h_end(q, n);
			break;
		}
	}
	return 0;
}

/* ---- slots and dispatch ------------------------------------------------------------- */

static unsigned int io_cmds(const struct nvmf_qpair *q, const struct ipdk_blk_io *io)
{
	uint64_t per;

	switch (io->op) {
	case IPDK_BLK_READ:
	case IPDK_BLK_WRITE:
		per = q->chunk_bytes / q->bs;
		break;
	case IPDK_BLK_FLUSH:
		return 1;
	default:
		per = CMD_NLB_MAX;
	}
	return (unsigned int)((io->num_blocks + per - 1) / per);
}

/* Takes slots for one block I/O and queues its commands (if connected). */
static void io_start(struct nvmf_qpair *q, struct ipdk_blk_io *io, unsigned int k)
{
	uint64_t per = io->op == IPDK_BLK_READ || io->op == IPDK_BLK_WRITE
		       ? q->chunk_bytes / q->bs : CMD_NLB_MAX;
	static const uint8_t opcs[IPDK_BLK_OP_MAX] = {
		[IPDK_BLK_READ] = NVM_READ, [IPDK_BLK_WRITE] = NVM_WRITE,
		[IPDK_BLK_FLUSH] = NVM_FLUSH, [IPDK_BLK_WRITE_ZEROES] = NVM_WRITE_ZEROES,
		[IPDK_BLK_DISCARD] = NVM_DSM,
	};
	struct nvmf_req *head = NULL;

	for (unsigned int i = 0; i < k; i++) {
		struct nvmf_req *r = &q->reqs[q->free_ids[--q->n_free]];
		uint64_t first = i * per;
		uint64_t nlb = io->num_blocks - first < per ? io->num_blocks - first : per;

		if (!head) {
			head = r;
			head->pending = k;
			head->status = 0;
		}
		r->head = head;
		r->io = io;
		r->busy = true;
		r->opc = opcs[io->op];
		r->slba = io->offset_blocks + first;
		r->nlb = (uint32_t)nlb;
		r->off = first * q->bs;
		r->len = 0;
		r->rcvd = 0;
		r->r2t_left = 0;
		r->retries = r->resends = 0;
		r->queued = r->resp_seen = r->doomed = false;
		if (io->op == IPDK_BLK_READ || io->op == IPDK_BLK_WRITE) {
			r->len = (uint32_t)(nlb * q->bs);
		} else if (io->op == IPDK_BLK_DISCARD) {
			memset(r->dsm, 0, sizeof(r->dsm));
			put32(r->dsm + 4, (uint32_t)nlb);
			put64(r->dsm + 8, r->slba);
			r->dsm_iov = (struct iovec){ r->dsm, sizeof(r->dsm) };
			r->len = sizeof(r->dsm);
		}
		if (q->link.fd >= 0)
			req_send_cmd(q, r);
	}
}

static void dispatch(struct nvmf_qpair *q)
{
	while (q->pend_head) {
		struct ipdk_blk_io *io = q->pend_head;
		unsigned int k = io_cmds(q, io);

		if (k > q->n_free)
			return;
		q->pend_head = io->next;
		if (!q->pend_head)
			q->pend_tail = NULL;
		io_start(q, io, k);
	}
}

/* ---- the controller's news --------------------------------------------------------------- */

/* Completes every command and waiting I/O with status (-EIO, or -ECANCELED when given up
 * for a stop). */
static void fail_all(struct nvmf_qpair *q, int status)
{
	for (unsigned int i = 0; i < q->n_reqs; i++)
		if (q->reqs[i].busy && q->reqs[i].head != &q->reqs[i])
			req_done(q, &q->reqs[i], status);
	for (unsigned int i = 0; i < q->n_reqs; i++)
		if (q->reqs[i].busy)
			req_done(q, &q->reqs[i], status);
	while (q->pend_head) {
		struct ipdk_blk_io *io = q->pend_head;

		q->pend_head = io->next;
		q->done(q->ctx, io, status);
	}
	q->pend_tail = NULL;
}

static void adopt(struct nvmf_qpair *q, const struct nvmf_link *l, unsigned int gen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l->fd };

	q->link = *l;
	q->gen = gen;
	q->want_out = false;
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
	epoll_ctl(q->epfd, EPOLL_CTL_ADD, l->fd, &ev);
	/* everything we held goes again, unless it keeps breaking the connection */
	for (unsigned int i = 0; i < q->n_reqs; i++) {
		struct nvmf_req *r = &q->reqs[i];

		r->doomed = r->busy && ++r->resends > RESENDS_MAX;
		if (r->busy && !r->doomed)
			req_send_cmd(q, r);
	}
	/* then fail the others (their callbacks may start new I/O) */
	for (unsigned int i = 0; i < q->n_reqs; i++) {
		struct nvmf_req *r = &q->reqs[i];

		if (!r->doomed)
			continue;
		r->doomed = false;
		IPDK_LOG_WARN("nvmf host: queue %u: command 0x%02x failed: it went through %u lost connections",
			      q->qid, r->opc, RESENDS_MAX);
		req_done(q, r, -EIO);
	}
}

/* Looks at what the controller told us: a new generation (drop our link), a new link,
 * or failure. */
static void check_events(struct nvmf_qpair *q)
{
	struct ipdk_nvmf_host *h = q->h;
	struct nvmf_link l = { .fd = -1 };
	unsigned int gen;
	int state, fail_status;

	if (!atomic_exchange(&q->event, 0))
		return;
	pthread_mutex_lock(&h->lock);
	gen = atomic_load(&h->gen);
	state = atomic_load(&h->state);
	fail_status = h->fail_status ? h->fail_status : -EIO;
	if (q->next.fd >= 0) {
		if (q->next_gen == gen)
			l = q->next;
		else
			close(q->next.fd);
		q->next.fd = -1;
	}
	pthread_mutex_unlock(&h->lock);
	if (q->link.fd >= 0 && q->gen != gen)
		link_drop(q);
	if (l.fd >= 0) {
		link_drop(q);
		adopt(q, &l, gen);
		dispatch(q);
	}
	if (state == IPDK_NVMF_HOST_FAILED && !q->failed) {
		q->failed = true;
		link_drop(q);
		fail_all(q, fail_status);
	}
}

void nvmf_qpair_hand_over(struct nvmf_qpair *q, const struct nvmf_link *link, unsigned int gen)
{
	if (link && link->fd >= 0) {
		if (q->next.fd >= 0)
			close(q->next.fd);
		q->next = *link;
		q->next_gen = gen;
	}
	atomic_store(&q->event, 1);
	wake_self(q);
}

/* ---- the queue's API ------------------------------------------------------------------ */

int nvmf_qpair_submit(struct nvmf_qpair *q, struct ipdk_blk_io *io)
{
	unsigned int k;

	/* the controller's news wait for poll: callbacks never run in here */
	if (q->failed)
		return -EIO;
	k = io_cmds(q, io);
	if (k > q->n_reqs)
		return -EINVAL;
	io->next = NULL;
	if (q->pend_tail)
		q->pend_tail->next = io;
	else
		q->pend_head = io;
	q->pend_tail = io;
	dispatch(q);
	tx_flush(q);
	return 0;
}

unsigned int nvmf_qpair_poll(struct nvmf_qpair *q, unsigned int max)
{
	unsigned int n = 0;
	uint64_t v;

	if (read(q->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		IPDK_LOG_DEBUG("nvmf host: eventfd: %s", strerror(errno));
	check_events(q);
	if (q->link.fd < 0)
		return 0;
	tx_flush(q);
	rx_run(q, max, &n);
	tx_flush(q);   /* H2CData for R2Ts, commands the callbacks queued */
	if (n >= max && q->link.fd >= 0)
		wake_self(q);   /* more may wait in our buffer: stay readable */
	return n;
}

int nvmf_qpair_fd(const struct nvmf_qpair *q)
{
	return q->epfd;
}

uint16_t nvmf_qpair_qid(const struct nvmf_qpair *q)
{
	return q->qid;
}

uint16_t nvmf_qpair_sqsize(const struct nvmf_qpair *q)
{
	return (uint16_t)(q->n_reqs - 1);
}

static bool refused(int rc)
{
	return rc == -EACCES || rc == -ENOENT || rc == -EINVAL || rc == -EBUSY;
}

static void qpair_free(struct nvmf_qpair *q)
{
	if (q->epfd >= 0)
		close(q->epfd);
	if (q->evfd >= 0)
		close(q->evfd);
	free(q->reqs);
	free(q->free_ids);
	free(q->tx);
	free(q->iov);
	free(q->rbuf);
	free(q);
}

int nvmf_qpair_create(struct ipdk_nvmf_host *h, uint32_t nsid, uint32_t block_size,
		      nvmf_qpair_done_fn done, void *ctx, struct nvmf_qpair **out,
		      struct ipdk_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct nvmf_qpair *q = calloc(1, sizeof(*q));
	unsigned int n = h->info.queue_depth;
	uint32_t max_xfer = h->info.max_xfer ? h->info.max_xfer : 1u << 20;
	int rc = 0, qid = -1;

	if (!q)
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP I/O queue: out of memory");
	q->h = h;
	q->nsid = nsid;
	q->bs = block_size;
	q->done = done;
	q->ctx = ctx;
	q->link.fd = q->next.fd = -1;
	q->n_reqs = n;
	q->reqs = calloc(n, sizeof(*q->reqs));
	q->free_ids = calloc(n, sizeof(*q->free_ids));
	q->tx_cap = 2 * n + 2;
	q->tx = calloc(q->tx_cap, sizeof(*q->tx));
	q->iov = calloc(TX_IOV_MAX, sizeof(*q->iov));
	q->rbuf = malloc(RBUF_LEN);
	q->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!q->reqs || !q->free_ids || !q->tx || !q->iov || !q->rbuf || q->evfd < 0 ||
	    q->epfd < 0) {
		qpair_free(q);
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP I/O queue: out of memory or descriptors");
	}
	ev.data.fd = q->evfd;
	epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->evfd, &ev);
	for (unsigned int i = 0; i < n; i++) {
		q->reqs[i].cid = (uint16_t)i;
		q->free_ids[i] = (uint16_t)(n - 1 - i);
	}
	q->n_free = n;
	/* data per command: what the controller takes, whole blocks, NLB in 16 bits */
	q->chunk_bytes = max_xfer / block_size * block_size;
	if (q->chunk_bytes / block_size > CMD_NLB_MAX)
		q->chunk_bytes = CMD_NLB_MAX * block_size;
	if (q->chunk_bytes == 0)
		q->chunk_bytes = block_size;

	pthread_mutex_lock(&h->lock);
	for (unsigned int i = 0; i < h->info.io_queues && qid < 0; i++)
		if (!h->queues[i])
			qid = (int)i + 1;
	if (qid < 0) {
		rc = ipdk_err_set(err, -EBUSY, "NVMe/TCP controller %s %s: all %u I/O queues in use",
				  h->peer, h->subnqn, h->info.io_queues);
	} else if (atomic_load(&h->state) == IPDK_NVMF_HOST_FAILED) {
		rc = ipdk_err_set(err, -EIO, "NVMe/TCP controller %s %s: failed (%s)", h->peer,
				  h->subnqn, h->last_err.msg);
	} else {
		q->qid = (uint16_t)qid;
		q->gen = atomic_load(&h->gen);
		if (atomic_load(&h->state) == IPDK_NVMF_HOST_LIVE && !h->lost) {
			struct nvmf_link l;
			struct ipdk_err e;

			rc = nvmf_host_link_up(h, q->qid, (uint16_t)(n - 1), &l, &e);
			if (rc == 0) {
				adopt(q, &l, q->gen);
			} else if (refused(rc)) {
				*err = e;
			} else {
				/* the target went away: the queue comes up with the controller */
				h->lost = true;
				h->last_err = e;
				pthread_cond_signal(&h->cond);
				rc = 0;
			}
		}
		if (rc == 0)
			h->queues[qid - 1] = q;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc) {
		qpair_free(q);
		return rc;
	}
	*out = q;
	return 0;
}

void nvmf_qpair_destroy(struct nvmf_qpair *q)
{
	struct ipdk_nvmf_host *h = q->h;

	pthread_mutex_lock(&h->lock);
	h->queues[q->qid - 1] = NULL;
	if (q->next.fd >= 0)
		close(q->next.fd);
	pthread_mutex_unlock(&h->lock);
	link_drop(q);
	qpair_free(q);
}
