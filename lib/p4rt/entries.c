/*
 * The entries a program declares (P4 `entries` and `const entries`), which a
 * DPDK spec cannot hold: the context lists them per table (docs/bundle.md)
 * and they are installed whenever a pipeline is committed, by whichever way
 * it comes (infrap4d's start-up bundle, SetForwardingPipelineConfig, a
 * reload). Each becomes a P4Runtime TableEntry INSERT applied by the same
 * code as a Write (entity.c), all in one batch: a pipeline gets all of its
 * entries or is refused. Names resolve against the model: P4Info names, or
 * the spec's (the context's target_name) when the model was derived from
 * the spec; fields and parameters fall back on their positions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "p4rt_int.h"

/* What one entry's TableEntry points at. */
struct entry_buf {
	P4__V1__TableEntry te;
	P4__V1__TableAction ta;
	P4__V1__Action act;
	P4__V1__Action__Param params[TDI_MAX_PARAMS], *pparams[TDI_MAX_PARAMS];
	P4__V1__FieldMatch fm[TDI_MAX_KEY_FIELDS], *pfm[TDI_MAX_KEY_FIELDS];
	union p4_field_kind kinds[TDI_MAX_KEY_FIELDS];
	uint8_t bytes[TDI_MAX_KEY_FIELDS + TDI_MAX_PARAMS][2][TDI_VALUE_BYTES];
};

/* A context value ("0x..." hex, or a JSON integer) as canonical bytes in buf. */
static int ctx_bytes(json_t *v, const char *what, uint8_t buf[TDI_VALUE_BYTES],
		     ProtobufCBinaryData *out, struct ipdk_err *err)
{
	uint8_t val[TDI_VALUE_BYTES] = { 0 };

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		uint64_t x = (uint64_t)json_integer_value(v);

		for (int i = 0; i < 8; i++)
			val[TDI_VALUE_BYTES - 1 - i] = (uint8_t)(x >> (8 * i));
	} else {
		const char *s = json_string_value(v);
		size_t n;

		if (!s || (strncmp(s, "0x", 2) && strncmp(s, "0X", 2)) || !s[2])
			return ipdk_err_set(err, -EINVAL, "%s: expected a \"0x...\" hex string", what);
		s += 2;
		n = strlen(s);
		if (n > 2 * TDI_VALUE_BYTES)
			return ipdk_err_set(err, -ERANGE, "%s: more than %d bytes", what, TDI_VALUE_BYTES);
		for (size_t i = 0; i < n; i++) {
			char c = s[n - 1 - i];
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0)
				return ipdk_err_set(err, -EINVAL, "%s: \"%c\" is not a hex digit", what, c);
			val[TDI_VALUE_BYTES - 1 - i / 2] |= (uint8_t)(d << (4 * (i % 2)));
		}
	}
	*out = p4_value_to_bytes(val, buf);
	return 0;
}

static const struct p4m_table *find_table(const struct p4_model *m, json_t *ct)
{
	const char *name = json_string_value(json_object_get(ct, "name"));
	const char *target = json_string_value(json_object_get(ct, "target_name"));

	for (uint32_t i = 0; i < m->n_tables; i++)
		if ((name && !strcmp(m->tables[i].name, name)) ||
		    (target && !strcmp(m->tables[i].name, target)))
			return &m->tables[i];
	return NULL;
}

static const struct p4m_action *find_action(const struct p4_model *m, json_t *ca)
{
	const char *name = json_string_value(json_object_get(ca, "name"));
	const char *target = json_string_value(json_object_get(ca, "target_name"));

	for (uint32_t i = 0; i < m->n_actions; i++)
		if ((name && !strcmp(m->actions[i].name, name)) ||
		    (target && !strcmp(m->actions[i].name, target)))
			return &m->actions[i];
	return NULL;
}

/* The model field a context match names: by name, else by its position in
 * the context table's match_key_fields. */
static const struct p4m_field *find_field(const struct p4m_table *t, json_t *ct, const char *name)
{
	json_t *f;
	size_t i;

	for (uint32_t k = 0; k < t->n_fields; k++)
		if (!strcmp(t->fields[k].name, name))
			return &t->fields[k];
	json_array_foreach(json_object_get(ct, "match_key_fields"), i, f) {
		const char *n = json_string_value(json_object_get(f, "name"));
		json_t *pos = json_object_get(f, "position");
		json_int_t p = json_is_integer(pos) ? json_integer_value(pos) : (json_int_t)i;

		if (n && !strcmp(n, name) && p >= 0 && (uint32_t)p < t->n_fields)
			return &t->fields[p];
	}
	return NULL;
}

/* One field of an entry's match into fm. */
static int match_in(const struct p4m_field *f, json_t *cm, const char *what,
		    uint8_t buf[2][TDI_VALUE_BYTES], P4__V1__FieldMatch *fm, void *kind,
		    struct ipdk_err *err)
{
	json_t *v = json_object_get(cm, "value");
	int rc;

	p4__v1__field_match__init(fm);
	fm->field_id = f->id;
	switch (f->match) {
	case TDI_MATCH_EXACT: {
		P4__V1__FieldMatch__Exact *x = kind;

		p4__v1__field_match__exact__init(x);
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT;
		fm->exact = x;
		return ctx_bytes(v, what, buf[0], &x->value, err);
	}
	case TDI_MATCH_LPM: {
		P4__V1__FieldMatch__LPM *x = kind;
		json_t *pl = json_object_get(cm, "prefix_len");

		p4__v1__field_match__lpm__init(x);
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM;
		fm->lpm = x;
		if (!json_is_integer(pl))
			return ipdk_err_set(err, -EINVAL, "%s: an lpm match needs \"prefix_len\"", what);
		x->prefix_len = (int32_t)json_integer_value(pl);
		return ctx_bytes(v, what, buf[0], &x->value, err);
	}
	case TDI_MATCH_TERNARY: {
		P4__V1__FieldMatch__Ternary *x = kind;

		p4__v1__field_match__ternary__init(x);
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY;
		fm->ternary = x;
		rc = ctx_bytes(v, what, buf[0], &x->value, err);
		return rc ? rc : ctx_bytes(json_object_get(cm, "mask"), what, buf[1], &x->mask, err);
	}
	case TDI_MATCH_RANGE: {
		P4__V1__FieldMatch__Range *x = kind;

		p4__v1__field_match__range__init(x);
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE;
		fm->range = x;
		rc = ctx_bytes(v, what, buf[0], &x->low, err);
		return rc ? rc : ctx_bytes(json_object_get(cm, "high"), what, buf[1], &x->high, err);
	}
	case TDI_MATCH_OPTIONAL: {
		P4__V1__FieldMatch__Optional *x = kind;

		p4__v1__field_match__optional__init(x);
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL;
		fm->optional = x;
		return ctx_bytes(v, what, buf[0], &x->value, err);
	}
	}
	return ipdk_err_set(err, -EINVAL, "%s: unknown match kind", what);
}

/* Context entry ce of table t (context table ct) into eb's TableEntry. */
static int entry_in(const struct p4_model *m, const struct p4m_table *t, json_t *ct, json_t *ce,
		    struct entry_buf *eb, struct ipdk_err *err)
{
	json_t *ca = json_object_get(ce, "action"), *cm, *prio = json_object_get(ce, "priority");
	const struct p4m_action *pa;
	char what[2 * TDI_NAME_MAX + 32];
	size_t i;
	int rc;

	memset(eb, 0, sizeof(*eb));
	p4__v1__table_entry__init(&eb->te);
	eb->te.table_id = t->id;
	eb->te.match = eb->pfm;
	json_array_foreach(json_object_get(ce, "match"), i, cm) {
		const char *name = json_string_value(json_object_get(cm, "name"));
		const struct p4m_field *f = name ? find_field(t, ct, name) : NULL;

		if (!f)
			return ipdk_err_set(err, -EINVAL, "match field \"%s\" is not one of the table's",
					    name ? name : "(no name)");
		if (eb->te.n_match == TDI_MAX_KEY_FIELDS)
			return ipdk_err_set(err, -EINVAL, "more than %d match fields", TDI_MAX_KEY_FIELDS);
		snprintf(what, sizeof(what), "match field %s", f->name);
		rc = match_in(f, cm, what, eb->bytes[eb->te.n_match], &eb->fm[eb->te.n_match],
			      &eb->kinds[eb->te.n_match], err);
		if (rc)
			return rc;
		eb->pfm[eb->te.n_match] = &eb->fm[eb->te.n_match];
		eb->te.n_match++;
	}
	/* priorities are P4Runtime's (larger wins); tables without ternary,
	 * range or optional fields take none */
	if (t->has_priority)
		eb->te.priority = json_is_integer(prio) ? (int32_t)json_integer_value(prio) : 0;
	pa = ca ? find_action(m, ca) : NULL;
	if (!pa)
		return ipdk_err_set(err, -EINVAL, "action \"%s\" is not in the P4Info",
				    ca && json_string_value(json_object_get(ca, "name")) ?
				    json_string_value(json_object_get(ca, "name")) : "(none)");
	p4__v1__table_action__init(&eb->ta);
	p4__v1__action__init(&eb->act);
	eb->ta.type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
	eb->ta.action = &eb->act;
	eb->te.action = &eb->ta;
	eb->act.action_id = pa->id;
	eb->act.params = eb->pparams;
	json_array_foreach(json_object_get(ca, "params"), i, cm) {
		const char *name = json_string_value(json_object_get(cm, "name"));
		const struct p4m_param *pp = NULL;
		P4__V1__Action__Param *p = &eb->params[eb->act.n_params];

		for (uint32_t k = 0; k < pa->n_params && name; k++)
			if (!strcmp(pa->params[k].name, name))
				pp = &pa->params[k];
		if (!pp && i < pa->n_params)
			pp = &pa->params[i];
		if (!pp || eb->act.n_params == TDI_MAX_PARAMS)
			return ipdk_err_set(err, -EINVAL, "action %s: no parameter \"%s\"", pa->name,
					    name ? name : "(no name)");
		p4__v1__action__param__init(p);
		p->param_id = pp->id;
		snprintf(what, sizeof(what), "action %s parameter %s", pa->name, pp->name);
		rc = ctx_bytes(json_object_get(cm, "value"), what,
			       eb->bytes[TDI_MAX_KEY_FIELDS + eb->act.n_params][0], &p->value, err);
		if (rc)
			return rc;
		eb->pparams[eb->act.n_params++] = p;
	}
	return 0;
}

/* A cell write (a direct counter starting at 0) that failed after the commit. */
static void cell_failed(size_t update, int rc, const struct ipdk_err *e, void *arg)
{
	struct ipdk_err *err = arg;

	(void)update;
	if (!err->code)
		ipdk_err_set(err, rc, "%s", e->msg);
}

static int install(struct p4_model *m, struct tdi_dev *tdi, json_t *tables, struct ipdk_err *err)
{
	P4__V1__Entity en = P4__V1__ENTITY__INIT;
	P4__V1__Update u = P4__V1__UPDATE__INIT;
	struct entry_buf *eb = malloc(sizeof(*eb));
	uint32_t n = 0;
	json_t *ct, *ce;
	size_t i, k;
	int rc = 0;

	if (!eb)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	u.type = P4__V1__UPDATE__TYPE__INSERT;
	u.entity = &en;
	en.entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	en.table_entry = &eb->te;
	json_array_foreach(tables, i, ct) {
		json_t *entries = json_object_get(ct, "entries");
		const char *tn = json_string_value(json_object_get(ct, "name"));
		const struct p4m_table *t;

		if (!json_array_size(entries))
			continue;
		t = find_table(m, ct);
		if (!t) {
			rc = ipdk_err_set(err, -EINVAL, "context table %s has entries but is not in the P4Info",
					  tn ? tn : "(no name)");
			break;
		}
		json_array_foreach(entries, k, ce) {
			p4_batch_update(m, n++);
			rc = entry_in(m, t, ct, ce, eb, err);
			if (!rc)
				rc = p4_write_update(m, tdi, &u, err);
			if (rc) {
				ipdk_err_prefix(err, "initial entry %zu of table %s", k, t->name);
				break;
			}
		}
		if (rc)
			break;
	}
	free(eb);
	return rc;
}

int p4_entries_install(struct p4_model *m, struct tdi_dev *tdi, const char *context_json,
		       struct ipdk_err *err)
{
	json_t *ctx, *tables, *ct;
	struct ipdk_err cell;
	json_error_t jerr;
	bool any = false;
	size_t i;
	int rc;

	if (!context_json || !context_json[0])
		return 0;
	ctx = json_loads(context_json, 0, &jerr);
	if (!ctx)
		return ipdk_err_set(err, -EINVAL, "context JSON: line %d: %s", jerr.line, jerr.text);
	tables = json_object_get(ctx, "tables");
	json_array_foreach(tables, i, ct)
		any |= json_array_size(json_object_get(ct, "entries")) > 0;
	if (!any) {
		json_decref(ctx);
		return 0;
	}
	rc = tdi_batch_begin(tdi, err);
	if (!rc && p4_batch_begin(m, err)) {
		tdi_batch_abort(tdi);
		rc = -ENOMEM;
	}
	if (rc) {
		json_decref(ctx);
		return rc;
	}
	m->initial = true;
	rc = install(m, tdi, tables, err);
	m->initial = false;
	json_decref(ctx);
	if (rc) {
		tdi_batch_abort(tdi);
		p4_batch_abort(m);
		return rc;
	}
	rc = tdi_batch_commit(tdi, err);
	if (rc) {
		p4_batch_abort(m);
		return ipdk_err_prefix(err, "initial entries");
	}
	ipdk_err_clear(&cell);
	p4_batch_commit(m, tdi, cell_failed, &cell);
	if (cell.code)
		*err = cell;
	return cell.code;
}

int p4_pipeline_model(const P4__Config__V1__P4Info *info, const struct p4_bundle *b,
		      struct tdi_dev *tdi, bool install_entries, struct p4_model **out,
		      struct ipdk_err *err)
{
	struct p4_model *m = NULL;
	int rc;

	rc = info ? p4_model_from_p4info(info, b->context, tdi, &m, err)
	     : p4_model_derive(tdi, b->name, b->spec, &m, err);
	if (!rc && install_entries)
		rc = p4_entries_install(m, tdi, b->context, err);
	if (rc) {
		p4_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}
