/*
 * TDI, the Table Driven Interface: the one target-neutral C API through which
 * every control path (the local CLI, P4Runtime, krnlmon, tests) programs a
 * loaded pipeline. It owns the pipeline's schema (tables, keys, actions,
 * counters, meters, registers), validates every request against it before any
 * state changes, keeps the table contents (so get, iterate and duplicate
 * checks do not depend on the target), and batches writes: one target commit
 * per batch. Targets plug in through struct tdi_target_ops.
 *
 * Byte strings (key values, masks, action parameters) are big-endian and
 * right-aligned in TDI_VALUE_BYTES bytes: a 9-bit value 0x1ff is
 * {0, ..., 0x01, 0xff}.
 */
#ifndef IPDK_TDI_H
#define IPDK_TDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipdk/err.h"

#define TDI_NAME_MAX 128
#define TDI_VALUE_BYTES 16        /* widest key field or parameter: 128 bits */
#define TDI_MAX_KEY_FIELDS 32
#define TDI_MAX_PARAMS 64
#define TDI_MAX_TIMEOUTS 8

/* ---- Schema ------------------------------------------------------------- */

enum tdi_match_kind {
	TDI_MATCH_EXACT,
	TDI_MATCH_LPM,
	TDI_MATCH_TERNARY,
	TDI_MATCH_RANGE,
	TDI_MATCH_OPTIONAL,
};

enum tdi_table_kind {
	TDI_TABLE_MATCH,     /* match-action table */
	TDI_TABLE_SELECTOR,  /* action selector: groups of weighted members */
	TDI_TABLE_LEARNER,   /* learner: entries added by the data path, aged out */
};

struct tdi_key_field_info {
	char name[TDI_NAME_MAX];     /* e.g. "h.ethernet.dst_addr" or P4 name */
	enum tdi_match_kind match;
	uint32_t n_bits;
};

struct tdi_param_info {
	char name[TDI_NAME_MAX];
	uint32_t n_bits;
};

struct tdi_action_info {
	uint32_t id;                 /* index in tdi_schema.actions */
	char name[TDI_NAME_MAX];
	uint32_t n_params;
	struct tdi_param_info params[TDI_MAX_PARAMS];
};

struct tdi_table_info {
	uint32_t id;                 /* index in tdi_schema.tables */
	char name[TDI_NAME_MAX];
	enum tdi_table_kind kind;
	uint32_t n_keys;
	struct tdi_key_field_info keys[TDI_MAX_KEY_FIELDS];
	uint32_t n_actions;
	uint32_t *action_ids;        /* actions an entry may use */
	bool *action_default_only;   /* per action_ids[i]: only as default action */
	bool *action_table_only;     /* per action_ids[i]: never as default action */
	uint32_t default_action_id;
	bool default_const;          /* the default entry cannot be changed */
	uint64_t size;               /* maximum number of entries */
	/* selector tables */
	uint32_t n_groups_max, n_members_per_group_max;
	/* learner tables */
	uint32_t n_timeouts;
	uint32_t timeouts[TDI_MAX_TIMEOUTS];  /* seconds */
	uint32_t target_id;          /* the target's own index for this table */
};

enum tdi_counter_unit { TDI_COUNTER_PACKETS = 1, TDI_COUNTER_BYTES = 2, TDI_COUNTER_BOTH = 3 };

struct tdi_counter_info {
	uint32_t id;
	char name[TDI_NAME_MAX];
	enum tdi_counter_unit unit;
	uint64_t size;               /* indirect: number of cells */
	bool direct;                 /* one cell per entry of table_id */
	uint32_t table_id;
};

struct tdi_register_info {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint64_t size;
	uint32_t n_bits;
};

struct tdi_meter_info {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint64_t size;
	bool direct;
	uint32_t table_id;
};

struct tdi_schema {
	uint32_t n_tables, n_actions, n_counters, n_registers, n_meters;
	uint32_t n_ports;            /* ports a mirror session may name: 0 .. n_ports-1 */
	struct tdi_table_info *tables;
	struct tdi_action_info *actions;
	struct tdi_counter_info *counters;
	struct tdi_register_info *registers;
	struct tdi_meter_info *meters;
	/* mirror sessions (ids 0 .. n_mirror_sessions-1); 0: the target has none */
	uint32_t n_mirror_slots, n_mirror_sessions;
};

/* A mirror session: where a packet's mirror copy goes. */
struct tdi_mirror_session {
	uint32_t port_id;
	bool fast_clone;             /* the copy shares the packet (no truncation) */
	uint32_t truncation_length;  /* bytes of the copy kept; 0: all */
};

/* ---- Entries ------------------------------------------------------------ */

struct tdi_field_value {
	uint8_t value[TDI_VALUE_BYTES];  /* range: low bound */
	uint8_t mask[TDI_VALUE_BYTES];   /* ternary/optional; LPM and exact derive it */
	uint8_t high[TDI_VALUE_BYTES];   /* range: high bound */
	uint32_t prefix_len;             /* LPM */
};

struct tdi_entry {
	uint32_t table_id;
	struct tdi_field_value key[TDI_MAX_KEY_FIELDS];
	uint32_t priority;               /* ternary/range: larger wins (P4Runtime) */
	uint32_t action_id;
	uint8_t params[TDI_MAX_PARAMS][TDI_VALUE_BYTES];
	uint32_t timeout_id;             /* learner entries */
};

struct tdi_table_stats {
	uint64_t hit_packets, miss_packets;
	uint64_t action_packets[TDI_MAX_PARAMS]; /* per action_ids[] index, if known */
};

/* ---- Targets ------------------------------------------------------------ */

struct tdi_dev;

/* What a target provides. Writes are staged and take effect at commit. The
 * front end has validated every argument before it calls these. */
struct tdi_target_ops {
	const char *name;
	/* Fills the schema (arrays allocated with malloc; TDI frees them). */
	int (*schema_get)(void *ctx, struct tdi_schema *schema, struct ipdk_err *err);
	int (*entry_add)(void *ctx, const struct tdi_entry *e, struct ipdk_err *err);
	int (*entry_delete)(void *ctx, const struct tdi_entry *e, struct ipdk_err *err);
	int (*default_set)(void *ctx, const struct tdi_entry *e, struct ipdk_err *err);
	int (*commit)(void *ctx, struct ipdk_err *err);
	void (*abort)(void *ctx);
	int (*selector_group_add)(void *ctx, uint32_t table_id, uint32_t group_id,
				  struct ipdk_err *err);
	int (*selector_group_delete)(void *ctx, uint32_t table_id, uint32_t group_id,
				     struct ipdk_err *err);
	int (*selector_member_set)(void *ctx, uint32_t table_id, uint32_t group_id,
				   uint32_t member_id, uint32_t weight, struct ipdk_err *err);
	int (*selector_member_delete)(void *ctx, uint32_t table_id, uint32_t group_id,
				      uint32_t member_id, struct ipdk_err *err);
	int (*learner_timeout_set)(void *ctx, uint32_t table_id, uint32_t timeout_idx,
				   uint32_t seconds, struct ipdk_err *err);
	int (*table_stats)(void *ctx, uint32_t table_id, struct tdi_table_stats *st,
			   struct ipdk_err *err);
	int (*counter_read)(void *ctx, uint32_t counter_id, uint64_t index,
			    const struct tdi_entry *direct_entry, uint64_t *packets,
			    uint64_t *bytes, struct ipdk_err *err);
	int (*counter_write)(void *ctx, uint32_t counter_id, uint64_t index,
			     const struct tdi_entry *direct_entry, uint64_t packets,
			     uint64_t bytes, struct ipdk_err *err);
	int (*register_read)(void *ctx, uint32_t reg_id, uint64_t index, uint64_t *value,
			     struct ipdk_err *err);
	int (*register_write)(void *ctx, uint32_t reg_id, uint64_t index, uint64_t value,
			      struct ipdk_err *err);
	/* Meters: rates in bytes/s, bursts in bytes (two-rate three-color). */
	int (*meter_set)(void *ctx, uint32_t meter_id, uint64_t index,
			 const struct tdi_entry *direct_entry, uint64_t cir, uint64_t cbs,
			 uint64_t pir, uint64_t pbs, struct ipdk_err *err);
	int (*meter_reset)(void *ctx, uint32_t meter_id, uint64_t index,
			   const struct tdi_entry *direct_entry, struct ipdk_err *err);
	/* Per-color packet counts of a meter cell: green, yellow, red. */
	int (*meter_stats)(void *ctx, uint32_t meter_id, uint64_t index,
			   const struct tdi_entry *direct_entry, uint64_t pkts[3],
			   struct ipdk_err *err);
	void (*close)(void *ctx);
	/* Optional. Replaces the action of an existing entry (staged like the
	 * others); when NULL the front end uses entry_delete then entry_add. */
	int (*entry_modify)(void *ctx, const struct tdi_entry *e, struct ipdk_err *err);
	/* Optional. Reads a table's current default action into e (table_id set
	 * by the caller); when NULL the schema's default_action_id is used. */
	int (*default_get)(void *ctx, struct tdi_entry *e, struct ipdk_err *err);
	/* Optional. Sets mirror session id (s NULL: disables it, so mirror copies
	 * of it go nowhere) with effect at once; the front end calls it when the
	 * batch holding the change has committed. */
	int (*mirror_session_set)(void *ctx, uint32_t id, const struct tdi_mirror_session *s,
				  struct ipdk_err *err);
};

/* ---- Devices ------------------------------------------------------------ */

/* Opens a TDI device over a target instance; reads the schema from the target. */
int tdi_dev_open(const struct tdi_target_ops *ops, void *target_ctx,
		 struct tdi_dev **out, struct ipdk_err *err);

/* Closes the device (calls ops->close) and frees the schema and stored entries. */
void tdi_dev_close(struct tdi_dev *dev);

/* Returns the device's schema. */
const struct tdi_schema *tdi_dev_schema(const struct tdi_dev *dev);

/* Looks up objects by name; return NULL when absent. Table and action names
 * also match on their last dot-separated component when that is unique. */
const struct tdi_table_info *tdi_table_find(const struct tdi_dev *dev, const char *name);
const struct tdi_action_info *tdi_action_find(const struct tdi_dev *dev, const char *name);
const struct tdi_counter_info *tdi_counter_find(const struct tdi_dev *dev, const char *name);
const struct tdi_register_info *tdi_register_find(const struct tdi_dev *dev, const char *name);
const struct tdi_meter_info *tdi_meter_find(const struct tdi_dev *dev, const char *name);

/* ---- Writes (batched) --------------------------------------------------- */

/* Starts a batch: writes until tdi_batch_commit() take effect together. Without
 * a batch every write commits on its own. */
int tdi_batch_begin(struct tdi_dev *dev, struct ipdk_err *err);

/* Commits the batch; on failure nothing in it takes effect. */
int tdi_batch_commit(struct tdi_dev *dev, struct ipdk_err *err);

/* Drops the batch's writes. */
void tdi_batch_abort(struct tdi_dev *dev);

/* Adds an entry; -EEXIST if its key is present, -ENOSPC if the table is full. */
int tdi_entry_add(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err);

/* Replaces the action of an existing entry; -ENOENT if the key is absent. */
int tdi_entry_modify(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err);

/* Deletes the entry with e's key; -ENOENT if absent. */
int tdi_entry_delete(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err);

/* Sets a table's default action (e->key ignored); -EPERM if it is const. */
int tdi_default_set(struct tdi_dev *dev, const struct tdi_entry *e, struct ipdk_err *err);

/* Removes every entry of a table (or of all tables when table_id is UINT32_MAX). */
int tdi_table_clear(struct tdi_dev *dev, uint32_t table_id, struct ipdk_err *err);

/* ---- Reads -------------------------------------------------------------- */

/* Fills e's action from the stored entry with e's key; -ENOENT if absent. */
int tdi_entry_get(const struct tdi_dev *dev, struct tdi_entry *e, struct ipdk_err *err);

/* Reads the default entry of a table into e. */
int tdi_default_get(const struct tdi_dev *dev, uint32_t table_id, struct tdi_entry *e,
		    struct ipdk_err *err);

/* Calls cb for each committed entry of a table; stops early if cb returns
 * non-zero and returns that value. */
int tdi_entry_iterate(const struct tdi_dev *dev, uint32_t table_id,
		      int (*cb)(const struct tdi_entry *e, void *arg), void *arg);

/* Returns the number of committed entries in a table. */
uint64_t tdi_entry_count(const struct tdi_dev *dev, uint32_t table_id);

/* ---- Selectors, learners, externs, statistics --------------------------- */

int tdi_selector_group_add(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			   struct ipdk_err *err);
int tdi_selector_group_delete(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			      struct ipdk_err *err);
/* Adds a member to a group or changes its weight (weight >= 1). */
int tdi_selector_member_set(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			    uint32_t member_id, uint32_t weight, struct ipdk_err *err);
int tdi_selector_member_delete(struct tdi_dev *dev, uint32_t table_id, uint32_t group_id,
			       uint32_t member_id, struct ipdk_err *err);

int tdi_learner_timeout_set(struct tdi_dev *dev, uint32_t table_id, uint32_t timeout_idx,
			    uint32_t seconds, struct ipdk_err *err);

int tdi_table_stats(struct tdi_dev *dev, uint32_t table_id, struct tdi_table_stats *st,
		    struct ipdk_err *err);

/* Counters: index for indirect counters; direct counters use entry's key. */
int tdi_counter_read(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		     const struct tdi_entry *entry, uint64_t *packets, uint64_t *bytes,
		     struct ipdk_err *err);
/* Sets a counter cell to the given counts (takes effect at once, not at a
 * batch commit); -EINVAL for a non-zero count of a unit the counter lacks. */
int tdi_counter_write(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		      const struct tdi_entry *entry, uint64_t packets, uint64_t bytes,
		      struct ipdk_err *err);
/* Sets a counter cell to zero (tdi_counter_write() with 0, 0). */
int tdi_counter_reset(struct tdi_dev *dev, uint32_t counter_id, uint64_t index,
		      const struct tdi_entry *entry, struct ipdk_err *err);

int tdi_register_read(struct tdi_dev *dev, uint32_t reg_id, uint64_t index,
		      uint64_t *value, struct ipdk_err *err);
int tdi_register_write(struct tdi_dev *dev, uint32_t reg_id, uint64_t index,
		       uint64_t value, struct ipdk_err *err);

int tdi_meter_set(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		  const struct tdi_entry *entry, uint64_t cir, uint64_t cbs, uint64_t pir,
		  uint64_t pbs, struct ipdk_err *err);
int tdi_meter_reset(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		    const struct tdi_entry *entry, struct ipdk_err *err);
int tdi_meter_stats(struct tdi_dev *dev, uint32_t meter_id, uint64_t index,
		    const struct tdi_entry *entry, uint64_t pkts[3], struct ipdk_err *err);

/* ---- Mirror sessions ---------------------------------------------------- */

/* Sets mirror session session_id (staged like an entry: it takes effect when
 * the batch commits); -ERANGE for an unknown session or port, -ENOTSUP when
 * the target has no mirror sessions. A session nobody set copies nothing. */
int tdi_mirror_session_set(struct tdi_dev *dev, uint32_t session_id, uint32_t port_id,
			   bool fast_clone, uint32_t truncation_length, struct ipdk_err *err);

/* Disables a session that was set (staged); -ENOENT if it is not set. */
int tdi_mirror_session_delete(struct tdi_dev *dev, uint32_t session_id, struct ipdk_err *err);

/* Reads a session as the open batch (or, outside one, the device) sees it;
 * -ENOENT if it is not set. */
int tdi_mirror_session_get(const struct tdi_dev *dev, uint32_t session_id,
			   struct tdi_mirror_session *s, struct ipdk_err *err);

/* ---- Text form ---------------------------------------------------------- */

/* Parses "match K1 K2 ... [priority P] action NAME [PARAM VALUE]..." for the
 * table into e. Values: decimal, 0x-hex, dotted IPv4, colon MAC, IPv6; LPM
 * "V/LEN"; ternary "V/MASK" or "V&&&MASK" (or "*" for don't care); range "LO..HI". */
int tdi_entry_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		    const char *text, struct tdi_entry *e, struct ipdk_err *err);

/* Parses only the key part, "match K1 K2 ... [priority P]", into e (for
 * delete and get, which need no action). */
int tdi_key_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		  const char *text, struct tdi_entry *e, struct ipdk_err *err);

/* Parses "NAME [PARAM VALUE]..." (an action with its parameters) into e. */
int tdi_action_parse(const struct tdi_dev *dev, const struct tdi_table_info *t,
		     const char *text, struct tdi_entry *e, struct ipdk_err *err);

/* Formats e in the form tdi_entry_parse() reads; returns the length. */
int tdi_entry_format(const struct tdi_dev *dev, const struct tdi_entry *e, char *buf,
		     size_t size);

/* Parses one value of n_bits into the big-endian buffer out. */
int tdi_value_parse(const char *s, uint32_t n_bits, uint8_t out[TDI_VALUE_BYTES],
		    struct ipdk_err *err);

/* ---- The DPDK target ---------------------------------------------------- */

struct ipdk_dpdk_pipeline;

/* The ops table of the DPDK SWX target; its ctx is made by ipdk_dpdk_tdi_ctx(). */
extern const struct tdi_target_ops ipdk_dpdk_tdi_ops;

/* Makes the DPDK target context for a built pipeline (freed by ops->close). */
void *ipdk_dpdk_tdi_ctx(struct ipdk_dpdk_pipeline *pl);

/* Like ipdk_dpdk_tdi_ctx(), and names key fields after the key blocks of the
 * pipeline's spec text (SWX does not report field names; without the spec
 * they are "key1", "key2", ...). spec_text may be NULL. */
void *ipdk_dpdk_tdi_ctx_spec(struct ipdk_dpdk_pipeline *pl, const char *spec_text);

#endif
