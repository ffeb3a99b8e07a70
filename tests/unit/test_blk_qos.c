/*
 * Tests of lib/blk's QoS device (bdev_qos.c) over a RAM device, with a clock
 * the test moves by hand so that what waits and what is released is exact:
 * the burst an idle device allows, per-operation buckets (reads held while
 * writes pass), a bandwidth debt from an I/O larger than the burst, buckets
 * shared by two channels, arrival order kept behind a waiting I/O, limits
 * changed and lifted while I/O waits, the channel's depth, refusals; and with
 * the real clock, that the channel's fd wakes a sleeper when waiting I/O may
 * go and is quiet once nothing waits.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipdk/blk.h"

#define BS 512
#define MS 1000000ull

static uint64_t fake_now = 1000 * MS;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* A pool of I/Os that records the order in which they complete. */
struct pool {
	struct ipdk_blk_io io[300];
	struct iovec iov[300];
	uint8_t *buf;
	unsigned int done;
	int order[512];          /* completions in order: a test may reuse the I/Os */
	int status[300];
};

static void pool_cb(struct ipdk_blk_io *io, int status)
{
	struct pool *p = io->cb_arg;
	int i = (int)(io - p->io);

	p->status[i] = status;
	p->order[p->done++] = i;
}

static struct pool *pool_new(size_t bytes)
{
	struct pool *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->buf = calloc(1, bytes);
	assert_non_null(p->buf);
	return p;
}

static void pool_free(struct pool *p)
{
	free(p->buf);
	free(p);
}

static int submit(struct ipdk_blk_channel *ch, struct pool *p, int i, enum ipdk_blk_op op,
		  uint32_t blocks)
{
	struct ipdk_blk_io *io = &p->io[i];

	p->iov[i] = (struct iovec){ p->buf, (size_t)blocks * BS };
	*io = (struct ipdk_blk_io){ .op = op, .offset_blocks = (uint64_t)i % 64,
				    .num_blocks = op == IPDK_BLK_FLUSH ? 0 : blocks,
				    .iov = &p->iov[i], .iovcnt = 1, .cb = pool_cb, .cb_arg = p };
	return ipdk_blk_submit(ch, io);
}

static void make(const char *name, const struct ipdk_blk_qos_limits *l,
		 struct ipdk_blk_dev **ram, struct ipdk_blk_dev **qos)
{
	struct ipdk_blk_qos_opts o = { .clock_ns = fake_clock };
	char base[64];
	struct ipdk_err err;

	if (l)
		o.limits = *l;
	snprintf(base, sizeof(base), "%s-base", name);
	assert_int_equal(ipdk_blk_ram_create(base, BS, 2048, ram, &err), 0);
	assert_int_equal(ipdk_blk_qos_create(name, base, &o, qos, &err), 0);
}

static void drop(struct ipdk_blk_dev *ram, struct ipdk_blk_dev *qos)
{
	ipdk_blk_delete(qos->name, NULL);
	ipdk_blk_put(qos);
	ipdk_blk_delete(ram->name, NULL);
	ipdk_blk_put(ram);
}

static unsigned int waiting(struct ipdk_blk_dev *qos)
{
	struct ipdk_blk_qos_stats st;

	assert_int_equal(ipdk_blk_qos_get(qos, NULL, &st), 0);
	return st.waiting;
}

static void test_unlimited_passes_data(void **state)
{
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_blk_qos_stats st;
	struct ipdk_err err;
	uint8_t w[4096], r[4096];
	struct iovec wi = { w, sizeof(w) }, ri = { r, sizeof(r) };
	struct ipdk_blk_io io = { .op = IPDK_BLK_WRITE, .offset_blocks = 8, .num_blocks = 8,
				  .iov = &wi, .iovcnt = 1 };

	(void)state;
	make("qos-plain", NULL, &ram, &qos);
	assert_int_equal(qos->block_size, BS);
	assert_int_equal(qos->num_blocks, 2048);
	assert_true(ipdk_blk_supports(qos, IPDK_BLK_DISCARD));
	assert_int_equal(ipdk_blk_channel_open(qos, 16, &ch, &err), 0);
	assert_true(ipdk_blk_channel_fd(ch) >= 0);
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(ipdk_blk_io_sync(ch, &io), 0);
	io = (struct ipdk_blk_io){ .op = IPDK_BLK_READ, .offset_blocks = 8, .num_blocks = 8,
				   .iov = &ri, .iovcnt = 1 };
	assert_int_equal(ipdk_blk_io_sync(ch, &io), 0);
	assert_memory_equal(w, r, sizeof(w));
	/* the base device's checks still apply */
	io.offset_blocks = 2047;
	assert_int_equal(ipdk_blk_submit(ch, &io), -ERANGE);
	assert_int_equal(ipdk_blk_qos_get(qos, NULL, &st), 0);
	assert_int_equal(st.waited, 0);
	ipdk_blk_channel_close(ch);
	drop(ram, qos);
}

static void test_iops_burst_then_rate(void **state)
{
	struct ipdk_blk_qos_limits l = { .rd_iops = 1000 };   /* burst: 100 */
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_blk_qos_stats st;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-iops", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &ch, &err), 0);
	for (int i = 0; i < 150; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	assert_int_equal(waiting(qos), 50);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);
	ipdk_blk_poll(ch, 0);                 /* no time passed: nothing more */
	assert_int_equal(p->done, 100);
	fake_now += 10 * MS;                  /* 10 tokens */
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 110);
	assert_int_equal(waiting(qos), 40);
	fake_now += 39 * MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 149);
	fake_now += MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 150);
	for (int i = 0; i < 150; i++) {
		assert_int_equal(p->order[i], i);
		assert_int_equal(p->status[i], 0);
	}
	assert_int_equal(ipdk_blk_qos_get(qos, NULL, &st), 0);
	assert_int_equal(st.waited, 50);
	assert_int_equal(st.waiting, 0);
	/* a long idle time refills no more than the burst */
	fake_now += 60000 * MS;
	p->done = 0;
	for (int i = 0; i < 101; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);
	fake_now += MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 101);
	ipdk_blk_channel_close(ch);
	drop(ram, qos);
	pool_free(p);
}

static void test_reads_wait_writes_pass(void **state)
{
	struct ipdk_blk_qos_limits l = { .rd_iops = 1000 };
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *rd, *wr;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-perop", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &rd, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &wr, &err), 0);
	for (int i = 0; i < 101; i++)
		assert_int_equal(submit(rd, p, i, IPDK_BLK_READ, 1), 0);
	assert_int_equal(waiting(qos), 1);
	for (int i = 101; i < 151; i++)
		assert_int_equal(submit(wr, p, i, IPDK_BLK_WRITE, 1), 0);
	for (int i = 151; i < 161; i++)
		assert_int_equal(submit(wr, p, i, IPDK_BLK_DISCARD, 1), 0);
	ipdk_blk_poll(wr, 0);
	assert_int_equal(p->done, 60);        /* writes and discards do not wait for reads */
	assert_int_equal(waiting(qos), 1);
	ipdk_blk_poll(rd, 0);
	assert_int_equal(p->done, 160);
	fake_now += MS;
	ipdk_blk_poll(rd, 0);
	assert_int_equal(p->done, 161);
	ipdk_blk_channel_close(rd);
	ipdk_blk_channel_close(wr);
	drop(ram, qos);
	pool_free(p);
}

static void test_bandwidth_debt(void **state)
{
	/* 1 MiB/s: the burst is 104857.6 bytes; a 256 KiB write goes on it and
	 * leaves a debt of 157286.4 bytes, 150 ms at the rate */
	struct ipdk_blk_qos_limits l = { .wr_bps = 1 << 20 };
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct pool *p = pool_new(256 << 10);

	(void)state;
	make("qos-bw", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 64, &ch, &err), 0);
	assert_int_equal(submit(ch, p, 0, IPDK_BLK_WRITE, 512), 0);
	assert_int_equal(submit(ch, p, 1, IPDK_BLK_WRITE, 8), 0);
	assert_int_equal(submit(ch, p, 2, IPDK_BLK_READ, 8), 0);   /* behind the write */
	assert_int_equal(waiting(qos), 2);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 1);
	fake_now += 150 * MS;                 /* exactly paid off: not positive yet */
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 1);
	fake_now += MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 3);
	assert_int_equal(p->order[1], 1);
	assert_int_equal(p->order[2], 2);
	ipdk_blk_channel_close(ch);
	drop(ram, qos);
	pool_free(p);
}

static void test_shared_by_channels(void **state)
{
	struct ipdk_blk_qos_limits l = { .rw_iops = 2000 };    /* burst: 200 */
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *a, *b;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-shared", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &a, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &b, &err), 0);
	for (int i = 0; i < 120; i++)
		assert_int_equal(submit(a, p, i, IPDK_BLK_READ, 1), 0);
	for (int i = 120; i < 240; i++)
		assert_int_equal(submit(b, p, i, IPDK_BLK_WRITE, 1), 0);
	assert_int_equal(waiting(qos), 40);   /* 120 + 80 went */
	ipdk_blk_poll(a, 0);
	ipdk_blk_poll(b, 0);
	assert_int_equal(p->done, 200);
	fake_now += 10 * MS;                  /* 20 tokens: b's head gets them */
	ipdk_blk_poll(b, 0);
	ipdk_blk_poll(a, 0);
	assert_int_equal(p->done, 220);
	assert_int_equal(waiting(qos), 20);
	ipdk_blk_channel_close(a);
	fake_now += 10 * MS;
	ipdk_blk_channel_close(b);            /* waits for its I/O to be released */
	assert_int_equal(p->done, 240);
	drop(ram, qos);
	pool_free(p);
}

static void test_order_and_flush(void **state)
{
	struct ipdk_blk_qos_limits l = { .wr_iops = 1000 };
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-order", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &ch, &err), 0);
	for (int i = 0; i < 102; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_WRITE, 1), 0);
	/* a flush and a read cost nothing here but keep their place */
	assert_int_equal(submit(ch, p, 102, IPDK_BLK_FLUSH, 0), 0);
	assert_int_equal(submit(ch, p, 103, IPDK_BLK_READ, 1), 0);
	assert_int_equal(waiting(qos), 4);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);
	fake_now += MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 101);
	fake_now += MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 104);
	for (int i = 0; i < 104; i++)
		assert_int_equal(p->order[i], i);
	/* without a waiting I/O, a flush goes at once although the bucket is empty */
	p->done = 0;
	assert_int_equal(submit(ch, p, 0, IPDK_BLK_FLUSH, 0), 0);
	assert_int_equal(waiting(qos), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 1);
	ipdk_blk_channel_close(ch);
	drop(ram, qos);
	pool_free(p);
}

static void test_limits_change_while_waiting(void **state)
{
	struct ipdk_blk_qos_limits l = { .rw_iops = 1000 }, none = { 0 }, got;
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-change", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_qos_get(qos, &got, NULL), 0);
	assert_int_equal(got.rw_iops, 1000);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &ch, &err), 0);
	for (int i = 0; i < 130; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);
	/* a lower limit: at most its (smaller) burst is left, the debt rules */
	l.rw_iops = 1000;
	l.rd_iops = 100;                      /* a new bucket starts full: 10 */
	assert_int_equal(ipdk_blk_qos_set_limits(qos, &l, &err), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);       /* rw is empty */
	fake_now += 5 * MS;
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 105);
	fake_now += 10 * MS;                  /* rw: 10 more, rd: 5 left + 1 more */
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 111);
	/* lifted: everything waiting goes with the next poll */
	assert_int_equal(ipdk_blk_qos_set_limits(qos, &none, &err), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 130);
	assert_int_equal(waiting(qos), 0);
	/* and new I/O does not wait at all */
	for (int i = 0; i < 200; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	assert_int_equal(waiting(qos), 0);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 330);
	ipdk_blk_channel_close(ch);
	drop(ram, qos);
	pool_free(p);
}

static void test_depth_counts_waiting(void **state)
{
	struct ipdk_blk_qos_limits l = { .rd_iops = 1000 };
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);

	(void)state;
	make("qos-depth", &l, &ram, &qos);
	assert_int_equal(ipdk_blk_channel_open(qos, 104, &ch, &err), 0);
	for (int i = 0; i < 104; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	assert_int_equal(submit(ch, p, 104, IPDK_BLK_READ, 1), -EAGAIN);
	ipdk_blk_poll(ch, 0);
	assert_int_equal(p->done, 100);
	assert_int_equal(submit(ch, p, 104, IPDK_BLK_READ, 1), 0);
	fake_now += 5 * MS;
	ipdk_blk_channel_close(ch);
	assert_int_equal(p->done, 105);
	drop(ram, qos);
	pool_free(p);
}

static void test_refusals(void **state)
{
	struct ipdk_blk_qos_limits big = { .wr_iops = 1000000001ull }, bw = { .rd_bps = 1ull << 45 };
	struct ipdk_blk_qos_opts o = { 0 };
	struct ipdk_blk_dev *ram, *qos, *x;
	struct ipdk_err err;

	(void)state;
	make("qos-refuse", NULL, &ram, &qos);
	assert_int_equal(ipdk_blk_qos_create("qos-none", "no-such-base", &o, &x, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "qos-none"));
	assert_int_equal(ipdk_blk_qos_create("qos-refuse", "qos-refuse-base", &o, &x, &err),
			 -EEXIST);
	o.limits = big;
	assert_int_equal(ipdk_blk_qos_create("qos-x", "qos-refuse-base", &o, &x, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "wr_iops"));
	assert_int_equal(ipdk_blk_qos_set_limits(qos, &bw, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rd_bps"));
	assert_int_equal(ipdk_blk_qos_set_limits(ram, &big, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a QoS device"));
	assert_int_equal(ipdk_blk_qos_get(ram, NULL, NULL), -EINVAL);
	/* a QoS device keeps its base alive after the base's name is gone */
	assert_int_equal(ipdk_blk_delete(ram->name, &err), 0);
	ipdk_blk_put(ram);
	{
		struct ipdk_blk_channel *ch;
		uint8_t b[BS];
		struct iovec iov = { b, BS };
		struct ipdk_blk_io io = { .op = IPDK_BLK_READ, .num_blocks = 1, .iov = &iov,
					  .iovcnt = 1 };

		assert_int_equal(ipdk_blk_channel_open(qos, 4, &ch, &err), 0);
		assert_int_equal(ipdk_blk_io_sync(ch, &io), 0);
		ipdk_blk_channel_close(ch);
	}
	ipdk_blk_delete(qos->name, NULL);
	ipdk_blk_put(qos);
}

/* With the real clock: the fd wakes a sleeper when waiting I/O may go, and is
 * quiet when nothing waits. */
static void test_fd_wakes_and_rests(void **state)
{
	struct ipdk_blk_qos_opts o = { .limits = { .rd_iops = 1000 } };
	struct ipdk_blk_dev *ram, *qos;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	struct pool *p = pool_new(BS);
	struct pollfd pfd;
	int wakeups = 0;

	(void)state;
	assert_int_equal(ipdk_blk_ram_create("qos-fd-base", BS, 64, &ram, &err), 0);
	assert_int_equal(ipdk_blk_qos_create("qos-fd", "qos-fd-base", &o, &qos, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(qos, 256, &ch, &err), 0);
	pfd = (struct pollfd){ .fd = ipdk_blk_channel_fd(ch), .events = POLLIN };
	for (int i = 0; i < 120; i++)
		assert_int_equal(submit(ch, p, i, IPDK_BLK_READ, 1), 0);
	while (p->done < 120) {
		/* only the timer can make the fd readable once the first 100 completed */
		int r = poll(&pfd, 1, 5000);

		assert_int_equal(r, 1);
		wakeups++;
		ipdk_blk_poll(ch, 0);
	}
	assert_true(wakeups >= 2);
	/* a timer still armed fires once; after that the fd stays quiet */
	if (poll(&pfd, 1, 200) == 1)
		ipdk_blk_poll(ch, 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	ipdk_blk_channel_close(ch);
	ipdk_blk_delete(qos->name, NULL);
	ipdk_blk_put(qos);
	ipdk_blk_delete(ram->name, NULL);
	ipdk_blk_put(ram);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited_passes_data),
		cmocka_unit_test(test_iops_burst_then_rate),
		cmocka_unit_test(test_reads_wait_writes_pass),
		cmocka_unit_test(test_bandwidth_debt),
		cmocka_unit_test(test_shared_by_channels),
		cmocka_unit_test(test_order_and_flush),
		cmocka_unit_test(test_limits_change_while_waiting),
		cmocka_unit_test(test_depth_counts_waiting),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_fd_wakes_and_rests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
