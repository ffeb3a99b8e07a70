/*
 * The vhost-user-blk frontend: a virtio-blk device served over a vhost-user
 * Unix socket (QEMU's vhost-user-blk-pci connects to it) whose requests go to
 * a lib/blk device. Our own vhost-user implementation (no DPDK): multi-queue,
 * indirect descriptors, seg_max, blk_size, flush, discard, write-zeroes,
 * read-only and GET_ID; data moves straight between the block device and the
 * guest's memory. Inflight I/O tracking (the front-end keeps a shared memory
 * region we hand out) lets a restarted backend pick up requests a crashed one
 * left unanswered, so QEMU's chardev reconnect=1 survives a storaged restart.
 *
 * Threads: each device has a control thread (the socket) and, while the
 * guest's driver runs, one thread per queue. A queue thread polls its ring
 * for a short while after activity, then sleeps on the kick eventfd and the
 * block channel's fd, so an idle device spins no core.
 */
#ifndef IPDK_VBLK_H
#define IPDK_VBLK_H

#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"

#define IPDK_VBLK_QUEUES_MAX 64
#define IPDK_VBLK_SERIAL_MAX 20     /* GET_ID bytes */

struct ipdk_vblk;

/* Device settings; zeroed fields take their defaults. */
struct ipdk_vblk_opts {
	const char *socket_path;        /* vhost-user socket to listen on (required) */
	unsigned int num_queues;        /* queues offered (0: 1; at most IPDK_VBLK_QUEUES_MAX) */
	unsigned int seg_max;           /* data segments per request (0: 126) */
	unsigned int queue_depth;       /* block channel depth per queue (0: the ring size) */
	bool read_only;                 /* also when the block device is read-only */
	const char *serial;             /* GET_ID answer (NULL: the device name) */
	unsigned int poll_us;           /* keep polling this long after activity (0: 50; -1u: never) */
};

/* Counters of one device (all queues together). */
struct ipdk_vblk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t errors;                /* requests answered IOERR or UNSUPP */
	uint64_t read_bytes, write_bytes;
	uint64_t connections;           /* front-end connections accepted so far */
	uint64_t resubmitted;           /* inflight requests picked up after a reconnect */
	bool connected;
	unsigned int queues_running;
	unsigned int in_flight;         /* requests taken from the rings, not answered yet */
};

/* Creates a device named name on the registered block device bdev_name and
 * starts listening on opts->socket_path (an existing socket file is replaced). */
int ipdk_vblk_create(const char *name, const char *bdev_name, const struct ipdk_vblk_opts *opts,
		     struct ipdk_vblk **out, struct ipdk_err *err);

/* Disconnects the front-end (in-flight I/O completes first), removes the socket and frees v. */
void ipdk_vblk_destroy(struct ipdk_vblk *v);

/* Copies the device's counters into *st. */
void ipdk_vblk_get_stats(struct ipdk_vblk *v, struct ipdk_vblk_stats *st);

/* Returns the device's name. */
const char *ipdk_vblk_name(const struct ipdk_vblk *v);

/* Returns the socket path the device listens on. */
const char *ipdk_vblk_socket_path(const struct ipdk_vblk *v);

#endif
