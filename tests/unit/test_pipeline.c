/*
 * Tests of the pipeline builder and the pipeline threads: padding of inputs
 * to a power of two, the drop port appended last, errors from a broken spec,
 * threads that forward packets, hand pipelines over and back off when idle,
 * port slots filled, emptied and moved while a thread runs the pipeline, and a
 * TAP and a LINK port's error and drop counters read through their slots,
 * freeing pipelines whose tables DPDK's control handle shares, and quiescing a
 * pipeline whose packets stay in flight for many runs, or for ever (it gives
 * up).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memcpy.h>
#include <rte_ring.h>
#include <rte_swx_pipeline.h>

#include "ipdk/target_dpdk.h"

#define N_PORTS 3

static const char *swap_spec =
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"	bit<32> port_out\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"apply {\n"
	"	rx m.port_in\n"
	"	mov m.port_out m.port_in\n"
	"	xor m.port_out 1\n"
	"	tx m.port_out\n"
	"}\n";

static const char *drop_spec =
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"apply {\n"
	"	rx m.port_in\n"
	"	drop\n"
	"}\n";

/* Two tables DPDK rebuilds on change (LPM and wildcard match have no
 * incremental add) and one it updates in place. */
#define NOP_TABLE(name, match) \
	"table " name " {\n\tkey {\n\t\tm.addr " match "\n\t}\n" \
	"\tactions {\n\t\tnop\n\t}\n\tdefault_action nop args none\n\tsize 64\n}\n"

static const char *rebuilt_spec =
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"	bit<32> port_out\n"
	"	bit<32> addr\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"action nop args none {\n"
	"	return\n"
	"}\n"
	NOP_TABLE("routes", "lpm")
	NOP_TABLE("acl", "wildcard")
	NOP_TABLE("hosts", "exact")
	"apply {\n"
	"	rx m.port_in\n"
	"	table routes\n"
	"	table acl\n"
	"	table hosts\n"
	"	mov m.port_out m.port_in\n"
	"	tx m.port_out\n"
	"}\n";

static struct ipdk_port *ports[N_PORTS];

static int setup(void **state)
{
	struct ipdk_err err;

	(void)state;
	if (ipdk_dpdk_env_init(NULL, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < N_PORTS; i++) {
		struct ipdk_port_cfg cfg = { .type = IPDK_PORT_RING };

		snprintf(cfg.name, sizeof(cfg.name), "tp%d", i);
		if (ipdk_port_create(&cfg, &ports[i], &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

/* The runner a test started, stopped by teardown when a failed assertion
 * left it running (its thread would use the ports teardown frees). */
static struct ipdk_dpdk_runner *live_runner;

static int runner_start(const struct ipdk_dpdk_runner_cfg *cfg, struct ipdk_dpdk_runner **r,
			struct ipdk_err *err)
{
	int rc = ipdk_dpdk_runner_start(cfg, r, err);

	live_runner = rc ? NULL : *r;
	return rc;
}

static void runner_stop(struct ipdk_dpdk_runner *r)
{
	ipdk_dpdk_runner_stop(r);
	live_runner = NULL;
}

static int teardown(void **state)
{
	(void)state;
	if (live_runner)
		runner_stop(live_runner);
	for (int i = 0; i < N_PORTS; i++)
		ipdk_port_destroy(ports[i]);
	ipdk_dpdk_env_fini();
	return 0;
}

static struct ipdk_dpdk_pipeline *build(const char *name, const char *spec)
{
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = name, .spec_text = spec, .spec_name = "test.spec",
		.ports = ports, .n_ports = N_PORTS, .numa_node = -1,
	};
	struct ipdk_dpdk_pipeline *pl = NULL;
	struct ipdk_err err;
	int rc = ipdk_dpdk_pipeline_build(&cfg, &pl, &err);

	if (rc)
		fprintf(stderr, "build: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return pl;
}

static void send_frames(int port, unsigned int n)
{
	struct rte_ring *r = ipdk_port_ring_to_pipeline(ports[port]);

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
		uint8_t frame[64] = { 0 };

		assert_non_null(m);
		frame[0] = (uint8_t)port;
		frame[63] = (uint8_t)i;
		assert_non_null(rte_pktmbuf_append(m, sizeof(frame)));
		rte_memcpy(rte_pktmbuf_mtod(m, void *), frame, sizeof(frame));
		assert_int_equal(rte_ring_enqueue(r, m), 0);
	}
}

static unsigned int drain(int port)
{
	struct rte_ring *r = ipdk_port_ring_from_pipeline(ports[port]);
	struct rte_mbuf *m;
	unsigned int n = 0;

	while (rte_ring_dequeue(r, (void **)&m) == 0) {
		n++;
		rte_pktmbuf_free(m);
	}
	return n;
}

static void run(struct ipdk_dpdk_pipeline *pl, unsigned int rounds)
{
	for (unsigned int i = 0; i < rounds; i++)
		rte_swx_pipeline_run(ipdk_dpdk_pipeline_swx(pl), 64);
	/* DPDK's writers flush lazily: only a second flush with no packet sent
	 * in between pushes out a partial burst. */
	rte_swx_pipeline_flush(ipdk_dpdk_pipeline_swx(pl));
	rte_swx_pipeline_flush(ipdk_dpdk_pipeline_swx(pl));
}

/* Three ports are padded to four inputs; port 2's traffic goes to id 3, the
 * drop port, and is counted there, not lost in a crash. */
static void test_padding_and_drop_port(void **state)
{
	struct ipdk_dpdk_pipeline *pl = build("pad", swap_spec);
	struct ipdk_port_stats st;

	(void)state;
	assert_int_equal(ipdk_dpdk_pipeline_n_ports(pl), N_PORTS);
	send_frames(0, 10);
	send_frames(1, 7);
	send_frames(2, 5);
	run(pl, 200);
	assert_int_equal(drain(1), 10);
	assert_int_equal(drain(0), 7);
	assert_int_equal(drain(2), 0);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st), 0);
	assert_int_equal(st.rx_packets, 10);
	assert_int_equal(st.tx_packets, 7);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, N_PORTS, &st), 0);
	assert_int_equal(st.tx_packets, 5);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, N_PORTS + 1, &st), -ENOENT);
	ipdk_dpdk_pipeline_free(pl);
}

static void test_drop_instruction(void **state)
{
	struct ipdk_dpdk_pipeline *pl = build("dropper", drop_spec);
	unsigned int avail = rte_mempool_avail_count(ipdk_dpdk_mempool());

	(void)state;
	send_frames(0, 4);
	send_frames(1, 4);
	run(pl, 100);
	for (int i = 0; i < N_PORTS; i++)
		assert_int_equal(drain(i), 0);
	/* Dropped packets went back to the pool: none leaked, none stuck. */
	assert_int_equal(rte_mempool_avail_count(ipdk_dpdk_mempool()), avail);
	ipdk_dpdk_pipeline_free(pl);
}

static void test_errors(void **state)
{
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "broken", .spec_text = "struct s {\n\tbit<8> a\n}\nbogus line\n",
		.spec_name = "broken.spec", .ports = ports, .n_ports = N_PORTS, .numa_node = -1,
	};
	struct ipdk_dpdk_pipeline *pl = NULL, *dup = NULL;
	struct ipdk_err err;

	(void)state;
	assert_true(ipdk_dpdk_pipeline_build(&cfg, &pl, &err) < 0);
	assert_null(pl);
	assert_non_null(strstr(err.msg, "broken.spec:4"));

	/* The failed build left nothing behind: the same name builds now. */
	cfg.spec_text = swap_spec;
	assert_int_equal(ipdk_dpdk_pipeline_build(&cfg, &pl, &err), 0);
	assert_int_equal(ipdk_dpdk_pipeline_build(&cfg, &dup, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "broken"));
	ipdk_dpdk_pipeline_free(pl);

	cfg.name = "";
	assert_int_equal(ipdk_dpdk_pipeline_build(&cfg, &pl, &err), -EINVAL);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static unsigned int wait_for(int port, unsigned int want)
{
	unsigned int got = 0;

	/* up to 10 s: a sanitized build on a busy machine can be that slow */
	for (int i = 0; i < 2000 && got < want; i++) {
		usleep(5000);
		got += drain(port);
	}
	return got;
}

static void test_runner(void **state)
{
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	struct ipdk_dpdk_pipeline *pl = build("threaded", swap_spec);
	struct ipdk_dpdk_runner *r;
	struct ipdk_err err;
	double before;

	(void)state;
	assert_int_equal(runner_start(&rcfg, &r, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), -EEXIST);
	assert_int_equal(ipdk_dpdk_runner_add(r, 5, pl, &err), -EINVAL);

	send_frames(0, 32);
	assert_int_equal(wait_for(1, 32), 32);

	/* Idle: the thread must back off, not spin (a spinning thread would
	 * use about 1 s of CPU in this second). */
	usleep(200000);
	before = cpu_seconds();
	sleep(1);
	assert_true(cpu_seconds() - before < 0.5);

	/* And it wakes up again for new traffic. */
	send_frames(1, 16);
	assert_int_equal(wait_for(0, 16), 16);

	/* Once removed, the pipeline is no longer run: packets stay queued. */
	ipdk_dpdk_runner_remove(r, pl);
	send_frames(0, 8);
	usleep(50000);
	assert_int_equal(drain(1), 0);
	assert_int_equal(rte_ring_count(ipdk_port_ring_to_pipeline(ports[0])), 8);

	/* Handed back, it drains them. */
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), 0);
	assert_int_equal(wait_for(1, 8), 8);
	runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
}

static void send_broadcast(int port, unsigned int n)
{
	struct rte_ring *r = ipdk_port_ring_to_pipeline(ports[port]);

	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
		char *d;

		assert_non_null(m);
		d = rte_pktmbuf_append(m, 64);
		assert_non_null(d);
		memset(d, 0, 64);
		memset(d, 0xff, 6);
		assert_int_equal(rte_ring_enqueue(r, m), 0);
	}
}

static uint64_t slot_stat(struct ipdk_dpdk_pipeline *pl, uint32_t id, size_t off)
{
	struct ipdk_port_stats st;

	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, id, &st), 0);
	return *(uint64_t *)((char *)&st + off);
}

static bool wait_stat(struct ipdk_dpdk_pipeline *pl, uint32_t id, size_t off, uint64_t want)
{
	for (int i = 0; i < 2000; i++) {      /* up to 10 s, as wait_for() */
		if (slot_stat(pl, id, off) >= want)
			return true;
		usleep(5000);
	}
	return false;
}

/* Four slots, two filled at build time; a third port is put in, moved and
 * taken out while a thread forwards (the spec swaps ids 0<->1 and 2<->3). */
static void test_port_slots(void **state)
{
	struct ipdk_port *slots[4] = { ports[0], ports[1], NULL, NULL };
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "slots", .spec_text = swap_spec, .spec_name = "swap.spec",
		.ports = slots, .n_ports = 4, .numa_node = -1,
	};
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	struct ipdk_dpdk_pipeline *pl;
	struct ipdk_dpdk_runner *r;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_dpdk_pipeline_build(&cfg, &pl, &err), 0);
	assert_int_equal(ipdk_dpdk_pipeline_n_ports(pl), 4);
	assert_ptr_equal(ipdk_dpdk_pipeline_port(pl, 1), ports[1]);
	assert_null(ipdk_dpdk_pipeline_port(pl, 2));
	assert_int_equal(runner_start(&rcfg, &r, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), 0);

	send_frames(0, 16);
	assert_int_equal(wait_for(1, 16), 16);

	/* A port put into slot 2 while running: its traffic goes to slot 3,
	 * which is empty, so it is counted as dropped there. */
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 2, ports[2], &err), 0);
	assert_ptr_equal(ipdk_dpdk_pipeline_port(pl, 2), ports[2]);
	send_frames(2, 10);
	assert_true(wait_stat(pl, 3, offsetof(struct ipdk_port_stats, tx_drops), 10));
	assert_int_equal(slot_stat(pl, 2, offsetof(struct ipdk_port_stats, rx_packets)), 10);
	assert_int_equal(drain(2), 0);

	/* Refusals: a port in two slots, a taken slot, an id out of range. */
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 3, ports[0], &err), -EEXIST);
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 1, ports[2], &err), -EEXIST);
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 4, NULL, &err), -ERANGE);

	/* Moved to slot 3: counters start again, and its broadcasts reach
	 * nobody (slot 2 is empty now) but are counted as broadcasts. */
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 2, NULL, &err), 0);
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 3, ports[2], &err), 0);
	assert_int_equal(slot_stat(pl, 3, offsetof(struct ipdk_port_stats, rx_packets)), 0);
	send_broadcast(2, 5);
	assert_true(wait_stat(pl, 2, offsetof(struct ipdk_port_stats, tx_drops), 5));
	assert_int_equal(slot_stat(pl, 3, offsetof(struct ipdk_port_stats, rx_broadcast)), 5);

	/* The ports filled at build time still forward. */
	send_frames(1, 8);
	assert_int_equal(wait_for(0, 8), 8);
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 3, NULL, &err), 0);
	runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
}

/* Sends n test frames (IEEE local experimental ethertype) into the kernel's
 * side of netdev ifname through a packet socket. The frames bypass the queueing
 * discipline, so each reaches the driver before sendto() returns. */
static void kernel_send(const char *ifname, unsigned int n)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t frame[60] = { 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x88, 0xb5 };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)), 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_true(sll.sll_ifindex > 0);
	/* A frame the driver drops fails the send (ENOBUFS) */
	for (unsigned int i = 0; i < n; i++)
		assert_true(sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll,
				   sizeof(sll)) == sizeof(frame) || errno == ENOBUFS);
	close(fd);
}

/* A TAP port's own counters through its slot: frames written while its netdev
 * is down fail (out-errors), frames the kernel queued for the pipeline beyond
 * the TAP queue's length are dropped by the kernel (in-discards). */
static void test_tap_counters(void **state)
{
	struct ipdk_port_cfg tcfg = { .type = IPDK_PORT_TAP };
	struct ipdk_port *tap, *slots[2];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "tapcount", .spec_text = swap_spec, .spec_name = "swap.spec",
		.ports = slots, .n_ports = 2, .numa_node = -1,
	};
	struct ipdk_dpdk_pipeline *pl;
	struct ipdk_port_stats st, st0;
	struct ipdk_err err;
	char cmd[256];

	(void)state;
	snprintf(tcfg.name, sizeof(tcfg.name), "tpc%d", (int)getpid() % 100000);
	assert_int_equal(ipdk_port_create(&tcfg, &tap, &err), 0);
	slots[0] = tap;
	slots[1] = ports[0];
	assert_int_equal(ipdk_dpdk_pipeline_build(&cfg, &pl, &err), 0);

	/* The ring's frames go to the TAP, whose netdev is down: write() fails. */
	snprintf(cmd, sizeof(cmd), "sysctl -qw net.ipv6.conf.%s.disable_ipv6=1; "
		 "ip link set dev %s down", tcfg.name, tcfg.name);
	assert_int_equal(system(cmd), 0);
	send_frames(0, 3);
	run(pl, 4);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st), 0);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_errors, 3);
	assert_int_equal(st.tx_drops, 0);

	/* What the kernel sent the TAP while it was up (IPv6 neighbour discovery)
	 * has been read; from here on the kernel sends 20 frames into a queue of
	 * 4 that nobody reads yet. */
	drain(0);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st0), 0);
	snprintf(cmd, sizeof(cmd), "ip link set dev %s txqueuelen 4 up", tcfg.name);
	assert_int_equal(system(cmd), 0);
	kernel_send(tcfg.name, 20);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st), 0);
	assert_true(st.rx_drops - st0.rx_drops >= 16);
	assert_true(st.rx_drops - st0.rx_drops <= 20);
	/* ...and what the queue held reaches the pipeline. */
	run(pl, 4);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st), 0);
	assert_true(st.rx_packets - st0.rx_packets >= 1);
	assert_int_equal(st.rx_packets - st0.rx_packets + st.rx_drops - st0.rx_drops, 20);
	assert_int_equal(st.rx_errors, 0);
	assert_int_equal(st.tx_errors, 3);
	assert_int_equal(drain(0), st.rx_packets - st0.rx_packets);

	ipdk_dpdk_pipeline_free(pl);
	ipdk_port_destroy(tap);
}

/* A LINK port's counters come from its ethdev: AF_PACKET refuses a frame
 * larger than its ring slots (2048 bytes) and reports it in oerrors. */
static void test_link_counters(void **state)
{
	struct ipdk_port_cfg lcfg = { .type = IPDK_PORT_LINK, .link_mode = IPDK_LINK_AF_PACKET };
	struct ipdk_port *link, *slots[2];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "linkcount", .spec_text = swap_spec, .spec_name = "swap.spec",
		.ports = slots, .n_ports = 2, .numa_node = -1,
	};
	struct rte_ring *r = ipdk_port_ring_to_pipeline(ports[0]);
	struct ipdk_dpdk_pipeline *pl;
	struct ipdk_port_stats st;
	struct rte_mbuf *m;
	struct ipdk_err err;
	char cmd[256];
	int rc;

	(void)state;
	snprintf(lcfg.name, sizeof(lcfg.name), "lpc%d", (int)getpid() % 100000);
	snprintf(lcfg.netdev, sizeof(lcfg.netdev), "%sa", lcfg.name);
	snprintf(cmd, sizeof(cmd), "ip link add %sa type veth peer name %sb && "
		 "ip link set %sb up", lcfg.name, lcfg.name, lcfg.name);
	assert_int_equal(system(cmd), 0);
	rc = ipdk_port_create(&lcfg, &link, &err);
	if (!rc) {
		slots[0] = link;
		slots[1] = ports[0];
		rc = ipdk_dpdk_pipeline_build(&cfg, &pl, &err);
		if (rc)
			ipdk_port_destroy(link);
	}
	if (rc) {
		snprintf(cmd, sizeof(cmd), "ip link del %sa", lcfg.name);
		assert_int_equal(system(cmd), 0);
		fail_msg("%s", err.msg);
	}
	send_frames(0, 2);
	m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, 3000));
	memset(rte_pktmbuf_mtod(m, void *), 0, 3000);
	assert_int_equal(rte_ring_enqueue(r, m), 0);
	run(pl, 4);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, 0, &st), 0);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_errors, 1);
	assert_int_equal(st.tx_drops, 0);

	ipdk_dpdk_pipeline_free(pl);
	ipdk_port_destroy(link);
	snprintf(cmd, sizeof(cmd), "ip link del %sa", lcfg.name);
	assert_int_equal(system(cmd), 0);
}

/* A pipeline with tables DPDK rebuilds on change, built and freed without
 * the TDI target: DPDK's control handle shares those tables' objects with the
 * pipeline, and both used to free them (DPDK logged "Invalid memory"). The
 * EAL log is captured while the pipelines are built and freed, twice. */
static void test_free_rebuilt_tables(void **state)
{
	char *log = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&log, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(rte_openlog_stream(f), 0);
	for (int i = 0; i < 2; i++)
		ipdk_dpdk_pipeline_free(build("rebuilt", rebuilt_spec));
	rte_openlog_stream(NULL);
	fclose(f);
	assert_null(strstr(log, "Invalid memory"));
	free(log);
}

/* Each packet loops 100000 times (about 200000 instructions) between rx and
 * tx (ports 0 <-> 1). */
static const char *loop_spec =
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"	bit<32> port_out\n"
	"	bit<32> x\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"apply {\n"
	"	rx m.port_in\n"
	"	mov m.x 0\n"
	"	LOOP : add m.x 1\n"
	"	jmplt LOOP m.x 100000\n"
	"	mov m.port_out m.port_in\n"
	"	xor m.port_out 1\n"
	"	tx m.port_out\n"
	"}\n";

/* Packets that stay in flight for hundreds of runs of the pipeline thread
 * (the quiesce used to wait for two runs of 256 instructions): every packet
 * admitted before ipdk_dpdk_pipeline_quiesce() is called has been handed to
 * its output when it returns, and the traffic goes on afterwards. */
static void test_quiesce_long_program(void **state)
{
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	struct ipdk_dpdk_pipeline *pl = build("long", loop_spec);
	const size_t rx = offsetof(struct ipdk_port_stats, rx_packets);
	const size_t tx = offsetof(struct ipdk_port_stats, tx_packets);
	struct ipdk_dpdk_runner *r;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(runner_start(&rcfg, &r, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), 0);
	send_frames(0, 20);
	for (int k = 0; k < 5; k++) {
		uint64_t admitted;

		for (int i = 0; i < 2000 && !(admitted = slot_stat(pl, 0, rx)); i++)
			usleep(100);
		assert_int_equal(ipdk_dpdk_pipeline_quiesce(pl, &err), 0);
		assert_true(slot_stat(pl, 1, tx) >= admitted);
	}
	assert_int_equal(wait_for(1, 20), 20);
	runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
}

/* A packet that never leaves: the program loops forever after rx. */
static const char *forever_spec =
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"	bit<32> x\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"apply {\n"
	"	rx m.port_in\n"
	"	LOOP : add m.x 1\n"
	"	jmp LOOP\n"
	"	drop\n"
	"}\n";

/* Quiescing gives up after IPDK_DPDK_QUIESCE_MS with -ETIMEDOUT naming the
 * pipeline, and a port that was to leave its slot stays where it was. */
static void test_quiesce_gives_up(void **state)
{
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	struct ipdk_dpdk_pipeline *pl = build("forever", forever_spec);
	const size_t rx = offsetof(struct ipdk_port_stats, rx_packets);
	struct ipdk_dpdk_runner *r;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(ipdk_dpdk_pipeline_quiesce(pl, &err), 0);   /* not running */
	assert_int_equal(runner_start(&rcfg, &r, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(r, 0, pl, &err), 0);
	assert_int_equal(ipdk_dpdk_pipeline_quiesce(pl, &err), 0);   /* nothing in flight */
	send_frames(0, 1);
	for (int i = 0; i < 20000 && !slot_stat(pl, 0, rx); i++)
		usleep(100);
	assert_int_equal(slot_stat(pl, 0, rx), 1);
	assert_int_equal(ipdk_dpdk_pipeline_quiesce(pl, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "pipeline forever: packets in flight did not leave"));
	assert_int_equal(ipdk_dpdk_pipeline_port_set(pl, 1, NULL, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "pipeline forever"));
	assert_ptr_equal(ipdk_dpdk_pipeline_port(pl, 1), ports[1]);
	runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padding_and_drop_port),
		cmocka_unit_test(test_drop_instruction),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_runner),
		cmocka_unit_test(test_port_slots),
		cmocka_unit_test(test_tap_counters),
		cmocka_unit_test(test_link_counters),
		cmocka_unit_test(test_free_rebuilt_tables),
		cmocka_unit_test(test_quiesce_long_program),
		cmocka_unit_test(test_quiesce_gives_up),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
