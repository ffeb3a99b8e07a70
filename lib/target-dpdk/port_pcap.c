/*
 * PCAP ports: replay the Ethernet frames of a pcap file into the pipeline
 * (SWX "source", cfg->pcap_loops times) and record what the pipeline sends to
 * the port in another pcap file (SWX "sink"; no output file means discard).
 * A port with no input file still needs an input, so it gets an idle one: an
 * empty ring that nobody ever fills.
 *
 * The input file is read once here, at create time, so that a missing file,
 * a foreign format or a frame larger than a packet buffer is reported with
 * the port's name instead of as an anonymous failure when the pipeline is
 * built (DPDK's source port would copy an oversized frame past its buffer).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <byteswap.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_swx_port_ring.h>
#include <rte_swx_port_source_sink.h>

#include "ipdk/log.h"
#include "port_priv.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_MAGIC_NG 0x0a0d0d0au
#define PCAP_LINKTYPE_ETHERNET 1
/* The source port keeps every frame of the file in a packet buffer of the
 * shared pool for as long as the pipeline lives: bound what it may take. */
#define PCAP_PKTS_MAX 4096u
#define PCAP_IDLE_RING_SIZE 64

struct pcap_priv {
	uint32_t n_pkts;            /* frames the source port will load */
	struct rte_ring *idle;      /* the input when there is no input file */
};

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major, version_minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_frac, caplen, len;
};

static uint32_t pcap_u32(uint32_t v, bool swap)
{
	return swap ? bswap_32(v) : v;
}

static int pcap_scan_records(struct ipdk_port *port, FILE *f, bool swap,
			     struct ipdk_err *err)
{
	struct pcap_priv *pp = port->priv;
	const char *path = port->cfg.path;
	uint32_t room = rte_pktmbuf_data_room_size(ipdk_dpdk_mempool()) -
			RTE_PKTMBUF_HEADROOM;
	struct pcap_rec_hdr rh;
	uint32_t n = 0, caplen;

	while (fread(&rh, sizeof(rh), 1, f) == 1) {
		caplen = pcap_u32(rh.caplen, swap);
		if (caplen > room)
			return ipdk_err_set(err, -EMSGSIZE, "port %s: pcap file %s: frame %u "
					    "has %u bytes, more than a packet buffer holds "
					    "(%u)", port->cfg.name, path, n + 1, caplen, room);
		if (fseek(f, caplen, SEEK_CUR) < 0)
			break;
		if (++n == PCAP_PKTS_MAX) {
			IPDK_LOG_WARN("port %s: pcap file %s: only the first %u frames are "
				      "replayed", port->cfg.name, path, PCAP_PKTS_MAX);
			break;
		}
	}
	pp->n_pkts = n;
	return 0;
}

static int pcap_scan(struct ipdk_port *port, struct ipdk_err *err)
{
	const char *path = port->cfg.path;
	struct pcap_file_hdr fh;
	bool swap;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (!f)
		return ipdk_err_set(err, -errno, "port %s: cannot open pcap file %s: %s",
				    port->cfg.name, path, strerror(errno));
	rc = -EINVAL;
	if (fread(&fh, sizeof(fh), 1, f) != 1) {
		ipdk_err_set(err, rc, "port %s: %s is too short for a pcap file",
			     port->cfg.name, path);
		goto out;
	}
	if (fh.magic == PCAP_MAGIC_NG) {
		ipdk_err_set(err, rc, "port %s: %s is a pcapng file; save it as pcap",
			     port->cfg.name, path);
		goto out;
	}
	swap = fh.magic == bswap_32(PCAP_MAGIC_US) || fh.magic == bswap_32(PCAP_MAGIC_NS);
	if (!swap && fh.magic != PCAP_MAGIC_US && fh.magic != PCAP_MAGIC_NS) {
		ipdk_err_set(err, rc, "port %s: %s is not a pcap file", port->cfg.name, path);
		goto out;
	}
	if (pcap_u32(fh.linktype, swap) != PCAP_LINKTYPE_ETHERNET) {
		ipdk_err_set(err, rc, "port %s: pcap file %s holds link type %u, not Ethernet",
			     port->cfg.name, path, pcap_u32(fh.linktype, swap));
		goto out;
	}
	rc = pcap_scan_records(port, f, swap, err);
out:
	fclose(f);
	return rc;
}

static int pcap_out_check(struct ipdk_port *port, struct ipdk_err *err)
{
	char dir[IPDK_PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", port->cfg.path_out);
	if (access(dirname(dir), W_OK) < 0)
		return ipdk_err_set(err, -errno, "port %s: cannot write pcap file %s: %s",
				    port->cfg.name, port->cfg.path_out, strerror(errno));
	return 0;
}

static int pcap_idle_make(struct ipdk_port *port, struct ipdk_err *err)
{
	static unsigned int next_id;
	struct pcap_priv *pp = port->priv;
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "ipdk%u_idle",
		 __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED));
	pp->idle = rte_ring_create(name, PCAP_IDLE_RING_SIZE, SOCKET_ID_ANY, 0);
	if (!pp->idle)
		return ipdk_err_set(err, rte_errno ? -rte_errno : -ENOMEM, "port %s: cannot "
				    "create its idle input ring: %s", port->cfg.name,
				    rte_strerror(rte_errno));
	return 0;
}

static int pcap_create(struct ipdk_port *port, struct ipdk_err *err)
{
	struct pcap_priv *pp = port->priv;
	int rc;

	if (port->cfg.path[0]) {
		rc = pcap_scan(port, err);
		if (rc)
			return rc;
	}
	if (port->cfg.path_out[0]) {
		rc = pcap_out_check(port, err);
		if (rc)
			return rc;
	}
	/* DPDK's source port refuses a file without frames: such a file is
	 * treated like no file at all. */
	if (pp->n_pkts == 0) {
		rc = pcap_idle_make(port, err);
		if (rc)
			return rc;
	}
	port->backend = pp->n_pkts ? "pcap" : "pcap (no input)";
	IPDK_LOG_INFO("port %s: %u frames from %s, %u times, to %s", port->cfg.name,
		      pp->n_pkts, port->cfg.path[0] ? port->cfg.path : "nowhere",
		      port->cfg.pcap_loops ? port->cfg.pcap_loops : 1,
		      port->cfg.path_out[0] ? port->cfg.path_out : "nowhere");
	return 0;
}

static int pcap_attach(struct ipdk_port *port, struct rte_swx_pipeline *p, uint32_t id,
		       struct ipdk_err *err)
{
	struct pcap_priv *pp = port->priv;
	struct rte_swx_port_source_params src = {
		.pool = ipdk_dpdk_mempool(),
		.file_name = port->cfg.path,
		/* For DPDK 0 loops means forever; for us it means once. */
		.n_loops = port->cfg.pcap_loops ? port->cfg.pcap_loops : 1,
		.n_pkts_max = pp->n_pkts,
	};
	struct rte_swx_port_ring_reader_params idle = {
		.name = pp->idle ? pp->idle->name : NULL,
		.burst_size = port->cfg.burst,
	};
	struct rte_swx_port_sink_params sink = {
		.file_name = port->cfg.path_out[0] ? port->cfg.path_out : NULL,
	};

	if (pp->idle)
		return ipdk_port_swx_config(port, p, id, "ipdk_ring", &ipdk_port_ring_reader_ops,
					    &idle, "sink", &rte_swx_port_sink_ops, &sink, err);
	return ipdk_port_swx_config(port, p, id, "source", &rte_swx_port_source_ops, &src,
				    "sink", &rte_swx_port_sink_ops, &sink, err);
}

static void pcap_destroy(struct ipdk_port *port)
{
	struct pcap_priv *pp = port->priv;

	rte_ring_free(pp->idle);
}

const struct ipdk_port_ops ipdk_port_pcap_ops = {
	.name = "pcap",
	.priv_size = sizeof(struct pcap_priv),
	.create = pcap_create,
	.attach = pcap_attach,
	.destroy = pcap_destroy,
};
