/*
 * Tests of the SWX pipeline spec loader (lib/target-dpdk/spec.c) against real
 * DPDK: every spec DPDK ships with its pipeline example loads and the pipeline
 * builds, our own spec using lpm and exact keys, a selector and a learner loads
 * and builds with the objects it declares, and broken specs fail with the
 * line number and reason of the mistake while the process carries on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_ring.h>
#include <rte_swx_ctl.h>
#include <rte_swx_pipeline.h>
#include <rte_swx_port_ring.h>
#include <rte_swx_port_source_sink.h>

#include "ipdk/target_dpdk.h"

#define N_IN 4
#define N_OUT 5

static struct rte_ring *rings[N_IN + N_OUT];

static const char *examples_dir(void)
{
	const char *dir = getenv("IPDK_DPDK_EXAMPLES");

	return dir ? dir : "/usr/share/dpdk/examples/pipeline/examples";
}

static void spec_path(char *buf, size_t size, const char *file)
{
	const char *src = getenv("IPDK_SRC");

	snprintf(buf, size, "%s/tests/unit/specs/%s", src ? src : ".", file);
}

static int group_setup(void **state)
{
	struct ipdk_err err = { 0 };
	char name[32];

	(void)state;
	if (ipdk_dpdk_env_init(NULL, &err)) {
		fprintf(stderr, "DPDK: %s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < N_IN + N_OUT; i++) {
		snprintf(name, sizeof(name), "spec_ring%d", i);
		rings[i] = rte_ring_create(name, 256, SOCKET_ID_ANY,
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!rings[i])
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N_IN + N_OUT; i++)
		rte_ring_free(rings[i]);
	ipdk_dpdk_env_fini();
	return 0;
}

static void type_ok(int rc)
{
	assert_true(rc == 0 || rc == -EEXIST);
}

/* A pipeline configured the way the loader's callers do it: ports and
 * mirroring are in place, the spec comes next. Output port N_OUT - 1 is a
 * sink that drops what it gets. */
static struct rte_swx_pipeline *pipeline_new(void)
{
	static unsigned int seq;
	struct rte_swx_pipeline_mirroring_params mirroring = { .n_slots = 4, .n_sessions = 64 };
	struct rte_swx_port_ring_reader_params in = { .burst_size = 32 };
	struct rte_swx_port_ring_writer_params out = { .burst_size = 32 };
	struct rte_swx_port_sink_params sink = { .file_name = NULL };
	struct rte_swx_pipeline *p = NULL;
	char name[32];

	snprintf(name, sizeof(name), "spec_test%u", seq++);
	assert_int_equal(rte_swx_pipeline_config(&p, name, 0), 0);
	/* DPDK 22.11 registers its own port types with the pipeline; older ones
	 * do not. Either way the names must end up known. */
	type_ok(rte_swx_pipeline_port_in_type_register(p, "ring", &rte_swx_port_ring_reader_ops));
	type_ok(rte_swx_pipeline_port_out_type_register(p, "ring", &rte_swx_port_ring_writer_ops));
	type_ok(rte_swx_pipeline_port_out_type_register(p, "sink", &rte_swx_port_sink_ops));
	for (uint32_t i = 0; i < N_IN; i++) {
		in.name = rings[i]->name;
		assert_int_equal(rte_swx_pipeline_port_in_config(p, i, "ring", &in), 0);
	}
	for (uint32_t i = 0; i < N_OUT - 1; i++) {
		out.name = rings[N_IN + i]->name;
		assert_int_equal(rte_swx_pipeline_port_out_config(p, i, "ring", &out), 0);
	}
	assert_int_equal(rte_swx_pipeline_port_out_config(p, N_OUT - 1, "sink", &sink), 0);
	assert_int_equal(rte_swx_pipeline_mirroring_config(p, &mirroring), 0);
	return p;
}

static void load_and_build(const char *path)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct ipdk_err err = { 0 };
	int rc;

	rc = ipdk_dpdk_spec_load_file(p, path, &err);
	if (rc)
		fail_msg("%s", err.msg);
	rc = rte_swx_pipeline_build(p);
	if (rc)
		fail_msg("%s: build failed: %s", path, strerror(-rc));
	rte_swx_pipeline_free(p);
}

static void test_dpdk_examples(void **state)
{
	static const char *const names[] = {
		"l2fwd", "l2fwd_macswp", "fib", "vxlan", "learner", "selector", "meter",
		"registers", "hash_func", "varbit", "mirroring", "recirculation",
	};
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.spec", examples_dir(), names[i]);
		if (access(path, R_OK))
			fail_msg("missing DPDK example %s", path);
		load_and_build(path);
	}
}

/* The loader must configure what the spec declares, not merely succeed. */
static void test_own_spec(void **state)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct rte_swx_ctl_pipeline_info info;
	struct rte_swx_ctl_table_info table;
	struct ipdk_err err = { 0 };
	char path[512];
	bool found_routes = false;

	(void)state;
	spec_path(path, sizeof(path), "lb.spec");
	if (ipdk_dpdk_spec_load_file(p, path, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(rte_swx_pipeline_build(p), 0);
	assert_int_equal(rte_swx_ctl_pipeline_info_get(p, &info), 0);
	assert_int_equal(info.n_actions, 5);
	assert_int_equal(info.n_tables, 2);
	assert_int_equal(info.n_selectors, 1);
	assert_int_equal(info.n_learners, 1);
	assert_int_equal(info.n_regarrays, 1);
	for (uint32_t i = 0; i < info.n_tables; i++) {
		assert_int_equal(rte_swx_ctl_table_info_get(p, i, &table), 0);
		if (!strcmp(table.name, "routes")) {
			found_routes = true;
			assert_int_equal(table.n_match_fields, 2);
			assert_int_equal(table.n_actions, 2);
			assert_true(table.default_action_is_const);
		}
	}
	assert_true(found_routes);
	rte_swx_pipeline_free(p);
}

static const char inline_spec[] =
	"struct metadata_t {\n"
	"\tbit<32> port\n"
	"}\n"
	"metadata instanceof metadata_t ; the only metadata\n"
	"action flip args none {\n"
	"\txor m.port 1 // next port\n"
	"\treturn\n"
	"}\n"
	"table t {\n"
	"\tkey {\n"
	"\t}\n"
	"\tactions {\n"
	"\t\tflip\n"
	"\t}\n"
	"\tdefault_action flip args none const\n"
	"}\n"
	"apply {\n"
	"\trx m.port\n"
	"\ttable t\n"
	"\ttx m.port\n"
	"}\n";

static void test_text(void **state)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct rte_swx_ctl_pipeline_info info;
	struct ipdk_err err = { 0 };

	(void)state;
	if (ipdk_dpdk_spec_load_text(p, inline_spec, "inline", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(err.code, 0);
	assert_int_equal(rte_swx_pipeline_build(p), 0);
	assert_int_equal(rte_swx_ctl_pipeline_info_get(p, &info), 0);
	assert_int_equal(info.n_actions, 1);
	assert_int_equal(info.n_tables, 1);
	rte_swx_pipeline_free(p);
}

/* Fields wider than 64 bits (IPv6 addresses) are fine in headers, in mov
 * between two of them and in table keys; the loader must not refuse those. */
static const char wide_spec[] =
	"struct ip6_h {\n"
	"\tbit<128> src\n"
	"\tbit<128> dst\n"
	"}\n"
	"struct md_t {\n"
	"\tbit<32> port\n"
	"}\n"
	"header ip6 instanceof ip6_h\n"
	"metadata instanceof md_t\n"
	"action swap args none {\n"
	"\tmov h.ip6.src h.ip6.dst\n"
	"\treturn\n"
	"}\n"
	"table by_dst {\n"
	"\tkey {\n"
	"\t\th.ip6.dst exact\n"
	"\t}\n"
	"\tactions {\n"
	"\t\tswap\n"
	"\t}\n"
	"\tdefault_action swap args none\n"
	"\tsize 64\n"
	"}\n"
	"apply {\n"
	"\trx m.port\n"
	"\textract h.ip6\n"
	"\ttable by_dst\n"
	"\temit h.ip6\n"
	"\ttx m.port\n"
	"}\n";

static void test_wide_fields(void **state)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct ipdk_err err = { 0 };

	(void)state;
	if (ipdk_dpdk_spec_load_text(p, wide_spec, "wide", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(rte_swx_pipeline_build(p), 0);
	rte_swx_pipeline_free(p);
}

/* ---- Broken specs ------------------------------------------------------------ */

#define HDR \
	"struct eth_h {\n"          /* 1 */ \
	"\tbit<48> dst\n"           /* 2 */ \
	"\tbit<48> src\n"           /* 3 */ \
	"\tbit<16> type\n"          /* 4 */ \
	"}\n"                       /* 5 */ \
	"struct md_t {\n"           /* 6 */ \
	"\tbit<32> port\n"          /* 7 */ \
	"}\n"                       /* 8 */ \
	"header eth instanceof eth_h\n" /* 9 */ \
	"metadata instanceof md_t\n"    /* 10 */

#define APPLY \
	"apply {\n" \
	"\trx m.port\n" \
	"\ttx m.port\n" \
	"}\n"

#define ACTION_FWD /* 3 lines */ \
	"action fwd args none {\n" \
	"\treturn\n" \
	"}\n"

#define REGS /* 2 lines */ \
	"regarray r0 size 4 initval 0\n" \
	"regarray r1 size 4 initval 0\n"

struct bad_spec {
	const char *what;
	const char *text;
	unsigned int line;
	const char *phrase;
};

static const struct bad_spec bad_specs[] = {
	{ "unknown keyword", HDR "strukt x {\n" APPLY, 11, "unknown keyword \"strukt\"" },
	{ "unterminated block", HDR ACTION_FWD "action drop args none {\n\tdrop\n", 15,
	  "unexpected end of file inside action drop (opened at line 14)" },
	{ "unterminated block followed by another", HDR
	  "action a args none {\n\treturn\n" ACTION_FWD APPLY, 13,
	  "action a: missing \"}\" before this line (block opened at line 11)" },
	{ "undefined struct in header", HDR "header ip instanceof ipv4_h\n" APPLY, 11,
	  "header ip: undefined struct ipv4_h" },
	{ "unknown action in table", HDR ACTION_FWD
	  "table fwd {\n\tkey {\n\t\tm.port exact\n\t}\n\tactions {\n\t\tfrwd\n\t}\n"
	  "\tdefault_action fwd args none\n}\n" APPLY, 19, "table fwd: unknown action \"frwd\"" },
	{ "duplicate table", HDR ACTION_FWD
	  "table t {\n\tactions {\n\t\tfwd\n\t}\n\tdefault_action fwd args none\n}\n"
	  "table t {\n\tactions {\n\t\tfwd\n\t}\n\tdefault_action fwd args none\n}\n" APPLY,
	  20, "duplicate table t" },
	{ "bad field width", "struct eth_h {\n\tbit<48> dst\n\tbit<0> src\n}\n" APPLY, 3,
	  "struct eth_h: field width bit<0> out of range" },
	{ "field width not a multiple of 8", "struct x_h {\n\tbit<12> a\n}\n" APPLY, 2,
	  "not a multiple of 8" },
	{ "varbit not last", "struct x_h {\n\tvarbit<64> o\n\tbit<8> a\n}\n" APPLY, 3,
	  "varbit field must be the last" },
	{ "unknown instruction", HDR "action a args none {\n\tmov m.port 1\n\tfrob m.port\n"
	  "\treturn\n}\n" APPLY, 13, "action a: unknown instruction \"frob\"" },
	{ "bad header field reference", HDR "action a args none {\n\tmov h.eth.dest m.port\n"
	  "\treturn\n}\n" APPLY, 12, "unknown field \"h.eth.dest\"" },
	{ "bad metadata field reference", HDR "apply {\n\trx m.port\n\tmov m.prot 1\n"
	  "\ttx m.port\n}\n", 13, "apply: unknown field \"m.prot\"" },
	{ "unknown header in instruction", HDR "apply {\n\trx m.port\n\textract h.ip\n"
	  "\ttx m.port\n}\n", 13, "unknown header in \"h.ip\"" },
	{ "t. outside an action", HDR "apply {\n\trx m.port\n\tmov m.port t.x\n"
	  "\ttx m.port\n}\n", 13, "exist only inside actions" },
	{ "operand neither field nor number", HDR "apply {\n\trx m.port\n\ttx mport\n}\n",
	  13, "tx: bad operand \"mport\"" },
	{ "wrong operand count", HDR "apply {\n\trx m.port\n\tmov m.port\n\ttx m.port\n}\n", 13,
	  "mov takes 2 operands, not 1" },
	{ "instruction in the wrong place", HDR "apply {\n\trx m.port\n\treturn\n}\n", 13,
	  "return is allowed only in actions" },
	{ "jump to undefined label", HDR "apply {\n\trx m.port\n\tjmp OUT\n\ttx m.port\n}\n",
	  13, "jmp to undefined label OUT" },
	{ "label without spaces", HDR "apply {\n\trx m.port\n\tOUT: tx m.port\n}\n", 13,
	  "with spaces around the colon" },
	{ "apply not starting with rx", HDR "apply {\n\tmov m.port 0\n\ttx m.port\n}\n", 12,
	  "first instruction must be rx" },
	{ "apply not ending in tx or drop", HDR "apply {\n\trx m.port\n\ttx m.port\n"
	  "\tmov m.port 0\n}\n", 14, "last instruction must be tx or drop, not mov" },
	{ "wide field in arithmetic", "struct ip6_h {\n\tbit<128> src\n\tbit<128> dst\n}\n"
	  "struct md_t {\n\tbit<32> port\n}\nheader ip6 instanceof ip6_h\n"
	  "metadata instanceof md_t\napply {\n\trx m.port\n\tadd h.ip6.src 1\n"
	  "\ttx m.port\n}\n", 12, "add: h.ip6.src is 128 bits wide" },
	{ "wide field moved into a narrow one", "struct ip6_h {\n\tbit<128> src\n}\n"
	  "struct md_t {\n\tbit<32> port\n}\nheader ip6 instanceof ip6_h\n"
	  "metadata instanceof md_t\napply {\n\trx m.port\n\tmov m.port h.ip6.src\n"
	  "\ttx m.port\n}\n", 11, "mov: h.ip6.src is 128 bits wide, so the other operand" },
	{ "unknown hash function in table", HDR ACTION_FWD
	  "table t {\n\tkey {\n\t\tm.port exact\n\t}\n\tactions {\n\t\tfwd\n\t}\n"
	  "\tdefault_action fwd args none\n\thash jhsah\n}\n" APPLY, 22,
	  "table t: unknown hash function \"jhsah\"" },
	{ "unknown hash function in instruction", HDR "apply {\n\trx m.port\n"
	  "\thash crc23 m.port m.port m.port\n\ttx m.port\n}\n", 13,
	  "hash: unknown hash function \"crc23\"" },
	{ "varbit header extracted without size", "struct v_h {\n\tbit<8> a\n"
	  "\tvarbit<64> opt\n}\nstruct md_t {\n\tbit<32> port\n}\nheader v instanceof v_h\n"
	  "metadata instanceof md_t\napply {\n\trx m.port\n\textract h.v\n\ttx m.port\n}\n",
	  12, "extract needs its size" },
	{ "fixed header extracted with a size", HDR "apply {\n\trx m.port\n"
	  "\textract h.eth m.port\n\ttx m.port\n}\n", 13, "extract takes no size" },
	{ "write to a number", HDR "apply {\n\trx m.port\n\tmov 5 m.port\n\ttx m.port\n}\n",
	  13, "mov: cannot write to \"5\"" },
	{ "rx into a header field", HDR "apply {\n\trx h.eth.type\n\ttx m.port\n}\n", 12,
	  "rx: the input port goes into a metadata field" },
	{ "bad number in size", HDR ACTION_FWD
	  "table t {\n\tactions {\n\t\tfwd\n\t}\n\tdefault_action fwd args none\n"
	  "\tsize 10k\n}\n" APPLY, 19, "bad number \"10k\" in size" },
	{ "negative size", HDR "regarray r size -1 initval 0\n" APPLY, 11, "bad size \"-1\"" },
	{ "default action args", HDR "struct a_t {\n\tbit<32> p\n}\n"
	  "action a args instanceof a_t {\n\tmov m.port t.p\n\treturn\n}\n"
	  "table t {\n\tactions {\n\t\ta\n\t}\n\tdefault_action a args none\n}\n" APPLY, 22,
	  "default action a takes 1 argument" },
	{ "empty file", "", 1, "empty spec: no apply block" },
	{ "only comments", "// nothing\n; here\n\n", 3, "empty spec: no apply block" },
	{ "missing apply", HDR ACTION_FWD, 13, "no apply block" },
	{ "second apply", HDR APPLY APPLY, 15, "second apply block (the first is at line 11)" },
	{ "stray brace", HDR "}\n" APPLY, 11, "unexpected \"}\"" },
	{ "duplicate field", "struct s {\n\tbit<8> a\n\tbit<8> a\n}\n" APPLY, 3,
	  "duplicate field a (first at line 2)" },
	{ "table instruction names no table", HDR "apply {\n\trx m.port\n\ttable nope\n"
	  "\ttx m.port\n}\n", 13, "unknown table \"nope\"" },
	{ "action without return", HDR "action a args none {\n\tmov m.port 1\n}\n" APPLY, 11,
	  "no return, drop or tx" },
	{ "key fields from two structs", HDR ACTION_FWD
	  "table t {\n\tkey {\n\t\tm.port exact\n\t\th.eth.dst exact\n\t}\n"
	  "\tactions {\n\t\tfwd\n\t}\n\tdefault_action fwd args none\n}\n" APPLY, 17,
	  "not in the same header or metadata" },
	{ "unknown extern type", HDR "extobj c instanceof no_such_type\n" APPLY, 11,
	  "extobj c: DPDK rejected it" },
	{ "regadd with immediates on a regarray other than the first", HDR REGS
	  "apply {\n\trx m.port\n\tregadd r1 0 1\n\ttx m.port\n}\n", 15,
	  "apply: regadd r1 0 1: with an immediate index and value DPDK 22.11 adds to "
	  "the first regarray (r0), not to r1" },
	{ "the same in an action", HDR REGS "action a args none {\n\tregadd r1 0x3 -1\n"
	  "\treturn\n}\n" APPLY, 14, "action a: regadd r1 0x3 -1" },
};

static void check_bad(const struct bad_spec *b, const char *name)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct ipdk_err err = { 0 };
	char want[256];
	int rc;

	rc = ipdk_dpdk_spec_load_text(p, b->text, name, &err);
	if (rc == 0)
		fail_msg("%s: loaded but should not have", b->what);
	assert_int_equal(err.code, rc);
	assert_true(rc < 0);
	snprintf(want, sizeof(want), "%s:%u: ", name, b->line);
	if (strncmp(err.msg, want, strlen(want)) || !strstr(err.msg, b->phrase))
		fail_msg("%s: got \"%s\", want \"%s...%s\"", b->what, err.msg, want, b->phrase);
	rte_swx_pipeline_free(p);
}

static void test_bad_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++)
		check_bad(&bad_specs[i], "x.spec");
}

/* The regadd forms DPDK 22.11 gets right: any regarray with a field for the
 * index or the value, and the first regarray with both immediate. */
static void test_regadd_forms(void **state)
{
	static const char *const ok[] = {
		HDR REGS "apply {\n\trx m.port\n\tregadd r0 0 1\n\ttx m.port\n}\n",
		HDR REGS "apply {\n\trx m.port\n\tregadd r1 m.port 1\n\ttx m.port\n}\n",
		HDR REGS "apply {\n\trx m.port\n\tregadd r1 0 m.port\n\ttx m.port\n}\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct rte_swx_pipeline *p = pipeline_new();
		struct ipdk_err err = { 0 };

		if (ipdk_dpdk_spec_load_text(p, ok[i], "ok.spec", &err))
			fail_msg("form %zu: %s", i, err.msg);
		rte_swx_pipeline_free(p);
	}
}

/* The file variant names the file, and a good spec still loads afterwards. */
static void test_bad_file_then_good(void **state)
{
	struct rte_swx_pipeline *p = pipeline_new();
	struct ipdk_err err = { 0 };
	char path[512], want[600];

	(void)state;
	spec_path(path, sizeof(path), "bad_table_action.spec");
	assert_int_equal(ipdk_dpdk_spec_load_file(p, path, &err), -ENOENT);
	snprintf(want, sizeof(want), "%s:18: table l2: unknown action \"frwd\"", path);
	assert_string_equal(err.msg, want);
	rte_swx_pipeline_free(p);

	p = pipeline_new();
	assert_int_equal(ipdk_dpdk_spec_load_file(p, "/nonexistent.spec", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent.spec: cannot open"));
	rte_swx_pipeline_free(p);

	snprintf(path, sizeof(path), "%s/l2fwd.spec", examples_dir());
	load_and_build(path);
}

/* A spec we cut short at every line must fail cleanly (no crash, no leak under
 * ASan) and then the full spec must still load. */
static void test_truncations(void **state)
{
	struct ipdk_err err = { 0 };
	char path[512];
	FILE *f;
	char *text;
	long len;

	(void)state;
	spec_path(path, sizeof(path), "lb.spec");
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, len, f), (size_t)len);
	fclose(f);

	/* The spec ends in "}\n": every cut from the brace on breaks it. */
	assert_string_equal(text + len - 2, "}\n");
	for (long cut = len - 2; cut > 0; cut -= 7) {
		struct rte_swx_pipeline *p = pipeline_new();
		char saved = text[cut];

		text[cut] = '\0';
		assert_true(ipdk_dpdk_spec_load_text(p, text, "cut", &err) < 0);
		assert_int_equal(strncmp(err.msg, "cut:", 4), 0);
		text[cut] = saved;
		rte_swx_pipeline_free(p);
	}
	free(text);
}

static void test_null_args(void **state)
{
	struct ipdk_err err = { 0 };

	(void)state;
	assert_int_equal(ipdk_dpdk_spec_load_text(NULL, "apply {\n}\n", "n", &err), -EINVAL);
	assert_int_equal(ipdk_dpdk_spec_load_file(NULL, "x", &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dpdk_examples),
		cmocka_unit_test(test_own_spec),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_wide_fields),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_regadd_forms),
		cmocka_unit_test(test_bad_file_then_good),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_null_args),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
