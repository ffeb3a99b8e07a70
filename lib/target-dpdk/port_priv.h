/*
 * What the port core (port.c) and the port types (port_<type>.c) share and no
 * one else sees: the port object, the ops table each type fills in, and the
 * helpers more than one type needs (SWX port type registration, ethdev
 * set-up for the vdev-backed types, kernel netdev flags and MTU).
 */
#ifndef IPDK_PORT_PRIV_H
#define IPDK_PORT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"
#include "ipdk/target_dpdk.h"

struct rte_ring;
struct rte_swx_port_in_ops;
struct rte_swx_port_out_ops;

/* Error and drop counters a port's device or reader/writer keeps, counted
 * since the port was created (see struct ipdk_port_stats). */
struct ipdk_port_counters {
	uint64_t rx_drops, rx_errors, tx_errors;
};

/* One port type. create() sees a port whose cfg has its defaults filled in and
 * whose priv (priv_size bytes) is zeroed; it undoes its own work on failure.
 * destroy() is only called after a successful create(). */
struct ipdk_port_ops {
	const char *name;
	size_t priv_size;
	int (*create)(struct ipdk_port *port, struct ipdk_err *err);
	int (*attach)(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		      struct ipdk_err *err);
	void (*destroy)(struct ipdk_port *port);
	/* Optional: RING ports hand their rings to tests and benchmarks. */
	struct rte_ring *(*ring)(const struct ipdk_port *port, bool to_pipeline);
	/* Optional: adds the port's own counters to c (control path, any thread). */
	void (*counters)(const struct ipdk_port *port, struct ipdk_port_counters *c);
};

/* A port's own input and output objects, made once with the type's SWX port
 * ops and put behind a pipeline's port slots (pipeline.c) instead of being
 * registered with one pipeline: they outlive pipeline replacements and move
 * between slots without the pipeline being rebuilt. */
struct ipdk_port_io {
	struct rte_swx_port_in_ops *in_ops;
	void *in;
	struct rte_swx_port_out_ops *out_ops;
	void *out;
};

struct ipdk_port {
	struct ipdk_port_cfg cfg;          /* as created, defaults filled in */
	const struct ipdk_port_ops *ops;
	const char *backend;               /* set by create(), see ipdk_port_backend() */
	struct ipdk_port *next;            /* list of live ports, see port.c */
	struct ipdk_port_io io;            /* made by ipdk_port_io_open(), else empty */
	void *priv;                        /* the type's own state */
};

extern const struct ipdk_port_ops ipdk_port_tap_ops;
extern const struct ipdk_port_ops ipdk_port_link_ops;
extern const struct ipdk_port_ops ipdk_port_vhost_ops;
extern const struct ipdk_port_ops ipdk_port_ring_ops;
extern const struct ipdk_port_ops ipdk_port_pcap_ops;

/* Registers an SWX input/output port type on p; an existing registration of
 * the same name is fine (several ports, and the pipeline builder, share types). */
int ipdk_port_swx_in_type(struct rte_swx_pipeline *p, const char *name,
			  struct rte_swx_port_in_ops *ops, struct ipdk_err *err);
int ipdk_port_swx_out_type(struct rte_swx_pipeline *p, const char *name,
			   struct rte_swx_port_out_ops *ops, struct ipdk_err *err);

/* Configures input port id of p as SWX type in_type (registered with in_ops on
 * first use) and output port id as out_type, naming port in errors. With p
 * NULL (ipdk_port_io_open()) it creates the port's own input and output
 * objects from the same ops and arguments instead. */
int ipdk_port_swx_config(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
			 const char *in_type, struct rte_swx_port_in_ops *in_ops, void *in_args,
			 const char *out_type, struct rte_swx_port_out_ops *out_ops,
			 void *out_args, struct ipdk_err *err);

/* Makes the port's input and output objects once (the type's attach() with no
 * pipeline) and returns them; later calls return the same objects. They are
 * flushed and freed by ipdk_port_destroy(). */
int ipdk_port_io_open(struct ipdk_port *port, const struct ipdk_port_io **io,
		      struct ipdk_err *err);

/* SWX input ports reading rings ("ipdk_ring", params: struct
 * rte_swx_port_ring_reader_params) and ethdev queues ("ipdk_ethdev", params:
 * struct rte_swx_port_ethdev_reader_params). DPDK 22.11's own readers free,
 * when the pipeline is freed, buffers they have already handed to it (a
 * double free that corrupts the pool); these free only what they still hold. */
extern struct rte_swx_port_in_ops ipdk_port_ring_reader_ops;
extern struct rte_swx_port_in_ops ipdk_port_ethdev_reader_ops;

/* Gives the next unique ethdev name for driver, e.g. "net_af_xdp_ipdk3". */
void ipdk_port_vdev_name(char *buf, size_t size, const char *driver);

/* Creates vdev name with args, configures one queue pair receiving into pool
 * (NULL: the shared pool), turns promiscuous mode on when promisc and starts
 * it. Undoes everything on failure. */
int ipdk_port_ethdev_start(struct ipdk_port *port, const char *name, const char *args,
			   struct rte_mempool *pool, bool promisc, struct ipdk_err *err);

/* Reads the port's own counters (all 0 for types that keep none). */
void ipdk_port_counters_read(const struct ipdk_port *port, struct ipdk_port_counters *c);

/* Adds ethdev name's imissed + rx_nombuf, ierrors and, when with_oerrors, oerrors to c. */
void ipdk_port_ethdev_counters(const char *name, bool with_oerrors,
			       struct ipdk_port_counters *c);

/* Stops, closes and removes a vdev made by ipdk_port_ethdev_start(). */
void ipdk_port_ethdev_stop(const char *name);

/* Attaches ethdev name's queue 0 as port id of p ("ethdev" SWX ports). */
int ipdk_port_ethdev_attach(struct ipdk_port *port, struct rte_swx_pipeline *p,
			    uint32_t id, const char *name, struct ipdk_err *err);

/* Reads /sys/class/net/IFNAME/statistics/NAME (a kernel netdev counter); 0 or -errno. */
int ipdk_netdev_stat(const char *ifname, const char *name, uint64_t *value);

/* Kernel netdev flags (IFF_*) and MTU through ioctl; negative errno on failure. */
int ipdk_netdev_get_flags(const char *ifname, unsigned int *flags);
int ipdk_netdev_set_flags(const char *ifname, unsigned int flags);
int ipdk_netdev_get_mtu(const char *ifname, unsigned int *mtu);
int ipdk_netdev_set_mtu(const char *ifname, unsigned int mtu);

/* Checks a netdev name: non-empty, shorter than IFNAMSIZ, none of / : , = or space. */
int ipdk_netdev_name_check(const struct ipdk_port *port, const char *ifname,
			   struct ipdk_err *err);

#endif
