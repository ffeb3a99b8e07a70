/*
 * P4Runtime packet I/O through the controller port, a RING port of the
 * pipeline. PacketOut becomes a packet the pipeline receives on that port;
 * what the pipeline sends to it is read by a thread here and delivered as
 * PacketIn to the primary clients. When the P4Info has
 * @controller_header("packet_out") / ("packet_in") headers, their metadata
 * travel as a header in front of the payload (fields packed most significant
 * bit first, in P4Info order); otherwise the payload travels alone and
 * PacketIn carries no metadata.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"
#include "p4rt_service.h"

#define PIO_BURST 32
#define PIO_IDLE_US 200

void p4rt_packet_headers_set(struct ipdk_p4rt *p, const struct p4_model *m)
{
	pthread_mutex_lock(&p->pio_lock);
	memset(&p->hdr_in, 0, sizeof(p->hdr_in));
	memset(&p->hdr_out, 0, sizeof(p->hdr_out));
	if (m) {
		p->hdr_in = m->packet_in;
		p->hdr_out = m->packet_out;
	}
	pthread_mutex_unlock(&p->pio_lock);
}

/* Writes the low bits of value (big-endian bytes) at bit offset off of hdr. */
static void bits_put(uint8_t *hdr, uint32_t off, uint32_t bits, const uint8_t v[TDI_VALUE_BYTES])
{
	for (uint32_t b = 0; b < bits; b++) {
		uint32_t src = bits - 1 - b;    /* bit index in the value, LSB = 0 */
		int set = (v[TDI_VALUE_BYTES - 1 - src / 8] >> (src % 8)) & 1;
		uint32_t dst = off + b;

		if (set)
			hdr[dst / 8] |= (uint8_t)(0x80 >> (dst % 8));
	}
}

static void bits_get(const uint8_t *hdr, uint32_t off, uint32_t bits, uint8_t v[TDI_VALUE_BYTES])
{
	memset(v, 0, TDI_VALUE_BYTES);
	for (uint32_t b = 0; b < bits; b++) {
		uint32_t src = off + b, dst = bits - 1 - b;

		if (hdr[src / 8] & (0x80 >> (src % 8)))
			v[TDI_VALUE_BYTES - 1 - dst / 8] |= (uint8_t)(1u << (dst % 8));
	}
}

int p4rt_packet_out(struct ipdk_p4rt *p, const P4__V1__PacketOut *po, struct ipdk_err *err)
{
	struct rte_ring *ring;
	struct rte_mbuf *m;
	uint8_t hdr[256];
	uint32_t hlen, off = 0;
	char *data;
	int rc;

	if (!p->cpu_port || !(ring = ipdk_port_ring_to_pipeline(p->cpu_port)))
		return ipdk_err_set(err, -EBUSY, "PacketOut: no controller port is configured (p4rt.cpu_port)");
	if (!po->payload.len)
		return ipdk_err_set(err, -EINVAL, "PacketOut: empty payload");
	pthread_mutex_lock(&p->pio_lock);
	hlen = p->hdr_out.present ? p->hdr_out.n_bytes : 0;
	memset(hdr, 0, sizeof(hdr));
	if (hlen > sizeof(hdr)) {
		rc = ipdk_err_set(err, -EINVAL, "PacketOut: packet_out header of %u bytes is too large", hlen);
		goto out;
	}
	if (!p->hdr_out.present && po->n_metadata) {
		rc = ipdk_err_set(err, -EINVAL,
				  "PacketOut: metadata given but the P4Info has no packet_out controller header");
		goto out;
	}
	for (size_t i = 0; i < po->n_metadata; i++) {
		bool known = false;

		for (uint32_t k = 0; k < p->hdr_out.n_meta; k++)
			known |= p->hdr_out.meta[k].id == po->metadata[i]->metadata_id;
		if (!known) {
			rc = ipdk_err_set(err, -EINVAL, "PacketOut: unknown metadata id %u",
					  po->metadata[i]->metadata_id);
			goto out;
		}
	}
	for (uint32_t k = 0; k < p->hdr_out.n_meta; k++) {
		const struct p4m_ctrl_meta *md = &p->hdr_out.meta[k];
		uint8_t v[TDI_VALUE_BYTES] = { 0 };

		for (size_t i = 0; i < po->n_metadata; i++) {
			if (po->metadata[i]->metadata_id != md->id)
				continue;
			rc = p4_bytes_to_value(&po->metadata[i]->value, md->bits, v, md->name, err);
			if (rc)
				goto out;
		}
		bits_put(hdr, off, md->bits, v);
		off += md->bits;
	}
	m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
	if (!m) {
		rc = ipdk_err_set(err, -ENOSPC, "PacketOut: no packet buffer free");
		goto out;
	}
	data = rte_pktmbuf_append(m, (uint16_t)(hlen + po->payload.len));
	if (!data || hlen + po->payload.len > UINT16_MAX) {
		rte_pktmbuf_free(m);
		rc = ipdk_err_set(err, -EINVAL, "PacketOut: %zu bytes do not fit a packet buffer",
				  po->payload.len);
		goto out;
	}
	memcpy(data, hdr, hlen);
	memcpy(data + hlen, po->payload.data, po->payload.len);
	if (rte_ring_enqueue(ring, m)) {
		rte_pktmbuf_free(m);
		rc = ipdk_err_set(err, -ENOSPC, "PacketOut: the controller port's ring is full");
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&p->pio_lock);
	return rc;
}

static void packet_in_one(struct ipdk_p4rt *p, struct rte_mbuf *m, uint8_t *buf)
{
	P4__V1__PacketIn pin = P4__V1__PACKET_IN__INIT;
	P4__V1__PacketMetadata md[16], *pmd[16];
	uint8_t vals[16][TDI_VALUE_BYTES], out[16][TDI_VALUE_BYTES];
	uint32_t len = rte_pktmbuf_pkt_len(m), hlen, off = 0;
	const uint8_t *data = rte_pktmbuf_read(m, 0, len, buf);

	if (!data)
		return;
	pthread_mutex_lock(&p->pio_lock);
	hlen = p->hdr_in.present ? p->hdr_in.n_bytes : 0;
	if (hlen > len) {
		pthread_mutex_unlock(&p->pio_lock);
		return;
	}
	for (uint32_t k = 0; k < p->hdr_in.n_meta && hlen; k++) {
		p4__v1__packet_metadata__init(&md[k]);
		md[k].metadata_id = p->hdr_in.meta[k].id;
		bits_get(data, off, p->hdr_in.meta[k].bits, vals[k]);
		off += p->hdr_in.meta[k].bits;
		md[k].value = p4_value_to_bytes(vals[k], out[k]);
		pmd[pin.n_metadata++] = &md[k];
	}
	pthread_mutex_unlock(&p->pio_lock);
	pin.metadata = pmd;
	pin.payload.data = (uint8_t *)data + hlen;
	pin.payload.len = len - hlen;
	p4rt_packet_in_deliver(p, &pin);
}

static void *pio_main(void *arg)
{
	struct ipdk_p4rt *p = arg;
	struct rte_ring *ring = ipdk_port_ring_from_pipeline(p->cpu_port);
	uint8_t *buf = malloc(UINT16_MAX + 1);
	struct rte_mbuf *mb[PIO_BURST];

	while (!p->pio_stop && buf) {
		unsigned int n = rte_ring_dequeue_burst(ring, (void **)mb, PIO_BURST, NULL);

		if (!n) {
			usleep(PIO_IDLE_US);
			continue;
		}
		for (unsigned int i = 0; i < n; i++) {
			packet_in_one(p, mb[i], buf);
			rte_pktmbuf_free(mb[i]);
		}
	}
	free(buf);
	return NULL;
}

int p4rt_packetio_init(struct ipdk_p4rt *p, struct ipdk_err *err)
{
	pthread_mutex_init(&p->pio_lock, NULL);
	if (p->cpu_port && !ipdk_port_ring_from_pipeline(p->cpu_port))
		return ipdk_err_set(err, -EINVAL, "P4Runtime controller port %s is not a ring port",
				    ipdk_port_cfg(p->cpu_port)->name);
	return 0;
}

int p4rt_packetio_start(struct ipdk_p4rt *p, struct ipdk_err *err)
{
	if (!p->cpu_port)
		return 0;
	p->pio_stop = false;
	if (pthread_create(&p->pio_thread, NULL, pio_main, p))
		return ipdk_err_set(err, -EAGAIN, "P4Runtime: cannot start the packet-in thread");
	p->pio_running = true;
	IPDK_LOG_INFO("p4rt: controller port %s (pipeline port %u) carries PacketIn/PacketOut",
		      ipdk_port_cfg(p->cpu_port)->name, p->cpu_port_id);
	return 0;
}

void p4rt_packetio_stop(struct ipdk_p4rt *p)
{
	if (!p->pio_running)
		return;
	p->pio_stop = true;
	pthread_join(p->pio_thread, NULL);
	p->pio_running = false;
}
