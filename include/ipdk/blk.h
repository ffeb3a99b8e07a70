/*
 * The block layer: block devices behind an ops table (in the manner of SPDK's
 * bdev modules), used by the NVMe/TCP target, the vhost-user-blk frontend and
 * the tests. A device has a name, a block size, a block count and a set of
 * features; it is driven through channels (I/O queues), one per thread.
 *
 * I/O is asynchronous: the submitter owns a struct ipdk_blk_io (usually one
 * per slot of its own queue, allocated once), fills it in and submits it on a
 * channel; the backend completes it later from ipdk_blk_poll() on the same
 * channel by calling io->cb. Nothing is allocated per I/O. A submit that is
 * refused (bad range, read-only device, unsupported operation, channel full)
 * returns a negative errno at once and the callback never runs. Callbacks
 * never run inside ipdk_blk_submit(), so a callback may submit again.
 *
 * Threads: a channel belongs to one thread at a time; several channels of one
 * device may run in parallel on different threads without locks. Device
 * creation, lookup and release are thread-safe.
 */
#ifndef IPDK_BLK_H
#define IPDK_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ipdk/err.h"

#define IPDK_BLK_NAME_MAX 64

enum ipdk_blk_op {
	IPDK_BLK_READ,
	IPDK_BLK_WRITE,
	IPDK_BLK_FLUSH,          /* offset/num_blocks ignored */
	IPDK_BLK_WRITE_ZEROES,
	IPDK_BLK_DISCARD,        /* the range reads back as zeroes afterwards */
	IPDK_BLK_OP_MAX,
};

/* Device features (ipdk_blk_dev.features). */
#define IPDK_BLK_F_FLUSH         0x1u  /* volatile cache: flush is meaningful */
#define IPDK_BLK_F_WRITE_ZEROES  0x2u
#define IPDK_BLK_F_DISCARD       0x4u

struct ipdk_blk_io;
typedef void (*ipdk_blk_cb)(struct ipdk_blk_io *io, int status);

/* One request; owned by the submitter, reused after its callback ran. */
struct ipdk_blk_io {
	enum ipdk_blk_op op;
	uint64_t offset_blocks;
	uint32_t num_blocks;
	const struct iovec *iov;     /* read/write data; must stay valid until the callback */
	int iovcnt;
	ipdk_blk_cb cb;              /* status: 0 or a negative errno */
	void *cb_arg;
	/* backend-owned while in flight */
	struct ipdk_blk_io *next;
	int status;
};

struct ipdk_blk_dev;
struct ipdk_blk_channel;

/* A backend, in the manner of an SPDK bdev module's function table. */
struct ipdk_blk_ops {
	const char *name;
	/* Creates a channel able to hold depth I/Os in flight. */
	int (*channel_create)(struct ipdk_blk_dev *dev, unsigned int depth,
			      struct ipdk_blk_channel **out, struct ipdk_err *err);
	void (*channel_destroy)(struct ipdk_blk_channel *ch);
	/* Starts an already validated I/O; returns 0 or -errno (callback not run). */
	int (*submit)(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io);
	/* Runs up to max completions; returns how many ran. */
	unsigned int (*poll)(struct ipdk_blk_channel *ch, unsigned int max);
	/* Frees the backend's device state (after the last reference). */
	void (*destroy)(struct ipdk_blk_dev *dev);
	/* Optional: stops holding I/O for a backend that is away (ipdk_blk_give_up()). */
	int (*give_up)(struct ipdk_blk_dev *dev, bool cancel);
};

/* The common part of every device; backends embed it first in their own struct. */
struct ipdk_blk_dev {
	char name[IPDK_BLK_NAME_MAX];
	uint32_t block_size;
	uint64_t num_blocks;
	unsigned int features;
	bool read_only;
	const struct ipdk_blk_ops *ops;
	/* managed by the core */
	int refs;
	struct ipdk_blk_dev *next;
};

/* The common part of every channel; backends embed it first in their own struct. */
struct ipdk_blk_channel {
	struct ipdk_blk_dev *dev;
	unsigned int depth;
	unsigned int inflight;
	int event_fd;                /* readable when completions wait; -1 if none */
};

/* ---- Devices ---------------------------------------------------------------- */

/* Device creation registers the device under its name and returns it with a
 * reference for the caller (ipdk_blk_put() when done) besides the registry's
 * own (dropped by ipdk_blk_delete()). */

/* Creates a RAM device of num_blocks blocks of block_size bytes, zero-filled. */
int ipdk_blk_ram_create(const char *name, uint32_t block_size, uint64_t num_blocks,
			struct ipdk_blk_dev **out, struct ipdk_err *err);

/* Options of a file device. */
struct ipdk_blk_file_opts {
	uint32_t block_size;         /* 0: 512 */
	uint64_t size;               /* bytes; 0: the file's (or block device's) size */
	bool create;                 /* create/extend a regular file to size */
	bool read_only;
	bool buffered;               /* never use O_DIRECT */
};

/* Creates a device on a regular file or block device, served by io_uring. */
int ipdk_blk_file_create(const char *name, const char *path,
			 const struct ipdk_blk_file_opts *opts,
			 struct ipdk_blk_dev **out, struct ipdk_err *err);

/* Returns true when a file device reads and writes through O_DIRECT. */
bool ipdk_blk_file_direct(const struct ipdk_blk_dev *dev);

struct ipdk_nvmf_host_opts;

/* Options of an NVMe/TCP device: a namespace of a remote controller. */
struct ipdk_blk_nvme_opts {
	const struct ipdk_nvmf_host_opts *host;  /* target, subsystem, digests, queues, timeouts */
	uint32_t nsid;                /* 0: by uuid, or the first active namespace */
	const uint8_t *uuid;          /* 16 bytes; NULL: by nsid */
	bool read_only;
};

/* Creates a device on a remote namespace over NVMe/TCP (the "nvme-tcp" backend,
 * linked through blk_nvme_dep). It owns its controller connection; each channel
 * is one I/O queue (at most host->io_queues channels at a time). While the
 * controller reconnects, I/O is held and resent; after ctrl_loss_tmo_ms (or at
 * once after ipdk_blk_give_up()) it fails with -EIO. Write-zeroes is offered when the controller has it, discard when it
 * has Dataset Management and deallocated blocks read as zeroes (DLFEAT), flush
 * when it has a volatile write cache; I/Os larger than it takes are split. */
int ipdk_blk_nvme_create(const char *name, const struct ipdk_blk_nvme_opts *opts,
			 struct ipdk_blk_dev **out, struct ipdk_err *err);

/* The controller behind an nvme-tcp device (NULL for other backends), for its
 * state, info and errors. */
struct ipdk_nvmf_host *ipdk_blk_nvme_host(const struct ipdk_blk_dev *dev);

/* ---- QoS: a device that limits another (bdev_qos.c) ----------------------------- */

/* Limits of a QoS device; 0 means unlimited. Reads count against rd_* and rw_*,
 * writes against wr_* and rw_*; write-zeroes and discard are write I/Os that
 * move no data (IOPS only); flush is never held. */
struct ipdk_blk_qos_limits {
	uint64_t rd_iops, wr_iops, rw_iops;    /* I/Os per second (at most 1e9) */
	uint64_t rd_bps, wr_bps, rw_bps;       /* bytes per second (at most 2^44) */
};

/* An idle device saves up this much time's worth of each limit (its burst). */
#define IPDK_BLK_QOS_BURST_MS 100

/* Options of a QoS device. */
struct ipdk_blk_qos_opts {
	struct ipdk_blk_qos_limits limits;
	uint64_t (*clock_ns)(void *arg);       /* NULL: CLOCK_MONOTONIC (tests inject one) */
	void *clock_arg;
};

/* What a QoS device has held back. */
struct ipdk_blk_qos_stats {
	uint64_t waited;                       /* I/Os that had to wait, since creation */
	unsigned int waiting;                  /* I/Os waiting now (all channels) */
};

/* Creates a device named name that passes I/O to the registered device base
 * (same size, block size, features) within the limits: token buckets shared by
 * all channels, I/O beyond them waiting in its channel in arrival order until
 * the buckets refill (a timer wakes the channel's fd, nothing spins). */
int ipdk_blk_qos_create(const char *name, const char *base, const struct ipdk_blk_qos_opts *opts,
			struct ipdk_blk_dev **out, struct ipdk_err *err);

/* Changes a QoS device's limits at once (any thread); waiting I/O sees them
 * within 100 ms. -EINVAL for a device of another kind or limits out of range. */
int ipdk_blk_qos_set_limits(struct ipdk_blk_dev *dev, const struct ipdk_blk_qos_limits *l,
			    struct ipdk_err *err);

/* Reads a QoS device's limits and counters (either may be NULL); -EINVAL for another kind. */
int ipdk_blk_qos_get(struct ipdk_blk_dev *dev, struct ipdk_blk_qos_limits *l,
		     struct ipdk_blk_qos_stats *st);

/* ---- Stand-ins: a volume's place while it cannot be opened (standin.c) ------------ */

/* What a stand-in shows: the geometry its users saw before. */
struct ipdk_blk_standin_opts {
	uint32_t block_size;
	uint64_t num_blocks;
	unsigned int features;                 /* IPDK_BLK_F_* */
	bool read_only;
	bool failed;                           /* start failed: an error device */
};

/* Creates a device with that geometry and no data: its I/O is held (in arrival
 * order, per channel) until ipdk_blk_standin_attach() passes it to the real
 * device or ipdk_blk_standin_fail() completes it with -EIO; a device created
 * failed completes every I/O with -EIO at once. */
int ipdk_blk_standin_create(const char *name, const struct ipdk_blk_standin_opts *opts,
			    struct ipdk_blk_dev **out, struct ipdk_err *err);

/* Passes held and later I/O to base (any thread; takes a reference on base);
 * -EINVAL when base's size or block size differ, -EALREADY when not holding. */
int ipdk_blk_standin_attach(struct ipdk_blk_dev *dev, struct ipdk_blk_dev *base,
			    struct ipdk_err *err);

/* Completes held and later I/O with -EIO (any thread); -EALREADY when not holding. */
int ipdk_blk_standin_fail(struct ipdk_blk_dev *dev, struct ipdk_err *err);

/* Completes held and later I/O with -ECANCELED, "dropped unanswered" (when
 * storaged stops: the frontend leaves the requests to the next one); -EALREADY
 * when not holding. */
int ipdk_blk_standin_cancel(struct ipdk_blk_dev *dev);

/* Registers a device a backend has set up (name unique); refs as for creation. */
int ipdk_blk_register(struct ipdk_blk_dev *dev, struct ipdk_err *err);

/* Finds a registered device by name and takes a reference; -ENOENT when unknown. */
int ipdk_blk_open(const char *name, struct ipdk_blk_dev **out, struct ipdk_err *err);

/* Takes another reference on a device the caller holds one on. */
void ipdk_blk_get(struct ipdk_blk_dev *dev);

/* Drops a reference; the device is unregistered and freed with the last one. */
void ipdk_blk_put(struct ipdk_blk_dev *dev);

/* Removes the device's name from the registry (existing references stay valid) and drops the registry's reference. */
int ipdk_blk_delete(const char *name, struct ipdk_err *err);

/* Calls fn for each registered device (under the registry lock) until fn returns non-zero. */
int ipdk_blk_foreach(int (*fn)(const struct ipdk_blk_dev *dev, void *arg), void *arg);

/* Stops holding I/O for the device's backend while it is away (any thread; for a
 * device being deleted, or stopped when cancel): I/O held now, and I/O that would
 * be held later, completes at once with -EIO, or -ECANCELED ("dropped unanswered")
 * when cancel; I/O the backend can run still runs. There is no way back.
 * -ENOTSUP for backends that never hold I/O (ram, file, qos, stand-ins: see
 * ipdk_blk_standin_fail()). */
int ipdk_blk_give_up(struct ipdk_blk_dev *dev, bool cancel);

/* Returns true when dev supports op. */
bool ipdk_blk_supports(const struct ipdk_blk_dev *dev, enum ipdk_blk_op op);

/* Returns "read", "write", "flush", "write-zeroes" or "discard". */
const char *ipdk_blk_op_name(enum ipdk_blk_op op);

/* ---- Channels and I/O --------------------------------------------------------- */

/* Opens a channel (queue) on dev with room for depth I/Os in flight (0: 128). */
int ipdk_blk_channel_open(struct ipdk_blk_dev *dev, unsigned int depth,
			  struct ipdk_blk_channel **out, struct ipdk_err *err);

/* Closes a channel; I/Os still in flight are waited for (their callbacks run). */
void ipdk_blk_channel_close(struct ipdk_blk_channel *ch);

/* Validates and starts io; 0, or -ERANGE (blocks), -EINVAL (buffers), -EPERM (read-only),
 * -ENOTSUP (operation), -EAGAIN (channel full) without running the callback. */
int ipdk_blk_submit(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io);

/* Runs up to max (0: all) waiting completions; returns how many ran. */
unsigned int ipdk_blk_poll(struct ipdk_blk_channel *ch, unsigned int max);

/* Returns an fd that is readable when ipdk_blk_poll() has work, or -1. */
int ipdk_blk_channel_fd(const struct ipdk_blk_channel *ch);

/* Submits io and polls until it completes; returns its status (for control paths and tests). */
int ipdk_blk_io_sync(struct ipdk_blk_channel *ch, struct ipdk_blk_io *io);

#endif
