/*
 * NVMe/TCP PDU framing shared by the target and the initiator: blocking
 * socket helpers, the common header with its digest and data padding, and
 * the CRC32C data digest over scattered buffers. Each side builds the
 * type-specific header fields itself (proto.h offsets) and lets these
 * functions frame and send the PDU, so the wire rules live in one place.
 */
#ifndef IPDK_NVMF_PDU_H
#define IPDK_NVMF_PDU_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto.h"

/* How a PDU is laid out on the wire. */
struct nvmf_pdu_layout {
	bool hd, dd;                 /* header / data digest present */
	uint32_t pad;                /* bytes between the header (and its digest) and the data */
	uint32_t pdo, plen;
};

/* Zero bytes for padding (at least 256). */
extern const uint8_t nvmf_zeros[256];

/* Reads exactly n bytes; -ECONNRESET at end of stream, -errno otherwise. */
int nvmf_readn(int fd, void *buf, size_t n);

/* Writes the whole iovec array (modifies it); -errno on failure. */
int nvmf_sendv(int fd, struct iovec *iov, int n);

/* Sets hdr's common header for a PDU of hlen header bytes and dlen data bytes,
 * with header/data digests when hd/dd (ICReq, ICResp and TermReq never carry
 * them) and data aligned to align bytes from the PDU start (0 or 4: none);
 * writes the header digest to hdgst when there is one. */
void nvmf_pdu_frame(uint8_t *hdr, uint8_t type, uint8_t flags, uint8_t hlen, uint32_t dlen,
		    bool hd, bool dd, unsigned int align, uint8_t hdgst[DGST_LEN],
		    struct nvmf_pdu_layout *l);

/* Frames and sends a PDU with contiguous data (blocking). */
int nvmf_pdu_send(int fd, uint8_t *hdr, uint8_t type, uint8_t flags, uint8_t hlen,
		  const void *data, uint32_t dlen, bool hd, bool dd, unsigned int align);

/* Calls fn for each contiguous piece of [off, off + len) of an iovec array. */
void nvmf_iov_walk(const struct iovec *iov, int iovcnt, size_t off, size_t len,
		   void (*fn)(void *arg, uint8_t *p, size_t n), void *arg);

/* CRC32C (not finalized) of len bytes starting off bytes into an iovec array. */
uint32_t nvmf_crc32c_iov(uint32_t crc, const struct iovec *iov, int iovcnt, size_t off,
			 size_t len);

/* True when the header digest after hdr[0..hlen) matches. */
bool nvmf_hdgst_ok(const uint8_t *hdr, uint8_t hlen);

/* Returns the header length a PDU type must have, 0 for an unknown type. */
uint8_t nvmf_pdu_hlen(uint8_t type);

/* Names a fatal error status of a TermReq ("invalid header", ...). */
const char *nvmf_fes_name(uint16_t fes);

#endif
