/*
 * The library baseline for bench_gnmi.py's port figures: the same 16 VHOST and
 * 32 TAP ports that the gNMI benchmark creates through infrap4d, made here with
 * direct library calls (ipdk_port_create, then ipdk_dpdk_pipeline_port_set into
 * a free slot of a pipeline a thread is running, as infrap4d's gNMI side does)
 * and removed again. What gNMI adds on top (gRPC, the model's planning and
 * checks, one dataplane lock per port) is the difference.
 *
 * bench_gnmi_ports SPEC DIR [reps]: SPEC is the pipeline (infrap4d's default
 * p4src/specs/l2l3.spec), DIR a directory for the vhost-user sockets. Prints
 * "create MS delete MS" medians in milliseconds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "ipdk/target_dpdk.h"

#define N_VHOST 16
#define N_TAP 32
#define N_PORTS (N_VHOST + N_TAP)
#define SLOTS 64

static void port_cfg(struct ipdk_port_cfg *c, int i, const char *dir)
{
	*c = (struct ipdk_port_cfg){ 0 };
	if (i < N_VHOST) {
		c->type = IPDK_PORT_VHOST;
		snprintf(c->name, sizeof(c->name), "vh%d", i);
		snprintf(c->path, sizeof(c->path), "%s/lib-vh%d.sock", dir, i);
	} else {
		c->type = IPDK_PORT_TAP;
		snprintf(c->name, sizeof(c->name), "bgl%d", i - N_VHOST);
		snprintf(c->netdev, sizeof(c->netdev), "bgl%d", i - N_VHOST);
		c->mtu = 1500;
	}
}

static int one_round(struct ipdk_dpdk_pipeline *pl, const char *dir, double *t_create,
		     double *t_delete, struct ipdk_err *err)
{
	struct ipdk_port *ports[N_PORTS];
	struct ipdk_port_cfg c;
	double t0 = bench_now();
	int rc;

	for (int i = 0; i < N_PORTS; i++) {
		port_cfg(&c, i, dir);
		rc = ipdk_port_create(&c, &ports[i], err);
		if (!rc)
			rc = ipdk_dpdk_pipeline_port_set(pl, (uint32_t)i, ports[i], err);
		if (rc)
			return rc;
	}
	*t_create = bench_now() - t0;
	t0 = bench_now();
	for (int i = 0; i < N_PORTS; i++) {
		rc = ipdk_dpdk_pipeline_port_set(pl, (uint32_t)i, NULL, err);
		if (rc)
			return rc;
		ipdk_port_destroy(ports[i]);
	}
	*t_delete = bench_now() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	struct ipdk_dpdk_runner_cfg rcfg = { .n_threads = 1, .cpus = { -1 } };
	static struct ipdk_port *slots[SLOTS];     /* all empty */
	struct ipdk_dpdk_pipeline_cfg pcfg = { .name = "bench", .ports = slots, .n_ports = SLOTS };
	struct ipdk_dpdk_pipeline *pl = NULL;
	struct ipdk_dpdk_runner *r = NULL;
	double tc[64], td[64];
	struct ipdk_err err;
	int reps, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_gnmi_ports SPEC DIR [reps]\n");
		return 2;
	}
	reps = argc > 3 ? atoi(argv[3]) : 7;
	if (reps < 1 || reps > 64)
		reps = 7;
	pcfg.spec_path = argv[1];
	rc = bench_env_init(512, &err);
	if (!rc)
		rc = ipdk_dpdk_pipeline_build(&pcfg, &pl, &err);
	if (!rc)
		rc = ipdk_dpdk_runner_start(&rcfg, &r, &err);
	if (!rc)
		rc = ipdk_dpdk_runner_add(r, 0, pl, &err);
	for (int i = 0; i < reps && !rc; i++)
		rc = one_round(pl, argv[2], &tc[i], &td[i], &err);
	if (rc) {
		fprintf(stderr, "bench_gnmi_ports: %s\n", err.msg);
		return 1;
	}
	printf("create %.2f delete %.2f\n", bench_median(tc, (unsigned int)reps) * 1000,
	       bench_median(td, (unsigned int)reps) * 1000);
	ipdk_dpdk_runner_remove(r, pl);
	ipdk_dpdk_runner_stop(r);
	ipdk_dpdk_pipeline_free(pl);
	bench_env_fini();
	return 0;
}
