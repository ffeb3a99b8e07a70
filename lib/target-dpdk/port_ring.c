/*
 * RING ports: a pair of DPDK rings standing in for a wire, for tests and
 * benchmarks. Whoever holds the port enqueues packet buffers on to_pipeline
 * and dequeues the pipeline's output from from_pipeline; the pipeline sees
 * them through SWX "ring" ports. The ring size need not be a power of two.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_swx_port_ring.h>

#include "port_priv.h"

struct ring_priv {
	struct rte_ring *to_pipeline;
	struct rte_ring *from_pipeline;
};

/* Ring names are global to the process and short (RTE_RING_NAMESIZE), too
 * short for port names: number them instead. */
static int ring_make(struct ipdk_port *port, const char *what, struct rte_ring **out,
		     struct ipdk_err *err)
{
	static unsigned int next_id;
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "ipdk%u_%s",
		 __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED), what);
	*out = rte_ring_create(name, port->cfg.ring_size, SOCKET_ID_ANY, RING_F_EXACT_SZ);
	if (!*out)
		return ipdk_err_set(err, rte_errno ? -rte_errno : -ENOMEM, "port %s: cannot "
				    "create ring %s of %u entries: %s", port->cfg.name, name,
				    port->cfg.ring_size, rte_strerror(rte_errno));
	return 0;
}

/* Frees whatever buffers are still queued so they go back to the pool. */
static void ring_drain_free(struct rte_ring *r)
{
	void *objs[64];
	unsigned int n, i;

	if (!r)
		return;
	while ((n = rte_ring_dequeue_burst(r, objs, RTE_DIM(objs), NULL)) > 0)
		for (i = 0; i < n; i++)
			rte_pktmbuf_free(objs[i]);
	rte_ring_free(r);
}

static int ring_create(struct ipdk_port *port, struct ipdk_err *err)
{
	struct ring_priv *rp = port->priv;
	int rc;

	rc = ring_make(port, "in", &rp->to_pipeline, err);
	if (rc)
		return rc;
	rc = ring_make(port, "out", &rp->from_pipeline, err);
	if (rc) {
		rte_ring_free(rp->to_pipeline);
		return rc;
	}
	port->backend = "ring";
	return 0;
}

static int ring_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		       struct ipdk_err *err)
{
	struct ring_priv *rp = port->priv;
	struct rte_swx_port_ring_reader_params in = {
		.name = rp->to_pipeline->name,
		.burst_size = port->cfg.burst,
	};
	struct rte_swx_port_ring_writer_params out = {
		.name = rp->from_pipeline->name,
		.burst_size = port->cfg.burst,
	};

	return ipdk_port_swx_config(port, p, id, "ipdk_ring", &ipdk_port_ring_reader_ops, &in,
				    "ring", &rte_swx_port_ring_writer_ops, &out, err);
}

static void ring_destroy(struct ipdk_port *port)
{
	struct ring_priv *rp = port->priv;

	ring_drain_free(rp->to_pipeline);
	ring_drain_free(rp->from_pipeline);
}

static struct rte_ring *ring_get(const struct ipdk_port *port, bool to_pipeline)
{
	const struct ring_priv *rp = port->priv;

	return to_pipeline ? rp->to_pipeline : rp->from_pipeline;
}

const struct ipdk_port_ops ipdk_port_ring_ops = {
	.name = "ring",
	.priv_size = sizeof(struct ring_priv),
	.create = ring_create,
	.attach = ring_attach,
	.destroy = ring_destroy,
	.ring = ring_get,
};
