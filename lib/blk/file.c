/*
 * The file backend: a device on a regular file or a block device, with one
 * io_uring per channel. Reads and writes go through O_DIRECT when the file
 * system allows it and the buffers are aligned to the device's logical block
 * size; otherwise they take a second, buffered descriptor, so callers never
 * need to care. Flush is fdatasync; write-zeroes and discard are fallocate
 * (ZERO_RANGE and PUNCH_HOLE), all through the ring. Completions come back
 * through an eventfd registered with the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_internal.h"

struct file_dev {
	struct ipdk_blk_dev dev;
	int fd;            /* buffered */
	int dfd;           /* O_DIRECT, or -1 */
	unsigned int align;
};

struct file_channel {
	struct ipdk_blk_channel ch;
	struct io_uring ring;
	struct blk_done_list done;   /* unused by file I/O; owns the channel's eventfd */
};

static bool iov_aligned(const struct ipdk_blk_io *io, unsigned int align)
{
	for (int i = 0; i < io->iovcnt; i++)
		if (((uintptr_t)io->iov[i].iov_base | io->iov[i].iov_len) & (align - 1))
			return false;
	return true;
}

static int file_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io)
{
	struct file_channel *fc = (struct file_channel *)ch;
	struct file_dev *f = (struct file_dev *)ch->dev;
	off_t off = (off_t)io->offset_blocks * f->dev.block_size;
	off_t len = (off_t)io->num_blocks * f->dev.block_size;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fc->ring);
	int fd = f->fd;

	if (!sqe)
		return -EAGAIN;
	if ((io->op == IPDK_BLK_READ || io->op == IPDK_BLK_WRITE) && f->dfd >= 0 &&
	    iov_aligned(io, f->align))
		fd = f->dfd;
	switch (io->op) {
	case IPDK_BLK_READ:
		io_uring_prep_readv(sqe, fd, io->iov, io->iovcnt, off);
		break;
	case IPDK_BLK_WRITE:
		io_uring_prep_writev(sqe, fd, io->iov, io->iovcnt, off);
		break;
	case IPDK_BLK_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case IPDK_BLK_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	case IPDK_BLK_DISCARD:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					off, len);
		break;
	default:
		return -ENOTSUP;
	}
	io_uring_sqe_set_data(sqe, io);
	/* A failed submit (-EBUSY/-EAGAIN: the kernel is short of room)
	 * leaves the SQE in the ring; poll submits it again. */
	io_uring_submit(&fc->ring);
	return 0;
}

static int expected_len(const struct ipdk_blk_io *io, uint32_t bs)
{
	return (int)((size_t)io->num_blocks * bs);
}

static unsigned int file_poll(struct ipdk_blk_channel *ch, unsigned int max)
{
	struct file_channel *fc = (struct file_channel *)ch;
	struct io_uring_cqe *cqe;
	unsigned int n = blk_done_run(ch, &fc->done, max);
	uint64_t v;
	ssize_t r = read(ch->event_fd, &v, sizeof(v));

	(void)r;
	if (io_uring_sq_ready(&fc->ring))
		io_uring_submit(&fc->ring);
	while (n < max && io_uring_peek_cqe(&fc->ring, &cqe) == 0) {
		struct ipdk_blk_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		int status = 0;

		io_uring_cqe_seen(&fc->ring, cqe);
		if (res < 0)
			status = res;
		else if ((io->op == IPDK_BLK_READ || io->op == IPDK_BLK_WRITE) &&
			 res != expected_len(io, ch->dev->block_size))
			status = -EIO;   /* short transfer: past the end of a shrunk file */
		n++;
		blk_complete(ch, io, status);
	}
	return n;
}

static int file_channel_create(struct ipdk_blk_dev *dev, unsigned int depth,
			       struct ipdk_blk_channel **out, struct ipdk_err *err)
{
	struct file_channel *fc = calloc(1, sizeof(*fc));
	int rc;

	if (!fc)
		return ipdk_err_set(err, -ENOMEM, "block device %s: out of memory", dev->name);
	rc = io_uring_queue_init(depth, &fc->ring, 0);
	if (rc < 0) {
		free(fc);
		return ipdk_err_set(err, rc, "block device %s: io_uring with %u entries: %s",
				    dev->name, depth, strerror(-rc));
	}
	if (blk_done_init(&fc->ch, &fc->done) < 0 ||
	    (rc = io_uring_register_eventfd(&fc->ring, fc->ch.event_fd)) < 0) {
		rc = rc < 0 ? rc : -errno;
		blk_done_fini(&fc->ch);
		io_uring_queue_exit(&fc->ring);
		free(fc);
		return ipdk_err_set(err, rc, "block device %s: ring eventfd: %s", dev->name,
				    strerror(-rc));
	}
	*out = &fc->ch;
	return 0;
}

static void file_channel_destroy(struct ipdk_blk_channel *ch)
{
	struct file_channel *fc = (struct file_channel *)ch;

	io_uring_queue_exit(&fc->ring);
	blk_done_fini(ch);
	free(fc);
}

static void file_destroy(struct ipdk_blk_dev *dev)
{
	struct file_dev *f = (struct file_dev *)dev;

	if (f->dfd >= 0)
		close(f->dfd);
	close(f->fd);
	free(f);
}

static const struct ipdk_blk_ops file_ops = {
	.name = "file",
	.channel_create = file_channel_create,
	.channel_destroy = file_channel_destroy,
	.submit = file_submit,
	.poll = file_poll,
	.destroy = file_destroy,
};

static int file_size(int fd, bool is_blk, uint64_t *size)
{
	struct stat st;

	if (is_blk)
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

int ipdk_blk_file_create(const char *name, const char *path,
			 const struct ipdk_blk_file_opts *opts,
			 struct ipdk_blk_dev **out, struct ipdk_err *err)
{
	struct ipdk_blk_file_opts o = opts ? *opts : (struct ipdk_blk_file_opts){ 0 };
	int flags = (o.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct file_dev *f;
	struct stat st;
	uint64_t size;
	int rc;

	if (!o.block_size)
		o.block_size = 512;
	if (strlen(name) >= IPDK_BLK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "block device %.*s...: name too long",
				    IPDK_BLK_NAME_MAX - 1, name);
	f = calloc(1, sizeof(*f));
	if (!f)
		return ipdk_err_set(err, -ENOMEM, "file device %s: out of memory", name);
	f->dfd = -1;
	f->fd = open(path, flags | (o.create && !o.read_only ? O_CREAT : 0), 0600);
	if (f->fd < 0) {
		rc = ipdk_err_set(err, -errno, "file device %s: cannot open %s: %s", name, path,
				  strerror(errno));
		goto fail_free;
	}
	if (fstat(f->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		rc = ipdk_err_set(err, -EINVAL, "file device %s: %s is not a regular file or block device",
				  name, path);
		goto fail_close;
	}
	if (o.create && S_ISREG(st.st_mode) && o.size && (uint64_t)st.st_size < o.size &&
	    ftruncate(f->fd, (off_t)o.size) < 0) {
		rc = ipdk_err_set(err, -errno, "file device %s: cannot extend %s to %llu bytes: %s",
				  name, path, (unsigned long long)o.size, strerror(errno));
		goto fail_close;
	}
	rc = file_size(f->fd, S_ISBLK(st.st_mode), &size);
	if (rc < 0) {
		ipdk_err_set(err, rc, "file device %s: size of %s: %s", name, path, strerror(-rc));
		goto fail_close;
	}
	if (o.size) {
		if (o.size > size) {
			rc = ipdk_err_set(err, -EINVAL, "file device %s: %s holds %llu bytes, %llu asked",
					  name, path, (unsigned long long)size,
					  (unsigned long long)o.size);
			goto fail_close;
		}
		size = o.size;
	}
	if (!o.buffered) {
		f->dfd = open(path, flags | O_DIRECT);
		f->align = o.block_size;
		if (f->dfd >= 0 && S_ISBLK(st.st_mode)) {
			int lbs = 0;

			if (ioctl(f->dfd, BLKSSZGET, &lbs) == 0 && lbs > 0)
				f->align = (unsigned int)lbs;
		}
	}
	strcpy(f->dev.name, name);
	f->dev.block_size = o.block_size;
	f->dev.num_blocks = size / o.block_size;
	f->dev.read_only = o.read_only;
	f->dev.features = IPDK_BLK_F_FLUSH | IPDK_BLK_F_WRITE_ZEROES | IPDK_BLK_F_DISCARD;
	f->dev.ops = &file_ops;
	rc = ipdk_blk_register(&f->dev, err);
	if (rc < 0) {
		ipdk_err_prefix(err, "file device on %s", path);
		file_destroy(&f->dev);
		return rc;
	}
	*out = &f->dev;
	return 0;

fail_close:
	close(f->fd);
fail_free:
	free(f);
	return rc;
}

/* Reports whether the device reads and writes through O_DIRECT (for tests and logs). */
bool ipdk_blk_file_direct(const struct ipdk_blk_dev *dev)
{
	return dev->ops == &file_ops && ((const struct file_dev *)dev)->dfd >= 0;
}
