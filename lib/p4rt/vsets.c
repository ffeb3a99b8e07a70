/*
 * P4Runtime parser value sets on TDI: a value set is a spec table whose
 * entries are the set's members; a MODIFY replaces them all. Errors as in
 * entity.c; runs with the dataplane locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

const struct p4m_table *p4_vset_find(const struct p4_model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->n_vsets; i++)
		if (m->vsets[i].id == id)
			return &m->vsets[i];
	return NULL;
}

int p4_collect_entry(const struct tdi_entry *e, void *arg)
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
	return p4_key_in(v, &te, e, err);
}

/* MODIFY replaces the set's members (the only update a value set takes). */
int p4_vset_write(const struct p4_model *m, struct tdi_dev *tdi, int type,
		  const P4__V1__ValueSetEntry *ve, struct ipdk_err *err)
{
	const struct p4m_table *v = p4_vset_find(m, ve->value_set_id);
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
		rc = tdi_entry_iterate(tdi, v->tdi_id, p4_collect_entry, &end);
	for (struct tdi_entry *o = olds; o < end && !rc; o++)
		rc = tdi_entry_delete(tdi, o, err);
	for (size_t i = 0; i < ve->n_members && !rc; i++)
		rc = tdi_entry_add(tdi, &news[i], err);
	free(olds);
	return rc;
}
