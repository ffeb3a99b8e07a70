/*
 * ipdk-p4c: the command-line P4_16 compiler. It takes p4c-style options so
 * existing build scripts keep working: it runs the front end (parse, resolve,
 * type-check), lowers the program to the IR and writes the DPDK SWX spec, the
 * P4Info (text or binary), the context JSON, the device config and the
 * single-file bundle of docs/bundle.md. Outputs this version cannot produce
 * (JSON P4Info, the BF-RT schema) are refused with a clear message and a
 * non-zero exit, never silently skipped.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/p4c.h"

enum {
	OPT_ARCH = 256, OPT_P4RT, OPT_CONTEXT, OPT_PARSE_ONLY, OPT_DUMP_AST, OPT_CHECK,
	OPT_TARGET, OPT_STD, OPT_P4INCLUDE, OPT_BFRT, OPT_DUMP_IR, OPT_DEVCFG, OPT_BUNDLE,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipdk-p4c [options] program.p4\n"
		"\n"
		"  --arch pna|psa            architecture the program is written for\n"
		"  --target dpdk             target (only dpdk)\n"
		"  -o FILE                   output: the DPDK pipeline spec (with --dump-ast: the dump)\n"
		"  -I DIR                    add DIR to the include path\n"
		"  -D NAME[=VALUE]           define a preprocessor macro\n"
		"  --p4runtime-files F[,F]   write P4Info: protobuf text (.txt) or binary (.bin)\n"
		"  --context FILE            write the target context JSON\n"
		"  --device-config FILE      write the device config (BfPipelineConfig: spec + context)\n"
		"  --bundle FILE             write a single-file bundle (ForwardingPipelineConfig:\n"
		"                            P4Info + device config), loadable through P4Runtime\n"
		"  --bf-rt-schema FILE       write the BF-RT/TDI schema JSON\n"
		"  --std p4-16               language version (only P4_16)\n"
		"  --p4include DIR           directory of core.p4, pna.p4, psa.p4\n"
		"  --parse-only              stop after parsing\n"
		"  --check                   parse, resolve names and type-check (front end only)\n"
		"  --dump-ast                print the parsed program back as P4 (to stdout or -o)\n"
		"  --dump-ir                 print the lowered IR (to stdout or -o)\n"
		"  -h, --help                show this help\n"
		"\n"
		"Without -o the spec goes to PROGRAM.spec next to the input's base name in\n"
		"the current directory.\n"
		"\n"
		"Exit status: 0 success, 1 errors in the program (or constructs the target\n"
		"cannot express), 2 bad usage or an output this version cannot produce.\n");
}

struct strv {
	const char **v;
	size_t n;
};

static int strv_add(struct strv *s, const char *x)
{
	const char **v = realloc(s->v, (s->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[s->n++] = x;
	s->v = v;
	return 0;
}

struct args {
	const char *arch, *target, *out, *p4rt, *context, *bfrt, *p4include, *input;
	const char *devcfg, *bundle;
	bool parse_only, dump_ast, dump_ir, check;
	struct strv inc, defs;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "p4runtime-files", required_argument, NULL, OPT_P4RT },
		{ "p4runtime-file", required_argument, NULL, OPT_P4RT },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		{ "device-config", required_argument, NULL, OPT_DEVCFG },
		{ "bundle", required_argument, NULL, OPT_BUNDLE },
		{ "bf-rt-schema", required_argument, NULL, OPT_BFRT },
		{ "std", required_argument, NULL, OPT_STD },
		{ "p4include", required_argument, NULL, OPT_P4INCLUDE },
		{ "parse-only", no_argument, NULL, OPT_PARSE_ONLY },
		{ "dump-ast", no_argument, NULL, OPT_DUMP_AST },
		{ "dump-ir", no_argument, NULL, OPT_DUMP_IR },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:I:D:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ARCH:
			if (strcmp(optarg, "pna") && strcmp(optarg, "psa")) {
				fprintf(stderr, "ipdk-p4c: --arch %s: supported are pna and psa\n", optarg);
				return -EINVAL;
			}
			a->arch = optarg;
			break;
		case OPT_TARGET:
			if (strcmp(optarg, "dpdk")) {
				fprintf(stderr, "ipdk-p4c: --target %s: only dpdk is supported\n", optarg);
				return -EINVAL;
			}
			a->target = optarg;
			break;
		case OPT_STD:
			if (strcmp(optarg, "p4-16") && strcmp(optarg, "p4_16")) {
				fprintf(stderr, "ipdk-p4c: --std %s: only p4-16 is supported\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_P4RT: a->p4rt = optarg; break;
		case OPT_CONTEXT: a->context = optarg; break;
		case OPT_DEVCFG: a->devcfg = optarg; break;
		case OPT_BUNDLE: a->bundle = optarg; break;
		case OPT_BFRT: a->bfrt = optarg; break;
		case OPT_P4INCLUDE: a->p4include = optarg; break;
		case OPT_PARSE_ONLY: a->parse_only = true; break;
		case OPT_DUMP_AST: a->dump_ast = true; break;
		case OPT_DUMP_IR: a->dump_ir = true; break;
		case OPT_CHECK: a->check = true; break;
		case 'o': a->out = optarg; break;
		case 'I':
			if (strv_add(&a->inc, optarg))
				return -ENOMEM;
			break;
		case 'D':
			if (strv_add(&a->defs, optarg))
				return -ENOMEM;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ipdk-p4c: %s\n", optind >= argc ? "no input file" :
			"exactly one input file is expected");
		usage(stderr);
		return -EINVAL;
	}
	a->input = argv[optind];
	return 0;
}

static int write_dump(struct ipdk_p4c_program *prog, const char *path)
{
	char *text = ipdk_p4c_dump(prog);
	FILE *f = stdout;
	int ret = 0;

	if (!text) {
		fprintf(stderr, "ipdk-p4c: out of memory\n");
		return 2;
	}
	if (path && !(f = fopen(path, "w"))) {
		fprintf(stderr, "ipdk-p4c: %s: %s\n", path, strerror(errno));
		free(text);
		return 2;
	}
	if (fputs(text, f) == EOF)
		ret = 2;
	if (path && fclose(f))
		ret = 2;
	if (ret)
		fprintf(stderr, "ipdk-p4c: %s: write failed\n", path ? path : "stdout");
	free(text);
	return ret;
}

/* True when path ends with ext. */
static bool ends_with(const char *path, size_t n, const char *ext)
{
	size_t e = strlen(ext);

	return n > e && !strncmp(path + n - e, ext, e);
}

/* Names the outputs asked for that this version cannot write, or NULL. */
static const char *missing_backend(const struct args *a)
{
	for (const char *p = a->p4rt; p && *p;) {
		size_t n = strcspn(p, ",");
		if (!ends_with(p, n, ".txt") && !ends_with(p, n, ".bin"))
			return "--p4runtime-files other than protobuf text (.txt) or binary (.bin)";
		p += n + (p[n] == ',');
	}
	if (a->bfrt)
		return "--bf-rt-schema (TDI schema JSON)";
	return NULL;
}

typedef int (*writer_fn)(const struct ipdk_p4c_program *, FILE *);

static int write_out(struct ipdk_p4c_program *prog, const char *path, writer_fn fn, const char *text)
{
	FILE *f = path ? fopen(path, "w") : stdout;
	int ret = 0, rc;

	if (!f) {
		fprintf(stderr, "ipdk-p4c: %s: %s\n", path, strerror(errno));
		return 2;
	}
	rc = fn ? fn(prog, f) : fputs(text, f) == EOF ? -EIO : 0;
	if (rc == -ENOTSUP) {
		fprintf(stderr, "ipdk-p4c: %s: this ipdk-p4c was built without protobuf-c\n", path ? path : "stdout");
		if (path)
			fclose(f);
		return 2;
	}
	if (rc)
		ret = 2;
	if (path && fclose(f))
		ret = 2;
	if (ret)
		fprintf(stderr, "ipdk-p4c: %s: write failed\n", path ? path : "stdout");
	return ret;
}

/* The program name: the input's base name without .p4. */
static char *program_name(const char *input)
{
	const char *b = strrchr(input, '/');
	char *n = strdup(b ? b + 1 : input), *dot;

	if (n && (dot = strrchr(n, '.')) && dot != n)
		*dot = '\0';
	return n;
}

static int compile(struct ipdk_p4c_program *prog, const struct args *a)
{
	struct ipdk_err err = { 0 };
	char *name = program_name(a->input), *spec_path = NULL;
	int status = 0;

	if (!name)
		return 2;
	if (ipdk_p4c_compile(prog, a->arch, name, &err)) {
		ipdk_p4c_diag_print(prog, stderr);
		fprintf(stderr, "ipdk-p4c: %zu error(s)\n", ipdk_p4c_error_count(prog));
		free(name);
		return 1;
	}
	ipdk_p4c_diag_print(prog, stderr);
	if (a->dump_ir) {
		status = write_out(prog, a->out, ipdk_p4c_write_ir, NULL);
		goto out;
	}
	if (!a->out && asprintf(&spec_path, "%s.spec", name) < 0) {
		status = 2;
		goto out;
	}
	status = write_out(prog, a->out ? a->out : spec_path, NULL, ipdk_p4c_spec(prog));
	for (const char *p = a->p4rt; !status && p && *p;) {
		size_t n = strcspn(p, ",");
		char *one = strndup(p, n);
		if (!one) {
			status = 2;
			break;
		}
		status = write_out(prog, one, ends_with(one, n, ".bin") ? ipdk_p4c_write_p4info_binary :
				   ipdk_p4c_write_p4info_text, NULL);
		free(one);
		p += n + (p[n] == ',');
	}
	if (!status && a->context)
		status = write_out(prog, a->context, ipdk_p4c_write_context, NULL);
	if (!status && a->devcfg)
		status = write_out(prog, a->devcfg, ipdk_p4c_write_device_config, NULL);
	if (!status && a->bundle)
		status = write_out(prog, a->bundle, ipdk_p4c_write_bundle, NULL);
out:
	free(spec_path);
	free(name);
	return status;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct ipdk_p4c_options o = { 0 };
	struct ipdk_p4c_program *prog;
	struct ipdk_err err = { 0 };
	const char *missing;
	int ret, status = 0;

	if (parse_args(argc, argv, &a))
		return 2;
	o.arch = a.arch;
	o.include_dirs = a.inc.v;
	o.n_include_dirs = a.inc.n;
	o.defines = a.defs.v;
	o.n_defines = a.defs.n;
	o.p4include_dir = a.p4include;
	prog = ipdk_p4c_program_new();
	if (!prog) {
		fprintf(stderr, "ipdk-p4c: out of memory\n");
		return 2;
	}
	ret = ipdk_p4c_parse_file(prog, a.input, &o, &err);
	if (ret && ret != -EINVAL) {
		fprintf(stderr, "ipdk-p4c: %s\n", err.msg);
		status = 2;
		goto out;
	}
	if (!ret && !a.parse_only)
		ipdk_p4c_check(prog, &err);
	if (ipdk_p4c_error_count(prog) || a.parse_only || a.check || a.dump_ast)
		ipdk_p4c_diag_print(prog, stderr);
	if (ipdk_p4c_error_count(prog)) {
		fprintf(stderr, "ipdk-p4c: %zu error(s)\n", ipdk_p4c_error_count(prog));
		status = 1;
		goto out;
	}
	if (a.dump_ast) {
		status = write_dump(prog, a.out);
		goto out;
	}
	if (a.parse_only || a.check)
		goto out;
	missing = missing_backend(&a);
	if (missing) {
		fprintf(stderr, "ipdk-p4c: %s: not implemented yet\n", missing);
		status = 2;
		goto out;
	}
	status = compile(prog, &a);
out:
	ipdk_p4c_program_free(prog);
	free(a.inc.v);
	free(a.defs.v);
	return status;
}
