/*
 * What the DPDK TDI target shows its own tests, private to lib/target-dpdk and
 * tests/unit: the SWX entry it builds for a TDI entry, so that the layout can be
 * checked byte for byte against DPDK's own entry parser.
 */
#ifndef IPDK_TDI_DPDK_PRIV_H
#define IPDK_TDI_DPDK_PRIV_H

#include <stdint.h>

#include <rte_swx_table.h>

#include "ipdk/err.h"
#include "ipdk/tdi.h"

/* Builds the SWX entry of match entry e (its buffers belong to ctx and are
 * reused by the next write) and returns the table's key size and the action's
 * data size in bytes. ctx is the context given to tdi_dev_open(). */
int ipdk_dpdk_tdi_entry_layout(void *ctx, const struct tdi_entry *e,
			       struct rte_swx_table_entry *out, uint32_t *key_size,
			       uint32_t *data_size, struct ipdk_err *err);

#endif
