/*
 * What the pipeline threads tell a pipeline about themselves: the round
 * counter of the thread running it, which ipdk_dpdk_pipeline_quiesce() watches.
 */
#ifndef IPDK_PIPELINE_PRIV_H
#define IPDK_PIPELINE_PRIV_H

#include <stdatomic.h>
#include <stdint.h>

struct ipdk_dpdk_pipeline;

/* Sets (NULL: clears) the round counter of the thread that runs pl. */
void ipdk_dpdk_pipeline_set_rounds(struct ipdk_dpdk_pipeline *pl, const _Atomic uint64_t *rounds);

#endif
