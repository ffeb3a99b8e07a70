/*
 * ipdk-p4c, the P4_16 compiler library: its front end (preprocessing through
 * the system cpp, lexing, parsing into an AST, name resolution and type
 * checking) behind a small API. A program object collects the parsed files and
 * every diagnostic found on the way, so one run can report many errors with
 * their file:line:column. The middle end lowers a checked program to a
 * target-neutral IR; the DPDK back end writes a DPDK SWX pipeline spec from it,
 * and the P4Info and context writers describe it to controllers (see
 * docs/p4c.md and docs/bundle.md).
 */
#ifndef IPDK_P4C_H
#define IPDK_P4C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ipdk/err.h"

struct ipdk_p4c_program;

struct ipdk_p4c_options {
	const char *arch;             /* "pna", "psa" or NULL: not used by the front end */
	const char *const *include_dirs; /* extra -I directories */
	size_t n_include_dirs;
	const char *const *defines;   /* "NAME" or "NAME=VALUE", passed as -D */
	size_t n_defines;
	const char *p4include_dir;    /* dir of core.p4/pna.p4/psa.p4; NULL: built-in default */
	const char *cpp;              /* preprocessor program; NULL: "cpp" */
};

enum ipdk_p4c_severity {
	IPDK_P4C_ERROR,
	IPDK_P4C_WARNING,
	IPDK_P4C_NOTE,
};

struct ipdk_p4c_diag {
	enum ipdk_p4c_severity severity;
	const char *file;             /* as named by #line markers, "" when unknown */
	unsigned line, col;           /* 1-based; 0 when unknown */
	const char *msg;              /* without location or severity */
};

/* Returns a new, empty program, or NULL when out of memory. */
struct ipdk_p4c_program *ipdk_p4c_program_new(void);

/* Frees a program, its AST and its diagnostics; prog may be NULL. */
void ipdk_p4c_program_free(struct ipdk_p4c_program *prog);

/* Preprocesses path with cpp and parses it into prog. Returns 0, -EINVAL when
 * the program has syntax errors (see the diagnostics), or another negative
 * errno with err set when the file or the preprocessor could not be run. */
int ipdk_p4c_parse_file(struct ipdk_p4c_program *prog, const char *path,
			const struct ipdk_p4c_options *opts, struct ipdk_err *err);

/* Parses len bytes of already preprocessed text (cpp line markers are
 * honoured) named name in diagnostics; returns as ipdk_p4c_parse_file(). */
int ipdk_p4c_parse_string(struct ipdk_p4c_program *prog, const char *name,
			  const char *text, size_t len, struct ipdk_err *err);

/* Resolves names and type-checks the parsed program. Returns 0, or -EINVAL
 * when errors were found (see the diagnostics). */
int ipdk_p4c_check(struct ipdk_p4c_program *prog, struct ipdk_err *err);

/* Returns the number of diagnostics, and of those that are errors. */
size_t ipdk_p4c_diag_count(const struct ipdk_p4c_program *prog);
size_t ipdk_p4c_error_count(const struct ipdk_p4c_program *prog);

/* Returns diagnostic i (in the order found), or NULL past the end. */
const struct ipdk_p4c_diag *ipdk_p4c_diag_get(const struct ipdk_p4c_program *prog, size_t i);

/* Prints every diagnostic as "file:line:col: error: msg" followed by the
 * offending source line and a caret under the column. */
void ipdk_p4c_diag_print(const struct ipdk_p4c_program *prog, FILE *out);

/* Lowers the checked program for arch ("pna" or "psa"; NULL: the one its
 * package instance names; a mismatch is an error) to the IR and
 * runs the DPDK back end; name is the program name (P4Info, context). Returns
 * 0, or -EINVAL when the program uses what the target cannot express (see the
 * diagnostics). */
int ipdk_p4c_compile(struct ipdk_p4c_program *prog, const char *arch, const char *name,
		     struct ipdk_err *err);

/* Returns the DPDK SWX spec text of a compiled program, or NULL. */
const char *ipdk_p4c_spec(const struct ipdk_p4c_program *prog);

/* Writes the IR of a compiled program as text (a debugging aid). */
int ipdk_p4c_write_ir(const struct ipdk_p4c_program *prog, FILE *f);

/* Writes P4Info of a compiled program in protobuf text format; -ENOTSUP when
 * the library was built without protobuf-c (as for the three below). */
int ipdk_p4c_write_p4info_text(const struct ipdk_p4c_program *prog, FILE *f);

/* Writes P4Info of a compiled program as a binary (packed) protobuf. */
int ipdk_p4c_write_p4info_binary(const struct ipdk_p4c_program *prog, FILE *f);

/* Writes the device config (IPDK's BfPipelineConfig: spec and context). */
int ipdk_p4c_write_device_config(const struct ipdk_p4c_program *prog, FILE *f);

/* Writes the single-file bundle (p4.v1.ForwardingPipelineConfig with the
 * P4Info and the device config), as docs/bundle.md describes. */
int ipdk_p4c_write_bundle(const struct ipdk_p4c_program *prog, FILE *f);

/* Writes the context JSON (docs/bundle.md) of a compiled program. */
int ipdk_p4c_write_context(const struct ipdk_p4c_program *prog, FILE *f);

/* Returns the AST printed back as P4_16 source (malloc'd, caller frees), or
 * NULL when out of memory. Parsing the dump gives the same dump. */
char *ipdk_p4c_dump(const struct ipdk_p4c_program *prog);

#endif
