/*
 * Our own management of an SWX pipeline's table state, private to
 * lib/target-dpdk. DPDK's control library (rte_swx_ctl) searches its entry
 * lists linearly on every write, which makes large tables unusable; this
 * module replaces it for every state change and costs O(1) per entry.
 *
 * It keeps two table-state arrays in DPDK's layout (match tables, then
 * selectors, then learners), each with its own table objects: the active one
 * the data path reads and a shadow. A batch of staged changes is applied to the
 * shadow (incrementally where the table type allows it; tables without
 * incremental updates, such as wildcard and LPM ones, are rebuilt once from the
 * entries kept here and the new object is shared by both arrays), the shadow is
 * made active with rte_swx_pipeline_table_state_set(), and once the packets in
 * flight have left the pipeline the same changes are replayed on the now
 * inactive array so both match again. A batch that fails leaves the active
 * state untouched and the shadow repaired.
 *
 * Learner tables are shared by both arrays (the data path writes them); only
 * their default entries are double-buffered.
 *
 * After swx_state_create() the pipeline's rte_swx_ctl handle must never commit
 * again: it still believes it owns the state it had.
 */
#ifndef IPDK_SWX_STATE_H
#define IPDK_SWX_STATE_H

#include <stdint.h>

#include <rte_swx_table.h>

#include "ipdk/err.h"

struct ipdk_dpdk_pipeline;
struct rte_swx_table_state;
struct swx_state;

/* Takes the table state of built pipeline pl over: makes the two arrays (with
 * empty tables and the pipeline's current default entries), activates one and
 * frees what the pipeline no longer uses. */
int swx_state_create(struct ipdk_dpdk_pipeline *pl, struct swx_state **out,
		     struct ipdk_err *err);

/* Drops the open batch and frees the shadow; the active array stays with the
 * pipeline, which frees it (the data path keeps the last committed state). */
void swx_state_free(struct swx_state *s);

/* Key and action data sizes (bytes) of match table or learner idx, as the
 * table objects take them. */
uint32_t swx_state_key_size(const struct swx_state *s, uint32_t idx);
uint32_t swx_state_data_size(const struct swx_state *s, uint32_t idx);

/* Stages an add (or the replacement of the action of an existing key) or a
 * delete in match table idx. e->key and, for tables that are not all-exact,
 * e->key_mask hold key_size bytes; e->action_data holds data_size bytes.
 * Priorities take part in the identity of an entry. */
int swx_state_entry_add(struct swx_state *s, uint32_t idx, const struct rte_swx_table_entry *e,
			struct ipdk_err *err);
int swx_state_entry_delete(struct swx_state *s, uint32_t idx,
			   const struct rte_swx_table_entry *e, struct ipdk_err *err);

/* Stages the default entry of match table or learner idx (data: data_size bytes). */
int swx_state_default_set(struct swx_state *s, uint32_t idx, uint32_t action_id,
			  const uint8_t *data, struct ipdk_err *err);

/* Reads the default entry of idx as the data path uses it now. */
void swx_state_default_get(const struct swx_state *s, uint32_t idx, uint32_t *action_id,
			   const uint8_t **data);

/* Selector idx (its state index): empties a group (add or delete), sets a
 * member's weight (0 removes the member). */
int swx_state_group_clear(struct swx_state *s, uint32_t idx, uint32_t group,
			  struct ipdk_err *err);
int swx_state_member_set(struct swx_state *s, uint32_t idx, uint32_t group, uint32_t member,
			 uint32_t weight, struct ipdk_err *err);

/* Applies the staged changes to the data path; on failure nothing changes and
 * the batch is dropped. */
int swx_state_commit(struct swx_state *s, struct ipdk_err *err);

/* Drops the staged changes. */
void swx_state_abort(struct swx_state *s);

/* The active array (tests and read-only lookups). */
struct rte_swx_table_state *swx_state_active(const struct swx_state *s);

#endif
