/*
 * P4Runtime action profiles on TDI: members (a member table keyed by member
 * id) and groups (a TDI selector), with the reference counts that keep a
 * member or group in use by a table entry from being deleted, the snapshot
 * that lets an all-or-none batch restore them, and the TableAction of an
 * entry (a direct action, a member or a group) as a TDI action. Errors as in
 * entity.c; runs with the dataplane locked.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_int.h"

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

struct p4m_group *p4_group_by_idx(struct p4m_profile *pr, uint32_t idx)
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
		if (pr->n_members)
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
void p4_action_ref(const struct p4_model *m, const struct p4m_table *t,
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
		struct p4m_group *g = p4_group_by_idx(pr, v);

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

uint32_t p4_get_u32(const uint8_t v[TDI_VALUE_BYTES])
{
	return ((uint32_t)v[12] << 24) | ((uint32_t)v[13] << 16) | ((uint32_t)v[14] << 8) | v[15];
}

/* The TableAction of an entry into e's TDI action. */
int p4_table_action_in(const struct p4_model *m, const struct p4m_table *t,
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
		rc = p4_action_in(m, ta->action, e, &pa, err);
		if (rc)
			return rc;
		if (!p4_table_has_action(t, pa->id))
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

/* ---- action profile members and groups -------------------------------- */

int p4_member_write(struct p4_model *m, struct tdi_dev *tdi, int type,
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
		rc = p4_action_in(m, am->action, &e, &pa, err);
		if (rc)
			return rc;
		if (pr->n_table_ids) {
			const struct p4m_table *t = p4m_table(m, pr->table_ids[0]);

			if (t && !p4_table_has_action(t, pa->id))
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

int p4_group_write(struct p4_model *m, struct tdi_dev *tdi, int type,
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
			for (idx = 1; idx < sel->n_groups_max && p4_group_by_idx(pr, idx); idx++)
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
