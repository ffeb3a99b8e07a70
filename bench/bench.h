/*
 * What the benchmarks share: a monotonic clock, DPDK start-up, medians, the
 * 64-byte test frames, loading DPDK's example table files through the SWX
 * control API, and DPDK's code-generation path (spec -> C -> gcc -> shared
 * object -> rte_swx_pipeline_build_from_lib), which is the baseline other
 * P4-DPDK stacks use and which our interpreted loader is compared against.
 *
 * Benchmarks print figures and ratios against a baseline measured in the same
 * run; they are never part of the test suite.
 */
#ifndef IPDK_BENCH_H
#define IPDK_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipdk/err.h"
#include "ipdk/target_dpdk.h"

struct rte_swx_pipeline;
struct rte_swx_ctl_pipeline;

#define BENCH_PKT_LEN 64

/* Seconds on the monotonic clock. */
double bench_now(void);

/* CPU seconds the calling thread has used: on a shared machine the rate per
 * CPU second is steadier than the rate per wall-clock second, because time
 * the scheduler gives to other processes does not count against us. */
double bench_cpu_now(void);

/* Starts DPDK (no hugepages) with mem_mb of memory and quiet logs. */
int bench_env_init(unsigned int mem_mb, struct ipdk_err *err);

/* Stops DPDK (ipdk_dpdk_env_fini also removes EAL's runtime directory). */
void bench_env_fini(void);

/* Median of v[0..n-1] (sorts v). */
double bench_median(double *v, unsigned int n);

/* Where DPDK's example specs and table files live ($IPDK_DPDK_EXAMPLES or the
 * Debian path). */
const char *bench_examples_dir(void);

/* Writes a 64-byte Ethernet/IPv4/UDP frame (valid IPv4 checksum). */
void bench_udp_frame(uint8_t frame[BENCH_PKT_LEN], uint64_t eth_dst, uint32_t ip_src,
		     uint32_t ip_dst);

/* Adds every entry of a DPDK table file ("match ... action ...") to table. */
int bench_table_file(struct rte_swx_ctl_pipeline *ctl, const char *table,
		     const char *path, struct ipdk_err *err);

/* Creates n_groups groups in selector, then adds the members listed in a DPDK
 * selector file ("group G member M weight W"). */
int bench_selector_file(struct rte_swx_ctl_pipeline *ctl, const char *selector,
			uint32_t n_groups, const char *path, struct ipdk_err *err);

/* ---- DPDK's code-generation path ---------------------------------------- */

struct bench_codegen {
	char cflags[2048];           /* pkg-config --cflags libdpdk */
	char internal_inc[PATH_MAX]; /* holds rte_swx_pipeline_internal.h */
	char workdir[PATH_MAX];      /* generated C, objects, logs */
	unsigned int seq;            /* makes every library file name unique */
};

struct bench_codegen_times {
	double codegen_s;  /* rte_swx_pipeline_codegen */
	double cc_s;       /* gcc -O3 -fPIC -shared */
	double build_s;    /* rte_swx_pipeline_build_from_lib + control handle */
};

/* Prepares the path: internal_inc is the directory holding DPDK's internal
 * pipeline headers (NULL: $IPDK_BENCH_DPDK_INTERNAL); -ENOENT when absent. */
int bench_codegen_init(struct bench_codegen *cg, const char *internal_inc,
		       struct ipdk_err *err);

/* Removes the work directory and what it holds. */
void bench_codegen_fini(struct bench_codegen *cg);

/* Writes an I/O spec that connects ring ports[i] as port i in both directions
 * and adds a sink as the last output (the drop port). */
int bench_iospec_rings(struct ipdk_port **ports, uint32_t n_ports, char *buf, size_t size,
		       struct ipdk_err *err);

/* Builds pipeline name from spec_path through code generation; t (may be
 * NULL) receives the time of each step. */
int bench_codegen_build(struct bench_codegen *cg, const char *name, const char *spec_path,
			const char *iospec, struct rte_swx_pipeline **out,
			struct bench_codegen_times *t, struct ipdk_err *err);

#endif
