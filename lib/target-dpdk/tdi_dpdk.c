/*
 * The DPDK SWX target of TDI: reads a built pipeline's schema through the
 * rte_swx_ctl info calls and turns TDI writes into SWX table entries staged in
 * our own double-buffered table state (swx_state.c), applied by one commit.
 * DPDK's control handle is used for read-only information and for registers,
 * meters and statistics only: it must not commit, since the table state is
 * ours from the moment the schema is read.
 *
 * Entries are built directly in SWX's own layout: a table's key covers the
 * bytes from its first to its last match field in the header or metadata
 * struct, header fields in network byte order, metadata fields of up to 64
 * bits in host byte order (wider ones as big-endian bytes); action data
 * packs each argument in turn, header-typed arguments in network order.
 * TDI priorities (larger wins) become SWX key priorities (smaller wins).
 *
 * Names the SWX spec cannot carry are conventions of ours (the P4 compiler
 * lowers to them):
 *   - a regarray pair <c>_packets / <c>_bytes (either alone) is counter <c>;
 *   - a counter or meter array named <table>__<x> is direct to <table>
 *     (read and written through the *_with_key calls with the entry's key);
 *   - other regarrays are 64-bit registers.
 * Meter profiles are managed here: one per distinct (cir, cbs, pir, pbs),
 * reference counted by the meter cells using it.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_meter.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"
#include "ipdk/tdi.h"
#include "swx_state.h"
#include "tdi_dpdk_priv.h"

/* rte_acl priorities run from 0 to RTE_ACL_MAX_PRIORITY (1 << 29) - 1; the
 * wildcard table maps key_priority p onto MAX - p. */
#define SWX_PRIO_MAX 0x1FFFFFFFu
#define NAME_SZ RTE_SWX_CTL_NAME_SIZE

struct dfield {
	uint32_t off, nb;      /* bytes within the table key */
	bool hdr;
	enum tdi_match_kind match;
};

struct dtable {
	char name[NAME_SZ];
	enum tdi_table_kind kind;
	uint32_t swx_id;
	uint32_t n_fields;
	struct dfield f[TDI_MAX_KEY_FIELDS];
	uint32_t key_size;
	bool exact;            /* SWX exact match table: no key mask */
	bool ternary;          /* priorities come from the entry */
	int lpm_field;         /* -1, or the field whose prefix sets the priority */
	uint32_t data_size;
	uint8_t *key, *mask, *data;
};

struct darg {
	uint32_t off, nb;
	bool nbo;
};

struct daction {
	uint32_t n_args, data_size;
	struct darg *args;
};

struct dcounter {
	char pkts[NAME_SZ], bytes[NAME_SZ];   /* "" when absent */
	int table;                            /* direct: TDI table id, else -1 */
};

struct dregister {
	char name[NAME_SZ];
};

struct dmeter {
	char name[NAME_SZ];
	int table;
	uint32_t size;
	uint32_t *cell_profile;               /* profile index + 1 per cell, 0: none */
};

struct dprofile {
	uint64_t cir, cbs, pir, pbs;
	uint32_t refs;
	char name[32];
};

struct dctx {
	struct ipdk_dpdk_pipeline *pl;
	struct rte_swx_pipeline *p;
	struct swx_state *st;                 /* the table state, ours */
	char *spec_text;                      /* for key field names, may be NULL */
	struct rte_swx_ctl_pipeline_info info;
	uint32_t n_tables;
	struct dtable *tables;
	struct daction *actions;
	uint32_t n_counters, n_registers, n_meters;
	struct dcounter *counters;
	struct dregister *registers;
	struct dmeter *meters;
	struct dprofile *profiles;
	uint32_t n_profiles;
	uint32_t profile_seq;
};

/* ---- Byte layout --------------------------------------------------------- */

static void field_put(uint8_t *dst, const uint8_t v[TDI_VALUE_BYTES], uint32_t nb, bool nbo)
{
	const uint8_t *src = v + TDI_VALUE_BYTES - nb;

	if (nbo || nb > 8 || RTE_BYTE_ORDER == RTE_BIG_ENDIAN) {
		memcpy(dst, src, nb);
		return;
	}
	for (uint32_t i = 0; i < nb; i++)
		dst[i] = src[nb - 1 - i];
}

static void field_get(const uint8_t *src, uint8_t v[TDI_VALUE_BYTES], uint32_t nb, bool nbo)
{
	uint8_t *dst = v + TDI_VALUE_BYTES - nb;

	memset(v, 0, TDI_VALUE_BYTES);
	if (nbo || nb > 8 || RTE_BYTE_ORDER == RTE_BIG_ENDIAN) {
		memcpy(dst, src, nb);
		return;
	}
	for (uint32_t i = 0; i < nb; i++)
		dst[nb - 1 - i] = src[i];
}

static void action_data_put(const struct dctx *c, const struct tdi_entry *e, uint8_t *data)
{
	const struct daction *a = &c->actions[e->action_id];

	for (uint32_t i = 0; i < a->n_args; i++)
		field_put(data + a->args[i].off, e->params[i], a->args[i].nb, a->args[i].nbo);
}

/* Builds the SWX key (and mask) of e in the table's scratch buffers. */
static int key_build(struct dtable *t, const struct tdi_entry *e, uint32_t *prio,
		     struct ipdk_err *err)
{
	memset(t->key, 0, t->key_size);
	memset(t->mask, 0, t->key_size);
	for (uint32_t i = 0; i < t->n_fields; i++) {
		const struct dfield *f = &t->f[i];

		if (f->match == TDI_MATCH_RANGE)
			return ipdk_err_set(err, -ENOTSUP, "table %s: SWX pipelines have no range match",
					    t->name);
		field_put(t->key + f->off, e->key[i].value, f->nb, f->hdr);
		field_put(t->mask + f->off, e->key[i].mask, f->nb, f->hdr);
	}
	*prio = 0;
	if (t->ternary) {
		if (e->priority > SWX_PRIO_MAX)
			return ipdk_err_set(err, -ERANGE, "table %s: priority %u above the SWX maximum %u",
					    t->name, e->priority, SWX_PRIO_MAX);
		*prio = SWX_PRIO_MAX - e->priority;
	} else if (t->lpm_field >= 0) {
		*prio = t->f[t->lpm_field].nb * 8 - e->key[t->lpm_field].prefix_len;
	}
	return 0;
}

static int entry_build(struct dctx *c, const struct tdi_entry *e, bool with_action,
		       struct rte_swx_table_entry *out, struct dtable **tp, struct ipdk_err *err)
{
	struct dtable *t = &c->tables[e->table_id];
	uint32_t prio;
	int rc;

	*tp = t;
	memset(out, 0, sizeof(*out));
	rc = key_build(t, e, &prio, err);
	if (rc)
		return rc;
	out->key = t->key;
	out->key_mask = t->exact ? NULL : t->mask;
	out->key_priority = prio;
	if (with_action) {
		memset(t->data, 0, t->data_size + 1);
		action_data_put(c, e, t->data);
		out->action_id = e->action_id;
		out->action_data = t->data;
	}
	return 0;
}

/* ---- Schema ------------------------------------------------------------- */

/* Finds the n-th key field name of table or learner `name` in the spec. */
static void spec_key_name(const char *spec, const char *name, uint32_t n, char *out,
			  size_t size)
{
	const char *p = spec;
	size_t len = strlen(name);

	while (p && (p = strstr(p, name))) {
		const char *q = p + len, *start = p;

		p = q;
		if (start > spec && !isspace((unsigned char)start[-1]))
			continue;
		if (!(start - spec >= 6 && (!strncmp(start - 6, "table ", 6) ||
					    (start - spec >= 8 && !strncmp(start - 8, "learner ", 8)))))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (*q != '{')
			continue;
		q = strstr(q, "key");
		if (!q || !(q = strchr(q, '{')))
			return;
		q++;
		for (uint32_t i = 0;; i++) {
			size_t l;

			while (isspace((unsigned char)*q))
				q++;
			if (*q == '}' || !*q)
				return;
			l = strcspn(q, " \t\r\n}");
			if (i == n) {
				snprintf(out, size, "%.*s", (int)l, q);
				return;
			}
			q += l;
			/* Skip the match kind of regular tables (learner keys have none). */
			while (*q == ' ' || *q == '\t')
				q++;
			if (!strncmp(q, "exact", 5) || !strncmp(q, "lpm", 3) ||
			    !strncmp(q, "wildcard", 8))
				q += strcspn(q, " \t\r\n}");
		}
	}
}

static enum tdi_match_kind match_kind(enum rte_swx_table_match_type m)
{
	switch (m) {
	case RTE_SWX_TABLE_MATCH_EXACT:
		return TDI_MATCH_EXACT;
	case RTE_SWX_TABLE_MATCH_LPM:
		return TDI_MATCH_LPM;
	default:
		return TDI_MATCH_TERNARY;
	}
}

static int actions_get(struct dctx *c, struct tdi_schema *s, struct ipdk_err *err)
{
	s->n_actions = c->info.n_actions;
	s->actions = calloc(c->info.n_actions + 1, sizeof(*s->actions));
	c->actions = calloc(c->info.n_actions + 1, sizeof(*c->actions));
	if (!s->actions || !c->actions)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < c->info.n_actions; i++) {
		struct rte_swx_ctl_action_info ai;
		struct tdi_action_info *ta = &s->actions[i];
		struct daction *da = &c->actions[i];
		uint32_t off = 0;

		if (rte_swx_ctl_action_info_get(c->p, i, &ai))
			return ipdk_err_set(err, -EIO, "action %u: no info", i);
		if (ai.n_args > TDI_MAX_PARAMS)
			return ipdk_err_set(err, -E2BIG, "action %s: %u arguments, at most %u",
					    ai.name, ai.n_args, TDI_MAX_PARAMS);
		ta->id = i;
		snprintf(ta->name, sizeof(ta->name), "%s", ai.name);
		ta->n_params = ai.n_args;
		da->n_args = ai.n_args;
		da->args = calloc(ai.n_args + 1, sizeof(*da->args));
		if (!da->args)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		for (uint32_t j = 0; j < ai.n_args; j++) {
			struct rte_swx_ctl_action_arg_info ar;

			if (rte_swx_ctl_action_arg_info_get(c->p, i, j, &ar))
				return ipdk_err_set(err, -EIO, "action %s: no info on argument %u",
						    ai.name, j);
			snprintf(ta->params[j].name, TDI_NAME_MAX, "%s", ar.name);
			ta->params[j].n_bits = ar.n_bits;
			da->args[j].off = off;
			da->args[j].nb = ar.n_bits / 8;
			da->args[j].nbo = ar.is_network_byte_order;
			off += ar.n_bits / 8;
		}
		da->data_size = off;
	}
	return 0;
}

static int table_alloc_actions(struct tdi_table_info *t, uint32_t n, struct ipdk_err *err)
{
	t->n_actions = n;
	t->action_ids = calloc(n + 1, sizeof(*t->action_ids));
	t->action_default_only = calloc(n + 1, sizeof(bool));
	t->action_table_only = calloc(n + 1, sizeof(bool));
	if (!t->action_ids || !t->action_default_only || !t->action_table_only)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* Lays out the key of a table from its match fields (as SWX does: from the
 * smallest to the largest field offset). */
static int key_layout(struct dctx *c, struct dtable *dt, struct tdi_table_info *t,
		      const struct rte_swx_ctl_table_match_field_info *mf, uint32_t n,
		      struct ipdk_err *err)
{
	uint32_t first = UINT32_MAX, last_end = 0;

	if (n > TDI_MAX_KEY_FIELDS)
		return ipdk_err_set(err, -E2BIG, "table %s: %u key fields, at most %u", t->name, n,
				    TDI_MAX_KEY_FIELDS);
	for (uint32_t i = 0; i < n; i++) {
		if (mf[i].offset < first)
			first = mf[i].offset;
		if (mf[i].offset + mf[i].n_bits > last_end)
			last_end = mf[i].offset + mf[i].n_bits;
	}
	t->n_keys = n;
	dt->n_fields = n;
	dt->exact = true;
	dt->lpm_field = -1;
	dt->key_size = n ? (last_end - first) / 8 : 0;
	for (uint32_t i = 0; i < n; i++) {
		struct dfield *f = &dt->f[i];

		if (mf[i].n_bits % 8)
			return ipdk_err_set(err, -ENOTSUP, "table %s: key field %u has %u bits (not whole bytes)",
					    t->name, i + 1, mf[i].n_bits);
		f->off = (mf[i].offset - first) / 8;
		f->nb = mf[i].n_bits / 8;
		f->hdr = mf[i].is_header;
		f->match = dt->kind == TDI_TABLE_LEARNER ? TDI_MATCH_EXACT
							 : match_kind(mf[i].match_type);
		if (f->match != TDI_MATCH_EXACT)
			dt->exact = false;
		if (f->match == TDI_MATCH_TERNARY)
			dt->ternary = true;
		if (f->match == TDI_MATCH_LPM)
			dt->lpm_field = (int)i;
		t->keys[i].match = f->match;
		t->keys[i].n_bits = mf[i].n_bits;
		snprintf(t->keys[i].name, TDI_NAME_MAX, "key%u", i + 1);
		if (c->spec_text)
			spec_key_name(c->spec_text, dt->name, i, t->keys[i].name, TDI_NAME_MAX);
	}
	return 0;
}

static int table_buffers(struct dtable *dt, struct ipdk_err *err)
{
	dt->key = calloc(1, dt->key_size + 8);
	dt->mask = calloc(1, dt->key_size + 8);
	dt->data = calloc(1, dt->data_size + 8);
	if (!dt->key || !dt->mask || !dt->data)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int match_table_get(struct dctx *c, uint32_t i, struct tdi_table_info *t,
			   struct dtable *dt, struct rte_swx_table_state *ts, struct ipdk_err *err)
{
	struct rte_swx_ctl_table_match_field_info mf[TDI_MAX_KEY_FIELDS];
	struct rte_swx_ctl_table_info ti;
	int rc;

	if (rte_swx_ctl_table_info_get(c->p, i, &ti))
		return ipdk_err_set(err, -EIO, "table %u: no info", i);
	snprintf(t->name, sizeof(t->name), "%s", ti.name);
	snprintf(dt->name, sizeof(dt->name), "%s", ti.name);
	t->kind = dt->kind = TDI_TABLE_MATCH;
	dt->swx_id = i;
	t->target_id = i;
	t->size = ti.size;
	t->default_const = ti.default_action_is_const;
	t->default_action_id = (uint32_t)ts[i].default_action_id;
	if (ti.n_match_fields > TDI_MAX_KEY_FIELDS)
		return ipdk_err_set(err, -E2BIG, "table %s: too many key fields", ti.name);
	for (uint32_t j = 0; j < ti.n_match_fields; j++)
		if (rte_swx_ctl_table_match_field_info_get(c->p, i, j, &mf[j]))
			return ipdk_err_set(err, -EIO, "table %s: no info on field %u", ti.name, j);
	rc = key_layout(c, dt, t, mf, ti.n_match_fields, err);
	if (rc)
		return rc;
	rc = table_alloc_actions(t, ti.n_actions, err);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < ti.n_actions; j++) {
		struct rte_swx_ctl_table_action_info ta;

		if (rte_swx_ctl_table_action_info_get(c->p, i, j, &ta))
			return ipdk_err_set(err, -EIO, "table %s: no info on action %u", ti.name, j);
		t->action_ids[j] = ta.action_id;
		t->action_default_only[j] = !ta.action_is_for_table_entries;
		t->action_table_only[j] = !ta.action_is_for_default_entry;
		if (c->actions[ta.action_id].data_size > dt->data_size)
			dt->data_size = c->actions[ta.action_id].data_size;
	}
	return table_buffers(dt, err);
}

static int selector_get(struct dctx *c, uint32_t i, struct tdi_table_info *t, struct dtable *dt,
			struct ipdk_err *err)
{
	struct rte_swx_ctl_selector_info si;

	if (rte_swx_ctl_selector_info_get(c->p, i, &si))
		return ipdk_err_set(err, -EIO, "selector %u: no info", i);
	snprintf(t->name, sizeof(t->name), "%s", si.name);
	snprintf(dt->name, sizeof(dt->name), "%s", si.name);
	t->kind = dt->kind = TDI_TABLE_SELECTOR;
	t->target_id = dt->swx_id = i;
	t->n_groups_max = si.n_groups_max;
	t->n_members_per_group_max = si.n_members_per_group_max;
	t->size = si.n_groups_max;
	t->default_const = true;
	return table_alloc_actions(t, 0, err);
}

static int learner_get(struct dctx *c, uint32_t i, struct tdi_table_info *t, struct dtable *dt,
		       struct rte_swx_table_state *ts, struct ipdk_err *err)
{
	struct rte_swx_ctl_table_match_field_info mf[TDI_MAX_KEY_FIELDS];
	struct rte_swx_ctl_learner_info li;
	int rc;

	if (rte_swx_ctl_learner_info_get(c->p, i, &li))
		return ipdk_err_set(err, -EIO, "learner %u: no info", i);
	snprintf(t->name, sizeof(t->name), "%s", li.name);
	snprintf(dt->name, sizeof(dt->name), "%s", li.name);
	t->kind = dt->kind = TDI_TABLE_LEARNER;
	t->target_id = dt->swx_id = i;
	t->size = li.size;
	t->default_const = li.default_action_is_const;
	t->default_action_id = (uint32_t)ts[c->info.n_tables + c->info.n_selectors + i].default_action_id;
	t->n_timeouts = li.n_key_timeouts < TDI_MAX_TIMEOUTS ? li.n_key_timeouts : TDI_MAX_TIMEOUTS;
	for (uint32_t j = 0; j < t->n_timeouts; j++)
		rte_swx_ctl_pipeline_learner_timeout_get(c->p, i, j, &t->timeouts[j]);
	if (li.n_match_fields > TDI_MAX_KEY_FIELDS)
		return ipdk_err_set(err, -E2BIG, "learner %s: too many key fields", li.name);
	for (uint32_t j = 0; j < li.n_match_fields; j++)
		if (rte_swx_ctl_learner_match_field_info_get(c->p, i, j, &mf[j]))
			return ipdk_err_set(err, -EIO, "learner %s: no info on field %u", li.name, j);
	rc = key_layout(c, dt, t, mf, li.n_match_fields, err);
	if (rc)
		return rc;
	rc = table_alloc_actions(t, li.n_actions, err);
	if (rc)
		return rc;
	for (uint32_t j = 0; j < li.n_actions; j++) {
		struct rte_swx_ctl_table_action_info ta;

		if (rte_swx_ctl_learner_action_info_get(c->p, i, j, &ta))
			return ipdk_err_set(err, -EIO, "learner %s: no info on action %u", li.name, j);
		t->action_ids[j] = ta.action_id;
		t->action_default_only[j] = !ta.action_is_for_table_entries;
		t->action_table_only[j] = !ta.action_is_for_default_entry;
		if (c->actions[ta.action_id].data_size > dt->data_size)
			dt->data_size = c->actions[ta.action_id].data_size;
	}
	return table_buffers(dt, err);
}

static int tables_get(struct dctx *c, struct tdi_schema *s, struct ipdk_err *err)
{
	struct rte_swx_table_state *ts = NULL;
	uint32_t n = c->info.n_tables + c->info.n_selectors + c->info.n_learners, id = 0;
	int rc;

	if (rte_swx_pipeline_table_state_get(c->p, &ts) || !ts)
		return ipdk_err_set(err, -EIO, "no table state");
	s->n_tables = c->n_tables = n;
	s->tables = calloc(n + 1, sizeof(*s->tables));
	c->tables = calloc(n + 1, sizeof(*c->tables));
	if (!s->tables || !c->tables)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < c->info.n_tables; i++, id++) {
		rc = match_table_get(c, i, &s->tables[id], &c->tables[id], ts, err);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < c->info.n_selectors; i++, id++) {
		rc = selector_get(c, i, &s->tables[id], &c->tables[id], err);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < c->info.n_learners; i++, id++) {
		rc = learner_get(c, i, &s->tables[id], &c->tables[id], ts, err);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < n; i++)
		s->tables[i].id = i;
	return 0;
}

/* Returns the TDI id of the table a "<table>__<x>" extern is direct to, or -1. */
static int direct_table(const struct dctx *c, const char *name)
{
	const char *sep = strstr(name, "__");

	if (!sep)
		return -1;
	for (uint32_t i = 0; i < c->n_tables; i++)
		if (c->tables[i].kind != TDI_TABLE_SELECTOR &&
		    strlen(c->tables[i].name) == (size_t)(sep - name) &&
		    !strncmp(c->tables[i].name, name, (size_t)(sep - name)))
			return (int)i;
	return -1;
}

static bool has_suffix(const char *s, const char *suffix, size_t *base_len)
{
	size_t n = strlen(s), m = strlen(suffix);

	if (n <= m || strcmp(s + n - m, suffix))
		return false;
	*base_len = n - m;
	return true;
}

static int regarrays_get(struct dctx *c, struct tdi_schema *s, struct ipdk_err *err)
{
	uint32_t n = c->info.n_regarrays;
	struct rte_swx_ctl_regarray_info *ri = calloc(n + 1, sizeof(*ri));
	int rc = 0;

	s->counters = calloc(n + 1, sizeof(*s->counters));
	s->registers = calloc(n + 1, sizeof(*s->registers));
	c->counters = calloc(n + 1, sizeof(*c->counters));
	c->registers = calloc(n + 1, sizeof(*c->registers));
	if (!ri || !s->counters || !s->registers || !c->counters || !c->registers) {
		rc = ipdk_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if (rte_swx_ctl_regarray_info_get(c->p, i, &ri[i])) {
			rc = ipdk_err_set(err, -EIO, "regarray %u: no info", i);
			goto out;
		}
	for (uint32_t i = 0; i < n; i++) {
		bool pk;
		size_t bl;
		char base[NAME_SZ];
		uint32_t k;

		pk = has_suffix(ri[i].name, "_packets", &bl);
		if (!pk && !has_suffix(ri[i].name, "_bytes", &bl)) {
			struct tdi_register_info *r = &s->registers[s->n_registers];

			r->id = s->n_registers;
			snprintf(r->name, sizeof(r->name), "%s", ri[i].name);
			r->size = ri[i].size;
			r->n_bits = 64;
			snprintf(c->registers[s->n_registers++].name, NAME_SZ, "%s", ri[i].name);
			continue;
		}
		snprintf(base, sizeof(base), "%.*s", (int)bl, ri[i].name);
		for (k = 0; k < s->n_counters; k++)
			if (!strcmp(s->counters[k].name, base))
				break;
		if (k == s->n_counters) {
			s->counters[k].id = k;
			snprintf(s->counters[k].name, TDI_NAME_MAX, "%s", base);
			s->counters[k].size = ri[i].size;
			c->counters[k].table = direct_table(c, base);
			s->counters[k].direct = c->counters[k].table >= 0;
			s->counters[k].table_id = s->counters[k].direct ? (uint32_t)c->counters[k].table : 0;
			s->n_counters++;
		}
		if (ri[i].size < s->counters[k].size)
			s->counters[k].size = ri[i].size;
		s->counters[k].unit |= pk ? TDI_COUNTER_PACKETS : TDI_COUNTER_BYTES;
		snprintf(pk ? c->counters[k].pkts : c->counters[k].bytes, NAME_SZ, "%s", ri[i].name);
	}
	c->n_counters = s->n_counters;
	c->n_registers = s->n_registers;
out:
	free(ri);
	return rc;
}

static int metarrays_get(struct dctx *c, struct tdi_schema *s, struct ipdk_err *err)
{
	uint32_t n = c->info.n_metarrays;

	s->meters = calloc(n + 1, sizeof(*s->meters));
	c->meters = calloc(n + 1, sizeof(*c->meters));
	if (!s->meters || !c->meters)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct rte_swx_ctl_metarray_info mi;
		struct dmeter *dm = &c->meters[i];

		if (rte_swx_ctl_metarray_info_get(c->p, i, &mi))
			return ipdk_err_set(err, -EIO, "metarray %u: no info", i);
		s->meters[i].id = i;
		snprintf(s->meters[i].name, TDI_NAME_MAX, "%s", mi.name);
		s->meters[i].size = mi.size;
		snprintf(dm->name, NAME_SZ, "%s", mi.name);
		dm->size = mi.size;
		dm->table = direct_table(c, mi.name);
		s->meters[i].direct = dm->table >= 0;
		s->meters[i].table_id = dm->table >= 0 ? (uint32_t)dm->table : 0;
		dm->cell_profile = calloc(mi.size + 1, sizeof(uint32_t));
		if (!dm->cell_profile)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
	}
	s->n_meters = c->n_meters = n;
	return 0;
}

/* Index of a table in DPDK's table-state layout: tables, selectors, learners. */
static uint32_t state_idx(const struct dctx *c, const struct dtable *t)
{
	switch (t->kind) {
	case TDI_TABLE_SELECTOR:
		return c->info.n_tables + t->swx_id;
	case TDI_TABLE_LEARNER:
		return c->info.n_tables + c->info.n_selectors + t->swx_id;
	default:
		return t->swx_id;
	}
}

/* Our key and action data layout must be the one the table objects take. */
static int sizes_check(struct dctx *c, struct ipdk_err *err)
{
	for (uint32_t i = 0; i < c->n_tables; i++) {
		struct dtable *t = &c->tables[i];
		uint32_t idx = state_idx(c, t);

		if (t->kind == TDI_TABLE_SELECTOR)
			continue;
		if (swx_state_key_size(c->st, idx) != t->key_size ||
		    swx_state_data_size(c->st, idx) != t->data_size)
			return ipdk_err_set(err, -EIO, "table %s: key or action data size differs from the table's (%u/%u bytes, table %u/%u)",
					    t->name, t->key_size, t->data_size,
					    swx_state_key_size(c->st, idx),
					    swx_state_data_size(c->st, idx));
	}
	return 0;
}

static int dpdk_schema_get(void *ctx, struct tdi_schema *s, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!c || !c->p)
		return ipdk_err_set(err, -EINVAL, "pipeline not built");
	if (c->st)
		return ipdk_err_set(err, -EBUSY, "pipeline %s: schema read twice",
				    ipdk_dpdk_pipeline_name(c->pl));
	if (rte_swx_ctl_pipeline_info_get(c->p, &c->info))
		return ipdk_err_set(err, -EIO, "pipeline %s: no info",
				    ipdk_dpdk_pipeline_name(c->pl));
	/* the port slots; the drop port after them is no port to name */
	s->n_ports = ipdk_dpdk_pipeline_n_ports(c->pl);
	ipdk_dpdk_pipeline_mirroring(c->pl, &s->n_mirror_slots, &s->n_mirror_sessions);
	rc = swx_state_create(c->pl, &c->st, err);
	if (!rc)
		rc = actions_get(c, s, err);
	if (!rc)
		rc = tables_get(c, s, err);
	if (!rc)
		rc = sizes_check(c, err);
	if (!rc)
		rc = regarrays_get(c, s, err);
	if (!rc)
		rc = metarrays_get(c, s, err);
	if (rc)
		return ipdk_err_prefix(err, "pipeline %s", ipdk_dpdk_pipeline_name(c->pl));
	/* On failure TDI frees what is in s; the context's copies go with close. */
	return 0;
}

/* ---- Entries ------------------------------------------------------------ */

static int match_entry(struct dctx *c, const struct tdi_entry *e, bool with_action,
		       struct rte_swx_table_entry *se, struct dtable **t, struct ipdk_err *err)
{
	int rc = entry_build(c, e, with_action, se, t, err);

	if (rc)
		return rc;
	if ((*t)->kind != TDI_TABLE_MATCH)
		return ipdk_err_set(err, -ENOTSUP, "table %s: entries are learned by the data path",
				    (*t)->name);
	return 0;
}

static int dpdk_entry_add(void *ctx, const struct tdi_entry *e, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct rte_swx_table_entry se;
	struct dtable *t;
	int rc = match_entry(c, e, true, &se, &t, err);

	return rc ? rc : swx_state_entry_add(c->st, state_idx(c, t), &se, err);
}

static int dpdk_entry_delete(void *ctx, const struct tdi_entry *e, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct rte_swx_table_entry se;
	struct dtable *t;
	int rc = match_entry(c, e, false, &se, &t, err);

	return rc ? rc : swx_state_entry_delete(c->st, state_idx(c, t), &se, err);
}

static int dpdk_default_set(void *ctx, const struct tdi_entry *e, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dtable *t = &c->tables[e->table_id];

	memset(t->data, 0, t->data_size + 1);
	action_data_put(c, e, t->data);
	return swx_state_default_set(c->st, state_idx(c, t), e->action_id, t->data, err);
}

static int dpdk_default_get(void *ctx, struct tdi_entry *e, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dtable *t = &c->tables[e->table_id];
	const struct daction *a;
	const uint8_t *data;

	swx_state_default_get(c->st, state_idx(c, t), &e->action_id, &data);
	if (e->action_id >= c->info.n_actions)
		return ipdk_err_set(err, -EIO, "table %s: bad default action", t->name);
	a = &c->actions[e->action_id];
	for (uint32_t i = 0; i < a->n_args && data; i++)
		field_get(data + a->args[i].off, e->params[i], a->args[i].nb, a->args[i].nbo);
	return 0;
}

static int dpdk_commit(void *ctx, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	int rc = swx_state_commit(c->st, err);

	return rc ? ipdk_err_prefix(err, "pipeline %s", ipdk_dpdk_pipeline_name(c->pl)) : 0;
}

static void dpdk_abort(void *ctx)
{
	struct dctx *c = ctx;

	swx_state_abort(c->st);
}

int ipdk_dpdk_tdi_entry_layout(void *ctx, const struct tdi_entry *e,
			       struct rte_swx_table_entry *out, uint32_t *key_size,
			       uint32_t *data_size, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dtable *t;
	int rc = match_entry(c, e, true, out, &t, err);

	if (rc)
		return rc;
	*key_size = t->key_size;
	*data_size = c->actions[e->action_id].data_size;
	return 0;
}

/* ---- Selectors and learners --------------------------------------------- */

/* A new group and a deleted one are both a group without members. */
static int dpdk_group_add(void *ctx, uint32_t table_id, uint32_t group_id, struct ipdk_err *err)
{
	struct dctx *c = ctx;

	return swx_state_group_clear(c->st, state_idx(c, &c->tables[table_id]), group_id, err);
}

static int dpdk_group_delete(void *ctx, uint32_t table_id, uint32_t group_id,
			     struct ipdk_err *err)
{
	return dpdk_group_add(ctx, table_id, group_id, err);
}

static int dpdk_member_set(void *ctx, uint32_t table_id, uint32_t group_id, uint32_t member_id,
			   uint32_t weight, struct ipdk_err *err)
{
	struct dctx *c = ctx;

	return swx_state_member_set(c->st, state_idx(c, &c->tables[table_id]), group_id,
				    member_id, weight, err);
}

static int dpdk_member_delete(void *ctx, uint32_t table_id, uint32_t group_id,
			      uint32_t member_id, struct ipdk_err *err)
{
	return dpdk_member_set(ctx, table_id, group_id, member_id, 0, err);
}

static int swx_fail(int rc, struct ipdk_err *err, const char *what, const char *table)
{
	return ipdk_err_set(err, rc < 0 ? rc : -EIO, "table %s: SWX refused the %s (%s)", table, what,
			    strerror(rc < 0 ? -rc : EIO));
}

static int dpdk_timeout_set(void *ctx, uint32_t table_id, uint32_t idx, uint32_t seconds,
			    struct ipdk_err *err)
{
	struct dctx *c = ctx;
	int rc = rte_swx_ctl_pipeline_learner_timeout_set(c->p, c->tables[table_id].swx_id, idx,
							  seconds);

	return rc ? swx_fail(rc, err, "timeout", c->tables[table_id].name) : 0;
}

static int dpdk_table_stats(void *ctx, uint32_t table_id, struct tdi_table_stats *st,
			    struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dtable *t = &c->tables[table_id];
	uint64_t *per_action = calloc(c->info.n_actions + 1, sizeof(uint64_t));
	int rc;

	if (!per_action)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	if (t->kind == TDI_TABLE_MATCH) {
		struct rte_swx_table_stats s = { .n_pkts_action = per_action };

		rc = rte_swx_ctl_pipeline_table_stats_read(c->p, t->name, &s);
		st->hit_packets = s.n_pkts_hit;
		st->miss_packets = s.n_pkts_miss;
	} else if (t->kind == TDI_TABLE_LEARNER) {
		struct rte_swx_learner_stats s = { .n_pkts_action = per_action };

		rc = rte_swx_ctl_pipeline_learner_stats_read(c->p, t->name, &s);
		st->hit_packets = s.n_pkts_hit;
		st->miss_packets = s.n_pkts_miss;
	} else {
		struct rte_swx_pipeline_selector_stats s;

		rc = rte_swx_ctl_pipeline_selector_stats_read(c->p, t->name, &s);
		st->hit_packets = s.n_pkts;
	}
	/* Per action of the table, in the order of the schema's action_ids. */
	if (!rc && t->kind != TDI_TABLE_SELECTOR) {
		struct rte_swx_ctl_table_action_info ta;

		for (uint32_t j = 0; j < TDI_MAX_PARAMS; j++) {
			int r = t->kind == TDI_TABLE_MATCH
				? rte_swx_ctl_table_action_info_get(c->p, t->swx_id, j, &ta)
				: rte_swx_ctl_learner_action_info_get(c->p, t->swx_id, j, &ta);

			if (r)
				break;
			st->action_packets[j] = per_action[ta.action_id];
		}
	}
	free(per_action);
	return rc ? swx_fail(rc, err, "statistics read", t->name) : 0;
}

/* ---- Counters and registers --------------------------------------------- */

/* Builds the key of a direct extern's entry in its table's scratch buffer. */
static int direct_key(struct dctx *c, const struct tdi_entry *e, struct dtable **t,
		      struct ipdk_err *err)
{
	uint32_t prio;

	*t = &c->tables[e->table_id];
	return key_build(*t, e, &prio, err);
}

static int reg_read(struct dctx *c, const char *name, uint64_t index,
		    const struct tdi_entry *direct, uint64_t *v, struct ipdk_err *err)
{
	struct dtable *t;
	int rc;

	*v = 0;
	if (!name[0])
		return 0;
	if (direct) {
		rc = direct_key(c, direct, &t, err);
		if (rc)
			return rc;
		rc = rte_swx_ctl_pipeline_regarray_read_with_key(c->p, name, t->name, t->key, v);
	} else {
		rc = rte_swx_ctl_pipeline_regarray_read(c->p, name, (uint32_t)index, v);
	}
	return rc ? ipdk_err_set(err, rc < 0 ? rc : -EIO, "regarray %s: read failed", name) : 0;
}

static int reg_write(struct dctx *c, const char *name, uint64_t index,
		     const struct tdi_entry *direct, uint64_t v, struct ipdk_err *err)
{
	struct dtable *t;
	int rc;

	if (!name[0])
		return 0;
	if (direct) {
		rc = direct_key(c, direct, &t, err);
		if (rc)
			return rc;
		rc = rte_swx_ctl_pipeline_regarray_write_with_key(c->p, name, t->name, t->key, v);
	} else {
		rc = rte_swx_ctl_pipeline_regarray_write(c->p, name, (uint32_t)index, v);
	}
	return rc ? ipdk_err_set(err, rc < 0 ? rc : -EIO, "regarray %s: write failed", name) : 0;
}

static int dpdk_counter_read(void *ctx, uint32_t id, uint64_t index,
			     const struct tdi_entry *direct, uint64_t *packets, uint64_t *bytes,
			     struct ipdk_err *err)
{
	struct dctx *c = ctx;
	int rc = reg_read(c, c->counters[id].pkts, index, direct, packets, err);

	return rc ? rc : reg_read(c, c->counters[id].bytes, index, direct, bytes, err);
}

static int dpdk_counter_write(void *ctx, uint32_t id, uint64_t index,
			      const struct tdi_entry *direct, uint64_t packets, uint64_t bytes,
			      struct ipdk_err *err)
{
	struct dctx *c = ctx;
	int rc = reg_write(c, c->counters[id].pkts, index, direct, packets, err);

	return rc ? rc : reg_write(c, c->counters[id].bytes, index, direct, bytes, err);
}

static int dpdk_register_read(void *ctx, uint32_t id, uint64_t index, uint64_t *value,
			      struct ipdk_err *err)
{
	struct dctx *c = ctx;

	return reg_read(c, c->registers[id].name, index, NULL, value, err);
}

static int dpdk_register_write(void *ctx, uint32_t id, uint64_t index, uint64_t value,
			       struct ipdk_err *err)
{
	struct dctx *c = ctx;

	return reg_write(c, c->registers[id].name, index, NULL, value, err);
}

/* ---- Meters ------------------------------------------------------------- */

static void profile_unref(struct dctx *c, uint32_t idx1)
{
	struct dprofile *pr;

	if (!idx1)
		return;
	pr = &c->profiles[idx1 - 1];
	if (pr->refs && !--pr->refs)
		rte_swx_ctl_meter_profile_delete(c->p, pr->name);
}

/* Returns the profile index + 1 for the parameters, with one more reference. */
static int profile_ref(struct dctx *c, uint64_t cir, uint64_t cbs, uint64_t pir, uint64_t pbs,
		       struct ipdk_err *err)
{
	struct rte_meter_trtcm_params mp = { .cir = cir, .pir = pir, .cbs = cbs, .pbs = pbs };
	struct dprofile *pr = NULL;
	uint32_t i;
	int rc;

	for (i = 0; i < c->n_profiles; i++) {
		struct dprofile *q = &c->profiles[i];

		if (q->refs && q->cir == cir && q->cbs == cbs && q->pir == pir && q->pbs == pbs) {
			q->refs++;
			return (int)i + 1;
		}
		if (!q->refs && !pr)
			pr = q;
	}
	if (!pr) {
		struct dprofile *np = realloc(c->profiles, (c->n_profiles + 1) * sizeof(*np));

		if (!np)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		c->profiles = np;
		pr = &c->profiles[c->n_profiles++];
	}
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->name, sizeof(pr->name), "ipdk_mp%u", c->profile_seq++);
	rc = rte_swx_ctl_meter_profile_add(c->p, pr->name, &mp);
	if (rc)
		return ipdk_err_set(err, rc < 0 ? rc : -EIO,
				    "meter profile cir %" PRIu64 " pir %" PRIu64 ": SWX refused it (%s)",
				    cir, pir, strerror(rc < 0 ? -rc : EIO));
	pr->cir = cir;
	pr->cbs = cbs;
	pr->pir = pir;
	pr->pbs = pbs;
	pr->refs = 1;
	return (int)(pr - c->profiles) + 1;
}

static int dpdk_meter_set(void *ctx, uint32_t id, uint64_t index, const struct tdi_entry *direct,
			  uint64_t cir, uint64_t cbs, uint64_t pir, uint64_t pbs,
			  struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dmeter *m = &c->meters[id];
	struct dtable *t;
	int p1 = profile_ref(c, cir, cbs, pir, pbs, err), rc;

	if (p1 < 0)
		return p1;
	if (direct) {
		rc = direct_key(c, direct, &t, err);
		if (!rc)
			rc = rte_swx_ctl_meter_set_with_key(c->p, m->name, t->name, t->key,
							    c->profiles[p1 - 1].name);
	} else {
		rc = rte_swx_ctl_meter_set(c->p, m->name, (uint32_t)index, c->profiles[p1 - 1].name);
	}
	if (rc) {
		profile_unref(c, (uint32_t)p1);
		return err && err->code ? rc : ipdk_err_set(err, rc, "meter %s: set failed", m->name);
	}
	/* Direct cells are not tracked: their profiles stay referenced. */
	if (!direct) {
		profile_unref(c, m->cell_profile[index]);
		m->cell_profile[index] = (uint32_t)p1;
	}
	return 0;
}

static int dpdk_meter_reset(void *ctx, uint32_t id, uint64_t index,
			    const struct tdi_entry *direct, struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dmeter *m = &c->meters[id];
	struct dtable *t;
	int rc;

	if (direct) {
		rc = direct_key(c, direct, &t, err);
		if (rc)
			return rc;
		rc = rte_swx_ctl_meter_reset_with_key(c->p, m->name, t->name, t->key);
	} else {
		rc = rte_swx_ctl_meter_reset(c->p, m->name, (uint32_t)index);
		if (!rc) {
			profile_unref(c, m->cell_profile[index]);
			m->cell_profile[index] = 0;
		}
	}
	return rc ? ipdk_err_set(err, rc < 0 ? rc : -EIO, "meter %s: reset failed", m->name) : 0;
}

static int dpdk_meter_stats(void *ctx, uint32_t id, uint64_t index,
			    const struct tdi_entry *direct, uint64_t pkts[3], struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct dmeter *m = &c->meters[id];
	struct rte_swx_ctl_meter_stats s;
	struct dtable *t;
	int rc;

	memset(&s, 0, sizeof(s));
	if (direct) {
		rc = direct_key(c, direct, &t, err);
		if (rc)
			return rc;
		rc = rte_swx_ctl_meter_stats_read_with_key(c->p, m->name, t->name, t->key, &s);
	} else {
		rc = rte_swx_ctl_meter_stats_read(c->p, m->name, (uint32_t)index, &s);
	}
	if (rc)
		return ipdk_err_set(err, rc < 0 ? rc : -EIO, "meter %s: statistics read failed",
				    m->name);
	pkts[0] = s.n_pkts[RTE_COLOR_GREEN];
	pkts[1] = s.n_pkts[RTE_COLOR_YELLOW];
	pkts[2] = s.n_pkts[RTE_COLOR_RED];
	return 0;
}

/* ---- Context ------------------------------------------------------------ */

static int dpdk_mirror_session_set(void *ctx, uint32_t id, const struct tdi_mirror_session *s,
				   struct ipdk_err *err)
{
	struct dctx *c = ctx;
	struct ipdk_dpdk_mirror_session ms;

	if (s) {
		ms.port_id = s->port_id;
		ms.fast_clone = s->fast_clone;
		ms.truncation_length = s->truncation_length;
	}
	return ipdk_dpdk_pipeline_mirror_session_set(c->pl, id, s ? &ms : NULL, err);
}

static void dpdk_close(void *ctx)
{
	struct dctx *c = ctx;

	if (!c)
		return;
	swx_state_free(c->st);
	for (uint32_t i = 0; c->tables && i < c->n_tables; i++) {
		free(c->tables[i].key);
		free(c->tables[i].mask);
		free(c->tables[i].data);
	}
	for (uint32_t i = 0; c->actions && i < c->info.n_actions; i++)
		free(c->actions[i].args);
	for (uint32_t i = 0; c->meters && i < c->n_meters; i++)
		free(c->meters[i].cell_profile);
	free(c->tables);
	free(c->actions);
	free(c->counters);
	free(c->registers);
	free(c->meters);
	free(c->profiles);
	free(c->spec_text);
	free(c);
}

const struct tdi_target_ops ipdk_dpdk_tdi_ops = {
	.name = "dpdk",
	.schema_get = dpdk_schema_get,
	.entry_add = dpdk_entry_add,
	.entry_delete = dpdk_entry_delete,
	/* An add of an existing key replaces its action. */
	.entry_modify = dpdk_entry_add,
	.default_set = dpdk_default_set,
	.default_get = dpdk_default_get,
	.commit = dpdk_commit,
	.abort = dpdk_abort,
	.selector_group_add = dpdk_group_add,
	.selector_group_delete = dpdk_group_delete,
	.selector_member_set = dpdk_member_set,
	.selector_member_delete = dpdk_member_delete,
	.learner_timeout_set = dpdk_timeout_set,
	.table_stats = dpdk_table_stats,
	.counter_read = dpdk_counter_read,
	.counter_write = dpdk_counter_write,
	.register_read = dpdk_register_read,
	.register_write = dpdk_register_write,
	.meter_set = dpdk_meter_set,
	.meter_reset = dpdk_meter_reset,
	.meter_stats = dpdk_meter_stats,
	.mirror_session_set = dpdk_mirror_session_set,
	.close = dpdk_close,
};

void *ipdk_dpdk_tdi_ctx_spec(struct ipdk_dpdk_pipeline *pl, const char *spec_text)
{
	struct dctx *c;

	if (!pl)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pl = pl;
	c->p = ipdk_dpdk_pipeline_swx(pl);
	if (spec_text) {
		c->spec_text = strdup(spec_text);
		if (!c->spec_text) {
			free(c);
			return NULL;
		}
	}
	return c;
}

void *ipdk_dpdk_tdi_ctx(struct ipdk_dpdk_pipeline *pl)
{
	return ipdk_dpdk_tdi_ctx_spec(pl, NULL);
}
