/*
 * Pipelines of the DPDK target: one SWX pipeline built from a spec and a list
 * of ports, with the control handle TDI drives. The builder hides the SWX
 * pipeline's constraints from users: the input port count is padded to a power
 * of two with idle inputs, and one extra output port is appended last because
 * SWX sends dropped packets to the last output port.
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

/* Enough for DPDK's mirroring example and for the mirror extern of P4. */
#define PIPELINE_MIRROR_SLOTS 4
#define PIPELINE_MIRROR_SESSIONS 64

struct ipdk_dpdk_pipeline {
	char name[IPDK_NAME_MAX];
	struct rte_swx_pipeline *p;
	struct rte_swx_ctl_pipeline *ctl;
	struct ipdk_port **ports;
	uint32_t n_ports;     /* user ports: ids 0 .. n_ports-1 */
	uint32_t n_ports_in;  /* n_ports padded to a power of two */
	struct rte_ring *idle_ring;
	_Atomic(const _Atomic uint64_t *) rounds; /* set while a thread runs it */
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

/* The padding inputs read from one ring that nothing ever writes to. */
static int attach_padding(struct ipdk_dpdk_pipeline *pl, struct ipdk_err *err)
{
	struct rte_swx_port_ring_reader_params in = { .burst_size = 32 };
	char ring_name[RTE_RING_NAMESIZE];
	static unsigned int ring_seq;
	int rc;

	rc = rte_swx_pipeline_port_out_type_register(pl->p, "ipdk_drop", &drop_port_ops);
	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "pipeline %s: cannot register the drop port: %s",
				    pl->name, strerror(-rc));
	rc = rte_swx_pipeline_port_out_config(pl->p, pl->n_ports, "ipdk_drop", NULL);
	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: cannot add the drop port: %s",
				    pl->name, strerror(-rc));

	if (pl->n_ports_in == pl->n_ports)
		return 0;

	snprintf(ring_name, sizeof(ring_name), "ipdk_idle%u", __atomic_fetch_add(&ring_seq, 1, __ATOMIC_RELAXED));
	pl->idle_ring = rte_ring_create(ring_name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!pl->idle_ring)
		return ipdk_err_set(err, -rte_errno, "pipeline %s: cannot create ring %s: %s",
				    pl->name, ring_name, rte_strerror(rte_errno));
	in.name = pl->idle_ring->name;
	rc = rte_swx_pipeline_port_in_type_register(pl->p, "ipdk_idle",
						    &rte_swx_port_ring_reader_ops);
	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "pipeline %s: cannot register idle inputs: %s",
				    pl->name, strerror(-rc));
	for (uint32_t id = pl->n_ports; id < pl->n_ports_in; id++) {
		rc = rte_swx_pipeline_port_in_config(pl->p, id, "ipdk_idle", &in);
		if (rc)
			return ipdk_err_set(err, rc, "pipeline %s: cannot add idle input %u: %s",
					    pl->name, id, strerror(-rc));
	}
	return 0;
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
		.n_slots = PIPELINE_MIRROR_SLOTS,
		.n_sessions = PIPELINE_MIRROR_SESSIONS,
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
	if (cfg->n_ports) {
		pl->ports = calloc(cfg->n_ports, sizeof(*pl->ports));
		if (!pl->ports) {
			rc = ipdk_err_set(err, -ENOMEM, "pipeline %s: out of memory", cfg->name);
			goto fail;
		}
		memcpy(pl->ports, cfg->ports, cfg->n_ports * sizeof(*pl->ports));
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
	for (uint32_t i = 0; i < pl->n_ports; i++) {
		rc = ipdk_port_attach(pl->ports[i], pl->p, i, err);
		if (rc) {
			ipdk_err_prefix(err, "pipeline %s", pl->name);
			goto fail;
		}
	}
	rc = attach_padding(pl, err);
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
	IPDK_LOG_INFO("pipeline %s built: %u ports (%u inputs incl. padding), drop port %u",
		      pl->name, pl->n_ports, pl->n_ports_in, pl->n_ports);
	*out = pl;
	return 0;

fail:
	ipdk_dpdk_pipeline_free(pl);
	return rc;
}

void ipdk_dpdk_pipeline_free(struct ipdk_dpdk_pipeline *pl)
{
	if (!pl)
		return;
	if (pl->ctl)
		rte_swx_ctl_pipeline_free(pl->ctl);
	if (pl->p)
		rte_swx_pipeline_free(pl->p);
	rte_ring_free(pl->idle_ring);
	free(pl->ports);
	free(pl);
}

void ipdk_dpdk_pipeline_set_rounds(struct ipdk_dpdk_pipeline *pl, const _Atomic uint64_t *rounds)
{
	atomic_store(&pl->rounds, rounds);
}

void ipdk_dpdk_pipeline_quiesce(struct ipdk_dpdk_pipeline *pl)
{
	const _Atomic uint64_t *rounds = atomic_load(&pl->rounds);
	uint64_t start;

	if (!rounds)
		return;
	start = atomic_load(rounds);
	/* A round runs RUNNER_INSTR_QUANTUM instructions over at most 16 packets
	 * in flight; two full rounds see every one of them out. A sleeping idle
	 * thread wakes within idle_max_us. */
	while (atomic_load(rounds) < start + 2 && atomic_load(&pl->rounds) == rounds) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000 };

		nanosleep(&ts, NULL);
	}
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
	return id < pl->n_ports ? pl->ports[id] : NULL;
}

int ipdk_dpdk_pipeline_port_stats(struct ipdk_dpdk_pipeline *pl, uint32_t id,
				  struct ipdk_port_stats *stats)
{
	struct rte_swx_port_in_stats in = { 0 };
	struct rte_swx_port_out_stats o = { 0 };
	int rc;

	/* id == n_ports is the drop port: its "tx" is what the pipeline dropped. */
	if (id > pl->n_ports)
		return -ENOENT;
	memset(stats, 0, sizeof(*stats));
	if (id < pl->n_ports) {
		rc = rte_swx_ctl_pipeline_port_in_stats_read(pl->p, id, &in);
		if (rc)
			return rc;
	}
	rc = rte_swx_ctl_pipeline_port_out_stats_read(pl->p, id, &o);
	if (rc)
		return rc;
	stats->rx_packets = in.n_pkts;
	stats->rx_bytes = in.n_bytes;
	stats->rx_empty = in.n_empty;
	stats->tx_packets = o.n_pkts;
	stats->tx_bytes = o.n_bytes;
	stats->tx_drops = o.n_pkts_drop;
	return 0;
}
