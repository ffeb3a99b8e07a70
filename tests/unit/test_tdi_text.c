/*
 * Tests of TDI's text form and of the front end's own logic (validation,
 * entry store, batches) over a minimal in-process target: a fixed schema
 * whose writes always succeed, plus a switch to make its commit fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/tdi.h"

/* ---- A target with a fixed schema --------------------------------------- */

struct null_target {
	int commit_rc;
	unsigned int n_commits, n_aborts, n_adds;
};

static void key_set(struct tdi_table_info *t, uint32_t i, const char *name,
		    enum tdi_match_kind m, uint32_t bits)
{
	snprintf(t->keys[i].name, TDI_NAME_MAX, "%s", name);
	t->keys[i].match = m;
	t->keys[i].n_bits = bits;
}

static void actions_set(struct tdi_table_info *t, uint32_t n, const uint32_t *ids)
{
	t->n_actions = n;
	t->action_ids = calloc(n, sizeof(uint32_t));
	t->action_default_only = calloc(n, sizeof(bool));
	t->action_table_only = calloc(n, sizeof(bool));
	memcpy(t->action_ids, ids, n * sizeof(uint32_t));
}

static int null_schema(void *ctx, struct tdi_schema *s, struct ipdk_err *err)
{
	static const uint32_t all[] = { 0, 1, 2 };
	struct tdi_table_info *t;

	(void)ctx;
	(void)err;
	s->n_actions = 3;
	s->actions = calloc(3, sizeof(*s->actions));
	snprintf(s->actions[0].name, TDI_NAME_MAX, "ingress.drop");
	snprintf(s->actions[1].name, TDI_NAME_MAX, "ingress.fwd");
	s->actions[1].n_params = 2;
	snprintf(s->actions[1].params[0].name, TDI_NAME_MAX, "port");
	s->actions[1].params[0].n_bits = 9;
	snprintf(s->actions[1].params[1].name, TDI_NAME_MAX, "dmac");
	s->actions[1].params[1].n_bits = 48;
	snprintf(s->actions[2].name, TDI_NAME_MAX, "ingress.default_only");
	for (uint32_t i = 0; i < 3; i++)
		s->actions[i].id = i;

	s->n_tables = 3;
	s->tables = calloc(3, sizeof(*s->tables));
	t = &s->tables[0];
	snprintf(t->name, TDI_NAME_MAX, "ingress.ipv4_lpm");
	t->n_keys = 2;
	key_set(t, 0, "vrf", TDI_MATCH_EXACT, 12);
	key_set(t, 1, "h.ipv4.dst_addr", TDI_MATCH_LPM, 32);
	actions_set(t, 3, all);
	t->action_default_only[2] = true;
	t->size = 4;

	t = &s->tables[1];
	snprintf(t->name, TDI_NAME_MAX, "ingress.acl");
	t->n_keys = 4;
	key_set(t, 0, "h.ipv6.src_addr", TDI_MATCH_TERNARY, 128);
	key_set(t, 1, "l4.dport", TDI_MATCH_RANGE, 16);
	key_set(t, 2, "h.eth.src", TDI_MATCH_OPTIONAL, 48);
	key_set(t, 3, "flags", TDI_MATCH_TERNARY, 3);
	actions_set(t, 2, all);
	t->size = 1000;

	t = &s->tables[2];
	snprintf(t->name, TDI_NAME_MAX, "egress.acl");
	t->n_keys = 1;
	key_set(t, 0, "port", TDI_MATCH_EXACT, 9);
	actions_set(t, 1, all);
	t->default_const = true;
	t->size = 2000000;
	for (uint32_t i = 0; i < 3; i++)
		s->tables[i].id = i;
	return 0;
}

static int null_entry(void *ctx, const struct tdi_entry *e, struct ipdk_err *err)
{
	struct null_target *n = ctx;

	(void)e;
	(void)err;
	n->n_adds++;
	return 0;
}

static int null_commit(void *ctx, struct ipdk_err *err)
{
	struct null_target *n = ctx;

	n->n_commits++;
	if (n->commit_rc)
		return ipdk_err_set(err, n->commit_rc, "commit refused");
	return 0;
}

static void null_abort(void *ctx)
{
	((struct null_target *)ctx)->n_aborts++;
}

static const struct tdi_target_ops null_ops = {
	.name = "null",
	.schema_get = null_schema,
	.entry_add = null_entry,
	.entry_delete = null_entry,
	.default_set = null_entry,
	.commit = null_commit,
	.abort = null_abort,
};

static struct null_target target;
static struct tdi_dev *dev;

static int setup(void **state)
{
	struct ipdk_err err;

	(void)state;
	return tdi_dev_open(&null_ops, &target, &dev, &err);
}

static int teardown(void **state)
{
	(void)state;
	tdi_dev_close(dev);
	return 0;
}

/* ---- Values ------------------------------------------------------------- */

static void value_is(const char *s, uint32_t bits, const char *hex)
{
	uint8_t v[TDI_VALUE_BYTES], want[TDI_VALUE_BYTES] = { 0 };
	struct ipdk_err err;
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		sscanf(hex + 2 * i, "%2x", &b);
		want[TDI_VALUE_BYTES - n + i] = (uint8_t)b;
	}
	if (tdi_value_parse(s, bits, v, &err))
		fail_msg("%s: %s", s, err.msg);
	assert_memory_equal(v, want, TDI_VALUE_BYTES);
}

static void test_values(void **state)
{
	uint8_t v[TDI_VALUE_BYTES];
	struct ipdk_err err;

	(void)state;
	value_is("0", 1, "00");
	value_is("511", 9, "01ff");
	value_is("0x1ff", 9, "01ff");
	value_is("0X00000000000000AbC", 12, "0abc");
	value_is("10.1.2.3", 32, "0a010203");
	value_is("aa:bb:cc:dd:ee:ff", 48, "aabbccddeeff");
	value_is("0:1:2:a:b:c", 48, "0001020a0b0c");
	value_is("2001:db8::1", 128, "20010db8000000000000000000000001");
	value_is("::", 128, "00");
	value_is("340282366920938463463374607431768211455", 128,
		     "ffffffffffffffffffffffffffffffff");
	value_is("18446744073709551616", 65, "010000000000000000");

	assert_int_equal(tdi_value_parse("512", 9, v, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "does not fit in 9 bits"));
	assert_int_equal(tdi_value_parse("0x200", 9, v, &err), -ERANGE);
	assert_int_equal(tdi_value_parse("10.1.2.3", 24, v, &err), -ERANGE);
	assert_int_equal(tdi_value_parse("340282366920938463463374607431768211456", 128, v, &err),
			 -ERANGE);
	assert_int_equal(tdi_value_parse("0x1ffffffffffffffffffffffffffffffff", 128, v, &err),
			 -ERANGE);
	assert_int_equal(tdi_value_parse("12a", 32, v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'12a'"));
	assert_int_equal(tdi_value_parse("", 32, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("0xg", 32, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("10.1.2", 32, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("10.1.2.256", 32, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("aa:bb:cc:dd:ee", 48, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("2001:db8:::1", 128, v, &err), -EINVAL);
	assert_int_equal(tdi_value_parse("-1", 32, v, &err), -EINVAL);
}

/* ---- Entries ------------------------------------------------------------ */

static void round_trip(const char *table, const char *text, const char *formatted)
{
	const struct tdi_table_info *t = tdi_table_find(dev, table);
	struct tdi_entry e, e2;
	struct ipdk_err err;
	char buf[1024];
	int n;

	assert_non_null(t);
	if (tdi_entry_parse(dev, t, text, &e, &err))
		fail_msg("%s: %s", text, err.msg);
	n = tdi_entry_format(dev, &e, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, formatted);
	assert_int_equal(tdi_entry_parse(dev, t, buf, &e2, &err), 0);
	assert_memory_equal(&e, &e2, sizeof(e));
}

static void test_entries(void **state)
{
	const struct tdi_table_info *lpm = tdi_table_find(dev, "ipv4_lpm");
	const struct tdi_table_info *acl = tdi_table_find(dev, "ingress.acl");
	struct tdi_entry e;
	struct ipdk_err err;
	char small[16];

	(void)state;
	assert_non_null(lpm);
	assert_null(tdi_table_find(dev, "acl"));   /* ambiguous last component */
	assert_non_null(tdi_action_find(dev, "fwd"));
	assert_ptr_equal(tdi_table_find(dev, "egress.acl"), &tdi_dev_schema(dev)->tables[2]);

	round_trip("ipv4_lpm", "match 5 10.0.0.0/8 action fwd port 3 dmac 00:11:22:33:44:55",
		   "match 5 10.0.0.0/8 action ingress.fwd port 3 dmac 00:11:22:33:44:55");
	round_trip("ipv4_lpm", "match 0 1.2.3.4 action drop",
		   "match 0 1.2.3.4/32 action ingress.drop");
	round_trip("ingress.acl",
		   "match 2001:db8::&&&ffff:ffff:: 1000..2000 * 5/7 priority 9 action drop",
		   "match 2001:db8::&&&0xffffffff000000000000000000000000 "
		   "1000..2000 * 5&&&0x7 priority 9 action ingress.drop");
	round_trip("ingress.acl", "match * 80 aa:bb:cc:dd:ee:ff * priority 1 action drop",
		   "match * 80..80 aa:bb:cc:dd:ee:ff * priority 1 action ingress.drop");

	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 10.0.0.0/33 action drop", &e, &err),
			 -ERANGE);
	assert_string_equal(err.msg,
			    "table ingress.ipv4_lpm: key field 2 (h.ipv4.dst_addr): prefix length 33 exceeds 32 bits");
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 4096 10.0.0.0/8 action drop", &e, &err),
			 -ERANGE);
	assert_non_null(strstr(err.msg, "key field 1 (vrf)"));
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 action drop", &e, &err), -EINVAL);
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 1.0.0.0/8 action nosuch", &e, &err),
			 -ENOENT);
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 1.0.0.0/8 action fwd port 1", &e, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "parameter dmac missing"));
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 1.0.0.0/8 action fwd port 512 dmac 0",
					 &e, &err), -ERANGE);
	assert_non_null(strstr(err.msg, "parameter port"));
	assert_int_equal(tdi_entry_parse(dev, acl, "match * 1..2 * * priority x action drop", &e,
					 &err), -EINVAL);
	assert_int_equal(tdi_action_parse(dev, lpm, "fwd dmac 1 port 2", &e, &err), 0);
	assert_int_equal(e.params[0][15], 2);
	assert_int_equal(e.params[1][15], 1);

	/* Format into a short buffer truncates but reports the full length. */
	assert_int_equal(tdi_entry_parse(dev, lpm, "match 5 10.0.0.0/8 action drop", &e, &err), 0);
	assert_true(tdi_entry_format(dev, &e, small, sizeof(small)) > (int)sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* ---- Validation, store and batches -------------------------------------- */

static void parse_ok(const char *table, const char *text, struct tdi_entry *e)
{
	struct ipdk_err err;

	if (tdi_entry_parse(dev, tdi_table_find(dev, table), text, e, &err))
		fail_msg("%s: %s", text, err.msg);
}

static void test_validation(void **state)
{
	struct tdi_entry e;
	struct ipdk_err err;
	uint32_t lpm = tdi_table_find(dev, "ipv4_lpm")->id;

	(void)state;
	parse_ok("ipv4_lpm", "match 1 10.0.0.1/8 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "beyond the /8 prefix"));
	parse_ok("ipv4_lpm", "match 1 10.0.0.0/8 action drop", &e);
	e.key[1].prefix_len = 40;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -ERANGE);
	parse_ok("ipv4_lpm", "match 1 10.0.0.0/8 action drop", &e);
	e.action_id = 2;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "only be the default"));
	e.priority = 3;
	e.action_id = 0;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	parse_ok("ingress.acl", "match * 9..2 * * priority 1 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "low bound exceeds high"));
	parse_ok("ingress.acl", "match * 1..2 * * priority 1 action drop", &e);
	e.key[2].mask[15] = 0xf0;
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EINVAL);
	parse_ok("egress.acl", "match 3 action drop", &e);
	assert_int_equal(tdi_default_set(dev, &e, &err), -EPERM);
	assert_int_equal(target.n_adds, 0);

	/* Size limit, duplicates, equal match at two priorities. */
	for (int i = 0; i < 4; i++) {
		char text[64];

		snprintf(text, sizeof(text), "match %d 10.0.0.0/8 action drop", i);
		parse_ok("ipv4_lpm", text, &e);
		assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	}
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EEXIST);
	parse_ok("ipv4_lpm", "match 9 10.0.0.0/8 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -ENOSPC);
	assert_int_equal(tdi_entry_count(dev, lpm), 4);
	parse_ok("ingress.acl", "match * 1..2 * * priority 1 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	e.priority = 2;
	assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	assert_int_equal(tdi_entry_count(dev, e.table_id), 2);
	assert_int_equal(tdi_table_clear(dev, UINT32_MAX, &err), 0);
	assert_int_equal(tdi_entry_count(dev, lpm), 0);
}

static int count_cb(const struct tdi_entry *e, void *arg)
{
	(void)e;
	(*(uint64_t *)arg)++;
	return 0;
}

static void test_batches(void **state)
{
	uint32_t eg = tdi_table_find(dev, "egress.acl")->id;
	struct tdi_entry e;
	struct ipdk_err err;
	uint64_t n = 0;
	unsigned int commits;

	(void)state;
	/* Add then delete in one batch; a later write sees earlier ones. */
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	assert_int_equal(tdi_batch_begin(dev, &err), -EBUSY);
	parse_ok("egress.acl", "match 7 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EEXIST);
	assert_int_equal(tdi_entry_get(dev, &e, &err), 0);
	assert_int_equal(tdi_entry_count(dev, eg), 0);
	assert_int_equal(tdi_entry_delete(dev, &e, &err), 0);
	assert_int_equal(tdi_entry_delete(dev, &e, &err), -ENOENT);
	parse_ok("egress.acl", "match 8 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), 0);
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	assert_int_equal(tdi_entry_count(dev, eg), 1);

	/* A failed commit leaves the store as before. */
	target.commit_rc = -EIO;
	parse_ok("egress.acl", "match 9 action drop", &e);
	assert_int_equal(tdi_entry_add(dev, &e, &err), -EIO);
	assert_int_equal(tdi_entry_get(dev, &e, &err), -ENOENT);
	target.commit_rc = 0;
	assert_int_equal(tdi_entry_count(dev, eg), 1);

	/* 1M exact entries in one batch: one commit, then iterate and count. */
	commits = target.n_commits;
	assert_int_equal(tdi_batch_begin(dev, &err), 0);
	for (uint32_t i = 0; i < 1000000; i++) {
		memset(&e, 0, sizeof(e));
		e.table_id = eg;
		e.key[0].value[13] = (uint8_t)(i >> 16);
		e.key[0].value[14] = (uint8_t)(i >> 8);
		e.key[0].value[15] = (uint8_t)i;
		/* 9-bit key: only 512 keys fit; the rest must fail validation. */
		int rc = tdi_entry_add(dev, &e, &err);

		if (i < 512 && i != 8)
			assert_int_equal(rc, 0);
		else if (i == 8)
			assert_int_equal(rc, -EEXIST);
		else if (rc != -ERANGE)
			fail_msg("entry %u: %d", i, rc);
	}
	assert_int_equal(tdi_batch_commit(dev, &err), 0);
	assert_int_equal(target.n_commits, commits + 1);
	assert_int_equal(tdi_entry_count(dev, eg), 512);
	assert_int_equal(tdi_entry_iterate(dev, eg, count_cb, &n), 0);
	assert_int_equal(n, 512);
	assert_int_equal(tdi_table_clear(dev, eg, &err), 0);
	assert_int_equal(tdi_entry_count(dev, eg), 0);
}

/* The store at scale: a table of 1M entries with a 64-bit exact key. */
static int big_schema(void *ctx, struct tdi_schema *s, struct ipdk_err *err)
{
	static const uint32_t ids[] = { 0 };

	(void)ctx;
	(void)err;
	s->n_actions = 1;
	s->actions = calloc(1, sizeof(*s->actions));
	snprintf(s->actions[0].name, TDI_NAME_MAX, "set");
	s->actions[0].n_params = 1;
	s->actions[0].params[0].n_bits = 32;
	snprintf(s->actions[0].params[0].name, TDI_NAME_MAX, "v");
	s->n_tables = 1;
	s->tables = calloc(1, sizeof(*s->tables));
	snprintf(s->tables[0].name, TDI_NAME_MAX, "big");
	s->tables[0].n_keys = 1;
	key_set(&s->tables[0], 0, "k", TDI_MATCH_EXACT, 64);
	actions_set(&s->tables[0], 1, ids);
	s->tables[0].size = 1u << 21;
	return 0;
}

static void test_million(void **state)
{
	struct tdi_target_ops ops = null_ops;
	struct null_target tg = { 0 };
	struct tdi_dev *big;
	struct tdi_entry e;
	struct ipdk_err err;
	uint64_t n = 0;

	(void)state;
	ops.schema_get = big_schema;
	assert_int_equal(tdi_dev_open(&ops, &tg, &big, &err), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(tdi_batch_begin(big, &err), 0);
	for (uint32_t i = 0; i < 1000000; i++) {
		uint64_t k = (uint64_t)i * 2654435761u;

		for (int b = 0; b < 8; b++)
			e.key[0].value[8 + b] = (uint8_t)(k >> (56 - 8 * b));
		e.params[0][15] = (uint8_t)i;
		assert_int_equal(tdi_entry_add(big, &e, &err), 0);
	}
	assert_int_equal(tdi_batch_commit(big, &err), 0);
	assert_int_equal(tdi_entry_count(big, 0), 1000000);
	assert_int_equal(tdi_entry_iterate(big, 0, count_cb, &n), 0);
	assert_int_equal(n, 1000000);
	/* Look one up, delete it outside a batch. */
	uint64_t k = 123456ull * 2654435761u;

	for (int b = 0; b < 8; b++)
		e.key[0].value[8 + b] = (uint8_t)(k >> (56 - 8 * b));
	memset(e.params, 0, sizeof(e.params));
	assert_int_equal(tdi_entry_get(big, &e, &err), 0);
	assert_int_equal(e.params[0][15], (uint8_t)123456);
	assert_int_equal(tdi_entry_delete(big, &e, &err), 0);
	assert_int_equal(tdi_entry_get(big, &e, &err), -ENOENT);
	assert_int_equal(tdi_entry_count(big, 0), 999999);
	tdi_dev_close(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_million),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
