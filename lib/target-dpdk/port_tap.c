/*
 * TAP ports: the exception path between the pipeline and the kernel. The port
 * creates a kernel TAP netdev (named after the port unless cfg->netdev says
 * otherwise), sets its MTU and brings it up; the pipeline reads frames from
 * the TAP file descriptor with the reader and writer below. The netdev is not
 * persistent, so it disappears when the port closes the descriptor.
 *
 * Counters: frames the kernel dropped because the pipeline did not read the
 * TAP queue in time are the netdev's tx_dropped (the kernel transmits to us);
 * failed read()s and write()s are counted by the reader and writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include <rte_mbuf.h>
#include <rte_swx_port_fd.h>

#include "ipdk/log.h"
#include "port_priv.h"

struct tap_priv {
	int fd;
};

static int tap_name(struct ipdk_port *port, struct ipdk_err *err)
{
	struct ipdk_port_cfg *c = &port->cfg;

	if (c->netdev[0] == '\0') {
		if (strlen(c->name) >= IFNAMSIZ)
			return ipdk_err_set(err, -ENAMETOOLONG, "port %s: the name is too long "
					    "for a TAP netdev (at most %d characters); give a "
					    "shorter netdev name", c->name, IFNAMSIZ - 1);
		snprintf(c->netdev, sizeof(c->netdev), "%s", c->name);
	}
	return ipdk_netdev_name_check(port, c->netdev, err);
}

static int tap_open(struct ipdk_port *port, struct ipdk_err *err)
{
	const char *ifname = port->cfg.netdev;
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return ipdk_err_set(err, -errno, "port %s: cannot open /dev/net/tun: %s",
				    port->cfg.name, strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return ipdk_err_set(err, rc, "port %s: cannot create TAP netdev %s: %s",
				    port->cfg.name, ifname, strerror(-rc));
	}
	return fd;
}

static int tap_create(struct ipdk_port *port, struct ipdk_err *err)
{
	struct tap_priv *tp = port->priv;
	const char *ifname;
	unsigned int flags;
	int rc;

	rc = tap_name(port, err);
	if (rc)
		return rc;
	ifname = port->cfg.netdev;
	/* TUNSETIFF would quietly adopt a persistent TAP of that name, which
	 * destroy could then not remove: insist on a fresh netdev. */
	if (if_nametoindex(ifname))
		return ipdk_err_set(err, -EEXIST, "port %s: netdev %s already exists",
				    port->cfg.name, ifname);

	tp->fd = tap_open(port, err);
	if (tp->fd < 0)
		return tp->fd;
	rc = ipdk_netdev_set_mtu(ifname, port->cfg.mtu);
	if (rc) {
		ipdk_err_set(err, rc, "port %s: cannot set the MTU of %s to %u: %s",
			     port->cfg.name, ifname, port->cfg.mtu, strerror(-rc));
		goto fail;
	}
	rc = ipdk_netdev_get_flags(ifname, &flags);
	if (!rc)
		rc = ipdk_netdev_set_flags(ifname, flags | IFF_UP);
	if (rc) {
		ipdk_err_set(err, rc, "port %s: cannot bring %s up: %s", port->cfg.name, ifname,
			     strerror(-rc));
		goto fail;
	}
	port->backend = "fd";
	IPDK_LOG_INFO("port %s: TAP netdev %s up, MTU %u", port->cfg.name, ifname,
		      port->cfg.mtu);
	return 0;
fail:
	close(tp->fd);
	return rc;
}

/* The pipeline's input from the TAP: one read() per frame into a buffer taken
 * ahead of time. DPDK's fd reader takes and returns a whole burst of buffers
 * on every empty poll, and frees buffers it has already handed over when the
 * pipeline is freed; this one keeps a single spare and owns nothing else. */
struct tap_reader {
	struct rte_swx_port_in_stats stats;
	uint64_t n_errors;       /* read() failed for another reason than no frame */
	int fd;
	uint32_t room;
	struct rte_mempool *pool;
	struct rte_mbuf *spare;
};

static void *tap_reader_create(void *args)
{
	struct rte_swx_port_fd_reader_params *params = args;
	struct tap_reader *r;

	if (!params || params->fd < 0 || !params->mempool || !params->mtu)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = params->fd;
	r->room = params->mtu;
	r->pool = params->mempool;
	return r;
}

static int tap_reader_rx(void *obj, struct rte_swx_pkt *pkt)
{
	struct tap_reader *r = obj;
	struct rte_mbuf *m;
	ssize_t n;

	if (!r->spare) {
		r->spare = rte_pktmbuf_alloc(r->pool);
		if (!r->spare)
			return 0;
	}
	m = r->spare;
	n = read(r->fd, rte_pktmbuf_mtod(m, void *), r->room);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			r->n_errors++;
		r->stats.n_empty++;
		return 0;
	}
	r->spare = NULL;
	m->data_len = n;
	m->pkt_len = n;
	pkt->handle = m;
	pkt->pkt = m->buf_addr;
	pkt->offset = m->data_off;
	pkt->length = n;
	r->stats.n_pkts++;
	r->stats.n_bytes += n;
	return 1;
}

static void tap_reader_free(void *obj)
{
	struct tap_reader *r = obj;

	if (!r)
		return;
	rte_pktmbuf_free(r->spare);
	free(r);
}

static void tap_reader_stats(void *obj, struct rte_swx_port_in_stats *stats)
{
	struct tap_reader *r = obj;

	*stats = r->stats;
}

static struct rte_swx_port_in_ops tap_reader_ops = {
	.create = tap_reader_create,
	.free = tap_reader_free,
	.pkt_rx = tap_reader_rx,
	.stats_read = tap_reader_stats,
};

/* The pipeline's output to the TAP: one write() per frame, straight from the
 * packet. DPDK's fd writer stops at the first failed write() and frees the
 * rest of its burst uncounted; this one counts a full queue (EAGAIN,
 * ENOBUFS) as a drop and any other failure (EIO while the netdev is down,
 * EINVAL for a frame the kernel refuses) as an error. */
struct tap_writer {
	struct rte_swx_port_out_stats stats;
	uint64_t n_errors;
	int fd;
};

static void *tap_writer_create(void *args)
{
	struct rte_swx_port_fd_writer_params *params = args;
	struct tap_writer *w;

	if (!params || params->fd < 0)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w)
		w->fd = params->fd;
	return w;
}

static void tap_write(struct tap_writer *w, const struct rte_swx_pkt *pkt, uint32_t len)
{
	ssize_t n = write(w->fd, pkt->pkt + pkt->offset, len);

	if (n == (ssize_t)len) {
		w->stats.n_pkts++;
		w->stats.n_bytes += len;
	} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		w->stats.n_pkts_drop++;
		w->stats.n_bytes_drop += len;
	} else {
		w->n_errors++;
	}
}

static void tap_writer_tx(void *obj, struct rte_swx_pkt *pkt)
{
	tap_write(obj, pkt, pkt->length);
	rte_pktmbuf_free(pkt->handle);
}

/* Clones: the pipeline keeps the packet, so nothing is freed. */
static void tap_writer_fast_clone_tx(void *obj, struct rte_swx_pkt *pkt)
{
	tap_write(obj, pkt, pkt->length);
}

static void tap_writer_clone_tx(void *obj, struct rte_swx_pkt *pkt, uint32_t truncation_length)
{
	tap_write(obj, pkt, truncation_length && truncation_length < pkt->length ?
		  truncation_length : pkt->length);
}

/* Nothing is buffered. */
static void tap_writer_flush(void *obj)
{
	(void)obj;
}

static void tap_writer_free(void *obj)
{
	free(obj);
}

static void tap_writer_stats(void *obj, struct rte_swx_port_out_stats *stats)
{
	struct tap_writer *w = obj;

	*stats = w->stats;
}

static struct rte_swx_port_out_ops tap_writer_ops = {
	.create = tap_writer_create,
	.free = tap_writer_free,
	.pkt_tx = tap_writer_tx,
	.pkt_fast_clone_tx = tap_writer_fast_clone_tx,
	.pkt_clone_tx = tap_writer_clone_tx,
	.flush = tap_writer_flush,
	.stats_read = tap_writer_stats,
};

static int tap_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		      struct ipdk_err *err)
{
	struct tap_priv *tp = port->priv;
	struct rte_mempool *pool = ipdk_dpdk_mempool();
	/* The reader reads at most this many bytes into one buffer: give it the
	 * whole buffer so frames of MTU plus Ethernet and VLAN headers fit. */
	struct rte_swx_port_fd_reader_params in = {
		.fd = tp->fd,
		.mtu = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM,
		.mempool = pool,
		.burst_size = port->cfg.burst,
	};
	struct rte_swx_port_fd_writer_params out = {
		.fd = tp->fd,
		.burst_size = port->cfg.burst,
	};

	return ipdk_port_swx_config(port, p, id, "ipdk_tap", &tap_reader_ops, &in,
				    "ipdk_tap", &tap_writer_ops, &out, err);
}

static void tap_counters(const struct ipdk_port *port, struct ipdk_port_counters *c)
{
	const struct tap_reader *r = port->io.in;
	const struct tap_writer *w = port->io.out;
	uint64_t dropped;

	if (r)
		c->rx_errors += r->n_errors;
	if (w)
		c->tx_errors += w->n_errors;
	if (!ipdk_netdev_stat(port->cfg.netdev, "tx_dropped", &dropped))
		c->rx_drops += dropped;
}

static void tap_destroy(struct ipdk_port *port)
{
	struct tap_priv *tp = port->priv;

	close(tp->fd);
}

const struct ipdk_port_ops ipdk_port_tap_ops = {
	.name = "tap",
	.priv_size = sizeof(struct tap_priv),
	.create = tap_create,
	.attach = tap_attach,
	.destroy = tap_destroy,
	.counters = tap_counters,
};
