/*
 * p4rt-ctl's table entry commands: add-, modify-, del- and dump-entries, and
 * set- and get-default-entry. FLOW text becomes TableEntry messages through
 * flow.c; entries read back print as FLOW text or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4rt_ctl.h"

int table_arg(struct ctl *c, const char *name, const P4Table **t)
{
	int rc = need_info(c);

	if (rc)
		return rc;
	*t = p4i_table(c->info, name, &c->err);
	return *t ? 0 : input_error(c);
}

static int entry_write(struct ctl *c, int type, const char *table, const char *flow,
		       enum flow_mode mode)
{
	const P4Table *t;
	P4__V1__Entity *e;
	int rc = table_arg(c, table, &t);

	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	rc = flow_table_entry(c->info, t, flow, mode, &e->table_entry, &c->err);
	return write_built(c, type, e, rc);
}

int cmd_add_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__INSERT, argv[1], argv[2], FLOW_ENTRY);
}

int cmd_modify_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__MODIFY, argv[1], argv[2], FLOW_ENTRY);
}

int cmd_del_entry(struct ctl *c, int argc, char **argv)
{
	(void)argc;
	return entry_write(c, P4__V1__UPDATE__TYPE__DELETE, argv[1], argv[2], FLOW_KEY);
}

static void print_entry(struct ctl *c, const P4__V1__Entity *e, void *arg)
{
	int *n = arg;

	if (e->entity_case != P4__V1__ENTITY__ENTITY_TABLE_ENTRY)
		return;
	(*n)++;
	if (c->json) {
		json_emit(flow_entry_json(c->info, e->table_entry));
		return;
	}
	printf("  ");
	flow_print_entry(stdout, c->info, e->table_entry);
	printf("\n");
}

int cmd_dump_entries(struct ctl *c, int argc, char **argv)
{
	const P4Table *t = NULL;
	P4__V1__Entity *e;
	int rc, n = 0;

	rc = argc > 1 ? table_arg(c, argv[1], &t) : need_info(c);
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = msg_new(&p4__v1__table_entry__descriptor);
	e->table_entry->table_id = t ? t->preamble->id : 0;
	if (!c->json)
		printf("Table entries for bridge %s:\n", c->sw);
	rc = read_entities(c, e, print_entry, &n);
	return rc;
}

int cmd_set_default(struct ctl *c, int argc, char **argv)
{
	const P4Table *t;
	P4__V1__Entity *e;
	P4__V1__TableEntry *te;
	int rc = table_arg(c, argv[1], &t);

	(void)argc;
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = te = msg_new(&p4__v1__table_entry__descriptor);
	te->table_id = t->preamble->id;
	te->is_default_action = 1;
	/* IPDK: "send(10)"; also accept "action=send(10)"; "default" restores the program's */
	if (strcmp(argv[2], "default")) {
		const char *a = !strncmp(argv[2], "action=", 7) ? argv[2] + 7 : argv[2];

		te->action = msg_new(&p4__v1__table_action__descriptor);
		te->action->type_case = P4__V1__TABLE_ACTION__TYPE_ACTION;
		if (flow_action(c->info, t, a, &te->action->action, &c->err)) {
			p4__v1__entity__free_unpacked(e, NULL);
			return input_error(c);
		}
	}
	return write_one(c, P4__V1__UPDATE__TYPE__MODIFY, e);
}

int cmd_get_default(struct ctl *c, int argc, char **argv)
{
	const P4Table *t;
	P4__V1__Entity *e;
	int rc = table_arg(c, argv[1], &t), n = 0;

	(void)argc;
	if (rc)
		return rc;
	e = entity_new();
	e->entity_case = P4__V1__ENTITY__ENTITY_TABLE_ENTRY;
	e->table_entry = msg_new(&p4__v1__table_entry__descriptor);
	e->table_entry->table_id = t->preamble->id;
	e->table_entry->is_default_action = 1;
	if (!c->json)
		printf("Default table entry for bridge %s:\n", c->sw);
	rc = read_entities(c, e, print_entry, &n);
	if (!rc && !n && !c->json)
		printf("  No default entry set!\n");
	return rc;
}
