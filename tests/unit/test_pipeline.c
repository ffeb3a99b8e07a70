/*
 * Tests of the pipeline builder and the pipeline threads: padding of inputs
 * to a power of two, the drop port appended last, errors from a broken spec,
 * threads that forward packets, hand pipelines over and back off when idle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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

static int teardown(void **state)
{
	(void)state;
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

	for (int i = 0; i < 200 && got < want; i++) {
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
	assert_int_equal(ipdk_dpdk_runner_start(&rcfg, &r, &err), 0);
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
	ipdk_dpdk_runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padding_and_drop_port),
		cmocka_unit_test(test_drop_instruction),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_runner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
