/*
 * What the vhost-user-blk control side (vblk.c: the socket and its messages)
 * shares with the data path (virtq.c: one thread per started queue that walks
 * the split ring and hands requests to lib/blk). The control thread owns every
 * field a message sets; a queue thread only reads them between start and stop,
 * and the control thread stops a queue before it changes anything the queue
 * uses (memory table, ring addresses, kick fd). The call fd is the exception:
 * it is passed through an atomic slot so a running queue never stops for it.
 */
#ifndef IPDK_VBLK_INTERNAL_H
#define IPDK_VBLK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ipdk/blk.h"
#include "ipdk/vblk.h"
#include "vhost_user.h"

#define VBLK_RING_MAX 1024

struct vblk_region {
	uint64_t gpa, size, uva;
	uint8_t *host;              /* where gpa is mapped here */
	void *map;                  /* the mmap() as made (covers mmap_offset) */
	size_t map_len;
};

struct vblk_queue;

/* One request slot per descriptor head. */
struct vblk_req {
	struct ipdk_blk_io io;
	struct vblk_queue *q;
	uint16_t head;
	bool busy;                  /* in flight: a second fetch of the head is a guest bug */
	uint8_t *status;            /* the status byte in guest memory */
	uint32_t used_len;          /* bytes written into the guest's buffers */
	struct iovec *iov;          /* iov_max entries of the queue's array */
};

struct vblk_qstats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids, errors;
	uint64_t read_bytes, write_bytes, resubmitted;
};

struct vblk_queue {
	struct ipdk_vblk *v;
	unsigned int idx;
	/* set by messages (control thread) */
	uint32_t size;
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	uint16_t last_avail;        /* SET_VRING_BASE, reported by GET_VRING_BASE */
	int kickfd;
	int callfd;                 /* owned by the queue thread while it runs */
	int callfd_pending;         /* atomic hand-over slot; -1 when empty */
	bool kicked;                /* SET_VRING_KICK seen: the ring is started */
	bool enabled;
	struct vhost_inflight_queue *inflight;  /* NULL without inflight tracking */
	/* data path */
	bool running;
	volatile bool stop;
	int stopfd;
	pthread_t thread;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t used_idx;
	unsigned int n_inflight;
	uint64_t counter;
	bool need_call;
	bool broken;                /* the guest broke the ring: stop taking requests */
	struct ipdk_blk_channel *ch;
	struct vblk_req *reqs;      /* size entries, indexed by head */
	struct iovec *iovs;         /* size * iov_max */
	unsigned int iov_max;
	struct vblk_qstats st;
};

struct ipdk_vblk {
	char name[IPDK_VBLK_SERIAL_MAX + 48];
	char path[108];
	char serial[IPDK_VBLK_SERIAL_MAX + 1];
	struct ipdk_blk_dev *bdev;
	unsigned int num_queues, seg_max;
	bool read_only;
	unsigned int poll_ns;       /* 0: never poll */
	uint64_t features;          /* offered */
	uint64_t protocol_features; /* offered */
	struct virtio_blk_config config;
	/* connection state (control thread) */
	int listen_fd, conn_fd, stopfd;
	volatile bool stopping;
	pthread_t thread;
	uint64_t acked_features, acked_protocol;
	bool protocol_negotiated;
	unsigned int n_regions;
	struct vblk_region regions[VHOST_USER_MEM_REGIONS_MAX];
	void *inflight_map;
	size_t inflight_len;
	size_t inflight_qsize;      /* bytes per queue region */
	unsigned int inflight_queues;
	struct vblk_queue q[IPDK_VBLK_QUEUES_MAX];
	uint64_t connections;
	bool connected;
};

/* Returns where guest physical [gpa, gpa+len) is mapped, or NULL when it is not in one region. */
void *vblk_gpa_to_host(struct ipdk_vblk *v, uint64_t gpa, uint64_t len);

/* Returns the bytes one queue takes in the inflight region for a ring of size entries. */
size_t vblk_inflight_qsize(unsigned int size);

/* Starts the queue's thread if the ring is started, enabled and mapped; 0 or -errno. */
int vblk_queue_start(struct vblk_queue *q);

/* Stops the queue's thread after its in-flight requests completed. */
void vblk_queue_stop(struct vblk_queue *q);

/* Hands a new call fd to the queue (closing the old one at a safe point). */
void vblk_queue_set_callfd(struct vblk_queue *q, int fd);

#endif
