/*
 * The DPDK target: the DPDK environment (EAL, packet buffers), the loader of
 * SWX pipeline specs, the port types, pipelines built from a spec and a set of
 * ports, and the threads that run them. TDI reaches it through
 * ipdk_dpdk_tdi_ops (see tdi.h); daemons use the functions below.
 */
#ifndef IPDK_TARGET_DPDK_H
#define IPDK_TARGET_DPDK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "ipdk/err.h"

struct rte_mempool;
struct rte_swx_pipeline;
struct rte_swx_ctl_pipeline;

/* ---- Environment -------------------------------------------------------- */

struct ipdk_dpdk_env_cfg {
	bool hugepages;          /* use hugepages; default is --no-huge */
	unsigned int mem_mb;     /* memory to reserve (0: 512 MiB) */
	const char *file_prefix; /* EAL file prefix (NULL: "ipdk-<pid>") */
	const char *log_level;   /* DPDK log level, e.g. "error" (NULL: "error") */
	unsigned int n_mbufs;    /* packet buffers in the shared pool (0: 16384) */
};

/* Initialises DPDK once per process (later calls return 0 and do nothing). */
int ipdk_dpdk_env_init(const struct ipdk_dpdk_env_cfg *cfg, struct ipdk_err *err);

/* Returns true once ipdk_dpdk_env_init() has succeeded. */
bool ipdk_dpdk_env_ready(void);

/* Returns the shared packet buffer pool (NULL before ipdk_dpdk_env_init()). */
struct rte_mempool *ipdk_dpdk_mempool(void);

/* Releases what ipdk_dpdk_env_init() set up (rte_eal_cleanup). */
void ipdk_dpdk_env_fini(void);

/* ---- Spec loader -------------------------------------------------------- */

/* Configures pipeline p (after rte_swx_pipeline_config(), before build) from the
 * SWX pipeline description in the file at path. Errors say "path:line: reason". */
int ipdk_dpdk_spec_load_file(struct rte_swx_pipeline *p, const char *path,
			     struct ipdk_err *err);

/* Same as ipdk_dpdk_spec_load_file() for a spec held in memory; name is used in
 * error messages in place of the file name. */
int ipdk_dpdk_spec_load_text(struct rte_swx_pipeline *p, const char *text,
			     const char *name, struct ipdk_err *err);

/* ---- Ports -------------------------------------------------------------- */

#define IPDK_NAME_MAX 64
#define IPDK_PATH_MAX 256

enum ipdk_port_type {
	IPDK_PORT_TAP,    /* a kernel TAP netdev we create: the exception path */
	IPDK_PORT_LINK,   /* an existing Linux netdev (veth, NIC): AF_XDP or AF_PACKET */
	IPDK_PORT_VHOST,  /* a vhost-user socket: virtio-net to a VM */
	IPDK_PORT_RING,   /* a DPDK ring pair, for tests and benchmarks */
	IPDK_PORT_PCAP,   /* reads packets from a pcap file, writes them to one */
	IPDK_PORT_TYPE_MAX,
};

enum ipdk_link_mode {
	IPDK_LINK_AUTO,      /* AF_XDP, falling back to AF_PACKET */
	IPDK_LINK_AF_XDP,
	IPDK_LINK_AF_PACKET,
};

struct ipdk_port_cfg {
	char name[IPDK_NAME_MAX];      /* unique port name */
	enum ipdk_port_type type;
	char netdev[IFNAMSIZ];         /* TAP: netdev to create (default: name); LINK: netdev */
	char path[IPDK_PATH_MAX];      /* VHOST: socket; PCAP: input file ("" = no input) */
	char path_out[IPDK_PATH_MAX];  /* PCAP: output file ("" = discard) */
	enum ipdk_link_mode link_mode; /* LINK only */
	bool vhost_client;             /* VHOST: connect instead of listen */
	uint16_t queues;               /* 0: 1 */
	uint16_t mtu;                  /* 0: leave as is (TAP: 1500) */
	uint32_t burst;                /* 0: 32 */
	uint32_t ring_size;            /* RING: 0: 1024 */
	uint32_t pcap_loops;           /* PCAP: times to replay input (0: once) */
};

struct ipdk_port;

/* Creates a port from cfg: the netdev, socket or ring exists when this returns. */
int ipdk_port_create(const struct ipdk_port_cfg *cfg, struct ipdk_port **out,
		     struct ipdk_err *err);

/* Destroys a port that no running pipeline uses any more. */
void ipdk_port_destroy(struct ipdk_port *port);

/* Returns the configuration the port was created with. */
const struct ipdk_port_cfg *ipdk_port_cfg(const struct ipdk_port *port);

/* Returns the port type's name ("tap", "link", "vhost", "ring", "pcap"). */
const char *ipdk_port_type_name(enum ipdk_port_type type);

/* Parses a port type name (case-insensitive); returns the type or -EINVAL. */
int ipdk_port_type_parse(const char *name);

/* Returns a short description of how the port is realised, e.g. "af_xdp" or
 * "af_packet" for a LINK port, "fd" for TAP. */
const char *ipdk_port_backend(const struct ipdk_port *port);

/* For RING ports: the rings a test or benchmark writes into (to_pipeline) and
 * reads from (from_pipeline). NULL for other types. */
struct rte_ring *ipdk_port_ring_to_pipeline(const struct ipdk_port *port);
struct rte_ring *ipdk_port_ring_from_pipeline(const struct ipdk_port *port);

/* Registers the port's input and output with pipeline p as port id (both
 * directions use the same id). Called by the pipeline builder. */
int ipdk_port_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		     struct ipdk_err *err);

/* ---- Pipelines ---------------------------------------------------------- */

struct ipdk_dpdk_pipeline_cfg {
	const char *name;           /* unique pipeline name */
	const char *spec_path;      /* spec file, or */
	const char *spec_text;      /* spec held in memory (spec_path NULL) */
	const char *spec_name;      /* name for spec_text in error messages */
	struct ipdk_port **ports;   /* port i gets pipeline port id i; NULL: empty slot */
	uint32_t n_ports;           /* port slots (ids 0 .. n_ports-1) */
	int numa_node;              /* -1: any */
	/* Mirroring (the spec's `mirror` instruction): slots a packet may use and
	 * sessions; 0: 4 slots and 64 sessions, what ipdk-p4c's context declares.
	 * DPDK rounds both up to a power of two (slots at most 64). */
	uint32_t mirror_slots, mirror_sessions;
};

struct ipdk_dpdk_pipeline;

/* Builds a pipeline with n_ports port slots, each holding the port given for
 * it or empty. Hides DPDK's constraints: input ports are padded to a power of
 * two with idle ports, and an extra output port is added last for `drop`. */
int ipdk_dpdk_pipeline_build(const struct ipdk_dpdk_pipeline_cfg *cfg,
			     struct ipdk_dpdk_pipeline **out, struct ipdk_err *err);

/* Frees a pipeline no thread runs any more (its ports stay). */
void ipdk_dpdk_pipeline_free(struct ipdk_dpdk_pipeline *pl);

/* Accessors. */
const char *ipdk_dpdk_pipeline_name(const struct ipdk_dpdk_pipeline *pl);
struct rte_swx_pipeline *ipdk_dpdk_pipeline_swx(struct ipdk_dpdk_pipeline *pl);
struct rte_swx_ctl_pipeline *ipdk_dpdk_pipeline_ctl(struct ipdk_dpdk_pipeline *pl);
uint32_t ipdk_dpdk_pipeline_n_ports(const struct ipdk_dpdk_pipeline *pl);   /* slots */
struct ipdk_port *ipdk_dpdk_pipeline_port(struct ipdk_dpdk_pipeline *pl, uint32_t id);

/* Puts port into port slot id of pipeline pl (NULL empties it), also while a
 * thread runs pl: returns once no packet can reach the previous occupant.
 * A port holds one slot per pipeline; a taken slot must be emptied first. */
int ipdk_dpdk_pipeline_port_set(struct ipdk_dpdk_pipeline *pl, uint32_t id,
				struct ipdk_port *port, struct ipdk_err *err);

/* Port statistics since the port took its slot: what the slot counted (frames
 * the pipeline took from the port and handed to it) plus what the port's own
 * device and reader/writer report (docs/gnmi.md says what each one holds). */
struct ipdk_port_stats {
	uint64_t rx_packets, rx_bytes, rx_empty;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_drops;     /* handed to the port, which could not take them now */
	uint64_t rx_broadcast, rx_multicast;   /* included in rx_packets */
	uint64_t tx_broadcast, tx_multicast;   /* included in tx_packets */
	uint64_t rx_drops;     /* arrived at the device, dropped before the pipeline read them */
	uint64_t rx_errors;    /* the device or the reader failed to receive */
	uint64_t tx_errors;    /* taken by the port, failed to go out */
};
int ipdk_dpdk_pipeline_port_stats(struct ipdk_dpdk_pipeline *pl, uint32_t id,
				  struct ipdk_port_stats *stats);

/* A mirror session: where `mirror` sends the copy of a packet. */
struct ipdk_dpdk_mirror_session {
	uint32_t port_id;            /* a port slot */
	bool fast_clone;             /* share the packet's buffer (no truncation) */
	uint32_t truncation_length;  /* bytes kept of the copy; 0: all */
};

/* Mirror slots and sessions of a built pipeline (after DPDK's rounding). */
void ipdk_dpdk_pipeline_mirroring(const struct ipdk_dpdk_pipeline *pl, uint32_t *n_slots,
				  uint32_t *n_sessions);

/* Sets mirror session id of pl to s, or disables it (s NULL): copies then go
 * nowhere. Every session starts disabled. Takes effect at once, also while a
 * thread runs pl. */
int ipdk_dpdk_pipeline_mirror_session_set(struct ipdk_dpdk_pipeline *pl, uint32_t id,
					  const struct ipdk_dpdk_mirror_session *s,
					  struct ipdk_err *err);

/* ---- Threads ------------------------------------------------------------ */

struct ipdk_dpdk_runner_cfg {
	unsigned int n_threads;      /* 0: 1 */
	int cpus[64];                /* CPU each thread is pinned to; -1: not pinned */
	bool busy_poll;              /* never sleep when idle (benchmarks) */
	unsigned int idle_max_us;    /* longest idle sleep (0: 500 us) */
};

struct ipdk_dpdk_runner;

/* Starts the pipeline threads (with no pipeline assigned yet). */
int ipdk_dpdk_runner_start(const struct ipdk_dpdk_runner_cfg *cfg,
			   struct ipdk_dpdk_runner **out, struct ipdk_err *err);

/* Hands pipeline pl to thread index thread; returns once that thread runs it. */
int ipdk_dpdk_runner_add(struct ipdk_dpdk_runner *r, unsigned int thread,
			 struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err);

/* Takes pl away from whichever thread runs it; returns once no thread touches it. */
void ipdk_dpdk_runner_remove(struct ipdk_dpdk_runner *r, struct ipdk_dpdk_pipeline *pl);

/* Stops and joins all threads. */
void ipdk_dpdk_runner_stop(struct ipdk_dpdk_runner *r);

/* How long a control operation waits for packets in flight to leave a
 * pipeline before it gives up with -ETIMEDOUT. */
#define IPDK_DPDK_QUIESCE_MS 2000

/* Holds pl's inputs (they admit nothing) and returns once every packet that
 * was inside pl has left it, so state the data path may have been reading can
 * be changed until ipdk_dpdk_pipeline_release(). Returns at once when no
 * thread runs pl. After IPDK_DPDK_QUIESCE_MS (a program that loops) it lets
 * go of the hold and fails with -ETIMEDOUT naming pl. Control path only. */
int ipdk_dpdk_pipeline_hold(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err);

/* Ends a successful ipdk_dpdk_pipeline_hold(): inputs admit packets again. */
void ipdk_dpdk_pipeline_release(struct ipdk_dpdk_pipeline *pl);

/* ipdk_dpdk_pipeline_hold() then ipdk_dpdk_pipeline_release(): returns once
 * the packets that were inside pl when it was called have left (or fails
 * with -ETIMEDOUT as the hold does). */
int ipdk_dpdk_pipeline_quiesce(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err);

#endif
