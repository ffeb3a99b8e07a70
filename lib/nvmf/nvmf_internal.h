/*
 * The NVMe/TCP target's shared state: subsystems with their namespaces and
 * allowed hosts, controllers (an admin queue plus I/O queues sharing a
 * controller id), connections, and the target holding them all. target.c
 * owns configuration and lookups under tgt->lock; tcp_target.c runs one
 * thread per connection and touches shared objects only through the
 * functions declared here.
 */
#ifndef IPDK_NVMF_INTERNAL_H
#define IPDK_NVMF_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ipdk/blk.h"
#include "ipdk/nvmf.h"
#include "pdu.h"
#include "proto.h"

#define LISTENERS_MAX 8
#define AER_MAX 4

struct nvmf_ns {
	uint32_t nsid;
	struct ipdk_blk_dev *dev;
	uint8_t uuid[16];
	int refs;                       /* subsystem + connections caching it */
};

struct nvmf_subsys {
	char nqn[IPDK_NVMF_NQN_MAX];
	char serial[21];
	char model[41];
	bool discovery;
	bool allow_any;
	bool removed;
	unsigned int n_hosts;
	char hosts[IPDK_NVMF_HOSTS_MAX][IPDK_NVMF_NQN_MAX];
	struct nvmf_ns *ns[IPDK_NVMF_NS_MAX];   /* by nsid - 1 */
	atomic_uint gen;                /* bumped when namespaces change */
	int refs;                       /* target list + controllers */
	struct nvmf_subsys *next;
};

struct nvmf_ctrl {
	uint16_t cntlid;
	struct nvmf_subsys *subsys;
	char hostnqn[IPDK_NVMF_NQN_MAX];
	uint8_t hostid[16];
	uint32_t cc, csts;
	uint32_t kato_ms;
	uint16_t io_queues;             /* granted by Set Features (Number of Queues) */
	atomic_bool dead;
	int refs;                       /* queues (connections) using it */
	struct nvmf_ctrl *next;
};

struct nvmf_conn;

struct ipdk_nvmf_tgt {
	pthread_mutex_t lock;
	pthread_cond_t conns_gone;
	struct ipdk_nvmf_tgt_opts opts;
	struct nvmf_subsys *subsystems;  /* the discovery subsystem first */
	struct nvmf_ctrl *ctrls;
	uint16_t next_cntlid;
	uint64_t genctr;                 /* discovery log generation */
	atomic_bool stopping;
	struct {
		int fd;
		uint16_t port;
		pthread_t thread;
	} listeners[LISTENERS_MAX];
	unsigned int n_listeners;
	struct nvmf_conn *conns;
	unsigned int n_conns;
};

/* Starts a connection's thread on an accepted socket (tcp_target.c). */
int nvmf_conn_start(struct ipdk_nvmf_tgt *tgt, int fd);

/* Shuts down the sockets of every connection of subsys (all when NULL). */
void nvmf_conns_kick_locked(struct ipdk_nvmf_tgt *tgt, const struct nvmf_subsys *subsys);

/* Connect: finds the subsystem and checks the host; on success *out holds a reference.
 * Returns an NVMe status (0 on success). */
uint16_t nvmf_subsys_connect(struct ipdk_nvmf_tgt *tgt, const char *subnqn,
			     const char *hostnqn, struct nvmf_subsys **out, uint32_t *iattr);

/* Creates a controller for an admin queue; returns it with one reference. */
struct nvmf_ctrl *nvmf_ctrl_create(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *subsys,
				   const char *hostnqn, const uint8_t *hostid, uint32_t kato_ms);

/* Finds the controller an I/O queue connects to and takes a reference. */
struct nvmf_ctrl *nvmf_ctrl_get(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *subsys,
				uint16_t cntlid, const char *hostnqn);

/* Drops a controller reference (freeing it and its subsystem reference with the last). */
void nvmf_ctrl_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_ctrl *ctrl);

/* Drops a subsystem reference. */
void nvmf_subsys_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s);

/* Takes a reference on namespace nsid of s (NULL when inactive). */
struct nvmf_ns *nvmf_ns_get(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s, uint32_t nsid);

/* Drops a namespace reference. */
void nvmf_ns_put(struct ipdk_nvmf_tgt *tgt, struct nvmf_ns *ns);

/* Fills Identify Namespace / descriptor / active list data under the lock;
 * returns an NVMe status. */
uint16_t nvmf_identify_ns(struct ipdk_nvmf_tgt *tgt, struct nvmf_subsys *s, uint8_t cns,
			  uint32_t nsid, uint8_t *data);

/* Builds the discovery log for hostnqn into buf (len bytes) starting at offset;
 * local is the address the host reached us on. */
void nvmf_discovery_log(struct ipdk_nvmf_tgt *tgt, const char *hostnqn,
			const struct sockaddr_storage *local, uint8_t *buf, uint64_t offset,
			uint32_t len);

/* Monotonic milliseconds. */
uint64_t nvmf_now_ms(void);

#endif
