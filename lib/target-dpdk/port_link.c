/*
 * LINK ports: an existing Linux netdev (a veth end, a NIC) used by the
 * pipeline through a DPDK virtual ethdev. AF_XDP (net_af_xdp) is tried first
 * and AF_PACKET (net_af_packet) is the fallback when XDP cannot be attached
 * (link_mode AUTO); either can be forced. The pipeline sees the ethdev through
 * SWX "ethdev" ports.
 *
 * The netdev belongs to the host, so the port changes only what it must to
 * pass traffic (up, promiscuous, the MTU if asked), says so in its log line,
 * and puts those settings back as they were when it is destroyed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ipdk/log.h"
#include "port_priv.h"

/* AF_XDP registers the receive pool's memory with the kernel as its UMEM, one
 * chunk per buffer, and without hugepages the kernel takes chunks of at most
 * a page: the shared pool's jumbo buffers do not qualify, so an AF_XDP port
 * receives into a pool of its own with page-sized buffers. */
#define LINK_XDP_POOL_SIZE 4096
#define LINK_XDP_DATA_ROOM (2048 + RTE_PKTMBUF_HEADROOM)

struct link_priv {
	char vdev[RTE_DEV_NAME_MAX_LEN];
	struct rte_mempool *xdp_pool;
	unsigned int orig_flags;
	unsigned int orig_mtu;
};

static int link_xdp_pool(struct ipdk_port *port, struct ipdk_err *err)
{
	static unsigned int next_id;
	struct link_priv *lp = port->priv;
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "ipdk_xdp%u",
		 __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED));
	lp->xdp_pool = rte_pktmbuf_pool_create(name, LINK_XDP_POOL_SIZE, 256, 0,
					       LINK_XDP_DATA_ROOM, SOCKET_ID_ANY);
	if (!lp->xdp_pool)
		return ipdk_err_set(err, rte_errno ? -rte_errno : -ENOMEM, "port %s: cannot "
				    "create the AF_XDP buffer pool: %s", port->cfg.name,
				    rte_strerror(rte_errno));
	return 0;
}

static int link_try(struct ipdk_port *port, const char *driver, struct ipdk_err *err)
{
	struct link_priv *lp = port->priv;
	bool xdp = !strcmp(driver, "net_af_xdp");
	char args[128];
	int rc;

	ipdk_port_vdev_name(lp->vdev, sizeof(lp->vdev), driver);
	if (xdp) {
		rc = link_xdp_pool(port, err);
		if (rc)
			return rc;
		/* busy_budget=0: the pipeline thread polls anyway, and busy polling
		 * in the kernel would only add to the load when idle. */
		snprintf(args, sizeof(args), "iface=%s,start_queue=0,queue_count=1,"
			 "busy_budget=0", port->cfg.netdev);
	} else {
		snprintf(args, sizeof(args), "iface=%s,qpairs=1", port->cfg.netdev);
	}
	rc = ipdk_port_ethdev_start(port, lp->vdev, args, lp->xdp_pool, true, err);
	if (rc && lp->xdp_pool) {
		rte_mempool_free(lp->xdp_pool);
		lp->xdp_pool = NULL;
	}
	return rc;
}

static int link_open(struct ipdk_port *port, struct ipdk_err *err)
{
	struct ipdk_err xdp_err;
	int rc;

	switch (port->cfg.link_mode) {
	case IPDK_LINK_AF_XDP:
		rc = link_try(port, "net_af_xdp", err);
		if (!rc)
			port->backend = "af_xdp";
		return rc;
	case IPDK_LINK_AF_PACKET:
		rc = link_try(port, "net_af_packet", err);
		if (!rc)
			port->backend = "af_packet";
		return rc;
	case IPDK_LINK_AUTO:
		break;
	default:
		return ipdk_err_set(err, -EINVAL, "port %s: unknown link mode %d",
				    port->cfg.name, (int)port->cfg.link_mode);
	}

	ipdk_err_clear(&xdp_err);
	rc = link_try(port, "net_af_xdp", &xdp_err);
	if (!rc) {
		port->backend = "af_xdp";
		return 0;
	}
	IPDK_LOG_INFO("port %s: AF_XDP not possible on %s (%s), using AF_PACKET",
		      port->cfg.name, port->cfg.netdev, xdp_err.msg);
	rc = link_try(port, "net_af_packet", err);
	if (rc) {
		char pkt_msg[IPDK_ERR_MSG_MAX];

		snprintf(pkt_msg, sizeof(pkt_msg), "%s", err ? err->msg : "");
		return ipdk_err_set(err, rc, "port %s: netdev %s works with neither AF_XDP "
				    "[%s] nor AF_PACKET [%s]", port->cfg.name,
				    port->cfg.netdev, xdp_err.msg, pkt_msg);
	}
	port->backend = "af_packet";
	return 0;
}

/* Puts back what the port changed on the netdev. Flags other than UP and
 * PROMISC are the kernel's or the admin's business and are left alone. */
static void link_restore(struct ipdk_port *port)
{
	struct link_priv *lp = port->priv;
	const char *ifname = port->cfg.netdev;
	unsigned int flags, want, mtu;

	if (ipdk_netdev_get_mtu(ifname, &mtu) == 0 && mtu != lp->orig_mtu)
		ipdk_netdev_set_mtu(ifname, lp->orig_mtu);
	if (ipdk_netdev_get_flags(ifname, &flags))
		return;
	want = (flags & ~(IFF_UP | IFF_PROMISC)) | (lp->orig_flags & (IFF_UP | IFF_PROMISC));
	if (want != flags)
		ipdk_netdev_set_flags(ifname, want);
}

static int link_prepare(struct ipdk_port *port, char *changes, size_t size,
			struct ipdk_err *err)
{
	struct link_priv *lp = port->priv;
	const char *ifname = port->cfg.netdev;
	int rc;

	if (port->cfg.mtu && port->cfg.mtu != lp->orig_mtu) {
		rc = ipdk_netdev_set_mtu(ifname, port->cfg.mtu);
		if (rc)
			return ipdk_err_set(err, rc, "port %s: cannot set the MTU of %s to %u: "
					    "%s", port->cfg.name, ifname, port->cfg.mtu,
					    strerror(-rc));
		snprintf(changes + strlen(changes), size - strlen(changes),
			 ", MTU %u -> %u", lp->orig_mtu, port->cfg.mtu);
	}
	if (!(lp->orig_flags & IFF_UP)) {
		rc = ipdk_netdev_set_flags(ifname, lp->orig_flags | IFF_UP);
		if (rc)
			return ipdk_err_set(err, rc, "port %s: cannot bring %s up: %s",
					    port->cfg.name, ifname, strerror(-rc));
		snprintf(changes + strlen(changes), size - strlen(changes),
			 ", brought up");
	}
	return 0;
}

static int link_create(struct ipdk_port *port, struct ipdk_err *err)
{
	struct link_priv *lp = port->priv;
	const char *ifname = port->cfg.netdev;
	char changes[128] = "";
	int rc;

	rc = ipdk_netdev_name_check(port, ifname, err);
	if (rc)
		return rc;
	if (!if_nametoindex(ifname))
		return ipdk_err_set(err, -ENODEV, "port %s: netdev %s does not exist",
				    port->cfg.name, ifname);
	rc = ipdk_netdev_get_flags(ifname, &lp->orig_flags);
	if (!rc)
		rc = ipdk_netdev_get_mtu(ifname, &lp->orig_mtu);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: cannot read the settings of netdev %s: "
				    "%s", port->cfg.name, ifname, strerror(-rc));

	rc = link_prepare(port, changes, sizeof(changes), err);
	if (rc)
		goto fail;
	rc = link_open(port, err);
	if (rc)
		goto fail;
	if (!(lp->orig_flags & IFF_PROMISC))
		snprintf(changes + strlen(changes), sizeof(changes) - strlen(changes),
			 ", promiscuous on");
	IPDK_LOG_INFO("port %s: netdev %s through %s (%s)%s", port->cfg.name, ifname,
		      port->backend, lp->vdev, changes);
	return 0;
fail:
	link_restore(port);
	return rc;
}

static int link_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		       struct ipdk_err *err)
{
	struct link_priv *lp = port->priv;

	return ipdk_port_ethdev_attach(port, p, id, lp->vdev, err);
}

/* AF_XDP and AF_PACKET report dropped receives (imissed, rx_nombuf), receive
 * errors and transmit errors (frames too big for a ring slot, failed sends)
 * through the ethdev statistics. */
static void link_counters(const struct ipdk_port *port, struct ipdk_port_counters *c)
{
	const struct link_priv *lp = port->priv;

	ipdk_port_ethdev_counters(lp->vdev, true, c);
}

static void link_destroy(struct ipdk_port *port)
{
	struct link_priv *lp = port->priv;

	ipdk_port_ethdev_stop(lp->vdev);
	link_restore(port);
	/* The AF_XDP driver never takes back the buffers it parked in the
	 * kernel's fill and completion queues, so the pool never looks idle;
	 * with the socket closed the kernel holds none of them any more. What
	 * the pipeline forwarded was copied or freed by the other ports' writers,
	 * except frames waiting in a RING port's from_pipeline ring: their reader
	 * must drain it before this port goes. */
	rte_mempool_free(lp->xdp_pool);
	lp->xdp_pool = NULL;
}

const struct ipdk_port_ops ipdk_port_link_ops = {
	.name = "link",
	.priv_size = sizeof(struct link_priv),
	.create = link_create,
	.attach = link_attach,
	.destroy = link_destroy,
	.counters = link_counters,
};
