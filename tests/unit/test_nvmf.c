/*
 * Tests of lib/nvmf: CRC32C against known vectors (both code paths agree on
 * odd lengths and alignments), NQN validation, the target's configuration
 * rules and their error messages, and, over loopback to an in-process target,
 * an initiator giving up on a controller whose target went away (its held
 * I/O fails at once, another controller's keeps waiting).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <poll.h>

#include <cmocka.h>

#include "ipdk/blk.h"
#include "ipdk/nvmf.h"
#include "../../lib/nvmf/pdu.h"
#include "../../lib/nvmf/proto.h"

static void test_crc32c(void **state)
{
	uint8_t buf[4096 + 8];

	(void)state;
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, "123456789", 9)), 0xe3069283u);
	memset(buf, 0, 32);
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, buf, 32)), 0x8a9136aau);
	memset(buf, 0xff, 32);
	assert_int_equal(crc32c_final(nvmf_crc32c(CRC32C_INIT, buf, 32)), 0x62a8ab43u);
	/* split computation equals one pass, at every alignment */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 7);
	for (size_t off = 0; off < 8; off++) {
		uint32_t whole = nvmf_crc32c(CRC32C_INIT, buf + off, 4093);
		uint32_t split = nvmf_crc32c(nvmf_crc32c(CRC32C_INIT, buf + off, 1001),
					     buf + off + 1001, 3092);

		assert_int_equal(whole, split);
	}
}

static void test_nqn(void **state)
{
	char longnqn[300];

	(void)state;
	assert_true(ipdk_nvmf_nqn_valid("nqn.2024-01.io.ipdk:vol0"));
	assert_true(ipdk_nvmf_nqn_valid(IPDK_NVMF_DISCOVERY_NQN));
	assert_true(ipdk_nvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:"
					"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
	assert_false(ipdk_nvmf_nqn_valid(""));
	assert_false(ipdk_nvmf_nqn_valid("nqn"));
	assert_false(ipdk_nvmf_nqn_valid("iqn.2024-01.io.ipdk:x"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.24-01.io.ipdk:x"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.2024-01.io.ipdk:with space"));
	assert_false(ipdk_nvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:short"));
	memset(longnqn, 'a', sizeof(longnqn));
	memcpy(longnqn, "nqn.2024-01.io.ipdk:", 20);
	longnqn[224] = '\0';
	assert_false(ipdk_nvmf_nqn_valid(longnqn));
}

static int count_subsys(const struct ipdk_nvmf_subsys_info *info, void *arg)
{
	(void)info;
	(*(int *)arg)++;
	return 0;
}

static void test_config(void **state)
{
	struct ipdk_nvmf_tgt_opts bad = { .max_io_size = 3000 };
	struct ipdk_nvmf_tgt *tgt;
	struct ipdk_blk_dev *dev;
	struct ipdk_err err;
	const char *nqn = "nqn.2024-01.io.ipdk:t";
	int n = 0;

	(void)state;
	assert_int_equal(ipdk_nvmf_tgt_create(&bad, &tgt, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "3000"));
	assert_int_equal(ipdk_nvmf_tgt_create(NULL, &tgt, &err), 0);
	assert_int_equal(ipdk_nvmf_tgt_listen(tgt, "not-an-ip", 0, &err), -EINVAL);
	assert_int_equal(ipdk_nvmf_tgt_listen(tgt, "127.0.0.1", 0, &err), 0);
	assert_true(ipdk_nvmf_tgt_port(tgt) > 0);
	assert_int_equal(ipdk_blk_ram_create("tr0", 512, 64, &dev, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, IPDK_NVMF_DISCOVERY_NQN, NULL, &err), -EINVAL);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, nqn, NULL, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, nqn, NULL, &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "tr0", &err), 1);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "tr0", &err), 2);   /* shared device */
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 2, "tr0", &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 33, "tr0", &err), -ERANGE);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 0, "none", &err), -ENOENT);
	assert_non_null(strstr(err.msg, nqn));
	assert_int_equal(ipdk_nvmf_ns_add(tgt, IPDK_NVMF_DISCOVERY_NQN, 0, "tr0", &err), -EPERM);
	assert_int_equal(ipdk_nvmf_host_add(tgt, nqn, "nqn.2024-01.io.ipdk:h1", &err), 0);
	assert_int_equal(ipdk_nvmf_host_add(tgt, nqn, "nqn.2024-01.io.ipdk:h1", &err), -EEXIST);
	assert_int_equal(ipdk_nvmf_host_remove(tgt, nqn, "nqn.2024-01.io.ipdk:h2", &err), -ENOENT);
	assert_int_equal(ipdk_nvmf_ns_remove(tgt, nqn, 1, &err), 0);
	assert_int_equal(ipdk_nvmf_ns_remove(tgt, nqn, 1, &err), -ENOENT);
	ipdk_nvmf_subsys_foreach(tgt, count_subsys, &n);
	assert_int_equal(n, 1);   /* the discovery subsystem is not listed */
	assert_int_equal(ipdk_nvmf_subsys_remove(tgt, nqn, &err), 0);
	assert_int_equal(ipdk_nvmf_subsys_remove(tgt, nqn, &err), -ENOENT);
	ipdk_nvmf_tgt_destroy(tgt);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("tr0", &err), 0);
}

struct held_read {
	struct ipdk_blk_channel *ch;
	struct ipdk_blk_io io;
	struct iovec iov;
	uint8_t buf[512];
	int status;
	bool done;
};

static void held_done(struct ipdk_blk_io *io, int status)
{
	struct held_read *r = io->cb_arg;

	r->status = status;
	r->done = true;
}

/* Opens a channel on dev and reads block 0 once (the controller works). */
static void held_open(struct held_read *r, struct ipdk_blk_dev *dev)
{
	struct ipdk_err err;

	memset(r, 0, sizeof(*r));
	assert_int_equal(ipdk_blk_channel_open(dev, 4, &r->ch, &err), 0);
	r->iov = (struct iovec){ r->buf, sizeof(r->buf) };
	r->io = (struct ipdk_blk_io){ .op = IPDK_BLK_READ, .num_blocks = 1, .iov = &r->iov,
				      .iovcnt = 1 };
	assert_int_equal(ipdk_blk_io_sync(r->ch, &r->io), 0);
}

/* Submits the read again, completing into r. */
static void held_submit(struct held_read *r)
{
	r->io.cb = held_done;
	r->io.cb_arg = r;
	r->done = false;
	assert_int_equal(ipdk_blk_submit(r->ch, &r->io), 0);
}

/* Polls r's channel for up to ms milliseconds; returns whether its read completed. */
static bool held_poll(struct held_read *r, int ms)
{
	for (int i = 0; i < ms / 10 && !r->done; i++) {
		struct pollfd p = { .fd = ipdk_blk_channel_fd(r->ch), .events = POLLIN };

		poll(&p, 1, 10);
		ipdk_blk_poll(r->ch, 0);
	}
	return r->done;
}

/* Two nvme-tcp devices (two controllers) on one in-process target that goes away:
 * their reads are held; giving up on one fails its read with -EIO at once (the
 * ctrl-loss timeout is 60 s) while the other's stays held until it is given up
 * on for a stop (-ECANCELED). Backends that never hold say -ENOTSUP. */
static void test_give_up(void **state)
{
	const char *nqn = "nqn.2024-01.io.ipdk:giveup";
	struct ipdk_nvmf_host_opts ho = { .addr = "127.0.0.1", .subnqn = nqn, .io_queues = 1,
					  .ctrl_loss_tmo_ms = 60000 };
	struct ipdk_blk_nvme_opts no = { .host = &ho, .nsid = 1 };
	struct ipdk_blk_dev *ram, *a, *b;
	struct held_read ra, rb;
	struct ipdk_nvmf_tgt *tgt;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_nvmf_tgt_create(NULL, &tgt, &err), 0);
	assert_int_equal(ipdk_nvmf_tgt_listen(tgt, "127.0.0.1", 0, &err), 0);
	ho.port = ipdk_nvmf_tgt_port(tgt);
	assert_int_equal(ipdk_blk_ram_create("gu0", 512, 64, &ram, &err), 0);
	assert_int_equal(ipdk_blk_give_up(ram, false), -ENOTSUP);
	assert_int_equal(ipdk_nvmf_subsys_add(tgt, nqn, &(struct ipdk_nvmf_subsys_opts){
		.allow_any_host = true }, &err), 0);
	assert_int_equal(ipdk_nvmf_ns_add(tgt, nqn, 1, "gu0", &err), 1);
	assert_int_equal(ipdk_blk_nvme_create("gu-a", &no, &a, &err), 0);
	assert_int_equal(ipdk_blk_nvme_create("gu-b", &no, &b, &err), 0);
	held_open(&ra, a);
	held_open(&rb, b);

	ipdk_nvmf_tgt_destroy(tgt);   /* the target goes away for good */
	held_submit(&ra);
	held_submit(&rb);
	assert_false(held_poll(&ra, 300));
	assert_false(held_poll(&rb, 300));
	assert_int_equal(ipdk_blk_give_up(a, false), 0);
	assert_true(held_poll(&ra, 10000));
	assert_int_equal(ra.status, -EIO);
	assert_int_equal(ipdk_nvmf_host_state(ipdk_blk_nvme_host(a)), IPDK_NVMF_HOST_FAILED);
	assert_false(held_poll(&rb, 300));   /* the other controller still holds */
	assert_int_equal(ipdk_nvmf_host_state(ipdk_blk_nvme_host(b)),
			 IPDK_NVMF_HOST_RECONNECTING);
	assert_int_equal(ipdk_blk_give_up(b, true), 0);
	assert_true(held_poll(&rb, 10000));
	assert_int_equal(rb.status, -ECANCELED);

	ipdk_blk_channel_close(ra.ch);
	ipdk_blk_channel_close(rb.ch);
	ipdk_blk_put(a);
	ipdk_blk_put(b);
	assert_int_equal(ipdk_blk_delete("gu-a", &err), 0);
	assert_int_equal(ipdk_blk_delete("gu-b", &err), 0);
	ipdk_blk_put(ram);
	assert_int_equal(ipdk_blk_delete("gu0", &err), 0);
}

/* PDU framing shared by target and initiator: offsets, flags, digests, padding. */
static void test_pdu_frame(void **state)
{
	uint8_t hdr[PDU_CMD_HLEN] = { 0 }, hd[DGST_LEN];
	struct nvmf_pdu_layout l;

	(void)state;
	nvmf_pdu_frame(hdr, PDU_CMD, 0, PDU_CMD_HLEN, 8192, true, true, 0, hd, &l);
	assert_true(l.hd && l.dd);
	assert_int_equal(l.pdo, 76);
	assert_int_equal(l.plen, 72 + 4 + 8192 + 4);
	assert_int_equal(hdr[1], PDU_F_HDGST | PDU_F_DDGST);
	assert_int_equal(hdr[3], 76);
	assert_int_equal(get32(hdr + 4), l.plen);
	assert_int_equal(get32(hd), crc32c_final(nvmf_crc32c(CRC32C_INIT, hdr, PDU_CMD_HLEN)));
	/* data aligned to 16 bytes (a CPDA/HPDA of 3): 24 + 4 pads to 32 */
	nvmf_pdu_frame(hdr, PDU_C2H_DATA, PDU_F_LAST, PDU_DATA_HLEN, 512, true, false, 16, hd, &l);
	assert_int_equal(l.pdo, 32);
	assert_int_equal(l.pad, 4);
	assert_int_equal(l.plen, 32 + 512);
	assert_int_equal(hdr[1], PDU_F_LAST | PDU_F_HDGST);
	/* no data: no data digest, PDO 0 */
	nvmf_pdu_frame(hdr, PDU_RESP, 0, PDU_RESP_HLEN, 0, true, true, 0, hd, &l);
	assert_false(l.dd);
	assert_int_equal(hdr[3], 0);
	assert_int_equal(l.plen, 28);
	/* TermReqs and ICReq/ICResp never carry digests */
	nvmf_pdu_frame(hdr, PDU_H2C_TERM, 0, PDU_TERM_HLEN, 72, true, true, 0, hd, &l);
	assert_false(l.hd || l.dd);
	assert_int_equal(hdr[1], 0);
	assert_int_equal(l.plen, 24 + 72);
	assert_int_equal(nvmf_pdu_hlen(PDU_R2T), 24);
	assert_int_equal(nvmf_pdu_hlen(0x42), 0);
}

/* The data digest over scattered buffers equals the one over the same bytes in one. */
static void test_crc32c_iov(void **state)
{
	uint8_t buf[3000];
	struct iovec iov[3] = { { buf, 7 }, { buf + 7, 1500 }, { buf + 1507, 1493 } };

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(nvmf_crc32c_iov(CRC32C_INIT, iov, 3, 0, sizeof(buf)),
			 nvmf_crc32c(CRC32C_INIT, buf, sizeof(buf)));
	assert_int_equal(nvmf_crc32c_iov(CRC32C_INIT, iov, 3, 5, 2000),
			 nvmf_crc32c(CRC32C_INIT, buf + 5, 2000));
	assert_int_equal(nvmf_crc32c_iov(CRC32C_INIT, iov, 3, 1507, 1),
			 nvmf_crc32c(CRC32C_INIT, buf + 1507, 1));
}

static void test_uuid_parse(void **state)
{
	uint8_t u[16];

	(void)state;
	assert_int_equal(ipdk_nvmf_uuid_parse("1b4e28ba-2fa1-11d2-883f-0016d3cca427", u), 0);
	assert_int_equal(u[0], 0x1b);
	assert_int_equal(u[15], 0x27);
	assert_int_equal(ipdk_nvmf_uuid_parse("1B4E28BA-2FA1-11D2-883F-0016D3CCA427", u), 0);
	assert_int_equal(ipdk_nvmf_uuid_parse("1b4e28ba2fa111d2883f0016d3cca427", u), -EINVAL);
	assert_int_equal(ipdk_nvmf_uuid_parse("1b4e28ba-2fa1-11d2-883f-0016d3cca42", u), -EINVAL);
	assert_int_equal(ipdk_nvmf_uuid_parse("1b4e28ba-2fa1-11d2-883f-0016d3cca4271", u), -EINVAL);
	assert_int_equal(ipdk_nvmf_uuid_parse("zb4e28ba-2fa1-11d2-883f-0016d3cca427", u), -EINVAL);
}

/* The initiator refuses bad options before it touches the network. */
static void test_host_opts(void **state)
{
	struct ipdk_nvmf_host_opts o = { .addr = "127.0.0.1", .subnqn = "nope" };
	struct ipdk_nvmf_host *h;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_nvmf_host_connect(&o, &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'nope' is not a valid NQN"));
	o.subnqn = NULL;
	o.hostnqn = "host";
	assert_int_equal(ipdk_nvmf_host_connect(&o, &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "host NQN"));
	o.hostnqn = NULL;
	o.io_queues = 1000;
	assert_int_equal(ipdk_nvmf_host_connect(&o, &h, &err), -EINVAL);
	o.io_queues = 0;
	o.addr = NULL;
	assert_int_equal(ipdk_nvmf_host_connect(&o, &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no target address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_nqn),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_pdu_frame),
		cmocka_unit_test(test_crc32c_iov),
		cmocka_unit_test(test_uuid_parse),
		cmocka_unit_test(test_host_opts),
		cmocka_unit_test(test_give_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
