/*
 * NVMe/TCP PDU framing shared by the target (tcp_target.c) and the
 * initiator (initiator*.c): the common header (type, flags, HLEN, PDO, PLEN),
 * header and data digests, padding to the receiver's data alignment, and the
 * blocking socket helpers used on control paths. See pdu.h.
 */
#include <errno.h>
#include <sys/socket.h>

#include "pdu.h"

const uint8_t nvmf_zeros[256];

int nvmf_readn(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, MSG_WAITALL);

		if (r == 0)
			return -ECONNRESET;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int nvmf_sendv(int fd, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	while (m.msg_iovlen) {
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		while (m.msg_iovlen && (size_t)w >= m.msg_iov->iov_len) {
			w -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + w;
			m.msg_iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

void nvmf_pdu_frame(uint8_t *hdr, uint8_t type, uint8_t flags, uint8_t hlen, uint32_t dlen,
		    bool hd, bool dd, unsigned int align, uint8_t hdgst[DGST_LEN],
		    struct nvmf_pdu_layout *l)
{
	bool plain = type == PDU_ICREQ || type == PDU_ICRESP || type == PDU_H2C_TERM ||
		     type == PDU_C2H_TERM;

	l->hd = hd && !plain;
	l->dd = dd && dlen && !plain;
	l->pad = 0;
	l->pdo = 0;
	l->plen = hlen + (l->hd ? DGST_LEN : 0);
	if (dlen) {
		l->pdo = l->plen;
		if (align > 4 && l->pdo % align)
			l->pdo += align - l->pdo % align;
		l->pad = l->pdo - l->plen;
		l->plen = l->pdo + dlen + (l->dd ? DGST_LEN : 0);
	}
	hdr[0] = type;
	hdr[1] = flags | (l->hd ? PDU_F_HDGST : 0) | (l->dd ? PDU_F_DDGST : 0);
	hdr[2] = hlen;
	/* a TermReq's data is the offending header, found right after its own */
	hdr[3] = plain ? 0 : (uint8_t)l->pdo;
	put32(hdr + 4, l->plen);
	if (l->hd)
		put32(hdgst, crc32c_final(nvmf_crc32c(CRC32C_INIT, hdr, hlen)));
}

int nvmf_pdu_send(int fd, uint8_t *hdr, uint8_t type, uint8_t flags, uint8_t hlen,
		  const void *data, uint32_t dlen, bool hd, bool dd, unsigned int align)
{
	uint8_t hdg[DGST_LEN], ddg[DGST_LEN];
	struct nvmf_pdu_layout l;
	struct iovec iov[5];
	int n = 0;

	nvmf_pdu_frame(hdr, type, flags, hlen, dlen, hd, dd, align, hdg, &l);
	iov[n++] = (struct iovec){ hdr, hlen };
	if (l.hd)
		iov[n++] = (struct iovec){ hdg, DGST_LEN };
	if (l.pad)
		iov[n++] = (struct iovec){ (void *)nvmf_zeros, l.pad };
	if (dlen) {
		iov[n++] = (struct iovec){ (void *)data, dlen };
		if (l.dd) {
			put32(ddg, crc32c_final(nvmf_crc32c(CRC32C_INIT, data, dlen)));
			iov[n++] = (struct iovec){ ddg, DGST_LEN };
		}
	}
	return nvmf_sendv(fd, iov, n);
}

void nvmf_iov_walk(const struct iovec *iov, int iovcnt, size_t off, size_t len,
		   void (*fn)(void *arg, uint8_t *p, size_t n), void *arg)
{
	for (int i = 0; i < iovcnt && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		fn(arg, (uint8_t *)iov[i].iov_base + off, l);
		len -= l;
		off = 0;
	}
}

static void crc_piece(void *arg, uint8_t *p, size_t n)
{
	uint32_t *crc = arg;

	*crc = nvmf_crc32c(*crc, p, n);
}

uint32_t nvmf_crc32c_iov(uint32_t crc, const struct iovec *iov, int iovcnt, size_t off,
			 size_t len)
{
	nvmf_iov_walk(iov, iovcnt, off, len, crc_piece, &crc);
	return crc;
}

bool nvmf_hdgst_ok(const uint8_t *hdr, uint8_t hlen)
{
	return get32(hdr + hlen) == crc32c_final(nvmf_crc32c(CRC32C_INIT, hdr, hlen));
}

uint8_t nvmf_pdu_hlen(uint8_t type)
{
	switch (type) {
	case PDU_ICREQ:
	case PDU_ICRESP:
		return PDU_IC_LEN;
	case PDU_H2C_TERM:
	case PDU_C2H_TERM:
		return PDU_TERM_HLEN;
	case PDU_CMD:
		return PDU_CMD_HLEN;
	case PDU_RESP:
		return PDU_RESP_HLEN;
	case PDU_H2C_DATA:
	case PDU_C2H_DATA:
		return PDU_DATA_HLEN;
	case PDU_R2T:
		return PDU_R2T_HLEN;
	default:
		return 0;
	}
}

const char *nvmf_fes_name(uint16_t fes)
{
	switch (fes) {
	case FES_INVALID_HEADER:
		return "invalid PDU header field";
	case FES_PDU_SEQUENCE:
		return "PDU sequence error";
	case FES_HDGST:
		return "header digest error";
	case FES_DATA_RANGE:
		return "data transfer out of range";
	case FES_DATA_LIMIT:
		return "data transfer limit exceeded";
	case FES_UNSUPPORTED:
		return "unsupported parameter";
	default:
		return "unknown fatal error";
	}
}
