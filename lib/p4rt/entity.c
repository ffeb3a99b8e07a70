/*
 * P4Runtime entities to TDI and back: table entries (every match kind,
 * priorities, default entries, direct and action-profile actions), action
 * profile members and groups (a member table keyed by member id plus a TDI
 * selector), counters, direct counters, meters and registers. Each function
 * validates its input against the model before touching TDI and reports
 * errors with the errno that maps to the status the P4Runtime specification
 * asks for (-EEXIST ALREADY_EXISTS, -ENOENT NOT_FOUND, -ENOSPC
 * RESOURCE_EXHAUSTED, -ERANGE OUT_OF_RANGE, -EINVAL INVALID_ARGUMENT, -EPERM
 * PERMISSION_DENIED, -EBUSY FAILED_PRECONDITION, -ENOTSUP UNIMPLEMENTED).
 * Runs with the dataplane locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

#define P4_IDS(x) P4__CONFIG__V1__P4_IDS__PREFIX__##x

/* ---- byte strings ------------------------------------------------------ */

static bool value_fits(const uint8_t v[TDI_VALUE_BYTES], uint32_t bits)
{
	uint32_t full = bits / 8, rem = bits % 8;
	uint32_t lead = TDI_VALUE_BYTES - full - (rem ? 1 : 0);

	for (uint32_t i = 0; i < lead; i++)
		if (v[i])
			return false;
	return !rem || !(v[lead] & (uint8_t)(0xff << rem));
}

static void value_ones(uint8_t out[TDI_VALUE_BYTES], uint32_t bits)
{
	memset(out, 0, TDI_VALUE_BYTES);
	for (uint32_t b = 0; b < bits; b++)
		out[TDI_VALUE_BYTES - 1 - b / 8] |= (uint8_t)(1u << (b % 8));
}

static void prefix_mask(uint8_t out[TDI_VALUE_BYTES], uint32_t bits, uint32_t plen)
{
	uint8_t low[TDI_VALUE_BYTES];

	value_ones(out, bits);
	value_ones(low, bits - plen);
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		out[i] &= (uint8_t)~low[i];
}

static bool value_zero(const uint8_t v[TDI_VALUE_BYTES])
{
	for (int i = 0; i < TDI_VALUE_BYTES; i++)
		if (v[i])
			return false;
	return true;
}

int p4_bytes_to_value(const ProtobufCBinaryData *b, uint32_t bits, uint8_t out[TDI_VALUE_BYTES],
		      const char *what, struct ipdk_err *err)
{
	size_t skip = 0;

	memset(out, 0, TDI_VALUE_BYTES);
	if (!b->len)
		return ipdk_err_set(err, -EINVAL, "%s: empty byte string", what);
	/* padded forms are accepted: leading zero bytes carry no value */
	while (skip < b->len && !b->data[skip])
		skip++;
	if (b->len - skip > TDI_VALUE_BYTES)
		return ipdk_err_set(err, -ERANGE, "%s: %zu bytes do not fit in %u bits", what,
				    b->len - skip, bits);
	memcpy(out + TDI_VALUE_BYTES - (b->len - skip), b->data + skip, b->len - skip);
	if (!value_fits(out, bits))
		return ipdk_err_set(err, -ERANGE, "%s: value does not fit in %u bits", what, bits);
	return 0;
}

ProtobufCBinaryData p4_value_to_bytes(const uint8_t v[TDI_VALUE_BYTES], uint8_t *buf)
{
	ProtobufCBinaryData d;
	int i = 0;

	while (i < TDI_VALUE_BYTES - 1 && !v[i])
		i++;
	memcpy(buf, v + i, (size_t)(TDI_VALUE_BYTES - i));
	d.data = buf;
	d.len = (size_t)(TDI_VALUE_BYTES - i);
	return d;
}

/* ---- controller_metadata ------------------------------------------------ */

/* The specification deprecates controller_metadata in favour of metadata but
 * still asks servers to keep and return it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static uint64_t te_cookie(const P4__V1__TableEntry *te)
{
	return te->controller_metadata;
}

static uint64_t *te_cookie_ptr(P4__V1__TableEntry *te)
{
	return &te->controller_metadata;
}
#pragma GCC diagnostic pop

/* ---- actions ----------------------------------------------------------- */

static bool table_has_action(const struct p4m_table *t, uint32_t id)
{
	for (uint32_t i = 0; i < t->n_actions; i++)
		if (t->action_ids[i] == id)
			return true;
	return false;
}

/* A direct action (P4Info id + params) into e's TDI action. */
static int action_in(const struct p4_model *m, const P4__V1__Action *a, struct tdi_entry *e,
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

/* ---- action profile state --------------------------------------------- */

static struct p4m_member *member_find(struct p4m_profile *pr, uint32_t id)
{
	for (uint32_t i = 0; i < pr->n_members; i++)
		if (pr->members[i].id == id)
			return &pr->members[i];
	return NULL;
}

static struct p4m_group *group_find(struct p4m_profile *pr, uint32_t id)
{
	for (uint32_t i = 0; i < pr->n_groups; i++)
		if (pr->groups[i].id == id)
			return &pr->groups[i];
	return NULL;
}

static struct p4m_group *group_by_idx(struct p4m_profile *pr, uint32_t idx)
{
	for (uint32_t i = 0; i < pr->n_groups; i++)
		if (pr->groups[i].tdi_idx == idx)
			return &pr->groups[i];
	return NULL;
}

struct saved_profile {
	uint32_t n_members, n_groups;
	struct p4m_member *members;
	struct p4m_group *groups;
};

void *p4_profiles_save(const struct p4_model *m)
{
	struct saved_profile *s = calloc(m->n_profiles + 1, sizeof(*s));

	if (!s)
		return NULL;
	for (uint32_t i = 0; i < m->n_profiles; i++) {
		const struct p4m_profile *pr = &m->profiles[i];

		s[i].n_members = pr->n_members;
		s[i].n_groups = pr->n_groups;
		s[i].members = malloc((pr->n_members + 1) * sizeof(*s[i].members));
		s[i].groups = malloc((pr->n_groups + 1) * sizeof(*s[i].groups));
		if (!s[i].members || !s[i].groups)
			goto fail;
		memcpy(s[i].members, pr->members, pr->n_members * sizeof(*pr->members));
		for (uint32_t g = 0; g < pr->n_groups; g++) {
			struct p4m_group *dst = &s[i].groups[g];
			size_t n = pr->groups[g].n_members + 1;

			*dst = pr->groups[g];
			dst->members = malloc(n * sizeof(uint32_t));
			dst->weights = malloc(n * sizeof(uint32_t));
			if (!dst->members || !dst->weights) {
				free(dst->members);
				free(dst->weights);
				s[i].n_groups = g;
				goto fail;
			}
			memcpy(dst->members, pr->groups[g].members, (n - 1) * sizeof(uint32_t));
			memcpy(dst->weights, pr->groups[g].weights, (n - 1) * sizeof(uint32_t));
		}
	}
	return s;
fail:
	p4_profiles_drop(m, s);
	return NULL;
}

void p4_profiles_drop(const struct p4_model *m, void *saved)
{
	struct saved_profile *s = saved;

	if (!s)
		return;
	for (uint32_t i = 0; i < m->n_profiles; i++) {
		for (uint32_t g = 0; s[i].groups && g < s[i].n_groups; g++) {
			free(s[i].groups[g].members);
			free(s[i].groups[g].weights);
		}
		free(s[i].groups);
		free(s[i].members);
	}
	free(s);
}

void p4_profiles_restore(struct p4_model *m, void *saved)
{
	struct saved_profile *s = saved;

	p4_model_profiles_reset(m);
	for (uint32_t i = 0; i < m->n_profiles; i++) {
		struct p4m_profile *pr = &m->profiles[i];

		pr->members = s[i].members;
		pr->n_members = pr->cap_members = s[i].n_members;
		pr->groups = s[i].groups;
		pr->n_groups = pr->cap_groups = s[i].n_groups;
	}
	free(s);
}

/* Adjusts the reference count of what a TDI action of table t points at. */
static void action_ref(const struct p4_model *m, const struct p4m_table *t,
		       const struct tdi_entry *e, int delta)
{
	struct p4m_profile *pr;
	uint32_t v;

	if (!t->profile_id || !(pr = p4m_profile(m, t->profile_id)))
		return;
	v = ((uint32_t)e->params[0][12] << 24) | ((uint32_t)e->params[0][13] << 16) |
	    ((uint32_t)e->params[0][14] << 8) | e->params[0][15];
	if ((int32_t)e->action_id == t->member_action) {
		struct p4m_member *mb = member_find(pr, v);

		if (mb)
			mb->refs += delta;
	} else if ((int32_t)e->action_id == t->group_action) {
		struct p4m_group *g = group_by_idx(pr, v);

		if (g)
			g->refs += delta;
	}
}

static void put_u32(uint8_t v[TDI_VALUE_BYTES], uint32_t x)
{
	memset(v, 0, TDI_VALUE_BYTES);
	v[12] = (uint8_t)(x >> 24);
	v[13] = (uint8_t)(x >> 16);
	v[14] = (uint8_t)(x >> 8);
	v[15] = (uint8_t)x;
}

static uint32_t get_u32(const uint8_t v[TDI_VALUE_BYTES])
{
	return ((uint32_t)v[12] << 24) | ((uint32_t)v[13] << 16) | ((uint32_t)v[14] << 8) | v[15];
}

/* The TableAction of an entry into e's TDI action. */
static int table_action_in(const struct p4_model *m, const struct p4m_table *t,
			   const P4__V1__TableAction *ta, bool is_default, struct tdi_entry *e,
			   struct ipdk_err *err)
{
	const struct p4m_action *pa;
	struct p4m_profile *pr;
	int rc;

	if (!ta)
		return ipdk_err_set(err, -EINVAL, "table %s: the entry has no action", t->name);
	switch (ta->type_case) {
	case P4__V1__TABLE_ACTION__TYPE_ACTION:
		if (t->profile_id && !is_default)
			return ipdk_err_set(err, -EINVAL,
					    "table %s: implemented by an action profile, entries take a member or group id",
					    t->name);
		rc = action_in(m, ta->action, e, &pa, err);
		if (rc)
			return rc;
		if (!table_has_action(t, pa->id))
			return ipdk_err_set(err, -EINVAL, "table %s: action %s is not one of the table's actions",
					    t->name, pa->name);
		return 0;
	case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID:
	case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_GROUP_ID: {
		bool member = ta->type_case == P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID;
		uint32_t id = member ? ta->action_profile_member_id : ta->action_profile_group_id;

		pr = t->profile_id ? p4m_profile(m, t->profile_id) : NULL;
		if (!pr)
			return ipdk_err_set(err, -EINVAL, "table %s: not implemented by an action profile",
					    t->name);
		if (member) {
			if (t->member_action < 0)
				return ipdk_err_set(err, -ENOTSUP,
						    "table %s: the pipeline has no action that takes a member id",
						    t->name);
			if (!member_find(pr, id))
				return ipdk_err_set(err, -ENOENT, "action profile %s: no member %u",
						    pr->name, id);
			e->action_id = (uint32_t)t->member_action;
			put_u32(e->params[0], id);
		} else {
			struct p4m_group *g = group_find(pr, id);

			if (t->group_action < 0)
				return ipdk_err_set(err, -ENOTSUP,
						    "table %s: the pipeline has no action that takes a group id",
						    t->name);
			if (!g)
				return ipdk_err_set(err, -ENOENT, "action profile %s: no group %u",
						    pr->name, id);
			e->action_id = (uint32_t)t->group_action;
			put_u32(e->params[0], g->tdi_idx);
		}
		return 0;
	}
	case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_ACTION_SET:
		return ipdk_err_set(err, -ENOTSUP, "table %s: one-shot action profile programming is not supported",
				    t->name);
	default:
		return ipdk_err_set(err, -EINVAL, "table %s: the entry has no action", t->name);
	}
}

/* ---- table entries ----------------------------------------------------- */

static int key_in(const struct p4m_table *t, const P4__V1__TableEntry *te, struct tdi_entry *e,
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
		value_ones(full, f->bits);
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
			prefix_mask(v->mask, f->bits, v->prefix_len);
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
			if (value_zero(v->mask))
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
			if (value_zero(v->value) && !memcmp(v->high, full, TDI_VALUE_BYTES))
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
			value_ones(e->key[f->tdi_idx].high, f->bits);
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
		rc = table_action_in(m, t, te->action, true, &e, err);
		if (rc)
			return rc;
	}
	rc = tdi_default_set(tdi, &e, err);
	return rc ? rc : p4_meta_put(m, t, &e, true, te_cookie(te), &te->metadata, err);
}

static int table_entry_check(const struct p4_model *m, const P4__V1__TableEntry *te,
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
	rc = key_in(t, te, key, err);
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
		rc = table_action_in(m, t, te->action, false, act, err);
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

static int counter_data_check(struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			      const P4__V1__CounterData *d, struct ipdk_err *err);
static int counter_data_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			      uint64_t index, const struct tdi_entry *e, const P4__V1__CounterData *d,
			      struct ipdk_err *err);

static int meter_cfg_write(struct p4_model *m, struct tdi_dev *tdi, struct p4m_cell_obj *c,
			   uint64_t index, const struct tdi_entry *e, const P4__V1__MeterConfig *mc,
			   struct ipdk_err *err);

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
static int entry_meter_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_table *t,
			     struct p4m_cell_obj *c, const struct tdi_entry *e,
			     const P4__V1__MeterConfig *mc, struct ipdk_err *err)
{
	int64_t cfg[4];
	int rc = meter_cfg_write(m, tdi, c, 0, e, mc, err);

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
	return counter_data_check(tdi, *out, te->counter_data, err);
}

static int table_write(struct p4_model *m, struct tdi_dev *tdi, int type,
		       const P4__V1__TableEntry *te, struct ipdk_err *err)
{
	const struct p4m_cell_obj *dc;
	struct p4m_cell_obj *dm;
	const struct p4m_table *t;
	struct tdi_entry *e, *old;
	int rc;

	rc = table_entry_check(m, te, &t, err);
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
	rc = key_in(t, te, e, err);
	if (rc)
		goto out;
	*old = *e;
	switch (type) {
	case P4__V1__UPDATE__TYPE__INSERT:
		rc = table_action_in(m, t, te->action, false, e, err);
		if (!rc)
			rc = tdi_entry_add(tdi, e, err);
		if (!rc)
			action_ref(m, t, e, 1);
		break;
	case P4__V1__UPDATE__TYPE__MODIFY:
		rc = table_action_in(m, t, te->action, false, e, err);
		if (!rc)
			rc = tdi_entry_get(tdi, old, err);
		if (!rc)
			rc = tdi_entry_modify(tdi, e, err);
		if (!rc) {
			action_ref(m, t, old, -1);
			action_ref(m, t, e, 1);
		}
		break;
	case P4__V1__UPDATE__TYPE__DELETE:
		rc = tdi_entry_get(tdi, old, err);
		if (!rc)
			rc = tdi_entry_delete(tdi, e, err);
		if (!rc)
			action_ref(m, t, old, -1);
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
		rc = counter_data_write(m, tdi, dc, 0, old, te->counter_data, err);
	if (!rc && dm)
		rc = entry_meter_write(m, tdi, t, dm, old, te->meter_config, err);
	if (!rc && type == P4__V1__UPDATE__TYPE__DELETE && t->direct_meter_id)
		rc = p4_meter_cfg_put(m, t, old, NULL, err);
out:
	free(e);
	return rc;
}

/* ---- action profile members and groups -------------------------------- */

static int member_write(struct p4_model *m, struct tdi_dev *tdi, int type,
			const P4__V1__ActionProfileMember *am, struct ipdk_err *err)
{
	struct p4m_profile *pr = p4m_profile(m, am->action_profile_id);
	struct p4m_member *mb;
	struct tdi_entry e;
	const struct p4m_action *pa = NULL;
	int rc;

	if (!pr)
		return ipdk_err_set(err, -EINVAL, "unknown action profile id 0x%08x", am->action_profile_id);
	/* P4Runtime member ids are non-zero; on this target an empty group and
	 * a table miss select member 0, so it must never name a member */
	if (!am->member_id)
		return ipdk_err_set(err, -EINVAL, "action profile %s: member id 0 is not a valid id",
				    pr->name);
	mb = member_find(pr, am->member_id);
	memset(&e, 0, sizeof(e));
	if (type != P4__V1__UPDATE__TYPE__DELETE && pr->member_table >= 0) {
		if (!am->action)
			return ipdk_err_set(err, -EINVAL, "action profile %s: member %u has no action",
					    pr->name, am->member_id);
		rc = action_in(m, am->action, &e, &pa, err);
		if (rc)
			return rc;
		if (pr->n_table_ids) {
			const struct p4m_table *t = p4m_table(m, pr->table_ids[0]);

			if (t && !table_has_action(t, pa->id))
				return ipdk_err_set(err, -EINVAL,
						    "action profile %s: action %s is not one of its tables' actions",
						    pr->name, pa->name);
		}
	}
	e.table_id = pr->member_table >= 0 ? (uint32_t)pr->member_table : 0;
	put_u32(e.key[0].value, am->member_id);
	switch (type) {
	case P4__V1__UPDATE__TYPE__INSERT:
		if (mb)
			return ipdk_err_set(err, -EEXIST, "action profile %s: member %u exists",
					    pr->name, am->member_id);
		if (pr->size && pr->n_members >= pr->size)
			return ipdk_err_set(err, -ENOSPC, "action profile %s: full (%" PRIu64 " members)",
					    pr->name, pr->size);
		if (pr->member_table >= 0) {
			rc = tdi_entry_add(tdi, &e, err);
			if (rc)
				return rc;
		}
		if (p4_grow((void **)&pr->members, &pr->cap_members, pr->n_members, sizeof(*mb)))
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		mb = &pr->members[pr->n_members++];
		memset(mb, 0, sizeof(*mb));
		mb->id = am->member_id;
		mb->action = e;
		mb->p4_action_id = pa ? pa->id : 0;
		return 0;
	case P4__V1__UPDATE__TYPE__MODIFY:
		if (!mb)
			return ipdk_err_set(err, -ENOENT, "action profile %s: no member %u", pr->name,
					    am->member_id);
		if (pr->member_table >= 0) {
			rc = tdi_entry_modify(tdi, &e, err);
			if (rc)
				return rc;
		}
		mb->action = e;
		mb->p4_action_id = pa ? pa->id : 0;
		return 0;
	case P4__V1__UPDATE__TYPE__DELETE:
		if (!mb)
			return ipdk_err_set(err, -ENOENT, "action profile %s: no member %u", pr->name,
					    am->member_id);
		if (mb->refs)
			return ipdk_err_set(err, -EBUSY,
					    "action profile %s: member %u is used by %u groups or table entries",
					    pr->name, am->member_id, mb->refs);
		if (pr->member_table >= 0) {
			rc = tdi_entry_delete(tdi, &e, err);
			if (rc)
				return rc;
		}
		*mb = pr->members[--pr->n_members];
		return 0;
	}
	return ipdk_err_set(err, -EINVAL, "update type %d is not INSERT, MODIFY or DELETE", type);
}

/* The checks of a group's max_size and members (P4Runtime's rules on
 * max_size, the P4Info's size semantics, the target's members per group). */
static int group_members_check(struct p4m_profile *pr, const P4__V1__ActionProfileGroup *ag,
			       struct ipdk_err *err)
{
	uint32_t limit = ag->max_size > 0 ? (uint32_t)ag->max_size : pr->max_group_size;
	const char *unit = pr->sum_of_members ? "members" : "weight";
	uint64_t size = 0;

	if (ag->max_size < 0 || (pr->max_group_size && (uint32_t)ag->max_size > pr->max_group_size))
		return ipdk_err_set(err, -EINVAL, "action profile %s: group %u: max_size %d not in 0..%u",
				    pr->name, ag->group_id, ag->max_size, pr->max_group_size);
	/* without a P4Info limit, a max_size in members the target cannot
	 * hold is refused when the group is made */
	if (pr->sum_of_members && limit > pr->target_members)
		return ipdk_err_set(err, -ENOSPC,
				    "action profile %s: group %u: max_size %u, a group of this target holds at most %u members",
				    pr->name, ag->group_id, limit, pr->target_members);
	for (size_t i = 0; i < ag->n_members; i++) {
		const P4__V1__ActionProfileGroup__Member *gm = ag->members[i];

		if (gm->weight < 1)
			return ipdk_err_set(err, -EINVAL, "action profile %s: group %u: member %u: weight %d (at least 1)",
					    pr->name, ag->group_id, gm->member_id, gm->weight);
		if (pr->max_member_weight && (uint32_t)gm->weight > pr->max_member_weight)
			return ipdk_err_set(err, -EINVAL,
					    "action profile %s: group %u: member %u: weight %d above max_member_weight %u",
					    pr->name, ag->group_id, gm->member_id, gm->weight,
					    pr->max_member_weight);
		if (pr->member_table >= 0 && !member_find(pr, gm->member_id))
			return ipdk_err_set(err, -ENOENT, "action profile %s: group %u: no member %u",
					    pr->name, ag->group_id, gm->member_id);
		for (size_t k = 0; k < i; k++)
			if (ag->members[k]->member_id == gm->member_id)
				return ipdk_err_set(err, -EINVAL, "action profile %s: group %u: member %u listed twice",
						    pr->name, ag->group_id, gm->member_id);
		size += pr->sum_of_members ? 1 : (uint64_t)gm->weight;
	}
	if (limit && size > limit)
		return ipdk_err_set(err, -ENOSPC, "action profile %s: group %u: %s %" PRIu64 " above its %s %u",
				    pr->name, ag->group_id, unit, size,
				    ag->max_size > 0 ? "max_size" : "max_group_size", limit);
	if (ag->n_members > pr->target_members)
		return ipdk_err_set(err, -ENOSPC,
				    "action profile %s: group %u: %zu members, a group of this target holds at most %u",
				    pr->name, ag->group_id, ag->n_members, pr->target_members);
	return 0;
}

static void group_refs(struct p4m_profile *pr, const struct p4m_group *g, int delta)
{
	for (uint32_t i = 0; i < g->n_members; i++) {
		struct p4m_member *mb = member_find(pr, g->members[i]);

		if (mb)
			mb->refs += delta;
	}
}

/* Writes g's new membership into the selector (members not in ag removed). */
static int group_apply(struct tdi_dev *tdi, struct p4m_profile *pr, struct p4m_group *g,
		       const P4__V1__ActionProfileGroup *ag, struct ipdk_err *err)
{
	uint32_t *mem = calloc(ag->n_members + 1, sizeof(uint32_t));
	uint32_t *wt = calloc(ag->n_members + 1, sizeof(uint32_t));
	int rc = 0;

	if (!mem || !wt) {
		free(mem);
		free(wt);
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < g->n_members && !rc; i++) {
		bool keep = false;

		for (size_t k = 0; k < ag->n_members; k++)
			keep |= ag->members[k]->member_id == g->members[i];
		if (!keep)
			rc = tdi_selector_member_delete(tdi, (uint32_t)pr->selector, g->tdi_idx,
							g->members[i], err);
	}
	for (size_t k = 0; k < ag->n_members && !rc; k++) {
		mem[k] = ag->members[k]->member_id;
		wt[k] = (uint32_t)ag->members[k]->weight;
		rc = tdi_selector_member_set(tdi, (uint32_t)pr->selector, g->tdi_idx, mem[k], wt[k], err);
	}
	if (rc) {
		free(mem);
		free(wt);
		return rc;
	}
	group_refs(pr, g, -1);
	free(g->members);
	free(g->weights);
	g->members = mem;
	g->weights = wt;
	g->n_members = (uint32_t)ag->n_members;
	group_refs(pr, g, 1);
	return 0;
}

static int group_write(struct p4_model *m, struct tdi_dev *tdi, int type,
		       const P4__V1__ActionProfileGroup *ag, struct ipdk_err *err)
{
	struct p4m_profile *pr = p4m_profile(m, ag->action_profile_id);
	const struct tdi_table_info *sel;
	struct p4m_group *g;
	uint32_t idx;
	int rc;

	if (!pr)
		return ipdk_err_set(err, -EINVAL, "unknown action profile id 0x%08x", ag->action_profile_id);
	if (pr->selector < 0)
		return ipdk_err_set(err, -EINVAL, "action profile %s has no selector: no groups", pr->name);
	if (!ag->group_id)
		return ipdk_err_set(err, -EINVAL, "action profile %s: group id 0 is not a valid id", pr->name);
	sel = &tdi_dev_schema(tdi)->tables[pr->selector];
	g = group_find(pr, ag->group_id);
	if (type != P4__V1__UPDATE__TYPE__DELETE) {
		rc = group_members_check(pr, ag, err);
		if (rc)
			return rc;
	}
	switch (type) {
	case P4__V1__UPDATE__TYPE__INSERT:
		if (g)
			return ipdk_err_set(err, -EEXIST, "action profile %s: group %u exists", pr->name,
					    ag->group_id);
		if (pr->group_ids_direct) {
			idx = ag->group_id;
			if (idx >= sel->n_groups_max)
				return ipdk_err_set(err, -ENOSPC,
						    "action profile %s: group id %u, the selector's groups are 1..%u",
						    pr->name, idx, sel->n_groups_max - 1);
		} else {
			/* selector group 0 stays empty: it is what a table's
			 * default action (group id 0) and a miss select */
			for (idx = 1; idx < sel->n_groups_max && group_by_idx(pr, idx); idx++)
				;
			if (idx == sel->n_groups_max)
				return ipdk_err_set(err, -ENOSPC, "action profile %s: full (%u groups)",
						    pr->name, sel->n_groups_max);
		}
		rc = tdi_selector_group_add(tdi, (uint32_t)pr->selector, idx, err);
		if (rc)
			return rc;
		if (p4_grow((void **)&pr->groups, &pr->cap_groups, pr->n_groups, sizeof(*g)))
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		g = &pr->groups[pr->n_groups++];
		memset(g, 0, sizeof(*g));
		g->id = ag->group_id;
		g->tdi_idx = idx;
		g->max_size = (uint32_t)ag->max_size;
		rc = group_apply(tdi, pr, g, ag, err);
		if (rc) {
			struct ipdk_err ignore;

			tdi_selector_group_delete(tdi, (uint32_t)pr->selector, idx, &ignore);
			pr->n_groups--;
		}
		return rc;
	case P4__V1__UPDATE__TYPE__MODIFY:
		if (!g)
			return ipdk_err_set(err, -ENOENT, "action profile %s: no group %u", pr->name,
					    ag->group_id);
		if ((uint32_t)ag->max_size != g->max_size)
			return ipdk_err_set(err, -EINVAL,
					    "action profile %s: group %u: max_size %d, it was made with %u (it cannot change)",
					    pr->name, ag->group_id, ag->max_size, g->max_size);
		return group_apply(tdi, pr, g, ag, err);
	case P4__V1__UPDATE__TYPE__DELETE:
		if (!g)
			return ipdk_err_set(err, -ENOENT, "action profile %s: no group %u", pr->name,
					    ag->group_id);
		if (g->refs)
			return ipdk_err_set(err, -EBUSY, "action profile %s: group %u is used by %u table entries",
					    pr->name, ag->group_id, g->refs);
		rc = tdi_selector_group_delete(tdi, (uint32_t)pr->selector, g->tdi_idx, err);
		if (rc)
			return rc;
		group_refs(pr, g, -1);
		free(g->members);
		free(g->weights);
		*g = pr->groups[--pr->n_groups];
		return 0;
	}
	return ipdk_err_set(err, -EINVAL, "update type %d is not INSERT, MODIFY or DELETE", type);
}

/* ---- counters, meters, registers --------------------------------------- */

static int index_check(const struct p4m_cell_obj *c, const P4__V1__Index *ix, const char *what,
		       uint64_t *out, struct ipdk_err *err)
{
	if (!ix)
		return ipdk_err_set(err, -EINVAL, "%s %s: writes need an index", what, c->name);
	if (ix->index < 0 || (uint64_t)ix->index >= c->size)
		return ipdk_err_set(err, -ERANGE, "%s %s: index %" PRId64 " out of range (size %" PRIu64 ")",
				    what, c->name, ix->index, c->size);
	*out = (uint64_t)ix->index;
	return 0;
}

/* Checks d (counts for counter c) against the target's counter. */
static int counter_data_check(struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			      const P4__V1__CounterData *d, struct ipdk_err *err)
{
	enum tdi_counter_unit unit = tdi_dev_schema(tdi)->counters[c->tdi_id].unit;

	if (!d)
		return 0;
	if (d->packet_count < 0 || d->byte_count < 0)
		return ipdk_err_set(err, -EINVAL, "counter %s: negative count", c->name);
	/* checked here (TDI checks again when it runs) so the update fails, not
	 * the commit */
	if (d->packet_count && !(unit & TDI_COUNTER_PACKETS))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts bytes only, packet_count must be 0",
				    c->name);
	if (d->byte_count && !(unit & TDI_COUNTER_BYTES))
		return ipdk_err_set(err, -EINVAL, "counter %s: counts packets only, byte_count must be 0",
				    c->name);
	return 0;
}

/* Queues a counter write: d's counts, or 0 without d. */
static int counter_data_write(struct p4_model *m, struct tdi_dev *tdi, const struct p4m_cell_obj *c,
			      uint64_t index, const struct tdi_entry *e, const P4__V1__CounterData *d,
			      struct ipdk_err *err)
{
	struct p4_cell_op op = { .kind = P4_OP_COUNTER_WRITE, .c = (struct p4m_cell_obj *)c,
				 .index = index };
	int rc = counter_data_check(tdi, c, d, err);

	if (rc)
		return rc;
	if (d) {
		op.v[0] = (uint64_t)d->packet_count;
		op.v[1] = (uint64_t)d->byte_count;
	}
	if (e) {
		op.entry = e;
		op.n_keys = tdi_dev_schema(tdi)->tables[e->table_id].n_keys;
	}
	return p4_batch_defer(m, &op, err);
}

/* Queues a meter config (or a reset when mc is NULL). */
static int meter_cfg_write(struct p4_model *m, struct tdi_dev *tdi, struct p4m_cell_obj *c,
			   uint64_t index, const struct tdi_entry *e, const P4__V1__MeterConfig *mc,
			   struct ipdk_err *err)
{
	struct p4_cell_op op = { .kind = mc ? P4_OP_METER_SET : P4_OP_METER_RESET, .c = c,
				 .index = index };

	if (mc && (mc->cir < 0 || mc->cburst < 0 || mc->pir < 0 || mc->pburst < 0))
		return ipdk_err_set(err, -EINVAL, "meter %s: negative rate or burst", c->name);
	if (mc) {
		op.v[0] = (uint64_t)mc->cir;
		op.v[1] = (uint64_t)mc->cburst;
		op.v[2] = (uint64_t)mc->pir;
		op.v[3] = (uint64_t)mc->pburst;
	}
	if (e) {
		op.entry = e;
		op.n_keys = tdi_dev_schema(tdi)->tables[e->table_id].n_keys;
	}
	return p4_batch_defer(m, &op, err);
}

/* The TDI entry (key only) a direct resource's table entry names. */
static int direct_key(const struct p4_model *m, struct tdi_dev *tdi, const P4__V1__TableEntry *te,
		      uint32_t want_id,
		      const char *what, const struct p4m_table **tp, struct tdi_entry *e,
		      struct ipdk_err *err)
{
	int rc;

	if (!te)
		return ipdk_err_set(err, -EINVAL, "%s: no table entry given", what);
	rc = table_entry_check(m, te, tp, err);
	if (rc)
		return rc;
	if (!want_id)
		return ipdk_err_set(err, -EINVAL, "table %s: has no %s", (*tp)->name, what);
	if ((*tp)->ranges)
		return ipdk_err_set(err, -ENOTSUP, "table %s: %s of a table with expanded ranges",
				    (*tp)->name, what);
	memset(e, 0, sizeof(*e));
	e->table_id = (*tp)->tdi_id;
	rc = key_in(*tp, te, e, err);
	if (!rc) {
		/* the entry must exist now (or be inserted earlier in this batch) */
		struct tdi_entry *probe = malloc(sizeof(*probe));

		if (!probe)
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		*probe = *e;
		rc = tdi_entry_get(tdi, probe, err);
		free(probe);
		if (rc == -ENOENT)
			ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", (*tp)->name);
	}
	return rc;
}

static int cell_write(struct p4_model *m, struct tdi_dev *tdi, int type, const P4__V1__Entity *en,
		      struct ipdk_err *err)
{
	const struct p4m_table *t;
	struct tdi_entry e;
	uint64_t index;
	int rc;

	if (type != P4__V1__UPDATE__TYPE__MODIFY)
		return ipdk_err_set(err, -EINVAL, "counters, meters and registers only take MODIFY");
	switch (en->entity_case) {
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY: {
		const P4__V1__CounterEntry *ce = en->counter_entry;
		const struct p4m_cell_obj *c = p4m_cell(m->counters, m->n_counters, ce->counter_id);

		if (!c || c->direct)
			return ipdk_err_set(err, -EINVAL, "unknown counter id 0x%08x", ce->counter_id);
		rc = index_check(c, ce->index, "counter", &index, err);
		return rc ? rc : counter_data_write(m, tdi, c, index, NULL, ce->data, err);
	}
	case P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY: {
		const P4__V1__DirectCounterEntry *de = en->direct_counter_entry;
		const struct p4m_cell_obj *c;

		rc = direct_key(m, tdi, de->table_entry, 1, "direct counter", &t, &e, err);
		if (rc)
			return rc;
		c = p4m_cell(m->counters, m->n_counters, t->direct_counter_id);
		if (!c)
			return ipdk_err_set(err, -EINVAL, "table %s: has no direct counter", t->name);
		return counter_data_write(m, tdi, c, 0, &e, de->data, err);
	}
	case P4__V1__ENTITY__ENTITY_METER_ENTRY: {
		const P4__V1__MeterEntry *me = en->meter_entry;
		struct p4m_cell_obj *c = (struct p4m_cell_obj *)p4m_cell(m->meters, m->n_meters,
									   me->meter_id);

		if (!c || c->direct)
			return ipdk_err_set(err, -EINVAL, "unknown meter id 0x%08x", me->meter_id);
		rc = index_check(c, me->index, "meter", &index, err);
		return rc ? rc : meter_cfg_write(m, tdi, c, index, NULL, me->config, err);
	}
	case P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY: {
		const P4__V1__DirectMeterEntry *de = en->direct_meter_entry;
		struct p4m_cell_obj *c;

		rc = direct_key(m, tdi, de->table_entry, 1, "direct meter", &t, &e, err);
		if (rc)
			return rc;
		c = (struct p4m_cell_obj *)p4m_cell(m->meters, m->n_meters, t->direct_meter_id);
		if (!c)
			return ipdk_err_set(err, -EINVAL, "table %s: has no direct meter", t->name);
		return entry_meter_write(m, tdi, t, c, &e, de->config, err);
	}
	case P4__V1__ENTITY__ENTITY_REGISTER_ENTRY: {
		const P4__V1__RegisterEntry *re = en->register_entry;
		const struct p4m_cell_obj *c = p4m_cell(m->registers, m->n_registers, re->register_id);
		uint8_t v[TDI_VALUE_BYTES];
		uint64_t x = 0;

		if (!c)
			return ipdk_err_set(err, -EINVAL, "unknown register id 0x%08x", re->register_id);
		rc = index_check(c, re->index, "register", &index, err);
		if (rc)
			return rc;
		if (!re->data || re->data->data_case != P4__V1__P4_DATA__DATA_BITSTRING)
			return ipdk_err_set(err, -EINVAL, "register %s: data must be a bitstring", c->name);
		rc = p4_bytes_to_value(&re->data->bitstring, c->bits > 64 ? 64 : c->bits, v,
				       c->name, err);
		if (rc)
			return rc;
		for (int i = 8; i < TDI_VALUE_BYTES; i++)
			x = x << 8 | v[i];
		{
			struct p4_cell_op op = { .kind = P4_OP_REGISTER, .c = (struct p4m_cell_obj *)c,
						 .index = index, .v = { x } };

			return p4_batch_defer(m, &op, err);
		}
	}
	default:
		return ipdk_err_set(err, -EINVAL, "not a counter, meter or register");
	}
}

/* ---- parser value sets -------------------------------------------------- */

static const struct p4m_table *vset_find(const struct p4_model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->n_vsets; i++)
		if (m->vsets[i].id == id)
			return &m->vsets[i];
	return NULL;
}

static int collect_entry(const struct tdi_entry *e, void *arg)
{
	struct tdi_entry **out = arg;

	**out = *e;
	(*out)++;
	return 0;
}

/* A value set's member as the TDI entry of its spec table; members of sets
 * with ternary, range or optional fields all take priority 1 (whichever
 * member matches, the set is hit). */
static int member_in(const struct p4m_table *v, const P4__V1__ValueSetMember *vm,
		     struct tdi_entry *e, struct ipdk_err *err)
{
	P4__V1__TableEntry te = P4__V1__TABLE_ENTRY__INIT;

	te.table_id = v->id;
	te.n_match = vm->n_match;
	te.match = vm->match;
	te.priority = v->has_priority ? 1 : 0;
	memset(e, 0, sizeof(*e));
	e->table_id = v->tdi_id;
	e->action_id = (uint32_t)v->member_action;
	return key_in(v, &te, e, err);
}

/* MODIFY replaces the set's members (the only update a value set takes). */
static int vset_write(const struct p4_model *m, struct tdi_dev *tdi, int type,
		      const P4__V1__ValueSetEntry *ve, struct ipdk_err *err)
{
	const struct p4m_table *v = vset_find(m, ve->value_set_id);
	uint64_t n_old = v ? tdi_entry_count(tdi, v->tdi_id) : 0;
	struct tdi_entry *olds, *news, *end;
	int rc = 0;

	if (!v)
		return ipdk_err_set(err, -EINVAL, "unknown value set id 0x%08x", ve->value_set_id);
	if (type != P4__V1__UPDATE__TYPE__MODIFY)
		return ipdk_err_set(err, -EINVAL, "value set %s: only MODIFY (it replaces the members)",
				    v->name);
	if (ve->n_members > v->size)
		return ipdk_err_set(err, -ENOSPC, "value set %s: %zu members, it holds %" PRIu64,
				    v->name, ve->n_members, v->size);
	olds = calloc(n_old + ve->n_members + 1, sizeof(*olds));
	if (!olds)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	news = olds + n_old;
	for (size_t i = 0; i < ve->n_members && !rc; i++) {
		rc = member_in(v, ve->members[i], &news[i], err);
		for (size_t k = 0; k < i && !rc; k++)
			if (!memcmp(news[k].key, news[i].key, sizeof(news[i].key)))
				rc = ipdk_err_set(err, -EINVAL, "value set %s: member %zu is member %zu again",
						  v->name, i, k);
		if (rc)
			ipdk_err_prefix(err, "value set %s member %zu", v->name, i);
	}
	end = olds;
	if (!rc)
		rc = tdi_entry_iterate(tdi, v->tdi_id, collect_entry, &end);
	for (struct tdi_entry *o = olds; o < end && !rc; o++)
		rc = tdi_entry_delete(tdi, o, err);
	for (size_t i = 0; i < ve->n_members && !rc; i++)
		rc = tdi_entry_add(tdi, &news[i], err);
	free(olds);
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
		return member_write(m, tdi, u->type, en->action_profile_member, err);
	case P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP:
		return group_write(m, tdi, u->type, en->action_profile_group, err);
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_METER_ENTRY:
	case P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY:
	case P4__V1__ENTITY__ENTITY_REGISTER_ENTRY:
		return cell_write(m, tdi, u->type, en, err);
	case P4__V1__ENTITY__ENTITY_VALUE_SET_ENTRY:
		return vset_write(m, tdi, u->type, en->value_set_entry, err);
	case P4__V1__ENTITY__ENTITY_PACKET_REPLICATION_ENGINE_ENTRY:
		return p4_pre_write(tdi, u->type, en->packet_replication_engine_entry, err);
	case P4__V1__ENTITY__ENTITY__NOT_SET:
		return ipdk_err_set(err, -EINVAL, "update without an entity");
	default:
		return ipdk_err_set(err, -ENOTSUP, "entity kind %d is not supported by this target",
				    en->entity_case);
	}
}

/* ---- reads ------------------------------------------------------------- */

/* Everything one read entity needs; freed after emit(). */
struct out_entry {
	P4__V1__Entity en;
	P4__V1__TableEntry te;
	P4__V1__TableAction ta;
	P4__V1__Action act;
	P4__V1__Action__Param params[TDI_MAX_PARAMS];
	P4__V1__Action__Param *pparams[TDI_MAX_PARAMS];
	P4__V1__FieldMatch fm[TDI_MAX_KEY_FIELDS];
	P4__V1__FieldMatch *pfm[TDI_MAX_KEY_FIELDS];
	union p4_field_kind kinds[TDI_MAX_KEY_FIELDS];
	uint8_t buf[TDI_MAX_KEY_FIELDS + TDI_MAX_PARAMS][2][TDI_VALUE_BYTES];
	P4__V1__CounterData cd;
	P4__V1__MeterConfig mc;
	P4__V1__MeterCounterData mcd;
	P4__V1__CounterData colors[3];
	P4__V1__Index ix;
	P4__V1__CounterEntry ce;
	P4__V1__DirectCounterEntry dce;
	P4__V1__MeterEntry me;
	P4__V1__DirectMeterEntry dme;
	P4__V1__RegisterEntry re;
	P4__V1__P4Data data;
	P4__V1__ActionProfileMember am;
	P4__V1__ActionProfileGroup ag;
	P4__V1__ActionProfileGroup__Member **gmp;
	P4__V1__ActionProfileGroup__Member *gm;
};

static void out_init(struct out_entry *o)
{
	memset(o, 0, sizeof(*o));
	p4__v1__entity__init(&o->en);
	p4__v1__table_entry__init(&o->te);
	p4__v1__table_action__init(&o->ta);
	p4__v1__action__init(&o->act);
}

static void action_out(const struct p4_model *m, const struct tdi_entry *e, struct out_entry *o,
		       P4__V1__Action *act)
{
	const struct p4m_action *pa = p4m_action_by_tdi(m, e->action_id);

	p4__v1__action__init(act);
	if (!pa)
		return;
	act->action_id = pa->id;
	act->params = o->pparams;
	for (uint32_t k = 0; k < pa->n_params; k++) {
		P4__V1__Action__Param *p = &o->params[k];

		p4__v1__action__param__init(p);
		p->param_id = pa->params[k].id;
		p->value = p4_value_to_bytes(e->params[pa->params[k].tdi_idx],
					     o->buf[TDI_MAX_KEY_FIELDS + k][0]);
		o->pparams[act->n_params++] = p;
	}
}

/* The kept direct meter config of e into o->mc; false: none. */
static bool meter_cfg_out(const struct p4m_table *t, const struct tdi_entry *e,
			  struct out_entry *o)
{
	int64_t cfg[4];

	if (!t->direct_meter_id || !p4_meter_cfg_get(t, e, cfg))
		return false;
	p4__v1__meter_config__init(&o->mc);
	o->mc.cir = cfg[0];
	o->mc.cburst = cfg[1];
	o->mc.pir = cfg[2];
	o->mc.pburst = cfg[3];
	return true;
}

static void table_entry_out(const struct p4_model *m, const struct p4m_table *t,
			    const struct tdi_entry *e, bool is_default, struct out_entry *o)
{
	P4__V1__TableEntry *te = &o->te;
	uint8_t full[TDI_VALUE_BYTES];

	te->table_id = t->id;
	te->is_default_action = is_default;
	te->priority = (int32_t)e->priority;
	te->match = o->pfm;
	for (uint32_t k = 0; k < t->n_fields && !is_default; k++) {
		const struct p4m_field *f = &t->fields[k];
		const struct tdi_field_value *v = &e->key[f->tdi_idx];
		P4__V1__FieldMatch *fm = &o->fm[k];

		p4__v1__field_match__init(fm);
		fm->field_id = f->id;
		value_ones(full, f->bits);
		switch (f->match) {
		case TDI_MATCH_EXACT:
			p4__v1__field_match__exact__init(&o->kinds[k].exact);
			o->kinds[k].exact.value = p4_value_to_bytes(v->value, o->buf[k][0]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT;
			fm->exact = &o->kinds[k].exact;
			break;
		case TDI_MATCH_LPM:
			if (!v->prefix_len)
				continue;
			p4__v1__field_match__lpm__init(&o->kinds[k].lpm);
			o->kinds[k].lpm.value = p4_value_to_bytes(v->value, o->buf[k][0]);
			o->kinds[k].lpm.prefix_len = (int32_t)v->prefix_len;
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM;
			fm->lpm = &o->kinds[k].lpm;
			break;
		case TDI_MATCH_TERNARY:
			if (value_zero(v->mask))
				continue;
			p4__v1__field_match__ternary__init(&o->kinds[k].ternary);
			o->kinds[k].ternary.value = p4_value_to_bytes(v->value, o->buf[k][0]);
			o->kinds[k].ternary.mask = p4_value_to_bytes(v->mask, o->buf[k][1]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY;
			fm->ternary = &o->kinds[k].ternary;
			break;
		case TDI_MATCH_RANGE:
			if (value_zero(v->value) && !memcmp(v->high, full, TDI_VALUE_BYTES))
				continue;
			p4__v1__field_match__range__init(&o->kinds[k].range);
			o->kinds[k].range.low = p4_value_to_bytes(v->value, o->buf[k][0]);
			o->kinds[k].range.high = p4_value_to_bytes(v->high, o->buf[k][1]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE;
			fm->range = &o->kinds[k].range;
			break;
		case TDI_MATCH_OPTIONAL:
			if (value_zero(v->mask))
				continue;
			p4__v1__field_match__optional__init(&o->kinds[k].optional);
			o->kinds[k].optional.value = p4_value_to_bytes(v->value, o->buf[k][0]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL;
			fm->optional = &o->kinds[k].optional;
			break;
		}
		o->pfm[te->n_match++] = fm;
	}
	te->action = &o->ta;
	p4_meta_get(t, e, is_default, te_cookie_ptr(te), &te->metadata);
	if (!is_default && meter_cfg_out(t, e, o))
		te->meter_config = &o->mc;
	if (t->profile_id && !is_default &&
	    ((int32_t)e->action_id == t->member_action || (int32_t)e->action_id == t->group_action)) {
		struct p4m_profile *pr = p4m_profile(m, t->profile_id);
		uint32_t v = get_u32(e->params[0]);

		if ((int32_t)e->action_id == t->member_action) {
			o->ta.type_case = P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID;
			o->ta.action_profile_member_id = v;
		} else {
			struct p4m_group *g = pr ? group_by_idx(pr, v) : NULL;

			o->ta.type_case = P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_GROUP_ID;
			o->ta.action_profile_group_id = g ? g->id : v;
		}
		return;
	}
	action_out(m, e, o, &o->act);
	o->ta.type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
	o->ta.action = &o->act;
	if (is_default ? t->const_default_action_id != 0 : t->is_const)
		te->const_ = true;
}

static P4__V1__MeterCounterData *meter_colors_out(struct out_entry *o, const uint64_t pk[3]);

struct table_read {
	const struct p4_model *m;
	struct tdi_dev *tdi;
	const struct p4m_table *t;
	const P4__V1__TableEntry *want;
	int (*emit)(P4__V1__Entity *e, void *arg);
	void *arg;
	struct out_entry *o;
};

static void direct_counter_out(struct table_read *r, const struct tdi_entry *e)
{
	const struct p4m_cell_obj *c;
	uint64_t pk = 0, by = 0;
	struct ipdk_err ignore;

	if (!r->want || !r->want->counter_data || !r->t->direct_counter_id || r->t->ranges)
		return;
	c = p4m_cell(r->m->counters, r->m->n_counters, r->t->direct_counter_id);
	if (!c || tdi_counter_read(r->tdi, c->tdi_id, 0, e, &pk, &by, &ignore))
		return;
	p4__v1__counter_data__init(&r->o->cd);
	r->o->cd.packet_count = (int64_t)pk;
	r->o->cd.byte_count = (int64_t)by;
	r->o->te.counter_data = &r->o->cd;
}

/* The per-colour counts of e's direct meter, when the read asks for them. */
static void direct_meter_out(struct table_read *r, const struct tdi_entry *e)
{
	const struct p4m_cell_obj *c;
	struct ipdk_err ignore;
	uint64_t pk[3];

	if (!r->want || !r->want->meter_counter_data || !r->t->direct_meter_id || r->t->ranges)
		return;
	c = p4m_cell(r->m->meters, r->m->n_meters, r->t->direct_meter_id);
	if (c && !tdi_meter_stats(r->tdi, c->tdi_id, 0, e, pk, &ignore))
		r->o->te.meter_counter_data = meter_colors_out(r->o, pk);
}

static int table_read_one(const struct tdi_entry *e, void *arg)
{
	struct table_read *r = arg;

	out_init(r->o);
	table_entry_out(r->m, r->t, e, false, r->o);
	direct_counter_out(r, e);
	direct_meter_out(r, e);
	r->o->en.entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	r->o->en.table_entry = &r->o->te;
	return r->emit(&r->o->en, r->arg);
}

/* A stored P4Runtime key of a range table, with the action of its first
 * value/mask entry. */
static int range_read_one(const struct tdi_entry *key, void *arg)
{
	struct table_read *r = arg;
	struct tdi_entry *subs = NULL, *e = malloc(sizeof(*e));
	struct ipdk_err err;
	uint32_t n;
	int rc = -ENOMEM;

	if (e && !p4_range_expand(r->t, key, &subs, &n, &err) && !tdi_entry_get(r->tdi, subs, &err)) {
		*e = *key;
		e->action_id = subs->action_id;
		memcpy(e->params, subs->params, sizeof(e->params));
		rc = table_read_one(e, r);
	} else if (e) {
		rc = 0;         /* not in the target (cannot happen): nothing to show */
	}
	free(subs);
	free(e);
	return rc;
}

static int table_read(struct table_read *r, struct ipdk_err *err)
{
	const P4__V1__TableEntry *want = r->want;
	struct tdi_entry e;
	int rc;

	if (want && want->is_default_action) {
		rc = tdi_default_get(r->tdi, r->t->tdi_id, &e, err);
		if (rc)
			return rc;
		out_init(r->o);
		table_entry_out(r->m, r->t, &e, true, r->o);
		r->o->en.entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
		r->o->en.table_entry = &r->o->te;
		return r->emit(&r->o->en, r->arg);
	}
	if (want && want->n_match) {
		memset(&e, 0, sizeof(e));
		e.table_id = r->t->tdi_id;
		rc = key_in(r->t, want, &e, err);
		if (rc)
			return rc;
		if (r->t->ranges)
			return p4_range_present(r->t, &e) ? range_read_one(&e, r) : 0;
		rc = tdi_entry_get(r->tdi, &e, err);
		if (rc == -ENOENT)
			return 0;       /* a read of an absent entry returns nothing */
		return rc ? rc : table_read_one(&e, r);
	}
	if (r->t->ranges)
		return p4_range_iterate(r->t, range_read_one, r);
	return tdi_entry_iterate(r->tdi, r->t->tdi_id, table_read_one, r);
}

/* Per-color packet counts of a meter cell. */
static P4__V1__MeterCounterData *meter_colors_out(struct out_entry *o, const uint64_t pk[3])
{
	p4__v1__meter_counter_data__init(&o->mcd);
	for (int col = 0; col < 3; col++) {
		p4__v1__counter_data__init(&o->colors[col]);
		o->colors[col].packet_count = (int64_t)pk[col];
	}
	o->mcd.green = &o->colors[0];
	o->mcd.yellow = &o->colors[1];
	o->mcd.red = &o->colors[2];
	return &o->mcd;
}

static int cells_read(const struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Entity *want,
		      struct out_entry *o, int (*emit)(P4__V1__Entity *e, void *arg), void *arg,
		      struct ipdk_err *err)
{
	const struct p4m_cell_obj *arr;
	uint32_t n, id;
	const P4__V1__Index *ix;
	int rc;

	switch (want->entity_case) {
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY:
		arr = m->counters, n = m->n_counters;
		id = want->counter_entry->counter_id, ix = want->counter_entry->index;
		break;
	case P4__V1__ENTITY__ENTITY_METER_ENTRY:
		arr = m->meters, n = m->n_meters;
		id = want->meter_entry->meter_id, ix = want->meter_entry->index;
		break;
	default:
		arr = m->registers, n = m->n_registers;
		id = want->register_entry->register_id, ix = want->register_entry->index;
		break;
	}
	if (id && (!p4m_cell(arr, n, id) || p4m_cell(arr, n, id)->direct))
		return ipdk_err_set(err, -EINVAL, "unknown id 0x%08x", id);
	for (uint32_t i = 0; i < n; i++) {
		const struct p4m_cell_obj *c = &arr[i];
		uint64_t lo = 0, hi = c->size;

		if (c->direct || (id && c->id != id))
			continue;
		if (ix) {
			if (ix->index < 0 || (uint64_t)ix->index >= c->size)
				return ipdk_err_set(err, -ERANGE, "%s: index %" PRId64 " out of range (size %" PRIu64 ")",
						    c->name, ix->index, c->size);
			lo = (uint64_t)ix->index, hi = lo + 1;
		}
		for (uint64_t k = lo; k < hi; k++) {
			out_init(o);
			p4__v1__index__init(&o->ix);
			o->ix.index = (int64_t)k;
			if (want->entity_case == P4__V1__ENTITY__ENTITY_COUNTER_ENTRY) {
				uint64_t pk, by;

				rc = tdi_counter_read(tdi, c->tdi_id, k, NULL, &pk, &by, err);
				if (rc)
					return rc;
				p4__v1__counter_entry__init(&o->ce);
				p4__v1__counter_data__init(&o->cd);
				o->cd.packet_count = (int64_t)pk;
				o->cd.byte_count = (int64_t)by;
				o->ce.counter_id = c->id;
				o->ce.index = &o->ix;
				o->ce.data = &o->cd;
				o->en.entity_case = P4__V1__ENTITY__ENTITY_COUNTER_ENTRY;
				o->en.counter_entry = &o->ce;
			} else if (want->entity_case == P4__V1__ENTITY__ENTITY_METER_ENTRY) {
				uint64_t pk[3] = { 0 };

				p4__v1__meter_entry__init(&o->me);
				o->me.meter_id = c->id;
				o->me.index = &o->ix;
				if (c->meter_cfg && (c->meter_cfg[k][0] || c->meter_cfg[k][2])) {
					p4__v1__meter_config__init(&o->mc);
					o->mc.cir = c->meter_cfg[k][0];
					o->mc.cburst = c->meter_cfg[k][1];
					o->mc.pir = c->meter_cfg[k][2];
					o->mc.pburst = c->meter_cfg[k][3];
					o->me.config = &o->mc;
				}
				if (!tdi_meter_stats(tdi, c->tdi_id, k, NULL, pk, err))
					o->me.counter_data = meter_colors_out(o, pk);
				o->en.entity_case = P4__V1__ENTITY__ENTITY_METER_ENTRY;
				o->en.meter_entry = &o->me;
			} else {
				uint64_t v;
				uint8_t raw[TDI_VALUE_BYTES] = { 0 };

				rc = tdi_register_read(tdi, c->tdi_id, k, &v, err);
				if (rc)
					return rc;
				for (int b = 0; b < 8; b++)
					raw[TDI_VALUE_BYTES - 1 - b] = (uint8_t)(v >> (8 * b));
				p4__v1__register_entry__init(&o->re);
				p4__v1__p4_data__init(&o->data);
				o->data.data_case = P4__V1__P4_DATA__DATA_BITSTRING;
				o->data.bitstring = p4_value_to_bytes(raw, o->buf[0][0]);
				o->re.register_id = c->id;
				o->re.index = &o->ix;
				o->re.data = &o->data;
				o->en.entity_case = P4__V1__ENTITY__ENTITY_REGISTER_ENTRY;
				o->en.register_entry = &o->re;
			}
			rc = emit(&o->en, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

struct direct_read {
	const struct p4_model *m;
	struct tdi_dev *tdi;
	const struct p4m_table *t;
	bool meter;
	int (*emit)(P4__V1__Entity *e, void *arg);
	void *arg;
	struct out_entry *o;
};

static int direct_read_one(const struct tdi_entry *e, void *arg)
{
	struct direct_read *r = arg;
	struct out_entry *o = r->o;
	struct ipdk_err err;
	const struct p4m_cell_obj *c;

	out_init(o);
	table_entry_out(r->m, r->t, e, false, o);
	/* the entry names the cell: its key only */
	o->te.action = NULL;
	o->te.meter_config = NULL;
	*te_cookie_ptr(&o->te) = 0;
	o->te.metadata.len = 0;
	if (!r->meter) {
		uint64_t pk, by;

		c = p4m_cell(r->m->counters, r->m->n_counters, r->t->direct_counter_id);
		if (!c || tdi_counter_read(r->tdi, c->tdi_id, 0, e, &pk, &by, &err))
			return 0;
		p4__v1__direct_counter_entry__init(&o->dce);
		p4__v1__counter_data__init(&o->cd);
		o->cd.packet_count = (int64_t)pk;
		o->cd.byte_count = (int64_t)by;
		o->dce.table_entry = &o->te;
		o->dce.data = &o->cd;
		o->en.entity_case = P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY;
		o->en.direct_counter_entry = &o->dce;
	} else {
		uint64_t pk[3];

		c = p4m_cell(r->m->meters, r->m->n_meters, r->t->direct_meter_id);
		p4__v1__direct_meter_entry__init(&o->dme);
		o->dme.table_entry = &o->te;
		if (meter_cfg_out(r->t, e, o))
			o->dme.config = &o->mc;
		if (c && !tdi_meter_stats(r->tdi, c->tdi_id, 0, e, pk, &err))
			o->dme.counter_data = meter_colors_out(o, pk);
		o->en.entity_case = P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY;
		o->en.direct_meter_entry = &o->dme;
	}
	return r->emit(&o->en, r->arg);
}

static int direct_read(const struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Entity *want,
		       struct out_entry *o, int (*emit)(P4__V1__Entity *e, void *arg), void *arg,
		       struct ipdk_err *err)
{
	bool meter = want->entity_case == P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY;
	const P4__V1__TableEntry *te = meter ? want->direct_meter_entry->table_entry
				      : want->direct_counter_entry->table_entry;
	struct direct_read r = { m, tdi, NULL, meter, emit, arg, o };
	int rc;

	for (uint32_t i = 0; i < m->n_tables; i++) {
		const struct p4m_table *t = &m->tables[i];

		if (!(meter ? t->direct_meter_id : t->direct_counter_id) || t->ranges)
			continue;
		if (te && te->table_id && te->table_id != t->id)
			continue;
		r.t = t;
		if (te && te->n_match) {
			struct tdi_entry e;

			memset(&e, 0, sizeof(e));
			e.table_id = t->tdi_id;
			rc = key_in(t, te, &e, err);
			if (!rc)
				rc = tdi_entry_get(tdi, &e, err);
			if (rc == -ENOENT)
				return ipdk_err_set(err, -ENOENT, "table %s: no entry with this key", t->name);
			if (!rc)
				rc = direct_read_one(&e, &r);
		} else {
			rc = tdi_entry_iterate(tdi, t->tdi_id, direct_read_one, &r);
		}
		if (rc)
			return rc;
	}
	if (te && te->table_id && !p4m_table(m, te->table_id))
		return ipdk_err_set(err, -EINVAL, "unknown table id 0x%08x", te->table_id);
	return 0;
}

static int profiles_read(const struct p4_model *m, const P4__V1__Entity *want, struct out_entry *o,
			 int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err)
{
	bool groups = want->entity_case == P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP;
	uint32_t pid = groups ? want->action_profile_group->action_profile_id
			      : want->action_profile_member->action_profile_id;
	uint32_t oid = groups ? want->action_profile_group->group_id
			      : want->action_profile_member->member_id;
	int rc;

	if (pid && !p4m_profile(m, pid))
		return ipdk_err_set(err, -EINVAL, "unknown action profile id 0x%08x", pid);
	for (uint32_t i = 0; i < m->n_profiles; i++) {
		struct p4m_profile *pr = &m->profiles[i];

		if (pid && pr->id != pid)
			continue;
		for (uint32_t k = 0; k < (groups ? pr->n_groups : pr->n_members); k++) {
			out_init(o);
			if (groups) {
				const struct p4m_group *g = &pr->groups[k];

				if (oid && g->id != oid)
					continue;
				p4__v1__action_profile_group__init(&o->ag);
				o->ag.action_profile_id = pr->id;
				o->ag.group_id = g->id;
				o->ag.max_size = (int32_t)g->max_size;
				o->gm = calloc(g->n_members + 1, sizeof(*o->gm));
				o->gmp = calloc(g->n_members + 1, sizeof(*o->gmp));
				if (!o->gm || !o->gmp) {
					free(o->gm);
					free(o->gmp);
					return ipdk_err_set(err, -ENOMEM, "out of memory");
				}
				o->ag.members = o->gmp;
				for (uint32_t j = 0; j < g->n_members; j++) {
					P4__V1__ActionProfileGroup__Member *mm = &o->gm[j];

					p4__v1__action_profile_group__member__init(mm);
					mm->member_id = g->members[j];
					mm->weight = (int32_t)g->weights[j];
					o->ag.members[o->ag.n_members++] = mm;
				}
				o->en.entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP;
				o->en.action_profile_group = &o->ag;
			} else {
				const struct p4m_member *mb = &pr->members[k];

				if (oid && mb->id != oid)
					continue;
				p4__v1__action_profile_member__init(&o->am);
				o->am.action_profile_id = pr->id;
				o->am.member_id = mb->id;
				if (mb->p4_action_id) {
					action_out(m, &mb->action, o, &o->act);
					o->am.action = &o->act;
				}
				o->en.entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER;
				o->en.action_profile_member = &o->am;
			}
			rc = emit(&o->en, arg);
			free(o->gm);
			free(o->gmp);
			o->gm = NULL;
			o->gmp = NULL;
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int vsets_read(const struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Entity *want,
		      int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err)
{
	uint32_t id = want->value_set_entry->value_set_id;
	int rc = 0;

	if (id && !vset_find(m, id))
		return ipdk_err_set(err, -EINVAL, "unknown value set id 0x%08x", id);
	for (uint32_t i = 0; i < m->n_vsets && !rc; i++) {
		const struct p4m_table *v = &m->vsets[i];
		uint64_t n = tdi_entry_count(tdi, v->tdi_id);
		struct tdi_entry *es = calloc(n + 1, sizeof(*es)), *end = es;
		struct out_entry *os = calloc(n + 1, sizeof(*os));
		P4__V1__ValueSetMember *vm = calloc(n + 1, sizeof(*vm)), **pvm = calloc(n + 1, sizeof(*pvm));
		P4__V1__ValueSetEntry ve = P4__V1__VALUE_SET_ENTRY__INIT;
		P4__V1__Entity en = P4__V1__ENTITY__INIT;

		if (id && v->id != id) {
			free(es), free(os), free(vm), free(pvm);
			continue;
		}
		if (!es || !os || !vm || !pvm)
			rc = ipdk_err_set(err, -ENOMEM, "out of memory");
		else
			rc = tdi_entry_iterate(tdi, v->tdi_id, collect_entry, &end);
		ve.value_set_id = v->id;
		ve.members = pvm;
		for (struct tdi_entry *e = es; e < end && !rc; e++) {
			struct out_entry *o = &os[ve.n_members];

			out_init(o);
			table_entry_out(m, v, e, false, o);
			p4__v1__value_set_member__init(&vm[ve.n_members]);
			vm[ve.n_members].n_match = o->te.n_match;
			vm[ve.n_members].match = o->te.match;
			pvm[ve.n_members] = &vm[ve.n_members];
			ve.n_members++;
		}
		en.entity_case = P4__V1__ENTITY__ENTITY_VALUE_SET_ENTRY;
		en.value_set_entry = &ve;
		if (!rc)
			rc = emit(&en, arg);
		free(es), free(os), free(vm), free(pvm);
	}
	return rc;
}

int p4_read_entity(struct p4_model *m, struct tdi_dev *tdi, const P4__V1__Entity *want,
		   int (*emit)(P4__V1__Entity *e, void *arg), void *arg, struct ipdk_err *err)
{
	struct out_entry *o = malloc(sizeof(*o));
	int rc = 0;

	if (!o)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	switch (want->entity_case) {
	case P4__V1__ENTITY__ENTITY_TABLE_ENTRY: {
		const P4__V1__TableEntry *te = want->table_entry;
		struct table_read r = { m, tdi, NULL, te, emit, arg, o };

		if (te->table_id && !p4m_table(m, te->table_id)) {
			rc = ipdk_err_set(err, -EINVAL, "unknown table id 0x%08x", te->table_id);
			break;
		}
		if (!te->table_id && (te->n_match || te->is_default_action)) {
			rc = ipdk_err_set(err, -EINVAL, "a read with a match or default flag needs a table id");
			break;
		}
		for (uint32_t i = 0; i < m->n_tables && !rc; i++) {
			if (te->table_id && m->tables[i].id != te->table_id)
				continue;
			r.t = &m->tables[i];
			rc = table_read(&r, err);
		}
		break;
	}
	case P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER:
	case P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP:
		rc = profiles_read(m, want, o, emit, arg, err);
		break;
	case P4__V1__ENTITY__ENTITY_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_METER_ENTRY:
	case P4__V1__ENTITY__ENTITY_REGISTER_ENTRY:
		rc = cells_read(m, tdi, want, o, emit, arg, err);
		break;
	case P4__V1__ENTITY__ENTITY_DIRECT_COUNTER_ENTRY:
	case P4__V1__ENTITY__ENTITY_DIRECT_METER_ENTRY:
		rc = direct_read(m, tdi, want, o, emit, arg, err);
		break;
	case P4__V1__ENTITY__ENTITY_VALUE_SET_ENTRY:
		rc = vsets_read(m, tdi, want, emit, arg, err);
		break;
	case P4__V1__ENTITY__ENTITY_PACKET_REPLICATION_ENGINE_ENTRY:
		rc = p4_pre_read(tdi, want->packet_replication_engine_entry, emit, arg, err);
		break;
	case P4__V1__ENTITY__ENTITY__NOT_SET:
		rc = ipdk_err_set(err, -EINVAL, "read of an empty entity");
		break;
	default:
		rc = ipdk_err_set(err, -ENOTSUP, "entity kind %d is not supported by this target",
				  want->entity_case);
	}
	free(o);
	return rc;
}
