/*
 * lib/p4rt internals: the model that maps P4Info objects onto TDI objects
 * (model.c), the pipeline bundle decoder (bundle.c), the entity translation
 * for Write (entity.c, with bytes.c, profiles.c, cells.c, vsets.c) and Read
 * (read.c), packet I/O (packetio.c) and the service state shared by the RPC
 * handlers (service.c).
 */
#ifndef IPDK_P4RT_INT_H
#define IPDK_P4RT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipdk/p4rt.h"
#include "ipdk/tdi.h"
#include "p4/v1/p4runtime.pb-c.h"
#include "p4/config/v1/p4info.pb-c.h"

#define P4_PREFIX(id) ((id) >> 24)
#define P4_ID(prefix, idx) (((uint32_t)(prefix) << 24) | ((idx) + 1))

struct p4m_field {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t bits;
	enum tdi_match_kind match;
	uint32_t tdi_idx;               /* key field index in the TDI table */
	bool expand;                    /* a P4 range on a TDI ternary key (batch.c) */
};

struct p4m_param {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t bits;
	uint32_t tdi_idx;
};

struct p4m_action {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t tdi_id;
	uint32_t n_params;
	struct p4m_param params[TDI_MAX_PARAMS];
};

struct p4m_table {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t tdi_id;
	uint32_t n_fields;
	struct p4m_field fields[TDI_MAX_KEY_FIELDS];
	uint32_t n_actions;
	uint32_t *action_ids;           /* P4Info ids */
	uint32_t const_default_action_id;
	bool is_const;
	bool has_priority;
	uint64_t size;
	uint32_t profile_id;            /* implementation, 0: direct table */
	uint32_t direct_counter_id, direct_meter_id;
	/* tables implemented by an action profile: the TDI actions that carry
	 * a member id or a group id into the member table / selector */
	int32_t member_action, group_action;    /* TDI action ids, -1: none */
	/* P4Runtime entries of a table with expanded range fields (batch.c);
	 * NULL for every other table */
	struct p4_rstore *ranges;
	/* TableEntry.metadata and controller_metadata (meta.c), or NULL */
	struct p4_mstore *meta;
	/* the entries' direct meter configs (meta.c), or NULL */
	struct p4_mstore *meter_cfgs;
};

struct p4m_member {
	uint32_t id;
	struct tdi_entry action;        /* action_id + params (TDI) */
	uint32_t p4_action_id;
	uint32_t refs;                  /* groups and table entries using it */
};

struct p4m_group {
	uint32_t id;
	uint32_t tdi_idx;               /* group index in the TDI selector */
	uint32_t n_members;
	uint32_t *members, *weights;
	uint32_t max_size;              /* as written (0: the profile's limit) */
	uint32_t refs;                  /* table entries using it */
};

struct p4m_profile {
	uint32_t id;
	char name[TDI_NAME_MAX];
	bool with_selector;
	uint64_t size;
	/* group size limits: max_group_size is the P4Info's (0: none), counted
	 * in members (sum_of_members) or in weights (sum_of_weights, the
	 * default); target_members is what one selector group of the target
	 * holds */
	uint32_t max_group_size;
	bool sum_of_members;
	uint32_t max_member_weight;     /* sum_of_members: 0 = any */
	uint32_t target_members;
	int32_t member_table;           /* TDI table keyed by member id, -1: none */
	/* a bare spec's selector: P4Runtime group ids are the selector's own
	 * (tables name groups by them); else they map onto free groups */
	bool group_ids_direct;
	int32_t selector;               /* TDI selector table, -1: none */
	uint32_t n_table_ids;
	uint32_t table_ids[8];
	/* state the target cannot read back */
	uint32_t n_members, cap_members;
	struct p4m_member *members;
	uint32_t n_groups, cap_groups;
	struct p4m_group *groups;
};

struct p4m_cell_obj {               /* counters, meters, registers */
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t tdi_id;
	uint64_t size;
	uint32_t bits;                  /* registers */
	int64_t (*meter_cfg)[4];        /* meters: last config per cell (cir, cburst, pir, pburst) */
	int unit;                       /* counters: p4.config.v1.CounterSpec.Unit */
	bool direct;
	uint32_t table_id;              /* direct: P4Info table id */
};

struct p4m_ctrl_meta {
	uint32_t id;
	char name[TDI_NAME_MAX];
	uint32_t bits;
};

struct p4m_ctrl_hdr {
	bool present;
	uint32_t n_meta;
	struct p4m_ctrl_meta meta[16];
	uint32_t n_bytes;               /* header size on the wire */
};

struct p4_model {
	uint32_t n_tables, n_actions, n_profiles, n_counters, n_meters, n_registers;
	struct p4m_table *tables;
	/* parser value sets: each a spec table whose entries are the members
	 * (id, name, fields, size as P4Info says; member_action is the TDI
	 * action every member runs) */
	uint32_t n_vsets;
	struct p4m_table *vsets;
	struct p4m_action *actions;
	struct p4m_profile *profiles;
	struct p4m_cell_obj *counters, *meters, *registers;
	struct p4m_ctrl_hdr packet_in, packet_out;
	uint8_t *p4info_bin;            /* the P4Info the model came from (serialized) */
	size_t p4info_len;
	struct p4_batch *batch;         /* the Write being applied, or NULL (batch.c) */
	bool initial;                   /* installing the program's entries: const tables take them */
	struct p4_meta_log *meta_log;   /* metadata changes of that Write (meta.c) */
};

/* model.c */
int p4_model_from_p4info(const P4__Config__V1__P4Info *info, const char *context_json,
			 const struct tdi_dev *tdi, struct p4_model **out, struct ipdk_err *err);
/* A model and P4Info from the TDI schema of a bare spec; spec_text (may be
 * NULL) tells which tables are selectors' member tables. */
int p4_model_derive(const struct tdi_dev *tdi, const char *spec_name, const char *spec_text,
		    struct p4_model **out, struct ipdk_err *err);
void p4_model_free(struct p4_model *m);
const struct p4m_table *p4m_table(const struct p4_model *m, uint32_t id);
const struct p4m_action *p4m_action(const struct p4_model *m, uint32_t id);
const struct p4m_action *p4m_action_by_tdi(const struct p4_model *m, uint32_t tdi_id);
struct p4m_profile *p4m_profile(const struct p4_model *m, uint32_t id);
const struct p4m_cell_obj *p4m_cell(const struct p4m_cell_obj *arr, uint32_t n, uint32_t id);
/* Moves action profile state (members, groups) from old to new when the
 * same profile exists in both (used when the model is rebuilt). */
void p4_model_profiles_reset(struct p4_model *m);

/* batch.c: what a Write batch does besides TDI's own batch. Range fields
 * that the target only has as ternary keys are expanded into value/mask
 * entries and the P4Runtime entries kept in a store per table; counter,
 * meter and register writes wait for the commit, so an aborted batch leaves
 * them untouched. */
/* Makes room for one more element in *arr (n used of *cap); 0 or -ENOMEM. */
int p4_grow(void **arr, uint32_t *cap, uint32_t n, size_t elem);
#define P4_RANGE_MAX_SUBS 512           /* value/mask entries per P4Runtime entry */
struct p4_rstore;
int p4_ranges_init(struct p4m_table *t, struct ipdk_err *err);
void p4_ranges_free(struct p4m_table *t);
/* The value/mask entries (key and priority; action left to the caller) of
 * key, a P4Runtime key whose expanded fields carry value (low) and high. */
int p4_range_expand(const struct p4m_table *t, const struct tdi_entry *key,
		    struct tdi_entry **subs, uint32_t *n, struct ipdk_err *err);
bool p4_range_present(const struct p4m_table *t, const struct tdi_entry *key);
int p4_range_add(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *key);
void p4_range_del(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *key);
/* Calls cb for each stored P4Runtime key of t. */
int p4_range_iterate(const struct p4m_table *t, int (*cb)(const struct tdi_entry *key, void *arg),
		     void *arg);

enum p4_cell_op_kind { P4_OP_COUNTER_WRITE, P4_OP_METER_SET, P4_OP_METER_RESET, P4_OP_REGISTER };
struct p4_cell_op {
	enum p4_cell_op_kind kind;
	size_t update;                  /* index of the update in the Write */
	struct p4m_cell_obj *c;
	uint64_t index;
	/* direct: the table entry, of which the first n_keys key fields and the
	 * priority are kept (compactly: a Write may queue one per entry) */
	const struct tdi_entry *entry;
	uint32_t n_keys;
	uint64_t v[4];                  /* counter packets, bytes; meter cir, cburst, pir,
					 * pburst; register value */
};
/* Starts recording for a Write; a model has at most one batch. */
int p4_batch_begin(struct p4_model *m, struct ipdk_err *err);
/* Sets the index of the update being applied (for deferred op errors). */
void p4_batch_update(struct p4_model *m, size_t update);
/* Queues a cell write to run after the commit. */
int p4_batch_defer(struct p4_model *m, const struct p4_cell_op *op, struct ipdk_err *err);
/* After a successful commit: runs the queued cell writes; each failure is
 * reported through fail(update index, rc, err). Ends the batch. */
void p4_batch_commit(struct p4_model *m, struct tdi_dev *tdi,
		     void (*fail)(size_t update, int rc, const struct ipdk_err *err, void *arg),
		     void *arg);
/* After an abort: undoes the range stores' changes, drops the queue. Ends the batch. */
void p4_batch_abort(struct p4_model *m);

/* meta.c: TableEntry.metadata and controller_metadata, which the target
 * does not keep. */
/* Sets the metadata of e's key in t (or of t's default entry); cookie 0 and
 * empty (or NULL) md remove it. Logged while a batch is open. */
int p4_meta_put(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *e,
		bool dflt, uint64_t cookie, const ProtobufCBinaryData *md, struct ipdk_err *err);
/* The metadata of e's key in t; md points into the store. false: none. */
bool p4_meta_get(const struct p4m_table *t, const struct tdi_entry *e, bool dflt,
		 uint64_t *cookie, ProtobufCBinaryData *md);
/* Keeps (cfg: cir, cburst, pir, pburst) or drops (NULL) the direct meter
 * config of e's entry in t; logged like metadata. */
int p4_meter_cfg_put(struct p4_model *m, const struct p4m_table *t, const struct tdi_entry *e,
		     const int64_t cfg[4], struct ipdk_err *err);
/* The kept direct meter config of e's entry in t; false: none. */
bool p4_meter_cfg_get(const struct p4m_table *t, const struct tdi_entry *e, int64_t cfg[4]);
/* Starts logging changes (a Write); p4_meta_end() drops the log, after
 * putting every change back when undo is set. */
int p4_meta_begin(struct p4_model *m);
void p4_meta_end(struct p4_model *m, bool undo);
void p4_meta_free(struct p4m_table *t);

/* bundle.c: the pieces of a pipeline config */
struct p4_bundle {
	char *spec;                     /* NUL-terminated spec text */
	char *context;                  /* context JSON or NULL */
	char *name;
	P4__Config__V1__P4Info *p4info; /* unpacked, or NULL */
	bool bare;                      /* plain spec text */
};
int p4_bundle_decode(const P4__V1__ForwardingPipelineConfig *cfg, struct p4_bundle *b,
		     struct ipdk_err *err);
void p4_bundle_fini(struct p4_bundle *b);
/* The model built for tdi when the bundle's entries were installed (or a
 * model alone), and a copy of its device config, for the service. */
int p4_bundle_take(struct ipdk_p4rt_bundle *bd, struct tdi_dev *tdi, struct p4_model **m,
		   uint8_t **devcfg, size_t *len, struct ipdk_err *err);
/* A BfPipelineConfig holding spec_text, for GetForwardingPipelineConfig of a bare spec. */
int p4_bundle_device_config(const char *name, const char *spec_text, uint8_t **out,
			    size_t *len);

/* entries.c: the entries a program declares (the context's per-table
 * "entries"), installed as one batch of INSERTs through p4_write_update();
 * const tables take them. 0 when the context has none. */
int p4_entries_install(struct p4_model *m, struct tdi_dev *tdi, const char *context_json,
		       struct ipdk_err *err);
/* The model of a pipeline being committed (from info and the context, or
 * derived from the spec when info is NULL), with the program's entries
 * installed into tdi when install is set. */
int p4_pipeline_model(const P4__Config__V1__P4Info *info, const struct p4_bundle *b,
		      struct tdi_dev *tdi, bool install, struct p4_model **out,
		      struct ipdk_err *err);

/* The value part of one FieldMatch, whichever its kind. */
union p4_field_kind {
	P4__V1__FieldMatch__Exact exact;
	P4__V1__FieldMatch__LPM lpm;
	P4__V1__FieldMatch__Ternary ternary;
	P4__V1__FieldMatch__Range range;
	P4__V1__FieldMatch__Optional optional;
};

/* bytes.c: P4Runtime byte strings <-> TDI values */
int p4_bytes_to_value(const ProtobufCBinaryData *b, uint32_t bits, uint8_t out[TDI_VALUE_BYTES],
		      const char *what, struct ipdk_err *err);
/* Canonical form (no leading zero bytes, at least one byte), pointing into buf. */
ProtobufCBinaryData p4_value_to_bytes(const uint8_t v[TDI_VALUE_BYTES], uint8_t *buf);
/* The low bits of out set, the rest clear. */
void p4_value_ones(uint8_t out[TDI_VALUE_BYTES], uint32_t bits);
/* The mask of the plen leading bits of a bits-wide field. */
void p4_prefix_mask(uint8_t out[TDI_VALUE_BYTES], uint32_t bits, uint32_t plen);
/* Whether every byte of v is zero. */
bool p4_value_zero(const uint8_t v[TDI_VALUE_BYTES]);

/* entity.c: one update of one entity, and table entries, with the dataplane locked */
int p4_write_update(struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Update *u,
		    struct ipdk_err *err);
/* The entry's controller_metadata (deprecated by the specification, still kept). */
uint64_t *p4_te_cookie_ptr(P4__V1__TableEntry *te);
/* Whether action id is one of table t's actions. */
bool p4_table_has_action(const struct p4m_table *t, uint32_t id);
/* A direct action (P4Info id + params) into e's TDI action. */
int p4_action_in(const struct p4_model *m, const P4__V1__Action *a, struct tdi_entry *e,
		 const struct p4m_action **out, struct ipdk_err *err);
/* The match of te into the key of e, a TDI entry of table t. */
int p4_key_in(const struct p4m_table *t, const P4__V1__TableEntry *te, struct tdi_entry *e,
	      struct ipdk_err *err);
/* The table of te (checked against the model) into *out. */
int p4_table_entry_check(const struct p4_model *m, const P4__V1__TableEntry *te,
			 const struct p4m_table **out, struct ipdk_err *err);
/* Queues the meter write of an entry in place and keeps its config for reads. */
int p4_entry_meter_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_table *t,
			 struct p4m_cell_obj *c, const struct tdi_entry *e,
			 const P4__V1__MeterConfig *mc, struct ipdk_err *err);

/* profiles.c: action profile members and groups */
/* Snapshot and restore of action profile state around an all-or-none batch. */
void *p4_profiles_save(const struct p4_model *m);
void p4_profiles_restore(struct p4_model *m, void *saved);
void p4_profiles_drop(const struct p4_model *m, void *saved);
int p4_member_write(struct p4_model *m, struct tdi_dev *tdi, int type,
		    const P4__V1__ActionProfileMember *am, struct ipdk_err *err);
int p4_group_write(struct p4_model *m, struct tdi_dev *tdi, int type,
		   const P4__V1__ActionProfileGroup *ag, struct ipdk_err *err);
/* The group of profile pr at TDI selector index idx, or NULL. */
struct p4m_group *p4_group_by_idx(struct p4m_profile *pr, uint32_t idx);
/* Adjusts the reference count of what a TDI action of table t points at. */
void p4_action_ref(const struct p4_model *m, const struct p4m_table *t,
		   const struct tdi_entry *e, int delta);
/* The member id or group index held in a TDI action parameter. */
uint32_t p4_get_u32(const uint8_t v[TDI_VALUE_BYTES]);
/* The TableAction of an entry into e's TDI action. */
int p4_table_action_in(const struct p4_model *m, const struct p4m_table *t,
		       const P4__V1__TableAction *ta, bool is_default, struct tdi_entry *e,
		       struct ipdk_err *err);

/* cells.c: counters, meters, registers */
int p4_cell_write(struct p4_model *m, struct tdi_dev *tdi, int type, const P4__V1__Entity *en,
		  struct ipdk_err *err);
/* Checks d (counts for counter c) against the target's counter. */
int p4_counter_data_check(struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			  const P4__V1__CounterData *d, struct ipdk_err *err);
/* Queues a counter write: d's counts, or 0 without d. */
int p4_counter_data_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			  uint64_t index, const struct tdi_entry *e, const P4__V1__CounterData *d,
			  struct ipdk_err *err);
/* Queues a meter config (or a reset when mc is NULL). */
int p4_meter_cfg_write(struct p4_model *m, struct tdi_dev *tdi, struct p4m_cell_obj *c,
		       uint64_t index, const struct tdi_entry *e, const P4__V1__MeterConfig *mc,
		       struct ipdk_err *err);

/* vsets.c: parser value sets */
int p4_vset_write(const struct p4_model *m, struct tdi_dev *tdi, int type,
		  const P4__V1__ValueSetEntry *ve, struct ipdk_err *err);
/* The value set with P4Info id, or NULL. */
const struct p4m_table *p4_vset_find(const struct p4_model *m, uint32_t id);
/* A tdi_entry_iterate() callback appending each entry to the array *arg points at. */
int p4_collect_entry(const struct tdi_entry *e, void *arg);

/* read.c: calls emit() for each entity matching the (possibly wildcard)
 * request entity, with the dataplane locked. */
int p4_read_entity(struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Entity *want,
		   int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err);
/* pre.c: PacketReplicationEngineEntry (clone sessions) on TDI mirror sessions */
int p4_pre_write(struct tdi_dev *tdi, int type, const P4__V1__PacketReplicationEngineEntry *pre,
		 struct ipdk_err *err);
int p4_pre_read(struct tdi_dev *tdi, const P4__V1__PacketReplicationEngineEntry *want,
		int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err);

#endif
