/*
 * NVMe over TCP: the target (subsystems with NQNs, namespaces backed by
 * lib/blk devices, host allow lists, a discovery subsystem, any number of
 * connections and queues) that storaged runs in "target" mode.
 *
 * Threads: the target runs one accept thread per listener and one thread per
 * connection (queue). Configuration functions may be called from any thread
 * while connections run; they take the target's lock.
 */
#ifndef IPDK_NVMF_H
#define IPDK_NVMF_H

#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"

#define IPDK_NVMF_NQN_MAX 224          /* an NQN with its NUL */
#define IPDK_NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"
#define IPDK_NVMF_NS_MAX 32            /* namespaces per subsystem */
#define IPDK_NVMF_HOSTS_MAX 64         /* allowed hosts per subsystem */

struct ipdk_nvmf_tgt;

/* Target-wide settings; zeroed fields take their defaults. */
struct ipdk_nvmf_tgt_opts {
	unsigned int max_queue_depth;      /* entries per I/O queue (0: 128) */
	unsigned int max_io_queues;        /* per controller (0: 16) */
	unsigned int in_capsule_data;      /* bytes of write data in a command capsule (0: 8192) */
	unsigned int max_io_size;          /* bytes per command (0: 131072, a power of two) */
	unsigned int max_connections;      /* all queues together (0: 1024) */
};

/* Subsystem settings. */
struct ipdk_nvmf_subsys_opts {
	const char *serial;                /* NULL: derived from the NQN */
	const char *model;                 /* NULL: "ipdk" */
	bool allow_any_host;
};

/* A namespace as reported. */
struct ipdk_nvmf_ns_info {
	uint32_t nsid;
	char bdev[64];
	uint64_t num_blocks;
	uint32_t block_size;
	uint8_t uuid[16];
};

/* A subsystem as reported. */
struct ipdk_nvmf_subsys_info {
	char nqn[IPDK_NVMF_NQN_MAX];
	char serial[21];
	bool allow_any_host;
	unsigned int n_hosts;
	char hosts[IPDK_NVMF_HOSTS_MAX][IPDK_NVMF_NQN_MAX];
	unsigned int n_ns;
	struct ipdk_nvmf_ns_info ns[IPDK_NVMF_NS_MAX];
	unsigned int n_controllers;
};

/* Creates a target with only the discovery subsystem. */
int ipdk_nvmf_tgt_create(const struct ipdk_nvmf_tgt_opts *opts, struct ipdk_nvmf_tgt **out,
			 struct ipdk_err *err);

/* Listens on addr:port (IPv4 or IPv6 literal; port 0 picks one) and starts accepting. */
int ipdk_nvmf_tgt_listen(struct ipdk_nvmf_tgt *tgt, const char *addr, uint16_t port,
			 struct ipdk_err *err);

/* Returns the port of the first listener (useful after port 0), or 0. */
uint16_t ipdk_nvmf_tgt_port(const struct ipdk_nvmf_tgt *tgt);

/* Stops listening, closes every connection, waits for their threads and frees the target. */
void ipdk_nvmf_tgt_destroy(struct ipdk_nvmf_tgt *tgt);

/* Adds an NVM subsystem; -EEXIST when the NQN is taken, -EINVAL for a malformed NQN. */
int ipdk_nvmf_subsys_add(struct ipdk_nvmf_tgt *tgt, const char *nqn,
			 const struct ipdk_nvmf_subsys_opts *opts, struct ipdk_err *err);

/* Removes a subsystem, disconnecting its controllers and releasing its namespaces. */
int ipdk_nvmf_subsys_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, struct ipdk_err *err);

/* Adds a namespace on the registered block device bdev; nsid 0 picks the lowest free
 * one. Returns the nsid or -errno. */
int ipdk_nvmf_ns_add(struct ipdk_nvmf_tgt *tgt, const char *nqn, uint32_t nsid,
		     const char *bdev, struct ipdk_err *err);

/* Removes a namespace (queues using it finish their I/O first). */
int ipdk_nvmf_ns_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, uint32_t nsid,
			struct ipdk_err *err);

/* Allows a host NQN to connect to a subsystem. */
int ipdk_nvmf_host_add(struct ipdk_nvmf_tgt *tgt, const char *nqn, const char *hostnqn,
		       struct ipdk_err *err);

/* Removes a host from the allow list (its open controllers stay). */
int ipdk_nvmf_host_remove(struct ipdk_nvmf_tgt *tgt, const char *nqn, const char *hostnqn,
			  struct ipdk_err *err);

/* Sets whether any host may connect to a subsystem. */
int ipdk_nvmf_allow_any_host(struct ipdk_nvmf_tgt *tgt, const char *nqn, bool allow,
			     struct ipdk_err *err);

/* Calls fn for each NVM subsystem (copied out under the lock) until it returns non-zero. */
int ipdk_nvmf_subsys_foreach(struct ipdk_nvmf_tgt *tgt,
			     int (*fn)(const struct ipdk_nvmf_subsys_info *info, void *arg),
			     void *arg);

/* Checks an NQN's form ("nqn.yyyy-mm.reverse.domain:..." or the UUID form, at most 223 bytes). */
bool ipdk_nvmf_nqn_valid(const char *nqn);

#endif
