/*
 * What the NVMe/TCP initiator's parts share: the controller (struct
 * ipdk_nvmf_host: options, admin queue, generation counter, the I/O queues
 * registered with it) that initiator.c runs, and the I/O queue API that
 * initiator_queue.c implements and lib/blk's nvme-tcp backend uses.
 *
 * Ownership across threads: an I/O queue (struct nvmf_qpair) belongs to the
 * thread that polls it and owns its socket. The controller's thread never
 * touches a queue's socket: when the controller is lost it bumps h->gen and
 * raises the queue's event, and the queue drops its own socket and holds its
 * commands; when the controller is back it hands each queue a freshly
 * connected socket (tagged with the new generation) the same way.
 */
#ifndef IPDK_NVMF_INITIATOR_H
#define IPDK_NVMF_INITIATOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipdk/blk.h"
#include "ipdk/nvmf.h"
#include "pdu.h"

#define HOST_QUEUES_MAX 64
#define HOST_ADMIN_DEPTH 32
#define HOST_ADMIN_CAPSULE 8192     /* admin queue in-capsule data (NVMe/TCP fixes it) */

/* What ICResp granted on one connection. */
struct nvmf_link {
	int fd;
	bool hd, dd;
	unsigned int cpda;           /* controller's data alignment in bytes (4 = none) */
	uint32_t maxh2c;             /* largest H2CData payload */
};

struct nvmf_qpair;

struct ipdk_nvmf_host {
	/* options with their strings copied */
	struct ipdk_nvmf_host_opts o;
	char addr[256], subnqn[IPDK_NVMF_NQN_MAX], hostnqn[IPDK_NVMF_NQN_MAX];
	uint8_t hostid[16];
	char peer[300];              /* "addr:port" for messages */

	struct ipdk_nvmf_host_info info;
	uint64_t cap;

	/* the admin queue: one command at a time */
	pthread_mutex_t admin_lock;
	struct nvmf_link admin;      /* fd -1 while down */
	uint16_t admin_cid;

	/* controller state, the queues, the last error */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int state;            /* enum ipdk_nvmf_host_state */
	atomic_uint gen;             /* bumped whenever the connections are dropped */
	bool lost, stop, thread_started;
	bool given_up;               /* ipdk_nvmf_host_give_up(): fail instead of reconnecting */
	bool probe;                  /* send a keep-alive now (set by give-up) */
	int fail_status;             /* what held I/O completes with once FAILED (0: -EIO) */
	uint64_t lost_at_ms;
	pthread_t thread;
	struct nvmf_qpair *queues[HOST_QUEUES_MAX];   /* by qid - 1 */
	struct ipdk_err last_err;
};

/* ---- initiator.c: shared by the queues -------------------------------------- */

/* Connects one queue: TCP, ICReq/ICResp, Fabrics Connect for qid with sqsize
 * (0's based); fills link (blocking socket) or sets err. */
int nvmf_host_link_up(struct ipdk_nvmf_host *h, uint16_t qid, uint16_t sqsize,
		      struct nvmf_link *link, struct ipdk_err *err);

/* A queue of generation gen saw its connection fail (why in err): the controller
 * resets and reconnects unless that already happened. */
void nvmf_host_queue_lost(struct ipdk_nvmf_host *h, unsigned int gen, const struct ipdk_err *err);

/* Sends a TermReq (fes, fei, the offending header) best-effort, without blocking. */
void nvmf_host_term(int fd, uint16_t fes, uint32_t fei, const uint8_t *hdr, uint8_t hlen);

/* Monotonic milliseconds. */
uint64_t nvmf_host_now_ms(void);

/* ---- initiator_queue.c: I/O queues --------------------------------------------- */

/* Called for each finished block I/O (from nvmf_qpair_poll()). */
typedef void (*nvmf_qpair_done_fn)(void *ctx, struct ipdk_blk_io *io, int status);

/* Creates I/O queue for namespace nsid (block_size bytes per block) on h with the
 * controller's queue depth; connected at once when the controller is live, else
 * when it comes back. */
int nvmf_qpair_create(struct ipdk_nvmf_host *h, uint32_t nsid, uint32_t block_size,
		      nvmf_qpair_done_fn done, void *ctx, struct nvmf_qpair **out,
		      struct ipdk_err *err);

/* Frees a queue whose I/O has all completed. */
void nvmf_qpair_destroy(struct nvmf_qpair *q);

/* An fd readable when nvmf_qpair_poll() has work (stable for the queue's life). */
int nvmf_qpair_fd(const struct nvmf_qpair *q);

/* Starts a block I/O (split into commands as the controller needs); held while
 * the controller reconnects. Returns 0 or -errno (done not called). */
int nvmf_qpair_submit(struct nvmf_qpair *q, struct ipdk_blk_io *io);

/* Moves data and runs up to max completions; returns how many ran. */
unsigned int nvmf_qpair_poll(struct nvmf_qpair *q, unsigned int max);

/* Called by the controller (under h->lock): take link, connected for generation gen
 * (fd -1: only look at the controller's state). */
void nvmf_qpair_hand_over(struct nvmf_qpair *q, const struct nvmf_link *link, unsigned int gen);

/* The queue's id and 0's based size (for the controller's reconnection). */
uint16_t nvmf_qpair_qid(const struct nvmf_qpair *q);
uint16_t nvmf_qpair_sqsize(const struct nvmf_qpair *q);

#endif
