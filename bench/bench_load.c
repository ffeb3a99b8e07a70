/*
 * Pipeline load time: how long it takes from a spec file to a pipeline that
 * can run and be programmed, on our path (our spec loader, then
 * rte_swx_pipeline_build, then the control handle: ipdk_dpdk_pipeline_build)
 * and on DPDK's code-generation path (rte_swx_pipeline_codegen, gcc -O3 into
 * a shared object, rte_swx_pipeline_build_from_lib, then the control handle).
 * Both attach the same four ring ports. Builds alternate between the paths;
 * medians are printed per step.
 *
 * Usage: bench_load [-r repetitions] [spec file] (default: DPDK's vxlan.spec)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "bench.h"

#define N_PORTS 4
#define MAX_REPS 32

static int ports_make(struct ipdk_port **ports, struct ipdk_err *err)
{
	for (unsigned int i = 0; i < N_PORTS; i++) {
		struct ipdk_port_cfg cfg = { .type = IPDK_PORT_RING };
		int rc;

		snprintf(cfg.name, sizeof(cfg.name), "load%u", i);
		rc = ipdk_port_create(&cfg, &ports[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

static int load_ours(const char *spec, struct ipdk_port **ports, unsigned int i,
		     double *secs, struct ipdk_err *err)
{
	struct ipdk_dpdk_pipeline *pl;
	char name[32];
	struct ipdk_dpdk_pipeline_cfg cfg = {
		.name = name,
		.spec_path = spec,
		.ports = ports,
		.n_ports = N_PORTS,
		.numa_node = -1,
	};
	double t0;
	int rc;

	snprintf(name, sizeof(name), "ours%u", i);
	t0 = bench_now();
	rc = ipdk_dpdk_pipeline_build(&cfg, &pl, err);
	*secs = bench_now() - t0;
	if (!rc)
		ipdk_dpdk_pipeline_free(pl);
	return rc;
}

/* Our spec loader alone: parse and configure a fresh pipeline, no build. */
static int load_spec_only(const char *spec, unsigned int i, double *secs,
			  struct ipdk_err *err)
{
	struct rte_swx_pipeline *p = NULL;
	char name[32];
	double t0;
	int rc;

	snprintf(name, sizeof(name), "spec%u", i);
	rc = rte_swx_pipeline_config(&p, name, 0);
	if (rc)
		return ipdk_err_set(err, rc, "pipeline %s: %s", name, strerror(-rc));
	t0 = bench_now();
	rc = ipdk_dpdk_spec_load_file(p, spec, err);
	*secs = bench_now() - t0;
	rte_swx_pipeline_free(p);
	return rc;
}

static int load_codegen(struct bench_codegen *cg, const char *spec, const char *iospec,
			unsigned int i, struct bench_codegen_times *t, struct ipdk_err *err)
{
	struct rte_swx_ctl_pipeline *ctl;
	struct rte_swx_pipeline *p;
	char name[32];
	double t0;
	int rc;

	snprintf(name, sizeof(name), "cg%u", i);
	rc = bench_codegen_build(cg, name, spec, iospec, &p, t, err);
	if (rc)
		return rc;
	t0 = bench_now();
	ctl = rte_swx_ctl_pipeline_create(p);
	t->build_s += bench_now() - t0;
	if (!ctl)
		rc = ipdk_err_set(err, -ENOMEM, "pipeline %s: no control handle", name);
	else
		rte_swx_ctl_pipeline_free(ctl);
	rte_swx_pipeline_free(p);
	return rc;
}

int main(int argc, char **argv)
{
	double ours[MAX_REPS], parse[MAX_REPS], gen[MAX_REPS], cc[MAX_REPS], bld[MAX_REPS], tot[MAX_REPS];
	struct ipdk_port *ports[N_PORTS] = { 0 };
	struct bench_codegen cg = { 0 };
	struct ipdk_err err = { 0 };
	char spec_buf[PATH_MAX], iospec[2048];
	unsigned int reps = 5;
	const char *spec;
	bool have_cg;
	int ch, rc;

	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch != 'r' || (reps = atoi(optarg)) < 1 || reps > MAX_REPS) {
			fprintf(stderr, "usage: %s [-r repetitions (1-%d)] [spec]\n", argv[0],
				MAX_REPS);
			return 2;
		}
	}
	snprintf(spec_buf, sizeof(spec_buf), "%s/vxlan.spec", bench_examples_dir());
	spec = optind < argc ? argv[optind] : spec_buf;

	rc = bench_env_init(1024, &err);
	if (!rc)
		rc = ports_make(ports, &err);
	if (!rc)
		rc = bench_iospec_rings(ports, N_PORTS, iospec, sizeof(iospec), &err);
	if (rc) {
		fprintf(stderr, "bench_load: %s\n", err.msg);
		return 1;
	}
	have_cg = !bench_codegen_init(&cg, NULL, &err);
	if (!have_cg)
		printf("note: codegen path skipped: %s\n", err.msg);

	for (unsigned int i = 0; !rc && i < reps; i++) {
		struct bench_codegen_times t = { 0 };

		rc = load_ours(spec, ports, i, &ours[i], &err);
		if (!rc)
			rc = load_spec_only(spec, i, &parse[i], &err);
		if (!rc && have_cg) {
			rc = load_codegen(&cg, spec, iospec, i, &t, &err);
			gen[i] = t.codegen_s;
			cc[i] = t.cc_s;
			bld[i] = t.build_s;
			tot[i] = t.codegen_s + t.cc_s + t.build_s;
		}
	}
	if (rc) {
		fprintf(stderr, "bench_load: %s\n", err.msg);
	} else {
		double o = bench_median(ours, reps);

		printf("Pipeline load time for %s, 4 ring ports, median of %u (wall clock)\n",
		       spec, reps);
		printf("  ours (spec loader + rte_swx_pipeline_build + ctl): %9.1f ms\n", o * 1e3);
		printf("    of which the spec loader alone (no build):       %9.1f ms\n",
		       bench_median(parse, reps) * 1e3);
		if (have_cg) {
			double g = bench_median(gen, reps), c = bench_median(cc, reps);
			double b = bench_median(bld, reps), t = bench_median(tot, reps);

			printf("  codegen path total:                                %9.1f ms\n",
			       t * 1e3);
			printf("    rte_swx_pipeline_codegen:                        %9.1f ms\n",
			       g * 1e3);
			printf("    gcc -O3 -fPIC -shared:                           %9.1f ms\n",
			       c * 1e3);
			printf("    build_from_lib + ctl:                            %9.1f ms\n",
			       b * 1e3);
			printf("  codegen/ours: %.1fx\n", t / o);
		}
	}
	bench_codegen_fini(&cg);
	for (unsigned int i = 0; i < N_PORTS; i++)
		if (ports[i])
			ipdk_port_destroy(ports[i]);
	bench_env_fini();
	return rc ? 1 : 0;
}
