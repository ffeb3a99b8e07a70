/*
 * Tests of TDI over the DPDK SWX target: a real pipeline with ring ports,
 * packets run through it in the test thread (or in a pipeline thread for the
 * live test). Covers the entry layout (checked byte for byte against DPDK's
 * own entry parser), exact/LPM/ternary steering, the write errors, batches,
 * defaults, selectors, learners, counters and registers, mirror sessions, a
 * 100k-entry batch, 1M entries in batches of 10k, and entries changed while a
 * pipeline thread forwards a steady stream of packets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "ipdk/target_dpdk.h"
#include "ipdk/tdi.h"
#include "../../lib/target-dpdk/tdi_dpdk_priv.h"

#define N_PORTS 4
#define DROP_PORT N_PORTS
#define BIG_N 100000
#define MILLION 1000000
#define MILLION_BATCH 10000

static const char *spec =
	"struct ethernet_h {\n"
	"	bit<48> dst_addr\n"
	"	bit<48> src_addr\n"
	"	bit<16> ethertype\n"
	"}\n"
	"struct ipv4_h {\n"
	"	bit<8> ver_ihl\n"
	"	bit<8> diffserv\n"
	"	bit<16> total_len\n"
	"	bit<16> identification\n"
	"	bit<16> flags_offset\n"
	"	bit<8> ttl\n"
	"	bit<8> protocol\n"
	"	bit<16> hdr_checksum\n"
	"	bit<32> src_addr\n"
	"	bit<32> dst_addr\n"
	"}\n"
	"header ethernet instanceof ethernet_h\n"
	"header ipv4 instanceof ipv4_h\n"
	"struct metadata_t {\n"
	"	bit<32> port_in\n"
	"	bit<32> port_out\n"
	"	bit<16> vrf\n"
	"	bit<32> dst_meta\n"
	"	bit<32> group_id\n"
	"	bit<32> member_id\n"
	"	bit<32> use_sel\n"
	"	bit<32> timeout_id\n"
	"	bit<32> learn_port\n"
	"}\n"
	"metadata instanceof metadata_t\n"
	"regarray port_tx_packets size 8 initval 0\n"
	"regarray last_port size 1 initval 0\n"
	"struct port_args_t {\n"
	"	bit<32> port\n"
	"}\n"
	"struct group_args_t {\n"
	"	bit<32> group_id\n"
	"}\n"
	"struct mac_args_t {\n"
	"	bit<48> dmac\n"
	"	bit<32> port\n"
	"}\n"
	"action nop args none {\n"
	"	return\n"
	"}\n"
	"action discard args none {\n"
	"	mov m.port_out 4\n"
	"	return\n"
	"}\n"
	"action set_port args instanceof port_args_t {\n"
	"	mov m.port_out t.port\n"
	"	return\n"
	"}\n"
	"action set_mac_port args instanceof mac_args_t {\n"
	"	mov h.ethernet.dst_addr t.dmac\n"
	"	mov m.port_out t.port\n"
	"	return\n"
	"}\n"
	"action set_group args instanceof group_args_t {\n"
	"	mov m.group_id t.group_id\n"
	"	mov m.use_sel 1\n"
	"	return\n"
	"}\n"
	"action learned args instanceof port_args_t {\n"
	"	rearm\n"
	"	return\n"
	"}\n"
	"action learn_it args none {\n"
	"	mov m.learn_port m.port_in\n"
	"	mov m.timeout_id 0\n"
	"	learn learned m.learn_port m.timeout_id\n"
	"	return\n"
	"}\n"
	"table meta_exact {\n"
	"	key {\n"
	"		m.port_in exact\n"
	"		m.vrf exact\n"
	"	}\n"
	"	actions {\n"
	"		nop\n"
	"		set_mac_port\n"
	"	}\n"
	"	default_action nop args none\n"
	"	size 1024\n"
	"}\n"
	"table meta_lpm {\n"
	"	key {\n"
	"		m.vrf exact\n"
	"		m.dst_meta lpm\n"
	"	}\n"
	"	actions {\n"
	"		nop\n"
	"		set_mac_port\n"
	"	}\n"
	"	default_action nop args none\n"
	"	size 1024\n"
	"}\n"
	"table meta_wc {\n"
	"	key {\n"
	"		m.port_in wildcard\n"
	"		m.vrf wildcard\n"
	"	}\n"
	"	actions {\n"
	"		nop\n"
	"		set_mac_port\n"
	"	}\n"
	"	default_action nop args none\n"
	"	size 1024\n"
	"}\n"
	"table ipv4_lpm {\n"
	"	key {\n"
	"		h.ipv4.dst_addr lpm\n"
	"	}\n"
	"	actions {\n"
	"		set_port\n"
	"		set_group\n"
	"		discard\n"
	"	}\n"
	"	default_action discard args none\n"
	"	size 1024\n"
	"}\n"
	"table acl {\n"
	"	key {\n"
	"		h.ipv4.protocol wildcard\n"
	"		h.ipv4.src_addr wildcard\n"
	"	}\n"
	"	actions {\n"
	"		nop\n"
	"		set_port\n"
	"	}\n"
	"	default_action nop args none const\n"
	"	size 1024\n"
	"}\n"
	"selector sel {\n"
	"	group_id m.group_id\n"
	"	selector {\n"
	"		h.ipv4.src_addr\n"
	"	}\n"
	"	member_id m.member_id\n"
	"	n_groups_max 4\n"
	"	n_members_per_group_max 4\n"
	"}\n"
	"table members {\n"
	"	key {\n"
	"		m.member_id exact\n"
	"	}\n"
	"	actions {\n"
	"		set_port\n"
	"		discard\n"
	"	}\n"
	"	default_action discard args none\n"
	"	size 64\n"
	"}\n"
	"table l2_exact {\n"
	"	key {\n"
	"		h.ethernet.dst_addr exact\n"
	"	}\n"
	"	actions {\n"
	"		nop\n"
	"		set_port\n"
	"	}\n"
	"	default_action nop args none\n"
	"	size 1048576\n"
	"}\n"
	"learner macs {\n"
	"	key {\n"
	"		h.ethernet.src_addr\n"
	"	}\n"
	"	actions {\n"
	"		learned\n"
	"		learn_it\n"
	"	}\n"
	"	default_action learn_it args none\n"
	"	size 1024\n"
	"	timeout {\n"
	"		30\n"
	"		60\n"
	"	}\n"
	"}\n"
	"apply {\n"
	"	rx m.port_in\n"
	"	mov m.port_out 4\n"
	"	mov m.use_sel 0\n"
	"	mov m.vrf 0\n"
	"	mov m.dst_meta 0\n"
	"	table meta_exact\n"
	"	table meta_lpm\n"
	"	table meta_wc\n"
	"	extract h.ethernet\n"
	"	table macs\n"
	"	jmpneq L2 h.ethernet.ethertype 0x0800\n"
	"	extract h.ipv4\n"
	"	table ipv4_lpm\n"
	"	table acl\n"
	"	jmpneq L2 m.use_sel 1\n"
	"	table sel\n"
	"	table members\n"
	"	L2 : table l2_exact\n"
	"	regadd port_tx_packets m.port_out 1\n"
	"	regwr last_port 0 m.port_in\n"
	"	emit h.ethernet\n"
	"	emit h.ipv4\n"
	"	tx m.port_out\n"
	"}\n";

static struct ipdk_port *ports[N_PORTS];
static struct ipdk_dpdk_pipeline *pl;
static struct tdi_dev *dev;
static void *dev_ctx;

/* ---- Fixtures and helpers ----------------------------------------------- */

static int setup(void **state)
{
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "tdi", .spec_text = spec, .spec_name = "tdi.spec",
		.ports = ports, .n_ports = N_PORTS, .numa_node = -1,
	};
	/* Room for the 1M-entry exact table: two copies of ours, DPDK's own. */
	struct ipdk_dpdk_env_cfg env = { .mem_mb = 2048 };
	struct ipdk_err err;

	(void)state;
	if (ipdk_dpdk_env_init(&env, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < N_PORTS; i++) {
		struct ipdk_port_cfg pc = { .type = IPDK_PORT_RING };

		snprintf(pc.name, sizeof(pc.name), "tdi%d", i);
		if (ipdk_port_create(&pc, &ports[i], &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
	}
	if (ipdk_dpdk_pipeline_build(&cfg, &pl, &err)) {
		fprintf(stderr, "build: %s\n", err.msg);
		return -1;
	}
	dev_ctx = ipdk_dpdk_tdi_ctx_spec(pl, spec);
	if (tdi_dev_open(&ipdk_dpdk_tdi_ops, dev_ctx, &dev, &err)) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tdi_dev_close(dev);
	ipdk_dpdk_pipeline_free(pl);
	for (int i = 0; i < N_PORTS; i++)
		ipdk_port_destroy(ports[i]);
	ipdk_dpdk_env_fini();
	return 0;
}

static uint32_t table_id(const char *name)
{
	const struct tdi_table_info *t = tdi_table_find(dev, name);

	assert_non_null(t);
	return t->id;
}

static uint32_t action_id(const char *name)
{
	const struct tdi_action_info *a = tdi_action_find(dev, name);

	assert_non_null(a);
	return a->id;
}

/* Parses text into e for table, failing the test on error. */
static void parse(const char *table, const char *text, struct tdi_entry *e)
{
	struct ipdk_err err;
	int rc = tdi_entry_parse(dev, tdi_table_find(dev, table), text, e, &err);

	if (rc)
		fprintf(stderr, "parse '%s': %s\n", text, err.msg);
	assert_int_equal(rc, 0);
}

static void add(const char *table, const char *text)
{
	struct tdi_entry e;
	struct ipdk_err err;
	int rc;

	parse(table, text, &e);
	rc = tdi_entry_add(dev, &e, &err);
	if (rc)
		fprintf(stderr, "add '%s': %s\n", text, err.msg);
	assert_int_equal(rc, 0);
}

static void del(const char *table, const char *text)
{
	struct tdi_entry e;
	struct ipdk_err err;
	int rc;

	parse(table, text, &e);
	rc = tdi_entry_delete(dev, &e, &err);
	if (rc)
		fprintf(stderr, "delete '%s': %s\n", text, err.msg);
	assert_int_equal(rc, 0);
}

static void send_ipv4(int port, uint64_t dmac, uint64_t smac, const char *src, const char *dst,
		      uint8_t proto)
{
	struct rte_ring *r = ipdk_port_ring_to_pipeline(ports[port]);
	struct rte_mbuf *m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, 64);
	memset(d, 0, 64);
	for (int i = 0; i < 6; i++) {
		d[i] = (uint8_t)(dmac >> (40 - 8 * i));
		d[6 + i] = (uint8_t)(smac >> (40 - 8 * i));
	}
	d[12] = 0x08;
	d[13] = 0x00;
	d[14] = 0x45;
	d[22] = 64;
	d[23] = proto;
	inet_pton(AF_INET, src, d + 26);
	inet_pton(AF_INET, dst, d + 30);
	assert_int_equal(rte_ring_enqueue(r, m), 0);
}

static void run(void)
{
	for (int i = 0; i < 16; i++)
		rte_swx_pipeline_run(ipdk_dpdk_pipeline_swx(pl), 16);
	rte_swx_pipeline_flush(ipdk_dpdk_pipeline_swx(pl));
}

/* Returns the port the packets went to (-1: dropped, -2: several ports),
 * draining every ring. */
static int where(unsigned int *count)
{
	int port = -1;

	*count = 0;
	for (int i = 0; i < N_PORTS; i++) {
		struct rte_ring *r = ipdk_port_ring_from_pipeline(ports[i]);
		struct rte_mbuf *m;

		while (rte_ring_dequeue(r, (void **)&m) == 0) {
			port = (port == -1 || port == i) ? i : -2;
			(*count)++;
			rte_pktmbuf_free(m);
		}
	}
	return port;
}

/* Sends one IPv4 packet and returns the port it left on. */
static int route(uint64_t dmac, const char *src, const char *dst, uint8_t proto)
{
	unsigned int n;
	int port;

	send_ipv4(0, dmac, 0x020000000001ull, src, dst, proto);
	run();
	port = where(&n);
	assert_true(n <= 1);
	return port;
}

/* ---- Layout against DPDK's parser --------------------------------------- */

/* Builds the entry through TDI's target and, separately, as DPDK's parser
 * reads dpdk_text: key, mask, priority, action and its data must be the same
 * bytes. Then the entry goes in and out through TDI. */
static void check_layout(const char *table, const char *tdi_text, const char *dpdk_text)
{
	struct rte_swx_ctl_pipeline *ctl = ipdk_dpdk_pipeline_ctl(pl);
	struct rte_swx_table_entry ours, *theirs;
	struct tdi_entry e;
	struct ipdk_err err;
	uint32_t key_size = 0, data_size = 0;
	int blank = 0;

	parse(table, tdi_text, &e);
	assert_int_equal(ipdk_dpdk_tdi_entry_layout(dev_ctx, &e, &ours, &key_size, &data_size,
						    &err), 0);
	theirs = rte_swx_ctl_pipeline_table_entry_read(ctl, table, dpdk_text, &blank);
	assert_non_null(theirs);
	assert_true(key_size > 0);
	assert_memory_equal(ours.key, theirs->key, key_size);
	if (theirs->key_mask) {
		assert_non_null(ours.key_mask);
		assert_memory_equal(ours.key_mask, theirs->key_mask, key_size);
	} else {
		assert_null(ours.key_mask);
	}
	assert_int_equal(ours.key_priority, theirs->key_priority);
	assert_int_equal(ours.action_id, theirs->action_id);
	if (data_size)
		assert_memory_equal(ours.action_data, theirs->action_data, data_size);
	free(theirs->key);
	free(theirs->key_mask);
	free(theirs->action_data);
	free(theirs);

	add(table, tdi_text);
	assert_int_equal(tdi_entry_count(dev, table_id(table)), 1);
	del(table, tdi_text);
	assert_int_equal(tdi_entry_count(dev, table_id(table)), 0);
}

static void test_layout(void **state)
{
	char text[256];

	(void)state;
	/* Header keys: exact, LPM, wildcard (two fields with a gap). */
	check_layout("l2_exact", "match 00:11:22:33:44:55 action set_port port 2",
		     "match 0x001122334455 action set_port port 2");
	check_layout("ipv4_lpm", "match 10.1.0.0/16 action set_port port 1",
		     "match 0x0a010000/0xffff0000 action set_port port 1");
	snprintf(text, sizeof(text), "match 0x06/0xff 0xc0a80000/0xffff0000 priority %u action set_port port 3",
		 0x1FFFFFFFu - 7);
	check_layout("acl", "match 6&&&0xff 192.168.0.0&&&255.255.0.0 priority 7 action set_port port 3",
		     text);
	/* Metadata keys (host byte order) and a header-typed argument. */
	check_layout("meta_exact", "match 3 0x1234 action set_mac_port dmac 0xaabbccddeeff port 0x01020304",
		     "match 3 0x1234 action set_mac_port dmac 0xaabbccddeeff port 0x01020304");
	check_layout("meta_lpm", "match 7 10.0.0.0/8 action nop",
		     "match 7 0x0a000000/0xff000000 action nop");
	snprintf(text, sizeof(text), "match 0x2/0xf 0x1000/0xff00 priority %u action nop", 0x1FFFFFFFu - 9);
	check_layout("meta_wc", "match 2&&&0xf 0x1000&&&0xff00 priority 9 action nop", text);
}

/* ---- Steering and errors ------------------------------------------------ */

static void test_steering(void **state)
{
	(void)state;
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.2.3", 17), -1);  /* default: discard */

	add("ipv4_lpm", "match 10.0.0.0/8 action set_port port 1");
	add("ipv4_lpm", "match 10.1.0.0/16 action set_port port 2");
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.2.3", 17), 2);
	assert_int_equal(route(0x1, "1.1.1.1", "10.2.2.3", 17), 1);

	/* Ternary beats the route; of two overlapping rules the higher priority wins. */
	add("acl", "match 17&&&0xff 192.168.0.0&&&255.255.0.0 priority 10 action set_port port 3");
	add("acl", "match * 192.168.1.0&&&255.255.255.0 priority 20 action set_port port 0");
	assert_int_equal(route(0x1, "192.168.2.1", "10.1.2.3", 17), 3);
	assert_int_equal(route(0x1, "192.168.1.1", "10.1.2.3", 17), 0);
	assert_int_equal(route(0x1, "192.168.2.1", "10.1.2.3", 6), 2);

	/* Exact on the destination MAC overrides everything before it. */
	add("l2_exact", "match 00:00:00:00:00:99 action set_port port 1");
	assert_int_equal(route(0x99, "192.168.1.1", "10.1.2.3", 17), 1);

	/* Delete stops the match. */
	del("l2_exact", "match 00:00:00:00:00:99 action nop");
	assert_int_equal(route(0x99, "192.168.1.1", "10.1.2.3", 17), 0);
	del("acl", "match * 192.168.1.0&&&255.255.255.0 priority 20 action nop");
	assert_int_equal(route(0x99, "192.168.1.1", "10.1.2.3", 17), 3);

	/* Modify changes the action of a present entry. */
	struct tdi_entry e;
	struct ipdk_err err;

	parse("ipv4_lpm", "match 10.1.0.0/16 action set_port port 3", &e);
	assert_int_equal(tdi_entry_modify(dev, &e, &err), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.2.3", 6), 3);
	memset(e.params, 0, sizeof(e.params));
	assert_int_equal(tdi_entry_get(dev, &e, &err), 0);
	assert_int_equal(e.params[0][15], 3);

	assert_int_equal(tdi_entry_count(dev, table_id("ipv4_lpm")), 2);
	assert_int_equal(tdi_table_clear(dev, UINT32_MAX, &err), 0);
	assert_int_equal(tdi_entry_count(dev, table_id("ipv4_lpm")), 0);
	assert_int_equal(tdi_entry_count(dev, table_id("acl")), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.2.3", 6), -1);
}

static void test_errors(void **state)
{
	struct tdi_entry e;
	struct ipdk_err err;

	(void)state;
	add("l2_exact", "match 00:00:00:00:00:01 action set_port port 1");
	parse("l2_exact", "match 00:00:00:00:00:01 action set_port port 2", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "l2_exact"));

	parse("l2_exact", "match 00:00:00:00:00:02 action set_port port 2", &e);
	assert_int_equal(tdi_entry_modify(dev, &e, &err), -ENOENT);
	assert_int_equal(tdi_entry_delete(dev, &e, &err), -ENOENT);

	/* A key wider than its field, a parameter wider than its argument. */
	e.key[0].value[9] = 1;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "key field 1 (h.ethernet.dst_addr)"));
	parse("l2_exact", "match 00:00:00:00:00:02 action set_port port 2", &e);
	e.params[0][11] = 1;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "parameter port"));

	/* Unknown action, an action the table does not have. */
	parse("l2_exact", "match 00:00:00:00:00:02 action set_port port 2", &e);
	e.action_id = 999;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown action"));
	e.action_id = action_id("discard");
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "discard"));
	assert_int_equal(tdi_entry_parse(dev, tdi_table_find(dev, "l2_exact"),
					 "match 1 action discard", &e, &err), -EINVAL);

	/* LPM prefix checks, priority rules, const default. */
	assert_int_equal(tdi_entry_parse(dev, tdi_table_find(dev, "ipv4_lpm"),
					 "match 10.0.0.0/33 action discard", &e, &err), -ERANGE);
	assert_string_equal(err.msg,
			    "table ipv4_lpm: key field 1 (h.ipv4.dst_addr): prefix length 33 exceeds 32 bits");
	parse("ipv4_lpm", "match 10.0.0.1/8 action discard", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "beyond the /8 prefix"));
	parse("acl", "match 6&&&0xff * priority 1 action nop", &e);
	e.priority = 0;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	parse("acl", "match 7&&&0x0f * priority 1 action nop", &e);
	e.key[0].mask[15] = 0x0e;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "outside the mask"));
	parse("ipv4_lpm", "match 10.0.0.0/8 action discard", &e);
	e.priority = 5;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	e.priority = 0;
	e.action_id = action_id("nop");
	e.table_id = table_id("acl");
	assert_int_equal(tdi_default_set(dev, &e, &err), -EPERM);

	/* Learner tables hold no entries the control plane writes. */
	e.table_id = table_id("macs");
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);

	/* Nothing above left a trace. */
	assert_int_equal(tdi_entry_count(dev, table_id("l2_exact")), 1);
	assert_int_equal(tdi_entry_count(dev, table_id("ipv4_lpm")), 0);
	del("l2_exact", "match 00:00:00:00:00:01 action nop");
}

/* ---- Batches and defaults ----------------------------------------------- */

static int count_cb(const struct tdi_entry *e, void *arg)
{
	(void)e;
	(*(uint64_t *)arg)++;
	return 0;
}

static void test_batch(void **state)
{
	uint32_t lpm = table_id("ipv4_lpm");
	struct tdi_entry e;
	struct ipdk_err err;
	char text[128];

	(void)state;
	/* Abort leaves nothing, in TDI or in the data path. */
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	add("ipv4_lpm", "match 10.0.0.0/8 action set_port port 1");
	assert_int_equal(tdi_entry_count(dev, lpm), 0);
	tdi_batch_abort(dev);
	assert_int_equal(tdi_entry_count(dev, lpm), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.2.3", 6), -1);

	/* Many entries, one commit; add then delete in the same batch. */
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof(text), "match 10.%d.%d.0/24 action set_port port %d",
			 i / 100, i % 100, i % 4);
		add("ipv4_lpm", text);
	}
	add("ipv4_lpm", "match 20.0.0.0/8 action set_port port 1");
	del("ipv4_lpm", "match 20.0.0.0/8 action discard");
	parse("ipv4_lpm", "match 10.0.5.0/24 action set_port port 0", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EEXIST);
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.7.3", 6), -1);
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	assert_int_equal(tdi_entry_count(dev, lpm), 200);
	assert_int_equal(route(0x1, "1.1.1.1", "10.1.7.3", 6), 107 % 4);
	assert_int_equal(route(0x1, "1.1.1.1", "20.1.7.3", 6), -1);

	/* Default action change. */
	parse("ipv4_lpm", "match 1.0.0.0/8 action set_port port 3", &e);
	assert_int_equal(tdi_default_set(dev, &e, &err), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "30.1.7.3", 6), 3);
	memset(&e, 0, sizeof(e));
	assert_int_equal(tdi_default_get(dev, lpm, &e, &err), 0);
	assert_int_equal(e.action_id, action_id("set_port"));
	assert_int_equal(e.params[0][15], 3);
	e.action_id = action_id("discard");
	assert_int_equal(tdi_default_set(dev, &e, &err), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "30.1.7.3", 6), -1);

	assert_int_equal(tdi_table_clear(dev, lpm, &err), 0);
}

/* Mirror sessions: staged in a batch like entries, checked before staging. */
static void test_mirror_sessions(void **state)
{
	const struct tdi_schema *sc = tdi_dev_schema(dev);
	struct tdi_mirror_session ms;
	struct ipdk_err err;

	(void)state;
	assert_int_equal(sc->n_mirror_slots, 4);
	assert_int_equal(sc->n_mirror_sessions, 64);
	assert_int_equal(sc->n_ports, N_PORTS);
	assert_int_equal(tdi_mirror_session_get(dev, 3, &ms, &err), -ENOENT);
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	assert_int_equal(tdi_mirror_session_set(dev, 3, 1, false, 0, &err), 0);
	assert_int_equal(tdi_mirror_session_get(dev, 3, &ms, &err), 0);   /* the batch sees it */
	tdi_batch_abort(dev);
	assert_int_equal(tdi_mirror_session_get(dev, 3, &ms, &err), -ENOENT);
	assert_int_equal(tdi_mirror_session_set(dev, 3, 2, false, 64, &err), 0);
	assert_int_equal(tdi_mirror_session_get(dev, 3, &ms, &err), 0);
	assert_int_equal(ms.port_id, 2);
	assert_int_equal(ms.truncation_length, 64);
	assert_false(ms.fast_clone);
	assert_int_equal(tdi_mirror_session_set(dev, 64, 0, false, 0, &err), -ERANGE);
	assert_int_equal(tdi_mirror_session_set(dev, 4, N_PORTS, false, 0, &err), -ERANGE);
	assert_int_equal(tdi_mirror_session_set(dev, 4, 0, true, 10, &err), -EINVAL);
	assert_int_equal(tdi_mirror_session_set(dev, 4, 0, true, 0, &err), 0);
	assert_int_equal(tdi_mirror_session_delete(dev, 3, &err), 0);
	assert_int_equal(tdi_mirror_session_delete(dev, 3, &err), -ENOENT);
	assert_int_equal(tdi_mirror_session_get(dev, 3, &ms, &err), -ENOENT);
	assert_int_equal(tdi_mirror_session_delete(dev, 4, &err), 0);
}

static double secs(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) + (t1->tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_big_batch(void **state)
{
	uint32_t l2 = table_id("l2_exact");
	struct tdi_entry e;
	struct ipdk_err err;
	uint64_t n = 0;
	struct timespec t0, t1;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.table_id = l2;
	e.action_id = action_id("set_port");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	for (uint32_t i = 0; i < BIG_N; i++) {
		e.key[0].value[12] = 0x10;
		e.key[0].value[13] = (uint8_t)(i >> 16);
		e.key[0].value[14] = (uint8_t)(i >> 8);
		e.key[0].value[15] = (uint8_t)i;
		e.params[0][15] = (uint8_t)(i % 4);
		assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	}
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%d entries in one batch: %.2f s\n", BIG_N, secs(&t0, &t1));
	assert_int_equal(tdi_entry_count(dev, l2), BIG_N);
	assert_int_equal(tdi_entry_iterate(dev, l2, count_cb, &n), 0);
	assert_int_equal(n, BIG_N);
	assert_int_equal(route(0x10000000ull + 77777, "1.1.1.1", "1.1.1.1", 6), 77777 % 4);
	/* One batch that deletes them all. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tdi_table_clear(dev, l2, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%d entries cleared in one batch: %.2f s\n", BIG_N, secs(&t0, &t1));
	assert_int_equal(tdi_entry_count(dev, l2), 0);
	assert_int_equal(route(0x10000000ull + 77777, "1.1.1.1", "1.1.1.1", 6), -1);
}

static void mac_key(struct tdi_entry *e, uint64_t mac)
{
	for (int i = 0; i < 6; i++)
		e->key[0].value[15 - i] = (uint8_t)(mac >> (8 * i));
}

/* 1M exact entries, one commit per 10k: well under a minute, and the data
 * path finds them. */
static void test_million(void **state)
{
	uint32_t l2 = table_id("l2_exact");
	struct timespec t0, t1;
	struct tdi_entry e;
	struct ipdk_err err;
	double s;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.table_id = l2;
	e.action_id = action_id("set_port");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t b = 0; b < MILLION / MILLION_BATCH; b++) {
		assert_int_equal(tdi_batch_begin(dev, &err), 0);
		for (uint32_t k = 0; k < MILLION_BATCH; k++) {
			uint32_t i = b * MILLION_BATCH + k;

			mac_key(&e, 0x020000000000ull + i);
			e.params[0][15] = (uint8_t)(i % 4);
			assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
		}
		assert_int_equal(tdi_batch_commit(dev, &err), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = secs(&t0, &t1);
	fprintf(stderr, "%d entries in batches of %d: %.2f s (%.0f entries/s)\n", MILLION,
		MILLION_BATCH, s, MILLION / s);
	assert_true(s < 50.0);
	assert_int_equal(tdi_entry_count(dev, l2), MILLION);
	for (uint32_t i = 0; i < MILLION; i += 99991)
		assert_int_equal(route(0x020000000000ull + i, "1.1.1.1", "1.1.1.1", 6), (int)(i % 4));
	assert_int_equal(route(0x020000000000ull + MILLION - 1, "1.1.1.1", "1.1.1.1", 6),
			 (MILLION - 1) % 4);
	assert_int_equal(route(0x020000000000ull + MILLION, "1.1.1.1", "1.1.1.1", 6), -1);

	/* And out again, in one batch. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tdi_table_clear(dev, l2, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "%d entries cleared in one batch: %.2f s\n", MILLION, secs(&t0, &t1));
	assert_int_equal(tdi_entry_count(dev, l2), 0);
	assert_int_equal(route(0x020000000000ull + 5, "1.1.1.1", "1.1.1.1", 6), -1);
}

/* Many entries in a table DPDK rebuilds on change (LPM): adds, deletes and
 * modifies in batches, checked through TDI and through packets. */
static void test_rebuilt_table(void **state)
{
	uint32_t lpm = table_id("ipv4_lpm");
	struct ipdk_err err;
	char text[128], dst[32];

	(void)state;
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "match 11.%d.%d.0/24 action set_port port %d", i / 250,
			 i % 250, i % 4);
		add("ipv4_lpm", text);
	}
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	/* Delete every third route, move every fifth to port 3. */
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(text, sizeof(text), "match 11.%d.%d.0/24 action set_port port 3", i / 250,
			 i % 250);
		if (i % 3 == 0)
			del("ipv4_lpm", text);
	}
	for (int i = 0; i < 1000; i++) {
		struct tdi_entry e;

		if (i % 3 == 0 || i % 5)
			continue;
		snprintf(text, sizeof(text), "match 11.%d.%d.0/24 action set_port port 3", i / 250,
			 i % 250);
		parse("ipv4_lpm", text, &e);
		assert_int_equal(tdi_entry_modify(dev, &e, &err), 0);
	}
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	assert_int_equal(tdi_entry_count(dev, lpm), 1000 - 334);
	for (int i = 0; i < 1000; i += 7) {
		int want = i % 3 == 0 ? -1 : i % 5 == 0 ? 3 : i % 4;

		snprintf(dst, sizeof(dst), "11.%d.%d.9", i / 250, i % 250);
		assert_int_equal(route(0x1, "1.1.1.1", dst, 6), want);
	}
	assert_int_equal(tdi_table_clear(dev, lpm, &err), 0);
	assert_int_equal(route(0x1, "1.1.1.1", "11.0.1.9", 6), -1);
}

/* A batch that DPDK refuses at commit (selector weights beyond the group
 * size) after its entry changes reached the shadow copy: nothing changes for
 * the data path or TDI, and the repaired shadow serves correctly once it
 * becomes active in the next commits. */
static void test_failed_batch(void **state)
{
	uint32_t sel = table_id("sel"), lpm = table_id("ipv4_lpm"), l2 = table_id("l2_exact");
	struct ipdk_err err;

	(void)state;
	add("ipv4_lpm", "match 60.0.0.0/8 action set_port port 1");
	add("l2_exact", "match 00:00:00:00:06:01 action set_port port 2");
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	add("l2_exact", "match 00:00:00:00:06:02 action set_port port 3");
	del("l2_exact", "match 00:00:00:00:06:01 action nop");
	add("ipv4_lpm", "match 61.0.0.0/8 action set_port port 2");
	del("ipv4_lpm", "match 60.0.0.0/8 action discard");
	assert_int_equal(tdi_selector_group_add(dev, sel, 1, &err), 0);
	assert_int_equal(tdi_selector_member_set(dev, sel, 1, 1, 3, &err), 0);
	assert_int_equal(tdi_selector_member_set(dev, sel, 1, 2, 2, &err), 0);
	assert_int_equal(tdi_batch_commit(dev, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "sel"));

	for (int round = 0; round < 3; round++) {
		assert_int_equal(tdi_entry_count(dev, l2), 1);
		assert_int_equal(tdi_entry_count(dev, lpm), 1);
		assert_int_equal(route(0x1, "1.1.1.1", "60.1.1.1", 6), 1);
		assert_int_equal(route(0x1, "1.1.1.1", "61.1.1.1", 6), -1);
		assert_int_equal(route(0x0601, "1.1.1.1", "1.1.1.1", 6), 2);
		assert_int_equal(route(0x0602, "1.1.1.1", "1.1.1.1", 6), -1);
		/* Two commits that change other tables: each copy serves in turn. */
		add("meta_exact", "match 9 9 action nop");
		del("meta_exact", "match 9 9 action nop");
	}
	assert_int_equal(tdi_selector_member_set(dev, sel, 1, 1, 1, &err), -ENOENT);
	del("l2_exact", "match 00:00:00:00:06:01 action nop");
	del("ipv4_lpm", "match 60.0.0.0/8 action discard");
}

/* ---- Selectors, learners, counters, registers --------------------------- */

static void test_selector(void **state)
{
	uint32_t sel = table_id("sel");
	struct ipdk_err err;
	int seen[N_PORTS] = { 0 };
	char src[32];

	(void)state;
	add("members", "match 1 action set_port port 1");
	add("members", "match 2 action set_port port 2");
	assert_int_equal(tdi_selector_group_add(dev, sel, 2, &err), 0);
	assert_int_equal(tdi_selector_group_add(dev, sel, 2, &err), -EEXIST);
	assert_int_equal(tdi_selector_member_set(dev, sel, 2, 1, 1, &err), 0);
	assert_int_equal(tdi_selector_member_set(dev, sel, 2, 2, 1, &err), 0);
	assert_int_equal(tdi_selector_group_add(dev, sel, 9, &err), -ERANGE);
	add("ipv4_lpm", "match 40.0.0.0/8 action set_group group_id 2");
	for (int i = 0; i < 64; i++) {
		int port;

		snprintf(src, sizeof(src), "172.16.%d.%d", i, i * 7);
		port = route(0x1, src, "40.0.0.1", 6);
		assert_true(port == 1 || port == 2);
		seen[port]++;
	}
	assert_true(seen[1] > 5 && seen[2] > 5);

	/* Removing a member moves all flows to the other one. */
	assert_int_equal(tdi_selector_member_delete(dev, sel, 2, 1, &err), 0);
	for (int i = 0; i < 16; i++) {
		snprintf(src, sizeof(src), "172.16.%d.%d", i, i * 7);
		assert_int_equal(route(0x1, src, "40.0.0.1", 6), 2);
	}
	del("ipv4_lpm", "match 40.0.0.0/8 action discard");
	assert_int_equal(tdi_selector_group_delete(dev, sel, 2, &err), 0);
	assert_int_equal(tdi_selector_member_set(dev, sel, 2, 1, 1, &err), -ENOENT);
}

static void test_learner(void **state)
{
	uint32_t macs = table_id("macs");
	const struct tdi_table_info *t = &tdi_dev_schema(dev)->tables[macs];
	struct tdi_table_stats st0, st;
	struct ipdk_err err;
	unsigned int n;

	(void)state;
	assert_int_equal(t->kind, TDI_TABLE_LEARNER);
	assert_int_equal(t->n_timeouts, 2);
	assert_int_equal(t->timeouts[0], 30);
	assert_int_equal(tdi_table_stats(dev, macs, &st0, &err), 0);
	for (int i = 0; i < 3; i++) {
		send_ipv4(1, 0x1, 0x0a0b0c0d0e0full, "1.1.1.1", "1.1.1.1", 6);
		run();
		where(&n);
	}
	assert_int_equal(tdi_table_stats(dev, macs, &st, &err), 0);
	/* The first packet misses and learns; the next two hit. */
	assert_int_equal(st.miss_packets - st0.miss_packets, 1);
	assert_int_equal(st.hit_packets - st0.hit_packets, 2);
	assert_int_equal(tdi_learner_timeout_set(dev, macs, 1, 90, &err), 0);
	assert_int_equal(t->timeouts[1], 90);
	assert_int_equal(tdi_learner_timeout_set(dev, macs, 5, 90, &err), -ERANGE);
}

static void test_counters_registers(void **state)
{
	const struct tdi_counter_info *c = tdi_counter_find(dev, "port_tx");
	const struct tdi_register_info *r = tdi_register_find(dev, "last_port");
	uint64_t before, after, bytes, v;
	struct ipdk_err err;
	unsigned int n;

	(void)state;
	assert_non_null(c);
	assert_non_null(r);
	assert_null(tdi_register_find(dev, "port_tx_packets"));
	assert_int_equal(c->unit, TDI_COUNTER_PACKETS);
	assert_false(c->direct);
	add("ipv4_lpm", "match 50.0.0.0/8 action set_port port 3");
	assert_int_equal(tdi_counter_read(dev, c->id, 3, NULL, &before, &bytes, &err), 0);
	for (int i = 0; i < 5; i++)
		send_ipv4(2, 0x1, 0x2, "1.1.1.1", "50.1.1.1", 6);
	run();
	assert_int_equal(where(&n), 3);
	assert_int_equal(n, 5);
	assert_int_equal(tdi_counter_read(dev, c->id, 3, NULL, &after, &bytes, &err), 0);
	assert_int_equal(after - before, 5);
	assert_int_equal(tdi_register_read(dev, r->id, 0, &v, &err), 0);
	assert_int_equal(v, 2);
	assert_int_equal(tdi_counter_reset(dev, c->id, 3, NULL, &err), 0);
	assert_int_equal(tdi_counter_read(dev, c->id, 3, NULL, &after, &bytes, &err), 0);
	assert_int_equal(after, 0);
	/* a write sets the cell; bytes of a packets-only counter are refused */
	assert_int_equal(tdi_counter_write(dev, c->id, 3, NULL, 1234, 0, &err), 0);
	assert_int_equal(tdi_counter_read(dev, c->id, 3, NULL, &after, &bytes, &err), 0);
	assert_int_equal(after, 1234);
	assert_int_equal(tdi_counter_write(dev, c->id, 3, NULL, 1, 5, &err), -EINVAL);
	assert_int_equal(tdi_counter_write(dev, c->id, c->size, NULL, 1, 0, &err), -ERANGE);
	assert_int_equal(tdi_counter_read(dev, c->id, 3, NULL, &after, &bytes, &err), 0);
	assert_int_equal(after, 1234);
	assert_int_equal(tdi_register_write(dev, r->id, 0, 77, &err), 0);
	assert_int_equal(tdi_register_read(dev, r->id, 0, &v, &err), 0);
	assert_int_equal(v, 77);
	assert_int_equal(tdi_register_read(dev, r->id, 1, &v, &err), -ERANGE);

	struct tdi_table_stats st;

	assert_int_equal(tdi_table_stats(dev, table_id("ipv4_lpm"), &st, &err), 0);
	assert_true(st.hit_packets >= 5);
	del("ipv4_lpm", "match 50.0.0.0/8 action discard");
}

/* ---- Changes under traffic ---------------------------------------------- */

/* A pipeline thread forwards a steady stream of two flows while entries
 * change, one commit at a time. Flow A (even sequence numbers) has an entry
 * that never changes; flow B (odd ones) has its port changed by every commit,
 * in the same batch as 1000 other entries being added or deleted. A packet is
 * steered by the state that is active when the pipeline receives it, so in
 * the order packets were sent flow B must go through the versions one after
 * the other, never back, and a packet sent after a commit returned must see
 * that commit. No packet may be lost. */
#define LIVE_COMMITS 60
#define LIVE_BG 1000
#define LIVE_MAX_PKTS (1u << 21)
#define LIVE_IN_FLIGHT 128
#define MAC_A 0x0000000000a1ull
#define MAC_B 0x0000000000b2ull
#define MAC_BG 0x030000000000ull

struct live {
	struct rte_ring *in;
	_Atomic uint64_t sent;   /* written by the traffic thread */
	_Atomic int64_t last_b;  /* highest flow B sequence number received */
	atomic_bool stop;
	uint64_t recv;
	int8_t *port_of;         /* per sequence number; -1: not received */
	int error;               /* traffic thread: a duplicate or unknown packet */
};

static int live_port(uint32_t version)
{
	return 1 + (int)(version % 3);
}

static void live_send(struct live *lv, unsigned int n)
{
	uint64_t sent = atomic_load(&lv->sent);
	struct rte_mbuf *m[16];
	unsigned int k, done;

	for (k = 0; k < n && sent + k < LIVE_MAX_PKTS; k++) {
		uint64_t seq = sent + k, dmac = (seq & 1) ? MAC_B : MAC_A;
		uint8_t *d;

		m[k] = rte_pktmbuf_alloc(ipdk_dpdk_mempool());
		if (!m[k])
			break;
		d = (uint8_t *)rte_pktmbuf_append(m[k], 64);
		memset(d, 0, 64);
		for (int i = 0; i < 6; i++) {
			d[i] = (uint8_t)(dmac >> (40 - 8 * i));
			d[6 + i] = (uint8_t)(0x020000000001ull >> (40 - 8 * i));
		}
		d[12] = 0x88;
		d[13] = 0xb5;
		memcpy(d + 14, &seq, sizeof(seq));
	}
	done = rte_ring_enqueue_burst(lv->in, (void **)m, k, NULL);
	for (unsigned int i = done; i < k; i++)
		rte_pktmbuf_free(m[i]);
	atomic_store(&lv->sent, sent + done);
}

static unsigned int live_collect(struct live *lv)
{
	uint64_t sent = atomic_load(&lv->sent);
	unsigned int got = 0;

	for (int port = 0; port < N_PORTS; port++) {
		struct rte_ring *r = ipdk_port_ring_from_pipeline(ports[port]);
		struct rte_mbuf *m[32];
		unsigned int n = rte_ring_dequeue_burst(r, (void **)m, 32, NULL);

		for (unsigned int i = 0; i < n; i++) {
			uint64_t seq;

			memcpy(&seq, rte_pktmbuf_mtod(m[i], uint8_t *) + 14, sizeof(seq));
			rte_pktmbuf_free(m[i]);
			if (seq >= sent || lv->port_of[seq] != -1) {
				lv->error = 1;
				continue;
			}
			lv->port_of[seq] = (int8_t)port;
			if ((seq & 1) && (int64_t)seq > atomic_load(&lv->last_b))
				atomic_store(&lv->last_b, (int64_t)seq);
		}
		got += n;
	}
	lv->recv += got;
	return got;
}

/* The traffic thread: keeps LIVE_IN_FLIGHT packets in the pipeline until
 * told to stop, then collects what is still on its way (for up to 2 s). */
static void *live_traffic(void *arg)
{
	struct live *lv = arg;
	struct timespec t0, t;

	while (!atomic_load(&lv->stop)) {
		if (atomic_load(&lv->sent) - lv->recv < LIVE_IN_FLIGHT)
			live_send(lv, 8);
		if (!live_collect(lv)) {
			struct timespec ts = { .tv_nsec = 5000 };

			nanosleep(&ts, NULL);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct timespec ts = { .tv_nsec = 100000 };

		if (!live_collect(lv))
			nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (lv->recv < atomic_load(&lv->sent) && secs(&t0, &t) < 2.0);
	return NULL;
}

/* Waits until flow B has a packet sent at or after seq back. */
static void live_wait(struct live *lv, uint64_t seq)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (atomic_load(&lv->last_b) < (int64_t)seq) {
		struct timespec ts = { .tv_nsec = 50000 };

		nanosleep(&ts, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (secs(&t0, &t) > 10.0)
			fail_msg("stream stalled: %" PRIu64 " sent", atomic_load(&lv->sent));
	}
}

/* Commit k: flow B's entry gets port live_port(k), by a modify (odd k) or by
 * a delete first and an add last, with the 1000 other changes in between, so
 * that a packet reading a copy while it is brought up to date would miss and
 * be dropped. */
static void live_batch(uint32_t k)
{
	uint32_t l2 = table_id("l2_exact");
	struct tdi_entry e, b;
	struct ipdk_err err;

	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	memset(&b, 0, sizeof(b));
	b.table_id = l2;
	b.action_id = action_id("set_port");
	mac_key(&b, MAC_B);
	b.params[0][15] = (uint8_t)live_port(k);
	assert_int_equal(k % 2 ? tdi_entry_modify(dev, &b, &err) : tdi_entry_delete(dev, &b, &err),
			 0);
	e = b;
	e.params[0][15] = 0;
	for (uint32_t j = 0; j < LIVE_BG; j++) {
		mac_key(&e, MAC_BG + j);
		assert_int_equal(k % 2 ? tdi_entry_add(dev, &e, &err) : tdi_entry_delete(dev, &e, &err),
				 0);
	}
	if (!(k % 2))
		assert_int_equal(tdi_entry_add(dev, &b, &err), 0);
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
}

/* Flow B, in sending order, must step through the versions one by one. */
static void live_check(const struct live *lv, const uint64_t *after)
{
	uint32_t v = 0, floor = 0;

	for (uint64_t seq = 0; seq < atomic_load(&lv->sent); seq++) {
		int port = lv->port_of[seq];

		if (!(seq & 1)) {
			assert_int_equal(port, 1);
			continue;
		}
		while (floor < LIVE_COMMITS && after[floor + 1] <= seq)
			floor++;
		if (port != live_port(v)) {
			if (port != live_port(v + 1))
				fail_msg("flow B packet %" PRIu64 " on port %d, version %u expected port %d or %d",
					 seq, port, v, live_port(v), live_port(v + 1));
			v++;
		}
		if (v < floor)
			fail_msg("flow B packet %" PRIu64 " sent after commit %u returned saw version %u",
				 seq, floor, v);
	}
	assert_int_equal(v, LIVE_COMMITS);
}

static void test_live(void **state)
{
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	struct ipdk_port_stats d0, d1;
	struct ipdk_dpdk_runner *runner;
	struct live lv = { .in = ipdk_port_ring_to_pipeline(ports[0]), .last_b = -1 };
	uint64_t after[LIVE_COMMITS + 1] = { 0 };
	struct timespec t0, t1;
	struct ipdk_err err;
	pthread_t traffic;
	char text[128];

	(void)state;
	lv.port_of = malloc(LIVE_MAX_PKTS);
	assert_non_null(lv.port_of);
	memset(lv.port_of, -1, LIVE_MAX_PKTS);
	snprintf(text, sizeof(text), "match 0x%llx action set_port port 1", MAC_A);
	add("l2_exact", text);
	snprintf(text, sizeof(text), "match 0x%llx action set_port port %d", MAC_B, live_port(0));
	add("l2_exact", text);
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, DROP_PORT, &d0), 0);
	assert_int_equal(ipdk_dpdk_runner_start(&rcfg, &runner, &err), 0);
	assert_int_equal(ipdk_dpdk_runner_add(runner, 0, pl, &err), 0);
	assert_int_equal(pthread_create(&traffic, NULL, live_traffic, &lv), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t k = 1; k <= LIVE_COMMITS; k++) {
		live_wait(&lv, after[k - 1]);
		live_batch(k);
		after[k] = atomic_load(&lv.sent);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	live_wait(&lv, after[LIVE_COMMITS]);
	atomic_store(&lv.stop, true);
	pthread_join(traffic, NULL);
	ipdk_dpdk_runner_remove(runner, pl);
	ipdk_dpdk_runner_stop(runner);
	fprintf(stderr, "live: %d commits of %d entries in %.2f s, %" PRIu64 " packets sent, %" PRIu64 " received\n",
		LIVE_COMMITS, LIVE_BG + 1, secs(&t0, &t1), atomic_load(&lv.sent), lv.recv);

	assert_false(lv.error);
	assert_int_equal(lv.recv, atomic_load(&lv.sent));
	assert_int_equal(ipdk_dpdk_pipeline_port_stats(pl, DROP_PORT, &d1), 0);
	assert_int_equal(d1.tx_packets, d0.tx_packets);
	live_check(&lv, after);
	free(lv.port_of);

	assert_int_equal(tdi_entry_count(dev, table_id("l2_exact")), 2);
	snprintf(text, sizeof(text), "match 0x%llx action nop", MAC_A);
	del("l2_exact", text);
	snprintf(text, sizeof(text), "match 0x%llx action nop", MAC_B);
	del("l2_exact", text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_steering),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_rebuilt_table),
		cmocka_unit_test(test_failed_batch),
		cmocka_unit_test(test_selector),
		cmocka_unit_test(test_learner),
		cmocka_unit_test(test_counters_registers),
		cmocka_unit_test(test_mirror_sessions),
		cmocka_unit_test(test_big_batch),
		cmocka_unit_test(test_million),
		cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
