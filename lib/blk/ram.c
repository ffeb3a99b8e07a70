/*
 * The RAM backend: a device whose blocks live in anonymous memory, mapped
 * lazily so an untouched 1 GiB device costs nothing. Data moves at submit
 * time (a memcpy); the completion is queued and reported from poll, so
 * callbacks never run inside submit. Discard and write-zeroes hand whole
 * pages back to the kernel (they read as zeroes afterwards) and clear the
 * partial pages at the edges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk_internal.h"

struct ram_dev {
	struct ipdk_blk_dev dev;
	uint8_t *mem;
	size_t len;
};

struct ram_channel {
	struct ipdk_blk_channel ch;
	struct blk_done_list done;
};

static void ram_zero(struct ram_dev *r, size_t off, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t start = (off + page - 1) & ~(page - 1);
	size_t end = (off + len) & ~(page - 1);

	if (end <= start || end - start < 16 * page) {
		memset(r->mem + off, 0, len);
		return;
	}
	memset(r->mem + off, 0, start - off);
	if (madvise(r->mem + start, end - start, MADV_DONTNEED) < 0)
		memset(r->mem + start, 0, end - start);
	memset(r->mem + end, 0, off + len - end);
}

static int ram_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct ram_channel *rc = (struct ram_channel *)ch;
	struct ram_dev *r = (struct ram_dev *)ch->dev;
	size_t off = io->offset_blocks * r->dev.block_size;
	size_t len = (size_t)io->num_blocks * r->dev.block_size;

	switch (io->op) {
	case IPDK_BLK_READ:
		for (int i = 0; i < io->iovcnt; i++) {
			memcpy(io->iov[i].iov_base, r->mem + off, io->iov[i].iov_len);
			off += io->iov[i].iov_len;
		}
		break;
	case IPDK_BLK_WRITE:
		for (int i = 0; i < io->iovcnt; i++) {
			memcpy(r->mem + off, io->iov[i].iov_base, io->iov[i].iov_len);
			off += io->iov[i].iov_len;
		}
		break;
	case IPDK_BLK_WRITE_ZEROES:
	case IPDK_BLK_DISCARD:
		ram_zero(r, off, len);
		break;
	case IPDK_BLK_FLUSH:
	default:
		break;
	}
	blk_done_push(ch, &rc->done, io, 0);
	return 0;
}

static unsigned int ram_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	return blk_done_run(ch, &((struct ram_channel *)ch)->done, max);
}

static int ram_channel_create(struct ipdk_blk_dev *dev, unsigned int depth,
			      struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct ram_channel *rc = calloc(1, sizeof(*rc));

	(void)depth;
	if (!rc)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	if (blk_done_init(&rc->ch, &rc->done) < 0) {
		free(rc);
		return ipdk_err_set(err, -errno, "block device %s: eventfd: %s", dev->name,
				    strerror(errno));
	}
	*out = &rc->ch;
	return 0;
}

static void ram_channel_destroy(struct ipdk_blk_channel *ch)
{
	blk_done_fini(ch);
	free(ch);
}

static void ram_destroy(struct ipdk_blk_dev *dev)
{
	struct ram_dev *r = (struct ram_dev *)dev;

	munmap(r->mem, r->len);
	free(r);
}

static const struct ipdk_blk_ops ram_ops = {
	.name = "ram",
	.channel_create = ram_channel_create,
	.channel_destroy = ram_channel_destroy,
	.submit = ram_submit,
	.poll = ram_poll,
	.destroy = ram_destroy,
};

int ipdk_blk_ram_create(const char *name, uint32_t block_size, uint64_t num_blocks,
			struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	struct ram_dev *r;
	int rc;

	if (strlen(name) >= IPDK_BLK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "block device %.*s...: name too long",
				    IPDK_BLK_NAME_MAX - 1, name);
	if (num_blocks == 0 || block_size == 0 || num_blocks > (1ull << 46) / block_size)
		return ipdk_err_set(err, -EINVAL,
				    "RAM device %s: size %llu x %u is zero or above 64 TiB", name,
				    (unsigned long long)num_blocks, block_size);
	r = calloc(1, sizeof(*r));
	if (!r)
		return ipdk_err_set(err, -ENOMEM, "RAM device %s: out of memory", name);
	strcpy(r->dev.name, name);
	r->dev.block_size = block_size;
	r->dev.num_blocks = num_blocks;
	r->dev.features = IPDK_BLK_F_WRITE_ZEROES | IPDK_BLK_F_DISCARD;
	r->dev.ops = &ram_ops;
	r->len = (size_t)num_blocks * block_size;
	r->mem = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->mem == MAP_FAILED) {
		rc = -errno;
		free(r);
		return ipdk_err_set(err, rc, "RAM device %s: cannot map %zu bytes: %s", name,
				    (size_t)num_blocks * block_size, strerror(-rc));
	}
	rc = ipdk_blk_register(&r->dev, err);
	if (rc < 0) {
		ram_destroy(&r->dev);
		return rc;
	}
	*out = &r->dev;
	return 0;
}
