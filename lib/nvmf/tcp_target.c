/*
 * One NVMe/TCP queue on the target side: a thread per accepted connection
 * that reads PDUs (ICReq, CapsuleCmd, H2CData, H2CTermReq), runs admin,
 * Fabrics and NVM I/O commands, and writes ICResp, R2T, C2HData, CapsuleResp
 * and C2HTermReq. Header and data digests (CRC32C) are used when the host asks
 * for them.
 *
 * A queue has one command slot per submission queue entry (the host's SQSIZE
 * from Connect), each with its own data buffer; nothing is allocated per
 * command. Reads and writes go to lib/blk channels this thread owns (one per
 * namespace it touches) and complete from ipdk_blk_poll() in the same loop
 * that waits for the socket, so the thread never blocks on storage. Socket
 * reads of a PDU's remainder block (the host sends a PDU in one go); a host
 * that stalls mid-PDU costs only its own queue.
 *
 * Fatal protocol errors (bad header, digest mismatch, data outside its
 * transfer, PDUs out of order) send a C2HTermReq naming the offending field
 * and close the connection, as the transport specification asks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "nvmf_internal.h"

#define ADMIN_IN_CAPSULE 8192    /* the host may put this much in an admin capsule */

struct nvmf_cmd {
	struct nvmf_conn *conn;
	uint8_t sqe[SQE_LEN];
	uint8_t *buf;
	uint32_t xfer_len;           /* bytes the SGL describes */
	uint32_t data_off;           /* in-capsule data offset within buf */
	uint32_t got;                /* H2C bytes received */
	uint32_t out_len;            /* C2H bytes to send */
	bool busy, wait_h2c;
	uint16_t status;
	uint32_t dw0, dw1;
	struct ipdk_blk_io io;
	struct iovec iov;
	uint32_t dsm_next, dsm_count;   /* Dataset Management: ranges left */
	struct nvmf_cached_ns *nsc;
};

struct nvmf_cached_ns {
	struct nvmf_ns *ns;
	struct ipdk_blk_channel *ch;
};

struct nvmf_conn {
	struct ipdk_nvmf_tgt *tgt;
	int fd;
	char peer[64];
	struct sockaddr_storage local;
	bool ic_done, hdgst, ddgst;
	unsigned int c2h_align;      /* from the host's HPDA */
	/* after Connect */
	uint16_t qid;
	struct nvmf_subsys *subsys;
	struct nvmf_ctrl *ctrl;
	struct nvmf_cmd *cmds;
	unsigned int n_cmds;
	uint32_t buf_len;            /* per slot */
	uint16_t sqhd;
	unsigned int busy;
	uint64_t last_ka_ms;
	uint16_t aer[AER_MAX];
	unsigned int n_aer;
	bool disconnect;
	unsigned int ns_gen;
	struct nvmf_cached_ns nsc[IPDK_NVMF_NS_MAX];
	uint8_t hdr[PDU_TERM_MAX + DGST_LEN];
	uint8_t *scratch;            /* capsule data before Connect set up slots */
	struct nvmf_conn *next;
};

/* ---- sending ------------------------------------------------------------------ */

/* Sends a PDU whose type-specific header is filled in hdr[8..hlen) (pdu.c frames it);
 * C2HData honours the host's data alignment. */
static int send_pdu(struct nvmf_conn *c, uint8_t *hdr, uint8_t type, uint8_t flags,
		    uint8_t hlen, const void *data, uint32_t dlen)
{
	return nvmf_pdu_send(c->fd, hdr, type, flags, hlen, data, dlen, c->hdgst, c->ddgst,
			     type == PDU_C2H_DATA ? c->c2h_align : 0);
}

/* Fatal transport error: C2HTermReq with the offending header, then the caller closes. */
static int fatal(struct nvmf_conn *c, uint16_t fes, uint32_t fei, const char *why)
{
	uint8_t pdu[PDU_TERM_HLEN] = { 0 };
	uint32_t hlen = c->hdr[2] && c->hdr[2] <= 128 ? c->hdr[2] : PDU_CH_LEN;

	IPDK_LOG_WARN("nvmf: %s: %s (fatal error %u, field offset %u); closing", c->peer, why,
		      fes, fei);
	put16(pdu + TERM_FES, fes);
	put32(pdu + TERM_FEI, fei);
	send_pdu(c, pdu, PDU_C2H_TERM, 0, PDU_TERM_HLEN, c->hdr, hlen);
	return -EPROTO;
}

/* ---- completions ---------------------------------------------------------------- */

static void slot_free(struct nvmf_cmd *cmd)
{
	cmd->busy = false;
	cmd->wait_h2c = false;
	cmd->conn->busy--;
}

static int send_resp(struct nvmf_conn *c, const uint8_t *sqe, uint16_t status, uint32_t dw0,
		     uint32_t dw1)
{
	uint8_t pdu[PDU_RESP_HLEN] = { 0 };
	uint8_t *cqe = pdu + PDU_CH_LEN;
	uint16_t sf = (uint16_t)(STATUS_SC(status) << 1 | (STATUS_SCT(status) & 7) << 9);

	if (status)
		sf |= 0x8000;  /* DNR: retrying the same command will not help */
	put32(cqe + CQE_DW0, dw0);
	put32(cqe + CQE_DW1, dw1);
	c->sqhd = (uint16_t)((c->sqhd + 1) % (c->n_cmds ? c->n_cmds : 1));
	put16(cqe + CQE_SQHD, c->sqhd);
	put16(cqe + CQE_SQID, c->qid);
	memcpy(cqe + CQE_CID, sqe + SQE_CID, 2);
	put16(cqe + CQE_STATUS, sf);
	return send_pdu(c, pdu, PDU_RESP, 0, PDU_RESP_HLEN, NULL, 0);
}

/* Ends a command: C2H data when it has some and succeeded, then the response. */
static int complete(struct nvmf_cmd *cmd)
{
	struct nvmf_conn *c = cmd->conn;
	int rc = 0;

	if (cmd->status == 0 && cmd->out_len) {
		uint8_t pdu[PDU_DATA_HLEN] = { 0 };

		memcpy(pdu + DATA_CCCID, cmd->sqe + SQE_CID, 2);
		put32(pdu + DATA_OFFSET, 0);
		put32(pdu + DATA_LEN, cmd->out_len);
		rc = send_pdu(c, pdu, PDU_C2H_DATA, PDU_F_LAST, PDU_DATA_HLEN, cmd->buf,
			      cmd->out_len);
	}
	if (rc == 0)
		rc = send_resp(c, cmd->sqe, cmd->status, cmd->dw0, cmd->dw1);
	slot_free(cmd);
	return rc;
}

/* ---- I/O commands ----------------------------------------------------------------- */

static void refresh_ns_cache(struct nvmf_conn *c)
{
	unsigned int gen = atomic_load(&c->subsys->gen);
	bool draining = false;

	if (gen == c->ns_gen)
		return;
	pthread_mutex_lock(&c->tgt->lock);
	for (int i = 0; i < IPDK_NVMF_NS_MAX; i++) {
		struct nvmf_cached_ns *e = &c->nsc[i];

		if (e->ns && c->subsys->ns[i] != e->ns && e->ch && e->ch->inflight) {
			draining = true;   /* look again on the next command */
		} else if (e->ns && c->subsys->ns[i] != e->ns) {
			/* removed or replaced: drop our channel once it is idle */
			pthread_mutex_unlock(&c->tgt->lock);
			ipdk_blk_channel_close(e->ch);
			nvmf_ns_put(c->tgt, e->ns);
			e->ns = NULL;
			e->ch = NULL;
			pthread_mutex_lock(&c->tgt->lock);
		}
	}
	pthread_mutex_unlock(&c->tgt->lock);
	if (!draining)
		c->ns_gen = gen;
}

static struct nvmf_cached_ns *ns_lookup(struct nvmf_conn *c, uint32_t nsid)
{
	struct nvmf_cached_ns *e;
	struct ipdk_err err;

	if (nsid == 0 || nsid > IPDK_NVMF_NS_MAX)
		return NULL;
	refresh_ns_cache(c);
	e = &c->nsc[nsid - 1];
	if (e->ns && c->subsys->ns[nsid - 1] == e->ns)
		return e;
	if (e->ns)
		return NULL;   /* removed, channel still draining */
	e->ns = nvmf_ns_get(c->tgt, c->subsys, nsid);
	if (!e->ns)
		return NULL;
	if (ipdk_blk_channel_open(e->ns->dev, c->n_cmds, &e->ch, &err) < 0) {
		IPDK_LOG_ERR("nvmf: %s: %s", c->peer, err.msg);
		nvmf_ns_put(c->tgt, e->ns);
		e->ns = NULL;
		return NULL;
	}
	return e;
}

static uint16_t blk_status(const struct nvmf_cmd *cmd, int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case -ERANGE:
		return NVME_STATUS(0, SC_LBA_RANGE);
	case -EPERM:
		return NVME_STATUS(1, SC_WRITE_READ_ONLY);
	case -ENOTSUP:
		return NVME_STATUS(0, SC_INVALID_OPCODE);
	case -EINVAL:
		return NVME_STATUS(0, SC_INVALID_FIELD);
	default:
		return cmd->io.op == IPDK_BLK_READ ? NVME_STATUS(2, SC_READ_ERROR)
						   : NVME_STATUS(2, SC_WRITE_FAULT);
	}
}

static int dsm_next(struct nvmf_cmd *cmd);

static void io_done(struct ipdk_blk_io *io, int status)
{
	struct nvmf_cmd *cmd = io->cb_arg;

	cmd->status = blk_status(cmd, status);
	if (cmd->status == 0 && cmd->dsm_next < cmd->dsm_count && dsm_next(cmd) == 0)
		return;
	if (cmd->status == 0 && cmd->io.op == IPDK_BLK_READ)
		cmd->out_len = cmd->xfer_len;
	if (complete(cmd) < 0)
		shutdown(cmd->conn->fd, SHUT_RDWR);   /* the loop sees the socket go */
}

static int submit(struct nvmf_cmd *cmd)
{
	int rc = ipdk_blk_submit(cmd->nsc->ch, &cmd->io);

	if (rc < 0)
		cmd->status = blk_status(cmd, rc);
	return rc;
}

/* Starts the next Dataset Management range; 0 when one is in flight. */
static int dsm_next(struct nvmf_cmd *cmd)
{
	const uint8_t *r;

	while (cmd->dsm_next < cmd->dsm_count) {
		r = cmd->buf + cmd->data_off + 16 * cmd->dsm_next++;
		if (get32(r + 4) == 0)
			continue;
		cmd->io.op = IPDK_BLK_DISCARD;
		cmd->io.offset_blocks = get64(r + 8);
		cmd->io.num_blocks = get32(r + 4);
		return submit(cmd) < 0 ? -1 : 0;
	}
	return -1;
}

/* Runs an NVM command whose data (if any) is in place; returns 1 when it completed
 * synchronously (status set), 0 when it is in flight. */
static int run_io(struct nvmf_cmd *cmd)
{
	struct nvmf_conn *c = cmd->conn;
	const uint8_t *sqe = cmd->sqe;
	uint8_t opc = sqe[SQE_OPC];
	struct ipdk_blk_dev *dev;
	uint32_t nlb;

	cmd->nsc = ns_lookup(c, get32(sqe + SQE_NSID));
	if (!cmd->nsc) {
		cmd->status = NVME_STATUS(0, SC_INVALID_NS);
		return 1;
	}
	dev = cmd->nsc->ns->dev;
	cmd->io.cb = io_done;
	cmd->io.cb_arg = cmd;
	cmd->io.iov = &cmd->iov;
	cmd->io.iovcnt = 1;
	cmd->dsm_next = cmd->dsm_count = 0;
	nlb = (get32(sqe + SQE_CDW12) & 0xffff) + 1;
	cmd->io.offset_blocks = get64(sqe + SQE_CDW10);
	cmd->io.num_blocks = nlb;
	switch (opc) {
	case NVM_READ:
	case NVM_WRITE:
		if ((uint64_t)nlb * dev->block_size != cmd->xfer_len) {
			cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
			return 1;
		}
		cmd->io.op = opc == NVM_READ ? IPDK_BLK_READ : IPDK_BLK_WRITE;
		cmd->iov.iov_base = cmd->buf + cmd->data_off;
		cmd->iov.iov_len = cmd->xfer_len;
		break;
	case NVM_FLUSH:
		cmd->io.op = IPDK_BLK_FLUSH;
		break;
	case NVM_WRITE_ZEROES:
		cmd->io.op = IPDK_BLK_WRITE_ZEROES;
		break;
	case NVM_DSM:
		cmd->dsm_count = (get32(sqe + SQE_CDW10) & 0xff) + 1;
		if (!(get32(sqe + SQE_CDW11) & 0x4))   /* only Deallocate does anything */
			return 1;
		if (cmd->xfer_len < 16 * cmd->dsm_count) {
			cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
			return 1;
		}
		return dsm_next(cmd) < 0 ? 1 : 0;
	default:
		cmd->status = NVME_STATUS(0, SC_INVALID_OPCODE);
		return 1;
	}
	return submit(cmd) < 0 ? 1 : 0;
}

/* ---- admin and Fabrics commands ---------------------------------------------------- */

static uint64_t prop_cap(const struct nvmf_conn *c)
{
	uint64_t mqes = c->tgt->opts.max_queue_depth - 1;

	/* MQES, CQR, TO = 30 s (500 ms units), CSS = NVM, MPSMIN/MAX = 4 KiB */
	return mqes | 1ull << 16 | 60ull << 24 | 1ull << 37;
}

static void identify_ctrl(struct nvmf_conn *c, uint8_t *d)
{
	const struct ipdk_nvmf_tgt_opts *o = &c->tgt->opts;
	const struct nvmf_subsys *s = c->subsys;
	unsigned int mdts = 0;

	memset(d, 0, IDENTIFY_LEN);
	while ((4096u << mdts) < o->max_io_size)
		mdts++;
	put16(d + IDC_VID, 0x8086);
	put16(d + IDC_SSVID, 0x8086);
	put_str(d + IDC_SN, 20, s->serial, ' ');
	put_str(d + IDC_MN, 40, s->model, ' ');
	put_str(d + IDC_FR, 8, "0.1", ' ');
	d[IDC_RAB] = 6;
	/* several controllers (with shared namespaces): Linux hosts put a multipath
	 * head over each namespace, which holds I/O while the path reconnects */
	d[IDC_CMIC] = s->discovery ? 0 : 0x02;
	d[IDC_MDTS] = (uint8_t)mdts;
	put16(d + IDC_CNTLID, c->ctrl->cntlid);
	put32(d + IDC_VER, 0x00010300);
	d[IDC_CNTRLTYPE] = s->discovery ? 2 : 1;
	d[IDC_ACL] = 3;
	d[IDC_AERL] = AER_MAX - 1;
	d[IDC_LPA] = 0x04;                         /* extended Get Log Page data */
	put16(d + IDC_KAS, 10);                    /* 1 s granularity */
	d[IDC_SQES] = 0x66;
	d[IDC_CQES] = 0x44;
	put16(d + IDC_MAXCMD, (uint16_t)o->max_queue_depth);
	put32(d + IDC_NN, s->discovery ? 0 : IPDK_NVMF_NS_MAX);
	put16(d + IDC_ONCS, s->discovery ? 0 : (1 << 2 | 1 << 3));  /* DSM, Write Zeroes */
	d[IDC_VWC] = s->discovery ? 0 : 0x05;      /* present; no broadcast flush */
	put32(d + IDC_SGLS, 1u | 1u << 20);        /* SGLs; offsets in data block descriptors */
	put_str(d + IDC_SUBNQN, 256, s->nqn, '\0');
	put32(d + IDC_IOCCSZ, (SQE_LEN + o->in_capsule_data) / 16);
	put32(d + IDC_IORCSZ, CQE_LEN / 16);
	put16(d + IDC_ICDOFF, 0);
	d[IDC_FCATT] = 0;                          /* dynamic controller model */
	d[IDC_MSDBD] = 1;
}

static void run_admin(struct nvmf_cmd *cmd)
{
	struct nvmf_conn *c = cmd->conn;
	const uint8_t *sqe = cmd->sqe;
	uint32_t cdw10 = get32(sqe + SQE_CDW10), cdw11 = get32(sqe + SQE_CDW11);
	uint32_t nsid = get32(sqe + SQE_NSID);
	uint8_t *data = cmd->buf;

	c->last_ka_ms = nvmf_now_ms();
	switch (sqe[SQE_OPC]) {
	case ADM_IDENTIFY: {
		uint8_t cns = cdw10 & 0xff;

		if (cmd->xfer_len < IDENTIFY_LEN) {
			cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
			break;
		}
		cmd->out_len = IDENTIFY_LEN;
		if (cns == CNS_CTRL) {
			identify_ctrl(c, data);
		} else if (c->subsys->discovery) {
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		} else if (cns == 0x05 || cns == 0x06) {
			/* I/O command set specific data: NVM (CSI 0) has no limits to report */
			memset(data, 0, IDENTIFY_LEN);
			if (cdw11 >> 24)
				cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		} else {
			cmd->status = nvmf_identify_ns(c->tgt, c->subsys, cns, nsid, data);
		}
		break;
	}
	case ADM_GET_LOG_PAGE: {
		uint8_t lid = cdw10 & 0xff;
		uint64_t numd = ((uint64_t)(cdw11 & 0xffff) << 16 | cdw10 >> 16) + 1;
		uint64_t off = get64(sqe + SQE_CDW12);
		uint64_t len = numd * 4;

		if (len > cmd->xfer_len || len > c->buf_len || (off & 3)) {
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
			break;
		}
		cmd->out_len = (uint32_t)len;
		if (lid == LOG_DISCOVERY && c->subsys->discovery) {
			nvmf_discovery_log(c->tgt, c->ctrl->hostnqn, &c->local, data, off,
					   (uint32_t)len);
		} else if (!c->subsys->discovery &&
			   (lid == LOG_ERROR || lid == LOG_SMART || lid == LOG_FW_SLOT)) {
			memset(data, 0, len);   /* no errors, nothing to report */
		} else {
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		}
		break;
	}
	case ADM_SET_FEATURES:
		switch (cdw10 & 0xff) {
		case FEAT_NUM_QUEUES: {
			uint32_t nsq = (cdw11 & 0xffff) + 1, ncq = (cdw11 >> 16) + 1;
			uint32_t max = c->tgt->opts.max_io_queues;

			if ((cdw11 & 0xffff) == 0xffff || cdw11 >> 16 == 0xffff) {
				cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
				break;
			}
			nsq = nsq < max ? nsq : max;
			ncq = ncq < max ? ncq : max;
			c->ctrl->io_queues = (uint16_t)(nsq < ncq ? nsq : ncq);
			cmd->dw0 = (ncq - 1) << 16 | (nsq - 1);
			break;
		}
		case FEAT_KATO:
			c->ctrl->kato_ms = cdw11;
			break;
		case FEAT_ASYNC_EVENT:
			break;
		default:
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		}
		break;
	case ADM_GET_FEATURES:
		switch (cdw10 & 0xff) {
		case FEAT_NUM_QUEUES:
			cmd->dw0 = (uint32_t)(c->ctrl->io_queues - 1) << 16 | (c->ctrl->io_queues - 1);
			break;
		case FEAT_KATO:
			cmd->dw0 = c->ctrl->kato_ms;
			break;
		case FEAT_VWC:
			cmd->dw0 = c->subsys->discovery ? 0 : 1;
			break;
		case FEAT_ASYNC_EVENT:
			break;
		default:
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		}
		break;
	case ADM_KEEP_ALIVE:
		break;
	case ADM_ABORT:
		cmd->dw0 = 1;   /* not aborted: commands finish on their own */
		break;
	case ADM_ASYNC_EVENT:
		if (c->n_aer == AER_MAX) {
			cmd->status = NVME_STATUS(1, SC_AER_LIMIT);
			break;
		}
		/* held until the controller goes: we raise no events */
		memcpy(&c->aer[c->n_aer++], sqe + SQE_CID, 2);
		slot_free(cmd);
		cmd->status = 0xffff;
		return;
	default:
		cmd->status = NVME_STATUS(0, SC_INVALID_OPCODE);
	}
}

static void prop_get_set(struct nvmf_cmd *cmd)
{
	struct nvmf_conn *c = cmd->conn;
	struct nvmf_ctrl *ctrl = c->ctrl;
	const uint8_t *sqe = cmd->sqe;
	uint32_t ofst = get32(sqe + PROP_OFFSET);
	bool wide = sqe[PROP_ATTRIB] & 1;
	uint64_t v = 0;

	if (sqe[FAB_FCTYPE] == FCTYPE_PROP_GET) {
		switch (ofst) {
		case PROP_CAP:
			v = prop_cap(c);
			break;
		case PROP_VS:
			v = 0x00010300;
			break;
		case PROP_CC:
			v = ctrl->cc;
			break;
		case PROP_CSTS:
			v = ctrl->csts;
			break;
		default:
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
			return;
		}
		if (ofst == PROP_CAP && !wide) {
			cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
			return;
		}
		cmd->dw0 = (uint32_t)v;
		cmd->dw1 = (uint32_t)(v >> 32);
		return;
	}
	v = get64(sqe + PROP_VALUE);
	if (ofst != PROP_CC || wide) {
		cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
		return;
	}
	ctrl->cc = (uint32_t)v;
	if (CC_SHN(ctrl->cc))
		ctrl->csts = (ctrl->csts & ~0xcu) | CSTS_SHST_DONE;
	if (ctrl->cc & CC_EN)
		ctrl->csts |= CSTS_RDY;
	else
		ctrl->csts &= ~(CSTS_RDY | 0xcu);
}

/* Fabrics Connect: the queue's first command. */
static void run_connect(struct nvmf_cmd *cmd, const uint8_t *data, uint32_t dlen)
{
	struct nvmf_conn *c = cmd->conn;
	const struct ipdk_nvmf_tgt_opts *o = &c->tgt->opts;
	const uint8_t *sqe = cmd->sqe;
	uint16_t qid = get16(sqe + CONNECT_QID), sqsize = get16(sqe + CONNECT_SQSIZE);
	uint16_t cntlid;
	char subnqn[NQN_FIELD_LEN + 1], hostnqn[NQN_FIELD_LEN + 1];
	struct nvmf_subsys *s = NULL;
	uint32_t iattr = 0;

	if (dlen < CONNECT_DATA_LEN) {
		cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
		return;
	}
	memcpy(subnqn, data + CONNECT_SUBNQN, NQN_FIELD_LEN);
	subnqn[NQN_FIELD_LEN] = '\0';
	memcpy(hostnqn, data + CONNECT_HOSTNQN, NQN_FIELD_LEN);
	hostnqn[NQN_FIELD_LEN] = '\0';
	cntlid = get16(data + CONNECT_CNTLID);
	if (get16(sqe + CONNECT_RECFMT) != 0) {
		cmd->status = NVME_STATUS(1, SC_CONNECT_FORMAT);
		return;
	}
	if (sqsize < 1 || sqsize >= (qid ? o->max_queue_depth : 32u)) {
		cmd->status = NVME_STATUS(1, SC_CONNECT_INVALID_PARAM);
		cmd->dw0 = CONNECT_SQSIZE;   /* IATTR 0: in the command; IPO */
		IPDK_LOG_WARN("nvmf: %s: connect with queue size %u refused (at most %u)", c->peer,
			      sqsize + 1u, qid ? o->max_queue_depth : 32u);
		return;
	}
	cmd->status = nvmf_subsys_connect(c->tgt, subnqn, hostnqn, &s, &iattr);
	if (cmd->status) {
		cmd->dw0 = iattr;
		IPDK_LOG_WARN("nvmf: %s: host %s refused for subsystem %s: %s", c->peer, hostnqn,
			      subnqn, STATUS_SC(cmd->status) == SC_CONNECT_INVALID_HOST
			      ? "host not allowed" : "no such subsystem");
		return;
	}
	if (qid == 0) {
		c->ctrl = nvmf_ctrl_create(c->tgt, s, hostnqn, data + CONNECT_HOSTID,
					   get32(sqe + CONNECT_KATO));
		if (!c->ctrl) {
			nvmf_subsys_put(c->tgt, s);
			cmd->status = NVME_STATUS(0, SC_INTERNAL);
			return;
		}
	} else {
		c->ctrl = s->discovery ? NULL : nvmf_ctrl_get(c->tgt, s, cntlid, hostnqn);
		if (!c->ctrl || qid > c->ctrl->io_queues) {
			/* IATTR/IPO: the controller id in the data, or the queue id */
			cmd->dw0 = c->ctrl ? CONNECT_QID : (1u << 16 | CONNECT_CNTLID);
			if (c->ctrl)
				nvmf_ctrl_put(c->tgt, c->ctrl);
			c->ctrl = NULL;
			nvmf_subsys_put(c->tgt, s);
			cmd->status = NVME_STATUS(1, SC_CONNECT_INVALID_PARAM);
			IPDK_LOG_WARN("nvmf: %s: I/O queue %u for controller %u of %s refused",
				      c->peer, qid, cntlid, subnqn);
			return;
		}
	}
	c->subsys = s;   /* the connection keeps the reference nvmf_subsys_connect took */
	c->qid = qid;
	c->n_cmds = sqsize + 1u;
	c->buf_len = c->tgt->opts.max_io_size;
	c->ns_gen = atomic_load(&s->gen) - 1;
	c->last_ka_ms = nvmf_now_ms();
	cmd->dw0 = c->ctrl->cntlid;
	IPDK_LOG_INFO("nvmf: %s: host %s connected to %s, controller %u, queue %u (%u entries)",
		      c->peer, hostnqn, subnqn, c->ctrl->cntlid, qid, c->n_cmds);
}

/* Runs a command whose data is in place; sends the completion unless it went async. */
static int run(struct nvmf_cmd *cmd)
{
	struct nvmf_conn *c = cmd->conn;
	uint8_t opc = cmd->sqe[SQE_OPC];

	cmd->status = 0;
	cmd->dw0 = cmd->dw1 = 0;
	cmd->out_len = 0;
	if (opc == OPC_FABRICS) {
		switch (cmd->sqe[FAB_FCTYPE]) {
		case FCTYPE_PROP_GET:
		case FCTYPE_PROP_SET:
			if (c->qid) {
				cmd->status = NVME_STATUS(0, SC_INVALID_FIELD);
				break;
			}
			prop_get_set(cmd);
			break;
		case FCTYPE_DISCONNECT:
			c->disconnect = true;
			break;
		case FCTYPE_CONNECT:
			cmd->status = NVME_STATUS(0, SC_CMD_SEQ_ERROR);   /* connected already */
			break;
		default:
			cmd->status = NVME_STATUS(0, SC_INVALID_OPCODE);
		}
	} else if (c->qid == 0) {
		run_admin(cmd);
		if (cmd->status == 0xffff)
			return 0;   /* async event request held */
	} else if (c->subsys->discovery || !(c->ctrl->cc & CC_EN)) {
		cmd->status = NVME_STATUS(0, c->subsys->discovery ? SC_INVALID_OPCODE
								   : SC_CMD_SEQ_ERROR);
	} else if (run_io(cmd) == 0) {
		return 0;
	}
	return complete(cmd);
}

/* ---- receiving ------------------------------------------------------------------------ */

/* Transfer direction from an opcode (bits 1:0; Fabrics commands by fctype). */
static int xfer_dir(const uint8_t *sqe)
{
	uint8_t op = sqe[SQE_OPC] == OPC_FABRICS ? sqe[FAB_FCTYPE] : sqe[SQE_OPC];

	return op & 3;   /* 1: host to controller, 2: controller to host */
}

static int rx_ddgst(struct nvmf_conn *c, const uint8_t *data, uint32_t len, bool *bad)
{
	uint8_t d[DGST_LEN];
	int rc;

	*bad = false;
	if (!c->ddgst || !len)
		return 0;
	rc = nvmf_readn(c->fd, d, DGST_LEN);
	if (rc == 0)
		*bad = get32(d) != crc32c_final(nvmf_crc32c(CRC32C_INIT, data, len));
	return rc;
}

static int skip(int fd, uint32_t n)
{
	uint8_t junk[256];

	while (n) {
		uint32_t k = n < sizeof(junk) ? n : sizeof(junk);
		int rc = nvmf_readn(fd, junk, k);

		if (rc)
			return rc;
		n -= k;
	}
	return 0;
}

static int alloc_slots(struct nvmf_conn *c)
{
	c->cmds = calloc(c->n_cmds, sizeof(*c->cmds));
	if (!c->cmds)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->n_cmds; i++)
		c->cmds[i].conn = c;
	return 0;
}

static int rx_cmd(struct nvmf_conn *c, uint32_t plen, uint32_t hd)
{
	const uint8_t *h = c->hdr;
	uint32_t pdo = h[3], dlen = 0, cap, sgl_len;
	struct nvmf_cmd *cmd = NULL, pre;
	uint8_t sgl_type;
	bool bad;
	int rc;

	if (plen > PDU_CMD_HLEN + hd) {
		uint32_t dd = c->ddgst ? DGST_LEN : 0;

		if (pdo < PDU_CMD_HLEN + hd || plen < pdo + dd + 1)
			return fatal(c, FES_INVALID_HEADER, 3, "capsule data offset out of range");
		dlen = plen - pdo - dd;
	}
	if (!c->ctrl) {
		/* before Connect: one provisional slot with the scratch buffer */
		memset(&pre, 0, sizeof(pre));
		pre.conn = c;
		pre.buf = c->scratch;
		cmd = &pre;
		cap = ADMIN_IN_CAPSULE;
	} else {
		for (unsigned int i = 0; i < c->n_cmds; i++)
			if (!c->cmds[i].busy) {
				cmd = &c->cmds[i];
				break;
			}
		if (!cmd)
			return fatal(c, FES_PDU_SEQUENCE, 0, "more commands than the queue has entries");
		if (!cmd->buf) {
			cmd->buf = aligned_alloc(4096, c->buf_len);
			if (!cmd->buf)
				return fatal(c, FES_DATA_LIMIT, 0, "out of memory for a command buffer");
		}
		cap = c->qid ? c->tgt->opts.in_capsule_data : ADMIN_IN_CAPSULE;
	}
	if (dlen > cap)
		return fatal(c, FES_DATA_LIMIT, 4, "in-capsule data above the capsule size");
	memcpy(cmd->sqe, h + PDU_CH_LEN, SQE_LEN);
	cmd->busy = true;
	c->busy++;
	cmd->got = 0;
	cmd->data_off = 0;
	rc = skip(c->fd, dlen ? pdo - PDU_CMD_HLEN - hd : 0);
	if (rc == 0 && dlen)
		rc = nvmf_readn(c->fd, cmd->buf, dlen);
	if (rc == 0)
		rc = rx_ddgst(c, cmd->buf, dlen, &bad);
	if (rc) {
		slot_free(cmd);
		return rc;
	}
	if (bad) {
		/* data digest error: the command fails, the queue goes on */
		IPDK_LOG_WARN("nvmf: %s: data digest mismatch in a command capsule", c->peer);
		cmd->status = NVME_STATUS(3, 0x22);   /* transient transport error */
		cmd->out_len = 0;
		return complete(cmd);
	}

	/* where the data is, or will be */
	sgl_type = cmd->sqe[SQE_SGL + 15];
	sgl_len = get32(cmd->sqe + SQE_SGL + 8);
	cmd->xfer_len = 0;
	if (xfer_dir(cmd->sqe) && sgl_len) {
		uint64_t addr = get64(cmd->sqe + SQE_SGL);

		cmd->xfer_len = sgl_len;
		if (sgl_type == SGL_TYPE_DATA_OFFSET && xfer_dir(cmd->sqe) == 1) {
			if (addr > dlen || sgl_len > dlen - addr) {
				cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
				return complete(cmd);
			}
			cmd->data_off = (uint32_t)addr;
			cmd->got = sgl_len;
		} else if (sgl_type != SGL_TYPE_TRANSPORT) {
			cmd->status = NVME_STATUS(0, SC_SGL_TYPE_INVALID);
			return complete(cmd);
		} else if (sgl_len > (c->ctrl ? c->buf_len : ADMIN_IN_CAPSULE)) {
			cmd->status = NVME_STATUS(0, SC_SGL_LENGTH_INVALID);
			return complete(cmd);
		}
	}
	if (!c->ctrl) {
		if (cmd->sqe[SQE_OPC] != OPC_FABRICS || cmd->sqe[FAB_FCTYPE] != FCTYPE_CONNECT) {
			cmd->status = NVME_STATUS(0, SC_CMD_SEQ_ERROR);
			IPDK_LOG_WARN("nvmf: %s: command 0x%02x before Connect", c->peer,
				      cmd->sqe[SQE_OPC]);
			return complete(cmd);
		}
		if (cmd->got != cmd->xfer_len) {
			cmd->status = NVME_STATUS(0, SC_SGL_TYPE_INVALID);  /* Connect data in the capsule */
			return complete(cmd);
		}
		run_connect(cmd, cmd->buf + cmd->data_off, cmd->xfer_len);
		rc = complete(cmd);
		if (rc == 0 && c->ctrl)
			rc = alloc_slots(c);
		else if (rc == 0)
			rc = -EACCES;   /* refused: the host sees the status, then we close */
		return rc;
	}
	if (xfer_dir(cmd->sqe) == 1 && cmd->got < cmd->xfer_len) {
		uint8_t pdu[PDU_R2T_HLEN] = { 0 };

		memcpy(pdu + DATA_CCCID, cmd->sqe + SQE_CID, 2);
		put16(pdu + DATA_TTAG, (uint16_t)(cmd - c->cmds));
		put32(pdu + DATA_OFFSET, 0);
		put32(pdu + DATA_LEN, cmd->xfer_len);
		cmd->wait_h2c = true;
		return send_pdu(c, pdu, PDU_R2T, 0, PDU_R2T_HLEN, NULL, 0);
	}
	return run(cmd);
}

static int rx_h2c_data(struct nvmf_conn *c, uint32_t plen, uint32_t hd)
{
	const uint8_t *h = c->hdr;
	uint16_t ttag = get16(h + DATA_TTAG);
	uint32_t off = get32(h + DATA_OFFSET), len = get32(h + DATA_LEN);
	uint32_t pdo = h[3], dd = c->ddgst ? DGST_LEN : 0;
	struct nvmf_cmd *cmd;
	bool bad;
	int rc;

	if (!c->ctrl || ttag >= c->n_cmds || !c->cmds[ttag].wait_h2c ||
	    memcmp(h + DATA_CCCID, c->cmds[ttag].sqe + SQE_CID, 2))
		return fatal(c, FES_INVALID_HEADER, DATA_TTAG, "H2CData for no transfer we asked for");
	cmd = &c->cmds[ttag];
	if (off != cmd->got || len == 0 || len > cmd->xfer_len - cmd->got)
		return fatal(c, FES_DATA_RANGE, DATA_OFFSET, "H2CData outside the transfer");
	if (pdo < PDU_DATA_HLEN + hd || plen != pdo + len + dd)
		return fatal(c, FES_INVALID_HEADER, 4, "H2CData length does not match its header");
	rc = skip(c->fd, pdo - PDU_DATA_HLEN - hd);
	if (rc == 0)
		rc = nvmf_readn(c->fd, cmd->buf + off, len);
	if (rc == 0)
		rc = rx_ddgst(c, cmd->buf + off, len, &bad);
	if (rc)
		return rc;
	if (bad)
		return fatal(c, FES_HDGST, 0, "H2CData data digest mismatch");
	cmd->got += len;
	if (cmd->got < cmd->xfer_len)
		return 0;
	cmd->wait_h2c = false;
	return run(cmd);
}

static int rx_icreq(struct nvmf_conn *c)
{
	uint8_t resp[PDU_IC_LEN] = { 0 };
	const uint8_t *h = c->hdr;

	if (get16(h + IC_PFV) != 0)
		return fatal(c, FES_UNSUPPORTED, IC_PFV, "unsupported PDU format version");
	if (h[IC_HPDA] > 31)
		return fatal(c, FES_UNSUPPORTED, IC_HPDA, "host PDU data alignment above 31");
	c->hdgst = h[IC_DGST] & 1;
	c->ddgst = h[IC_DGST] & 2;
	c->c2h_align = (h[IC_HPDA] + 1u) * 4;
	put16(resp + IC_PFV, 0);
	resp[IC_HPDA] = 0;                                  /* CPDA */
	resp[IC_DGST] = (uint8_t)(c->hdgst | c->ddgst << 1);
	put32(resp + IC_MAXH2CDATA, c->tgt->opts.max_io_size);
	c->ic_done = true;
	return send_pdu(c, resp, PDU_ICRESP, 0, PDU_IC_LEN, NULL, 0);
}

/* Reads and handles one PDU; negative when the connection must close. */
static int rx_pdu(struct nvmf_conn *c)
{
	uint8_t *h = c->hdr;
	uint8_t type, hlen, want;
	uint32_t plen, hd = 0;
	int rc;

	memset(h, 0, PDU_CH_LEN);
	rc = nvmf_readn(c->fd, h, PDU_CH_LEN);
	if (rc)
		return rc;
	type = h[0];
	hlen = h[2];
	plen = get32(h + 4);
	switch (type) {
	case PDU_ICREQ:
		want = PDU_IC_LEN;
		break;
	case PDU_CMD:
		want = PDU_CMD_HLEN;
		break;
	case PDU_H2C_DATA:
		want = PDU_DATA_HLEN;
		break;
	case PDU_H2C_TERM:
		want = PDU_TERM_HLEN;
		break;
	default:
		h[2] = PDU_CH_LEN;
		return fatal(c, FES_INVALID_HEADER, 0, "PDU type not sent by hosts");
	}
	if (hlen != want) {
		h[2] = PDU_CH_LEN;
		return fatal(c, FES_INVALID_HEADER, 2, "header length wrong for the PDU type");
	}
	if (!c->ic_done != (type == PDU_ICREQ))
		return fatal(c, FES_PDU_SEQUENCE, 0,
			     c->ic_done ? "second ICReq" : "PDU before connection initialization");
	if (c->hdgst && (type == PDU_CMD || type == PDU_H2C_DATA)) {
		if (!(h[1] & PDU_F_HDGST))
			return fatal(c, FES_INVALID_HEADER, 1, "header digest flag missing");
		hd = DGST_LEN;
	}
	if (plen < hlen + hd || plen > hlen + hd + 255 + c->tgt->opts.max_io_size + DGST_LEN ||
	    (type == PDU_ICREQ && plen != PDU_IC_LEN))
		return fatal(c, FES_INVALID_HEADER, 4, "PDU length out of range");
	rc = nvmf_readn(c->fd, h + PDU_CH_LEN, hlen - PDU_CH_LEN + hd);
	if (rc)
		return rc;
	if (hd && !nvmf_hdgst_ok(h, hlen))
		return fatal(c, FES_HDGST, 0, "header digest mismatch");
	switch (type) {
	case PDU_ICREQ:
		return rx_icreq(c);
	case PDU_CMD:
		return rx_cmd(c, plen, hd);
	case PDU_H2C_DATA:
		return rx_h2c_data(c, plen, hd);
	default:
		IPDK_LOG_INFO("nvmf: %s: host ended the connection (H2CTermReq, status %u)",
			      c->peer, get16(h + TERM_FES));
		return -ECONNABORTED;
	}
}

/* ---- the connection thread ----------------------------------------------------------- */

static void conn_unlink(struct nvmf_conn *c)
{
	struct ipdk_nvmf_tgt *tgt = c->tgt;

	pthread_mutex_lock(&tgt->lock);
	for (struct nvmf_conn **pp = &tgt->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (--tgt->n_conns == 0)
		pthread_cond_broadcast(&tgt->conns_gone);
	pthread_mutex_unlock(&tgt->lock);
}

/* Releases what the connection holds on shared objects (before it unlinks). */
static void conn_release(struct nvmf_conn *c)
{
	for (int i = 0; i < IPDK_NVMF_NS_MAX; i++) {
		if (c->nsc[i].ch)
			ipdk_blk_channel_close(c->nsc[i].ch);   /* runs the last callbacks */
		if (c->nsc[i].ns)
			nvmf_ns_put(c->tgt, c->nsc[i].ns);
	}
	if (c->ctrl) {
		if (c->qid == 0)
			atomic_store(&c->ctrl->dead, true);   /* its I/O queues follow */
		nvmf_ctrl_put(c->tgt, c->ctrl);
	}
	if (c->subsys)
		nvmf_subsys_put(c->tgt, c->subsys);
}

/* Frees the connection's own memory (after it unlinked: no target access). */
static void conn_free(struct nvmf_conn *c)
{
	for (unsigned int i = 0; i < c->n_cmds && c->cmds; i++)
		free(c->cmds[i].buf);
	free(c->cmds);
	free(c->scratch);
	close(c->fd);
	free(c);
}

static void *conn_main(void *arg)
{
	struct nvmf_conn *c = arg;
	struct pollfd pfd[1 + IPDK_NVMF_NS_MAX];
	const char *why = "host closed the connection";
	int rc = 0;

	while (!atomic_load(&c->tgt->stopping)) {
		unsigned int n = 1;
		int avail = 0;

		pfd[0] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
		for (int i = 0; i < IPDK_NVMF_NS_MAX; i++)
			if (c->nsc[i].ch && c->nsc[i].ch->event_fd >= 0)
				pfd[n++] = (struct pollfd){ .fd = c->nsc[i].ch->event_fd,
							    .events = POLLIN };
		if (poll(pfd, n, 500) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* handle what the socket holds, then the storage completions */
			for (int k = 0; k < 64; k++) {
				rc = rx_pdu(c);
				if (rc < 0 || c->disconnect)
					break;
				if (ioctl(c->fd, FIONREAD, &avail) < 0 || avail < PDU_CH_LEN)
					break;
				for (int i = 0; i < IPDK_NVMF_NS_MAX; i++)
					if (c->nsc[i].ch)
						ipdk_blk_poll(c->nsc[i].ch, 0);
			}
			if (rc < 0) {
				why = rc == -ECONNRESET ? "host closed the connection"
					: rc == -EPROTO ? "protocol error"
					: rc == -EACCES ? "connect refused"
					: rc == -ECONNABORTED ? "host terminated the connection"
					: strerror(-rc);
				break;
			}
			if (c->disconnect) {
				why = "host sent Disconnect";
				break;
			}
		}
		for (int i = 0; i < IPDK_NVMF_NS_MAX; i++)
			if (c->nsc[i].ch)
				ipdk_blk_poll(c->nsc[i].ch, 0);
		if (c->ctrl && atomic_load(&c->ctrl->dead) && c->qid) {
			why = "controller gone";
			break;
		}
		if (c->ctrl && c->qid == 0 && c->ctrl->kato_ms &&
		    nvmf_now_ms() - c->last_ka_ms > 2ull * c->ctrl->kato_ms + 1000) {
			why = "keep-alive timeout";
			break;
		}
	}
	IPDK_LOG_INFO("nvmf: %s: queue %u closed: %s", c->peer, c->qid, why);
	shutdown(c->fd, SHUT_RDWR);
	conn_release(c);
	conn_unlink(c);   /* the target may be freed from here on */
	conn_free(c);
	return NULL;
}

void nvmf_conns_kick_locked(struct ipdk_nvmf_tgt *tgt, const struct nvmf_subsys *subsys)
{
	for (struct nvmf_conn *c = tgt->conns; c; c = c->next)
		if (!subsys || c->subsys == subsys)
			shutdown(c->fd, SHUT_RDWR);
}

int nvmf_conn_start(struct ipdk_nvmf_tgt *tgt, int fd)
{
	struct nvmf_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char host[64] = "?";
	pthread_attr_t attr;
	pthread_t th;
	int one = 1, rc;

	if (!c)
		return -ENOMEM;
	c->scratch = aligned_alloc(4096, ADMIN_IN_CAPSULE);
	if (!c->scratch) {
		free(c);
		return -ENOMEM;
	}
	c->tgt = tgt;
	c->fd = fd;
	c->c2h_align = 4;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
		if (peer.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&peer;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "%s:%u", host, ntohs(in->sin_port));
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&peer;

			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host, ntohs(in6->sin6_port));
		}
	}
	len = sizeof(c->local);
	getsockname(fd, (struct sockaddr *)&c->local, &len);
	pthread_mutex_lock(&tgt->lock);
	if (tgt->n_conns >= tgt->opts.max_connections) {
		pthread_mutex_unlock(&tgt->lock);
		IPDK_LOG_WARN("nvmf: %s: refused, %u connections open already", c->peer,
			      tgt->n_conns);
		free(c->scratch);
		free(c);
		return -ENOSPC;
	}
	c->next = tgt->conns;
	tgt->conns = c;
	tgt->n_conns++;
	pthread_mutex_unlock(&tgt->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		conn_unlink(c);
		c->fd = -1;
		free(c->scratch);
		free(c);
		return -rc;
	}
	return 0;
}
