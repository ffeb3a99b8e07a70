/*
 * Pipelines of the DPDK target: one SWX pipeline built from a spec and a list
 * of port slots, with the control handle TDI drives. The builder hides the SWX
 * pipeline's constraints from users: the input port count is padded to a power
 * of two with input slots that stay empty, and one extra output port is
 * appended last because SWX sends dropped packets to the last output port.
 * The pipeline threads run it through ipdk_dpdk_pipeline_run(), which keeps
 * what ipdk_dpdk_pipeline_hold() needs to know that no packet is in flight.
 *
 * Port slots. SWX fixes a pipeline's ports when it is built, yet ports come
 * and go while it runs (gNMI). So every pipeline port id is a slot: an SWX
 * port of our own type that hands rx and tx to whichever port occupies it (its
 * ipdk_port_io objects) and counts what passes. An empty slot receives nothing
 * and drops what is sent to it. ipdk_dpdk_pipeline_port_set() changes a slot's
 * occupant with one pointer store, made while ipdk_dpdk_pipeline_hold() keeps
 * packets out of a pipeline that has none in flight, so none can be inside
 * the previous occupant afterwards: a port id means the same port for as long
 * as the port lives, and no lock is taken on the data path.
 */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>
#include <rte_swx_port_ring.h>
#include <rte_mbuf.h>
#include <rte_swx_port.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"
#include "pipeline_priv.h"
#include "port_priv.h"

/* What ipdk-p4c's context declares for a program that mirrors (and DPDK's
 * own defaults). */
#define PIPELINE_MIRROR_SLOTS 4
#define PIPELINE_MIRROR_SESSIONS 64

/* One port slot. The counters are written by the pipeline thread only; the
 * control path reads them (64-bit loads) and subtracts base, taken when the
 * current occupant moved in; the occupant's own counters likewise. */
struct slot {
	_Atomic(const struct ipdk_port_io *) io;   /* NULL: empty */
	uint64_t rx_pkts, rx_bytes, rx_bcast, rx_mcast, rx_empty;
	uint64_t tx_pkts, tx_bytes, tx_bcast, tx_mcast, tx_drops;
	struct ipdk_port *port;                    /* control path only */
	struct ipdk_port_stats base;
	struct ipdk_port_counters port_base;       /* the occupant's, when it moved in */
	uint64_t writer_drops_base;
	const atomic_uint *hold;                   /* the pipeline's */
	uint32_t id;
} __attribute__((aligned(64)));

struct ipdk_dpdk_pipeline {
	char name[IPDK_NAME_MAX];
	struct rte_swx_pipeline *p;
	struct rte_swx_ctl_pipeline *ctl;
	struct slot *slots;
	uint32_t n_ports;     /* slots: ids 0 .. n_ports-1 */
	uint32_t n_ports_in;  /* n_ports padded to a power of two; ids past n_ports
			       * are input slots that stay empty */
	_Atomic(const _Atomic uint64_t *) rounds; /* set while a thread runs it */
	atomic_uint hold;           /* quiescers waiting: no input admits a packet */
	_Atomic uint64_t drained;   /* runs that ended with no packet in flight */
	bool state_adopted;   /* the TDI target's table state replaced DPDK's */
	uint32_t n_mirror_slots, n_mirror_sessions;
};

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t v = 1;

	while (v < n)
		v <<= 1;
	return v;
}

/* The drop port: frees what the pipeline drops and counts it. DPDK's own
 * sink port does not count, and dropped packets are worth seeing. */
struct drop_port {
	struct rte_swx_port_out_stats stats;
};

static void *drop_create(void *args)
{
	(void)args;
	return calloc(1, sizeof(struct drop_port));
}

static void drop_free(void *port)
{
	free(port);
}

static void drop_tx(void *port, struct rte_swx_pkt *pkt)
{
	struct drop_port *d = port;

	d->stats.n_pkts++;
	d->stats.n_bytes += pkt->length;
	rte_pktmbuf_free(pkt->handle);
}

/* A clone sent to the drop port is simply not made. */
static void drop_fast_clone_tx(void *port, struct rte_swx_pkt *pkt)
{
	struct drop_port *d = port;

	d->stats.n_pkts_clone++;
	(void)pkt;
}

static void drop_clone_tx(void *port, struct rte_swx_pkt *pkt, uint32_t truncation_length)
{
	(void)truncation_length;
	drop_fast_clone_tx(port, pkt);
}

static void drop_stats(void *port, struct rte_swx_port_out_stats *stats)
{
	*stats = ((struct drop_port *)port)->stats;
}

static struct rte_swx_port_out_ops drop_port_ops = {
	.create = drop_create,
	.free = drop_free,
	.pkt_tx = drop_tx,
	.pkt_fast_clone_tx = drop_fast_clone_tx,
	.pkt_clone_tx = drop_clone_tx,
	.stats_read = drop_stats,
};

/* ---- port slots ----------------------------------------------------------- */

static void *slot_create(void *args)
{
	return args;
}

/* Slots belong to the pipeline object, which frees them itself. */
static void slot_free(void *obj)
{
	(void)obj;
}

static inline void slot_count_dst(const struct rte_swx_pkt *pkt, uint64_t *bcast,
				  uint64_t *mcast)
{
	static const uint8_t all_ones[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t *dst = pkt->pkt + pkt->offset;

	if (pkt->length < 6 || !(dst[0] & 1))
		return;
	if (!memcmp(dst, all_ones, 6))
		(*bcast)++;
	else
		(*mcast)++;
}

static int slot_rx(void *obj, struct rte_swx_pkt *pkt)
{
	struct slot *s = obj;
	const struct ipdk_port_io *io = atomic_load_explicit(&s->io, memory_order_acquire);

	if (!io || atomic_load_explicit(s->hold, memory_order_relaxed) ||
	    !io->in_ops->pkt_rx(io->in, pkt)) {
		s->rx_empty++;
		return 0;
	}
	s->rx_pkts++;
	s->rx_bytes += pkt->length;
	slot_count_dst(pkt, &s->rx_bcast, &s->rx_mcast);
	return 1;
}

static void slot_in_stats(void *obj, struct rte_swx_port_in_stats *st)
{
	const struct slot *s = obj;

	st->n_pkts = s->rx_pkts;
	st->n_bytes = s->rx_bytes;
	st->n_empty = s->rx_empty;
}

static struct rte_swx_port_in_ops slot_in_ops = {
	.create = slot_create,
	.free = slot_free,
	.pkt_rx = slot_rx,
	.stats_read = slot_in_stats,
};

/* Counts a packet leaving through slot s and returns the occupant's io, or
 * counts a drop and returns NULL when the slot is empty. */
static inline const struct ipdk_port_io *slot_tx_count(struct slot *s,
							const struct rte_swx_pkt *pkt,
							uint32_t len)
{
	const struct ipdk_port_io *io = atomic_load_explicit(&s->io, memory_order_acquire);

	if (!io) {
		s->tx_drops++;
		return NULL;
	}
	s->tx_pkts++;
	s->tx_bytes += len;
	slot_count_dst(pkt, &s->tx_bcast, &s->tx_mcast);
	return io;
}

static void slot_tx(void *obj, struct rte_swx_pkt *pkt)
{
	const struct ipdk_port_io *io = slot_tx_count(obj, pkt, pkt->length);

	if (io)
		io->out_ops->pkt_tx(io->out, pkt);
	else
		rte_pktmbuf_free(pkt->handle);
}

/* Clones to an empty slot are simply not made. */
static void slot_fast_clone_tx(void *obj, struct rte_swx_pkt *pkt)
{
	const struct ipdk_port_io *io = slot_tx_count(obj, pkt, pkt->length);

	if (io)
		io->out_ops->pkt_fast_clone_tx(io->out, pkt);
}

static void slot_clone_tx(void *obj, struct rte_swx_pkt *pkt, uint32_t truncation_length)
{
	uint32_t len = truncation_length && truncation_length < pkt->length ?
		       truncation_length : pkt->length;
	const struct ipdk_port_io *io = slot_tx_count(obj, pkt, len);

	if (io)
		io->out_ops->pkt_clone_tx(io->out, pkt, truncation_length);
}

static void slot_flush(void *obj)
{
	struct slot *s = obj;
	const struct ipdk_port_io *io = atomic_load_explicit(&s->io, memory_order_acquire);

	if (io && io->out_ops->flush)
		io->out_ops->flush(io->out);
}

static void slot_out_stats(void *obj, struct rte_swx_port_out_stats *st)
{
	const struct slot *s = obj;

	memset(st, 0, sizeof(*st));
	st->n_pkts = s->tx_pkts;
	st->n_bytes = s->tx_bytes;
	st->n_pkts_drop = s->tx_drops;
}

static struct rte_swx_port_out_ops slot_out_ops = {
	.create = slot_create,
	.free = slot_free,
	.pkt_tx = slot_tx,
	.pkt_fast_clone_tx = slot_fast_clone_tx,
	.pkt_clone_tx = slot_clone_tx,
	.flush = slot_flush,
	.stats_read = slot_out_stats,
};

static void slot_read(const struct slot *s, struct ipdk_port_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->rx_packets = s->rx_pkts;
	st->rx_bytes = s->rx_bytes;
	st->rx_empty = s->rx_empty;
	st->rx_broadcast = s->rx_bcast;
	st->rx_multicast = s->rx_mcast;
	st->tx_packets = s->tx_pkts;
	st->tx_bytes = s->tx_bytes;
	st->tx_drops = s->tx_drops;
	st->tx_broadcast = s->tx_bcast;
	st->tx_multicast = s->tx_mcast;
}

static int slots_config(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	int rc;

	rc = rte_swx_pipeline_port_in_type_register(pl->p, "ipdk_slot", &slot_in_ops);
	if (!rc || rc == -EEXIST)
		rc = rte_swx_pipeline_port_out_type_register(pl->p, "ipdk_slot", &slot_out_ops);
	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "pipeline %s: cannot register port slots: %s",
				    pl->name, strerror(-rc));
	/* Inputs are padded to a power of two (SWX polls them round robin with a
	 * mask) with slots that stay empty; they count their polls like the rest. */
	for (uint32_t id = 0; id < pl->n_ports_in; id++) {
		rc = rte_swx_pipeline_port_in_config(pl->p, id, "ipdk_slot", &pl->slots[id]);
		if (!rc && id < pl->n_ports)
			rc = rte_swx_pipeline_port_out_config(pl->p, id, "ipdk_slot",
							      &pl->slots[id]);
		if (rc)
			return ipdk_err_set(err, rc, "pipeline %s: cannot add port slot %u: %s",
					    pl->name, id, strerror(-rc));
	}
	return 0;
}

/* Frames the port's own writer could not send, since its io was made. */
static uint64_t writer_drops(const struct ipdk_port *port)
{
	struct rte_swx_port_out_stats o = { 0 };

	if (!port->io.out)
		return 0;
	port->io.out_ops->stats_read(port->io.out, &o);
	return o.n_pkts_drop;
}

int ipdk_dpdk_pipeline_port_set(struct ipdk_dpdk_pipeline *pl, uint32_t id,
				struct ipdk_port *port, struct ipdk_err *err)
{
	const struct ipdk_port_io *io = NULL;
	struct slot *s;
	int rc;

	ipdk_err_clear(err);
	if (id >= pl->n_ports)
		return ipdk_err_set(err, -ERANGE, "pipeline %s: port id %u is out of range "
				    "(%u port slots)", pl->name, id, pl->n_ports);
	s = &pl->slots[id];
	if (s->port == port)
		return 0;
	if (port) {
		for (uint32_t i = 0; i < pl->n_ports; i++)
			if (pl->slots[i].port == port)
				return ipdk_err_set(err, -EEXIST, "pipeline %s: port %s already "
						    "has port id %u", pl->name,
						    port->cfg.name, i);
		if (s->port)
			return ipdk_err_set(err, -EBUSY, "pipeline %s: port id %u is taken by "
					    "port %s", pl->name, id, s->port->cfg.name);
		rc = ipdk_port_io_open(port, &io, err);
		if (rc)
			return ipdk_err_prefix(err, "pipeline %s", pl->name);
	}
	if (s->port) {
		/* No packet in flight and none admitted: none can be in the old
		 * occupant once the slot is empty. */
		rc = ipdk_dpdk_pipeline_hold(pl, err);
		if (rc)
			return ipdk_err_prefix(err, "port %s cannot leave port id %u",
					       s->port->cfg.name, id);
		atomic_store_explicit(&s->io, NULL, memory_order_release);
		ipdk_dpdk_pipeline_release(pl);
		/* The thread is out of the old occupant: push out what it buffered. */
		if (s->port->io.out && s->port->io.out_ops->flush)
			s->port->io.out_ops->flush(s->port->io.out);
		IPDK_LOG_INFO("pipeline %s: port %s left port id %u", pl->name,
			      s->port->cfg.name, id);
	}
	slot_read(s, &s->base);
	s->port = port;
	if (port) {
		ipdk_port_counters_read(port, &s->port_base);
		s->writer_drops_base = writer_drops(port);
		atomic_store_explicit(&s->io, io, memory_order_release);
		IPDK_LOG_INFO("pipeline %s: port %s has port id %u", pl->name, port->cfg.name,
			      id);
	}
	return 0;
}

/* The drop port: one output past the slots, which `drop` sends to. */
static int attach_drop_port(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	int rc;

	rc = rte_swx_pipeline_port_out_type_register(pl->p, "ipdk_drop", &drop_port_ops);
	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "pipeline %s: cannot register the drop port: %s",
				    pl->name, strerror(-rc));
	rc = rte_swx_pipeline_port_out_config(pl->p, pl->n_ports, "ipdk_drop", NULL);
	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: cannot add the drop port: %s",
				    pl->name, strerror(-rc));
	return 0;
}

/* ---- mirror sessions ------------------------------------------------------ */

/*
 * DPDK 22.11 starts every session all-zero: port 0, a full clone truncated to
 * 0 bytes (its "no truncation" is UINT32_MAX, which only the session call
 * sets), so a `mirror` of a session nobody configured sends an empty copy to
 * port 0. A disabled session here is a fast clone to the drop port, which
 * makes no copy at all (drop_fast_clone_tx only counts it).
 */
static int session_apply(struct ipdk_dpdk_pipeline *pl, uint32_t id,
			 const struct ipdk_dpdk_mirror_session *s, struct ipdk_err *err)
{
	struct rte_swx_pipeline_mirroring_session_params p = {
		.port_id = s ? s->port_id : pl->n_ports,
		.fast_clone = s ? s->fast_clone : 1,
		.truncation_length = s ? s->truncation_length : 0,
	};
	int rc = rte_swx_ctl_pipeline_mirroring_session_set(pl->p, id, &p);

	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: mirror session %u: DPDK refused it: %s",
				    pl->name, id, strerror(-rc));
	return 0;
}

static int mirroring_init(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	struct rte_swx_ctl_pipeline_info info;
	int rc = rte_swx_ctl_pipeline_info_get(pl->p, &info);

	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: no pipeline information", pl->name);
	pl->n_mirror_slots = info.n_mirroring_slots;
	pl->n_mirror_sessions = info.n_mirroring_sessions;
	for (uint32_t id = 0; id < pl->n_mirror_sessions; id++) {
		rc = session_apply(pl, id, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

void ipdk_dpdk_pipeline_mirroring(const struct ipdk_dpdk_pipeline *pl, uint32_t *n_slots,
				  uint32_t *n_sessions)
{
	*n_slots = pl->n_mirror_slots;
	*n_sessions = pl->n_mirror_sessions;
}

/* The data path reads a session's three fields apart from one another while
 * this writes them: a copy made meanwhile may mix the old session and the new
 * one, which is still a copy to a valid port. */
int ipdk_dpdk_pipeline_mirror_session_set(struct ipdk_dpdk_pipeline *pl, uint32_t id,
					  const struct ipdk_dpdk_mirror_session *s,
					  struct ipdk_err *err)
{
	ipdk_err_clear(err);
	if (id >= pl->n_mirror_sessions)
		return ipdk_err_set(err, -ERANGE, "pipeline %s: mirror session %u out of range "
				    "(%u sessions)", pl->name, id, pl->n_mirror_sessions);
	if (s && s->port_id >= pl->n_ports)
		return ipdk_err_set(err, -ERANGE, "pipeline %s: mirror session %u: port id %u "
				    "out of range (%u port slots)", pl->name, id, s->port_id,
				    pl->n_ports);
	if (s && s->fast_clone && s->truncation_length)
		return ipdk_err_set(err, -EINVAL, "pipeline %s: mirror session %u: a fast clone "
				    "shares the packet and cannot be truncated", pl->name, id);
	return session_apply(pl, id, s, err);
}

static int check_cfg(const struct ipdk_dpdk_pipeline_cfg *cfg, struct ipdk_err *err)
{
	if (!ipdk_dpdk_env_ready())
		return ipdk_err_set(err, -EAGAIN, "DPDK is not initialised");
	if (!cfg->name || !cfg->name[0] || strlen(cfg->name) >= IPDK_NAME_MAX)
		return ipdk_err_set(err, -EINVAL, "pipeline name must be 1 to %d characters",
				    IPDK_NAME_MAX - 1);
	if (!cfg->spec_path && !cfg->spec_text)
		return ipdk_err_set(err, -EINVAL, "pipeline %s: no spec given", cfg->name);
	if (cfg->n_ports && !cfg->ports)
		return ipdk_err_set(err, -EINVAL, "pipeline %s: port list missing", cfg->name);
	return 0;
}

int ipdk_dpdk_pipeline_build(const struct ipdk_dpdk_pipeline_cfg *cfg,
			     struct ipdk_dpdk_pipeline **out, struct ipdk_err *err)
{
	struct rte_swx_pipeline_mirroring_params mirroring = {
		.n_slots = cfg->mirror_slots ? cfg->mirror_slots : PIPELINE_MIRROR_SLOTS,
		.n_sessions = cfg->mirror_sessions ? cfg->mirror_sessions :
			      PIPELINE_MIRROR_SESSIONS,
	};
	struct ipdk_dpdk_pipeline *pl;
	int rc;

	rc = check_cfg(cfg, err);
	if (rc)
		return rc;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return ipdk_err_set(err, -ENOMEM, "pipeline %s: out of memory", cfg->name);
	snprintf(pl->name, sizeof(pl->name), "%s", cfg->name);
	pl->n_ports = cfg->n_ports;
	pl->n_ports_in = pow2_at_least(cfg->n_ports);
	pl->slots = aligned_alloc(64, pl->n_ports_in * sizeof(*pl->slots));
	if (!pl->slots) {
		rc = ipdk_err_set(err, -ENOMEM, "pipeline %s: out of memory", cfg->name);
		goto fail;
	}
	memset(pl->slots, 0, pl->n_ports_in * sizeof(*pl->slots));
	for (uint32_t i = 0; i < pl->n_ports_in; i++) {
		pl->slots[i].id = i;
		pl->slots[i].hold = &pl->hold;
	}

	rc = rte_swx_pipeline_config(&pl->p, pl->name, cfg->numa_node < 0 ? 0 : cfg->numa_node);
	if (rc) {
		ipdk_err_set(err, rc, "pipeline %s: %s", pl->name,
			     rc == -EEXIST ? "a pipeline of that name exists" : strerror(-rc));
		goto fail;
	}
	rc = rte_swx_pipeline_mirroring_config(pl->p, &mirroring);
	if (rc) {
		ipdk_err_set(err, rc, "pipeline %s: mirroring setup failed: %s", pl->name,
			     strerror(-rc));
		goto fail;
	}
	rc = slots_config(pl, err);
	if (rc)
		goto fail;
	for (uint32_t i = 0; i < pl->n_ports; i++) {
		if (!cfg->ports[i])
			continue;
		rc = ipdk_dpdk_pipeline_port_set(pl, i, cfg->ports[i], err);
		if (rc)
			goto fail;
	}
	rc = attach_drop_port(pl, err);
	if (rc)
		goto fail;

	if (cfg->spec_path)
		rc = ipdk_dpdk_spec_load_file(pl->p, cfg->spec_path, err);
	else
		rc = ipdk_dpdk_spec_load_text(pl->p, cfg->spec_text,
					      cfg->spec_name ? cfg->spec_name : "<spec>", err);
	if (rc)
		goto fail;

	rc = rte_swx_pipeline_build(pl->p);
	if (rc) {
		ipdk_err_set(err, rc, "pipeline %s: DPDK could not build the pipeline: %s",
			     pl->name, strerror(-rc));
		goto fail;
	}
	pl->ctl = rte_swx_ctl_pipeline_create(pl->p);
	if (!pl->ctl) {
		rc = ipdk_err_set(err, -ENOMEM, "pipeline %s: cannot create its control handle",
				  pl->name);
		goto fail;
	}
	rc = mirroring_init(pl, err);
	if (rc)
		goto fail;
	IPDK_LOG_INFO("pipeline %s built: %u ports (%u inputs incl. padding), drop port %u",
		      pl->name, pl->n_ports, pl->n_ports_in, pl->n_ports);
	*out = pl;
	return 0;

fail:
	ipdk_dpdk_pipeline_free(pl);
	return rc;
}

void ipdk_dpdk_pipeline_state_adopted(struct ipdk_dpdk_pipeline *pl)
{
	pl->state_adopted = true;
}

/*
 * DPDK 22.11's control handle keeps a second table-state array in which the
 * objects of tables rebuilt on change (wildcard and LPM tables, which have no
 * incremental add) are the very objects of the pipeline's array; its free
 * frees them, and so does rte_swx_pipeline_free() (an "EAL: Error: Invalid
 * memory" at best, a corrupted heap at worst). After the handle is gone they
 * are taken out of the pipeline's array. Once the TDI target has put in its
 * own array (swx_state.c) nothing is shared any more: it owns those objects.
 */
static void ctl_free(struct ipdk_dpdk_pipeline *pl)
{
	struct rte_swx_ctl_pipeline_info info;
	struct rte_swx_table_state *ts = NULL;

	rte_swx_ctl_pipeline_free(pl->ctl);
	pl->ctl = NULL;
	if (pl->state_adopted || rte_swx_ctl_pipeline_info_get(pl->p, &info) ||
	    rte_swx_pipeline_table_state_get(pl->p, &ts) || !ts)
		return;
	for (uint32_t i = 0; i < info.n_tables; i++) {
		struct rte_swx_table_ops ops;
		int stub = 0;

		if (!rte_swx_ctl_table_ops_get(pl->p, i, &ops, &stub) && !stub && !ops.add)
			ts[i].obj = NULL;
	}
}

void ipdk_dpdk_pipeline_free(struct ipdk_dpdk_pipeline *pl)
{
	if (!pl)
		return;
	if (pl->ctl)
		ctl_free(pl);
	if (pl->p)
		rte_swx_pipeline_free(pl->p);
	free(pl->slots);
	free(pl);
}

void ipdk_dpdk_pipeline_set_rounds(struct ipdk_dpdk_pipeline *pl, const _Atomic uint64_t *rounds)
{
	atomic_store(&pl->rounds, rounds);
}

/*
 * Quiescing. A packet in flight keeps the table state and the port slots it
 * saw at rx until its last instruction, and SWX interleaves up to
 * RTE_SWX_PIPELINE_THREADS_MAX packets: a long program (or one whose packets
 * do not yield while others wait in a table lookup) can keep a packet in
 * flight for any number of runs. So rather than counting runs, a quiescer
 * holds admission (every input slot reports nothing to read) and waits for a
 * run whose every instruction polled an input: each rx, and each tx (which
 * polls for the next packet), ends with a yield to the next SWX thread, so
 * such a run of at least THREADS_MAX instructions has found every thread
 * without a packet. Admission resumes when the last quiescer is done.
 *
 * A program can keep a packet forever (a loop that never ends), so the wait
 * is bounded: a quiescer that gives up changes nothing. That is why callers
 * hold, change what packets read while nothing is in flight, then release,
 * rather than change first and wait after: a change already made could not
 * be taken back while packets may be reading it.
 */
#define QUIESCE_MIN_QUANTUM 16   /* RTE_SWX_PIPELINE_THREADS_MAX in DPDK 22.11 */

/* Polls of all inputs so far, and how many of them got a packet; pipeline
 * thread only (it writes the counters). */
static void rx_polls(const struct ipdk_dpdk_pipeline *pl, uint64_t *polls, uint64_t *pkts)
{
	uint64_t n = 0, got = 0;

	for (uint32_t i = 0; i < pl->n_ports_in; i++) {
		got += pl->slots[i].rx_pkts;
		n += pl->slots[i].rx_empty;
	}
	*polls = n + got;
	*pkts = got;
}

enum ipdk_dpdk_run ipdk_dpdk_pipeline_run(struct ipdk_dpdk_pipeline *pl, uint32_t quantum,
					  bool want_idle)
{
	bool hold = atomic_load_explicit(&pl->hold, memory_order_acquire);
	uint64_t polls0, pkts0, polls1, pkts1;
	bool idle;

	if (!hold && !want_idle) {
		rte_swx_pipeline_run(pl->p, quantum);
		return IPDK_DPDK_RUN_BUSY;
	}
	if (hold && quantum < QUIESCE_MIN_QUANTUM)
		quantum = QUIESCE_MIN_QUANTUM;
	rx_polls(pl, &polls0, &pkts0);
	rte_swx_pipeline_run(pl->p, quantum);
	rx_polls(pl, &polls1, &pkts1);
	idle = polls1 - polls0 == quantum && pkts1 == pkts0;
	if (!hold)
		return idle ? IPDK_DPDK_RUN_IDLE : IPDK_DPDK_RUN_BUSY;
	if (idle && quantum >= QUIESCE_MIN_QUANTUM)
		atomic_fetch_add_explicit(&pl->drained, 1, memory_order_release);
	return IPDK_DPDK_RUN_QUIESCING;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ipdk_dpdk_pipeline_hold(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	const _Atomic uint64_t *rounds = atomic_load(&pl->rounds);
	uint64_t start, deadline;

	atomic_fetch_add(&pl->hold, 1);
	if (!rounds)
		return 0;
	start = atomic_load(&pl->drained);
	deadline = now_ns() + (uint64_t)IPDK_DPDK_QUIESCE_MS * 1000000u;
	/* Two drained runs: the first may have begun before the hold was seen. */
	while (atomic_load(&pl->drained) < start + 2 && atomic_load(&pl->rounds) == rounds) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000 };

		if (now_ns() > deadline) {
			atomic_fetch_sub(&pl->hold, 1);
			IPDK_LOG_ERR("pipeline %s: packets in flight did not leave within %d ms",
				     pl->name, IPDK_DPDK_QUIESCE_MS);
			return ipdk_err_set(err, -ETIMEDOUT, "pipeline %s: packets in flight did not "
					    "leave within %d ms (does the program loop?); nothing "
					    "was changed", pl->name, IPDK_DPDK_QUIESCE_MS);
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

void ipdk_dpdk_pipeline_release(struct ipdk_dpdk_pipeline *pl)
{
	atomic_fetch_sub(&pl->hold, 1);
}

int ipdk_dpdk_pipeline_quiesce(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	int rc = ipdk_dpdk_pipeline_hold(pl, err);

	if (!rc)
		ipdk_dpdk_pipeline_release(pl);
	return rc;
}

const char *ipdk_dpdk_pipeline_name(const struct ipdk_dpdk_pipeline *pl)
{
	return pl->name;
}

struct rte_swx_pipeline *ipdk_dpdk_pipeline_swx(struct ipdk_dpdk_pipeline *pl)
{
	return pl->p;
}

struct rte_swx_ctl_pipeline *ipdk_dpdk_pipeline_ctl(struct ipdk_dpdk_pipeline *pl)
{
	return pl->ctl;
}

uint32_t ipdk_dpdk_pipeline_n_ports(const struct ipdk_dpdk_pipeline *pl)
{
	return pl->n_ports;
}

struct ipdk_port *ipdk_dpdk_pipeline_port(struct ipdk_dpdk_pipeline *pl, uint32_t id)
{
	return id < pl->n_ports ? pl->slots[id].port : NULL;
}

int ipdk_dpdk_pipeline_port_stats(struct ipdk_dpdk_pipeline *pl, uint32_t id,
				  struct ipdk_port_stats *stats)
{
	struct rte_swx_port_out_stats o = { 0 };
	const struct slot *s;
	struct ipdk_port_stats now;
	int rc;

	/* id == n_ports is the drop port: its "tx" is what the pipeline dropped. */
	if (id > pl->n_ports)
		return -ENOENT;
	memset(stats, 0, sizeof(*stats));
	if (id == pl->n_ports) {
		rc = rte_swx_ctl_pipeline_port_out_stats_read(pl->p, id, &o);
		if (rc)
			return rc;
		stats->tx_packets = o.n_pkts;
		stats->tx_bytes = o.n_bytes;
		return 0;
	}
	/* The occupant's share: counts since it moved in, plus what its own
	 * device, reader and writer counted since then. */
	s = &pl->slots[id];
	slot_read(s, &now);
	stats->rx_packets = now.rx_packets - s->base.rx_packets;
	stats->rx_bytes = now.rx_bytes - s->base.rx_bytes;
	stats->rx_empty = now.rx_empty - s->base.rx_empty;
	stats->rx_broadcast = now.rx_broadcast - s->base.rx_broadcast;
	stats->rx_multicast = now.rx_multicast - s->base.rx_multicast;
	stats->tx_packets = now.tx_packets - s->base.tx_packets;
	stats->tx_bytes = now.tx_bytes - s->base.tx_bytes;
	stats->tx_drops = now.tx_drops - s->base.tx_drops;
	stats->tx_broadcast = now.tx_broadcast - s->base.tx_broadcast;
	stats->tx_multicast = now.tx_multicast - s->base.tx_multicast;
	if (s->port) {
		struct ipdk_port_counters c;

		stats->tx_drops += writer_drops(s->port) - s->writer_drops_base;
		ipdk_port_counters_read(s->port, &c);
		stats->rx_drops = c.rx_drops - s->port_base.rx_drops;
		stats->rx_errors = c.rx_errors - s->port_base.rx_errors;
		stats->tx_errors = c.tx_errors - s->port_base.tx_errors;
	}
	return 0;
}
