/*
 * Tests of the DPDK target's port types against real kernel objects: TAP
 * netdevs, veth pairs used through AF_XDP and AF_PACKET, vhost-user sockets,
 * DPDK rings and pcap files. The data-path tests build a two-port SWX
 * pipeline by hand (metadata, `rx`, `xor m.port_out 1`, `tx`), so a frame that
 * enters port 0 leaves by port 1 and the other way round, run it in the test
 * thread for a bounded time, and check that frames come out byte for byte as
 * they went in. Every netdev, socket and file a test makes is recorded in its
 * fixture and removed in the teardown, which runs even when an assertion fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <cmocka.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"

#define MAX_PORTS 4
#define MAX_FILES 4
#define MAX_SOCKS 4
#define ETHERTYPE_TEST 0x88b5   /* IEEE local experimental: no stack reacts to it */
#define PUMP_MS 3000

struct fx {
	struct rte_swx_pipeline *p;
	struct ipdk_port *ports[MAX_PORTS];
	int n_ports;
	char veth_a[IFNAMSIZ], veth_b[IFNAMSIZ];
	int socks[MAX_SOCKS];
	int n_socks;
	char files[MAX_FILES][128];
	int n_files;
};

static unsigned int name_seq;

/* ---- helpers -------------------------------------------------------------- */

static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Short names unique to this process and test, valid as netdev names. */
static void uniq(char *buf, size_t size, const char *prefix)
{
	snprintf(buf, size, "%s%u%u", prefix, (unsigned int)getpid() % 100000, name_seq++);
}

static struct ipdk_port *port_add(struct fx *f, const struct ipdk_port_cfg *cfg)
{
	struct ipdk_err err;
	struct ipdk_port *port = NULL;
	int rc;

	rc = ipdk_port_create(cfg, &port, &err);
	if (rc)
		print_error("port %s: %s\n", cfg->name, err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(port);
	f->ports[f->n_ports++] = port;
	return port;
}

static const char *file_add(struct fx *f, const char *what)
{
	char *path = f->files[f->n_files++];

	snprintf(path, sizeof(f->files[0]), "/tmp/ipdk-test-ports-%d-%u-%s", (int)getpid(),
		 name_seq++, what);
	unlink(path);
	return path;
}

static void veth_add(struct fx *f)
{
	uniq(f->veth_a, sizeof(f->veth_a), "ipva");
	uniq(f->veth_b, sizeof(f->veth_b), "ipvb");
	assert_int_equal(run("ip link add %s type veth peer name %s", f->veth_a, f->veth_b), 0);
	run("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 net.ipv6.conf.%s.disable_ipv6=1 "
	    ">/dev/null 2>&1", f->veth_a, f->veth_b);
	/* Offloads off: XDP sees no GSO super-frames and checksums are complete. */
	assert_int_equal(run("ethtool -K %s tx off sg off tso off gso off >/dev/null 2>&1 && "
			     "ethtool -K %s tx off sg off tso off gso off >/dev/null 2>&1",
			     f->veth_a, f->veth_b), 0);
	assert_int_equal(run("ip link set %s up && ip link set %s up", f->veth_a,
			     f->veth_b), 0);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	int i;

	/* The pipeline holds the ports' DPDK objects: it goes first. */
	if (f->p)
		rte_swx_pipeline_free(f->p);
	for (i = f->n_ports - 1; i >= 0; i--)
		ipdk_port_destroy(f->ports[i]);
	for (i = 0; i < f->n_socks; i++)
		close(f->socks[i]);
	if (f->veth_a[0])
		run("ip link del %s >/dev/null 2>&1", f->veth_a);
	for (i = 0; i < f->n_files; i++)
		unlink(f->files[i]);
	free(f);
	return 0;
}

static bool netdev_info(const char *ifname, unsigned int *flags, unsigned int *mtu)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	*flags = (unsigned short)ifr.ifr_flags;
	ok = ok && ioctl(fd, SIOCGIFMTU, &ifr) == 0;
	*mtu = ifr.ifr_mtu;
	close(fd);
	return ok;
}

/* A raw socket on ifname that sees every frame crossing it. */
static int raw_socket(struct fx *f, const char *ifname)
{
	struct sockaddr_ll sll;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	f->socks[f->n_socks++] = fd;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

static size_t frame_make(uint8_t *buf, uint8_t tag, size_t len)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0x1d, 0x02 };
	static const uint8_t src[6] = { 0x02, 0, 0, 0, 0x1d, 0x01 };
	size_t i;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = ETHERTYPE_TEST >> 8;
	buf[13] = ETHERTYPE_TEST & 0xff;
	for (i = 14; i < len; i++)
		buf[i] = (uint8_t)(tag + i);
	return len;
}

/* ---- a hand-built two-port pipeline -------------------------------------- */

static struct rte_swx_pipeline *pipeline_make(struct fx *f, struct ipdk_port **ports,
					      uint32_t n)
{
	static struct rte_swx_field_params meta[] = {
		{ .name = "port_in", .n_bits = 32 },
		{ .name = "port_out", .n_bits = 32 },
	};
	static const char *apply[] = {
		"rx m.port_in",
		"mov m.port_out m.port_in",
		"xor m.port_out 1",
		"tx m.port_out",
	};
	char name[32];
	struct ipdk_err err;
	uint32_t i;
	int rc;

	snprintf(name, sizeof(name), "tports%u", name_seq++);
	assert_int_equal(rte_swx_pipeline_config(&f->p, name, 0), 0);
	assert_int_equal(rte_swx_pipeline_struct_type_register(f->p, "meta_t", meta, 2, 0), 0);
	assert_int_equal(rte_swx_pipeline_packet_metadata_register(f->p, "meta_t"), 0);
	assert_int_equal(rte_swx_pipeline_instructions_config(f->p, apply, 4), 0);
	for (i = 0; i < n; i++) {
		rc = ipdk_port_attach(ports[i], f->p, i, &err);
		if (rc)
			print_error("%s\n", err.msg);
		assert_int_equal(rc, 0);
	}
	rc = rte_swx_pipeline_build(f->p);
	assert_int_equal(rc, 0);
	return f->p;
}

static void pipeline_step(struct rte_swx_pipeline *p)
{
	rte_swx_pipeline_run(p, 64);
	rte_swx_pipeline_flush(p);
}

/* Runs the pipeline until sock receives a frame equal to want (anything else
 * crossing the netdev is ignored), for at most PUMP_MS. */
static bool pump_until(struct rte_swx_pipeline *p, int sock, const uint8_t *want,
		       size_t len)
{
	uint8_t buf[2048];
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;
	int i;

	for (i = 0; i < PUMP_MS * 10; i++) {
		pipeline_step(p);
		for (;;) {
			fl = sizeof(from);
			n = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n < 0)
				break;
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			if ((size_t)n == len && !memcmp(buf, want, len))
				return true;
		}
		usleep(100);
	}
	return false;
}

static void frame_send(int sock, const uint8_t *frame, size_t len)
{
	assert_int_equal(send(sock, frame, len, 0), (ssize_t)len);
}

/* ---- type names and errors ------------------------------------------------ */

static void test_type_names(void **state)
{
	int t;

	(void)state;
	for (t = 0; t < IPDK_PORT_TYPE_MAX; t++)
		assert_int_equal(ipdk_port_type_parse(ipdk_port_type_name(t)), t);
	assert_string_equal(ipdk_port_type_name(IPDK_PORT_LINK), "link");
	assert_int_equal(ipdk_port_type_parse("VHost"), IPDK_PORT_VHOST);
	assert_int_equal(ipdk_port_type_parse("tapx"), -EINVAL);
	assert_int_equal(ipdk_port_type_parse(""), -EINVAL);
	assert_int_equal(ipdk_port_type_parse(NULL), -EINVAL);
}

static void test_errors(void **state)
{
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port = NULL;
	struct ipdk_err err;
	int rc;

	(void)state;
	/* A LINK port on a netdev that does not exist names it. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "nolink");
	cfg.type = IPDK_PORT_LINK;
	snprintf(cfg.netdev, sizeof(cfg.netdev), "ipnosuch%u", (unsigned int)getpid() % 10000);
	rc = ipdk_port_create(&cfg, &port, &err);
	assert_int_equal(rc, -ENODEV);
	assert_null(port);
	assert_non_null(strstr(err.msg, cfg.netdev));
	assert_non_null(strstr(err.msg, "does not exist"));

	/* An unknown type. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "badtype");
	cfg.type = (enum ipdk_port_type)42;
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "badtype"));

	/* A TAP named after a port whose name cannot be a netdev name. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "a-tap-port-name-too-long");
	cfg.type = IPDK_PORT_TAP;
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, cfg.name));
	assert_int_equal(if_nametoindex("a-tap-port-name"), 0);

	/* Port names with characters we do not allow. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "bad name/x");
	cfg.type = IPDK_PORT_RING;
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -EINVAL);

	/* More queues than a pipeline port can use. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "manyq");
	cfg.type = IPDK_PORT_RING;
	cfg.queues = 4;
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "manyq"));

	/* A pcap input that is missing. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "nopcap");
	cfg.type = IPDK_PORT_PCAP;
	snprintf(cfg.path, sizeof(cfg.path), "/nonexistent/in.pcap");
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/in.pcap"));
}

static void test_duplicate_name(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port = NULL;
	struct ipdk_err err;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "dupring");
	cfg.type = IPDK_PORT_RING;
	port_add(f, &cfg);
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "dupring"));
}

/* ---- TAP ------------------------------------------------------------------ */

static void test_tap_lifecycle(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port;
	unsigned int flags, mtu;
	char ifname[IFNAMSIZ], first[IFNAMSIZ];

	/* Default netdev name (the port's) and default MTU. */
	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "iptap");
	cfg.type = IPDK_PORT_TAP;
	port = port_add(f, &cfg);
	assert_string_equal(ipdk_port_backend(port), "fd");
	assert_string_equal(ipdk_port_cfg(port)->netdev, cfg.name);
	assert_true(if_nametoindex(cfg.name) > 0);
	assert_true(netdev_info(cfg.name, &flags, &mtu));
	assert_true(flags & IFF_UP);
	assert_int_equal(mtu, 1500);
	assert_int_equal(ipdk_port_cfg(port)->burst, 32);
	assert_null(ipdk_port_ring_to_pipeline(port));
	snprintf(first, sizeof(first), "%s", cfg.name);

	/* A TAP netdev of that name now exists: a second one is refused. */
	{
		struct ipdk_port_cfg c2 = cfg;
		struct ipdk_port *p2 = NULL;
		struct ipdk_err err;

		uniq(c2.name, sizeof(c2.name), "other");
		snprintf(c2.netdev, sizeof(c2.netdev), "%s", cfg.name);
		assert_int_equal(ipdk_port_create(&c2, &p2, &err), -EEXIST);
		assert_non_null(strstr(err.msg, cfg.name));
	}

	/* Explicit netdev name and MTU. */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "tap-with-a-long-port-name");
	uniq(ifname, sizeof(ifname), "iptapb");
	snprintf(cfg.netdev, sizeof(cfg.netdev), "%s", ifname);
	cfg.type = IPDK_PORT_TAP;
	cfg.mtu = 1400;
	port = port_add(f, &cfg);
	assert_true(netdev_info(ifname, &flags, &mtu));
	assert_true(flags & IFF_UP);
	assert_int_equal(mtu, 1400);

	/* Destroying the ports removes the netdevs. */
	ipdk_port_destroy(f->ports[--f->n_ports]);
	assert_int_equal(if_nametoindex(ifname), 0);
	ipdk_port_destroy(f->ports[--f->n_ports]);
	assert_int_equal(if_nametoindex(first), 0);
}

/* ---- LINK ----------------------------------------------------------------- */

static const char *mode_name(enum ipdk_link_mode m)
{
	return m == IPDK_LINK_AF_XDP ? "af_xdp" : m == IPDK_LINK_AF_PACKET ? "af_packet" :
	       "auto";
}

static void link_lifecycle(struct fx *f, enum ipdk_link_mode mode)
{
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port;
	unsigned int flags, mtu, flags0, mtu0;

	veth_add(f);
	memset(&cfg, 0, sizeof(cfg));
	if (mode == IPDK_LINK_AF_PACKET) {
		/* A netdev that is down, and an MTU to set: both are changed for
		 * the port's life and put back afterwards. */
		assert_int_equal(run("ip link set %s down", f->veth_a), 0);
		cfg.mtu = 1400;
	}
	assert_true(netdev_info(f->veth_a, &flags0, &mtu0));
	assert_false(flags0 & IFF_PROMISC);

	uniq(cfg.name, sizeof(cfg.name), "link");
	cfg.type = IPDK_PORT_LINK;
	cfg.link_mode = mode;
	snprintf(cfg.netdev, sizeof(cfg.netdev), "%s", f->veth_a);
	port = port_add(f, &cfg);
	if (mode == IPDK_LINK_AUTO)
		print_message("      LINK AUTO on veth chose %s\n", ipdk_port_backend(port));
	else
		assert_string_equal(ipdk_port_backend(port), mode_name(mode));
	assert_true(netdev_info(f->veth_a, &flags, &mtu));
	assert_true(flags & IFF_PROMISC);
	assert_true(flags & IFF_UP);
	assert_int_equal(mtu, cfg.mtu ? cfg.mtu : mtu0);

	/* The netdev outlives the port and is left as it was. */
	ipdk_port_destroy(f->ports[--f->n_ports]);
	assert_true(if_nametoindex(f->veth_a) > 0);
	assert_true(netdev_info(f->veth_a, &flags, &mtu));
	assert_int_equal(flags & (IFF_UP | IFF_PROMISC), flags0 & (IFF_UP | IFF_PROMISC));
	assert_int_equal(mtu, mtu0);
}

static void test_link_af_xdp(void **state)
{
	link_lifecycle(*state, IPDK_LINK_AF_XDP);
}

static void test_link_af_packet(void **state)
{
	link_lifecycle(*state, IPDK_LINK_AF_PACKET);
}

static void test_link_auto(void **state)
{
	link_lifecycle(*state, IPDK_LINK_AUTO);
}

/* Port 0: a TAP port, port 1: a LINK port on one end of a veth pair. A frame
 * sent into the far veth end must leave the TAP netdev unchanged, and a frame
 * sent out of the TAP netdev must arrive at the far veth end unchanged. */
static void link_datapath(struct fx *f, enum ipdk_link_mode mode)
{
	struct ipdk_port_cfg cfg;
	struct ipdk_port *ports[2];
	uint8_t frame[256];   /* the largest frame below is 140 bytes */
	size_t len;
	int tap_sock, peer_sock, i;

	veth_add(f);
	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "iptap");
	cfg.type = IPDK_PORT_TAP;
	ports[0] = port_add(f, &cfg);
	run("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 >/dev/null 2>&1", cfg.name);
	tap_sock = raw_socket(f, cfg.name);

	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "link");
	cfg.type = IPDK_PORT_LINK;
	cfg.link_mode = mode;
	snprintf(cfg.netdev, sizeof(cfg.netdev), "%s", f->veth_a);
	ports[1] = port_add(f, &cfg);
	if (mode == IPDK_LINK_AUTO)
		print_message("      LINK AUTO on veth chose %s\n", ipdk_port_backend(ports[1]));
	peer_sock = raw_socket(f, f->veth_b);

	pipeline_make(f, ports, 2);
	for (i = 0; i < 3; i++) {
		len = frame_make(frame, (uint8_t)(0x10 + i), 60 + 40 * i);
		frame_send(peer_sock, frame, len);
		assert_true(pump_until(f->p, tap_sock, frame, len));

		len = frame_make(frame, (uint8_t)(0x80 + i), 64 + 30 * i);
		frame_send(tap_sock, frame, len);
		assert_true(pump_until(f->p, peer_sock, frame, len));
	}
}

static void test_datapath_af_xdp(void **state)
{
	link_datapath(*state, IPDK_LINK_AF_XDP);
}

static void test_datapath_af_packet(void **state)
{
	link_datapath(*state, IPDK_LINK_AF_PACKET);
}

static void test_datapath_auto(void **state)
{
	link_datapath(*state, IPDK_LINK_AUTO);
}

/* ---- VHOST ---------------------------------------------------------------- */

/* Counts the entries of /tmp whose name starts with prefix. */
static int tmp_entries(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir("/tmp");
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/* Asks a vhost-user server for its features (VHOST_USER_GET_FEATURES, message
 * 1, protocol version 1) the way QEMU opens a session; 0 and *features set
 * when it answered within 10 s. */
static int vhost_get_features(const char *path, uint64_t *features)
{
	struct { uint32_t request, flags, size; } __attribute__((packed)) hdr = { 1, 1, 0 };
	struct { uint32_t request, flags, size; uint64_t u64; } __attribute__((packed)) rep;
	struct timeval tv = { .tv_sec = 10 };
	struct sockaddr_un sa;
	int fd, rc = -1;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, &hdr, sizeof(hdr)) == sizeof(hdr) &&
	    recv(fd, &rep, sizeof(rep), MSG_WAITALL) == sizeof(rep) &&
	    rep.request == 1 && (rep.flags & 0x4) && rep.size == 8) {   /* 0x4: reply */
		*features = rep.u64;
		rc = 0;
	}
	close(fd);
	return rc;
}

static void test_vhost(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg, ring_cfg;
	struct ipdk_port *port, *ports[2], *dup = NULL;
	struct rte_swx_port_out_stats st;
	struct rte_mbuf *m;
	struct ipdk_err err;
	struct stat sb;
	const char *path = file_add(f, "vhost.sock");
	uint64_t features = 0;
	char wake[64];
	int i;

	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "vhost");
	cfg.type = IPDK_PORT_VHOST;
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	port = port_add(f, &cfg);
	assert_string_equal(ipdk_port_backend(port), "vhost-user");
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));

	/* The socket is served (the vhost thread was woken to take it) and answers
	 * as a virtio-net backend: VIRTIO_NET_F_MRG_RXBUF (15) and
	 * VHOST_USER_F_PROTOCOL_FEATURES (30). The throwaway socket that woke the
	 * thread is gone. */
	assert_int_equal(vhost_get_features(path, &features), 0);
	assert_true(features & (1ull << 15));
	assert_true(features & (1ull << 30));
	snprintf(wake, sizeof(wake), "ipdk-vhost-wake-%d-", (int)getpid());
	assert_int_equal(tmp_entries(wake), 0);

	/* Two ports on one socket path. */
	uniq(cfg.name, sizeof(cfg.name), "vhost");
	assert_int_equal(ipdk_port_create(&cfg, &dup, &err), -EADDRINUSE);
	assert_null(dup);
	assert_non_null(strstr(err.msg, path));

	/* With no guest connected the port takes frames and drops them: the
	 * pipeline neither fails nor stalls. */
	memset(&ring_cfg, 0, sizeof(ring_cfg));
	uniq(ring_cfg.name, sizeof(ring_cfg.name), "ring");
	ring_cfg.type = IPDK_PORT_RING;
	ports[0] = port_add(f, &ring_cfg);
	ports[1] = port;
	pipeline_make(f, ports, 2);
	m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
	assert_non_null(m);
	frame_make((uint8_t *)rte_pktmbuf_append(m, 60), 1, 60);
	assert_int_equal(rte_ring_enqueue(ipdk_port_ring_to_pipeline(ports[0]), m), 0);
	for (i = 0; i < 100; i++)
		pipeline_step(f->p);
	assert_int_equal(rte_swx_ctl_pipeline_port_out_stats_read(f->p, 1, &st), 0);
	assert_int_equal(st.n_pkts + st.n_pkts_drop, 1);
	assert_int_equal(st.n_pkts_drop, 1);

	/* Destroy removes the socket file. */
	rte_swx_pipeline_free(f->p);
	f->p = NULL;
	ipdk_port_destroy(port);
	f->ports[0] = ports[0];
	f->n_ports = 1;
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

/* A client port connects to a socket QEMU will offer: it must come up with
 * nothing listening yet and keep trying in the background. */
static void test_vhost_client(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port;
	struct stat sb;
	const char *path = file_add(f, "qemu.sock");

	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "vhostc");
	cfg.type = IPDK_PORT_VHOST;
	cfg.vhost_client = true;
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	port = port_add(f, &cfg);
	assert_string_equal(ipdk_port_backend(port), "vhost-user");
	assert_int_equal(stat(path, &sb), -1);
}

static void test_vhost_stale_socket(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct sockaddr_un sa;
	struct stat sb;
	const char *path = file_add(f, "stale.sock");
	int fd;

	/* A socket file nobody listens on, as a crashed daemon leaves behind. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "vhost");
	cfg.type = IPDK_PORT_VHOST;
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	port_add(f, &cfg);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
}

/* ---- RING ----------------------------------------------------------------- */

static void test_ring_datapath(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *ports[2];
	struct rte_mbuf *m, *out[8];
	uint8_t frame[128];
	unsigned int n = 0;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "ring");
	cfg.type = IPDK_PORT_RING;
	cfg.ring_size = 100;   /* not a power of two: the port hides that */
	ports[0] = port_add(f, &cfg);
	assert_string_equal(ipdk_port_backend(ports[0]), "ring");
	assert_true(rte_ring_get_capacity(ipdk_port_ring_to_pipeline(ports[0])) >= 100);
	uniq(cfg.name, sizeof(cfg.name), "ring");
	ports[1] = port_add(f, &cfg);
	pipeline_make(f, ports, 2);

	for (i = 0; i < 5; i++) {
		m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
		assert_non_null(m);
		frame_make((uint8_t *)rte_pktmbuf_append(m, 60 + i), (uint8_t)i, 60 + i);
		assert_int_equal(rte_ring_enqueue(ipdk_port_ring_to_pipeline(ports[0]), m), 0);
	}
	for (i = 0; i < 200 && n < 5; i++) {
		pipeline_step(f->p);
		n += rte_ring_dequeue_burst(ipdk_port_ring_from_pipeline(ports[1]),
					    (void **)out + n, 8 - n, NULL);
	}
	assert_int_equal(n, 5);
	assert_int_equal(rte_ring_count(ipdk_port_ring_from_pipeline(ports[0])), 0);
	for (i = 0; i < 5; i++) {
		frame_make(frame, (uint8_t)i, 60 + i);
		assert_int_equal(rte_pktmbuf_pkt_len(out[i]), 60 + i);
		assert_memory_equal(rte_pktmbuf_mtod(out[i], uint8_t *), frame, 60 + i);
		rte_pktmbuf_free(out[i]);
	}
}

/* ---- PCAP ----------------------------------------------------------------- */

static void pcap_write(const char *path, int n_frames)
{
	uint32_t fh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };
	uint8_t frame[256];
	FILE *fp = fopen(path, "wb");
	int i;

	assert_non_null(fp);
	assert_int_equal(fwrite(fh, sizeof(fh), 1, fp), 1);
	for (i = 0; i < n_frames; i++) {
		uint32_t len = 60 + 10 * i;
		uint32_t rh[4] = { 1000 + i, 0, len, len };

		frame_make(frame, (uint8_t)(0x40 + i), len);
		assert_int_equal(fwrite(rh, sizeof(rh), 1, fp), 1);
		assert_int_equal(fwrite(frame, len, 1, fp), 1);
	}
	fclose(fp);
}

/* Reads back a pcap file written by the sink and checks it holds the frames
 * pcap_write() made, in order, loops times over; returns the frame count. */
static int pcap_check(const char *path, int n_frames, int loops)
{
	uint32_t fh[6], rh[4];
	uint8_t got[256], want[256];
	FILE *fp = fopen(path, "rb");
	int n = 0;

	assert_non_null(fp);
	assert_int_equal(fread(fh, sizeof(fh), 1, fp), 1);
	assert_int_equal(fh[0], 0xa1b2c3d4);
	assert_int_equal(fh[5], 1);
	while (fread(rh, sizeof(rh), 1, fp) == 1) {
		int i = n % n_frames;
		uint32_t len = 60 + 10 * i;

		assert_true(n < n_frames * loops);
		assert_int_equal(rh[2], len);
		assert_int_equal(fread(got, len, 1, fp), 1);
		frame_make(want, (uint8_t)(0x40 + i), len);
		assert_memory_equal(got, want, len);
		n++;
	}
	fclose(fp);
	return n;
}

static void test_pcap_datapath(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *ports[2];
	const char *in = file_add(f, "in.pcap");
	const char *out0 = file_add(f, "out0.pcap");
	const char *out1 = file_add(f, "out1.pcap");
	int i;

	pcap_write(in, 3);
	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "pcap");
	cfg.type = IPDK_PORT_PCAP;
	snprintf(cfg.path, sizeof(cfg.path), "%s", in);
	snprintf(cfg.path_out, sizeof(cfg.path_out), "%s", out0);
	cfg.pcap_loops = 2;
	ports[0] = port_add(f, &cfg);
	assert_string_equal(ipdk_port_backend(ports[0]), "pcap");

	/* No input file: an idle input, and the output is recorded. */
	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "pcap");
	cfg.type = IPDK_PORT_PCAP;
	snprintf(cfg.path_out, sizeof(cfg.path_out), "%s", out1);
	ports[1] = port_add(f, &cfg);

	pipeline_make(f, ports, 2);
	for (i = 0; i < 200; i++)
		pipeline_step(f->p);
	/* The sink writes its file completely when the pipeline lets it go. */
	rte_swx_pipeline_free(f->p);
	f->p = NULL;
	assert_int_equal(pcap_check(out1, 3, 2), 6);
	assert_int_equal(pcap_check(out0, 3, 1), 0);
}

static void test_pcap_bad_file(void **state)
{
	struct fx *f = *state;
	struct ipdk_port_cfg cfg;
	struct ipdk_port *port = NULL;
	struct ipdk_err err;
	const char *in = file_add(f, "notpcap.txt");
	FILE *fp = fopen(in, "w");

	assert_non_null(fp);
	fputs("this is not a capture file, just some text\n", fp);
	fclose(fp);
	memset(&cfg, 0, sizeof(cfg));
	uniq(cfg.name, sizeof(cfg.name), "pcap");
	cfg.type = IPDK_PORT_PCAP;
	snprintf(cfg.path, sizeof(cfg.path), "%s", in);
	assert_int_equal(ipdk_port_create(&cfg, &port, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a pcap file"));
	assert_non_null(strstr(err.msg, cfg.name));
}

/* ---- the shared pool after all of the above ------------------------------- */

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Runs last: every buffer the ports and pipelines above took from the shared
 * pool is back, and none was returned twice (a twice-freed buffer would be
 * handed out twice by the allocation below). */
static void test_pool_intact(void **state)
{
	struct rte_mempool *pool = ipdk_dpdk_mempool();
	unsigned int n = pool->size, i;
	struct rte_mbuf **all = calloc(n, sizeof(*all));

	(void)state;
	assert_non_null(all);
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
	assert_int_equal(rte_pktmbuf_alloc_bulk(pool, all, n), 0);
	qsort(all, n, sizeof(*all), ptr_cmp);
	for (i = 1; i < n && all[i] != all[i - 1]; i++)
		;
	rte_pktmbuf_free_bulk(all, n);
	free(all);
	assert_int_equal(i, n);
}

/* ---- main ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	struct ipdk_err err;

	(void)state;
	ipdk_log_init("test_ports", IPDK_LOG_WARN, false);
	if (ipdk_dpdk_env_init(NULL, &err)) {
		print_error("%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ipdk_dpdk_env_fini();
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_type_names),
		T(test_errors),
		T(test_duplicate_name),
		T(test_tap_lifecycle),
		T(test_link_af_xdp),
		T(test_link_af_packet),
		T(test_link_auto),
		T(test_datapath_af_xdp),
		T(test_datapath_af_packet),
		T(test_datapath_auto),
		T(test_vhost),
		T(test_vhost_client),
		T(test_vhost_stale_socket),
		T(test_ring_datapath),
		T(test_pcap_datapath),
		T(test_pcap_bad_file),
		T(test_pool_intact),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_ports needs root (it creates netdevs)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
