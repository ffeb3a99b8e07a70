/*
 * NVMe over TCP: the target (subsystems with NQNs, namespaces backed by
 * lib/blk devices, host allow lists, a discovery subsystem, any number of
 * connections and queues) that storaged runs in "target" mode, and the
 * initiator (host) that connects to remote controllers: discovery, Identify,
 * properties, keep-alive and reconnection. Reads and writes go through the
 * lib/blk "nvme-tcp" backend (ipdk_blk_nvme_create() in ipdk/blk.h), one I/O
 * queue per block channel.
 *
 * Threads: the target runs one accept thread per listener and one thread per
 * connection (queue). Configuration functions may be called from any thread
 * while connections run; they take the target's lock. An initiator controller
 * runs one thread of its own (keep-alive, reconnection); its functions may be
 * called from any thread (admin commands are serialized).
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

/* ---- Initiator (host) ------------------------------------------------------------ */

/* A connection to one remote controller (its admin queue). */
struct ipdk_nvmf_host;

/* Where and how to connect; zeroed fields take their defaults. */
struct ipdk_nvmf_host_opts {
	const char *addr;                  /* target address: IPv4/IPv6 literal or host name */
	uint16_t port;                     /* 0: 4420 */
	const char *subnqn;                /* NULL: the discovery subsystem */
	const char *hostnqn;               /* NULL: IPDK_NVMF_HOSTNQN_DEFAULT */
	const uint8_t *hostid;             /* 16 bytes; NULL: derived from hostnqn */
	bool hdgst;                        /* ask for header digests (CRC32C) */
	bool ddgst;                        /* ask for data digests (CRC32C) */
	unsigned int io_queues;            /* I/O queues to ask for (0: 4) */
	unsigned int queue_depth;          /* entries per I/O queue (0: 128; capped by CAP.MQES) */
	unsigned int kato_ms;              /* keep-alive timeout (0: 10000) */
	unsigned int connect_timeout_ms;   /* TCP connect, ICResp and Connect answer (0: 5000) */
	unsigned int reconnect_delay_ms;   /* between reconnection attempts (0: 500) */
	unsigned int ctrl_loss_tmo_ms;     /* I/O is held and retried this long after the
					    * controller is lost, then fails (0: 60000) */
};

#define IPDK_NVMF_HOSTNQN_DEFAULT "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"

/* Controller state: I/O runs when LIVE, is held while RECONNECTING and fails when FAILED. */
enum ipdk_nvmf_host_state {
	IPDK_NVMF_HOST_LIVE,
	IPDK_NVMF_HOST_RECONNECTING,
	IPDK_NVMF_HOST_FAILED,
	IPDK_NVMF_HOST_CLOSED,
};

/* What Identify Controller and the connection told us. */
struct ipdk_nvmf_host_info {
	char subnqn[IPDK_NVMF_NQN_MAX];
	char serial[21];
	char model[41];
	char firmware[9];
	uint16_t cntlid;
	uint32_t version;                  /* VS property */
	uint32_t nn;                       /* number of namespaces */
	uint32_t max_xfer;                 /* bytes per command (MDTS; 0: no limit) */
	uint32_t in_capsule;               /* bytes of write data an I/O capsule holds (IOCCSZ) */
	uint16_t oncs;                     /* optional NVM commands (bit 2 DSM, bit 3 Write Zeroes) */
	bool vwc;                          /* volatile write cache: Flush is meaningful */
	bool discovery;                    /* a discovery controller */
	bool hdgst, ddgst;                 /* digests in use */
	unsigned int io_queues;            /* I/O queues granted */
	unsigned int queue_depth;          /* entries per I/O queue we use */
	unsigned int reconnects;           /* successful reconnections so far */
};

/* A namespace as Identify Namespace reports it. */
struct ipdk_nvmf_host_ns {
	uint32_t nsid;
	uint64_t num_blocks;               /* NSZE */
	uint32_t block_size;               /* from the LBA format in use */
	uint8_t uuid[16];                  /* all zero when the controller gives none */
	bool has_uuid;
	bool dealloc_zeroes;               /* DLFEAT: deallocated blocks read back as zeroes */
};

/* One discovery log entry. */
struct ipdk_nvmf_disc_entry {
	uint8_t trtype, adrfam, subtype, treq;
	uint16_t portid, cntlid;
	char trsvcid[33];
	char subnqn[IPDK_NVMF_NQN_MAX];
	char traddr[257];
};

/* Connects the admin queue (ICReq, Fabrics Connect), enables the controller
 * (CC.EN, waits for CSTS.RDY), identifies it, asks for the I/O queues and
 * starts keep-alive. Errors name the target and say why (refused, timed out,
 * unknown subsystem, host not allowed, malformed PDU, ...). */
int ipdk_nvmf_host_connect(const struct ipdk_nvmf_host_opts *opts, struct ipdk_nvmf_host **out,
			   struct ipdk_err *err);

/* Shuts the controller down (CC.SHN), closes its queues and frees it; its
 * block devices must be gone first. */
void ipdk_nvmf_host_close(struct ipdk_nvmf_host *h);

/* Ends the reconnect hold (any thread; for a device being deleted or stopped):
 * a reconnecting controller fails at once, a live one sends a keep-alive now
 * and, if it turns out lost then or later, fails instead of reconnecting.
 * Held I/O completes with -EIO, or -ECANCELED ("dropped unanswered") when
 * cancel; I/O on a working connection is not touched. Lasts for the
 * controller's life. */
void ipdk_nvmf_host_give_up(struct ipdk_nvmf_host *h, bool cancel);

/* Returns what Identify Controller and the connection told us (stable pointer). */
const struct ipdk_nvmf_host_info *ipdk_nvmf_host_info(const struct ipdk_nvmf_host *h);

/* Returns the controller's state. */
enum ipdk_nvmf_host_state ipdk_nvmf_host_state(const struct ipdk_nvmf_host *h);

/* Copies the last connection error (why a queue or the controller was lost) into err;
 * returns its code, 0 when there was none. */
int ipdk_nvmf_host_last_error(struct ipdk_nvmf_host *h, struct ipdk_err *err);

/* Reads a property (CAP/VS/CC/CSTS offsets; wide: 8 bytes). */
int ipdk_nvmf_host_prop_get(struct ipdk_nvmf_host *h, uint32_t offset, bool wide,
			    uint64_t *value, struct ipdk_err *err);

/* Writes a 4-byte property. */
int ipdk_nvmf_host_prop_set(struct ipdk_nvmf_host *h, uint32_t offset, uint32_t value,
			    struct ipdk_err *err);

/* Runs Identify with cns/nsid into buf (4096 bytes). */
int ipdk_nvmf_host_identify(struct ipdk_nvmf_host *h, uint8_t cns, uint32_t nsid, void *buf,
			    struct ipdk_err *err);

/* Fills up to max active namespace ids into nsids; returns how many or -errno. */
int ipdk_nvmf_host_active_ns(struct ipdk_nvmf_host *h, uint32_t *nsids, unsigned int max,
			     struct ipdk_err *err);

/* Identifies namespace nsid (size, block size, UUID). */
int ipdk_nvmf_host_ns_info(struct ipdk_nvmf_host *h, uint32_t nsid,
			   struct ipdk_nvmf_host_ns *out, struct ipdk_err *err);

/* Finds the active namespace with this UUID; returns its nsid or -ENOENT. */
int ipdk_nvmf_host_ns_by_uuid(struct ipdk_nvmf_host *h, const uint8_t uuid[16],
			      struct ipdk_err *err);

/* Reads a log page (lid) at offset into buf; len a multiple of 4. */
int ipdk_nvmf_host_get_log(struct ipdk_nvmf_host *h, uint8_t lid, uint64_t offset, void *buf,
			   uint32_t len, struct ipdk_err *err);

/* Sends one Keep Alive now (the controller's thread sends them every KATO/2). */
int ipdk_nvmf_host_keep_alive(struct ipdk_nvmf_host *h, struct ipdk_err *err);

/* Connects to the discovery controller at opts->addr/port (subnqn ignored) and
 * returns its log: *entries (free() it) with *n entries. */
int ipdk_nvmf_discover(const struct ipdk_nvmf_host_opts *opts,
		       struct ipdk_nvmf_disc_entry **entries, unsigned int *n,
		       struct ipdk_err *err);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; -EINVAL when malformed. */
int ipdk_nvmf_uuid_parse(const char *s, uint8_t uuid[16]);

/* Checks an NQN's form ("nqn.yyyy-mm.reverse.domain:..." or the UUID form, at most 223 bytes). */
bool ipdk_nvmf_nqn_valid(const char *nqn);

#endif
