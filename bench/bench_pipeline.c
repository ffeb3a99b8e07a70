/*
 * Pipeline packet rate on one core, ring ports, for DPDK's example specs
 * l2fwd, fib and vxlan (their table files loaded so every packet hits), in
 * three variants measured in the same run:
 *   ours    - our spec loader + rte_swx_pipeline_build (interpreted);
 *   codegen - rte_swx_pipeline_codegen -> gcc -O3 -> build_from_lib;
 *   copy    - no pipeline: packets moved from the input rings to the output
 *             rings (the floor the harness itself imposes).
 *
 * Everything runs in this one thread: the pipeline (rte_swx_pipeline_run in
 * quanta, then flush) alternates with the harness, which drains the output
 * rings, rewrites each buffer to a pre-built 64-byte frame and pushes it back
 * into the input ring of the same port. Buffers are reused, never freed; the
 * rewrite (a 64-byte copy) is part of every variant, so the copy variant
 * measures exactly what the harness costs. Variants take turns, several times
 * each, and the median is reported.
 *
 * Usage: bench_pipeline [-s seconds per sample] [-r samples] [-q quantum] [spec...]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "bench.h"

#define N_PORTS 4
#define N_INFLIGHT 512      /* buffers circulating; rings hold 1024 */
#define RING_SIZE 1024
#define MAX_TMPL 16
#define WARMUP_S 0.1

enum variant { V_OURS, V_CODEGEN, V_COPY, V_MAX };
static const char *const variant_name[V_MAX] = { "ours", "codegen", "copy" };

struct spec_case {
	const char *name;
	int (*tables)(struct rte_swx_ctl_pipeline *ctl, struct ipdk_err *err);
	unsigned int (*frames)(uint8_t tmpl[MAX_TMPL][BENCH_PKT_LEN]);
	uint32_t out_len;    /* length of every frame the pipeline sends */
};

struct harness {
	struct ipdk_port *ports[N_PORTS];
	struct rte_ring *in[N_PORTS], *out[N_PORTS];
	uint8_t tmpl[MAX_TMPL][BENCH_PKT_LEN];
	unsigned int n_tmpl, next_tmpl;
	struct rte_mbuf *pkts[N_INFLIGHT];
	unsigned int n_pkts;
	struct rte_swx_pipeline *p[V_MAX];  /* NULL for copy (and skipped ones) */
	uint32_t quantum;
};

static struct {
	double seconds;
	unsigned int reps;
	uint32_t quantum;
} opt = { 1.0, 3, 1024 };

/* ---- The example programs ----------------------------------------------- */

static char *ex_path(const char *file)
{
	static char buf[4][PATH_MAX];
	static unsigned int i;
	char *p = buf[i++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", bench_examples_dir(), file);
	return p;
}

static int tables_none(struct rte_swx_ctl_pipeline *ctl, struct ipdk_err *err)
{
	(void)ctl;
	(void)err;
	return 0;
}

static int tables_fib(struct rte_swx_ctl_pipeline *ctl, struct ipdk_err *err)
{
	int rc;

	rc = bench_table_file(ctl, "routing_table", ex_path("fib_routing_table.txt"), err);
	if (!rc)
		rc = bench_selector_file(ctl, "nexthop_group_table", 12,
					 ex_path("fib_nexthop_group_table.txt"), err);
	if (!rc)
		rc = bench_table_file(ctl, "nexthop_table", ex_path("fib_nexthop_table.txt"),
				      err);
	return rc;
}

static int tables_vxlan(struct rte_swx_ctl_pipeline *ctl, struct ipdk_err *err)
{
	return bench_table_file(ctl, "vxlan_table", ex_path("vxlan_table.txt"), err);
}

static unsigned int frames_l2fwd(uint8_t t[MAX_TMPL][BENCH_PKT_LEN])
{
	for (unsigned int i = 0; i < 4; i++)
		bench_udp_frame(t[i], 0x020000000100ull + i, 0x0a000001, 0x0a000101 + i);
	return 4;
}

/* VRF (the source address) 0..2, each with its four /2 routes: every route
 * of those VRFs, and through them every next-hop group 0..11, is used. */
static unsigned int frames_fib(uint8_t t[MAX_TMPL][BENCH_PKT_LEN])
{
	unsigned int n = 0;

	for (uint32_t vrf = 0; vrf < 3; vrf++)
		for (uint32_t q = 0; q < 4; q++, n++)
			bench_udp_frame(t[n], 0x020000000100ull, vrf, (q << 30) | 0x00010203);
	return n;
}

/* The sixteen destination MACs of vxlan_table.txt (output port = i % 4). */
static unsigned int frames_vxlan(uint8_t t[MAX_TMPL][BENCH_PKT_LEN])
{
	for (unsigned int i = 0; i < 16; i++)
		bench_udp_frame(t[i], 0xaabbccdd0000ull + i, 0x0a000001, 0x0a000101);
	return 16;
}

static const struct spec_case cases[] = {
	{ "l2fwd", tables_none, frames_l2fwd, BENCH_PKT_LEN },
	{ "fib", tables_fib, frames_fib, BENCH_PKT_LEN },
	{ "vxlan", tables_vxlan, frames_vxlan, BENCH_PKT_LEN + 50 },
};

/* ---- The harness -------------------------------------------------------- */

static inline void pkt_rewrite(struct harness *h, struct rte_mbuf *m)
{
	const uint8_t *t = h->tmpl[h->next_tmpl];

	if (++h->next_tmpl == h->n_tmpl)
		h->next_tmpl = 0;
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = BENCH_PKT_LEN;
	m->pkt_len = BENCH_PKT_LEN;
	rte_memcpy(rte_pktmbuf_mtod(m, void *), t, BENCH_PKT_LEN);
}

/* One turn of the thing under test. */
static inline void step(struct harness *h, enum variant v)
{
	void *objs[32];
	unsigned int n;

	if (v != V_COPY) {
		rte_swx_pipeline_run(h->p[v], h->quantum);
		rte_swx_pipeline_flush(h->p[v]);
		return;
	}
	for (unsigned int i = 0; i < N_PORTS; i++)
		while ((n = rte_ring_dequeue_burst(h->in[i], objs, 32, NULL)) > 0)
			rte_ring_enqueue_burst(h->out[i], objs, n, NULL);
}

/* Takes what the pipeline sent and feeds it back in; returns the count. */
static inline unsigned int recycle(struct harness *h)
{
	struct rte_mbuf *m[64];
	unsigned int total = 0, n;

	for (unsigned int i = 0; i < N_PORTS; i++) {
		while ((n = rte_ring_dequeue_burst(h->out[i], (void **)m, 64, NULL)) > 0) {
			for (unsigned int k = 0; k < n; k++)
				pkt_rewrite(h, m[k]);
			rte_ring_enqueue_burst(h->in[i], (void **)m, n, NULL);
			total += n;
		}
	}
	return total;
}

/* Puts every buffer we hold into the input rings. */
static void inject(struct harness *h)
{
	for (unsigned int k = 0; k < h->n_pkts; k++) {
		pkt_rewrite(h, h->pkts[k]);
		rte_ring_enqueue(h->in[k % N_PORTS], h->pkts[k]);
	}
	h->n_pkts = 0;
}

/* Runs without refilling until every buffer is back in h->pkts (or nothing
 * has come out for a while: the pipeline dropped the rest). Counts frames
 * whose length is not the expected one. */
static unsigned int collect(struct harness *h, enum variant v, uint32_t out_len,
			    unsigned int expect, unsigned int *bad_len)
{
	unsigned int idle = 0, n;

	while (h->n_pkts < expect && idle < 1000) {
		step(h, v);
		n = 0;
		for (unsigned int i = 0; i < N_PORTS; i++) {
			struct rte_mbuf **dst = &h->pkts[h->n_pkts];

			n = rte_ring_dequeue_burst(h->out[i], (void **)dst,
						   N_INFLIGHT - h->n_pkts, NULL);
			for (unsigned int k = 0; k < n; k++)
				if (dst[k]->pkt_len != out_len)
					(*bad_len)++;
			h->n_pkts += n;
			idle = n ? 0 : idle;
		}
		idle++;
	}
	return h->n_pkts;
}

/* Tops the buffer set up to N_INFLIGHT from the pool (after drops). */
static int refill(struct harness *h, struct ipdk_err *err)
{
	while (h->n_pkts < N_INFLIGHT) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(ipdk_dpdk_mempool());

		if (!m)
			return ipdk_err_set(err, -ENOMEM, "out of packet buffers");
		h->pkts[h->n_pkts++] = m;
	}
	return 0;
}

static uint64_t drops_of(struct harness *h, enum variant v)
{
	struct rte_swx_port_out_stats st = { 0 };

	if (v == V_COPY)
		return 0;
	rte_swx_ctl_pipeline_port_out_stats_read(h->p[v], N_PORTS, &st);
	return st.n_pkts;
}

/* One sample after a short warm-up: millions of packets per wall-clock second
 * and per CPU second of this thread. */
struct rate {
	double wall, cpu;
};

static int sample(struct harness *h, enum variant v, struct rate *r, struct ipdk_err *err)
{
	unsigned int bad_len = 0;
	uint64_t count = 0, drops0 = drops_of(h, v);
	double t0, c0, t_end, now;
	int rc;

	rc = refill(h, err);
	if (rc)
		return rc;
	inject(h);
	t0 = bench_now();
	while (bench_now() - t0 < WARMUP_S) {
		step(h, v);
		recycle(h);
	}
	t0 = bench_now();
	c0 = bench_cpu_now();
	t_end = t0 + opt.seconds;
	do {
		for (unsigned int i = 0; i < 16; i++) {
			step(h, v);
			count += recycle(h);
		}
		now = bench_now();
	} while (now < t_end);
	r->cpu = count / (bench_cpu_now() - c0) / 1e6;
	r->wall = count / (now - t0) / 1e6;
	/* DPDK frees dropped packets without always passing them to the drop
	 * port, so a miss shows as a buffer that never comes back. */
	if (collect(h, v, 0, N_INFLIGHT, &bad_len) != N_INFLIGHT || drops_of(h, v) != drops0)
		return ipdk_err_set(err, -EPROTO, "%s: %u of %u buffers came back, %" PRIu64
				    " on the drop port (table miss?)", variant_name[v], h->n_pkts,
				    N_INFLIGHT, drops_of(h, v) - drops0);
	return 0;
}

/* Before timing: one pass of every buffer must come out with the expected
 * length and nothing may reach the drop port. */
static int check_hits(struct harness *h, enum variant v, uint32_t out_len,
		      struct ipdk_err *err)
{
	unsigned int bad_len = 0, got;
	uint64_t drops0 = drops_of(h, v);
	int rc;

	rc = refill(h, err);
	if (rc)
		return rc;
	inject(h);
	got = collect(h, v, v == V_COPY ? BENCH_PKT_LEN : out_len, N_INFLIGHT, &bad_len);
	if (got != N_INFLIGHT || bad_len || drops_of(h, v) != drops0)
		return ipdk_err_set(err, -EPROTO, "%s: check failed: %u of %u frames out, "
				    "%u of wrong length, %" PRIu64 " dropped", variant_name[v],
				    got, N_INFLIGHT, bad_len, drops_of(h, v) - drops0);
	return 0;
}

/* ---- Set-up ------------------------------------------------------------- */

static int ports_make(struct harness *h, struct ipdk_err *err)
{
	for (unsigned int i = 0; i < N_PORTS; i++) {
		struct ipdk_port_cfg cfg = {
			.type = IPDK_PORT_RING,
			.ring_size = RING_SIZE,
			.burst = 32,
		};
		int rc;

		snprintf(cfg.name, sizeof(cfg.name), "bench%u", i);
		rc = ipdk_port_create(&cfg, &h->ports[i], err);
		if (rc)
			return rc;
		h->in[i] = ipdk_port_ring_to_pipeline(h->ports[i]);
		h->out[i] = ipdk_port_ring_from_pipeline(h->ports[i]);
	}
	return 0;
}

static int load_tables(const struct spec_case *c, struct rte_swx_ctl_pipeline *ctl,
		       const char *variant, struct ipdk_err *err)
{
	int rc = c->tables(ctl, err);

	if (rc)
		return ipdk_err_prefix(err, "%s/%s", c->name, variant);
	rc = rte_swx_ctl_pipeline_commit(ctl, 1);
	if (rc)
		return ipdk_err_set(err, rc, "%s/%s: table commit failed: %s", c->name,
				    variant, strerror(-rc));
	return 0;
}

struct built {
	struct ipdk_dpdk_pipeline *ours;
	struct rte_swx_pipeline *cg;
	struct rte_swx_ctl_pipeline *cg_ctl;
};

static int build_ours(struct harness *h, const struct spec_case *c, struct built *b,
		      struct ipdk_err *err)
{
	char name[64], file[64];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = name,
		.spec_path = NULL,
		.ports = h->ports,
		.n_ports = N_PORTS,
		.numa_node = -1,
	};
	int rc;

	snprintf(name, sizeof(name), "ours_%s", c->name);
	snprintf(file, sizeof(file), "%s.spec", c->name);
	cfg.spec_path = ex_path(file);
	rc = ipdk_dpdk_pipeline_build(&cfg, &b->ours, err);
	if (rc)
		return rc;
	h->p[V_OURS] = ipdk_dpdk_pipeline_swx(b->ours);
	return load_tables(c, ipdk_dpdk_pipeline_ctl(b->ours), "ours", err);
}

static int build_codegen(struct harness *h, struct bench_codegen *cg,
			 const struct spec_case *c, struct built *b, struct ipdk_err *err)
{
	char name[64], file[64], iospec[2048];
	int rc;

	snprintf(name, sizeof(name), "cg_%s", c->name);
	snprintf(file, sizeof(file), "%s.spec", c->name);
	rc = bench_iospec_rings(h->ports, N_PORTS, iospec, sizeof(iospec), err);
	if (!rc)
		rc = bench_codegen_build(cg, name, ex_path(file), iospec, &b->cg, NULL, err);
	if (rc)
		return rc;
	b->cg_ctl = rte_swx_ctl_pipeline_create(b->cg);
	if (!b->cg_ctl)
		return ipdk_err_set(err, -ENOMEM, "%s: no control handle", name);
	h->p[V_CODEGEN] = b->cg;
	return load_tables(c, b->cg_ctl, "codegen", err);
}

static void built_free(struct harness *h, struct built *b)
{
	if (b->cg_ctl)
		rte_swx_ctl_pipeline_free(b->cg_ctl);
	if (b->cg)
		rte_swx_pipeline_free(b->cg);
	ipdk_dpdk_pipeline_free(b->ours);
	memset(b, 0, sizeof(*b));
	h->p[V_OURS] = h->p[V_CODEGEN] = NULL;
}

/* ---- Report ------------------------------------------------------------- */

static void print_header(void)
{
	printf("%-6s %9s %9s %9s %9s %9s %9s %8s %9s\n", "spec", "ours", "ours/cpu",
	       "codegen", "cg/cpu", "copy", "copy/cpu", "ours/cg", "ours/copy");
}

static void print_row(const char *spec, const struct rate med[V_MAX], const bool have[V_MAX])
{
	char cg[16] = "-", cg_cpu[16] = "-", ratio_b[16] = "-";

	if (have[V_CODEGEN]) {
		snprintf(cg, sizeof(cg), "%.2f", med[V_CODEGEN].wall);
		snprintf(cg_cpu, sizeof(cg_cpu), "%.2f", med[V_CODEGEN].cpu);
		snprintf(ratio_b, sizeof(ratio_b), "%.2f", med[V_OURS].cpu / med[V_CODEGEN].cpu);
	}
	printf("%-6s %9.2f %9.2f %9s %9s %9.2f %9.2f %8s %9.3f\n", spec, med[V_OURS].wall,
	       med[V_OURS].cpu, cg, cg_cpu, med[V_COPY].wall, med[V_COPY].cpu, ratio_b,
	       med[V_OURS].cpu / med[V_COPY].cpu);
	fflush(stdout);
}

static int run_case(struct harness *h, struct bench_codegen *cg, bool have_cg,
		    const struct spec_case *c, struct ipdk_err *err)
{
	double wall[V_MAX][16], cpu[V_MAX][16];
	bool have[V_MAX] = { true, have_cg, true };
	struct rate med[V_MAX] = { 0 }, r = { 0 };
	struct built b = { 0 };
	int rc;

	h->n_tmpl = c->frames(h->tmpl);
	h->next_tmpl = 0;
	rc = build_ours(h, c, &b, err);
	if (!rc && have_cg)
		rc = build_codegen(h, cg, c, &b, err);
	for (int v = 0; !rc && v < V_MAX; v++)
		if (have[v])
			rc = check_hits(h, v, c->out_len, err);
	for (unsigned int i = 0; !rc && i < opt.reps; i++)
		for (int v = 0; !rc && v < V_MAX; v++)
			if (have[v]) {
				rc = sample(h, v, &r, err);
				wall[v][i] = r.wall;
				cpu[v][i] = r.cpu;
			}
	if (!rc) {
		for (int v = 0; v < V_MAX; v++)
			if (have[v]) {
				med[v].wall = bench_median(wall[v], opt.reps);
				med[v].cpu = bench_median(cpu[v], opt.reps);
			}
		print_row(c->name, med, have);
	}
	built_free(h, &b);
	return rc;
}

static bool case_wanted(const char *name, int n, char **names)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return n == 0;
}

static int parse_args(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "s:r:q:")) != -1) {
		switch (ch) {
		case 's': opt.seconds = atof(optarg); break;
		case 'r': opt.reps = atoi(optarg); break;
		case 'q': opt.quantum = atoi(optarg); break;
		default: return -1;
		}
	}
	if (opt.seconds <= 0 || opt.reps < 1 || opt.reps > 16 || !opt.quantum)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct harness h;
	struct bench_codegen cg;
	struct ipdk_err err = { 0 };
	bool have_cg;
	int rc;

	if (parse_args(argc, argv)) {
		fprintf(stderr, "usage: %s [-s seconds] [-r samples (1-16)] [-q quantum] "
			"[l2fwd|fib|vxlan ...]\n",
			argv[0]);
		return 2;
	}
	h.quantum = opt.quantum;
	rc = bench_env_init(1024, &err);
	if (!rc)
		rc = ports_make(&h, &err);
	if (rc) {
		fprintf(stderr, "bench_pipeline: %s\n", err.msg);
		return 1;
	}
	have_cg = !bench_codegen_init(&cg, NULL, &err);
	if (!have_cg)
		printf("note: codegen variant skipped: %s\n", err.msg);

	printf("Pipeline packet rate, one core, %u ring ports, %u x 64-byte frames in flight, "
	       "quantum %u instructions, median of %u x %.1f s\n", N_PORTS, N_INFLIGHT,
	       opt.quantum, opt.reps, opt.seconds);
	printf("Mpps per wall-clock second, and per CPU second of the benchmark thread "
	       "(/cpu);\nratios use the per-CPU-second figures.\n");
	print_header();
	for (size_t i = 0; !rc && i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!case_wanted(cases[i].name, argc - optind, argv + optind))
			continue;
		rc = run_case(&h, &cg, have_cg, &cases[i], &err);
		if (rc)
			fprintf(stderr, "bench_pipeline: %s: %s\n", cases[i].name, err.msg);
	}
	fflush(stdout);
	bench_codegen_fini(&cg);
	for (unsigned int k = 0; k < h.n_pkts; k++)
		rte_pktmbuf_free(h.pkts[k]);
	for (unsigned int i = 0; i < N_PORTS; i++)
		ipdk_port_destroy(h.ports[i]);
	bench_env_fini();
	return rc ? 1 : 0;
}
