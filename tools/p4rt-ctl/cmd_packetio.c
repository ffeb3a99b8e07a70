/*
 * p4rt-ctl's packet I/O commands over the StreamChannel: packet-out (a
 * payload in hex or from @FILE, metadata by the P4Info's packet_out header),
 * packet-in (prints PacketIn messages with their metadata) and start-pktio
 * (bridges PacketIn and PacketOut to a TAP device until interrupted).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ipdk/value.h"
#include "p4rt_ctl.h"
#include "value.h"

static int hex_payload(struct ctl *c, const char *s, ProtobufCBinaryData *out)
{
	size_t n = 0, len;

	if (s[0] == '@') {
		char *buf = slurp(s + 1, &len, &c->err);

		if (!buf)
			return -1;
		out->data = (uint8_t *)buf;
		out->len = len;
		return 0;
	}
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	out->data = malloc(strlen(s) / 2 + 1);
	while (*s) {
		int hi, lo;

		if (*s == ':' || *s == ' ') {
			s++;
			continue;
		}
		hi = ipdk_hexdigit(s[0]);
		lo = hi >= 0 ? ipdk_hexdigit(s[1]) : -1;
		if (hi < 0 || lo < 0)
			return ipdk_err_set(&c->err, -EINVAL, "PAYLOAD: expected hex bytes or @FILE");
		out->data[n++] = (uint8_t)(hi * 16 + lo);
		s += 2;
	}
	out->len = n;
	if (!n)
		return ipdk_err_set(&c->err, -EINVAL, "PAYLOAD is empty");
	return 0;
}

/* PacketOut metadata "name=value,..." by the P4Info's packet_out header. */
static int packet_meta(struct ctl *c, const char *text, P4__V1__PacketOut *po)
{
	const P4__Config__V1__ControllerPacketMetadata *h = p4i_ctrl_header(c->info, "packet_out");
	struct kvlist kv;
	int rc;

	if (!h)
		return ipdk_err_set(&c->err, -EINVAL,
				    "metadata given but the P4Info has no packet_out controller header");
	rc = kv_split(text, &kv, &c->err);
	for (size_t i = 0; !rc && i < kv.n; i++) {
		const P4__Config__V1__ControllerPacketMetadata__Metadata *md = NULL;
		P4__V1__PacketMetadata *pm;
		struct val v;

		for (size_t k = 0; k < h->n_metadata; k++)
			if (!strcmp(h->metadata[k]->name, kv.v[i].key))
				md = h->metadata[k];
		if (!md) {
			rc = ipdk_err_set(&c->err, -EINVAL, "packet_out has no metadata \"%s\"", kv.v[i].key);
			break;
		}
		rc = val_parse(kv.v[i].val ? kv.v[i].val : "", (uint32_t)md->bitwidth, md->name, &v,
			       &c->err);
		if (rc)
			break;
		pm = msg_new(&p4__v1__packet_metadata__descriptor);
		pm->metadata_id = md->id;
		val_to_bytes(&v, &pm->value);
		po->metadata = realloc(po->metadata, (po->n_metadata + 1) * sizeof(*po->metadata));
		po->metadata[po->n_metadata++] = pm;
	}
	kv_free(&kv);
	return rc;
}

static int send_packet_out(struct ctl *c, P4__V1__PacketOut *po)
{
	P4__V1__StreamMessageRequest req = P4__V1__STREAM_MESSAGE_REQUEST__INIT;

	req.update_case = P4__V1__STREAM_MESSAGE_REQUEST__UPDATE_PACKET;
	req.packet = po;
	if (ipdk_rpc_stream_send(c->stream, &req.base)) {
		fprintf(stderr, "p4rt-ctl: %s: the stream ended before the PacketOut was sent\n", c->cmd);
		return EX_REFUSED;
	}
	return 0;
}

int cmd_packet_out(struct ctl *c, int argc, char **argv)
{
	P4__V1__PacketOut *po = msg_new(&p4__v1__packet_out__descriptor);
	P4__V1__StreamMessageResponse *m;
	int rc;

	rc = hex_payload(c, argv[1], &po->payload);
	if (!rc && argc > 2) {
		rc = need_info(c);
		if (rc) {
			p4__v1__packet_out__free_unpacked(po, NULL);
			return rc;
		}
		rc = packet_meta(c, argv[2], po);
	}
	if (rc) {
		p4__v1__packet_out__free_unpacked(po, NULL);
		return input_error(c);
	}
	rc = arbitrate(c);
	if (!rc)
		rc = send_packet_out(c, po);
	p4__v1__packet_out__free_unpacked(po, NULL);
	/* a refused PacketOut comes back as a StreamError; give it a moment to arrive */
	while (!rc && ipdk_rpc_stream_recv(c->stream, 0.3, (ProtobufCMessage **)&m) == 1) {
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_ERROR) {
			fprintf(stderr, "p4rt-ctl: packet-out: refused: %s: %s\n",
				ipdk_rpc_code_name(m->error->canonical_code), m->error->message);
			rc = EX_REFUSED;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
	return rc;
}

static void print_packet_in(struct ctl *c, const P4__V1__PacketIn *p)
{
	const P4__Config__V1__ControllerPacketMetadata *h =
		c->info ? p4i_ctrl_header(c->info, "packet_in") : NULL;
	json_t *o = c->json ? json_object() : NULL, *md = c->json ? json_object() : NULL;
	char *hexs = malloc(p->payload.len * 2 + 8);

	for (size_t i = 0; i < p->payload.len; i++)
		sprintf(hexs + 2 * i, "%02x", p->payload.data[i]);
	hexs[2 * p->payload.len] = 0;
	if (!c->json)
		printf("packet-in len=%zu", p->payload.len);
	for (size_t i = 0; i < p->n_metadata; i++) {
		const char *name = NULL;
		char v[VAL_MAX_BYTES * 2 + 8], idn[32];

		for (size_t k = 0; h && k < h->n_metadata; k++)
			if (h->metadata[k]->id == p->metadata[i]->metadata_id)
				name = h->metadata[k]->name;
		snprintf(idn, sizeof(idn), "%u", p->metadata[i]->metadata_id);
		bytes_hex(&p->metadata[i]->value, v, sizeof(v));
		if (md)
			json_object_set_new(md, name ? name : idn, json_string(v));
		else
			printf(" %s=%s", name ? name : idn, v);
	}
	if (o) {
		json_object_set_new(o, "metadata", md);
		json_object_set_new(o, "payload", json_string(hexs));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(o);
	} else {
		printf(" payload=%s\n", hexs);
	}
	fflush(stdout);
	free(hexs);
}

int cmd_packet_in(struct ctl *c, int argc, char **argv)
{
	double wait = c->timeout_set ? c->co.timeout : -1;
	int want = c->count > 0 ? c->count : 1, got = 0, rc;

	if (argc > 1) {
		uint64_t n;

		if (u64_parse(argv[1], "COUNT", &n, &c->err) || !n || n > INT32_MAX)
			return input_error(c);
		want = (int)n;
	}
	rc = need_info(c);     /* names the packet_in metadata */
	if (!rc)
		rc = arbitrate(c);
	if (rc)
		return rc;
	fprintf(stderr, "p4rt-ctl: waiting for %d PacketIn on device %" PRIu64 "\n", want, c->device_id);
	while (got < want && !interrupted) {
		P4__V1__StreamMessageResponse *m;
		int r = ipdk_rpc_stream_recv(c->stream, 0.2, (ProtobufCMessage **)&m);

		if (r < 0)
			return rpc_error(c, "StreamChannel", ipdk_rpc_stream_status(c->stream));
		if (r == 0) {
			if (wait >= 0 && (wait -= 0.2) <= 0) {
				fprintf(stderr, "p4rt-ctl: packet-in: %d of %d packets before the timeout\n",
					got, want);
				return EX_REFUSED;
			}
			continue;
		}
		if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_PACKET) {
			print_packet_in(c, m->packet);
			got++;
		}
		p4__v1__stream_message_response__free_unpacked(m, NULL);
	}
	return got < want ? EX_REFUSED : 0;
}

static int tap_open(const char *name, struct ipdk_err *err)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);

	if (fd < 0)
		return ipdk_err_set(err, -errno, "/dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return ipdk_err_set(err, -e, "TAP %s: %s", name, strerror(e));
	}
	return fd;
}

int cmd_start_pktio(struct ctl *c, int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "pktioTap0";
	uint8_t buf[16384];
	int fd, rc;

	fd = tap_open(name, &c->err);
	if (fd < 0)
		return input_error(c);
	rc = arbitrate(c);
	if (rc) {
		close(fd);
		return rc;
	}
	fprintf(stderr, "p4rt-ctl: bridging PacketIn/PacketOut to TAP %s (Ctrl-C to stop)\n", name);
	while (!interrupted) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		P4__V1__StreamMessageResponse *m;
		int r;

		while (poll(&pfd, 1, 0) > 0) {
			ssize_t n = read(fd, buf, sizeof(buf));
			P4__V1__PacketOut po = P4__V1__PACKET_OUT__INIT;

			if (n <= 0)
				break;
			po.payload.data = buf;
			po.payload.len = (size_t)n;
			if (send_packet_out(c, &po)) {
				close(fd);
				return EX_REFUSED;
			}
		}
		r = ipdk_rpc_stream_recv(c->stream, 0.02, (ProtobufCMessage **)&m);
		if (r < 0) {
			close(fd);
			return rpc_error(c, "StreamChannel", ipdk_rpc_stream_status(c->stream));
		}
		if (r == 1) {
			if (m->update_case == P4__V1__STREAM_MESSAGE_RESPONSE__UPDATE_PACKET &&
			    write(fd, m->packet->payload.data, m->packet->payload.len) < 0)
				fprintf(stderr, "p4rt-ctl: TAP %s: %s\n", name, strerror(errno));
			p4__v1__stream_message_response__free_unpacked(m, NULL);
		}
	}
	close(fd);
	return 0;
}
