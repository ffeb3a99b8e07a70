/*
 * Table write rate through TDI on the DPDK target: exact entries of DPDK's
 * vxlan_table (48-bit MAC key, 22-parameter vxlan_encap action) added one
 * commit per entry, then, after the table is cleared, in batches of 10k
 * entries per commit, in one run. Each phase stops at its entry target or at
 * its time budget, whichever comes first, and prints the N it reached, so the
 * two rates can be compared honestly. The batched phase also prints its rate
 * over the first N the one-commit phase reached (equal table occupancy) and
 * the rate of its first and last batch (how the cost grows with the table).
 * A third figure, taken on a second pipeline in between, writes the same first
 * N entries in the same batches through DPDK's own control library
 * (rte_swx_ctl, which other P4-DPDK stacks use), bypassing TDI and our target.
 *
 * The pipeline runs on a pipeline thread while the tables are written, as in
 * infrap4d (idle: no packets, so the thread backs off between polls): a
 * commit has to wait until that thread has left the old table state, and
 * that wait is most of what one commit per entry costs. With -R no thread
 * runs the pipeline and commits need not wait.
 *
 * Usage: bench_tdi [-n batched target] [-b batch size] [-m one-commit target]
 *                  [-T batched budget s] [-t one-commit budget s] [-R]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_swx_ctl.h>

#include "bench.h"
#include "ipdk/tdi.h"

static struct {
	uint64_t n_batched, batch, n_single;
	double budget_batched, budget_single;
	bool no_runner;
} opt = { 1000000, 10000, 20000, 90.0, 20.0, false };

struct phase {
	uint64_t n;          /* entries written */
	double secs;         /* wall clock */
	double cpu;          /* CPU seconds of this thread */
};

static void put_be(uint8_t v[TDI_VALUE_BYTES], uint64_t x, uint32_t n_bits)
{
	if (n_bits < 64)
		x &= (1ull << n_bits) - 1;
	memset(v, 0, TDI_VALUE_BYTES);
	for (int i = 0; i < 8; i++)
		v[TDI_VALUE_BYTES - 1 - i] = x >> (8 * i);
}

/* Entry i: key 0xaa0000000000 + i, the action's parameters derived from i
 * (output port 0: the pipeline has one port). */
static void entry_make(struct tdi_entry *e, const struct tdi_action_info *a, uint64_t i)
{
	put_be(e->key[0].value, 0xaa0000000000ull + i, 48);
	for (uint32_t p = 0; p < a->n_params; p++) {
		bool port = !strcmp(a->params[p].name, "port_out");

		put_be(e->params[p], port ? 0 : i + p, a->params[p].n_bits);
	}
}

static int phase_single(struct tdi_dev *dev, struct tdi_entry *e,
			const struct tdi_action_info *a, uint64_t first, struct phase *ph,
			struct ipdk_err *err)
{
	double t0 = bench_now(), c0 = bench_cpu_now();
	int rc = 0;

	for (ph->n = 0; ph->n < opt.n_single; ph->n++) {
		entry_make(e, a, first + ph->n);
		rc = tdi_entry_add(dev, e, err);
		if (rc)
			break;
		if ((ph->n & 63) == 63 && bench_now() - t0 > opt.budget_single) {
			ph->n++;
			break;
		}
	}
	ph->secs = bench_now() - t0;
	ph->cpu = bench_cpu_now() - c0;
	return rc;
}

struct batched {
	struct phase all;
	struct phase head;         /* the first opt.n_single entries */
	double first_rate, last_rate;
};

static int one_batch(struct tdi_dev *dev, struct tdi_entry *e, const struct tdi_action_info *a,
		     uint64_t first, uint64_t n, struct ipdk_err *err)
{
	int rc = tdi_batch_begin(dev, err);

	for (uint64_t k = 0; !rc && k < n; k++) {
		entry_make(e, a, first + k);
		rc = tdi_entry_add(dev, e, err);
	}
	if (rc) {
		tdi_batch_abort(dev);
		return rc;
	}
	return tdi_batch_commit(dev, err);
}

static int phase_batched(struct tdi_dev *dev, struct tdi_entry *e,
			 const struct tdi_action_info *a, uint64_t head_n, struct batched *b,
			 struct ipdk_err *err)
{
	double t0 = bench_now(), c0 = bench_cpu_now(), tb, rate = 0, last_s = 0;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	/* A batch costs more as the table fills: start one only if it should end
	 * within the budget, judging by the one before it. */
	while (b->all.n < opt.n_batched && bench_now() - t0 + last_s < opt.budget_batched) {
		uint64_t n = opt.batch;

		if (n > opt.n_batched - b->all.n)
			n = opt.n_batched - b->all.n;
		/* Cut the batch that crosses head_n there, to time that prefix. */
		if (b->all.n < head_n && b->all.n + n > head_n)
			n = head_n - b->all.n;
		tb = bench_now();
		rc = one_batch(dev, e, a, b->all.n, n, err);
		if (rc)
			break;
		last_s = (bench_now() - tb) * opt.batch / n;
		rate = n / (bench_now() - tb);
		if (!b->all.n)
			b->first_rate = rate;
		b->all.n += n;
		if (b->all.n == head_n) {
			b->head.n = b->all.n;
			b->head.secs = bench_now() - t0;
			b->head.cpu = bench_cpu_now() - c0;
		}
	}
	b->last_rate = rate;
	b->all.secs = bench_now() - t0;
	b->all.cpu = bench_cpu_now() - c0;
	return rc;
}

/* One entry parsed once from DPDK's text form; each write then changes only
 * the key bytes (the MAC, network order, at the start of the key). */
static struct rte_swx_table_entry *raw_entry(struct rte_swx_ctl_pipeline *ctl,
					     struct ipdk_err *err)
{
	static const char line[] = "match 0xaa0000000000 action vxlan_encap "
		"ethernet_dst_addr 0xa0a1a2a30000 ethernet_src_addr 0xb0b1b2b30000 "
		"ethernet_ethertype 0x0800 ipv4_ver_ihl 0x45 ipv4_diffserv 0 ipv4_total_len 50 "
		"ipv4_identification 0 ipv4_flags_offset 0 ipv4_ttl 64 ipv4_protocol 17 "
		"ipv4_hdr_checksum 0xe928 ipv4_src_addr 0xc0c10000 ipv4_dst_addr 0xd0d10000 "
		"udp_src_port 0xe000 udp_dst_port 4789 udp_length 30 udp_checksum 0 "
		"vxlan_flags 0 vxlan_reserved 0 vxlan_vni 0 vxlan_reserved2 0 port_out 0";
	struct rte_swx_table_entry *e;
	int blank;

	e = rte_swx_ctl_pipeline_table_entry_read(ctl, "vxlan_table", line, &blank);
	if (!e)
		ipdk_err_set(err, -EINVAL, "vxlan_table: DPDK did not parse the raw entry");
	else if (e->key[0] != 0xaa || e->key[5] != 0)
		ipdk_err_set(err, -EINVAL, "vxlan_table: unexpected key layout");
	else
		return e;
	return NULL;
}

static int phase_raw(struct ipdk_port *port, uint64_t n, struct phase *ph,
		     struct ipdk_err *err)
{
	struct ipdk_dpdk_pipeline *pl = NULL;
	struct rte_swx_ctl_pipeline *ctl;
	struct rte_swx_table_entry *e = NULL;
	char spec[PATH_MAX];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "bench_raw",
		.spec_path = spec,
		.ports = &port,
		.n_ports = 1,
		.numa_node = -1,
	};
	double t0, c0;
	int rc;

	snprintf(spec, sizeof(spec), "%s/vxlan.spec", bench_examples_dir());
	rc = ipdk_dpdk_pipeline_build(&cfg, &pl, err);
	if (rc)
		return rc;
	ctl = ipdk_dpdk_pipeline_ctl(pl);
	e = raw_entry(ctl, err);
	if (!e) {
		rc = err->code;
		goto out;
	}
	t0 = bench_now();
	c0 = bench_cpu_now();
	for (ph->n = 0; !rc && ph->n < n; ph->n++) {
		uint64_t mac = 0xaa0000000000ull + ph->n;

		for (int k = 0; k < 6; k++)
			e->key[k] = mac >> (8 * (5 - k));
		rc = rte_swx_ctl_pipeline_table_entry_add(ctl, "vxlan_table", e);
		if (!rc && ((ph->n + 1) % opt.batch == 0 || ph->n + 1 == n))
			rc = rte_swx_ctl_pipeline_commit(ctl, 1);
	}
	ph->secs = bench_now() - t0;
	ph->cpu = bench_cpu_now() - c0;
	if (rc)
		ipdk_err_set(err, rc, "vxlan_table: raw write %" PRIu64 " failed: %s", ph->n,
			     strerror(-rc));
out:
	if (e) {
		free(e->key);
		free(e->key_mask);
		free(e->action_data);
		free(e);
	}
	ipdk_dpdk_pipeline_free(pl);
	return rc;
}

static int setup(struct ipdk_port **port, struct ipdk_dpdk_pipeline **pl, struct tdi_dev **dev,
		 struct ipdk_err *err)
{
	char spec[PATH_MAX];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = "bench_tdi",
		.spec_path = spec,
		.ports = port,
		.n_ports = 1,
		.numa_node = -1,
	};
	int rc;

	snprintf(spec, sizeof(spec), "%s/vxlan.spec", bench_examples_dir());
	rc = ipdk_dpdk_pipeline_build(&cfg, pl, err);
	if (!rc)
		rc = tdi_dev_open(&ipdk_dpdk_tdi_ops, ipdk_dpdk_tdi_ctx(*pl), dev, err);
	return rc;
}

static void report(const struct phase *single, const struct batched *b, double clear_s,
		   uint64_t cleared, const struct phase *raw)
{
	double r1 = single->n / single->secs, r1c = single->n / single->cpu;
	double rh = b->head.n ? b->head.n / b->head.secs : 0;
	double rhc = b->head.n ? b->head.n / b->head.cpu : 0;

	printf("TDI table write rate, vxlan_table (exact 48-bit key, 22 action parameters), %s\n",
	       opt.no_runner ? "no pipeline thread" : "pipeline running on a thread (idle)");
	printf("  one commit per entry: %8" PRIu64 " entries in %7.2f s: %9.0f entries/s "
	       "(%9.0f per CPU s)\n", single->n, single->secs, r1, r1c);
	printf("  table clear:          %8" PRIu64 " entries in %7.2f s\n", cleared, clear_s);
	printf("  batched, %" PRIu64 " per commit, target %" PRIu64 ":\n", opt.batch,
	       opt.n_batched);
	printf("    reached %8" PRIu64 " entries in %7.2f s: %9.0f entries/s (%9.0f per CPU s)%s\n",
	       b->all.n, b->all.secs, b->all.n / b->all.secs, b->all.n / b->all.cpu,
	       b->all.n < opt.n_batched ? "  [time budget hit]" : "");
	if (b->head.n)
		printf("    first %8" PRIu64 " entries in %7.2f s: %9.0f entries/s (%9.0f per CPU s)\n",
		       b->head.n, b->head.secs, rh, rhc);
	printf("    first batch %9.0f entries/s, last batch %9.0f entries/s\n", b->first_rate,
	       b->last_rate);
	if (b->head.n && single->n == b->head.n)
		printf("  batched/one-commit over the same %" PRIu64 " entries: %.1fx "
		       "(per CPU s: %.1fx)\n", b->head.n, rh / r1, rhc / r1c);
	if (b->head.n && raw->n == b->head.n)
		printf("  same %" PRIu64 " entries, same batches, through DPDK's rte_swx_ctl: "
		       "%9.0f entries/s (%9.0f per CPU s); TDI/rte_swx_ctl: %.2f (per CPU s: %.2f)\n",
		       raw->n, raw->n / raw->secs, raw->n / raw->cpu, rh / (raw->n / raw->secs),
		       rhc / (raw->n / raw->cpu));
	fflush(stdout);
}

/* A second thread, unpinned, runs the pipeline the way infrap4d does. */
static int runner_start(struct ipdk_dpdk_pipeline *pl, struct ipdk_dpdk_runner **r,
			struct ipdk_err *err)
{
	struct ipdk_dpdk_runner_cfg cfg = { .n_threads = 1 };
	int rc;

	cfg.cpus[0] = -1;
	rc = ipdk_dpdk_runner_start(&cfg, r, err);
	if (!rc)
		rc = ipdk_dpdk_runner_add(*r, 0, pl, err);
	return rc;
}

static int parse_args(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "n:b:m:T:t:R")) != -1) {
		switch (ch) {
		case 'n': opt.n_batched = strtoull(optarg, NULL, 0); break;
		case 'b': opt.batch = strtoull(optarg, NULL, 0); break;
		case 'm': opt.n_single = strtoull(optarg, NULL, 0); break;
		case 'T': opt.budget_batched = atof(optarg); break;
		case 't': opt.budget_single = atof(optarg); break;
		case 'R': opt.no_runner = true; break;
		default: return -1;
		}
	}
	return opt.n_batched && opt.batch && opt.n_single ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct tdi_entry e;
	const struct tdi_table_info *t = NULL;
	const struct tdi_action_info *a = NULL;
	struct ipdk_dpdk_pipeline *pl = NULL;
	struct ipdk_port *port = NULL;
	struct tdi_dev *dev = NULL;
	struct ipdk_dpdk_runner *runner = NULL;
	struct ipdk_err err = { 0 };
	struct ipdk_port_cfg pc = { .type = IPDK_PORT_RING, .name = "tdi0" };
	struct phase single = { 0 }, raw = { 0 };
	struct batched b;
	uint64_t cleared = 0;
	double t0, clear_s = 0;
	int rc;

	if (parse_args(argc, argv)) {
		fprintf(stderr, "usage: %s [-n batched] [-b batch] [-m one-commit] "
			"[-T batched budget s] [-t one-commit budget s] [-R]\n", argv[0]);
		return 2;
	}
	rc = bench_env_init(2048, &err);
	if (!rc)
		rc = ipdk_port_create(&pc, &port, &err);
	if (!rc)
		rc = setup(&port, &pl, &dev, &err);
	if (!rc) {
		t = tdi_table_find(dev, "vxlan_table");
		a = tdi_action_find(dev, "vxlan_encap");
		if (!t || !a)
			rc = ipdk_err_set(&err, -ENOENT, "vxlan_table or vxlan_encap not found");
	}
	if (!rc && !opt.no_runner)
		rc = runner_start(pl, &runner, &err);
	if (!rc) {
		e.table_id = t->id;
		e.action_id = a->id;
		rc = phase_single(dev, &e, a, 0, &single, &err);
	}
	if (!rc) {
		cleared = tdi_entry_count(dev, t->id);
		t0 = bench_now();
		rc = tdi_table_clear(dev, t->id, &err);
		clear_s = bench_now() - t0;
	}
	/* After the one-commit phase, so that both it and the batched phase
	 * find the process heap as warm as this one does. */
	if (!rc)
		rc = phase_raw(port, single.n, &raw, &err);
	if (!rc)
		rc = phase_batched(dev, &e, a, single.n, &b, &err);
	if (!rc && tdi_entry_count(dev, t->id) != b.all.n)
		rc = ipdk_err_set(&err, -EIO, "table holds %" PRIu64 " entries, expected %" PRIu64,
				  tdi_entry_count(dev, t->id), b.all.n);
	if (rc)
		fprintf(stderr, "bench_tdi: %s\n", err.msg);
	else
		report(&single, &b, clear_s, cleared, &raw);
	if (runner) {
		ipdk_dpdk_runner_remove(runner, pl);
		ipdk_dpdk_runner_stop(runner);
	}
	if (dev)
		tdi_dev_close(dev);
	ipdk_dpdk_pipeline_free(pl);
	if (port)
		ipdk_port_destroy(port);
	bench_env_fini();
	return rc ? 1 : 0;
}
