/*
 * The P4Runtime model: which TDI table, action, key field, parameter,
 * counter, meter and register each P4Info id stands for. Built from a
 * bundle's P4Info and context JSON (names in the context's "name" are P4Info
 * names, "target_name" the spec's; without a context the P4Info names are
 * looked up in the spec directly), or derived from the TDI schema of a bare
 * spec, in which case a P4Info is written for it with ids per docs/bundle.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "p4rt_int.h"

/* ---- lookups ---------------------------------------------------------- */

const struct p4m_table *p4m_table(const struct p4_model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->n_tables; i++)
		if (m->tables[i].id == id)
			return &m->tables[i];
	return NULL;
}

const struct p4m_action *p4m_action(const struct p4_model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->n_actions; i++)
		if (m->actions[i].id == id)
			return &m->actions[i];
	return NULL;
}

const struct p4m_action *p4m_action_by_tdi(const struct p4_model *m, uint32_t tdi_id)
{
	for (uint32_t i = 0; i < m->n_actions; i++)
		if (m->actions[i].tdi_id == tdi_id)
			return &m->actions[i];
	return NULL;
}

struct p4m_profile *p4m_profile(const struct p4_model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->n_profiles; i++)
		if (m->profiles[i].id == id)
			return &m->profiles[i];
	return NULL;
}

const struct p4m_cell_obj *p4m_cell(const struct p4m_cell_obj *arr, uint32_t n, uint32_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (arr[i].id == id)
			return &arr[i];
	return NULL;
}

void p4_model_profiles_reset(struct p4_model *m)
{
	for (uint32_t i = 0; i < m->n_profiles; i++) {
		struct p4m_profile *pr = &m->profiles[i];

		for (uint32_t g = 0; g < pr->n_groups; g++) {
			free(pr->groups[g].members);
			free(pr->groups[g].weights);
		}
		free(pr->groups);
		free(pr->members);
		pr->groups = NULL;
		pr->members = NULL;
		pr->n_groups = pr->cap_groups = pr->n_members = pr->cap_members = 0;
	}
}

void p4_model_free(struct p4_model *m)
{
	if (!m)
		return;
	p4_model_profiles_reset(m);
	for (uint32_t i = 0; i < m->n_tables; i++) {
		free(m->tables[i].action_ids);
		p4_ranges_free(&m->tables[i]);
		p4_meta_free(&m->tables[i]);
	}
	free(m->tables);
	free(m->vsets);
	free(m->actions);
	free(m->profiles);
	free(m->counters);
	for (uint32_t i = 0; i < m->n_meters; i++)
		free(m->meters[i].meter_cfg);
	free(m->meters);
	free(m->registers);
	free(m->p4info_bin);
	free(m);
}

static struct p4_model *model_alloc(uint32_t nt, uint32_t na, uint32_t np, uint32_t nc,
				    uint32_t nm, uint32_t nr)
{
	struct p4_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->tables = calloc(nt + 1, sizeof(*m->tables));
	m->actions = calloc(na + 1, sizeof(*m->actions));
	m->profiles = calloc(np + 1, sizeof(*m->profiles));
	m->counters = calloc(nc + 1, sizeof(*m->counters));
	m->meters = calloc(nm + 1, sizeof(*m->meters));
	m->registers = calloc(nr + 1, sizeof(*m->registers));
	if (!m->tables || !m->actions || !m->profiles || !m->counters || !m->meters ||
	    !m->registers) {
		p4_model_free(m);
		return NULL;
	}
	return m;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void set_priority_flag(struct p4m_table *t)
{
	for (uint32_t f = 0; f < t->n_fields; f++)
		if (t->fields[f].match == TDI_MATCH_TERNARY || t->fields[f].match == TDI_MATCH_RANGE ||
		    t->fields[f].match == TDI_MATCH_OPTIONAL)
			t->has_priority = true;
}

/* ---- deriving a model (and a P4Info) from a bare spec ------------------ */

/* Allocations of one P4Info under construction, freed together after packing. */
struct arena {
	void **p;
	size_t n, cap;
	bool failed;
};

static void *arena_alloc(struct arena *a, size_t size)
{
	void *p;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->p, cap * sizeof(*np));

		if (!np) {
			a->failed = true;
			return NULL;
		}
		a->p = np;
		a->cap = cap;
	}
	p = calloc(1, size ? size : 1);
	if (!p) {
		a->failed = true;
		return NULL;
	}
	a->p[a->n++] = p;
	return p;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
}

static P4__Config__V1__Preamble *preamble(struct arena *a, uint32_t id, const char *name)
{
	P4__Config__V1__Preamble *p = arena_alloc(a, sizeof(*p));
	const char *dot;

	if (!p)
		return NULL;
	p4__config__v1__preamble__init(p);
	p->id = id;
	p->name = (char *)name;
	dot = strrchr(name, '.');
	p->alias = (char *)(dot ? dot + 1 : name);
	return p;
}

#define ARENA_ARRAY(a, n, type) ((type **)arena_alloc((a), ((n) + 1) * sizeof(type *)))
#define ARENA_NEW(a, type, init) ({ type *_x = arena_alloc((a), sizeof(type)); if (_x) init(_x); _x; })

static const P4__Config__V1__MatchField__MatchType match_types[] = {
	[TDI_MATCH_EXACT] = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT,
	[TDI_MATCH_LPM] = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM,
	[TDI_MATCH_TERNARY] = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY,
	[TDI_MATCH_RANGE] = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE,
	[TDI_MATCH_OPTIONAL] = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL,
};

/* Writes the P4Info of a derived model (ids and names are the model's). */
static int derived_p4info(struct p4_model *m, const char *spec_name, struct ipdk_err *err)
{
	P4__Config__V1__P4Info info = P4__CONFIG__V1__P4_INFO__INIT;
	P4__Config__V1__PkgInfo pkg = P4__CONFIG__V1__PKG_INFO__INIT;
	struct arena a = { 0 };
	size_t n_ind = 0, n_dir = 0, m_ind = 0, m_dir = 0;

	pkg.name = (char *)spec_name;
	pkg.arch = "pna";
	info.pkg_info = &pkg;
	info.tables = ARENA_ARRAY(&a, m->n_tables, P4__Config__V1__Table);
	info.actions = ARENA_ARRAY(&a, m->n_actions, P4__Config__V1__Action);
	info.action_profiles = ARENA_ARRAY(&a, m->n_profiles, P4__Config__V1__ActionProfile);
	info.counters = ARENA_ARRAY(&a, m->n_counters, P4__Config__V1__Counter);
	info.direct_counters = ARENA_ARRAY(&a, m->n_counters, P4__Config__V1__DirectCounter);
	info.meters = ARENA_ARRAY(&a, m->n_meters, P4__Config__V1__Meter);
	info.direct_meters = ARENA_ARRAY(&a, m->n_meters, P4__Config__V1__DirectMeter);
	info.registers = ARENA_ARRAY(&a, m->n_registers, P4__Config__V1__Register);
	for (uint32_t i = 0; i < m->n_tables && !a.failed; i++) {
		const struct p4m_table *t = &m->tables[i];
		P4__Config__V1__Table *pt = ARENA_NEW(&a, P4__Config__V1__Table,
						       p4__config__v1__table__init);

		if (!pt)
			break;
		info.tables[info.n_tables++] = pt;
		pt->preamble = preamble(&a, t->id, t->name);
		pt->size = (int64_t)t->size;
		pt->const_default_action_id = t->const_default_action_id;
		pt->implementation_id = t->profile_id;
		pt->match_fields = ARENA_ARRAY(&a, t->n_fields, P4__Config__V1__MatchField);
		for (uint32_t f = 0; f < t->n_fields && pt->match_fields; f++) {
			P4__Config__V1__MatchField *mf = ARENA_NEW(&a, P4__Config__V1__MatchField,
								    p4__config__v1__match_field__init);
			if (!mf)
				break;
			mf->id = t->fields[f].id;
			mf->name = (char *)t->fields[f].name;
			mf->bitwidth = (int32_t)t->fields[f].bits;
			mf->match_case = P4__CONFIG__V1__MATCH_FIELD__MATCH_MATCH_TYPE;
			mf->match_type = match_types[t->fields[f].match];
			pt->match_fields[pt->n_match_fields++] = mf;
		}
		pt->action_refs = ARENA_ARRAY(&a, t->n_actions, P4__Config__V1__ActionRef);
		for (uint32_t k = 0; k < t->n_actions && pt->action_refs; k++) {
			P4__Config__V1__ActionRef *ar = ARENA_NEW(&a, P4__Config__V1__ActionRef,
								   p4__config__v1__action_ref__init);
			if (!ar)
				break;
			ar->id = t->action_ids[k];
			pt->action_refs[pt->n_action_refs++] = ar;
		}
		pt->direct_resource_ids = arena_alloc(&a, 2 * sizeof(uint32_t));
		if (pt->direct_resource_ids && t->direct_counter_id)
			pt->direct_resource_ids[pt->n_direct_resource_ids++] = t->direct_counter_id;
		if (pt->direct_resource_ids && t->direct_meter_id)
			pt->direct_resource_ids[pt->n_direct_resource_ids++] = t->direct_meter_id;
	}
	for (uint32_t i = 0; i < m->n_actions && !a.failed; i++) {
		const struct p4m_action *ac = &m->actions[i];
		P4__Config__V1__Action *pa = ARENA_NEW(&a, P4__Config__V1__Action,
							p4__config__v1__action__init);

		if (!pa)
			break;
		info.actions[info.n_actions++] = pa;
		pa->preamble = preamble(&a, ac->id, ac->name);
		pa->params = ARENA_ARRAY(&a, ac->n_params, P4__Config__V1__Action__Param);
		for (uint32_t k = 0; k < ac->n_params && pa->params; k++) {
			P4__Config__V1__Action__Param *pp = ARENA_NEW(&a, P4__Config__V1__Action__Param,
								       p4__config__v1__action__param__init);
			if (!pp)
				break;
			pp->id = ac->params[k].id;
			pp->name = (char *)ac->params[k].name;
			pp->bitwidth = (int32_t)ac->params[k].bits;
			pa->params[pa->n_params++] = pp;
		}
	}
	for (uint32_t i = 0; i < m->n_profiles && !a.failed; i++) {
		const struct p4m_profile *pr = &m->profiles[i];
		P4__Config__V1__ActionProfile *pp = ARENA_NEW(&a, P4__Config__V1__ActionProfile,
							       p4__config__v1__action_profile__init);
		if (!pp)
			break;
		info.action_profiles[info.n_action_profiles++] = pp;
		pp->preamble = preamble(&a, pr->id, pr->name);
		pp->with_selector = pr->with_selector;
		pp->size = (int64_t)pr->size;
		pp->max_group_size = (int32_t)pr->max_group_size;
		if (pr->with_selector && pr->sum_of_members) {
			P4__Config__V1__ActionProfile__SumOfMembers *sm =
				ARENA_NEW(&a, P4__Config__V1__ActionProfile__SumOfMembers,
					  p4__config__v1__action_profile__sum_of_members__init);

			if (!sm)
				break;
			pp->selector_size_semantics_case =
				P4__CONFIG__V1__ACTION_PROFILE__SELECTOR_SIZE_SEMANTICS_SUM_OF_MEMBERS;
			pp->sum_of_members = sm;
		}
	}
	for (uint32_t i = 0; i < m->n_counters && !a.failed; i++) {
		const struct p4m_cell_obj *c = &m->counters[i];
		P4__Config__V1__CounterSpec *cs = ARENA_NEW(&a, P4__Config__V1__CounterSpec,
							     p4__config__v1__counter_spec__init);
		if (!cs)
			break;
		cs->unit = c->unit;
		if (c->direct) {
			P4__Config__V1__DirectCounter *d = ARENA_NEW(&a, P4__Config__V1__DirectCounter,
								      p4__config__v1__direct_counter__init);
			if (!d)
				break;
			d->preamble = preamble(&a, c->id, c->name);
			d->spec = cs;
			d->direct_table_id = c->table_id;
			info.direct_counters[n_dir++] = d;
		} else {
			P4__Config__V1__Counter *d = ARENA_NEW(&a, P4__Config__V1__Counter,
								p4__config__v1__counter__init);
			if (!d)
				break;
			d->preamble = preamble(&a, c->id, c->name);
			d->spec = cs;
			d->size = (int64_t)c->size;
			info.counters[n_ind++] = d;
		}
	}
	info.n_counters = n_ind;
	info.n_direct_counters = n_dir;
	for (uint32_t i = 0; i < m->n_meters && !a.failed; i++) {
		const struct p4m_cell_obj *c = &m->meters[i];
		P4__Config__V1__MeterSpec *ms = ARENA_NEW(&a, P4__Config__V1__MeterSpec,
							   p4__config__v1__meter_spec__init);
		if (!ms)
			break;
		ms->unit = P4__CONFIG__V1__METER_SPEC__UNIT__BYTES;
		if (c->direct) {
			P4__Config__V1__DirectMeter *d = ARENA_NEW(&a, P4__Config__V1__DirectMeter,
								    p4__config__v1__direct_meter__init);
			if (!d)
				break;
			d->preamble = preamble(&a, c->id, c->name);
			d->spec = ms;
			d->direct_table_id = c->table_id;
			info.direct_meters[m_dir++] = d;
		} else {
			P4__Config__V1__Meter *d = ARENA_NEW(&a, P4__Config__V1__Meter,
							      p4__config__v1__meter__init);
			if (!d)
				break;
			d->preamble = preamble(&a, c->id, c->name);
			d->spec = ms;
			d->size = (int64_t)c->size;
			info.meters[m_ind++] = d;
		}
	}
	info.n_meters = m_ind;
	info.n_direct_meters = m_dir;
	for (uint32_t i = 0; i < m->n_registers && !a.failed; i++) {
		const struct p4m_cell_obj *c = &m->registers[i];
		P4__Config__V1__Register *r = ARENA_NEW(&a, P4__Config__V1__Register,
							 p4__config__v1__register__init);
		P4__Config__V1__P4DataTypeSpec *ts = ARENA_NEW(&a, P4__Config__V1__P4DataTypeSpec,
							       p4__config__v1__p4_data_type_spec__init);
		P4__Config__V1__P4BitstringLikeTypeSpec *bs =
			ARENA_NEW(&a, P4__Config__V1__P4BitstringLikeTypeSpec,
				  p4__config__v1__p4_bitstring_like_type_spec__init);
		P4__Config__V1__P4BitTypeSpec *bit = ARENA_NEW(&a, P4__Config__V1__P4BitTypeSpec,
							       p4__config__v1__p4_bit_type_spec__init);
		if (!r || !ts || !bs || !bit)
			break;
		bit->bitwidth = (int32_t)c->bits;
		bs->type_spec_case = P4__CONFIG__V1__P4_BITSTRING_LIKE_TYPE_SPEC__TYPE_SPEC_BIT;
		bs->bit = bit;
		ts->type_spec_case = P4__CONFIG__V1__P4_DATA_TYPE_SPEC__TYPE_SPEC_BITSTRING;
		ts->bitstring = bs;
		r->preamble = preamble(&a, c->id, c->name);
		r->type_spec = ts;
		r->size = (int32_t)c->size;
		info.registers[info.n_registers++] = r;
	}
	if (a.failed) {
		arena_free(&a);
		return ipdk_err_set(err, -ENOMEM, "P4Info for %s: out of memory", spec_name);
	}
	m->p4info_len = p4__config__v1__p4_info__get_packed_size(&info);
	m->p4info_bin = malloc(m->p4info_len + 1);
	if (m->p4info_bin)
		p4__config__v1__p4_info__pack(&info, m->p4info_bin);
	arena_free(&a);
	if (!m->p4info_bin)
		return ipdk_err_set(err, -ENOMEM, "P4Info for %s: out of memory", spec_name);
	return 0;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, TDI_NAME_MAX, "%s", src);
}

/* ---- what a bare spec's text says about its selectors ------------------ */

/* The schema does not say which table a selector's member id leads to, nor
 * does SWX; the spec text does: the selector's member_id field is the key of
 * the member table. */

struct spec_named {
	char name[TDI_NAME_MAX], field[TDI_NAME_MAX];
};

struct spec_scan {
	uint32_t n_sel, n_tab, cap;
	struct spec_named *sel;         /* selector, its member_id field */
	struct spec_named *tab;         /* table with one exact key field, that field */
};

/* The next token of spec text at *pos ("{" and "}" are tokens of their own,
 * ";" starts a comment); NULL at the end. */
static const char *spec_token(const char **pos, char *buf, size_t size)
{
	const char *p = *pos;
	size_t n = 0;

	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p != ';')
			break;
		while (*p && *p != '\n')
			p++;
	}
	if (!*p)
		return NULL;
	if (*p == '{' || *p == '}') {
		buf[n++] = *p++;
	} else {
		for (; *p && !isspace((unsigned char)*p) && !strchr("{};", *p); p++)
			if (n + 1 < size)
				buf[n++] = *p;
	}
	buf[n] = 0;
	*pos = p;
	return buf;
}

static void spec_add(struct spec_named *arr, uint32_t *n, uint32_t cap, const char *name,
		     const char *field)
{
	if (*n == cap)
		return;
	snprintf(arr[*n].name, TDI_NAME_MAX, "%s", name);
	snprintf(arr[*n].field, TDI_NAME_MAX, "%s", field);
	(*n)++;
}

/* Collects the selectors' member_id fields and the one-exact-key tables. */
static void spec_scan(const char *text, struct spec_scan *sc)
{
	char tok[TDI_NAME_MAX], name[TDI_NAME_MAX] = "", field[TDI_NAME_MAX] = "";
	char kind[TDI_NAME_MAX];
	enum { OTHER, SELECTOR, TABLE } blk = OTHER;
	const char *p = text;
	int depth = 0, n_keys = 0;
	bool in_key = false, exact = false;

	while (spec_token(&p, tok, sizeof(tok))) {
		if (!strcmp(tok, "{")) {
			depth++;
		} else if (!strcmp(tok, "}")) {
			if (in_key && depth == 2)
				in_key = false;
			else if (depth == 1 && blk == TABLE && n_keys == 1 && exact)
				spec_add(sc->tab, &sc->n_tab, sc->cap, name, field);
			if (depth > 0 && --depth == 0)
				blk = OTHER;
		} else if (depth == 0) {
			blk = !strcmp(tok, "selector") ? SELECTOR : !strcmp(tok, "table") ? TABLE : OTHER;
			if (blk != OTHER && !spec_token(&p, name, sizeof(name)))
				return;
			n_keys = 0;
		} else if (blk == SELECTOR && depth == 1 && !strcmp(tok, "member_id")) {
			if (spec_token(&p, field, sizeof(field)))
				spec_add(sc->sel, &sc->n_sel, sc->cap, name, field);
		} else if (blk == TABLE && depth == 1 && !strcmp(tok, "key")) {
			in_key = true;
		} else if (blk == TABLE && in_key && depth == 2) {
			snprintf(field, sizeof(field), "%s", tok);
			exact = spec_token(&p, kind, sizeof(kind)) && !strcmp(kind, "exact");
			n_keys++;
		}
	}
}

/* The member table of selector sel: the only match table whose one exact key
 * is the selector's member_id field and that has no direct externs; -1 when
 * the text does not say or says more than one. */
static int32_t spec_member_table(const struct tdi_dev *tdi, const struct spec_scan *sc,
				 const char *sel)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	const char *field = NULL;
	int32_t found = -1;

	for (uint32_t i = 0; i < sc->n_sel; i++)
		if (!strcmp(sc->sel[i].name, sel))
			field = sc->sel[i].field;
	for (uint32_t i = 0; field && i < sc->n_tab; i++) {
		const struct tdi_table_info *t;

		if (strcmp(sc->tab[i].field, field))
			continue;
		t = tdi_table_find(tdi, sc->tab[i].name);
		if (!t || t->kind != TDI_TABLE_MATCH || t->n_keys != 1 || found >= 0)
			return -1;
		found = (int32_t)t->id;
	}
	for (uint32_t i = 0; found >= 0 && i < s->n_counters; i++)
		if (s->counters[i].direct && s->counters[i].table_id == (uint32_t)found)
			return -1;
	for (uint32_t i = 0; found >= 0 && i < s->n_meters; i++)
		if (s->meters[i].direct && s->meters[i].table_id == (uint32_t)found)
			return -1;
	return found;
}

/* Per schema table: for a selector, its member table (or -1); for a match
 * table, whether it is some selector's member table (hidden[]). */
static int member_tables(const struct tdi_dev *tdi, const char *spec_text, int32_t *member,
			 bool *hidden)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	struct spec_scan sc = { .cap = s->n_tables + 1 };

	for (uint32_t i = 0; i < s->n_tables; i++)
		member[i] = -1;
	if (!spec_text)
		return 0;
	sc.sel = calloc(sc.cap, sizeof(*sc.sel));
	sc.tab = calloc(sc.cap, sizeof(*sc.tab));
	if (!sc.sel || !sc.tab) {
		free(sc.sel);
		free(sc.tab);
		return -ENOMEM;
	}
	spec_scan(spec_text, &sc);
	for (uint32_t i = 0; i < s->n_tables; i++) {
		if (s->tables[i].kind != TDI_TABLE_SELECTOR)
			continue;
		member[i] = spec_member_table(tdi, &sc, s->tables[i].name);
		if (member[i] >= 0)
			hidden[member[i]] = true;
	}
	free(sc.sel);
	free(sc.tab);
	return 0;
}

int p4_model_derive(const struct tdi_dev *tdi, const char *spec_name, const char *spec_text,
		    struct p4_model **out, struct ipdk_err *err)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	int32_t *member = calloc(s->n_tables + 1, sizeof(*member));
	bool *hidden = calloc(s->n_tables + 1, sizeof(*hidden));
	struct p4_model *m = NULL;
	int rc;

	if (member && hidden && !member_tables(tdi, spec_text, member, hidden))
		m = model_alloc(s->n_tables, s->n_actions, s->n_tables, s->n_counters, s->n_meters,
				s->n_registers);
	if (!m) {
		free(member);
		free(hidden);
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < s->n_actions; i++) {
		const struct tdi_action_info *a = &s->actions[i];
		struct p4m_action *pa = &m->actions[m->n_actions++];

		pa->id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__ACTION, i);
		copy_name(pa->name, a->name);
		pa->tdi_id = i;
		pa->n_params = a->n_params;
		for (uint32_t k = 0; k < a->n_params; k++) {
			pa->params[k].id = k + 1;
			copy_name(pa->params[k].name, a->params[k].name);
			pa->params[k].bits = a->params[k].n_bits;
			pa->params[k].tdi_idx = k;
		}
	}
	for (uint32_t i = 0; i < s->n_tables; i++) {
		const struct tdi_table_info *t = &s->tables[i];

		if (t->kind == TDI_TABLE_SELECTOR) {
			struct p4m_profile *pr = &m->profiles[m->n_profiles++];

			pr->id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__ACTION_PROFILE, i);
			copy_name(pr->name, t->name);
			pr->with_selector = true;
			pr->size = (uint64_t)t->n_groups_max * t->n_members_per_group_max;
			/* the target's limit is a number of members, whatever
			 * their weights */
			pr->max_group_size = pr->target_members = t->n_members_per_group_max;
			pr->sum_of_members = true;
			pr->member_table = member[i];
			pr->selector = (int32_t)i;
			/* no table takes group ids of the profile: entries carry
			 * the selector's own group ids */
			pr->group_ids_direct = true;
			continue;
		}
		if (hidden[i])
			continue;       /* the member table of a selector */
		struct p4m_table *pt = &m->tables[m->n_tables++];

		pt->id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__TABLE, i);
		copy_name(pt->name, t->name);
		pt->tdi_id = i;
		pt->size = t->size;
		pt->n_fields = t->n_keys;
		pt->member_action = pt->group_action = -1;
		for (uint32_t f = 0; f < t->n_keys; f++) {
			pt->fields[f].id = f + 1;
			copy_name(pt->fields[f].name, t->keys[f].name);
			pt->fields[f].bits = t->keys[f].n_bits;
			pt->fields[f].match = t->keys[f].match;
			pt->fields[f].tdi_idx = f;
		}
		set_priority_flag(pt);
		pt->action_ids = calloc(t->n_actions + 1, sizeof(uint32_t));
		if (!pt->action_ids) {
			p4_model_free(m);
			free(member);
			free(hidden);
			return ipdk_err_set(err, -ENOMEM, "out of memory");
		}
		for (uint32_t k = 0; k < t->n_actions; k++)
			pt->action_ids[pt->n_actions++] =
				P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__ACTION, t->action_ids[k]);
		if (t->default_const)
			pt->const_default_action_id =
				P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__ACTION, t->default_action_id);
	}
	free(member);
	free(hidden);
	for (uint32_t i = 0; i < s->n_counters; i++) {
		const struct tdi_counter_info *c = &s->counters[i];
		struct p4m_cell_obj *pc = &m->counters[m->n_counters++];

		pc->id = P4_ID(c->direct ? P4__CONFIG__V1__P4_IDS__PREFIX__DIRECT_COUNTER
				: P4__CONFIG__V1__P4_IDS__PREFIX__COUNTER, i);
		copy_name(pc->name, c->name);
		pc->tdi_id = i;
		pc->size = c->size;
		pc->unit = c->unit == TDI_COUNTER_PACKETS ? P4__CONFIG__V1__COUNTER_SPEC__UNIT__PACKETS
			 : c->unit == TDI_COUNTER_BYTES ? P4__CONFIG__V1__COUNTER_SPEC__UNIT__BYTES
			 : P4__CONFIG__V1__COUNTER_SPEC__UNIT__BOTH;
		pc->direct = c->direct;
		if (c->direct) {
			pc->table_id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__TABLE, c->table_id);
			for (uint32_t t = 0; t < m->n_tables; t++)
				if (m->tables[t].tdi_id == c->table_id)
					m->tables[t].direct_counter_id = pc->id;
		}
	}
	for (uint32_t i = 0; i < s->n_meters; i++) {
		const struct tdi_meter_info *c = &s->meters[i];
		struct p4m_cell_obj *pc = &m->meters[m->n_meters++];

		pc->id = P4_ID(c->direct ? P4__CONFIG__V1__P4_IDS__PREFIX__DIRECT_METER
				: P4__CONFIG__V1__P4_IDS__PREFIX__METER, i);
		copy_name(pc->name, c->name);
		pc->tdi_id = i;
		pc->size = c->size;
		pc->direct = c->direct;
		if (c->direct) {
			pc->table_id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__TABLE, c->table_id);
			for (uint32_t t = 0; t < m->n_tables; t++)
				if (m->tables[t].tdi_id == c->table_id)
					m->tables[t].direct_meter_id = pc->id;
		}
	}
	for (uint32_t i = 0; i < s->n_registers; i++) {
		const struct tdi_register_info *c = &s->registers[i];
		struct p4m_cell_obj *pc = &m->registers[m->n_registers++];

		pc->id = P4_ID(P4__CONFIG__V1__P4_IDS__PREFIX__REGISTER, i);
		copy_name(pc->name, c->name);
		pc->tdi_id = i;
		pc->size = c->size;
		pc->bits = c->n_bits;
	}
	rc = derived_p4info(m, spec_name, err);
	if (rc) {
		p4_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- a model from a P4Info and a context ------------------------------ */

/* The context entry (in array key) whose "name" is name, or NULL. */
static json_t *ctx_find(json_t *ctx, const char *key, const char *name)
{
	json_t *arr = ctx ? json_object_get(ctx, key) : NULL, *v;
	size_t i;

	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n && !strcmp(n, name))
			return v;
	}
	return NULL;
}

static const char *ctx_target(json_t *o, const char *fallback)
{
	const char *t = o ? json_string_value(json_object_get(o, "target_name")) : NULL;

	return t ? t : fallback;
}

/* The spec name of a P4Info action: a context table's action lists it. */
static const char *action_target(json_t *ctx, const char *name)
{
	json_t *tables = ctx ? json_object_get(ctx, "tables") : NULL, *t, *a;
	size_t i, k;

	json_array_foreach(tables, i, t) {
		json_array_foreach(json_object_get(t, "actions"), k, a) {
			const char *n = json_string_value(json_object_get(a, "name"));

			if (n && !strcmp(n, name))
				return ctx_target(a, name);
		}
	}
	return name;
}

static int map_action(struct p4_model *m, const P4__Config__V1__Action *pa, json_t *ctx,
		      const struct tdi_dev *tdi, struct ipdk_err *err)
{
	const char *name = pa->preamble ? pa->preamble->name : "";
	const char *target = action_target(ctx, name);
	const struct tdi_action_info *ta = tdi_action_find(tdi, target);
	struct p4m_action *a = &m->actions[m->n_actions];

	if (!ta)
		return ipdk_err_set(err, -EINVAL, "P4Info action %s: no action \"%s\" in the spec",
				    name, target);
	if (pa->n_params != ta->n_params)
		return ipdk_err_set(err, -EINVAL, "P4Info action %s: %zu parameters, the spec's %s has %u",
				    name, pa->n_params, ta->name, ta->n_params);
	a->id = pa->preamble->id;
	copy_name(a->name, name);
	a->tdi_id = ta->id;
	a->n_params = (uint32_t)pa->n_params;
	for (uint32_t k = 0; k < a->n_params; k++) {
		const P4__Config__V1__Action__Param *pp = pa->params[k];

		a->params[k].id = pp->id;
		copy_name(a->params[k].name, pp->name);
		a->params[k].bits = pp->bitwidth > 0 ? (uint32_t)pp->bitwidth : ta->params[k].n_bits;
		a->params[k].tdi_idx = k;
		if (a->params[k].bits > ta->params[k].n_bits)
			return ipdk_err_set(err, -EINVAL,
					    "P4Info action %s: parameter %s has %u bits, the spec's %u",
					    name, pp->name, a->params[k].bits, ta->params[k].n_bits);
	}
	m->n_actions++;
	return 0;
}

static enum tdi_match_kind match_kind(P4__Config__V1__MatchField__MatchType t)
{
	switch (t) {
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM: return TDI_MATCH_LPM;
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY: return TDI_MATCH_TERNARY;
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE: return TDI_MATCH_RANGE;
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL: return TDI_MATCH_OPTIONAL;
	default: return TDI_MATCH_EXACT;
	}
}

/* The action of a lowered table that carries a member (or group) id. */
static int32_t carrier_action(const struct tdi_dev *tdi, const struct tdi_table_info *t,
			      json_t *ctab, const char *key, const char *suffix)
{
	const struct tdi_schema *s = tdi_dev_schema(tdi);
	const char *want = ctab ? json_string_value(json_object_get(ctab, key)) : NULL;

	for (uint32_t k = 0; k < t->n_actions; k++) {
		const char *n = s->actions[t->action_ids[k]].name;

		if (want ? !strcmp(n, want) : ends_with(n, suffix))
			return (int32_t)t->action_ids[k];
	}
	return -1;
}

/* P4Info match fields onto the key fields of spec table tt (by position);
 * ranges on ternary keys are expanded (batch.c) when expand_ok. */
static int map_fields(struct p4m_table *t, P4__Config__V1__MatchField *const *mfs, size_t n,
		      const struct tdi_table_info *tt, bool expand_ok, const char *kind,
		      struct ipdk_err *err)
{
	t->n_fields = (uint32_t)n;
	for (uint32_t f = 0; f < t->n_fields; f++) {
		const P4__Config__V1__MatchField *mf = mfs[f];
		struct p4m_field *fd = &t->fields[f];

		fd->id = mf->id;
		copy_name(fd->name, mf->name);
		fd->bits = mf->bitwidth > 0 ? (uint32_t)mf->bitwidth : tt->keys[f].n_bits;
		fd->match = match_kind(mf->match_type);
		fd->tdi_idx = f;
		/* an optional match is a ternary one with a full mask or none; a
		 * range on a ternary key is installed as value/mask entries */
		fd->expand = expand_ok && fd->match == TDI_MATCH_RANGE &&
			     tt->keys[f].match == TDI_MATCH_TERNARY;
		if ((fd->match != tt->keys[f].match && !fd->expand &&
		     !(fd->match == TDI_MATCH_OPTIONAL && tt->keys[f].match == TDI_MATCH_TERNARY)) ||
		    fd->bits > tt->keys[f].n_bits)
			return ipdk_err_set(err, -EINVAL,
					    "P4Info %s %s: match field %s does not agree with key field %u of %s",
					    kind, t->name, mf->name, f + 1, tt->name);
	}
	return 0;
}

static int map_table(struct p4_model *m, const P4__Config__V1__Table *ptab, json_t *ctx,
		     const struct tdi_dev *tdi, struct ipdk_err *err)
{
	const char *name = ptab->preamble ? ptab->preamble->name : "";
	json_t *ctab = ctx_find(ctx, "tables", name);
	const char *target = ctx_target(ctab, name);
	const struct tdi_table_info *tt = tdi_table_find(tdi, target);
	struct p4m_table *t = &m->tables[m->n_tables];
	int rc;

	if (!tt || tt->kind == TDI_TABLE_SELECTOR)
		return ipdk_err_set(err, -EINVAL, "P4Info table %s: no match table \"%s\" in the spec",
				    name, target);
	if (ptab->n_match_fields != tt->n_keys || ptab->n_match_fields > TDI_MAX_KEY_FIELDS)
		return ipdk_err_set(err, -EINVAL, "P4Info table %s: %zu match fields, the spec's %s has %u",
				    name, ptab->n_match_fields, tt->name, tt->n_keys);
	t->id = ptab->preamble->id;
	copy_name(t->name, name);
	t->tdi_id = tt->id;
	t->size = ptab->size > 0 ? (uint64_t)ptab->size : tt->size;
	t->is_const = ptab->is_const_table;
	t->const_default_action_id = ptab->const_default_action_id;
	t->profile_id = ptab->implementation_id;
	rc = map_fields(t, ptab->match_fields, ptab->n_match_fields, tt, true, "table", err);
	if (rc)
		return rc;
	set_priority_flag(t);
	/* counted before the store exists, so p4_model_free() frees it */
	m->n_tables++;
	rc = p4_ranges_init(t, err);
	if (rc)
		return rc;
	t->action_ids = calloc(ptab->n_action_refs + 1, sizeof(uint32_t));
	if (!t->action_ids)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (size_t k = 0; k < ptab->n_action_refs; k++)
		t->action_ids[t->n_actions++] = ptab->action_refs[k]->id;
	for (size_t k = 0; k < ptab->n_direct_resource_ids; k++) {
		uint32_t id = ptab->direct_resource_ids[k];

		if (P4_PREFIX(id) == P4__CONFIG__V1__P4_IDS__PREFIX__DIRECT_COUNTER)
			t->direct_counter_id = id;
		else if (P4_PREFIX(id) == P4__CONFIG__V1__P4_IDS__PREFIX__DIRECT_METER)
			t->direct_meter_id = id;
	}
	t->member_action = carrier_action(tdi, tt, ctab, "member_action", "set_member_id");
	t->group_action = carrier_action(tdi, tt, ctab, "group_action", "set_group_id");
	return 0;
}

/* A P4Info value set onto its spec table (the context's "value_sets" name
 * it and its member action; without a context, NAME and NAME_member). */
static int map_vset(struct p4_model *m, const P4__Config__V1__ValueSet *pv, json_t *ctx,
		    const struct tdi_dev *tdi, struct ipdk_err *err)
{
	const char *name = pv->preamble->name;
	json_t *cv = ctx_find(ctx, "value_sets", name);
	const char *target = ctx_target(cv, name);
	const char *act = cv ? json_string_value(json_object_get(cv, "action")) : NULL;
	const struct tdi_table_info *tt = tdi_table_find(tdi, target);
	const struct tdi_action_info *ta;
	struct p4m_table *v = &m->vsets[m->n_vsets];
	char member[TDI_NAME_MAX + 8];
	int rc;

	if (!tt || tt->kind != TDI_TABLE_MATCH)
		return ipdk_err_set(err, -EINVAL, "P4Info value set %s: no table \"%s\" in the spec",
				    name, target);
	snprintf(member, sizeof(member), "%s_member", tt->name);
	ta = tdi_action_find(tdi, act ? act : member);
	if (!ta)
		return ipdk_err_set(err, -EINVAL, "P4Info value set %s: no action \"%s\" in the spec",
				    name, act ? act : member);
	if (pv->n_match != tt->n_keys || pv->n_match > TDI_MAX_KEY_FIELDS)
		return ipdk_err_set(err, -EINVAL, "P4Info value set %s: %zu match fields, the spec's %s has %u",
				    name, pv->n_match, tt->name, tt->n_keys);
	v->id = pv->preamble->id;
	copy_name(v->name, name);
	v->tdi_id = tt->id;
	v->size = pv->size > 0 && (uint64_t)pv->size < tt->size ? (uint64_t)pv->size : tt->size;
	v->member_action = (int32_t)ta->id;
	v->group_action = -1;
	rc = map_fields(v, pv->match, pv->n_match, tt, false, "value set", err);
	if (rc)
		return rc;
	set_priority_flag(v);
	m->n_vsets++;
	return 0;
}

static int map_profile(struct p4_model *m, const P4__Config__V1__ActionProfile *pp, json_t *ctx,
		       const struct tdi_dev *tdi, struct ipdk_err *err)
{
	const char *name = pp->preamble ? pp->preamble->name : "";
	struct p4m_profile *pr = &m->profiles[m->n_profiles];
	json_t *tables = ctx ? json_object_get(ctx, "tables") : NULL, *t;
	const char *mt = NULL, *gt = NULL;
	size_t i;

	json_array_foreach(tables, i, t) {
		const char *ap = json_string_value(json_object_get(t, "action_profile"));

		if (ap && !strcmp(ap, name)) {
			mt = json_string_value(json_object_get(t, "member_table"));
			gt = json_string_value(json_object_get(t, "group_table"));
			break;
		}
	}
	pr->id = pp->preamble->id;
	copy_name(pr->name, name);
	pr->with_selector = pp->with_selector;
	pr->size = pp->size > 0 ? (uint64_t)pp->size : 0;
	if (pp->max_group_size < 0)
		return ipdk_err_set(err, -EINVAL, "action profile %s: max_group_size %d is negative",
				    name, pp->max_group_size);
	pr->max_group_size = (uint32_t)pp->max_group_size;
	if (pp->selector_size_semantics_case ==
	    P4__CONFIG__V1__ACTION_PROFILE__SELECTOR_SIZE_SEMANTICS_SUM_OF_MEMBERS) {
		int32_t w = pp->sum_of_members ? pp->sum_of_members->max_member_weight : 0;

		pr->sum_of_members = true;
		pr->max_member_weight = w > 0 ? (uint32_t)w : 0;
	}
	pr->member_table = pr->selector = -1;
	if (mt) {
		const struct tdi_table_info *x = tdi_table_find(tdi, mt);

		if (!x || x->kind != TDI_TABLE_MATCH || x->n_keys != 1)
			return ipdk_err_set(err, -EINVAL,
					    "action profile %s: member table \"%s\" is not a one-key table of the spec",
					    name, mt);
		pr->member_table = (int32_t)x->id;
	}
	if (gt) {
		const struct tdi_table_info *x = tdi_table_find(tdi, gt);

		if (!x || x->kind != TDI_TABLE_SELECTOR)
			return ipdk_err_set(err, -EINVAL,
					    "action profile %s: group table \"%s\" is not a selector of the spec",
					    name, gt);
		pr->selector = (int32_t)x->id;
		pr->target_members = x->n_members_per_group_max;
		/* a group the P4Info allows must fit the target: with either
		 * size semantics a group of max_group_size may have that many
		 * members */
		if (pr->max_group_size > pr->target_members)
			return ipdk_err_set(err, -EINVAL,
					    "action profile %s: max_group_size %u, but a group of selector %s holds at most %u members",
					    name, pr->max_group_size, gt, pr->target_members);
	}
	if (pr->member_table < 0)
		return ipdk_err_set(err, -EINVAL,
				    "action profile %s: the context names no member_table", name);
	if (pr->with_selector && pr->selector < 0)
		return ipdk_err_set(err, -EINVAL,
				    "action profile %s: has a selector but the context names no group_table",
				    name);
	for (size_t k = 0; k < pp->n_table_ids && k < 8; k++)
		pr->table_ids[pr->n_table_ids++] = pp->table_ids[k];
	m->n_profiles++;
	return 0;
}

static int map_cell(struct p4m_cell_obj *c, uint32_t id, const char *name, json_t *ctx,
		    const struct tdi_dev *tdi, int kind, struct ipdk_err *err)
{
	const char *target = ctx_target(ctx_find(ctx, "externs", name), name);
	uint32_t tdi_id;
	uint64_t size;
	uint32_t bits = 0;

	if (kind == 0) {
		const struct tdi_counter_info *x = tdi_counter_find(tdi, target);

		if (!x)
			return ipdk_err_set(err, -EINVAL, "P4Info counter %s: no counter \"%s\" in the spec",
					    name, target);
		tdi_id = x->id, size = x->size;
	} else if (kind == 1) {
		const struct tdi_meter_info *x = tdi_meter_find(tdi, target);

		if (!x)
			return ipdk_err_set(err, -EINVAL, "P4Info meter %s: no meter \"%s\" in the spec",
					    name, target);
		tdi_id = x->id, size = x->size;
	} else {
		const struct tdi_register_info *x = tdi_register_find(tdi, target);

		if (!x)
			return ipdk_err_set(err, -EINVAL, "P4Info register %s: no register \"%s\" in the spec",
					    name, target);
		tdi_id = x->id, size = x->size, bits = x->n_bits;
	}
	c->id = id;
	copy_name(c->name, name);
	c->tdi_id = tdi_id;
	c->size = size;
	c->bits = bits;
	return 0;
}

static void map_ctrl(struct p4_model *m, const P4__Config__V1__P4Info *info)
{
	for (size_t i = 0; i < info->n_controller_packet_metadata; i++) {
		const P4__Config__V1__ControllerPacketMetadata *c = info->controller_packet_metadata[i];
		struct p4m_ctrl_hdr *h;
		uint32_t bits = 0;

		if (!c->preamble)
			continue;
		if (!strcmp(c->preamble->name, "packet_in"))
			h = &m->packet_in;
		else if (!strcmp(c->preamble->name, "packet_out"))
			h = &m->packet_out;
		else
			continue;
		h->present = true;
		for (size_t k = 0; k < c->n_metadata && h->n_meta < 16; k++) {
			struct p4m_ctrl_meta *md = &h->meta[h->n_meta++];

			md->id = c->metadata[k]->id;
			copy_name(md->name, c->metadata[k]->name);
			md->bits = c->metadata[k]->bitwidth > 0 ? (uint32_t)c->metadata[k]->bitwidth : 0;
			bits += md->bits;
		}
		h->n_bytes = (bits + 7) / 8;
	}
}

int p4_model_from_p4info(const P4__Config__V1__P4Info *info, const char *context_json,
			 const struct tdi_dev *tdi, struct p4_model **out, struct ipdk_err *err)
{
	json_t *ctx = NULL;
	json_error_t jerr;
	struct p4_model *m;
	int rc = 0;

	if (context_json && context_json[0]) {
		ctx = json_loads(context_json, 0, &jerr);
		if (!ctx)
			return ipdk_err_set(err, -EINVAL, "context JSON: line %d: %s", jerr.line, jerr.text);
	}
	m = model_alloc((uint32_t)info->n_tables, (uint32_t)info->n_actions,
			(uint32_t)info->n_action_profiles,
			(uint32_t)(info->n_counters + info->n_direct_counters),
			(uint32_t)(info->n_meters + info->n_direct_meters), (uint32_t)info->n_registers);
	if (!m) {
		json_decref(ctx);
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < info->n_actions && !rc; i++)
		rc = info->actions[i]->preamble ? map_action(m, info->actions[i], ctx, tdi, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info action %zu has no preamble", i);
	for (size_t i = 0; i < info->n_tables && !rc; i++)
		rc = info->tables[i]->preamble ? map_table(m, info->tables[i], ctx, tdi, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info table %zu has no preamble", i);
	m->vsets = calloc(info->n_value_sets + 1, sizeof(*m->vsets));
	if (!m->vsets)
		rc = ipdk_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < info->n_value_sets && !rc; i++)
		rc = info->value_sets[i]->preamble ? map_vset(m, info->value_sets[i], ctx, tdi, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info value set %zu has no preamble", i);
	for (size_t i = 0; i < info->n_action_profiles && !rc; i++)
		rc = info->action_profiles[i]->preamble
		     ? map_profile(m, info->action_profiles[i], ctx, tdi, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info action profile %zu has no preamble", i);
	for (size_t i = 0; i < info->n_counters && !rc; i++) {
		const P4__Config__V1__Counter *c = info->counters[i];
		struct p4m_cell_obj *pc = &m->counters[m->n_counters];

		if (!c->preamble) {
			rc = ipdk_err_set(err, -EINVAL, "P4Info counter %zu has no preamble", i);
			break;
		}
		rc = map_cell(pc, c->preamble->id, c->preamble->name, ctx, tdi, 0, err);
		pc->unit = c->spec ? (int)c->spec->unit : P4__CONFIG__V1__COUNTER_SPEC__UNIT__BOTH;
		m->n_counters += !rc;
	}
	for (size_t i = 0; i < info->n_direct_counters && !rc; i++) {
		const P4__Config__V1__DirectCounter *c = info->direct_counters[i];
		struct p4m_cell_obj *pc = &m->counters[m->n_counters];

		if (!c->preamble) {
			rc = ipdk_err_set(err, -EINVAL, "P4Info direct counter %zu has no preamble", i);
			break;
		}
		rc = map_cell(pc, c->preamble->id, c->preamble->name, ctx, tdi, 0, err);
		pc->unit = c->spec ? (int)c->spec->unit : P4__CONFIG__V1__COUNTER_SPEC__UNIT__BOTH;
		pc->direct = true;
		pc->table_id = c->direct_table_id;
		m->n_counters += !rc;
	}
	for (size_t i = 0; i < info->n_meters && !rc; i++) {
		const P4__Config__V1__Meter *c = info->meters[i];

		rc = c->preamble ? map_cell(&m->meters[m->n_meters], c->preamble->id, c->preamble->name,
					    ctx, tdi, 1, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info meter %zu has no preamble", i);
		m->n_meters += !rc;
	}
	for (size_t i = 0; i < info->n_direct_meters && !rc; i++) {
		const P4__Config__V1__DirectMeter *c = info->direct_meters[i];
		struct p4m_cell_obj *pc = &m->meters[m->n_meters];

		rc = c->preamble ? map_cell(pc, c->preamble->id, c->preamble->name, ctx, tdi, 1, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info direct meter %zu has no preamble", i);
		pc->direct = true;
		pc->table_id = c->direct_table_id;
		m->n_meters += !rc;
	}
	for (size_t i = 0; i < info->n_registers && !rc; i++) {
		const P4__Config__V1__Register *c = info->registers[i];

		rc = c->preamble ? map_cell(&m->registers[m->n_registers], c->preamble->id,
					    c->preamble->name, ctx, tdi, 2, err)
		     : ipdk_err_set(err, -EINVAL, "P4Info register %zu has no preamble", i);
		m->n_registers += !rc;
	}
	json_decref(ctx);
	if (!rc) {
		map_ctrl(m, info);
		m->p4info_len = p4__config__v1__p4_info__get_packed_size(info);
		m->p4info_bin = malloc(m->p4info_len + 1);
		if (!m->p4info_bin)
			rc = ipdk_err_set(err, -ENOMEM, "out of memory");
		else
			p4__config__v1__p4_info__pack(info, m->p4info_bin);
	}
	if (rc) {
		p4_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}
