/*
 * Tests of lib/blk: the RAM and file backends through the common API, with
 * the checks every I/O passes (range, buffers, read-only, depth), several
 * channels on one device, completion only from poll, flush, write-zeroes and
 * discard, O_DIRECT with aligned and unaligned buffers, and the registry's
 * names and references.
 */
#include <errno.h>
#include <fcntl.h>
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

static char tmpdir[] = "/var/tmp/ipdk-test-blk-XXXXXX";

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static int rw(struct ipdk_blk_channel *ch, enum ipdk_blk_op op, uint64_t lba, uint32_t n,
	      void *buf)
{
	struct iovec iov = { buf, (size_t)n * ch->dev->block_size };
	struct ipdk_blk_io io = { .op = op, .offset_blocks = lba, .num_blocks = n,
				  .iov = &iov, .iovcnt = 1 };

	return ipdk_blk_io_sync(ch, &io);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Write, read back, write-zeroes and discard on any device. */
static void check_data_ops(struct ipdk_blk_dev *dev)
{
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	size_t len = 64 * (size_t)dev->block_size;
	uint8_t *a = NULL, *b = NULL;

	assert_int_equal(posix_memalign((void **)&a, 4096, len), 0);
	assert_int_equal(posix_memalign((void **)&b, 4096, len), 0);
	assert_int_equal(ipdk_blk_channel_open(dev, 16, &ch, &err), 0);

	fill(a, len, 1);
	assert_int_equal(rw(ch, IPDK_BLK_WRITE, 100, 64, a), 0);
	memset(b, 0xee, len);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 100, 64, b), 0);
	assert_memory_equal(a, b, len);

	/* scattered: three iovecs of odd sizes adding up to 3 blocks */
	struct iovec iov[3] = { { b, 100 }, { b + 1000, 3 * dev->block_size - 612 },
				{ b + 4000, 512 } };
	struct ipdk_blk_io io = { .op = IPDK_BLK_READ, .offset_blocks = 100, .num_blocks = 3,
				  .iov = iov, .iovcnt = 3 };
	assert_int_equal(ipdk_blk_io_sync(ch, &io), 0);
	assert_memory_equal(b, a, 100);
	assert_memory_equal(b + 1000, a + 100, 3 * dev->block_size - 612);
	assert_memory_equal(b + 4000, a + 3 * dev->block_size - 512, 512);

	/* write-zeroes of the middle, discard of the tail */
	struct ipdk_blk_io wz = { .op = IPDK_BLK_WRITE_ZEROES, .offset_blocks = 110,
				  .num_blocks = 10 };
	assert_int_equal(ipdk_blk_io_sync(ch, &wz), 0);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 100, 64, b), 0);
	assert_memory_equal(b, a, 10 * (size_t)dev->block_size);
	assert_true(all_zero(b + 10 * dev->block_size, 10 * (size_t)dev->block_size));
	assert_memory_equal(b + 20 * dev->block_size, a + 20 * dev->block_size,
			    44 * (size_t)dev->block_size);
	struct ipdk_blk_io dis = { .op = IPDK_BLK_DISCARD, .offset_blocks = 132,
				   .num_blocks = 32 };
	assert_int_equal(ipdk_blk_io_sync(ch, &dis), 0);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 132, 32, b), 0);
	assert_true(all_zero(b, 32 * (size_t)dev->block_size));

	struct ipdk_blk_io fl = { .op = IPDK_BLK_FLUSH };
	assert_int_equal(ipdk_blk_io_sync(ch, &fl), 0);

	ipdk_blk_channel_close(ch);
	free(a);
	free(b);
}

/* Bad requests are refused at submit without a callback. */
static void check_refusals(struct ipdk_blk_dev *dev)
{
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	uint8_t buf[BS * 2];
	struct iovec iov = { buf, BS };
	struct ipdk_blk_io io = { .op = IPDK_BLK_READ, .iov = &iov, .iovcnt = 1,
				  .cb = NULL };

	assert_int_equal(ipdk_blk_channel_open(dev, 4, &ch, &err), 0);
	io.offset_blocks = dev->num_blocks;
	io.num_blocks = 1;
	assert_int_equal(ipdk_blk_submit(ch, &io), -ERANGE);
	io.offset_blocks = dev->num_blocks - 1;
	io.num_blocks = 2;
	assert_int_equal(ipdk_blk_submit(ch, &io), -ERANGE);
	io.offset_blocks = UINT64_MAX;
	io.num_blocks = 2;
	assert_int_equal(ipdk_blk_submit(ch, &io), -ERANGE);
	io.offset_blocks = 0;
	io.num_blocks = 0;
	assert_int_equal(ipdk_blk_submit(ch, &io), -ERANGE);
	io.num_blocks = 2;    /* iov holds one block */
	assert_int_equal(ipdk_blk_submit(ch, &io), -EINVAL);
	io.iovcnt = 0;
	assert_int_equal(ipdk_blk_submit(ch, &io), -EINVAL);
	io.op = (enum ipdk_blk_op)99;
	assert_int_equal(ipdk_blk_submit(ch, &io), -EINVAL);
	assert_int_equal(ch->inflight, 0);
	ipdk_blk_channel_close(ch);
}

static unsigned int completions;

static void count_cb(struct ipdk_blk_io *io, int status)
{
	(void)io;
	assert_int_equal(status, 0);
	completions++;
}

/* Depth is enforced; callbacks run only from poll. */
static void check_depth(struct ipdk_blk_dev *dev)
{
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	static uint8_t buf[8][4096] __attribute__((aligned(4096)));
	struct iovec iov[9];
	struct ipdk_blk_io io[9];

	assert_int_equal(ipdk_blk_channel_open(dev, 8, &ch, &err), 0);
	completions = 0;
	for (int i = 0; i < 9; i++) {
		iov[i] = (struct iovec){ buf[i % 8], dev->block_size };
		io[i] = (struct ipdk_blk_io){ .op = IPDK_BLK_READ, .offset_blocks = (uint64_t)i,
					      .num_blocks = 1, .iov = &iov[i], .iovcnt = 1,
					      .cb = count_cb };
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(ipdk_blk_submit(ch, &io[i]), 0);
	assert_int_equal(ipdk_blk_submit(ch, &io[8]), -EAGAIN);
	assert_int_equal(completions, 0);
	while (completions < 8)
		ipdk_blk_poll(ch, 3);
	assert_int_equal(ch->inflight, 0);
	assert_int_equal(ipdk_blk_submit(ch, &io[8]), 0);
	ipdk_blk_channel_close(ch);   /* waits for the one in flight */
	assert_int_equal(completions, 9);
}

/* Two channels interleaving writes to disjoint halves. */
static void check_channels(struct ipdk_blk_dev *dev)
{
	struct ipdk_blk_channel *c1, *c2;
	struct ipdk_err err;
	uint8_t *a = NULL, *b = NULL;
	size_t len = 8 * (size_t)dev->block_size;

	assert_int_equal(posix_memalign((void **)&a, 4096, len), 0);
	assert_int_equal(posix_memalign((void **)&b, 4096, len), 0);
	assert_int_equal(ipdk_blk_channel_open(dev, 4, &c1, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(dev, 4, &c2, &err), 0);
	for (unsigned int i = 0; i < 16; i++) {
		fill(a, len, i);
		assert_int_equal(rw(i & 1 ? c2 : c1, IPDK_BLK_WRITE, 8 * i, 8, a), 0);
	}
	for (unsigned int i = 0; i < 16; i++) {
		fill(a, len, i);
		assert_int_equal(rw(i & 1 ? c1 : c2, IPDK_BLK_READ, 8 * i, 8, b), 0);
		assert_memory_equal(a, b, len);
	}
	ipdk_blk_channel_close(c1);
	ipdk_blk_channel_close(c2);
	free(a);
	free(b);
}

static void test_ram(void **state)
{
	struct ipdk_blk_dev *dev, *again;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_blk_ram_create("ram0", BS, 4096, &dev, &err), 0);
	assert_int_equal(dev->num_blocks, 4096);
	assert_true(ipdk_blk_supports(dev, IPDK_BLK_DISCARD));
	assert_int_equal(ipdk_blk_ram_create("ram0", BS, 16, &again, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "ram0"));
	check_data_ops(dev);
	check_refusals(dev);
	check_depth(dev);
	check_channels(dev);
	ipdk_blk_put(dev);
	/* still registered: open finds it, data survives */
	assert_int_equal(ipdk_blk_open("ram0", &dev, &err), 0);
	check_channels(dev);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("ram0", &err), 0);
	assert_int_equal(ipdk_blk_open("ram0", &dev, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "ram0"));
	assert_int_equal(ipdk_blk_delete("ram0", &err), -ENOENT);
}

static void test_ram_big_discard(void **state)
{
	struct ipdk_blk_dev *dev;
	struct ipdk_blk_channel *ch;
	struct ipdk_err err;
	uint8_t *buf;
	size_t len = 1 << 20;

	(void)state;
	/* 4 KiB blocks, 1 MiB written and discarded (the madvise path), edges kept */
	assert_int_equal(ipdk_blk_ram_create("ram4k", 4096, 1024, &dev, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(dev, 0, &ch, &err), 0);
	buf = malloc(len + 8192);
	fill(buf, len + 8192, 3);
	assert_int_equal(rw(ch, IPDK_BLK_WRITE, 9, 258, buf), 0);
	struct ipdk_blk_io dis = { .op = IPDK_BLK_DISCARD, .offset_blocks = 10,
				   .num_blocks = 256 };
	assert_int_equal(ipdk_blk_io_sync(ch, &dis), 0);
	uint8_t *got = malloc(len + 8192);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 9, 258, got), 0);
	assert_memory_equal(got, buf, 4096);
	assert_true(all_zero(got + 4096, len));
	assert_memory_equal(got + 4096 + len, buf + 4096 + len, 4096);
	free(buf);
	free(got);
	ipdk_blk_channel_close(ch);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("ram4k", &err), 0);
}

static void test_bad_devices(void **state)
{
	struct ipdk_blk_dev *dev;
	struct ipdk_err err;
	char path[256];

	(void)state;
	assert_int_equal(ipdk_blk_ram_create("bad name", BS, 8, &dev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad name"));
	assert_int_equal(ipdk_blk_ram_create("r", 1000, 8, &dev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1000"));
	assert_int_equal(ipdk_blk_ram_create("r", BS, 0, &dev, &err), -EINVAL);
	assert_int_equal(ipdk_blk_file_create("f", "/nonexistent/x", NULL, &dev, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/x"));
	assert_int_equal(ipdk_blk_file_create("f", "/dev/null", NULL, &dev, &err), -EINVAL);
	snprintf(path, sizeof(path), "%s/small", tmpdir);
	struct ipdk_blk_file_opts o = { .size = 8192, .create = true };
	assert_int_equal(ipdk_blk_file_create("small", path, &o, &dev, &err), 0);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("small", &err), 0);
	o.create = false;
	o.size = 1 << 20;
	assert_int_equal(ipdk_blk_file_create("small", path, &o, &dev, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "8192"));
	assert_int_equal(ipdk_blk_open("small", &dev, &err), -ENOENT);
}

static void test_file(void **state)
{
	struct ipdk_blk_file_opts o = { .block_size = BS, .size = 4 << 20, .create = true };
	struct ipdk_blk_dev *dev;
	struct ipdk_err err;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/disk", tmpdir);
	assert_int_equal(ipdk_blk_file_create("file0", path, &o, &dev, &err), 0);
	assert_int_equal(dev->num_blocks, 8192);
	print_message("file device on %s: O_DIRECT %s\n", tmpdir,
		      ipdk_blk_file_direct(dev) ? "yes" : "no (file system refuses it)");
	check_data_ops(dev);      /* aligned buffers: O_DIRECT when available */
	check_refusals(dev);
	check_depth(dev);
	check_channels(dev);

	/* unaligned buffer: served by the buffered descriptor, same data */
	struct ipdk_blk_channel *ch;
	uint8_t *raw = malloc(BS * 4 + 1), *want = malloc(BS * 4);
	assert_int_equal(ipdk_blk_channel_open(dev, 2, &ch, &err), 0);
	fill(raw + 1, BS * 4, 9);
	assert_int_equal(rw(ch, IPDK_BLK_WRITE, 7, 4, raw + 1), 0);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 7, 4, want), 0);
	assert_memory_equal(raw + 1, want, BS * 4);
	ipdk_blk_channel_close(ch);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("file0", &err), 0);

	/* the data is in the file: reopen read-only and find it; writes refused */
	o.read_only = true;
	o.create = false;
	assert_int_equal(ipdk_blk_file_create("file0", path, &o, &dev, &err), 0);
	assert_int_equal(ipdk_blk_channel_open(dev, 2, &ch, &err), 0);
	memset(want, 0, BS * 4);
	assert_int_equal(rw(ch, IPDK_BLK_READ, 7, 4, want), 0);
	assert_memory_equal(raw + 1, want, BS * 4);
	assert_int_equal(rw(ch, IPDK_BLK_WRITE, 7, 1, want), -EPERM);
	struct ipdk_blk_io wz = { .op = IPDK_BLK_WRITE_ZEROES, .offset_blocks = 0,
				  .num_blocks = 1 };
	assert_int_equal(ipdk_blk_io_sync(ch, &wz), -EPERM);
	ipdk_blk_channel_close(ch);
	ipdk_blk_put(dev);
	assert_int_equal(ipdk_blk_delete("file0", &err), 0);
	free(raw);
	free(want);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram),
		cmocka_unit_test(test_ram_big_discard),
		cmocka_unit_test(test_bad_devices),
		cmocka_unit_test(test_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
