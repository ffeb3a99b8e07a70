/*
 * What other parts of the DPDK target tell a pipeline: the round counter of
 * the thread running it, which ipdk_dpdk_pipeline_quiesce() watches, and that
 * the TDI target's table state took over from the pipeline's own.
 */
#ifndef IPDK_PIPELINE_PRIV_H
#define IPDK_PIPELINE_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

struct ipdk_dpdk_pipeline;

/* Sets (NULL: clears) the round counter of the thread that runs pl. */
void ipdk_dpdk_pipeline_set_rounds(struct ipdk_dpdk_pipeline *pl, const _Atomic uint64_t *rounds);

/* Records that pl's table state is now one the TDI target made (swx_state.c),
 * whose objects DPDK's control handle does not share. */
void ipdk_dpdk_pipeline_state_adopted(struct ipdk_dpdk_pipeline *pl);

#endif
