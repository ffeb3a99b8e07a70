/*
 * The front-end test driver. It walks the corpus under tests/p4c:
 *   valid/NAME.p4   must preprocess, parse and check without errors, and print
 *                 back to source that parses and checks again to the same text
 *                 (dump(parse(dump(x))) == dump(x));
 *   invalid/NAME.p4 each `// expect: LINE:COL: text` comment names an error the
 *                 front end must report at that place of that file, with text
 *                 in its message; the run must report no error at a line no
 *                 expectation names unless the file says `// expect-more`.
 *   backend/NAME.p4 the same for programs that check but are compiled for the
 *                 DPDK target: every error and warning of the middle and back
 *                 ends must be expected (`// arch: psa` picks the arch).
 * Then it runs a few targeted checks (operator precedence, literals, error
 * recovery, garbage input). It ends with the plain "N passed, N failed" line.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/p4c.h"

static int passed, failed;
static const char *p4include;

static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		passed++;
		printf("ok   %s\n", name);
		return;
	}
	failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n + 1);
		if (buf) {
			n = fread(buf, 1, n, f);
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Collects the values of `// KEY: value` lines of src into out. */
static size_t directives(const char *src, const char *key, char out[][256], size_t max)
{
	size_t n = 0;
	const char *s = src;

	while ((s = strstr(s, key)) && n < max) {
		const char *e;
		s += strlen(key);
		while (*s == ' ')
			s++;
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		snprintf(out[n++], 256, "%.*s", (int)(e - s), s);
	}
	return n;
}

/* Runs the front end on a file; `// define: X` and `// include: DIR` lines
 * (DIR relative to the file) become -D and -I. */
static struct ipdk_p4c_program *front_end(const char *path, bool check)
{
	struct ipdk_p4c_options o = { .p4include_dir = p4include };
	struct ipdk_p4c_program *prog = ipdk_p4c_program_new();
	struct ipdk_err err = { 0 };
	char defs[8][256], incs[8][256], dir[4096];
	const char *defv[8], *incv[8];
	char *src = read_file(path);
	int ret;

	if (!prog)
		abort();
	if (src) {
		const char *slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
		o.n_defines = directives(src, "// define:", defs, 8);
		o.n_include_dirs = directives(src, "// include:", incs, 8);
		for (size_t i = 0; i < o.n_defines; i++)
			defv[i] = defs[i];
		for (size_t i = 0; i < o.n_include_dirs; i++) {
			char tmp[256];
			snprintf(tmp, sizeof(tmp), "%s", incs[i]);
			snprintf(incs[i], sizeof(incs[i]), "%.200s/%.50s", dir, tmp);
			incv[i] = incs[i];
		}
		o.defines = defv;
		o.include_dirs = incv;
		free(src);
	}
	ret = ipdk_p4c_parse_file(prog, path, &o, &err);
	if (ret && ret != -EINVAL)
		fprintf(stderr, "%s\n", err.msg);
	if (!ret && check)
		ipdk_p4c_check(prog, &err);
	return prog;
}

static struct ipdk_p4c_program *from_string(const char *text, bool check)
{
	struct ipdk_p4c_program *prog = ipdk_p4c_program_new();

	if (!prog)
		abort();
	if (!ipdk_p4c_parse_string(prog, "<dump>", text, strlen(text), NULL) && check)
		ipdk_p4c_check(prog, NULL);
	return prog;
}

static void test_valid(const char *path, const char *name)
{
	struct ipdk_p4c_program *prog = front_end(path, true), *again = NULL;
	char *d1 = NULL, *d2 = NULL;

	if (ipdk_p4c_error_count(prog)) {
		ipdk_p4c_diag_print(prog, stdout);
		result(false, name, "%zu error(s) in a valid program", ipdk_p4c_error_count(prog));
		goto out;
	}
	d1 = ipdk_p4c_dump(prog);
	again = from_string(d1, true);
	if (ipdk_p4c_error_count(again)) {
		ipdk_p4c_diag_print(again, stdout);
		result(false, name, "its dump does not parse and check");
		goto out;
	}
	d2 = ipdk_p4c_dump(again);
	if (strcmp(d1, d2)) {
		size_t i = 0;
		while (d1[i] && d1[i] == d2[i])
			i++;
		result(false, name, "dump changes when re-parsed, first difference at byte %zu: '%.60s' vs '%.60s'",
		       i, d1 + i, d2 + i);
		goto out;
	}
	result(true, name, NULL);
out:
	free(d1);
	free(d2);
	ipdk_p4c_program_free(again);
	ipdk_p4c_program_free(prog);
}

struct expect {
	unsigned line, col;
	char text[256];
	bool seen;
};

static int parse_expects(const char *src, struct expect *ex, int max, bool *more)
{
	int n = 0;
	const char *s = src;

	*more = strstr(src, "// expect-more") != NULL;
	while ((s = strstr(s, "// expect:")) && n < max) {
		const char *e;
		s += strlen("// expect:");
		if (sscanf(s, " %u:%u:", &ex[n].line, &ex[n].col) != 2)
			continue;
		s = strchr(s, ':') + 1;
		s = strchr(s, ':') + 1;
		while (*s == ' ')
			s++;
		e = strchr(s, '\n');
		if (!e)
			e = s + strlen(s);
		snprintf(ex[n].text, sizeof(ex[n].text), "%.*s", (int)(e - s), s);
		ex[n].seen = false;
		n++;
	}
	return n;
}

static bool same_file(const char *diag_file, const char *path)
{
	size_t a = strlen(diag_file), b = strlen(path);

	return a >= b ? !strcmp(diag_file + a - b, path) : !strcmp(path + b - a, diag_file);
}

static void expect_diags(const char *path, const char *name, bool compile)
{
	struct expect ex[32];
	char *src = read_file(path);
	struct ipdk_p4c_program *prog;
	bool more, ok = true;
	int n;

	if (!src) {
		result(false, name, "cannot read");
		return;
	}
	n = parse_expects(src, ex, 32, &more);
	free(src);
	if (!n) {
		result(false, name, "has no '// expect: LINE:COL: text' comment");
		return;
	}
	prog = front_end(path, true);
	if (compile) {
		char arch[1][256];
		src = read_file(path);
		bool psa = src && directives(src, "// arch:", arch, 1) && !strcmp(arch[0], "psa");
		free(src);
		if (ipdk_p4c_error_count(prog))
			printf("    front-end errors in a backend/ program\n"), ok = false;
		else
			ipdk_p4c_compile(prog, psa ? "psa" : "pna", "test", NULL);
	}
	for (size_t i = 0; i < ipdk_p4c_diag_count(prog); i++) {
		const struct ipdk_p4c_diag *d = ipdk_p4c_diag_get(prog, i);
		bool matched = false;
		if (d->severity == IPDK_P4C_NOTE || (d->severity == IPDK_P4C_WARNING && !compile))
			continue;
		for (int j = 0; j < n; j++) {
			if (d->line == ex[j].line && d->col == ex[j].col && same_file(d->file, path) &&
			    strstr(d->msg, ex[j].text)) {
				ex[j].seen = true;
				matched = true;
			}
		}
		if (!matched && !more) {
			printf("    unexpected: %s:%u:%u: %s\n", d->file, d->line, d->col, d->msg);
			ok = false;
		}
	}
	for (int j = 0; j < n; j++) {
		if (!ex[j].seen) {
			printf("    missing: %u:%u: %s\n", ex[j].line, ex[j].col, ex[j].text);
			ok = false;
		}
	}
	if (!ok)
		ipdk_p4c_diag_print(prog, stdout);
	result(ok, name, "diagnostics differ from the expectations");
	ipdk_p4c_program_free(prog);
}

static void test_invalid(const char *path, const char *name)
{
	expect_diags(path, name, false);
}

static void test_backend(const char *path, const char *name)
{
	expect_diags(path, name, true);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *root, const char *sub, void (*fn)(const char *, const char *))
{
	char dir[4096], path[8192], *names[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	d = opendir(dir);
	if (!d) {
		result(false, sub, "cannot open %s", dir);
		return;
	}
	while ((de = readdir(d)) && n < 512) {
		size_t l = strlen(de->d_name);
		if (l > 3 && !strcmp(de->d_name + l - 3, ".p4"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	if (!n)
		result(false, sub, "no programs in %s", dir);
	for (int i = 0; i < n; i++) {
		char name[600];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(name, sizeof(name), "%s/%s", sub, names[i]);
		fn(path, name);
		free(names[i]);
	}
}

/* ---- targeted checks on in-memory sources ---- */

static char *dump_of(const char *src, size_t *errors)
{
	struct ipdk_p4c_program *p = from_string(src, false);
	char *d = ipdk_p4c_dump(p);

	*errors = ipdk_p4c_error_count(p);
	ipdk_p4c_program_free(p);
	return d;
}

static void expect_dump(const char *name, const char *src, const char *want)
{
	size_t errors;
	char *d = dump_of(src, &errors);

	result(!errors && strstr(d, want), name, "dump of '%s' lacks '%s': %s", src, want, d);
	free(d);
}

static void test_precedence(void)
{
	expect_dump("precedence: * over +", "const int x = 1 + 2 * 3;", "(1 + (2 * 3))");
	expect_dump("precedence: + over <<", "const int x = 1 << 2 + 3;", "(1 << (2 + 3))");
	expect_dump("precedence: & over ==", "const bool x = a & b == c;", "((a & b) == c)");
	expect_dump("precedence: | over <", "const bool x = a | b < c;", "((a | b) < c)");
	expect_dump("precedence: && over ||", "const bool x = a || b && c;", "(a || (b && c))");
	expect_dump("precedence: ++ with +", "const bit<8> x = a ++ b + c;", "((a ++ b) + c)");
	expect_dump("precedence: ?: lowest", "const int x = a ? b : c || d;", "(a ? b : (c || d))");
	expect_dump("precedence: >> from two '>'", "const int x = a >> 2 > b;", "((a >> 2) > b)");
	expect_dump("precedence: left assoc -", "const int x = a - b - c;", "((a - b) - c)");
	expect_dump("precedence: unary and cast", "const int x = -(bit<8>)a[3:0].f;",
		    "(-((bit<8>)a[3:0].f))");
	expect_dump("nested type args", "extern E<T> { E(); } E<bit<8>>() e;", "E<bit<8>>() e;");
	expect_dump("generic call", "const int x = f<bit<8>, _>(y);", "f<bit<8>, _>(y)");
}

static void test_literals(void)
{
	static const char *good[] = { "8w255", "4s-1", "0x_FF", "0b1010", "0o17", "16w0xffff",
				      "32s0x7fff_ffff", "1_000_000", "0d99", "128w1" };
	static const char *bad[] = { "0xZZ", "8w0b12", "0s1" };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char src[128], name[128];
		size_t errors;
		snprintf(src, sizeof(src), "const int x = %s;", good[i]);
		snprintf(name, sizeof(name), "literal %s", good[i]);
		char *d = dump_of(src, &errors);
		result(!errors && strstr(d, good[i]), name, "not accepted: %s", d);
		free(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char src[128], name[128];
		size_t errors;
		snprintf(src, sizeof(src), "const int x = %s;", bad[i]);
		snprintf(name, sizeof(name), "bad literal %s", bad[i]);
		free(dump_of(src, &errors));
		result(errors > 0, name, "accepted");
	}
}

static void test_recovery(void)
{
	const char *src =
		"header h_t { bit<8> a }\n"		/* missing ';' */
		"struct s_t { bit<8> b; }\n"
		"control C(inout s_t s) {\n"
		"    action a1() { s.b = ; }\n"		/* missing expression */
		"    apply { s.b = 1 + ; s.b = 2; }\n"	/* another */
		"}\n"
		"const bit<8> k = 3\n";			/* missing ';' at EOF */
	struct ipdk_p4c_program *p = from_string(src, false);
	size_t n = ipdk_p4c_error_count(p);

	result(n >= 4, "recovery: several diagnostics per run", "only %zu errors", n);
	const struct ipdk_p4c_diag *d = ipdk_p4c_diag_get(p, 0);
	result(d && d->line == 1 && d->col == 23, "recovery: first error located",
	       "first diagnostic at %u:%u", d ? d->line : 0, d ? d->col : 0);
	ipdk_p4c_program_free(p);
}

static void test_garbage(void)
{
	char buf[4096];
	unsigned seed = 12345;

	/* random bytes and deep nesting must give errors, not crashes or hangs */
	for (int round = 0; round < 200; round++) {
		size_t n = (seed = seed * 1103515245 + 12345) % (sizeof(buf) - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = "(){}[]<>;:=.,+-*/&|^!~?@#\"abc_ 019wsx\nheader control"[(seed >> 16) % 52];
		}
		buf[n] = '\0';
		struct ipdk_p4c_program *p = from_string(buf, true);
		free(ipdk_p4c_dump(p));
		ipdk_p4c_program_free(p);
	}
	memset(buf, '(', 4000);
	buf[4000] = '\0';
	struct ipdk_p4c_program *p = from_string(buf, true);
	result(ipdk_p4c_error_count(p) > 0, "garbage: random and deeply nested input", "no error");
	ipdk_p4c_program_free(p);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_p4c CORPUS_DIR P4INCLUDE_DIR\n");
		return 2;
	}
	p4include = argv[2];
	run_dir(argv[1], "valid", test_valid);
	run_dir(argv[1], "invalid", test_invalid);
	run_dir(argv[1], "backend", test_backend);
	test_precedence();
	test_literals();
	test_recovery();
	test_garbage();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
