/*
 * P4Runtime entities to TDI: one update of any entity (p4_write_update(),
 * which hands each kind to its file: profiles.c, cells.c, vsets.c, pre.c)
 * and table entries here (every match kind, priorities, default entries,
 * direct and action-profile actions, the direct counter and meter an entry
 * carries). Each function validates its input against the model before
 * touching TDI and reports errors with the errno that maps to the status the
 * P4Runtime specification asks for (-EEXIST ALREADY_EXISTS, -ENOENT
 * NOT_FOUND, -ENOSPC RESOURCE_EXHAUSTED, -ERANGE OUT_OF_RANGE, -EINVAL
 * INVALID_ARGUMENT, -EPERM PERMISSION_DENIED, -EBUSY FAILED_PRECONDITION,
 * -ENOTSUP UNIMPLEMENTED); the other entity files do the same. Reads are in
 * read.c, byte strings in bytes.c. Runs with the dataplane locked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

/* ---- controller_metadata ------------------------------------------------ */

/* The specification deprecates controller_metadata in favour of metadata but
 * still asks servers to keep and return it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static uint64_t te_cookie(const P4__V1__TableEntry *te)
{
	return te->controller_metadata;
}

uint64_t *p4_te_cookie_ptr(P4__V1__TableEntry *te)
{
	return &te->controller_metadata;
}
#pragma GCC diagnostic pop

/* ---- actions ----------------------------------------------------------- */

bool p4_table_has_action(const struct p4m_table *t, uint32_t id)
{
	for (uint32_t i = 0; i < t->n_actions; i++)
		if (t->action_ids[i] == id)
			return true;
	return false;
}

/* A direct action (P4Info id + params) into e's TDI action. */
int p4_action_in(const struct p4_model *m, const P4__V1__Action *a, struct tdi_entry *e,
		 const struct p4m_action **out, struct ipdk_err *err)
{
	const struct p4m_action *pa = p4m_action(m, a->action_id);
	bool seen[TDI_MAX_PARAMS] = { false };
	char what[TDI_NAME_MAX * 2];

	if (!pa)
		return ipdk_err_set(err, -EINVAL, "unknown action id 0x%08x", a->action_id);
	if (a->n_params != pa->n_params)
		return ipdk_err_set(err, -EINVAL, "action %s: %zu parameters given, %u expected",
				    pa->name, a->n_params, pa->n_params);
	e->action_id = pa->tdi_id;
	for (size_t i = 0; i < a->n_params; i++) {
		const P4__V1__Action__Param *p = a->params[i];
		const struct p4m_param *mp = NULL;
		int rc;

		for (uint32_t k = 0; k < pa->n_params; k++)
			if (pa->params[k].id == p->param_id)
				mp = &pa->params[k];
		if (!mp)
			return ipdk_err_set(err, -EINVAL, "action %s: unknown parameter id %u",
					    pa->name, p->param_id);
		if (seen[mp->tdi_idx])
			return ipdk_err_set(err, -EINVAL, "action %s: parameter %s given twice",
					    pa->name, mp->name);
		seen[mp->tdi_idx] = true;
		snprintf(what, sizeof(what), "action %s parameter %s", pa->name, mp->name);
		rc = p4_bytes_to_value(&p->value, mp->bits, e->params[mp->tdi_idx], what, err);
		if (rc)
			return rc;
	}
	if (out)
		*out = pa;
	return 0;
}

/* ---- table entries ----------------------------------------------------- */

int p4_key_in(const struct p4m_table *t, const P4__V1__TableEntry *te, struct tdi_entry *e,
	      struct ipdk_err *err)
{
	bool seen[TDI_MAX_KEY_FIELDS] = { false };
	char what[TDI_NAME_MAX * 2];
	int rc;

	for (size_t i = 0; i < te->n_match; i++) {
		const P4__V1__FieldMatch *fm = te->match[i];
		const struct p4m_field *f = NULL;
		struct tdi_field_value *v;
		uint8_t full[TDI_VALUE_BYTES];

		for (uint32_t k = 0; k < t->n_fields; k++)
			if (t->fields[k].id == fm->field_id)
				f = &t->fields[k];
		if (!f)
			return ipdk_err_set(err, -EINVAL, "table %s: unknown match field id %u", t->name,
					    fm->field_id);
		if (seen[f->tdi_idx])
			return ipdk_err_set(err, -EINVAL, "table %s: match field %s given twice", t->name,
					    f->name);
		seen[f->tdi_idx] = true;
		v = &e->key[f->tdi_idx];
		snprintf(what, sizeof(what), "table %s match field %s", t->name, f->name);
		p4_value_ones(full, f->bits);
		switch (fm->field_match_type_case) {
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT:
			if (f->match != TDI_MATCH_EXACT)
				goto kind;
			rc = p4_bytes_to_value(&fm->exact->value, f->bits, v->value, what, err);
			if (rc)
				return rc;
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM:
			if (f->match != TDI_MATCH_LPM)
				goto kind;
			rc = p4_bytes_to_value(&fm->lpm->value, f->bits, v->value, what, err);
			if (rc)
				return rc;
			if (fm->lpm->prefix_len <= 0 || (uint32_t)fm->lpm->prefix_len > f->bits)
				return ipdk_err_set(err, fm->lpm->prefix_len > 0 ? -ERANGE : -EINVAL,
						    "%s: prefix length %d not in 1..%u (omit the field for /0)",
						    what, fm->lpm->prefix_len, f->bits);
			v->prefix_len = (uint32_t)fm->lpm->prefix_len;
			p4_prefix_mask(v->mask, f->bits, v->prefix_len);
			for (int b = 0; b < TDI_VALUE_BYTES; b++)
				if (v->value[b] & ~v->mask[b])
					return ipdk_err_set(err, -EINVAL,
							    "%s: value has bits set beyond the /%u prefix", what,
							    v->prefix_len);
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY:
			if (f->match != TDI_MATCH_TERNARY)
				goto kind;
			rc = p4_bytes_to_value(&fm->ternary->value, f->bits, v->value, what, err);
			if (!rc)
				rc = p4_bytes_to_value(&fm->ternary->mask, f->bits, v->mask, what, err);
			if (rc)
				return rc;
			if (p4_value_zero(v->mask))
				return ipdk_err_set(err, -EINVAL, "%s: mask is 0 (omit the field for a wildcard)",
						    what);
			for (int b = 0; b < TDI_VALUE_BYTES; b++)
				if (v->value[b] & ~v->mask[b])
					return ipdk_err_set(err, -EINVAL,
							    "%s: value has bits set outside the mask", what);
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE:
			if (f->match != TDI_MATCH_RANGE)
				goto kind;
			rc = p4_bytes_to_value(&fm->range->low, f->bits, v->value, what, err);
			if (!rc)
				rc = p4_bytes_to_value(&fm->range->high, f->bits, v->high, what, err);
			if (rc)
				return rc;
			if (memcmp(v->value, v->high, TDI_VALUE_BYTES) > 0)
				return ipdk_err_set(err, -EINVAL, "%s: low bound above high bound", what);
			if (p4_value_zero(v->value) && !memcmp(v->high, full, TDI_VALUE_BYTES))
				return ipdk_err_set(err, -EINVAL,
						    "%s: the full range is a wildcard (omit the field)", what);
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL:
			if (f->match != TDI_MATCH_OPTIONAL)
				goto kind;
			rc = p4_bytes_to_value(&fm->optional->value, f->bits, v->value, what, err);
			if (rc)
				return rc;
			memcpy(v->mask, full, TDI_VALUE_BYTES);
			break;
		default:
			return ipdk_err_set(err, -EINVAL, "%s: no match value (or an unsupported kind)", what);
		}
		continue;
kind:
		return ipdk_err_set(err, -EINVAL, "%s: wrong match kind for this field", what);
	}
	for (uint32_t k = 0; k < t->n_fields; k++) {
		const struct p4m_field *f = &t->fields[k];

		if (seen[f->tdi_idx])
			continue;
		if (f->match == TDI_MATCH_EXACT)
			return ipdk_err_set(err, -EINVAL, "table %s: exact match field %s is missing",
					    t->name, f->name);
		if (f->match == TDI_MATCH_RANGE)    /* wildcard: the whole range */
			p4_value_ones(e->key[f->tdi_idx].high, f->bits);
	}
	if (te->priority < 0)
		return ipdk_err_set(err, -EINVAL, "table %s: priority %d is negative", t->name,
				    te->priority);
	if (t->has_priority && te->priority == 0)
		return ipdk_err_set(err, -EINVAL,
				    "table %s: a priority (> 0) is required for ternary, range and optional matches",
				    t->name);
	if (!t->has_priority && te->priority)
		return ipdk_err_set(err, -EINVAL,
				    "table %s: priority %d given but the table has no ternary, range or optional field",
				    t->name, te->priority);
	e->priority = (uint32_t)te->priority;
	return 0;
}

static int default_write(struct p4_model *m, const struct p4m_table *t, struct tdi_dev *tdi,
			 int type, const P4__V1__TableEntry *te, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	struct tdi_entry e;
	int rc;

	if (type != P4__V1__UPDATE__TYPE__MODIFY)
		return ipdk_err_set(err, -EINVAL,
				    "table %s: the default entry can only be modified (INSERT and DELETE are refused)",
				    t->name);
	if (te->n_match || te->priority)
		return ipdk_err_set(err, -EINVAL, "table %s: a default entry has no match and no priority",
				    t->name);
	if (t->const_default_action_id)
		return ipdk_err_set(err, -EPERM, "table %s: the default action is const", t->name);
	memset(&e, 0, sizeof(e));
	e.table_id = t->tdi_id;
	if (!te->action) {
		/* no action: back to the program's default */
		e.action_id = s->tables[t->tdi_id].default_action_id;
	} else {
		if (te->action->type_case != P4__V1__TABLE_ACTION__TYPE_ACTION)
			return ipdk_err_set(err, -EINVAL, "table %s: a default entry takes a direct action",
					    t->name);
		rc = p4_table_action_in(m, t, te->action, true, &e, err);
		if (rc)
			return rc;
	}
	rc = tdi_default_set(tdi, &e, err);
	return rc ? rc : p4_meta_put(m, t, &e, true, te_cookie(te), &te->metadata, err);
}

int p4_table_entry_check(const struct p4_model *m, const P4__V1__TableEntry *te,
			 const struct p4m_table **out, struct ipdk_err *err)
{
	const struct p4m_table *t;

	if (!te->table_id)
		return ipdk_err_set(err, -EINVAL, "table entry without a table id");
	t = p4m_table(m, te->table_id);
	if (!t)
		return ipdk_err_set(err, -EINVAL, "unknown table id 0x%08x", te->table_id);
	*out = t;
	return 0;
}

/* Keeps (INSERT, MODIFY) or drops (DELETE) the metadata of a written entry. */
static int entry_meta_put(struct p4_model *m, const struct p4m_table *t, int type,
			  const struct tdi_entry *key, const P4__V1__TableEntry *te,
			  struct ipdk_err *err)
{
	if (type == P4__V1__UPDATE__TYPE__DELETE)
		return p4_meta_put(m, t, key, false, 0, NULL, err);
	return p4_meta_put(m, t, key, false, te_cookie(te), &te->metadata, err);
}

/* Undoes the first n sub-entry writes of a range entry (inside the batch). */
static void subs_undo(struct tdi_dev *tdi, int type, struct tdi_entry *subs, uint32_t n,
		      const struct tdi_entry *old)
{
	struct ipdk_err ignore;

	for (uint32_t i = 0; i < n; i++) {
		if (type == P4__V1__UPDATE__TYPE__INSERT) {
			tdi_entry_delete(tdi, &subs[i], &ignore);
		} else {
			subs[i].action_id = old->action_id;
			memcpy(subs[i].params, old->params, sizeof(subs[i].params));
			if (type == P4__V1__UPDATE__TYPE__MODIFY)
				tdi_entry_modify(tdi, &subs[i], &ignore);
			else
				tdi_entry_add(tdi, &subs[i], &ignore);
		}
	}
}

/* A table entry of a table whose range fields are expanded (batch.c): every
 * value/mask entry of the key changes, or none does. */
static int range_write(struct p4_model *m, const struct p4m_table *t, struct tdi_dev *tdi,
		       int type, const P4__V1__TableEntry *te, struct ipdk_err *err)
{
	struct tdi_entry *key = calloc(3, sizeof(*key)), *act = key + 1, *old = key + 2;
	struct tdi_entry *subs = NULL;
	uint32_t n = 0, i;
	bool present;
	int rc;

	if (!key)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	key->table_id = t->tdi_id;
	rc = p4_key_in(t, te, key, err);
	if (rc)
		goto out;
	present = p4_range_present(t, key);
	if (type == P4__V1__UPDATE__TYPE__INSERT && present) {
		rc = ipdk_err_set(err, -EEXIST, "table %s: an entry with this key exists", t->name);
		goto out;
	}
	if (type != P4__V1__UPDATE__TYPE__INSERT && !present) {
		rc = ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
		goto out;
	}
	if (type != P4__V1__UPDATE__TYPE__DELETE) {
		rc = p4_table_action_in(m, t, te->action, false, act, err);
		if (rc)
			goto out;
	}
	rc = p4_range_expand(t, key, &subs, &n, err);
	if (rc)
		goto out;
	if (type != P4__V1__UPDATE__TYPE__INSERT) {
		*old = subs[0];
		rc = tdi_entry_get(tdi, old, err);
		if (rc)
			goto out;
	}
	for (i = 0; i < n && !rc; i++) {
		subs[i].action_id = act->action_id;
		memcpy(subs[i].params, act->params, sizeof(subs[i].params));
		if (type == P4__V1__UPDATE__TYPE__INSERT)
			rc = tdi_entry_add(tdi, &subs[i], err);
		else if (type == P4__V1__UPDATE__TYPE__MODIFY)
			rc = tdi_entry_modify(tdi, &subs[i], err);
		else
			rc = tdi_entry_delete(tdi, &subs[i], err);
	}
	if (rc) {
		subs_undo(tdi, type, subs, i - 1, old);
		if (rc == -EEXIST)
			ipdk_err_set(err, -ENOTSUP,
				     "table %s: value/mask entry %u of the ranges is also one of another entry of the same priority (the target has no range match)",
				     t->name, i);
		goto out;
	}
	if (type == P4__V1__UPDATE__TYPE__INSERT)
		rc = p4_range_add(m, t, key);
	else if (type == P4__V1__UPDATE__TYPE__DELETE)
		p4_range_del(m, t, key);
	if (rc) {
		subs_undo(tdi, type, subs, n, old);
		rc = ipdk_err_set(err, -ENOMEM, "out of memory");
	} else {
		rc = entry_meta_put(m, t, type, key, te, err);
	}
out:
	free(subs);
	free(key);
	return rc;
}

/* The direct meter an update configures, checked before the entry changes:
 * a MODIFY's meter_config, and on INSERT meter_config or the default (the
 * target keeps a cell's meter state when an entry takes the place of a
 * deleted one); NULL when there is nothing to write. */
static int entry_meter(const struct p4_model *m, const struct p4m_table *t,
		       const P4__V1__TableEntry *te, int type, struct p4m_cell_obj **out,
		       struct ipdk_err *err)
{
	const P4__V1__MeterConfig *mc = te->meter_config;

	*out = NULL;
	if (mc && !t->direct_meter_id)
		return ipdk_err_set(err, -EINVAL, "table %s: has no direct meter", t->name);
	if (!t->direct_meter_id || type == P4__V1__UPDATE__TYPE__DELETE ||
	    (type == P4__V1__UPDATE__TYPE__MODIFY && !mc))
		return 0;
	if (te->is_default_action || t->ranges) {
		if (!mc)
			return 0;
		return ipdk_err_set(err, -ENOTSUP, "table %s: the direct meter of %s is not offered",
				    t->name, te->is_default_action ? "the default entry"
				    : "a table with expanded ranges");
	}
	if (mc && (mc->cir < 0 || mc->cburst < 0 || mc->pir < 0 || mc->pburst < 0))
		return ipdk_err_set(err, -EINVAL, "table %s: meter_config: negative rate or burst",
				    t->name);
	*out = (struct p4m_cell_obj *)p4m_cell(m->meters, m->n_meters, t->direct_meter_id);
	if (!*out)
		return ipdk_err_set(err, -EINVAL, "table %s: has no direct meter", t->name);
	return 0;
}

/* Queues the meter write of an entry in place and keeps its config for reads. */
int p4_entry_meter_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_table *t,
			 struct p4m_cell_obj *c, const struct tdi_entry *e,
			 const P4__V1__MeterConfig *mc, struct ipdk_err *err)
{
	int64_t cfg[4];
	int rc = p4_meter_cfg_write(m, tdi, c, 0, e, mc, err);

	if (rc)
		return rc;
	if (mc) {
		cfg[0] = mc->cir, cfg[1] = mc->cburst, cfg[2] = mc->pir, cfg[3] = mc->pburst;
	}
	return p4_meter_cfg_put(m, t, e, mc ? cfg : NULL, err);
}

/* The direct counter cell an update writes, checked before the entry
 * changes: a MODIFY's counter_data, and on INSERT counter_data or 0 (the
 * target keeps a cell's count when an entry takes the place of a deleted
 * one); NULL when there is nothing to write. */
static int entry_counter(const struct p4_model *m, struct tdi_dev *tdi, const struct p4m_table *t,
			 const P4__V1__TableEntry *te, int type, const struct p4m_cell_obj **out,
			 struct ipdk_err *err)
{
	*out = NULL;
	if (type == P4__V1__UPDATE__TYPE__INSERT && !te->counter_data && t->direct_counter_id &&
	    !te->is_default_action && !t->ranges) {
		*out = p4m_cell(m->counters, m->n_counters, t->direct_counter_id);
		return 0;
	}
	if (!te->counter_data || type == P4__V1__UPDATE__TYPE__DELETE)
		return 0;
	if (!t->direct_counter_id)
		return ipdk_err_set(err, -EINVAL, "table %s: has no direct counter", t->name);
	if (te->is_default_action || t->ranges)
		return ipdk_err_set(err, -ENOTSUP, "table %s: the direct counter of %s is not offered",
				    t->name, te->is_default_action ? "the default entry"
				    : "a table with expanded ranges");
	*out = p4m_cell(m->counters, m->n_counters, t->direct_counter_id);
	if (!*out)
		return ipdk_err_set(err, -EINVAL, "table %s: has no direct counter", t->name);
	return p4_counter_data_check(tdi, *out, te->counter_data, err);
}

static int table_write(struct p4_model *m, struct tdi_dev *tdi, int type,
		       const P4__V1__TableEntry *te, struct ipdk_err *err)
{
	const struct p4m_cell_obj *dc;
	struct p4m_cell_obj *dm;
	const struct p4m_table *t;
	struct tdi_entry *e, *old;
	int rc;

	rc = p4_table_entry_check(m, te, &t, err);
	if (rc)
		return rc;
	/* a const table's entries are the program's (installed with
	 * m->initial); its default entry follows const_default_action_id */
	if (t->is_const && !te->is_default_action && !m->initial)
		return ipdk_err_set(err, -EPERM, "table %s is const: its entries are the program's",
				    t->name);
	if (te->idle_timeout_ns)
		return ipdk_err_set(err, -EINVAL, "table %s: does not support idle timeout", t->name);
	rc = entry_counter(m, tdi, t, te, type, &dc, err);
	if (!rc)
		rc = entry_meter(m, t, te, type, &dm, err);
	if (rc)
		return rc;
	if (te->is_default_action)
		return default_write(m, t, tdi, type, te, err);
	if (t->ranges)
		return range_write(m, t, tdi, type, te, err);
	e = calloc(2, sizeof(*e));
	if (!e)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	old = e + 1;
	e->table_id = t->tdi_id;
	rc = p4_key_in(t, te, e, err);
	if (rc)
		goto out;
	*old = *e;
	switch (type) {
	case P4__V1__UPDATE__TYPE__INSERT:
		rc = p4_table_action_in(m, t, te->action, false, e, err);
		if (!rc)
			rc = tdi_entry_add(tdi, e, err);
		if (!rc)
			p4_action_ref(m, t, e, 1);
		break;
	case P4__V1__UPDATE__TYPE__MODIFY:
		rc = p4_table_action_in(m, t, te->action, false, e, err);
		if (!rc)
			rc = tdi_entry_get(tdi, old, err);
		if (!rc)
			rc = tdi_entry_modify(tdi, e, err);
		if (!rc) {
			p4_action_ref(m, t, old, -1);
			p4_action_ref(m, t, e, 1);
		}
		break;
	case P4__V1__UPDATE__TYPE__DELETE:
		rc = tdi_entry_get(tdi, old, err);
		if (!rc)
			rc = tdi_entry_delete(tdi, e, err);
		if (!rc)
			p4_action_ref(m, t, old, -1);
		break;
	default:
		rc = ipdk_err_set(err, -EINVAL, "update type %d is not INSERT, MODIFY or DELETE", type);
	}
	if (rc == -ENOENT)
		ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
	if (!rc)
		rc = entry_meta_put(m, t, type, old, te, err);
	/* the counter and meter are written once the entry is in the target
	 * (after commit); a deleted entry's meter config goes */
	if (!rc && dc)
		rc = p4_counter_data_write(m, tdi, dc, 0, old, te->counter_data, err);
	if (!rc && dm)
		rc = p4_entry_meter_write(m, tdi, t, dm, old, te->meter_config, err);
	if (!rc && type == P4__V1__UPDATE__TYPE__DELETE && t->direct_meter_id)
		rc = p4_meter_cfg_put(m, t, old, NULL, err);
out:
	free(e);
	return rc;
}

int p4_write_update(struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Update *u,
		    struct ipdk_err *err)
{
	const P4__V1__Entity *en = u->entity;

	if (!en)
		return ipdk_err_set(err, -EINVAL, "update without an entity");
	if (u->type < P4__V1__UPDATE__TYPE__INSERT || u->type > P4__V1__UPDATE__TYPE__DELETE)
		return ipdk_err_set(err, -EINVAL, "update type %d is not INSERT, MODIFY or DELETE",
				    u->type);
	switch (en->entity_case) {
	case P4__V1__ENTITY__ENTITY_TABLE_ENTRY:
		return table_write(m, tdi, u->type, en->table_entry, err);
	case P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER:
		return p4_member_write(m, tdi, u->type, en->action_profile_member, err);
	case P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP:
		return p4_group_write(m, tdi, u->type, en->action_profile_group, err);
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_METER_ENTRY:
	case P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY:
	case P4__V1__ENTITY__ENTITY_REGISTER_ENTRY:
		return p4_cell_write(m, tdi, u->type, en, err);
	case P4__V1__ENTITY__ENTITY_VALUE_SET_ENTRY:
		return p4_vset_write(m, tdi, u->type, en->value_set_entry, err);
	case P4__V1__ENTITY__ENTITY_PACKET_REPLICATION_ENGINE_ENTRY:
		return p4_pre_write(tdi, u->type, en->packet_replication_engine_entry, err);
	case P4__V1__ENTITY__ENTITY__NOT_SET:
		return ipdk_err_set(err, -EINVAL, "update without an entity");
	default:
		return ipdk_err_set(err, -ENOTSUP, "entity kind %d is not supported by this target",
				    en->entity_case);
	}
}
