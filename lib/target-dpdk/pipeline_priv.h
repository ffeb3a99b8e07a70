/*
 * What other parts of the DPDK target tell a pipeline: the round counter of
 * the thread running it, which ipdk_dpdk_pipeline_quiesce() watches, and that
 * the TDI target's table state took over from the pipeline's own.
 */
#ifndef IPDK_PIPELINE_PRIV_H
#define IPDK_PIPELINE_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ipdk_dpdk_pipeline;

/* Sets (NULL: clears) the round counter of the thread that runs pl. */
void ipdk_dpdk_pipeline_set_rounds(struct ipdk_dpdk_pipeline *pl, const _Atomic uint64_t *rounds);

/* What a run of a pipeline found. */
enum ipdk_dpdk_run {
	IPDK_DPDK_RUN_IDLE,       /* every instruction polled an input, none got a packet */
	IPDK_DPDK_RUN_BUSY,       /* packets arrived or were in flight (or not asked) */
	IPDK_DPDK_RUN_QUIESCING,  /* a quiescer waits: keep running pl at full speed */
};

/* Runs quantum instructions of pl (the pipeline threads' only way to run it)
 * and does the bookkeeping ipdk_dpdk_pipeline_quiesce() waits on; tells IDLE
 * from BUSY only when want_idle (it costs a look at every input's counters).
 * With fewer than 16 instructions (SWX's packet contexts) an IDLE run may
 * have missed a packet in flight, which a later run finds. */
enum ipdk_dpdk_run ipdk_dpdk_pipeline_run(struct ipdk_dpdk_pipeline *pl, uint32_t quantum,
					  bool want_idle);

/* Records that pl's table state is now one the TDI target made (swx_state.c),
 * whose objects DPDK's control handle does not share. */
void ipdk_dpdk_pipeline_state_adopted(struct ipdk_dpdk_pipeline *pl);

#endif
