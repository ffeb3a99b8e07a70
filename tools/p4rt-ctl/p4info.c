/*
 * P4Info lookups for p4rt-ctl (see p4info.h). Every top-level P4Info object
 * starts with a Preamble, so one search over (array, offset of the preamble)
 * serves tables, actions, profiles, counters and meters alike.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4info.h"

typedef P4__Config__V1__Preamble Preamble;

static const Preamble *pre_at(const void *obj, size_t off)
{
	return *(Preamble *const *)((const char *)obj + off);
}

/* True when name is full or a dotted suffix of full ("b.c" of "a.b.c"). */
static int suffix_match(const char *full, const char *name)
{
	size_t lf = strlen(full), ln = strlen(name);

	return lf > ln && !strcmp(full + lf - ln, name) && full[lf - ln - 1] == '.';
}

static int is_number(const char *s)
{
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	if (hex)
		s += 2;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') ||
		      (hex && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))))
			return 0;
	return 1;
}

/* "a, b, c" of the names in arr, for error messages. */
static void names_list(void *const *arr, size_t n, size_t off, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && used + 1 < size; i++) {
		const Preamble *p = pre_at(arr[i], off);

		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
					 p && p->name ? p->name : "?");
	}
	if (!n)
		snprintf(buf, size, "none");
}

static const void *find_named(void *const *arr, size_t n, size_t off, const char *kind,
			      const char *name, struct ipdk_err *err)
{
	const void *found = NULL;
	char list[256];
	int hits = 0;

	for (size_t i = 0; i < n; i++) {
		const Preamble *p = pre_at(arr[i], off);

		if (p && ((p->name && !strcmp(p->name, name)) || (p->alias && !strcmp(p->alias, name))))
			return arr[i];
	}
	if (is_number(name)) {
		uint32_t id = (uint32_t)strtoul(name, NULL, 0);

		for (size_t i = 0; i < n; i++) {
			const Preamble *p = pre_at(arr[i], off);

			if (p && p->id == id)
				return arr[i];
		}
	}
	for (size_t i = 0; i < n; i++) {
		const Preamble *p = pre_at(arr[i], off);

		if (p && p->name && suffix_match(p->name, name)) {
			found = arr[i];
			hits++;
		}
	}
	if (hits == 1)
		return found;
	names_list(arr, n, off, list, sizeof(list));
	ipdk_err_set(err, -ENOENT, "%s \"%s\" %s in the P4Info (%ss: %s)", kind, name,
		     hits ? "is ambiguous" : "is not", kind, list);
	return NULL;
}

static const void *find_id(void *const *arr, size_t n, size_t off, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		const Preamble *p = pre_at(arr[i], off);

		if (p && p->id == id)
			return arr[i];
	}
	return NULL;
}

#define FIND(field, type, kind) \
	find_named((void *const *)info->field, info->n_##field, offsetof(type, preamble), kind, \
		   name, err)
#define FIND_ID(field, type) \
	find_id((void *const *)info->field, info->n_##field, offsetof(type, preamble), id)

const P4Table *p4i_table(const P4Info *info, const char *name, struct ipdk_err *err)
{
	return FIND(tables, P4Table, "table");
}

const P4Action *p4i_action(const P4Info *info, const char *name, struct ipdk_err *err)
{
	return FIND(actions, P4Action, "action");
}

const P4__Config__V1__ActionProfile *p4i_profile(const P4Info *info, const char *name,
						 struct ipdk_err *err)
{
	return FIND(action_profiles, P4__Config__V1__ActionProfile, "action profile");
}

const P4__Config__V1__Counter *p4i_counter(const P4Info *info, const char *name,
					   struct ipdk_err *err)
{
	return FIND(counters, P4__Config__V1__Counter, "counter");
}

const P4__Config__V1__Meter *p4i_meter(const P4Info *info, const char *name, struct ipdk_err *err)
{
	return FIND(meters, P4__Config__V1__Meter, "meter");
}

const P4__Config__V1__ControllerPacketMetadata *p4i_ctrl_header(const P4Info *info,
								 const char *name)
{
	for (size_t i = 0; i < info->n_controller_packet_metadata; i++) {
		const Preamble *p = info->controller_packet_metadata[i]->preamble;

		if (p && p->name && (!strcmp(p->name, name) || suffix_match(p->name, name)))
			return info->controller_packet_metadata[i];
	}
	return NULL;
}

const P4Table *p4i_table_by_id(const P4Info *info, uint32_t id)
{
	return FIND_ID(tables, P4Table);
}

const P4Action *p4i_action_by_id(const P4Info *info, uint32_t id)
{
	return FIND_ID(actions, P4Action);
}

const P4__Config__V1__ActionProfile *p4i_profile_by_id(const P4Info *info, uint32_t id)
{
	return FIND_ID(action_profiles, P4__Config__V1__ActionProfile);
}

const P4__Config__V1__Counter *p4i_counter_by_id(const P4Info *info, uint32_t id)
{
	return FIND_ID(counters, P4__Config__V1__Counter);
}

const P4__Config__V1__Meter *p4i_meter_by_id(const P4Info *info, uint32_t id)
{
	return FIND_ID(meters, P4__Config__V1__Meter);
}

/* Fields and params have a plain name, not a preamble: the same rules by hand. */
#define FIND_MEMBER(arr, n, kind, owner)						\
	do {										\
		const void *hit = NULL;							\
		char list[256];								\
		size_t used = 0;							\
		int hits = 0;								\
		for (size_t i = 0; i < (n); i++)					\
			if (!strcmp((arr)[i]->name, name))				\
				return (arr)[i];					\
		for (size_t i = 0; i < (n); i++)					\
			if (suffix_match((arr)[i]->name, name))				\
				hit = (arr)[i], hits++;					\
		if (hits == 1)								\
			return hit;							\
		list[0] = 0;								\
		for (size_t i = 0; i < (n) && used + 1 < sizeof(list); i++)		\
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", \
						 i ? ", " : "", (arr)[i]->name);	\
		ipdk_err_set(err, -ENOENT, "%s \"%s\" %s of %s (%ss: %s)", kind, name,	\
			     hits ? "is ambiguous" : "is not one", owner, kind,		\
			     (n) ? list : "none");					\
		return NULL;								\
	} while (0)

const P4MatchField *p4i_field(const P4Table *t, const char *name, struct ipdk_err *err)
{
	FIND_MEMBER(t->match_fields, t->n_match_fields, "match field", t->preamble->name);
}

const P4Param *p4i_param(const P4Action *a, const char *name, struct ipdk_err *err)
{
	FIND_MEMBER(a->params, a->n_params, "parameter", a->preamble->name);
}

const P4MatchField *p4i_field_by_id(const P4Table *t, uint32_t id)
{
	for (size_t i = 0; i < t->n_match_fields; i++)
		if (t->match_fields[i]->id == id)
			return t->match_fields[i];
	return NULL;
}

const P4Param *p4i_param_by_id(const P4Action *a, uint32_t id)
{
	for (size_t i = 0; i < a->n_params; i++)
		if (a->params[i]->id == id)
			return a->params[i];
	return NULL;
}

int p4i_match_type(const P4MatchField *f)
{
	return f->match_case == P4__CONFIG__V1__MATCH_FIELD__MATCH_MATCH_TYPE ? (int)f->match_type : 0;
}

const char *p4i_match_name(int type)
{
	switch (type) {
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT: return "exact";
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM: return "lpm";
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY: return "ternary";
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE: return "range";
	case P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL: return "optional";
	default: return "other";
	}
}

int p4i_table_has_action(const P4Table *t, uint32_t action_id)
{
	for (size_t i = 0; i < t->n_action_refs; i++)
		if (t->action_refs[i]->id == action_id)
			return 1;
	return 0;
}

int p4i_needs_priority(const P4Table *t)
{
	for (size_t i = 0; i < t->n_match_fields; i++) {
		int mt = p4i_match_type(t->match_fields[i]);

		if (mt == P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY ||
		    mt == P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE ||
		    mt == P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL)
			return 1;
	}
	return 0;
}
