/*
 * Tests of lib/pbtext (ipdk/pbtext.h): a P4Info written by hand in text
 * format with every kind of field P4Info has (integers of each width and
 * sign, bool, enums by name and number, strings and bytes with escapes,
 * nested and repeated messages, repeated scalars, oneofs of scalars and of
 * messages, maps, an Any) is read, checked field by field, printed, read back
 * and compared in binary; the printer's exact output for a small message;
 * text-or-binary loading; and the line:column of the reader's errors.
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

#include "ipdk/pbtext.h"
#include "p4/config/v1/p4info.pb-c.h"
#include "p4/v1/p4runtime.pb-c.h"

typedef P4__Config__V1__P4Info P4Info;

#define P4INFO_D (&p4__config__v1__p4_info__descriptor)

/* Every field kind P4Info has, in the syntax variants the reader accepts. */
static const char full_p4info[] =
	"# a comment line\n"
	"pkg_info {\n"
	"  name: \"quote \\\" backslash \\\\ newline \\n tab \\t\"\n"
	"  version: 'single' \"-adjacent\"\n"
	"  doc { brief: \"caf\\303\\251 \\x41\\101\" }\n"
	"  annotations: [\"@a\", \"@b(1)\"]\n"
	"  arch: \"pna\"\n"
	"  structured_annotations {\n"
	"    name: \"sa\"\n"
	"    expression_list {\n"
	"      expressions { int64_value: -9223372036854775808 }\n"
	"      expressions { bool_value: true }\n"
	"      expressions { string_value: \"s\" }\n"
	"    }\n"
	"    source_location { file: \"x.p4\" line: 3 column: -1 }\n"
	"  }\n"
	"}\n"
	"tables <\n"
	"  preamble { id: 0x02000001 name: \"ingress.t\" alias: \"t\" }\n"
	"  match_fields { id: 1 name: \"k\" bitwidth: 32 match_type: LPM }\n"
	"  match_fields { id: 2 name: \"o\" bitwidth: 8; other_match_type: \"custom\", }\n"
	"  match_fields { id: 3 name: \"n\" bitwidth: 9 match_type: 4 }\n"
	"  action_refs { id: 16777217 scope: DEFAULT_ONLY }\n"
	"  direct_resource_ids: 318767105\n"
	"  direct_resource_ids: [352321537, 4294967295]\n"
	"  size: 1099511627776\n"
	"  idle_timeout_behavior: NOTIFY_CONTROL\n"
	"  is_const_table: true\n"
	"  other_properties {\n"
	"    type_url: \"type.googleapis.com/x.Y\"\n"
	"    value: \"\\000\\377\\\"\\001z\"\n"
	"  }\n"
	">\n"
	"action_profiles {\n"
	"  preamble { id: 0x11000001 name: \"ap\" }\n"
	"  table_ids: 33554433\n"
	"  with_selector: True\n"
	"  size: 128\n"
	"  max_group_size: -5\n"
	"  sum_of_members { max_member_weight: 2147483647 }\n"
	"}\n"
	"counters { preamble { id: 302000000 } spec { unit: BOTH } size: 1024 }\n"
	"type_info {\n"
	"  serializable_enums {\n"
	"    key: \"E\"\n"
	"    value {\n"
	"      underlying_type { bitwidth: 16 }\n"
	"      members { name: \"A\" value: \"\\x00\\x01\" }\n"
	"      members { name: \"B\" value: \"\\377\\376\" }\n"
	"    }\n"
	"  }\n"
	"  new_types {\n"
	"    key: \"port_t\"\n"
	"    value { translated_type { uri: \"u\" sdn_bitwidth: 32 } }\n"
	"  }\n"
	"  new_types {\n"
	"    key: \"name_t\"\n"
	"    value { translated_type { uri: \"v\" sdn_string {} } }\n"
	"  }\n"
	"  error { members: [\"NoError\", \"PacketTooShort\"] }\n"
	"}\n";

static ProtobufCMessage *parse(const ProtobufCMessageDescriptor *d, const char *text,
			       struct ipdk_err *err)
{
	return pbtext_parse(d, text, strlen(text), "t.txt", err);
}

/* The text pbtext_write() prints for m (malloc'd). */
static char *print(const ProtobufCMessage *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(pbtext_write(m, f), 0);
	fclose(f);
	return buf;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static void assert_same_binary(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la, lb;
	uint8_t *pa = pack(a, &la), *pb = pack(b, &lb);

	assert_int_equal(la, lb);
	assert_memory_equal(pa, pb, la);
	free(pa);
	free(pb);
}

/* The reader puts every value where the schema says. */
static void check_full(const P4Info *p)
{
	const P4__Config__V1__Table *t;
	const P4__Config__V1__ActionProfile *ap;
	const P4__Config__V1__P4TypeInfo *ti;
	const P4__Config__V1__P4SerializableEnumTypeSpec *se;

	assert_non_null(p->pkg_info);
	assert_string_equal(p->pkg_info->name, "quote \" backslash \\ newline \n tab \t");
	assert_string_equal(p->pkg_info->version, "single-adjacent");
	assert_string_equal(p->pkg_info->doc->brief, "caf\xc3\xa9 AA");
	assert_int_equal(p->pkg_info->n_annotations, 2);
	assert_string_equal(p->pkg_info->annotations[1], "@b(1)");
	assert_int_equal(p->pkg_info->n_structured_annotations, 1);
	{
		const P4__Config__V1__StructuredAnnotation *sa = p->pkg_info->structured_annotations[0];

		assert_int_equal(sa->body_case,
				 P4__CONFIG__V1__STRUCTURED_ANNOTATION__BODY_EXPRESSION_LIST);
		assert_int_equal(sa->expression_list->n_expressions, 3);
		assert_true(sa->expression_list->expressions[0]->int64_value == INT64_MIN);
		assert_int_equal(sa->expression_list->expressions[1]->value_case,
				 P4__CONFIG__V1__EXPRESSION__VALUE_BOOL_VALUE);
		assert_true(sa->expression_list->expressions[1]->bool_value);
		assert_int_equal(sa->source_location->column, -1);
	}

	assert_int_equal(p->n_tables, 1);
	t = p->tables[0];
	assert_int_equal(t->preamble->id, 0x02000001);
	assert_int_equal(t->n_match_fields, 3);
	assert_int_equal(t->match_fields[0]->match_case,
			 P4__CONFIG__V1__MATCH_FIELD__MATCH_MATCH_TYPE);
	assert_int_equal(t->match_fields[0]->match_type, P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM);
	assert_int_equal(t->match_fields[1]->match_case,
			 P4__CONFIG__V1__MATCH_FIELD__MATCH_OTHER_MATCH_TYPE);
	assert_string_equal(t->match_fields[1]->other_match_type, "custom");
	assert_int_equal(t->match_fields[2]->match_type,
			 P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY);
	assert_int_equal(t->action_refs[0]->scope, P4__CONFIG__V1__ACTION_REF__SCOPE__DEFAULT_ONLY);
	assert_int_equal(t->n_direct_resource_ids, 3);
	assert_int_equal(t->direct_resource_ids[2], 4294967295u);
	assert_true(t->size == 1099511627776ll);
	assert_int_equal(t->idle_timeout_behavior,
			 P4__CONFIG__V1__TABLE__IDLE_TIMEOUT_BEHAVIOR__NOTIFY_CONTROL);
	assert_true(t->is_const_table);
	assert_false(t->has_initial_entries);
	assert_int_equal(t->other_properties->value.len, 5);
	assert_memory_equal(t->other_properties->value.data, "\0\377\"\001z", 5);

	ap = p->action_profiles[0];
	assert_true(ap->with_selector);
	assert_int_equal(ap->max_group_size, -5);
	assert_int_equal(ap->selector_size_semantics_case,
			 P4__CONFIG__V1__ACTION_PROFILE__SELECTOR_SIZE_SEMANTICS_SUM_OF_MEMBERS);
	assert_int_equal(ap->sum_of_members->max_member_weight, 2147483647);
	assert_int_equal(p->counters[0]->spec->unit, P4__CONFIG__V1__COUNTER_SPEC__UNIT__BOTH);

	ti = p->type_info;
	assert_int_equal(ti->n_serializable_enums, 1);
	assert_string_equal(ti->serializable_enums[0]->key, "E");
	se = ti->serializable_enums[0]->value;
	assert_int_equal(se->underlying_type->bitwidth, 16);
	assert_int_equal(se->members[1]->value.len, 2);
	assert_memory_equal(se->members[1]->value.data, "\377\376", 2);
	assert_int_equal(ti->n_new_types, 2);
	assert_int_equal(ti->new_types[0]->value->translated_type->sdn_bitwidth, 32);
	assert_int_equal(ti->new_types[1]->value->translated_type->sdn_type_case,
			 P4__CONFIG__V1__P4_NEW_TYPE_TRANSLATION__SDN_TYPE_SDN_STRING);
	assert_int_equal(ti->error->n_members, 2);
}

/* text -> message -> text -> message: same values, same binary, and the
 * printed text is a fixed point. */
static void test_round_trip(void **state)
{
	struct ipdk_err err = { 0 };
	ProtobufCMessage *a, *b;
	char *ta, *tb;

	(void)state;
	a = parse(P4INFO_D, full_p4info, &err);
	assert_non_null(a);
	check_full((P4Info *)a);
	ta = print(a);
	b = parse(P4INFO_D, ta, &err);
	if (!b)
		fail_msg("%s\n%s", err.msg, ta);
	check_full((P4Info *)b);
	assert_same_binary(a, b);
	tb = print(b);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	protobuf_c_message_free_unpacked(a, NULL);
	protobuf_c_message_free_unpacked(b, NULL);
}

/* The printer's exact output: defaults left out, oneofs by case, escapes. */
static void test_print(void **state)
{
	P4__Config__V1__Preamble pre = P4__CONFIG__V1__PREAMBLE__INIT;
	P4__Config__V1__MatchField mf = P4__CONFIG__V1__MATCH_FIELD__INIT;
	P4__Config__V1__MatchField *mfs[] = { &mf };
	P4__Config__V1__Table t = P4__CONFIG__V1__TABLE__INIT;
	P4__Config__V1__Table *ts[] = { &t };
	uint32_t ids[] = { 7, 0 };
	P4Info p = P4__CONFIG__V1__P4_INFO__INIT;
	char *text;

	(void)state;
	pre.id = 1;
	pre.name = "a\"b\\c\n\x01";
	mf.id = 1;
	mf.name = "";                           /* default: left out */
	mf.bitwidth = -3;
	mf.match_case = P4__CONFIG__V1__MATCH_FIELD__MATCH_MATCH_TYPE;
	mf.match_type = P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__UNSPECIFIED;  /* chosen: printed */
	t.preamble = &pre;
	t.n_match_fields = 1;
	t.match_fields = mfs;
	t.n_direct_resource_ids = 2;            /* repeated: zeros printed too */
	t.direct_resource_ids = ids;
	t.size = -1;
	p.n_tables = 1;
	p.tables = ts;
	text = print(&p.base);
	assert_string_equal(text,
			    "tables {\n"
			    "  preamble {\n"
			    "    id: 1\n"
			    "    name: \"a\\\"b\\\\c\\n\\001\"\n"
			    "  }\n"
			    "  match_fields {\n"
			    "    id: 1\n"
			    "    bitwidth: -3\n"
			    "    match_type: UNSPECIFIED\n"
			    "  }\n"
			    "  direct_resource_ids: 7\n"
			    "  direct_resource_ids: 0\n"
			    "  size: -1\n"
			    "}\n");
	free(text);
}

/* pbtext_load takes text or binary, and P4Runtime messages (uint64, bytes) too. */
static void test_load(void **state)
{
	struct ipdk_err err = { 0 };
	P4__V1__WriteRequest *w;
	ProtobufCMessage *a, *b;
	uint8_t *bin;
	size_t len;

	(void)state;
	a = parse(P4INFO_D, full_p4info, &err);
	assert_non_null(a);
	bin = pack(a, &len);
	assert_false(pbtext_is_text(bin, len));
	assert_true(pbtext_is_text(full_p4info, strlen(full_p4info)));
	b = pbtext_load(P4INFO_D, bin, len, "bin", &err);
	assert_non_null(b);
	assert_same_binary(a, b);
	protobuf_c_message_free_unpacked(b, NULL);
	b = pbtext_load(P4INFO_D, full_p4info, strlen(full_p4info), "txt", &err);
	assert_non_null(b);
	assert_same_binary(a, b);
	protobuf_c_message_free_unpacked(b, NULL);
	/* NUL and \377 make it binary; a field number that is not a P4Info one is garbage */
	assert_null(pbtext_load(P4INFO_D, "\0\377\377\377\377", 5, "junk", &err));
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.msg, "junk: neither P4Info text nor a binary P4Info");
	free(bin);
	protobuf_c_message_free_unpacked(a, NULL);

	w = (P4__V1__WriteRequest *)parse(&p4__v1__write_request__descriptor,
					  "device_id: 18446744073709551615\n"
					  "election_id { high: 0 low: 1 }\n"
					  "updates { type: INSERT entity { table_entry {\n"
					  "  table_id: 1 priority: 10\n"
					  "  match { field_id: 1 exact { value: \"\\n\\000\\000\\001\" } }\n"
					  "  action { action { action_id: 2 } }\n"
					  "} } }\n", &err);
	assert_non_null(w);
	assert_true(w->device_id == UINT64_MAX);
	assert_int_equal(w->election_id->low, 1);
	assert_int_equal(w->updates[0]->entity->table_entry->priority, 10);
	assert_int_equal(w->updates[0]->entity->table_entry->match[0]->exact->value.len, 4);
	protobuf_c_message_free_unpacked(&w->base, NULL);
}

/* Each error names the file, the line and the column of the offending text. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "pkg_info {\n  nme: \"x\"\n}\n",
		  "t.txt:2:3: p4.config.v1.PkgInfo has no field \"nme\"" },
		{ "pkg_info { name: \"abc\n}\n", "t.txt:1:18: unterminated string" },
		{ "tables {\n  size: 12x\n}", "t.txt:2:9: \"12x\" is not a valid integer (or out of range)" },
		{ "tables { match_fields { bitwidth: 2147483648 } }",
		  "t.txt:1:35: \"2147483648\" is not a valid integer (or out of range)" },
		{ "tables { preamble { id: -1 } }",
		  "t.txt:1:25: \"-1\" is not a valid unsigned integer" },
		{ "tables {\n\tmatch_fields { match_type: LPM other_match_type: \"x\" }\n}",
		  "t.txt:2:51: match_type and other_match_type are alternatives (oneof); give only one" },
		{ "tables { idle_timeout_behavior: SOMETIMES }",
		  "t.txt:1:33: idle_timeout_behavior: \"SOMETIMES\" is not a value of "
		  "p4.config.v1.Table.IdleTimeoutBehavior" },
		{ "tables { is_const_table: maybe }", "t.txt:1:26: is_const_table: expected true or false" },
		{ "tables {\n  preamble {\n    id: 1\n", "t.txt:4:1: unexpected end of input: '}' missing" },
		{ "tables { }\n}\n", "t.txt:2:1: unexpected '}'" },
		{ "[ext.foo] { }", "t.txt:1:1: extensions and Any expansions ([...]) are not supported" },
		{ "pkg_info: [1]", "t.txt:1:11: pkg_info is not repeated; a list is not allowed" },
		{ "pkg_info { name \"x\" }", "t.txt:1:17: expected ':' after name" },
		{ "pkg_info { name: \"a\\qb\" }", "t.txt:1:20: unknown escape \\q" },
		{ "pkg_info { name: 5 }", "t.txt:1:18: name: expected a quoted string" },
		{ "tables { size: 1, direct_resource_ids: [1 2] }",
		  "t.txt:1:43: direct_resource_ids: expected ',' or ']' in the list" },
		{ "tables: 3", "t.txt:1:9: tables: expected '{' to open a p4.config.v1.Table" },
	};
	struct ipdk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_null(parse(P4INFO_D, cases[i].text, &err));
		assert_int_equal(err.code, -EINVAL);
		assert_string_equal(err.msg, cases[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
