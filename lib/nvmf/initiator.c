/*
 * The NVMe/TCP initiator's controller: connecting a queue (TCP, ICReq/ICResp,
 * Fabrics Connect), the admin queue (properties, Identify, Get Log Page, Set
 * Features, Keep Alive; one command at a time under a lock, blocking with the
 * connect timeout), discovery, and the controller thread that sends
 * keep-alives and, when the controller is lost, drops every connection
 * (bumping the generation), reconnects the admin queue, enables the
 * controller again and hands each I/O queue a new connection. I/O is held
 * meanwhile (initiator_queue.c) and fails only after ctrl_loss_tmo.
 *
 * Errors name the target and the reason: connection refused or timed out, no
 * ICResp, the target's TermReq, malformed PDUs (answered with an H2CTermReq),
 * Connect refusals (unknown subsystem, host not allowed), NVMe status codes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipdk/log.h"
#include "initiator.h"

#define DEF_IO_QUEUES 4
#define DEF_QUEUE_DEPTH 128
#define DEF_KATO_MS 10000
#define DEF_CONNECT_TIMEOUT_MS 5000
#define DEF_RECONNECT_DELAY_MS 500
#define DEF_CTRL_LOSS_TMO_MS 60000

uint64_t nvmf_host_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- one connection ---------------------------------------------------------------- */

static int tcp_connect(struct ipdk_nvmf_host *h, struct ipdk_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char port[8];
	int fd = -1, rc, last = -ECONNREFUSED, one = 1;

	snprintf(port, sizeof(port), "%u", h->o.port);
	rc = getaddrinfo(h->addr, port, &hints, &res);
	if (rc)
		return ipdk_err_set(err, -EHOSTUNREACH, "NVMe/TCP target %s: cannot resolve: %s",
				    h->peer, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		socklen_t len = sizeof(rc);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last = -errno;
			goto next;
		}
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		rc = poll(&p, 1, (int)h->o.connect_timeout_ms);
		if (rc == 0) {
			last = -ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &len) == 0 && rc == 0)
			break;
		last = rc ? -rc : -errno;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ipdk_err_set(err, last, "NVMe/TCP target %s: cannot connect: %s%s", h->peer,
				    last == -ETIMEDOUT ? "no answer within " : strerror(-last),
				    last == -ETIMEDOUT ? "the connect timeout" : "");
	/* the handshake and the admin queue block, bounded by the connect timeout */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = { .tv_sec = h->o.connect_timeout_ms / 1000,
			      .tv_usec = (h->o.connect_timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

void nvmf_host_term(int fd, uint16_t fes, uint32_t fei, const uint8_t *hdr, uint8_t hlen)
{
	uint8_t pdu[PDU_TERM_HLEN + 128] = { 0 };
	struct nvmf_pdu_layout l;

	if (hlen > 128)
		hlen = 128;
	put16(pdu + TERM_FES, fes);
	put32(pdu + TERM_FEI, fei);
	memcpy(pdu + PDU_TERM_HLEN, hdr, hlen);
	nvmf_pdu_frame(pdu, PDU_H2C_TERM, 0, PDU_TERM_HLEN, hlen, false, false, 0, NULL, &l);
	if (send(fd, pdu, PDU_TERM_HLEN + hlen, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		IPDK_LOG_DEBUG("nvmf host: H2CTermReq not sent: %s", strerror(errno));
}

/* A malformed PDU from the target: H2CTermReq, then the caller closes. */
static int malformed(struct ipdk_nvmf_host *h, int fd, const uint8_t *hdr, uint8_t hlen,
		     uint16_t fes, uint32_t fei, const char *why, struct ipdk_err *err)
{
	nvmf_host_term(fd, fes, fei, hdr, hlen);
	return ipdk_err_set(err, -EPROTO, "NVMe/TCP target %s: malformed PDU (type 0x%02x): %s",
			    h->peer, hdr[0], why);
}

static int sock_err(struct ipdk_nvmf_host *h, int rc, const char *waiting, struct ipdk_err *err)
{
	if (rc == -ETIMEDOUT)
		return ipdk_err_set(err, rc, "NVMe/TCP target %s: no %s within %u ms", h->peer,
				    waiting, h->o.connect_timeout_ms);
	if (rc == -ECONNRESET)
		return ipdk_err_set(err, rc, "NVMe/TCP target %s: closed the connection (waiting for %s)",
				    h->peer, waiting);
	return ipdk_err_set(err, rc, "NVMe/TCP target %s: waiting for %s: %s", h->peer, waiting,
			    strerror(-rc));
}

/* Reads one PDU's header (with its digest) into hdr; a C2HTermReq becomes an error. */
static int recv_header(struct ipdk_nvmf_host *h, const struct nvmf_link *l, uint8_t *hdr,
		       const char *waiting, struct ipdk_err *err)
{
	uint8_t type, hlen, want;
	uint32_t plen, hd;
	int rc = nvmf_readn(l->fd, hdr, PDU_CH_LEN);

	if (rc)
		return sock_err(h, rc, waiting, err);
	type = hdr[0];
	hlen = hdr[2];
	plen = get32(hdr + 4);
	want = nvmf_pdu_hlen(type);
	if (type == PDU_ICREQ || type == PDU_CMD || type == PDU_H2C_DATA || type == PDU_H2C_TERM ||
	    want == 0)
		return malformed(h, l->fd, hdr, PDU_CH_LEN, FES_INVALID_HEADER, 0,
				 "not a PDU type controllers send", err);
	if (hlen != want)
		return malformed(h, l->fd, hdr, PDU_CH_LEN, FES_INVALID_HEADER, 2,
				 "header length wrong for the PDU type", err);
	hd = l->hd && type != PDU_ICRESP && type != PDU_C2H_TERM ? DGST_LEN : 0;
	if (hd && !(hdr[1] & PDU_F_HDGST))
		return malformed(h, l->fd, hdr, PDU_CH_LEN, FES_INVALID_HEADER, 1,
				 "header digest missing", err);
	if (plen < hlen + hd || plen > hlen + hd + 255 + (1u << 24))
		return malformed(h, l->fd, hdr, PDU_CH_LEN, FES_INVALID_HEADER, 4,
				 "PDU length out of range", err);
	rc = nvmf_readn(l->fd, hdr + PDU_CH_LEN, hlen - PDU_CH_LEN + hd);
	if (rc)
		return sock_err(h, rc, waiting, err);
	if (type == PDU_C2H_TERM) {
		uint16_t fes = get16(hdr + TERM_FES);

		return ipdk_err_set(err, -ECONNABORTED,
				    "NVMe/TCP target %s: terminated the connection (C2HTermReq: %s, field offset %u)",
				    h->peer, nvmf_fes_name(fes), get32(hdr + TERM_FEI));
	}
	if (hd && !nvmf_hdgst_ok(hdr, hlen))
		return malformed(h, l->fd, hdr, hlen, FES_HDGST, 0, "header digest mismatch", err);
	return 0;
}

static int icreq(struct ipdk_nvmf_host *h, struct nvmf_link *l, struct ipdk_err *err)
{
	uint8_t pdu[PDU_IC_LEN] = { 0 };
	uint8_t want = (uint8_t)((h->o.hdgst ? 1 : 0) | (h->o.ddgst ? 2 : 0));
	int rc;

	put16(pdu + IC_PFV, 0);
	pdu[IC_HPDA] = 0;
	pdu[IC_DGST] = want;
	put32(pdu + IC_MAXR2T, 0);
	rc = nvmf_pdu_send(l->fd, pdu, PDU_ICREQ, 0, PDU_IC_LEN, NULL, 0, false, false, 0);
	if (rc)
		return sock_err(h, rc, "ICReq to go out", err);
	rc = recv_header(h, l, pdu, "ICResp", err);
	if (rc)
		return rc;
	if (pdu[0] != PDU_ICRESP || get32(pdu + 4) != PDU_IC_LEN)
		return malformed(h, l->fd, pdu, PDU_IC_LEN, FES_PDU_SEQUENCE, 0,
				 "expected an ICResp of 128 bytes", err);
	if (get16(pdu + IC_PFV) != 0)
		return malformed(h, l->fd, pdu, PDU_IC_LEN, FES_UNSUPPORTED, IC_PFV,
				 "unsupported PDU format version", err);
	if (pdu[IC_HPDA] > 31)
		return malformed(h, l->fd, pdu, PDU_IC_LEN, FES_INVALID_HEADER, IC_HPDA,
				 "CPDA above 31", err);
	if (pdu[IC_DGST] & ~want)
		return malformed(h, l->fd, pdu, PDU_IC_LEN, FES_INVALID_HEADER, IC_DGST,
				 "digest enabled that we did not ask for", err);
	l->maxh2c = get32(pdu + IC_MAXH2CDATA);
	if (l->maxh2c < 4096 || l->maxh2c % 4)
		return malformed(h, l->fd, pdu, PDU_IC_LEN, FES_INVALID_HEADER, IC_MAXH2CDATA,
				 "MAXH2CDATA below 4096 or not a multiple of 4", err);
	l->hd = pdu[IC_DGST] & 1;
	l->dd = pdu[IC_DGST] & 2;
	l->cpda = (pdu[IC_HPDA] + 1u) * 4;
	return 0;
}

static const char *status_name(uint16_t sct, uint16_t sc)
{
	if (sct == 0) {
		switch (sc) {
		case SC_INVALID_OPCODE: return "invalid opcode";
		case SC_INVALID_FIELD: return "invalid field";
		case SC_DATA_XFER_ERROR: return "data transfer error";
		case SC_INTERNAL: return "internal error";
		case SC_INVALID_NS: return "invalid namespace";
		case SC_CMD_SEQ_ERROR: return "command sequence error";
		case SC_SGL_LENGTH_INVALID: return "SGL length invalid";
		case SC_LBA_RANGE: return "LBA out of range";
		}
	} else if (sct == 1) {
		switch (sc) {
		case SC_CONNECT_FORMAT: return "Connect: incompatible format";
		case SC_CONNECT_BUSY: return "Connect: controller busy";
		case SC_CONNECT_INVALID_PARAM: return "Connect: invalid parameters";
		case SC_CONNECT_INVALID_HOST: return "Connect: host not allowed";
		}
	}
	return "error";
}

/* Sends an admin (or Fabrics) command on link and waits for its answer; data_in
 * receives C2HData, data_out goes in the capsule. *status gets the NVMe status
 * (sct << 8 | sc). Returns 0 when a CapsuleResp arrived, else -errno with err. */
static int link_cmd(struct ipdk_nvmf_host *h, struct nvmf_link *l, uint8_t *sqe, uint16_t cid,
		    void *data_in, uint32_t in_len, const void *data_out, uint32_t out_len,
		    uint16_t *status, uint64_t *result, const char *what, struct ipdk_err *err)
{
	uint8_t pdu[PDU_CMD_HLEN];
	uint8_t hdr[PDU_TERM_MAX + DGST_LEN];
	uint32_t got = 0;
	int rc;

	memset(pdu, 0, PDU_CH_LEN);
	sqe[SQE_FLAGS] = 0x40;                   /* PSDT: SGL */
	put16(sqe + SQE_CID, cid);
	memset(sqe + SQE_SGL, 0, 16);
	if (out_len) {
		put32(sqe + SQE_SGL + 8, out_len);
		sqe[SQE_SGL + 15] = SGL_TYPE_DATA_OFFSET;
	} else {
		put32(sqe + SQE_SGL + 8, in_len);
		sqe[SQE_SGL + 15] = SGL_TYPE_TRANSPORT;
	}
	memcpy(pdu + PDU_CH_LEN, sqe, SQE_LEN);
	rc = nvmf_pdu_send(l->fd, pdu, PDU_CMD, 0, PDU_CMD_HLEN, data_out, out_len, l->hd, l->dd,
			   l->cpda);
	if (rc)
		return sock_err(h, rc, what, err);
	for (;;) {
		rc = recv_header(h, l, hdr, what, err);
		if (rc)
			return rc;
		if (hdr[0] == PDU_RESP) {
			const uint8_t *cqe = hdr + PDU_CH_LEN;
			uint16_t sf = get16(cqe + CQE_STATUS);

			if (get32(hdr + 4) != PDU_RESP_HLEN + (l->hd ? DGST_LEN : 0u) ||
			    get16(cqe + CQE_CID) != cid)
				return malformed(h, l->fd, hdr, PDU_RESP_HLEN, FES_INVALID_HEADER,
						 PDU_CH_LEN + CQE_CID, "response for no command we sent",
						 err);
			*status = NVME_STATUS((sf >> 9) & 7, (sf >> 1) & 0xff);
			*result = get64(cqe + CQE_DW0);
			if (*status == 0 && got != in_len && data_in)
				return ipdk_err_set(err, -EPROTO,
						    "NVMe/TCP target %s: %s: %u of %u data bytes came",
						    h->peer, what, got, in_len);
			return 0;
		}
		if (hdr[0] == PDU_C2H_DATA) {
			uint32_t off = get32(hdr + DATA_OFFSET), len = get32(hdr + DATA_LEN);
			uint32_t plen = get32(hdr + 4), pdo = hdr[3];
			uint32_t hd = l->hd ? DGST_LEN : 0, dd = (hdr[1] & PDU_F_DDGST) ? DGST_LEN : 0;
			uint8_t d[DGST_LEN];

			if (get16(hdr + DATA_CCCID) != cid || !data_in || off != got ||
			    len > in_len - got)
				return malformed(h, l->fd, hdr, PDU_DATA_HLEN, FES_DATA_RANGE,
						 DATA_OFFSET, "C2HData outside the transfer", err);
			if (pdo < PDU_DATA_HLEN + hd || plen != pdo + len + dd ||
			    (l->dd && !dd))
				return malformed(h, l->fd, hdr, PDU_DATA_HLEN, FES_INVALID_HEADER, 3,
						 "C2HData offsets do not add up", err);
			rc = 0;
			for (uint32_t skip = pdo - PDU_DATA_HLEN - hd; skip && !rc;) {
				uint8_t junk[64];
				uint32_t k = skip < sizeof(junk) ? skip : sizeof(junk);

				rc = nvmf_readn(l->fd, junk, k);
				skip -= k;
			}
			if (!rc)
				rc = nvmf_readn(l->fd, (uint8_t *)data_in + off, len);
			if (!rc && dd)
				rc = nvmf_readn(l->fd, d, DGST_LEN);
			if (rc)
				return sock_err(h, rc, what, err);
			if (dd && get32(d) != crc32c_final(nvmf_crc32c(CRC32C_INIT,
								       (uint8_t *)data_in + off, len)))
				return malformed(h, l->fd, hdr, PDU_DATA_HLEN, FES_HDGST, 0,
						 "data digest mismatch", err);
			got += len;
			if ((hdr[1] & PDU_F_SUCCESS) && (hdr[1] & PDU_F_LAST)) {
				*status = 0;
				*result = 0;
				return 0;
			}
			continue;
		}
		return malformed(h, l->fd, hdr, hdr[2], FES_PDU_SEQUENCE, 0,
				 "unexpected PDU on the admin queue", err);
	}
}

static int connect_refused(struct ipdk_nvmf_host *h, uint16_t qid, uint16_t status,
			   uint64_t result, struct ipdk_err *err)
{
	uint16_t sct = STATUS_SCT(status), sc = STATUS_SC(status);
	uint32_t ipo = (uint32_t)result & 0xffff;
	bool in_data = (result >> 16) & 1;

	if (sct == 1 && sc == SC_CONNECT_INVALID_HOST)
		return ipdk_err_set(err, -EACCES,
				    "NVMe/TCP target %s: subsystem %s does not allow host %s",
				    h->peer, h->subnqn, h->hostnqn);
	if (sct == 1 && sc == SC_CONNECT_INVALID_PARAM && in_data && ipo == CONNECT_SUBNQN)
		return ipdk_err_set(err, -ENOENT, "NVMe/TCP target %s: no subsystem %s", h->peer,
				    h->subnqn);
	if (sct == 1 && sc == SC_CONNECT_INVALID_PARAM && in_data && ipo == CONNECT_HOSTNQN)
		return ipdk_err_set(err, -EACCES,
				    "NVMe/TCP target %s: host NQN %s refused by subsystem %s",
				    h->peer, h->hostnqn, h->subnqn);
	return ipdk_err_set(err, sct == 1 && sc == SC_CONNECT_BUSY ? -EBUSY : -EINVAL,
			    "NVMe/TCP target %s: Connect of queue %u to %s refused: %s (status 0x%x, %s offset %u)",
			    h->peer, qid, h->subnqn, status_name(sct, sc), status,
			    in_data ? "data" : "command", ipo);
}

int nvmf_host_link_up(struct ipdk_nvmf_host *h, uint16_t qid, uint16_t sqsize,
		      struct nvmf_link *link, struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 }, data[CONNECT_DATA_LEN] = { 0 };
	uint16_t status;
	uint64_t result;
	int rc;

	memset(link, 0, sizeof(*link));   /* digests and the rest come from ICResp */
	link->fd = tcp_connect(h, err);
	if (link->fd < 0)
		return link->fd;
	rc = icreq(h, link, err);
	if (rc)
		goto fail;
	sqe[SQE_OPC] = OPC_FABRICS;
	sqe[FAB_FCTYPE] = FCTYPE_CONNECT;
	put16(sqe + CONNECT_RECFMT, 0);
	put16(sqe + CONNECT_QID, qid);
	put16(sqe + CONNECT_SQSIZE, sqsize);
	put32(sqe + CONNECT_KATO, qid ? 0 : h->o.kato_ms);
	memcpy(data + CONNECT_HOSTID, h->hostid, 16);
	put16(data + CONNECT_CNTLID, qid ? h->info.cntlid : 0xffff);
	put_str(data + CONNECT_SUBNQN, NQN_FIELD_LEN, h->subnqn, '\0');
	put_str(data + CONNECT_HOSTNQN, NQN_FIELD_LEN, h->hostnqn, '\0');
	rc = link_cmd(h, link, sqe, 0, NULL, 0, data, sizeof(data), &status, &result,
		      "the Connect response", err);
	if (rc)
		goto fail;
	if (status) {
		rc = connect_refused(h, qid, status, result, err);
		goto fail;
	}
	if (qid == 0)
		h->info.cntlid = (uint16_t)result;
	return 0;
fail:
	close(link->fd);
	link->fd = -1;
	return rc;
}

/* ---- the admin queue ------------------------------------------------------------------- */

/* Runs an admin command; NVMe errors become -EIO with the status named. */
static int admin_cmd(struct ipdk_nvmf_host *h, uint8_t *sqe, void *data_in, uint32_t in_len,
		     uint64_t *result, const char *what, struct ipdk_err *err)
{
	uint16_t status = 0;
	uint64_t res = 0;
	int rc;

	pthread_mutex_lock(&h->admin_lock);
	if (h->admin.fd < 0) {
		pthread_mutex_unlock(&h->admin_lock);
		return ipdk_err_set(err, -ENOTCONN, "NVMe/TCP controller %s %s: %s: not connected",
				    h->peer, h->subnqn, what);
	}
	h->admin_cid = (uint16_t)((h->admin_cid + 1) % HOST_ADMIN_DEPTH);
	rc = link_cmd(h, &h->admin, sqe, h->admin_cid, data_in, in_len, NULL, 0, &status, &res,
		      what, err);
	if (rc) {
		/* the admin queue is out of step now: the controller thread resets */
		close(h->admin.fd);
		h->admin.fd = -1;
		pthread_mutex_unlock(&h->admin_lock);
		nvmf_host_queue_lost(h, atomic_load(&h->gen), err);
		return rc;
	}
	pthread_mutex_unlock(&h->admin_lock);
	if (result)
		*result = res;
	if (status)
		return ipdk_err_set(err, -EIO, "NVMe/TCP controller %s %s: %s: %s (status 0x%x)",
				    h->peer, h->subnqn, what,
				    status_name(STATUS_SCT(status), STATUS_SC(status)), status);
	return 0;
}

int ipdk_nvmf_host_prop_get(struct ipdk_nvmf_host *h, uint32_t offset, bool wide,
			    uint64_t *value, struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };

	sqe[SQE_OPC] = OPC_FABRICS;
	sqe[FAB_FCTYPE] = FCTYPE_PROP_GET;
	sqe[PROP_ATTRIB] = wide ? 1 : 0;
	put32(sqe + PROP_OFFSET, offset);
	*value = 0;
	int rc = admin_cmd(h, sqe, NULL, 0, value, "Property Get", err);

	if (!wide)
		*value &= 0xffffffffu;
	return rc;
}

int ipdk_nvmf_host_prop_set(struct ipdk_nvmf_host *h, uint32_t offset, uint32_t value,
			    struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };

	sqe[SQE_OPC] = OPC_FABRICS;
	sqe[FAB_FCTYPE] = FCTYPE_PROP_SET;
	put32(sqe + PROP_OFFSET, offset);
	put64(sqe + PROP_VALUE, value);
	return admin_cmd(h, sqe, NULL, 0, NULL, "Property Set", err);
}

int ipdk_nvmf_host_identify(struct ipdk_nvmf_host *h, uint8_t cns, uint32_t nsid, void *buf,
			    struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };

	sqe[SQE_OPC] = ADM_IDENTIFY;
	put32(sqe + SQE_NSID, nsid);
	put32(sqe + SQE_CDW10, cns);
	return admin_cmd(h, sqe, buf, IDENTIFY_LEN, NULL, "Identify", err);
}

int ipdk_nvmf_host_get_log(struct ipdk_nvmf_host *h, uint8_t lid, uint64_t offset, void *buf,
			   uint32_t len, struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };
	uint32_t numd = len / 4 - 1;

	if (len == 0 || len % 4 || offset % 4)
		return ipdk_err_set(err, -EINVAL, "Get Log Page: length %u / offset %llu not dword multiples",
				    len, (unsigned long long)offset);
	sqe[SQE_OPC] = ADM_GET_LOG_PAGE;
	put32(sqe + SQE_NSID, 0xffffffffu);
	put32(sqe + SQE_CDW10, lid | (numd & 0xffff) << 16);
	put32(sqe + SQE_CDW11, numd >> 16);
	put64(sqe + SQE_CDW12, offset);
	return admin_cmd(h, sqe, buf, len, NULL, "Get Log Page", err);
}

int ipdk_nvmf_host_keep_alive(struct ipdk_nvmf_host *h, struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };

	sqe[SQE_OPC] = ADM_KEEP_ALIVE;
	return admin_cmd(h, sqe, NULL, 0, NULL, "Keep Alive", err);
}

static int set_features(struct ipdk_nvmf_host *h, uint8_t fid, uint32_t cdw11, uint64_t *res,
			struct ipdk_err *err)
{
	uint8_t sqe[SQE_LEN] = { 0 };

	sqe[SQE_OPC] = ADM_SET_FEATURES;
	put32(sqe + SQE_CDW10, fid);
	put32(sqe + SQE_CDW11, cdw11);
	return admin_cmd(h, sqe, NULL, 0, res, "Set Features", err);
}

int ipdk_nvmf_host_active_ns(struct ipdk_nvmf_host *h, uint32_t *nsids, unsigned int max,
			     struct ipdk_err *err)
{
	uint8_t *buf = malloc(IDENTIFY_LEN);
	unsigned int n = 0;
	int rc;

	if (!buf)
		return ipdk_err_set(err, -ENOMEM, "Identify: out of memory");
	rc = ipdk_nvmf_host_identify(h, CNS_ACTIVE_NS, 0, buf, err);
	for (unsigned int i = 0; rc == 0 && i < IDENTIFY_LEN / 4 && n < max; i++) {
		uint32_t id = get32(buf + 4 * i);

		if (!id)
			break;
		nsids[n++] = id;
	}
	free(buf);
	return rc ? rc : (int)n;
}

int ipdk_nvmf_host_ns_info(struct ipdk_nvmf_host *h, uint32_t nsid,
			   struct ipdk_nvmf_host_ns *out, struct ipdk_err *err)
{
	uint8_t *buf = malloc(IDENTIFY_LEN);
	uint8_t lbads;
	int rc;

	if (!buf)
		return ipdk_err_set(err, -ENOMEM, "Identify: out of memory");
	memset(out, 0, sizeof(*out));
	rc = ipdk_nvmf_host_identify(h, CNS_NS, nsid, buf, err);
	if (rc)
		goto out;
	out->nsid = nsid;
	out->num_blocks = get64(buf + IDN_NSZE);
	lbads = buf[IDN_LBAF0 + 4 * (buf[IDN_FLBAS] & 0xf) + 2];
	if (out->num_blocks == 0 || lbads < 9 || lbads > 16) {
		rc = ipdk_err_set(err, -ENXIO,
				  "NVMe/TCP controller %s %s: namespace %u is inactive or has an unusable block size (2^%u)",
				  h->peer, h->subnqn, nsid, lbads);
		goto out;
	}
	out->block_size = 1u << lbads;
	out->dealloc_zeroes = (buf[IDN_DLFEAT] & 7) == 1;
	/* the UUID from the identification descriptors, when the controller has one */
	if (ipdk_nvmf_host_identify(h, CNS_NS_DESC, nsid, buf, NULL) == 0) {
		for (unsigned int off = 0; off + 4 <= IDENTIFY_LEN;) {
			uint8_t type = buf[off], len = buf[off + 1];

			if (type == 0 || off + 4 + len > IDENTIFY_LEN)
				break;
			if (type == NIDT_UUID && len == 16) {
				memcpy(out->uuid, buf + off + 4, 16);
				out->has_uuid = true;
			}
			off += 4 + len;
		}
	}
out:
	free(buf);
	return rc;
}

int ipdk_nvmf_host_ns_by_uuid(struct ipdk_nvmf_host *h, const uint8_t uuid[16],
			      struct ipdk_err *err)
{
	uint32_t ids[256];
	int n = ipdk_nvmf_host_active_ns(h, ids, 256, err);

	for (int i = 0; i < n; i++) {
		struct ipdk_nvmf_host_ns ns;

		if (ipdk_nvmf_host_ns_info(h, ids[i], &ns, NULL) == 0 && ns.has_uuid &&
		    !memcmp(ns.uuid, uuid, 16))
			return (int)ids[i];
	}
	if (n < 0)
		return n;
	return ipdk_err_set(err, -ENOENT,
			    "NVMe/TCP controller %s %s: no namespace with UUID %02x%02x%02x%02x-...",
			    h->peer, h->subnqn, uuid[0], uuid[1], uuid[2], uuid[3]);
}

/* ---- bringing the controller up ------------------------------------------------------------ */

/* Copies a space-padded Identify or discovery field into a C string. */
static void field_str(char *dst, size_t dlen, const uint8_t *src, size_t slen)
{
	size_t n = slen < dlen - 1 ? slen : dlen - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
	for (size_t i = strlen(dst); i > 0 && (dst[i - 1] == ' '); i--)
		dst[i - 1] = '\0';
}

/* Waits for CSTS.RDY to equal rdy, within CAP.TO. */
static int wait_ready(struct ipdk_nvmf_host *h, bool rdy, struct ipdk_err *err)
{
	uint64_t to_ms = ((h->cap >> 24) & 0xff) * 500ull, end, csts;
	int rc;

	if (to_ms == 0)
		to_ms = 500;
	end = nvmf_host_now_ms() + to_ms;
	for (;;) {
		rc = ipdk_nvmf_host_prop_get(h, PROP_CSTS, false, &csts, err);
		if (rc)
			return rc;
		if (csts & 2)
			return ipdk_err_set(err, -EIO, "NVMe/TCP controller %s %s: fatal status (CSTS.CFS)",
					    h->peer, h->subnqn);
		if (!!(csts & CSTS_RDY) == rdy)
			return 0;
		if (nvmf_host_now_ms() > end)
			return ipdk_err_set(err, -ETIMEDOUT,
					    "NVMe/TCP controller %s %s: CSTS.RDY not %u within CAP.TO (%llu ms)",
					    h->peer, h->subnqn, rdy, (unsigned long long)to_ms);
		usleep(10000);
	}
}

/* Connects the admin queue, enables the controller and (first time) identifies it. */
static int ctrl_up(struct ipdk_nvmf_host *h, bool first, struct ipdk_err *err)
{
	struct nvmf_link l;
	uint64_t v, res;
	uint8_t *id;
	int rc;

	rc = nvmf_host_link_up(h, 0, HOST_ADMIN_DEPTH - 1, &l, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&h->admin_lock);
	h->admin = l;
	pthread_mutex_unlock(&h->admin_lock);
	rc = ipdk_nvmf_host_prop_get(h, PROP_CAP, true, &h->cap, err);
	if (!rc)
		rc = ipdk_nvmf_host_prop_get(h, PROP_VS, false, &v, err);
	if (rc)
		return rc;
	h->info.version = (uint32_t)v;
	/* CC: I/O queue entry sizes (16-byte CQE, 64-byte SQE), NVM command set, enable */
	rc = ipdk_nvmf_host_prop_set(h, PROP_CC, 4u << 20 | 6u << 16 | CC_EN, err);
	if (!rc)
		rc = wait_ready(h, true, err);
	if (rc || !first)
		goto queues;
	id = malloc(IDENTIFY_LEN);
	if (!id)
		return ipdk_err_set(err, -ENOMEM, "Identify: out of memory");
	rc = ipdk_nvmf_host_identify(h, CNS_CTRL, 0, id, err);
	if (rc == 0) {
		struct ipdk_nvmf_host_info *in = &h->info;
		uint32_t mps = 4096u << ((h->cap >> 48) & 0xf);

		field_str(in->serial, sizeof(in->serial), id + IDC_SN, 20);
		field_str(in->model, sizeof(in->model), id + IDC_MN, 40);
		field_str(in->firmware, sizeof(in->firmware), id + IDC_FR, 8);
		in->nn = get32(id + IDC_NN);
		in->oncs = get16(id + IDC_ONCS);
		in->vwc = id[IDC_VWC] & 1;
		in->discovery = id[IDC_CNTRLTYPE] == 2;
		in->max_xfer = id[IDC_MDTS] && id[IDC_MDTS] < 20 ? mps << id[IDC_MDTS] : 0;
		in->in_capsule = get32(id + IDC_IOCCSZ) * 16u > SQE_LEN
				 ? get32(id + IDC_IOCCSZ) * 16u - SQE_LEN : 0;
		field_str(in->subnqn, sizeof(in->subnqn), id + IDC_SUBNQN, 256);
		in->discovery |= !strcmp(h->subnqn, IPDK_NVMF_DISCOVERY_NQN);
	}
	free(id);
	if (rc)
		return rc;
queues:
	if (rc || h->info.discovery || !h->o.io_queues)
		return rc;
	/* Number of Queues: what we get may be fewer than we ask for */
	rc = set_features(h, FEAT_NUM_QUEUES, (h->o.io_queues - 1) | (h->o.io_queues - 1) << 16,
			  &res, err);
	if (rc)
		return rc;
	{
		unsigned int nsq = (res & 0xffff) + 1, ncq = ((res >> 16) & 0xffff) + 1;
		unsigned int n = nsq < ncq ? nsq : ncq;

		if (n > h->o.io_queues)
			n = h->o.io_queues;
		if (!first && n < h->info.io_queues)
			return ipdk_err_set(err, -EBUSY,
					    "NVMe/TCP controller %s %s: %u I/O queues granted, %u in use",
					    h->peer, h->subnqn, n, h->info.io_queues);
		h->info.io_queues = n;
	}
	if (first) {
		unsigned int mqes = (unsigned int)(h->cap & 0xffff) + 1;

		h->info.queue_depth = h->o.queue_depth < mqes ? h->o.queue_depth : mqes;
	}
	return 0;
}

static void admin_down(struct ipdk_nvmf_host *h)
{
	pthread_mutex_lock(&h->admin_lock);
	if (h->admin.fd >= 0)
		close(h->admin.fd);
	h->admin.fd = -1;
	pthread_mutex_unlock(&h->admin_lock);
}

/* ---- loss and reconnection -------------------------------------------------------------- */

static void set_last_err_locked(struct ipdk_nvmf_host *h, const struct ipdk_err *err)
{
	if (err && err->code)
		h->last_err = *err;
}

void nvmf_host_queue_lost(struct ipdk_nvmf_host *h, unsigned int gen, const struct ipdk_err *err)
{
	pthread_mutex_lock(&h->lock);
	if (gen == atomic_load(&h->gen) && atomic_load(&h->state) == IPDK_NVMF_HOST_LIVE &&
	    !h->lost) {
		h->lost = true;
		set_last_err_locked(h, err);
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

static void wake_queues_locked(struct ipdk_nvmf_host *h)
{
	for (int i = 0; i < HOST_QUEUES_MAX; i++)
		if (h->queues[i])
			nvmf_qpair_hand_over(h->queues[i], NULL, atomic_load(&h->gen));
}

/* A controller given up on and not live: FAILED, the queues complete what they hold. */
static void fail_given_up_locked(struct ipdk_nvmf_host *h, const char *when)
{
	atomic_store(&h->state, IPDK_NVMF_HOST_FAILED);
	IPDK_LOG_WARN("nvmf host: controller %s %s: %s; not reconnecting, its held I/O %s (%s)",
		      h->peer, h->subnqn, when,
		      h->fail_status == -ECANCELED ? "is dropped unanswered" : "fails",
		      h->last_err.code ? h->last_err.msg : "?");
	wake_queues_locked(h);
}

/* Drops every connection: the queues hold their I/O until reconnected. */
static void ctrl_reset(struct ipdk_nvmf_host *h)
{
	pthread_mutex_lock(&h->lock);
	IPDK_LOG_WARN("nvmf host: controller %s %s lost (%s); reconnecting for up to %u ms",
		      h->peer, h->subnqn, h->last_err.code ? h->last_err.msg : "?",
		      h->o.ctrl_loss_tmo_ms);
	atomic_fetch_add(&h->gen, 1);
	atomic_store(&h->state, IPDK_NVMF_HOST_RECONNECTING);
	h->lost = false;
	h->lost_at_ms = nvmf_host_now_ms();
	wake_queues_locked(h);
	pthread_mutex_unlock(&h->lock);
	admin_down(h);
}

/* One reconnection attempt: the admin queue, then every registered I/O queue. */
static int ctrl_reconnect(struct ipdk_nvmf_host *h, struct ipdk_err *err)
{
	struct nvmf_link links[HOST_QUEUES_MAX];
	unsigned int gen;
	int rc;

	rc = ctrl_up(h, false, err);
	if (rc)
		goto fail;
	pthread_mutex_lock(&h->lock);
	gen = atomic_load(&h->gen);
	if (h->given_up)   /* its I/O has failed meanwhile: stay FAILED */
		rc = ipdk_err_set(err, -ECANCELED, "NVMe/TCP controller %s %s: given up",
				  h->peer, h->subnqn);
	for (int i = 0; i < HOST_QUEUES_MAX; i++) {
		links[i].fd = -1;
		if (!h->queues[i] || rc)
			continue;
		rc = nvmf_host_link_up(h, (uint16_t)(i + 1), nvmf_qpair_sqsize(h->queues[i]),
				       &links[i], err);
	}
	if (rc == 0) {
		for (int i = 0; i < HOST_QUEUES_MAX; i++)
			if (h->queues[i])
				nvmf_qpair_hand_over(h->queues[i], &links[i], gen);
		atomic_store(&h->state, IPDK_NVMF_HOST_LIVE);
		h->info.reconnects++;
	} else {
		for (int i = 0; i < HOST_QUEUES_MAX; i++)
			if (links[i].fd >= 0)
				close(links[i].fd);
	}
	pthread_mutex_unlock(&h->lock);
	if (rc == 0) {
		IPDK_LOG_INFO("nvmf host: controller %s %s reconnected (controller %u)", h->peer,
			      h->subnqn, h->info.cntlid);
		return 0;
	}
fail:
	admin_down(h);
	return rc;
}

static void *ctrl_thread(void *arg)
{
	struct ipdk_nvmf_host *h = arg;
	uint64_t next_ka = nvmf_host_now_ms() + h->o.kato_ms / 2;
	struct ipdk_err err;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		int state = atomic_load(&h->state);
		uint64_t now = nvmf_host_now_ms(), wake;
		struct timespec ts;

		if (state == IPDK_NVMF_HOST_LIVE && h->lost) {
			pthread_mutex_unlock(&h->lock);
			ctrl_reset(h);
			pthread_mutex_lock(&h->lock);
			continue;
		}
		if (state == IPDK_NVMF_HOST_LIVE &&
		    ((h->o.kato_ms && now >= next_ka) || h->probe)) {
			h->probe = false;
			pthread_mutex_unlock(&h->lock);
			ipdk_nvmf_host_keep_alive(h, &err);   /* a failure marks the loss */
			next_ka = nvmf_host_now_ms() + h->o.kato_ms / 2;
			pthread_mutex_lock(&h->lock);
			continue;
		}
		if (state == IPDK_NVMF_HOST_RECONNECTING && h->given_up) {
			fail_given_up_locked(h, "lost after it was given up");
			continue;
		}
		if (state == IPDK_NVMF_HOST_RECONNECTING) {
			if (now - h->lost_at_ms >= h->o.ctrl_loss_tmo_ms) {
				atomic_store(&h->state, IPDK_NVMF_HOST_FAILED);
				IPDK_LOG_ERR("nvmf host: controller %s %s: not back within %u ms; failing its I/O (%s)",
					     h->peer, h->subnqn, h->o.ctrl_loss_tmo_ms,
					     h->last_err.msg);
				wake_queues_locked(h);
				continue;
			}
			pthread_mutex_unlock(&h->lock);
			int rc = ctrl_reconnect(h, &err);

			pthread_mutex_lock(&h->lock);
			if (rc == 0) {
				next_ka = nvmf_host_now_ms() + h->o.kato_ms / 2;
				continue;
			}
			if (rc != -ECANCELED)
				set_last_err_locked(h, &err);
			IPDK_LOG_DEBUG("nvmf host: reconnect: %s", err.msg);
			wake = nvmf_host_now_ms() + h->o.reconnect_delay_ms;
		} else if (state == IPDK_NVMF_HOST_LIVE && h->o.kato_ms) {
			wake = next_ka;
		} else {
			wake = now + 1000;
		}
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000;
		pthread_cond_timedwait(&h->cond, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- the public functions ------------------------------------------------------------- */

static void hostid_from_nqn(const char *nqn, uint8_t id[16])
{
	uint32_t a = nvmf_crc32c(CRC32C_INIT, nqn, strlen(nqn));

	for (int i = 0; i < 4; i++) {
		a = nvmf_crc32c(a, &i, sizeof(i));
		put32(id + 4 * i, a);
	}
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);   /* a version 4 style UUID */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

int ipdk_nvmf_host_connect(const struct ipdk_nvmf_host_opts *opts, struct ipdk_nvmf_host **out,
			   struct ipdk_err *err)
{
	struct ipdk_nvmf_host *h;
	pthread_condattr_t ca;
	int rc;

	if (!opts->addr || !opts->addr[0] || strlen(opts->addr) >= 256)
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP host: no target address");
	if (opts->subnqn && !ipdk_nvmf_nqn_valid(opts->subnqn))
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP host: subsystem NQN '%s' is not a valid NQN",
				    opts->subnqn);
	if (opts->hostnqn && !ipdk_nvmf_nqn_valid(opts->hostnqn))
		return ipdk_err_set(err, -EINVAL, "NVMe/TCP host: host NQN '%s' is not a valid NQN",
				    opts->hostnqn);
	if (opts->io_queues > HOST_QUEUES_MAX || opts->queue_depth == 1 ||
	    opts->queue_depth > 65536)
		return ipdk_err_set(err, -EINVAL,
				    "NVMe/TCP host: %u I/O queues of %u entries is out of range (1-%d queues, 2-65536 entries)",
				    opts->io_queues, opts->queue_depth, HOST_QUEUES_MAX);
	h = calloc(1, sizeof(*h));
	if (!h)
		return ipdk_err_set(err, -ENOMEM, "NVMe/TCP host: out of memory");
	h->o = *opts;
	snprintf(h->addr, sizeof(h->addr), "%s", opts->addr);
	snprintf(h->subnqn, sizeof(h->subnqn), "%s", opts->subnqn ? opts->subnqn
								 : IPDK_NVMF_DISCOVERY_NQN);
	snprintf(h->hostnqn, sizeof(h->hostnqn), "%s", opts->hostnqn ? opts->hostnqn
								   : IPDK_NVMF_HOSTNQN_DEFAULT);
	if (opts->hostid)
		memcpy(h->hostid, opts->hostid, 16);
	else
		hostid_from_nqn(h->hostnqn, h->hostid);
	h->o.addr = h->addr;
	h->o.subnqn = h->subnqn;
	h->o.hostnqn = h->hostnqn;
	h->o.hostid = h->hostid;
	if (!h->o.port)
		h->o.port = 4420;
	if (!h->o.io_queues)
		h->o.io_queues = DEF_IO_QUEUES;
	if (!h->o.queue_depth)
		h->o.queue_depth = DEF_QUEUE_DEPTH;
	if (!h->o.kato_ms)
		h->o.kato_ms = DEF_KATO_MS;
	if (!h->o.connect_timeout_ms)
		h->o.connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	if (!h->o.reconnect_delay_ms)
		h->o.reconnect_delay_ms = DEF_RECONNECT_DELAY_MS;
	if (!h->o.ctrl_loss_tmo_ms)
		h->o.ctrl_loss_tmo_ms = DEF_CTRL_LOSS_TMO_MS;
	if (!strcmp(h->subnqn, IPDK_NVMF_DISCOVERY_NQN))
		h->o.kato_ms = 0;   /* a one-shot discovery connection */
	snprintf(h->peer, sizeof(h->peer), strchr(h->addr, ':') ? "[%s]:%u" : "%s:%u", h->addr,
		 h->o.port);
	h->admin.fd = -1;
	pthread_mutex_init(&h->admin_lock, NULL);
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&h->state, IPDK_NVMF_HOST_LIVE);
	rc = ctrl_up(h, true, err);
	if (rc)
		goto fail;
	h->info.hdgst = h->admin.hd;
	h->info.ddgst = h->admin.dd;
	if (!h->info.discovery) {
		rc = pthread_create(&h->thread, NULL, ctrl_thread, h);
		if (rc) {
			rc = ipdk_err_set(err, -rc, "NVMe/TCP host: cannot start a thread");
			goto fail;
		}
		h->thread_started = true;
	}
	IPDK_LOG_INFO("nvmf host: connected to %s %s (controller %u, %u I/O queues of %u)",
		      h->peer, h->subnqn, h->info.cntlid, h->info.io_queues, h->info.queue_depth);
	*out = h;
	return 0;
fail:
	admin_down(h);
	pthread_mutex_destroy(&h->admin_lock);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
	return rc;
}

void ipdk_nvmf_host_close(struct ipdk_nvmf_host *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	if (atomic_load(&h->state) == IPDK_NVMF_HOST_LIVE && h->admin.fd >= 0) {
		/* normal shutdown: CC.SHN = 01b, then wait for CSTS.SHST = 10b briefly */
		uint64_t csts = 0, end = nvmf_host_now_ms() + 1000;

		if (ipdk_nvmf_host_prop_set(h, PROP_CC, 4u << 20 | 6u << 16 | 1u << 14 | CC_EN,
					    NULL) == 0)
			while (ipdk_nvmf_host_prop_get(h, PROP_CSTS, false, &csts, NULL) == 0 &&
			       (csts & 0xc) != CSTS_SHST_DONE && nvmf_host_now_ms() < end)
				usleep(5000);
	}
	atomic_store(&h->state, IPDK_NVMF_HOST_CLOSED);
	admin_down(h);
	pthread_mutex_destroy(&h->admin_lock);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

const struct ipdk_nvmf_host_info *ipdk_nvmf_host_info(const struct ipdk_nvmf_host *h)
{
	return &h->info;
}

void ipdk_nvmf_host_give_up(struct ipdk_nvmf_host *h, bool cancel)
{
	pthread_mutex_lock(&h->lock);
	if (!h->given_up) {
		h->given_up = true;
		h->fail_status = cancel ? -ECANCELED : -EIO;
	}
	if (atomic_load(&h->state) == IPDK_NVMF_HOST_RECONNECTING)
		fail_given_up_locked(h, "given up while reconnecting");
	else if (atomic_load(&h->state) == IPDK_NVMF_HOST_LIVE)
		h->probe = true;   /* a target that stopped answering is found out now */
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

enum ipdk_nvmf_host_state ipdk_nvmf_host_state(const struct ipdk_nvmf_host *h)
{
	return (enum ipdk_nvmf_host_state)atomic_load(&((struct ipdk_nvmf_host *)h)->state);
}

int ipdk_nvmf_host_last_error(struct ipdk_nvmf_host *h, struct ipdk_err *err)
{
	int code;

	pthread_mutex_lock(&h->lock);
	code = h->last_err.code;
	if (err)
		*err = h->last_err;
	pthread_mutex_unlock(&h->lock);
	return code;
}

/* ---- discovery ---------------------------------------------------------------------- */

int ipdk_nvmf_discover(const struct ipdk_nvmf_host_opts *opts,
		       struct ipdk_nvmf_disc_entry **entries, unsigned int *n,
		       struct ipdk_err *err)
{
	struct ipdk_nvmf_host_opts o = *opts;
	struct ipdk_nvmf_disc_entry *e = NULL;
	struct ipdk_nvmf_host *h;
	uint8_t *log = NULL;
	uint64_t gen = 0, numrec = 0;
	int rc;

	o.subnqn = IPDK_NVMF_DISCOVERY_NQN;
	rc = ipdk_nvmf_host_connect(&o, &h, err);
	if (rc)
		return rc;
	for (int attempt = 0; attempt < 3; attempt++) {
		uint8_t hdr[DISC_HDR_LEN];
		uint64_t len;

		rc = ipdk_nvmf_host_get_log(h, LOG_DISCOVERY, 0, hdr, sizeof(hdr), err);
		if (rc)
			break;
		gen = get64(hdr + DISC_GENCTR);
		numrec = get64(hdr + DISC_NUMREC);
		if (numrec > 1024) {
			rc = ipdk_err_set(err, -EPROTO, "discovery log at %s: %llu records is absurd",
					  h->peer, (unsigned long long)numrec);
			break;
		}
		len = DISC_HDR_LEN + numrec * DISC_ENTRY_LEN;
		free(log);
		log = malloc(len);
		if (!log) {
			rc = ipdk_err_set(err, -ENOMEM, "discovery log: out of memory");
			break;
		}
		/* the whole page in chunks of at most 64 KiB, then the generation again */
		for (uint64_t off = 0; off < len && !rc;) {
			uint32_t k = len - off > 65536 ? 65536 : (uint32_t)(len - off);

			rc = ipdk_nvmf_host_get_log(h, LOG_DISCOVERY, off, log + off, k, err);
			off += k;
		}
		if (rc)
			break;
		if (get64(log + DISC_GENCTR) == gen && get64(log + DISC_NUMREC) == numrec)
			break;
		rc = -EAGAIN;
	}
	if (rc == -EAGAIN)
		rc = ipdk_err_set(err, -EAGAIN, "discovery log at %s kept changing", h->peer);
	if (rc == 0 && numrec) {
		e = calloc(numrec, sizeof(*e));
		if (!e)
			rc = ipdk_err_set(err, -ENOMEM, "discovery log: out of memory");
	}
	for (uint64_t i = 0; rc == 0 && i < numrec; i++) {
		const uint8_t *d = log + DISC_HDR_LEN + i * DISC_ENTRY_LEN;

		e[i].trtype = d[DE_TRTYPE];
		e[i].adrfam = d[DE_ADRFAM];
		e[i].subtype = d[DE_SUBTYPE];
		e[i].treq = d[DE_TREQ];
		e[i].portid = get16(d + DE_PORTID);
		e[i].cntlid = get16(d + DE_CNTLID);
		field_str(e[i].trsvcid, sizeof(e[i].trsvcid), d + DE_TRSVCID, 32);
		field_str(e[i].subnqn, sizeof(e[i].subnqn), d + DE_SUBNQN, 256);
		field_str(e[i].traddr, sizeof(e[i].traddr), d + DE_TRADDR, 256);
	}
	free(log);
	ipdk_nvmf_host_close(h);
	if (rc) {
		free(e);
		return rc;
	}
	*entries = e;
	*n = (unsigned int)numrec;
	return 0;
}
