/*
 * Tests of lib/blk's stand-in device (standin.c): I/O held in arrival order
 * until a RAM device is attached, then passed through with the data right
 * (held and new I/O, a QoS device on top as the SMA stacks it); held I/O
 * failed with -EIO, and an error device failing at once; held I/O cancelled
 * (-ECANCELED, storaged stopping); a wake-up of the
 * channel's fd from another thread's attach; refusals (a device of another
 * size, a second attach, a stand-in's own checks of range and read-only).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipdk/blk.h"

#define BS 512
#define NB 64

struct req {
	struct ipdk_blk_io io;
	struct iovec iov;
	uint8_t buf[BS];
	int status;
	bool done;
	int order;
};

static int n_done;

static void req_cb(struct ipdk_blk_io *io, int status)
{
	struct req *r = io->cb_arg;

	r->status = status;
	r->done = true;
	r->order = n_done++;
}

static void req_init(struct req *r, enum ipdk_blk_op op, uint64_t lba, uint8_t fill)
{
	memset(r, 0, sizeof(*r));
	memset(r->buf, fill, BS);
	r->iov.iov_base = r->buf;
	r->iov.iov_len = BS;
	r->io.op = op;
	r->io.offset_blocks = lba;
	r->io.num_blocks = 1;
	r->io.iov = &r->iov;
	r->io.iovcnt = 1;
	r->io.cb = req_cb;
	r->io.cb_arg = r;
}

static struct ipdk_blk_dev *standin(const char *name, bool failed)
{
	struct ipdk_blk_standin_opts o = { .block_size = BS, .num_blocks = NB,
					   .features = IPDK_BLK_F_WRITE_ZEROES, .failed = failed };
	struct ipdk_blk_dev *d;
	struct ipdk_err err;

	assert_int_equal(ipdk_blk_standin_create(name, &o, &d, &err), 0);
	assert_int_equal(d->num_blocks, NB);
	assert_int_equal(d->block_size, BS);
	assert_true(ipdk_blk_supports(d, IPDK_BLK_WRITE_ZEROES));
	assert_false(ipdk_blk_supports(d, IPDK_BLK_DISCARD));
	return d;
}

static void drain(struct ipdk_blk_channel *ch, struct req *r, int n)
{
	for (int tries = 0; tries < 1000; tries++) {
		int left = 0;

		ipdk_blk_poll(ch, 0);
		for (int i = 0; i < n; i++)
			left += !r[i].done;
		if (!left)
			return;
		usleep(1000);
	}
	fail_msg("I/O did not complete");
}

static void test_hold_then_attach(void **state)
{
	struct ipdk_blk_dev *s = standin("si-attach", false), *ram, *qos;
	struct ipdk_blk_qos_opts qo = { 0 };
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct req r[4], rd;

	(void)state;
	assert_int_equal(ipdk_blk_qos_create("qos-si-attach", "si-attach", &qo, &qos, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(qos, 8, &ch, &err), 0);
	n_done = 0;
	for (int i = 0; i < 3; i++) {
		req_init(&r[i], IPDK_BLK_WRITE, (uint64_t)i, (uint8_t)(0xa0 + i));
		assert_int_equal(ipdk_blk_submit(ch, &r[i].io), 0);
	}
	for (int i = 0; i < 20; i++)
		ipdk_blk_poll(ch, 0);
	for (int i = 0; i < 3; i++)
		assert_false(r[i].done);   /* held */

	assert_int_equal(ipdk_blk_ram_create("si-attach-ram", BS, NB, &ram, &err), 0);
	assert_int_equal(ipdk_blk_standin_attach(s, ram, &err), 0);
	assert_int_equal(ipdk_blk_standin_attach(s, ram, &err), -EALREADY);
	assert_int_equal(ipdk_blk_standin_fail(s, &err), -EALREADY);
	req_init(&r[3], IPDK_BLK_WRITE, 3, 0xa3);
	assert_int_equal(ipdk_blk_submit(ch, &r[3].io), 0);
	drain(ch, r, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].order, i);   /* arrival order kept */
	}
	/* the data is on the RAM device, read back through the stand-in */
	for (int i = 0; i < 4; i++) {
		req_init(&rd, IPDK_BLK_READ, (uint64_t)i, 0);
		assert_int_equal(ipdk_blk_io_sync(ch, &rd.io), 0);
		assert_int_equal(rd.buf[0], 0xa0 + i);
		assert_int_equal(rd.buf[BS - 1], 0xa0 + i);
	}
	req_init(&rd, IPDK_BLK_WRITE_ZEROES, 0, 0);
	assert_int_equal(ipdk_blk_io_sync(ch, &rd.io), 0);
	ipdk_blk_channel_close(ch);
	ipdk_blk_delete("qos-si-attach", NULL);
	ipdk_blk_put(qos);
	ipdk_blk_delete("si-attach", NULL);
	ipdk_blk_put(s);
	ipdk_blk_delete("si-attach-ram", NULL);
	ipdk_blk_put(ram);
}

static void test_fail_held_and_error_device(void **state)
{
	struct ipdk_blk_dev *s = standin("si-fail", false), *e = standin("si-error", true);
	struct ipdk_blk_channel *ch, *ech;
	struct ipdk_err err;
	struct req r[2], x;

	(void)state;
	assert_int_equal(ipdk_blk_channel_open(s, 4, &ch, &err), 0);
	req_init(&r[0], IPDK_BLK_READ, 0, 0);
	req_init(&r[1], IPDK_BLK_WRITE, 1, 1);
	assert_int_equal(ipdk_blk_submit(ch, &r[0].io), 0);
	assert_int_equal(ipdk_blk_submit(ch, &r[1].io), 0);
	ipdk_blk_poll(ch, 0);
	assert_false(r[0].done);
	assert_int_equal(ipdk_blk_standin_fail(s, &err), 0);
	drain(ch, r, 2);
	assert_int_equal(r[0].status, -EIO);
	assert_int_equal(r[1].status, -EIO);
	req_init(&x, IPDK_BLK_READ, 2, 0);
	assert_int_equal(ipdk_blk_io_sync(ch, &x.io), -EIO);
	ipdk_blk_channel_close(ch);

	assert_int_equal(ipdk_blk_channel_open(e, 4, &ech, &err), 0);
	req_init(&x, IPDK_BLK_WRITE, 0, 0);
	assert_int_equal(ipdk_blk_io_sync(ech, &x.io), -EIO);
	/* the core's checks still come first */
	req_init(&x, IPDK_BLK_READ, NB, 0);
	assert_int_equal(ipdk_blk_submit(ech, &x.io), -ERANGE);
	req_init(&x, IPDK_BLK_DISCARD, 0, 0);
	assert_int_equal(ipdk_blk_submit(ech, &x.io), -ENOTSUP);
	ipdk_blk_channel_close(ech);
	ipdk_blk_delete("si-fail", NULL);
	ipdk_blk_put(s);
	ipdk_blk_delete("si-error", NULL);
	ipdk_blk_put(e);
}

static void test_cancel(void **state)
{
	struct ipdk_blk_dev *s = standin("si-cancel", false);
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct req r;

	(void)state;
	assert_int_equal(ipdk_blk_channel_open(s, 4, &ch, &err), 0);
	req_init(&r, IPDK_BLK_WRITE, 0, 1);
	assert_int_equal(ipdk_blk_submit(ch, &r.io), 0);
	ipdk_blk_poll(ch, 0);
	assert_false(r.done);
	assert_int_equal(ipdk_blk_standin_cancel(s), 0);
	drain(ch, &r, 1);
	assert_int_equal(r.status, -ECANCELED);
	assert_int_equal(ipdk_blk_standin_cancel(s), -EALREADY);
	assert_int_equal(ipdk_blk_standin_fail(s, &err), -EALREADY);
	ipdk_blk_channel_close(ch);
	ipdk_blk_delete("si-cancel", NULL);
	ipdk_blk_put(s);
}

struct attacher {
	struct ipdk_blk_dev *s, *base;
};

static void *attach_later(void *arg)
{
	struct attacher *a = arg;
	struct ipdk_err err;

	usleep(50000);
	assert_int_equal(ipdk_blk_standin_attach(a->s, a->base, &err), 0);
	return NULL;
}

static void test_fd_wakes_on_attach(void **state)
{
	struct ipdk_blk_dev *s = standin("si-wake", false), *ram;
	struct ipdk_blk_channel *ch;
	struct attacher a;
	struct ipdk_err err;
	struct pollfd p;
	pthread_t t;
	struct req r;

	(void)state;
	assert_int_equal(ipdk_blk_ram_create("si-wake-ram", BS, NB, &ram, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(s, 4, &ch, &err), 0);
	req_init(&r, IPDK_BLK_READ, 5, 0xff);
	assert_int_equal(ipdk_blk_submit(ch, &r.io), 0);
	p = (struct pollfd){ .fd = ipdk_blk_channel_fd(ch), .events = POLLIN };
	assert_true(p.fd >= 0);
	assert_int_equal(poll(&p, 1, 0), 0);   /* nothing to do while held */
	a = (struct attacher){ s, ram };
	assert_int_equal(pthread_create(&t, NULL, attach_later, &a), 0);
	assert_int_equal(poll(&p, 1, 5000), 1);
	pthread_join(t, NULL);
	drain(ch, &r, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.buf[0], 0);   /* the RAM device's zeroes */
	ipdk_blk_channel_close(ch);
	ipdk_blk_delete("si-wake", NULL);
	ipdk_blk_put(s);
	ipdk_blk_delete("si-wake-ram", NULL);
	ipdk_blk_put(ram);
}

static void test_refusals(void **state)
{
	struct ipdk_blk_dev *s = standin("si-refuse", false), *small, *other_bs;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_blk_ram_create("si-small", BS, NB / 2, &small, &err), 0);
	assert_int_equal(ipdk_blk_standin_attach(s, small, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not 64 of 512 as before"));
	assert_int_equal(ipdk_blk_ram_create("si-4k", 4096, NB, &other_bs, &err), 0);
	assert_int_equal(ipdk_blk_standin_attach(s, other_bs, &err), -EINVAL);
	/* still holding: a failure is accepted */
	assert_int_equal(ipdk_blk_standin_fail(s, &err), 0);
	assert_int_equal(ipdk_blk_standin_attach(small, small, &err), -EINVAL);
	ipdk_blk_delete("si-refuse", NULL);
	ipdk_blk_put(s);
	ipdk_blk_delete("si-small", NULL);
	ipdk_blk_put(small);
	ipdk_blk_delete("si-4k", NULL);
	ipdk_blk_put(other_bs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_then_attach),
		cmocka_unit_test(test_fail_held_and_error_device),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_fd_wakes_on_attach),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
