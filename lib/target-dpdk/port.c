/*
 * The port core: validates a port configuration and fills in its defaults,
 * keeps the list of live ports (names and vhost socket paths are unique), and
 * hands the type-specific work to the port type's ops table (port_<type>.c).
 * It also holds the helpers several types share: registering SWX port types
 * on a pipeline, the pipeline's input readers for rings and ethdevs, bringing
 * a vdev-backed ethdev up and down, and reading or changing a kernel netdev's
 * flags and MTU.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_swx_pipeline.h>
#include <rte_swx_port_ethdev.h>
#include <rte_swx_port_ring.h>

#include "ipdk/log.h"
#include "port_priv.h"

#define PORT_BURST_DEFAULT 32
#define PORT_BURST_MAX 512
#define PORT_RING_SIZE_DEFAULT 1024
#define PORT_RING_SIZE_MAX (1u << 20)
#define PORT_TAP_MTU_DEFAULT 1500
#define PORT_MTU_MIN 68
#define PORT_MTU_MAX 9000
#define PORT_DESCS 1024

static const struct ipdk_port_ops *port_types[IPDK_PORT_TYPE_MAX] = {
	[IPDK_PORT_TAP] = &ipdk_port_tap_ops,
	[IPDK_PORT_LINK] = &ipdk_port_link_ops,
	[IPDK_PORT_VHOST] = &ipdk_port_vhost_ops,
	[IPDK_PORT_RING] = &ipdk_port_ring_ops,
	[IPDK_PORT_PCAP] = &ipdk_port_pcap_ops,
};

/* Live ports. Creation holds the lock throughout so that two ports cannot
 * claim the same name or socket between the check and the insertion. */
static pthread_mutex_t ports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ipdk_port *ports_head;

const char *ipdk_port_type_name(enum ipdk_port_type type)
{
	if ((unsigned int)type >= IPDK_PORT_TYPE_MAX)
		return "unknown";
	return port_types[type]->name;
}

int ipdk_port_type_parse(const char *name)
{
	int t;

	if (!name)
		return -EINVAL;
	for (t = 0; t < IPDK_PORT_TYPE_MAX; t++)
		if (!strcasecmp(name, port_types[t]->name))
			return t;
	return -EINVAL;
}

static int port_name_check(const char *name, struct ipdk_err *err)
{
	size_t len = strnlen(name, IPDK_NAME_MAX);
	size_t i;

	if (len == 0)
		return ipdk_err_set(err, -EINVAL, "port: the name is empty");
	if (len == IPDK_NAME_MAX)
		return ipdk_err_set(err, -ENAMETOOLONG, "port %.*s...: the name is too long "
				    "(at most %d characters)", 16, name, IPDK_NAME_MAX - 1);
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return ipdk_err_set(err, -EINVAL, "port %s: the name may only hold "
					    "letters, digits, '_', '-' and '.'", name);
	}
	return 0;
}

/* Fills in defaults and rejects what DPDK or the kernel would refuse later
 * with a less helpful message. */
static int port_cfg_complete(struct ipdk_port_cfg *c, struct ipdk_err *err)
{
	if (c->queues == 0)
		c->queues = 1;
	if (c->queues > 1)
		return ipdk_err_set(err, -EOPNOTSUPP, "port %s: %u queues asked for, but a "
				    "pipeline port uses one queue so far", c->name, c->queues);
	if (c->burst == 0)
		c->burst = PORT_BURST_DEFAULT;
	if (c->burst > PORT_BURST_MAX)
		return ipdk_err_set(err, -EINVAL, "port %s: burst %u is too large (at most %u)",
				    c->name, c->burst, PORT_BURST_MAX);
	if (c->type == IPDK_PORT_TAP && c->mtu == 0)
		c->mtu = PORT_TAP_MTU_DEFAULT;
	if (c->mtu && (c->mtu < PORT_MTU_MIN || c->mtu > PORT_MTU_MAX))
		return ipdk_err_set(err, -EINVAL, "port %s: MTU %u is out of range (%u to %u)",
				    c->name, c->mtu, PORT_MTU_MIN, PORT_MTU_MAX);
	if (c->type == IPDK_PORT_RING) {
		if (c->ring_size == 0)
			c->ring_size = PORT_RING_SIZE_DEFAULT;
		if (c->ring_size > PORT_RING_SIZE_MAX)
			return ipdk_err_set(err, -EINVAL, "port %s: ring size %u is too large "
					    "(at most %u)", c->name, c->ring_size,
					    PORT_RING_SIZE_MAX);
	}
	c->netdev[IFNAMSIZ - 1] = '\0';
	c->path[IPDK_PATH_MAX - 1] = '\0';
	c->path_out[IPDK_PATH_MAX - 1] = '\0';
	return 0;
}

static int port_conflict_check(const struct ipdk_port_cfg *c, struct ipdk_err *err)
{
	const struct ipdk_port *q;

	for (q = ports_head; q; q = q->next) {
		if (!strcmp(q->cfg.name, c->name))
			return ipdk_err_set(err, -EEXIST, "port %s: a port of that name exists",
					    c->name);
		if (c->type == IPDK_PORT_VHOST && q->cfg.type == IPDK_PORT_VHOST &&
		    !strcmp(q->cfg.path, c->path))
			return ipdk_err_set(err, -EADDRINUSE, "port %s: vhost socket %s is "
					    "already used by port %s", c->name, c->path,
					    q->cfg.name);
	}
	return 0;
}

int ipdk_port_create(const struct ipdk_port_cfg *cfg, struct ipdk_port **out,
		     struct ipdk_err *err)
{
	const struct ipdk_port_ops *ops;
	struct ipdk_port *port;
	int rc;

	ipdk_err_clear(err);
	if (!cfg || !out)
		return ipdk_err_set(err, -EINVAL, "port: no configuration given");
	rc = port_name_check(cfg->name, err);
	if (rc)
		return rc;
	if ((unsigned int)cfg->type >= IPDK_PORT_TYPE_MAX)
		return ipdk_err_set(err, -EINVAL, "port %s: unknown port type %d", cfg->name,
				    (int)cfg->type);
	if (!ipdk_dpdk_env_ready())
		return ipdk_err_set(err, -ENODEV, "port %s: DPDK is not initialised "
				    "(ipdk_dpdk_env_init() first)", cfg->name);
	ops = port_types[cfg->type];

	port = calloc(1, sizeof(*port) + ops->priv_size);
	if (!port)
		return ipdk_err_set(err, -ENOMEM, "port %s: out of memory", cfg->name);
	port->cfg = *cfg;
	port->ops = ops;
	port->priv = port + 1;
	rc = port_cfg_complete(&port->cfg, err);
	if (rc)
		goto fail;

	pthread_mutex_lock(&ports_lock);
	rc = port_conflict_check(&port->cfg, err);
	if (!rc)
		rc = ops->create(port, err);
	if (!rc) {
		port->next = ports_head;
		ports_head = port;
	}
	pthread_mutex_unlock(&ports_lock);
	if (rc)
		goto fail;

	/* The types log what they made at info level; this line adds nothing new. */
	IPDK_LOG_DEBUG("port %s: created (%s, %s)", port->cfg.name, ops->name, port->backend);
	*out = port;
	return 0;
fail:
	free(port);
	return rc;
}

/* The pipelines that used the objects are gone or have let go of them, so
 * what the writer still buffers can be pushed out from here. */
static void port_io_close(struct ipdk_port *port)
{
	struct ipdk_port_io *io = &port->io;

	if (io->out) {
		if (io->out_ops->flush)
			io->out_ops->flush(io->out);
		io->out_ops->free(io->out);
	}
	if (io->in)
		io->in_ops->free(io->in);
	memset(io, 0, sizeof(*io));
}

int ipdk_port_io_open(struct ipdk_port *port, const struct ipdk_port_io **io,
		      struct ipdk_err *err)
{
	int rc;

	if (!port->io.in) {
		rc = port->ops->attach(port, NULL, 0, err);
		if (rc)
			return rc;
	}
	*io = &port->io;
	return 0;
}

static int port_io_make(struct ipdk_port *port, struct rte_swx_port_in_ops *in_ops,
			void *in_args, struct rte_swx_port_out_ops *out_ops, void *out_args,
			struct ipdk_err *err)
{
	void *in, *out;

	in = in_ops->create(in_args);
	if (!in)
		return ipdk_err_set(err, -ENODEV, "port %s: cannot open its input",
				    port->cfg.name);
	out = out_ops->create(out_args);
	if (!out) {
		in_ops->free(in);
		return ipdk_err_set(err, -ENODEV, "port %s: cannot open its output",
				    port->cfg.name);
	}
	port->io.in_ops = in_ops;
	port->io.in = in;
	port->io.out_ops = out_ops;
	port->io.out = out;
	return 0;
}

void ipdk_port_destroy(struct ipdk_port *port)
{
	struct ipdk_port **pp;

	if (!port)
		return;
	pthread_mutex_lock(&ports_lock);
	for (pp = &ports_head; *pp; pp = &(*pp)->next) {
		if (*pp == port) {
			*pp = port->next;
			break;
		}
	}
	port_io_close(port);
	port->ops->destroy(port);
	pthread_mutex_unlock(&ports_lock);
	IPDK_LOG_INFO("port %s: destroyed", port->cfg.name);
	free(port);
}

void ipdk_port_counters_read(const struct ipdk_port *port, struct ipdk_port_counters *c)
{
	memset(c, 0, sizeof(*c));
	if (port->ops->counters)
		port->ops->counters(port, c);
}

const struct ipdk_port_cfg *ipdk_port_cfg(const struct ipdk_port *port)
{
	return &port->cfg;
}

const char *ipdk_port_backend(const struct ipdk_port *port)
{
	return port->backend ? port->backend : port->ops->name;
}

struct rte_ring *ipdk_port_ring_to_pipeline(const struct ipdk_port *port)
{
	return port->ops->ring ? port->ops->ring(port, true) : NULL;
}

struct rte_ring *ipdk_port_ring_from_pipeline(const struct ipdk_port *port)
{
	return port->ops->ring ? port->ops->ring(port, false) : NULL;
}

int ipdk_port_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		     struct ipdk_err *err)
{
	ipdk_err_clear(err);
	if (!port || !p)
		return ipdk_err_set(err, -EINVAL, "port attach: no port or pipeline given");
	return port->ops->attach(port, p, id, err);
}

/* ---- SWX port types ------------------------------------------------------ */

int ipdk_port_swx_in_type(struct rte_swx_pipeline *p, const char *name,
			  struct rte_swx_port_in_ops *ops, struct ipdk_err *err)
{
	int rc = rte_swx_pipeline_port_in_type_register(p, name, ops);

	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "cannot register input port type %s: %s", name,
				    strerror(-rc));
	return 0;
}

int ipdk_port_swx_out_type(struct rte_swx_pipeline *p, const char *name,
			   struct rte_swx_port_out_ops *ops, struct ipdk_err *err)
{
	int rc = rte_swx_pipeline_port_out_type_register(p, name, ops);

	if (rc && rc != -EEXIST)
		return ipdk_err_set(err, rc, "cannot register output port type %s: %s", name,
				    strerror(-rc));
	return 0;
}

int ipdk_port_swx_config(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
			 const char *in_type, struct rte_swx_port_in_ops *in_ops, void *in_args,
			 const char *out_type, struct rte_swx_port_out_ops *out_ops,
			 void *out_args, struct ipdk_err *err)
{
	const char *name = port->cfg.name;
	int rc;

	if (!p)
		return port_io_make(port, in_ops, in_args, out_ops, out_args, err);
	rc = ipdk_port_swx_in_type(p, in_type, in_ops, err);
	if (!rc)
		rc = ipdk_port_swx_out_type(p, out_type, out_ops, err);
	if (rc)
		return ipdk_err_prefix(err, "port %s", name);

	rc = rte_swx_pipeline_port_in_config(p, id, in_type, in_args);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: cannot attach as input port %u (%s): %s",
				    name, id, in_type, rc == -ENODEV ?
				    "the port object could not be created" : strerror(-rc));
	rc = rte_swx_pipeline_port_out_config(p, id, out_type, out_args);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: cannot attach as output port %u (%s): %s",
				    name, id, out_type, rc == -ENODEV ?
				    "the port object could not be created" : strerror(-rc));
	return 0;
}

/* ---- SWX input ports ---------------------------------------------------- */

/* A reader that fetches packets in bursts and hands them out one by one, as
 * the pipeline's rx instruction wants them. */
struct burst_reader {
	struct rte_swx_port_in_stats stats;
	struct rte_ring *ring;
	uint16_t eth_port, eth_queue;
	uint32_t burst, n, pos;
	struct rte_mbuf *pkts[];
};

static struct burst_reader *burst_reader_alloc(uint32_t burst)
{
	struct burst_reader *r;

	if (burst == 0)
		return NULL;
	r = calloc(1, sizeof(*r) + burst * sizeof(r->pkts[0]));
	if (r)
		r->burst = burst;
	return r;
}

static inline int burst_reader_next(struct burst_reader *r, struct rte_swx_pkt *pkt)
{
	struct rte_mbuf *m = r->pkts[r->pos++];

	pkt->handle = m;
	pkt->pkt = m->buf_addr;
	pkt->offset = m->data_off;
	pkt->length = m->pkt_len;
	r->stats.n_pkts++;
	r->stats.n_bytes += m->pkt_len;
	return 1;
}

static void burst_reader_free(void *obj)
{
	struct burst_reader *r = obj;
	uint32_t i;

	if (!r)
		return;
	/* pkts[0 .. pos) belong to the pipeline now. */
	for (i = r->pos; i < r->n; i++)
		rte_pktmbuf_free(r->pkts[i]);
	free(r);
}

static void burst_reader_stats(void *obj, struct rte_swx_port_in_stats *stats)
{
	struct burst_reader *r = obj;

	*stats = r->stats;
}

static void *ring_reader_create(void *args)
{
	struct rte_swx_port_ring_reader_params *params = args;
	struct rte_ring *ring;
	struct burst_reader *r;

	if (!params || !params->name)
		return NULL;
	ring = rte_ring_lookup(params->name);
	if (!ring)
		return NULL;
	r = burst_reader_alloc(params->burst_size);
	if (r)
		r->ring = ring;
	return r;
}

static int ring_reader_rx(void *obj, struct rte_swx_pkt *pkt)
{
	struct burst_reader *r = obj;

	if (r->pos == r->n) {
		r->n = rte_ring_sc_dequeue_burst(r->ring, (void **)r->pkts, r->burst, NULL);
		r->pos = 0;
		if (r->n == 0) {
			r->stats.n_empty++;
			return 0;
		}
	}
	return burst_reader_next(r, pkt);
}

struct rte_swx_port_in_ops ipdk_port_ring_reader_ops = {
	.create = ring_reader_create,
	.free = burst_reader_free,
	.pkt_rx = ring_reader_rx,
	.stats_read = burst_reader_stats,
};

static void *ethdev_reader_create(void *args)
{
	struct rte_swx_port_ethdev_reader_params *params = args;
	struct rte_eth_dev_info info;
	struct burst_reader *r;
	uint16_t pid;

	if (!params || !params->dev_name ||
	    rte_eth_dev_get_port_by_name(params->dev_name, &pid) ||
	    rte_eth_dev_info_get(pid, &info) || params->queue_id >= info.nb_rx_queues)
		return NULL;
	r = burst_reader_alloc(params->burst_size);
	if (r) {
		r->eth_port = pid;
		r->eth_queue = params->queue_id;
	}
	return r;
}

static int ethdev_reader_rx(void *obj, struct rte_swx_pkt *pkt)
{
	struct burst_reader *r = obj;

	if (r->pos == r->n) {
		r->n = rte_eth_rx_burst(r->eth_port, r->eth_queue, r->pkts, r->burst);
		r->pos = 0;
		if (r->n == 0) {
			r->stats.n_empty++;
			return 0;
		}
	}
	return burst_reader_next(r, pkt);
}

struct rte_swx_port_in_ops ipdk_port_ethdev_reader_ops = {
	.create = ethdev_reader_create,
	.free = burst_reader_free,
	.pkt_rx = ethdev_reader_rx,
	.stats_read = burst_reader_stats,
};

/* ---- vdev-backed ethdevs ------------------------------------------------- */

void ipdk_port_vdev_name(char *buf, size_t size, const char *driver)
{
	static unsigned int next_id;

	/* Never reused within a process: a vdev name still being torn down by a
	 * driver cannot collide with a new one. */
	snprintf(buf, size, "%s_ipdk%u", driver, __atomic_fetch_add(&next_id, 1,
								   __ATOMIC_RELAXED));
}

static int ethdev_setup(struct ipdk_port *port, const char *name, uint16_t pid,
			struct rte_mempool *pool, bool promisc, struct ipdk_err *err)
{
	struct rte_eth_conf conf;
	uint16_t n_rxd = PORT_DESCS, n_txd = PORT_DESCS;
	int socket = rte_eth_dev_socket_id(pid);
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(pid, 1, 1, &conf);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: %s: cannot configure: %s",
				    port->cfg.name, name, strerror(-rc));
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &n_rxd, &n_txd);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: %s: cannot size queues: %s",
				    port->cfg.name, name, strerror(-rc));
	rc = rte_eth_rx_queue_setup(pid, 0, n_rxd, socket < 0 ? SOCKET_ID_ANY : socket,
				    NULL, pool ? pool : ipdk_dpdk_mempool());
	if (rc)
		return ipdk_err_set(err, rc, "port %s: %s: cannot set up the receive queue: %s",
				    port->cfg.name, name, strerror(-rc));
	rc = rte_eth_tx_queue_setup(pid, 0, n_txd, socket < 0 ? SOCKET_ID_ANY : socket,
				    NULL);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: %s: cannot set up the transmit queue: "
				    "%s", port->cfg.name, name, strerror(-rc));
	if (promisc) {
		rc = rte_eth_promiscuous_enable(pid);
		if (rc)
			return ipdk_err_set(err, rc, "port %s: %s: cannot turn promiscuous "
					    "mode on: %s", port->cfg.name, name,
					    strerror(-rc));
	}
	rc = rte_eth_dev_start(pid);
	if (rc)
		return ipdk_err_set(err, rc, "port %s: %s: cannot start: %s", port->cfg.name,
				    name, strerror(-rc));
	return 0;
}

int ipdk_port_ethdev_start(struct ipdk_port *port, const char *name, const char *args,
			   struct rte_mempool *pool, bool promisc, struct ipdk_err *err)
{
	uint16_t pid;
	int rc;

	/* EAL hotplug rather than rte_vdev_init(): same effect on the vdev bus,
	 * without linking the bus driver library into every program. */
	rc = rte_eal_hotplug_add("vdev", name, args);
	if (rc)
		return ipdk_err_set(err, rc < 0 ? rc : -ENODEV, "port %s: the %s driver "
				    "refused \"%s\" (see the DPDK log for why)",
				    port->cfg.name, name, args);
	rc = rte_eth_dev_get_port_by_name(name, &pid);
	if (rc) {
		rte_eal_hotplug_remove("vdev", name);
		return ipdk_err_set(err, -ENODEV, "port %s: %s made no ethdev", port->cfg.name,
				    name);
	}
	rc = ethdev_setup(port, name, pid, pool, promisc, err);
	if (rc) {
		ipdk_port_ethdev_stop(name);
		return rc;
	}
	return 0;
}

void ipdk_port_ethdev_counters(const char *name, bool with_oerrors,
			       struct ipdk_port_counters *c)
{
	struct rte_eth_stats st;
	uint16_t pid;

	if (rte_eth_dev_get_port_by_name(name, &pid) || rte_eth_stats_get(pid, &st))
		return;
	c->rx_drops += st.imissed + st.rx_nombuf;
	c->rx_errors += st.ierrors;
	if (with_oerrors)
		c->tx_errors += st.oerrors;
}

void ipdk_port_ethdev_stop(const char *name)
{
	uint16_t pid;

	if (rte_eth_dev_get_port_by_name(name, &pid) == 0) {
		rte_eth_dev_stop(pid);
		rte_eth_dev_close(pid);
	}
	rte_eal_hotplug_remove("vdev", name);
}

int ipdk_port_ethdev_attach(struct ipdk_port *port, struct rte_swx_pipeline *p,
			    uint32_t id, const char *name, struct ipdk_err *err)
{
	struct rte_swx_port_ethdev_reader_params in = {
		.dev_name = name,
		.queue_id = 0,
		.burst_size = port->cfg.burst,
	};
	struct rte_swx_port_ethdev_writer_params out = {
		.dev_name = name,
		.queue_id = 0,
		.burst_size = port->cfg.burst,
	};

	return ipdk_port_swx_config(port, p, id, "ipdk_ethdev", &ipdk_port_ethdev_reader_ops,
				    &in, "ethdev", &rte_swx_port_ethdev_writer_ops, &out, err);
}

/* ---- kernel netdevs ------------------------------------------------------ */

static int netdev_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(fd, req, ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int ipdk_netdev_stat(const char *ifname, const char *name, uint64_t *value)
{
	char path[128];
	unsigned long long v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EIO;
	*value = v;
	return 0;
}

int ipdk_netdev_get_flags(const char *ifname, unsigned int *flags)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	rc = netdev_ioctl(ifname, SIOCGIFFLAGS, &ifr);
	if (!rc)
		*flags = (unsigned short)ifr.ifr_flags;
	return rc;
}

int ipdk_netdev_set_flags(const char *ifname, unsigned int flags)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)flags;
	return netdev_ioctl(ifname, SIOCSIFFLAGS, &ifr);
}

int ipdk_netdev_get_mtu(const char *ifname, unsigned int *mtu)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	rc = netdev_ioctl(ifname, SIOCGIFMTU, &ifr);
	if (!rc)
		*mtu = ifr.ifr_mtu;
	return rc;
}

int ipdk_netdev_set_mtu(const char *ifname, unsigned int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return netdev_ioctl(ifname, SIOCSIFMTU, &ifr);
}

int ipdk_netdev_name_check(const struct ipdk_port *port, const char *ifname,
			   struct ipdk_err *err)
{
	size_t len = strlen(ifname), i;

	if (len == 0)
		return ipdk_err_set(err, -EINVAL, "port %s: no netdev name given",
				    port->cfg.name);
	if (len >= IFNAMSIZ)
		return ipdk_err_set(err, -ENAMETOOLONG, "port %s: netdev name %s is too long "
				    "(at most %d characters)", port->cfg.name, ifname,
				    IFNAMSIZ - 1);
	if (!strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return ipdk_err_set(err, -EINVAL, "port %s: %s is not a valid netdev name",
				    port->cfg.name, ifname);
	for (i = 0; i < len; i++) {
		unsigned char c = ifname[i];

		if (c == '/' || c == ':' || c == ',' || c == '=' || isspace(c) || !isprint(c))
			return ipdk_err_set(err, -EINVAL, "port %s: netdev name %s holds a "
					    "character ports cannot use ('/', ':', ',', "
					    "'=', space or control)",
					    port->cfg.name, ifname);
	}
	return 0;
}
