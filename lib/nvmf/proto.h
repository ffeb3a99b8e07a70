/*
 * NVMe and NVMe/TCP wire formats as lib/nvmf uses them: PDU types and header
 * lengths (NVMe/TCP transport specification), command and completion layouts,
 * opcodes, status codes, properties and the Identify / Discovery log offsets
 * (NVMe base and NVMe over Fabrics specifications). Everything on the wire is
 * little-endian; fields are read and written with the get/put helpers at byte
 * offsets, so no packed structs and no alignment assumptions.
 */
#ifndef IPDK_NVMF_PROTO_H
#define IPDK_NVMF_PROTO_H

#include <stdint.h>
#include <string.h>

/* ---- little-endian access ------------------------------------------------- */

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static inline uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Copies s into a fixed field, padded with spaces (Identify strings) or NULs. */
static inline void put_str(uint8_t *p, size_t n, const char *s, char pad)
{
	size_t l = strlen(s);   /* s is a NUL-terminated string */

	if (l > n)
		l = n;

	memcpy(p, s, l);
	memset(p + l, pad, n - l);
}

/* ---- NVMe/TCP PDUs -------------------------------------------------------- */

enum {
	PDU_ICREQ = 0x00,
	PDU_ICRESP = 0x01,
	PDU_H2C_TERM = 0x02,
	PDU_C2H_TERM = 0x03,
	PDU_CMD = 0x04,
	PDU_RESP = 0x05,
	PDU_H2C_DATA = 0x06,
	PDU_C2H_DATA = 0x07,
	PDU_R2T = 0x09,
};

/* common header: type, flags, hlen, pdo, plen (4) */
#define PDU_CH_LEN 8
#define PDU_F_HDGST 0x01
#define PDU_F_DDGST 0x02
#define PDU_F_LAST 0x04      /* H2CData/C2HData: last PDU of the transfer */
#define PDU_F_SUCCESS 0x08   /* C2HData: no CapsuleResp follows */

#define PDU_IC_LEN 128
#define PDU_CMD_HLEN 72      /* 8 + 64-byte SQE */
#define PDU_RESP_HLEN 24     /* 8 + 16-byte CQE */
#define PDU_DATA_HLEN 24     /* H2CData, C2HData */
#define PDU_R2T_HLEN 24
#define PDU_TERM_HLEN 24
#define PDU_TERM_MAX 152     /* header + up to 128 bytes of the offending PDU */
#define DGST_LEN 4

/* ICReq/ICResp fields */
#define IC_PFV 8
#define IC_HPDA 10           /* ICReq: host PDU data alignment; ICResp: CPDA */
#define IC_DGST 11           /* bit 0 header digest, bit 1 data digest */
#define IC_MAXR2T 12         /* ICReq (0's based) */
#define IC_MAXH2CDATA 12     /* ICResp */

/* data PDUs, R2T */
#define DATA_CCCID 8
#define DATA_TTAG 10
#define DATA_OFFSET 12
#define DATA_LEN 16

/* TermReq */
#define TERM_FES 8
#define TERM_FEI 10
enum {
	FES_INVALID_HEADER = 1,
	FES_PDU_SEQUENCE = 2,
	FES_HDGST = 3,
	FES_DATA_RANGE = 4,
	FES_DATA_LIMIT = 5,
	FES_UNSUPPORTED = 6,
};

/* ---- submission queue entry (64 bytes) ----------------------------------- */

#define SQE_LEN 64
#define SQE_OPC 0
#define SQE_FLAGS 1          /* bits 7:6 PSDT: 01/10 = SGL */
#define SQE_CID 2
#define SQE_NSID 4
#define SQE_SGL 24           /* address (8), length (4), rsvd (3), type (1) */
#define SQE_CDW10 40
#define SQE_CDW11 44
#define SQE_CDW12 48
#define SQE_CDW13 52
#define SQE_CDW14 56
#define SQE_CDW15 60

#define SGL_TYPE_DATA_OFFSET 0x01      /* data block, offset: in-capsule data */
#define SGL_TYPE_TRANSPORT 0x5a        /* transport data block, transport specific */

/* ---- completion queue entry (16 bytes) ----------------------------------- */

#define CQE_LEN 16
#define CQE_DW0 0
#define CQE_DW1 4
#define CQE_SQHD 8
#define CQE_SQID 10
#define CQE_CID 12
#define CQE_STATUS 14        /* phase bit 0, SC 8:1, SCT 11:9, DNR 15 */

#define NVME_STATUS(sct, sc) ((uint16_t)(((sct) << 8) | (sc)))
#define STATUS_SCT(s) ((s) >> 8)
#define STATUS_SC(s) ((s) & 0xff)
#define STATUS_DNR 0x8000u   /* in our (sct << 8 | sc) form, ORed in when sending */

enum {
	SC_SUCCESS = 0x00,
	SC_INVALID_OPCODE = 0x01,
	SC_INVALID_FIELD = 0x02,
	SC_DATA_XFER_ERROR = 0x04,
	SC_INTERNAL = 0x06,
	SC_ABORTED_SQ_DELETION = 0x08,
	SC_INVALID_NS = 0x0b,
	SC_CMD_SEQ_ERROR = 0x0c,
	SC_SGL_LENGTH_INVALID = 0x0f,
	SC_SGL_TYPE_INVALID = 0x11,
	SC_LBA_RANGE = 0x80,
	SC_NS_NOT_READY = 0x82,
	/* SCT 1 */
	SC_AER_LIMIT = 0x05,
	SC_WRITE_READ_ONLY = 0x82,
	SC_CONNECT_FORMAT = 0x80,
	SC_CONNECT_BUSY = 0x81,
	SC_CONNECT_INVALID_PARAM = 0x82,
	SC_CONNECT_INVALID_HOST = 0x84,
	/* SCT 2 */
	SC_WRITE_FAULT = 0x80,
	SC_READ_ERROR = 0x81,
};

/* ---- opcodes -------------------------------------------------------------- */

enum {
	ADM_GET_LOG_PAGE = 0x02,
	ADM_IDENTIFY = 0x06,
	ADM_ABORT = 0x08,
	ADM_SET_FEATURES = 0x09,
	ADM_GET_FEATURES = 0x0a,
	ADM_ASYNC_EVENT = 0x0c,
	ADM_KEEP_ALIVE = 0x18,
	NVM_FLUSH = 0x00,
	NVM_WRITE = 0x01,
	NVM_READ = 0x02,
	NVM_WRITE_ZEROES = 0x08,
	NVM_DSM = 0x09,
	OPC_FABRICS = 0x7f,
};

/* Fabrics command types (SQE byte 4) and their fields */
#define FAB_FCTYPE 4
enum {
	FCTYPE_PROP_SET = 0x00,
	FCTYPE_CONNECT = 0x01,
	FCTYPE_PROP_GET = 0x04,
	FCTYPE_DISCONNECT = 0x08,
};
#define CONNECT_RECFMT 40
#define CONNECT_QID 42
#define CONNECT_SQSIZE 44
#define CONNECT_CATTR 46
#define CONNECT_KATO 48
#define CONNECT_DATA_LEN 1024
#define CONNECT_HOSTID 0
#define CONNECT_CNTLID 16
#define CONNECT_SUBNQN 256
#define CONNECT_HOSTNQN 512
#define PROP_ATTRIB 40       /* bit 0: 8-byte property */
#define PROP_OFFSET 44
#define PROP_VALUE 48

/* properties */
enum {
	PROP_CAP = 0x00,
	PROP_VS = 0x08,
	PROP_CC = 0x14,
	PROP_CSTS = 0x1c,
};
#define CC_EN 0x1u
#define CC_SHN(cc) (((cc) >> 14) & 3)
#define CSTS_RDY 0x1u
#define CSTS_SHST_DONE (2u << 2)

/* features */
enum {
	FEAT_VWC = 0x06,
	FEAT_NUM_QUEUES = 0x07,
	FEAT_ASYNC_EVENT = 0x0b,
	FEAT_KATO = 0x0f,
};

/* log pages */
enum {
	LOG_ERROR = 0x01,
	LOG_SMART = 0x02,
	LOG_FW_SLOT = 0x03,
	LOG_DISCOVERY = 0x70,
};

/* Identify CNS values */
enum {
	CNS_NS = 0x00,
	CNS_CTRL = 0x01,
	CNS_ACTIVE_NS = 0x02,
	CNS_NS_DESC = 0x03,
};
#define IDENTIFY_LEN 4096

/* Identify Controller offsets */
#define IDC_VID 0
#define IDC_SSVID 2
#define IDC_SN 4             /* 20 bytes */
#define IDC_MN 24            /* 40 bytes */
#define IDC_FR 64            /* 8 bytes */
#define IDC_RAB 72
#define IDC_CMIC 76
#define IDC_MDTS 77
#define IDC_CNTLID 78
#define IDC_VER 80
#define IDC_CTRATT 96
#define IDC_CNTRLTYPE 111
#define IDC_OACS 256
#define IDC_ACL 258
#define IDC_AERL 259
#define IDC_LPA 261
#define IDC_ELPE 262
#define IDC_KAS 320
#define IDC_SQES 512
#define IDC_CQES 513
#define IDC_MAXCMD 514
#define IDC_NN 516
#define IDC_ONCS 520
#define IDC_VWC 525
#define IDC_SGLS 536
#define IDC_SUBNQN 768
#define IDC_IOCCSZ 1792
#define IDC_IORCSZ 1796
#define IDC_ICDOFF 1800
#define IDC_FCATT 1802
#define IDC_MSDBD 1803

/* Identify Namespace offsets */
#define IDN_NSZE 0
#define IDN_NCAP 8
#define IDN_NUSE 16
#define IDN_NLBAF 25
#define IDN_FLBAS 26
#define IDN_DLFEAT 33
#define IDN_NMIC 30
#define IDN_NGUID 104
#define IDN_LBAF0 128        /* MS (2), LBADS (1), RP (1) */

/* Namespace identification descriptor types */
#define NIDT_UUID 3

/* Discovery log page */
#define DISC_GENCTR 0
#define DISC_NUMREC 8
#define DISC_RECFMT 16
#define DISC_HDR_LEN 1024
#define DISC_ENTRY_LEN 1024
#define DE_TRTYPE 0
#define DE_ADRFAM 1
#define DE_SUBTYPE 2
#define DE_TREQ 3
#define DE_PORTID 4
#define DE_CNTLID 6
#define DE_ASQSZ 8
#define DE_TRSVCID 32
#define DE_SUBNQN 256
#define DE_TRADDR 512
#define TRTYPE_TCP 3
#define ADRFAM_IPV4 1
#define ADRFAM_IPV6 2
#define SUBTYPE_DISCOVERY 1
#define SUBTYPE_NVME 2

#define NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"
#define NQN_FIELD_LEN 256
#define NQN_MAX 223

/* CRC32C (Castagnoli) as NVMe/TCP digests use it: initial ~0, final ~. */
uint32_t nvmf_crc32c(uint32_t crc, const void *buf, size_t len);
#define CRC32C_INIT 0xffffffffu
#define crc32c_final(c) ((c) ^ 0xffffffffu)

#endif
