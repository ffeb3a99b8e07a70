/*
 * The FLOW syntax of p4rt-ctl (see flow.h): parsing into P4Runtime messages
 * with every name and value checked against the P4Info before anything is
 * sent, and the reverse for dumps. Match values print in hex, which is what
 * IPDK's p4rt-ctl printed and what reads back unambiguously for any width.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "value.h"

#define HEX_MAX (VAL_MAX_BYTES * 2 + 8)

void *msg_new(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	if (!m) {
		fprintf(stderr, "p4rt-ctl: out of memory\n");
		exit(1);
	}
	d->message_init(m);
	return m;
}

/* Appends p to a repeated pointer field. */
static void push(void *arr_p, size_t *n, void *p)
{
	void ***arr = arr_p;
	void **na = realloc(*arr, (*n + 1) * sizeof(void *));

	if (!na) {
		fprintf(stderr, "p4rt-ctl: out of memory\n");
		exit(1);
	}
	na[(*n)++] = p;
	*arr = na;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	/* IPDK examples quote values: key="0x0a" */
	if (e - s >= 2 && ((*s == '"' && e[-1] == '"') || (*s == '\'' && e[-1] == '\''))) {
		e[-1] = 0;
		s++;
	}
	return s;
}

int kv_split(const char *text, struct kvlist *out, struct ipdk_err *err)
{
	char *p, *start;
	int depth = 0;

	memset(out, 0, sizeof(*out));
	out->buf = strdup(text);
	if (!out->buf)
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	for (p = start = out->buf;; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth < 0)
			return ipdk_err_set(err, -EINVAL, "\"%s\": ')' without '('", text);
		if ((*p == ',' && depth == 0) || !*p) {
			char end = *p, *eq, *k;
			struct kv *nv;

			*p = 0;
			k = trim(start);
			if (*k) {
				nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
				if (!nv)
					return ipdk_err_set(err, -ENOMEM, "out of memory");
				out->v = nv;
				eq = strchr(k, '=');
				if (eq) {
					*eq = 0;
					out->v[out->n].key = trim(k);
					out->v[out->n].val = trim(eq + 1);
				} else {
					out->v[out->n].key = k;
					out->v[out->n].val = NULL;
				}
				out->n++;
			}
			if (!end)
				break;
			start = p + 1;
		}
	}
	if (depth)
		return ipdk_err_set(err, -EINVAL, "\"%s\": '(' without ')'", text);
	return 0;
}

void kv_free(struct kvlist *l)
{
	free(l->buf);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int bytes_of(const struct val *v, ProtobufCBinaryData *out, struct ipdk_err *err)
{
	if (val_to_bytes(v, out))
		return ipdk_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* "A/B": a prefix length when B is a plain decimal number, else a mask. */
static int is_decimal(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int match_field(const P4MatchField *f, const char *text, P4__V1__FieldMatch **out,
		       struct ipdk_err *err)
{
	uint32_t bits = (uint32_t)f->bitwidth;
	int mt = p4i_match_type(f);
	char what[256], buf[512], *sep;
	P4__V1__FieldMatch *fm;
	struct val v, m;
	int rc;

	*out = NULL;
	snprintf(what, sizeof(what), "%s (%s, %d bits)", f->name, p4i_match_name(mt), f->bitwidth);
	if (strlen(text) >= sizeof(buf))
		return ipdk_err_set(err, -EINVAL, "%s: value too long", what);
	snprintf(buf, sizeof(buf), "%s", text);
	if (!strcmp(buf, "*") || !strcmp(buf, "_")) {
		if (mt == P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT)
			return ipdk_err_set(err, -EINVAL, "%s: an exact field cannot be a wildcard", what);
		return 0;
	}
	fm = msg_new(&p4__v1__field_match__descriptor);
	fm->field_id = f->id;
	switch (mt) {
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT:
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL: {
		ProtobufCBinaryData *dst;

		rc = val_parse(buf, bits, what, &v, err);
		if (rc)
			break;
		if (mt == P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT) {
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT;
			fm->exact = msg_new(&p4__v1__field_match__exact__descriptor);
			dst = &fm->exact->value;
		} else {
			fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL;
			fm->optional = msg_new(&p4__v1__field_match__optional__descriptor);
			dst = &fm->optional->value;
		}
		rc = bytes_of(&v, dst, err);
		break;
	}
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM: {
		long plen = bits;

		sep = strchr(buf, '/');
		if (sep) {
			*sep++ = 0;
			if (is_decimal(sep)) {
				plen = strtol(sep, NULL, 10);
			} else {
				rc = val_parse(sep, bits, what, &m, err);
				if (rc)
					break;
				plen = val_prefix_len(&m, bits);
				if (plen < 0) {
					rc = ipdk_err_set(err, -EINVAL, "%s: mask %s is not a prefix", what, sep);
					break;
				}
			}
			if (plen > (long)bits) {
				rc = ipdk_err_set(err, -ERANGE, "%s: prefix length %ld is longer than %u bits",
						  what, plen, bits);
				break;
			}
		}
		rc = val_parse(buf, bits, what, &v, err);
		if (rc)
			break;
		if (plen == 0) {        /* /0 matches everything: P4Runtime omits the field */
			p4__v1__field_match__free_unpacked(fm, NULL);
			return 0;
		}
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM;
		fm->lpm = msg_new(&p4__v1__field_match__lpm__descriptor);
		fm->lpm->prefix_len = (int32_t)plen;
		rc = bytes_of(&v, &fm->lpm->value, err);
		break;
	}
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY: {
		char *mask_s = NULL;

		sep = strstr(buf, "&&&");
		if (sep) {
			*sep = 0;
			mask_s = sep + 3;
		} else if ((sep = strchr(buf, '/'))) {
			*sep = 0;
			mask_s = sep + 1;
		}
		rc = val_parse(buf, bits, what, &v, err);
		if (rc)
			break;
		if (!mask_s) {
			val_prefix_mask(bits, bits, &m);
		} else if (!strstr(text, "&&&") && is_decimal(mask_s)) {
			long plen = strtol(mask_s, NULL, 10);

			if (plen > (long)bits) {
				rc = ipdk_err_set(err, -ERANGE, "%s: prefix length %ld is longer than %u bits",
						  what, plen, bits);
				break;
			}
			val_prefix_mask(bits, (uint32_t)plen, &m);
		} else {
			rc = val_parse(mask_s, bits, what, &m, err);
			if (rc)
				break;
		}
		if (val_is_zero(&m)) {  /* a zero mask is "don't care": the field is omitted */
			p4__v1__field_match__free_unpacked(fm, NULL);
			return 0;
		}
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY;
		fm->ternary = msg_new(&p4__v1__field_match__ternary__descriptor);
		rc = bytes_of(&v, &fm->ternary->value, err);
		if (!rc)
			rc = bytes_of(&m, &fm->ternary->mask, err);
		break;
	}
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE: {
		struct val hi;

		sep = strstr(buf, "..");
		if (sep) {
			*sep = 0;
			rc = val_parse(buf, bits, what, &v, err);
			if (!rc)
				rc = val_parse(sep + 2, bits, what, &hi, err);
		} else {
			rc = val_parse(buf, bits, what, &v, err);
			hi = v;
		}
		if (rc)
			break;
		if (memcmp(&v, &hi, sizeof(v)) > 0) {
			rc = ipdk_err_set(err, -EINVAL, "%s: range %s has low above high", what, text);
			break;
		}
		val_prefix_mask(bits, bits, &m);
		if (val_is_zero(&v) && !memcmp(&hi, &m, sizeof(m))) {   /* the full range */
			p4__v1__field_match__free_unpacked(fm, NULL);
			return 0;
		}
		fm->field_match_type_case = P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE;
		fm->range = msg_new(&p4__v1__field_match__range__descriptor);
		rc = bytes_of(&v, &fm->range->low, err);
		if (!rc)
			rc = bytes_of(&hi, &fm->range->high, err);
		break;
	}
	default:
		rc = ipdk_err_set(err, -ENOTSUP, "%s: match type not supported by p4rt-ctl", what);
	}
	if (rc) {
		p4__v1__field_match__free_unpacked(fm, NULL);
		return rc;
	}
	*out = fm;
	return 0;
}

int flow_action(const P4Info *info, const P4Table *t, const char *text, P4__V1__Action **out,
		struct ipdk_err *err)
{
	char name[256], *open;
	const P4Action *a;
	P4__V1__Action *pa;
	struct kvlist args = { 0 };
	int rc = 0;

	*out = NULL;
	if (strlen(text) >= sizeof(name))
		return ipdk_err_set(err, -EINVAL, "action \"%.40s...\" too long", text);
	snprintf(name, sizeof(name), "%s", text);
	open = strchr(name, '(');
	if (open) {
		size_t l = strlen(open);

		if (open[l - 1] != ')')
			return ipdk_err_set(err, -EINVAL, "action \"%s\": expected NAME(ARG,...)", text);
		open[l - 1] = 0;
		*open++ = 0;
		rc = kv_split(open, &args, err);
		if (rc)
			goto out;
	}
	a = p4i_action(info, trim(name), err);
	if (!a) {
		rc = err->code;
		goto out;
	}
	if (t && !p4i_table_has_action(t, a->preamble->id)) {
		char list[256];
		size_t used = 0;

		list[0] = 0;
		for (size_t i = 0; i < t->n_action_refs && used + 1 < sizeof(list); i++) {
			const P4Action *x = p4i_action_by_id(info, t->action_refs[i]->id);

			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
						 x ? x->preamble->name : "?");
		}
		rc = ipdk_err_set(err, -EINVAL, "action %s is not an action of table %s (its actions: %s)",
				  a->preamble->name, t->preamble->name, list);
		goto out;
	}
	pa = msg_new(&p4__v1__action__descriptor);
	pa->action_id = a->preamble->id;
	*out = pa;
	{
		bool named = args.n && args.v[0].val;

		if (!named && args.n != a->n_params) {
			rc = ipdk_err_set(err, -EINVAL, "action %s takes %zu parameter%s, %zu given",
					  a->preamble->name, a->n_params, a->n_params == 1 ? "" : "s",
					  args.n);
			goto out;
		}
		for (size_t i = 0; i < args.n; i++) {
			if (named != (args.v[i].val != NULL)) {
				rc = ipdk_err_set(err, -EINVAL,
						  "action %s: give all parameters by position or all as NAME=VALUE",
						  a->preamble->name);
				goto out;
			}
		}
		for (size_t i = 0; i < a->n_params; i++) {
			const P4Param *pp = a->params[i];
			const char *vs = named ? NULL : args.v[i].key;
			char what[300];
			struct val v;
			P4__V1__Action__Param *prm;

			if (named) {
				for (size_t k = 0; k < args.n; k++) {
					const P4Param *q = p4i_param(a, args.v[k].key, err);

					if (!q) {
						rc = err->code;
						goto out;
					}
					if (q == pp)
						vs = args.v[k].val;
				}
				if (!vs)        /* IPDK: unnamed parameters are 0 */
					vs = "0";
			}
			snprintf(what, sizeof(what), "%s parameter %s (%d bits)", a->preamble->name,
				 pp->name, pp->bitwidth);
			rc = val_parse(vs, (uint32_t)pp->bitwidth, what, &v, err);
			if (rc)
				goto out;
			prm = msg_new(&p4__v1__action__param__descriptor);
			prm->param_id = pp->id;
			push(&pa->params, &pa->n_params, prm);
			rc = bytes_of(&v, &prm->value, err);
			if (rc)
				goto out;
		}
	}
out:
	kv_free(&args);
	if (rc && *out) {
		p4__v1__action__free_unpacked(*out, NULL);
		*out = NULL;
	}
	return rc;
}

static int id_value(const char *key, const char *val, uint32_t *out, struct ipdk_err *err)
{
	uint64_t v;
	int rc = val ? u64_parse(val, key, &v, err)
		     : ipdk_err_set(err, -EINVAL, "%s needs a value (%s=N)", key, key);

	if (rc)
		return rc;
	if (v > UINT32_MAX || !v)
		return ipdk_err_set(err, -ERANGE, "%s=%s: expected 1 to %u", key, val, UINT32_MAX);
	*out = (uint32_t)v;
	return 0;
}

int flow_table_entry(const P4Info *info, const P4Table *t, const char *flow, enum flow_mode mode,
		     P4__V1__TableEntry **out, struct ipdk_err *err)
{
	P4__V1__TableEntry *te = msg_new(&p4__v1__table_entry__descriptor);
	const char *action = NULL;
	bool *given = calloc(t->n_match_fields + 1, sizeof(bool));
	uint32_t member = 0, group = 0;
	struct kvlist kv;
	int rc;

	rc = kv_split(flow, &kv, err);
	te->table_id = t->preamble->id;
	for (size_t i = 0; !rc && i < kv.n; i++) {
		const char *k = kv.v[i].key, *v = kv.v[i].val;
		const P4MatchField *f;
		P4__V1__FieldMatch *fm;

		if (!strcmp(k, "action") || !strcmp(k, "actions")) {
			action = v;
			if (!v || !*v)
				rc = ipdk_err_set(err, -EINVAL, "action= needs an action name");
			continue;
		}
		if (!strcmp(k, "priority")) {
			uint64_t p;

			rc = v ? u64_parse(v, "priority", &p, err)
			       : ipdk_err_set(err, -EINVAL, "priority needs a value (priority=N)");
			if (!rc && (p > INT32_MAX || !p))
				rc = ipdk_err_set(err, -ERANGE, "priority=%s: expected 1 to %d", v, INT32_MAX);
			if (!rc)
				te->priority = (int32_t)p;
			continue;
		}
		if (!strcmp(k, "member_id")) {
			rc = id_value(k, v, &member, err);
			continue;
		}
		if (!strcmp(k, "group_id")) {
			rc = id_value(k, v, &group, err);
			continue;
		}
		f = p4i_field(t, k, err);
		if (!f) {
			rc = err->code;
			break;
		}
		if (!v) {
			rc = ipdk_err_set(err, -EINVAL, "match field %s needs a value (%s=VALUE)", k, k);
			break;
		}
		for (size_t j = 0; j < t->n_match_fields; j++) {
			if (t->match_fields[j] == f) {
				if (given[j])
					rc = ipdk_err_set(err, -EINVAL, "match field %s given twice", f->name);
				given[j] = true;
			}
		}
		if (!rc)
			rc = match_field(f, v, &fm, err);
		if (!rc && fm)
			push(&te->match, &te->n_match, fm);
	}
	for (size_t j = 0; !rc && j < t->n_match_fields; j++) {
		if (!given[j] && p4i_match_type(t->match_fields[j]) ==
				 P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT)
			rc = ipdk_err_set(err, -EINVAL, "table %s: exact match field %s is missing",
					  t->preamble->name, t->match_fields[j]->name);
	}
	if (!rc && p4i_needs_priority(t) && !te->priority)
		rc = ipdk_err_set(err, -EINVAL,
				  "table %s has ternary, range or optional fields: give priority=N",
				  t->preamble->name);
	if (!rc && !p4i_needs_priority(t))
		te->priority = 0;       /* IPDK's p4rt-ctl ignores a priority here too */
	if (!rc && mode == FLOW_ENTRY) {
		if ((action != NULL) + (member != 0) + (group != 0) != 1) {
			rc = ipdk_err_set(err, -EINVAL,
					  "table %s: give exactly one of action=NAME(ARGS), member_id=N, group_id=N",
					  t->preamble->name);
		} else {
			te->action = msg_new(&p4__v1__table_action__descriptor);
			if (action) {
				te->action->type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
				rc = flow_action(info, t, action, &te->action->action, err);
			} else if (member) {
				te->action->type_case = P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID;
				te->action->action_profile_member_id = member;
			} else {
				te->action->type_case = P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_GROUP_ID;
				te->action->action_profile_group_id = group;
			}
		}
	}
	kv_free(&kv);
	free(given);
	if (rc) {
		if (!err->code)
			ipdk_err_set(err, rc, "bad flow");
		p4__v1__table_entry__free_unpacked(te, NULL);
		return rc;
	}
	*out = te;
	return 0;
}

/* ---- output -------------------------------------------------------------------- */

static void hex(const ProtobufCBinaryData *b, char *buf)
{
	bytes_hex(b, buf, HEX_MAX);
}

static const char *field_name(const P4Table *t, uint32_t id, char *buf, size_t size)
{
	const P4MatchField *f = t ? p4i_field_by_id(t, id) : NULL;

	if (f)
		return f->name;
	snprintf(buf, size, "field%u", id);
	return buf;
}

/* "0x0a000200/24" and friends. */
static void match_text(const P4__V1__FieldMatch *m, char *out, size_t size)
{
	char a[HEX_MAX], b[HEX_MAX];

	switch (m->field_match_type_case) {
	case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT:
		hex(&m->exact->value, a);
		snprintf(out, size, "%s", a);
		break;
	case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL:
		hex(&m->optional->value, a);
		snprintf(out, size, "%s", a);
		break;
	case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM:
		hex(&m->lpm->value, a);
		snprintf(out, size, "%s/%d", a, m->lpm->prefix_len);
		break;
	case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY:
		hex(&m->ternary->value, a);
		hex(&m->ternary->mask, b);
		snprintf(out, size, "%s&&&%s", a, b);
		break;
	case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE:
		hex(&m->range->low, a);
		hex(&m->range->high, b);
		snprintf(out, size, "%s..%s", a, b);
		break;
	default:
		snprintf(out, size, "?");
	}
}

void flow_print_action(FILE *f, const P4Info *info, const P4__V1__Action *a)
{
	const P4Action *pa = p4i_action_by_id(info, a->action_id);
	char v[HEX_MAX];

	if (pa)
		fprintf(f, "%s(", pa->preamble->name);
	else
		fprintf(f, "action%u(", a->action_id);
	for (size_t i = 0; i < a->n_params; i++) {
		const P4Param *p = pa ? p4i_param_by_id(pa, a->params[i]->param_id) : NULL;

		hex(&a->params[i]->value, v);
		if (p)
			fprintf(f, "%s%s=%s", i ? "," : "", p->name, v);
		else
			fprintf(f, "%sparam%u=%s", i ? "," : "", a->params[i]->param_id, v);
	}
	fputc(')', f);
}

void flow_print_entry(FILE *f, const P4Info *info, const P4__V1__TableEntry *te)
{
	const P4Table *t = p4i_table_by_id(info, te->table_id);
	char name[32], val[3 * HEX_MAX];

	if (t)
		fprintf(f, "table=%s", t->preamble->name);
	else
		fprintf(f, "table=%u", te->table_id);
	if (te->is_default_action)
		fputs(" default", f);
	if (te->const_)
		fputs(" const", f);
	if (te->priority)
		fprintf(f, " priority=%d", te->priority);
	for (size_t i = 0; i < te->n_match; i++) {
		match_text(te->match[i], val, sizeof(val));
		fprintf(f, "%s%s=%s", i ? "," : " ", field_name(t, te->match[i]->field_id, name,
								      sizeof(name)), val);
	}
	if (te->action) {
		switch (te->action->type_case) {
		case P4__V1__TABLE_ACTION__TYPE_ACTION:
			fputs(" actions=", f);
			flow_print_action(f, info, te->action->action);
			break;
		case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID:
			fprintf(f, " member_id=%u", te->action->action_profile_member_id);
			break;
		case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_GROUP_ID:
			fprintf(f, " group_id=%u", te->action->action_profile_group_id);
			break;
		default:
			break;
		}
	}
	if (te->counter_data)
		fprintf(f, " counter=(packets=%" PRId64 ",bytes=%" PRId64 ")",
			te->counter_data->packet_count, te->counter_data->byte_count);
}

static json_t *hexj(const ProtobufCBinaryData *b)
{
	char v[HEX_MAX];

	hex(b, v);
	return json_string(v);
}

json_t *flow_action_json(const P4Info *info, const P4__V1__Action *a)
{
	const P4Action *pa = p4i_action_by_id(info, a->action_id);
	json_t *o = json_object(), *params = json_object();

	json_object_set_new(o, "name", pa ? json_string(pa->preamble->name) : json_null());
	json_object_set_new(o, "id", json_integer(a->action_id));
	for (size_t i = 0; i < a->n_params; i++) {
		const P4Param *p = pa ? p4i_param_by_id(pa, a->params[i]->param_id) : NULL;
		char k[32];

		snprintf(k, sizeof(k), "param%u", a->params[i]->param_id);
		json_object_set_new(params, p ? p->name : k, hexj(&a->params[i]->value));
	}
	json_object_set_new(o, "params", params);
	return o;
}

json_t *flow_entry_json(const P4Info *info, const P4__V1__TableEntry *te)
{
	const P4Table *t = p4i_table_by_id(info, te->table_id);
	json_t *o = json_object(), *match = json_array();
	char name[32];

	json_object_set_new(o, "table", t ? json_string(t->preamble->name) : json_null());
	json_object_set_new(o, "table_id", json_integer(te->table_id));
	if (te->is_default_action)
		json_object_set_new(o, "is_default_action", json_true());
	if (te->const_)
		json_object_set_new(o, "const", json_true());
	if (te->priority)
		json_object_set_new(o, "priority", json_integer(te->priority));
	for (size_t i = 0; i < te->n_match; i++) {
		const P4__V1__FieldMatch *m = te->match[i];
		json_t *mj = json_object();

		json_object_set_new(mj, "field", json_string(field_name(t, m->field_id, name,
									 sizeof(name))));
		json_object_set_new(mj, "field_id", json_integer(m->field_id));
		switch (m->field_match_type_case) {
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_EXACT:
			json_object_set_new(mj, "type", json_string("exact"));
			json_object_set_new(mj, "value", hexj(&m->exact->value));
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_OPTIONAL:
			json_object_set_new(mj, "type", json_string("optional"));
			json_object_set_new(mj, "value", hexj(&m->optional->value));
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_LPM:
			json_object_set_new(mj, "type", json_string("lpm"));
			json_object_set_new(mj, "value", hexj(&m->lpm->value));
			json_object_set_new(mj, "prefix_len", json_integer(m->lpm->prefix_len));
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_TERNARY:
			json_object_set_new(mj, "type", json_string("ternary"));
			json_object_set_new(mj, "value", hexj(&m->ternary->value));
			json_object_set_new(mj, "mask", hexj(&m->ternary->mask));
			break;
		case P4__V1__FIELD_MATCH__FIELD_MATCH_TYPE_RANGE:
			json_object_set_new(mj, "type", json_string("range"));
			json_object_set_new(mj, "low", hexj(&m->range->low));
			json_object_set_new(mj, "high", hexj(&m->range->high));
			break;
		default:
			json_object_set_new(mj, "type", json_string("other"));
		}
		json_array_append_new(match, mj);
	}
	json_object_set_new(o, "match", match);
	if (te->action) {
		switch (te->action->type_case) {
		case P4__V1__TABLE_ACTION__TYPE_ACTION:
			json_object_set_new(o, "action", flow_action_json(info, te->action->action));
			break;
		case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_MEMBER_ID:
			json_object_set_new(o, "member_id",
					    json_integer(te->action->action_profile_member_id));
			break;
		case P4__V1__TABLE_ACTION__TYPE_ACTION_PROFILE_GROUP_ID:
			json_object_set_new(o, "group_id",
					    json_integer(te->action->action_profile_group_id));
			break;
		default:
			break;
		}
	}
	if (te->counter_data) {
		json_t *c = json_object();

		json_object_set_new(c, "packets", json_integer(te->counter_data->packet_count));
		json_object_set_new(c, "bytes", json_integer(te->counter_data->byte_count));
		json_object_set_new(o, "counter", c);
	}
	return o;
}
