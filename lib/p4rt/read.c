/*
 * P4Runtime reads from TDI: p4_read_entity() turns one (possibly wildcard)
 * request entity into the matching table entries (with their direct
 * counters and meters), action profile members and groups, counter, meter
 * and register cells and value set members, and emits each as a P4Runtime
 * entity. Errors as in entity.c; runs with the dataplane locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

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
		p4_value_ones(full, f->bits);
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
			if (p4_value_zero(v->mask))
				continue;
			p4__v1__field_match__ternary__init(&o->kinds[k].ternary);
			o->kinds[k].ternary.value = p4_value_to_bytes(v->value, o->buf[k][0]);
			o->kinds[k].ternary.mask = p4_value_to_bytes(v->mask, o->buf[k][1]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY;
			fm->ternary = &o->kinds[k].ternary;
			break;
		case TDI_MATCH_RANGE:
			if (p4_value_zero(v->value) && !memcmp(v->high, full, TDI_VALUE_BYTES))
				continue;
			p4__v1__field_match__range__init(&o->kinds[k].range);
			o->kinds[k].range.low = p4_value_to_bytes(v->value, o->buf[k][0]);
			o->kinds[k].range.high = p4_value_to_bytes(v->high, o->buf[k][1]);
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE;
			fm->range = &o->kinds[k].range;
			break;
		case TDI_MATCH_OPTIONAL:
			if (p4_value_zero(v->mask))
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
	p4_meta_get(t, e, is_default, p4_te_cookie_ptr(te), &te->metadata);
	if (!is_default && meter_cfg_out(t, e, o))
		te->meter_config = &o->mc;
	if (t->profile_id && !is_default &&
	    ((int32_t)e->action_id == t->member_action || (int32_t)e->action_id == t->group_action)) {
		struct p4m_profile *pr = p4m_profile(m, t->profile_id);
		uint32_t v = p4_get_u32(e->params[0]);

		if ((int32_t)e->action_id == t->member_action) {
			o->ta.type_case = P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID;
			o->ta.action_profile_member_id = v;
		} else {
			struct p4m_group *g = pr ? p4_group_by_idx(pr, v) : NULL;

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
		rc = p4_key_in(r->t, want, &e, err);
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
	*p4_te_cookie_ptr(&o->te) = 0;
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
			rc = p4_key_in(t, te, &e, err);
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

	if (id && !p4_vset_find(m, id))
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
			rc = tdi_entry_iterate(tdi, v->tdi_id, p4_collect_entry, &end);
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
