/*
 * p4rt-ctl's action profile commands: add, delete and get members
 * ("action=A(ARGS),member_id=N"); add, modify, delete and get groups
 * ("group_id=N,reference_members=(M1,M2),max_size=N", a member's weight as
 * "M:W").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_ctl.h"
#include "value.h"

static int profile_arg(struct ctl *c, const char *name, const P4__Config__V1__ActionProfile **p)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*p = p4i_profile(c->info, name, &c->err);
	return *p ? 0 : input_error(c);
}

/* Rejects keys other than the allowed ones (NULL-terminated). */
static int kv_only(struct ctl *c, const struct kvlist *kv, const char *const *allowed)
{
	for (size_t i = 0; i < kv->n; i++) {
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(kv->v[i].key, *a);
		if (!ok)
			return ipdk_err_set(&c->err, -EINVAL, "unexpected \"%s\" (expected %s%s%s%s%s)",
					    kv->v[i].key, allowed[0], allowed[1] ? ", " : "",
					    allowed[1] ? allowed[1] : "", allowed[1] && allowed[2] ? ", " : "",
					    allowed[1] && allowed[2] ? allowed[2] : "");
	}
	return 0;
}

/* An action profile member (or group) entity of profile p with the given id. */
static P4__V1__Entity *profile_entity(const P4__Config__V1__ActionProfile *p, bool group,
				      uint32_t id)
{
	P4__V1__Entity *e = entity_new();

	if (group) {
		e->entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP;
		e->action_profile_group = msg_new(&p4__v1__action_profile_group__descriptor);
		e->action_profile_group->action_profile_id = p->preamble->id;
		e->action_profile_group->group_id = id;
	} else {
		e->entity_case = P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER;
		e->action_profile_member = msg_new(&p4__v1__action_profile_member__descriptor);
		e->action_profile_member->action_profile_id = p->preamble->id;
		e->action_profile_member->member_id = id;
	}
	return e;
}

static int member_cmd(struct ctl *c, int type, char **argv)
{
	static const char *const keys[] = { "action", "member_id", NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__ActionProfileMember *m;
	P4__V1__Entity *e;
	struct kvlist kv;
	const char *act;
	int rc = profile_arg(c, argv[1], &p);

	if (rc)
		return rc;
	if (kv_split(argv[2], &kv, &c->err))
		return input_error(c);
	e = profile_entity(p, false, 0);
	m = e->action_profile_member;
	rc = kv_only(c, &kv, keys);
	if (!rc)
		rc = kv_u32(c, &kv, "member_id", &m->member_id, true);
	act = kv_get(&kv, "action");
	if (!rc && type == P4__V1__UPDATE__TYPE__INSERT) {
		if (!act)
			rc = ipdk_err_set(&c->err, -EINVAL, "action=NAME(ARGS) is missing");
		else
			rc = flow_action(c->info, NULL, act, &m->action, &c->err);
	}
	kv_free(&kv);
	return write_built(c, type, e, rc);
}

int cmd_add_member(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return member_cmd(c, P4__V1__UPDATE__TYPE__INSERT, argv);
}

int cmd_del_member(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return member_cmd(c, P4__V1__UPDATE__TYPE__DELETE, argv);
}

static void print_member(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__ActionProfileMember *m = e->action_profile_member;
	const P4__Config__V1__ActionProfile *p;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_ACTION_PROFILE_MEMBER)
		return;
	(*n)++;
	p = p4i_profile_by_id(c->info, m->action_profile_id);
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "action_profile", p ? json_string(p->preamble->name) : json_null());
		json_object_set_new(o, "member_id", json_integer(m->member_id));
		if (m->action)
			json_object_set_new(o, "action", flow_action_json(c->info, m->action));
		json_emit(o);
		return;
	}
	printf("  action_profiles=%s member_id=%u actions=", p ? p->preamble->name : "?", m->member_id);
	if (m->action)
		flow_print_action(stdout, c->info, m->action);
	printf("\n");
}

/* "(1,2,3)" or "1,2" with optional weights "1:5" into group members. */
static int group_members(struct ctl *c, const char *text, P4__V1__ActionProfileGroup *g)
{
	char buf[4096], *p, *save = NULL, *tok;

	if (strlen(text) >= sizeof(buf))
		return ipdk_err_set(&c->err, -EINVAL, "reference_members: too long");
	snprintf(buf, sizeof(buf), "%s", text);
	p = buf;
	if (*p == '(') {
		size_t l = strlen(p);

		if (p[l - 1] != ')')
			return ipdk_err_set(&c->err, -EINVAL, "reference_members=%s: expected (M1,M2,...)",
					    text);
		p[l - 1] = 0;
		p++;
	}
	for (tok = strtok_r(p, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(tok, ':');
		P4__V1__ActionProfileGroup__Member *m;
		uint64_t id, w = 1;

		if (colon)
			*colon++ = 0;
		if (u64_parse(tok, "member id", &id, &c->err) ||
		    (colon && u64_parse(colon, "member weight", &w, &c->err)))
			return -1;
		if (!id || id > UINT32_MAX || !w || w > INT32_MAX)
			return ipdk_err_set(&c->err, -ERANGE, "reference_members: %s out of range", tok);
		m = msg_new(&p4__v1__action_profile_group__member__descriptor);
		m->member_id = (uint32_t)id;
		m->weight = (int32_t)w;
		g->members = realloc(g->members, (g->n_members + 1) * sizeof(*g->members));
		g->members[g->n_members++] = m;
	}
	return 0;
}

static int group_cmd(struct ctl *c, int type, char **argv)
{
	static const char *const keys[] = { "group_id", "reference_members", "max_size", NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__ActionProfileGroup *g;
	P4__V1__Entity *e;
	struct kvlist kv;
	const char *mem;
	uint32_t max = 0;
	int rc = profile_arg(c, argv[1], &p);

	if (rc)
		return rc;
	if (kv_split(argv[2], &kv, &c->err))
		return input_error(c);
	e = profile_entity(p, true, 0);
	g = e->action_profile_group;
	rc = kv_only(c, &kv, keys);
	if (!rc)
		rc = kv_u32(c, &kv, "group_id", &g->group_id, true);
	if (!rc && type != P4__V1__UPDATE__TYPE__DELETE) {
		mem = kv_get(&kv, "reference_members");
		rc = kv_u32(c, &kv, "max_size", &max, false);
		if (!rc && max > INT32_MAX)
			rc = ipdk_err_set(&c->err, -ERANGE, "max_size out of range");
		g->max_size = (int32_t)max;
		if (!rc && mem)
			rc = group_members(c, mem, g);
	}
	kv_free(&kv);
	return write_built(c, type, e, rc);
}

int cmd_add_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__INSERT, argv);
}

int cmd_modify_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__MODIFY, argv);
}

int cmd_del_group(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return group_cmd(c, P4__V1__UPDATE__TYPE__DELETE, argv);
}

static void print_group(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	const P4__V1__ActionProfileGroup *g = e->action_profile_group;
	const P4__Config__V1__ActionProfile *p;
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_ACTION_PROFILE_GROUP)
		return;
	(*n)++;
	p = p4i_profile_by_id(c->info, g->action_profile_id);
	if (c->json) {
		json_t *o = json_object(), *mem = json_array();

		json_object_set_new(o, "action_profile", p ? json_string(p->preamble->name) : json_null());
		json_object_set_new(o, "group_id", json_integer(g->group_id));
		for (size_t i = 0; i < g->n_members; i++) {
			json_t *m = json_object();

			json_object_set_new(m, "member_id", json_integer(g->members[i]->member_id));
			json_object_set_new(m, "weight", json_integer(g->members[i]->weight));
			json_array_append_new(mem, m);
		}
		json_object_set_new(o, "members", mem);
		json_object_set_new(o, "max_size", json_integer(g->max_size));
		json_emit(o);
		return;
	}
	printf("  action_profiles=%s group_id=%u reference_members=(", p ? p->preamble->name : "?",
	       g->group_id);
	for (size_t i = 0; i < g->n_members; i++) {
		printf("%s%u", i ? "," : "", g->members[i]->member_id);
		if (g->members[i]->weight > 1)
			printf(":%d", g->members[i]->weight);
	}
	printf(") max_size=%d\n", g->max_size);
}

/* get-action-profile-member / -group: one by id, or all of the profile. */
static int profile_read(struct ctl *c, int argc, char **argv, bool group)
{
	const char *key = group ? "group_id" : "member_id";
	const char *const keys[] = { key, NULL };
	const P4__Config__V1__ActionProfile *p;
	P4__V1__Entity *e;
	struct kvlist kv = { 0 };
	uint32_t id = 0;
	int rc = profile_arg(c, argv[1], &p), n = 0;

	if (rc)
		return rc;
	if (argc > 2 && (kv_split(argv[2], &kv, &c->err) || kv_only(c, &kv, keys) ||
			 kv_u32(c, &kv, key, &id, false))) {
		kv_free(&kv);
		return input_error(c);
	}
	kv_free(&kv);
	e = profile_entity(p, group, id);
	if (!c->json)
		printf("Action profile %s of bridge %s:\n", group ? "groups" : "members", c->sw);
	return read_entities(c, e, group ? print_group : print_member, &n);
}

int cmd_get_member(struct ctl *c, int argc, char **argv)
{
	return profile_read(c, argc, argv, false);
}

int cmd_get_group(struct ctl *c, int argc, char **argv)
{
	return profile_read(c, argc, argv, true);
}
