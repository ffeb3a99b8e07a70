/*
 * The DPDK environment of a process: EAL initialisation with the options that
 * suit a plain Linux host (no hugepages, no PCI scan, in-memory, a unique file
 * prefix so several daemons and tests can run side by side) and the one packet
 * buffer pool that every port and pipeline shares. EAL's pinning of the main
 * thread to one CPU is undone, so the rest of the process is not held to it.
 */
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"

#define ENV_MBUF_SIZE (RTE_PKTMBUF_HEADROOM + 9216)

static bool env_ready;
static struct rte_mempool *env_pool;
static char env_runtime_dir[PATH_MAX];

int ipdk_dpdk_env_init(const struct ipdk_dpdk_env_cfg *cfg, struct ipdk_err *err)
{
	static const struct ipdk_dpdk_env_cfg defaults = { 0 };
	char prefix[64], mem[32], level[64];
	char *argv[16];
	int argc = 0;
	unsigned int n_mbufs;
	cpu_set_t cpus;
	bool have_cpus;

	if (env_ready)
		return 0;
	if (!cfg)
		cfg = &defaults;

	if (cfg->file_prefix)
		snprintf(prefix, sizeof(prefix), "--file-prefix=%s", cfg->file_prefix);
	else
		snprintf(prefix, sizeof(prefix), "--file-prefix=ipdk-%d", (int)getpid());
	snprintf(mem, sizeof(mem), "-m%u", cfg->mem_mb ? cfg->mem_mb : 512);
	snprintf(level, sizeof(level), "--log-level=%s",
		 cfg->log_level ? cfg->log_level : "error");

	argv[argc++] = "ipdk";
	argv[argc++] = "-l0";
	argv[argc++] = "--no-pci";
	if (cfg->hugepages)
		argv[argc++] = "--in-memory";
	else
		argv[argc++] = "--no-huge";
	argv[argc++] = mem;
	argv[argc++] = prefix;
	argv[argc++] = level;
	argv[argc++] = "--no-telemetry";
	argv[argc] = NULL;

	/* rte_eal_init() reorders argv and may keep pointers: hand it a copy
	 * that lives as long as the process. */
	static char *argv_keep[16];
	memcpy(argv_keep, argv, sizeof(argv));
	have_cpus = !sched_getaffinity(0, sizeof(cpus), &cpus);
	if (rte_eal_init(argc, argv_keep) < 0)
		return ipdk_err_set(err, -rte_errno ? -rte_errno : -EINVAL,
				    "DPDK initialisation failed: %s%s", rte_strerror(rte_errno),
				    cfg->hugepages ? " (are hugepages configured?)" : "");
	/* EAL pins the calling thread to lcore 0's CPU, and every thread started
	 * after (gRPC workers, the control socket, pipeline threads not pinned
	 * by the configuration) would inherit that one CPU. The thread gets
	 * back the CPUs it had; it keeps lcore id 0. Threads without an lcore id
	 * only use DPDK calls that take none (no mempool cache, multi-producer
	 * rings); pipeline threads register for one (runner.c). */
	if (have_cpus && sched_setaffinity(0, sizeof(cpus), &cpus))
		IPDK_LOG_WARN("cannot give the main thread its CPUs back after DPDK "
			      "initialisation: %s", strerror(errno));

	n_mbufs = cfg->n_mbufs ? cfg->n_mbufs : 16384;
	env_pool = rte_pktmbuf_pool_create("ipdk_pool", n_mbufs, 256, 0, ENV_MBUF_SIZE,
					   SOCKET_ID_ANY);
	if (!env_pool) {
		int rc = -rte_errno;

		rte_eal_cleanup();
		return ipdk_err_set(err, rc ? rc : -ENOMEM,
				    "cannot create a pool of %u packet buffers: %s", n_mbufs,
				    rte_strerror(rte_errno));
	}
	snprintf(env_runtime_dir, sizeof(env_runtime_dir), "%s", rte_eal_get_runtime_dir());
	env_ready = true;
	IPDK_LOG_DEBUG("DPDK ready (%s, %u MiB, %u buffers)",
		       cfg->hugepages ? "hugepages" : "no hugepages",
		       cfg->mem_mb ? cfg->mem_mb : 512, n_mbufs);
	return 0;
}

bool ipdk_dpdk_env_ready(void)
{
	return env_ready;
}

struct rte_mempool *ipdk_dpdk_mempool(void)
{
	return env_pool;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

void ipdk_dpdk_env_fini(void)
{
	if (!env_ready)
		return;
	env_ready = false;
	rte_eal_cleanup();
	env_pool = NULL;
	/* Without hugepages EAL still keeps a runtime directory per file prefix;
	 * each process has its own prefix, so remove it rather than pile them up. */
	if (env_runtime_dir[0])
		nftw(env_runtime_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}
