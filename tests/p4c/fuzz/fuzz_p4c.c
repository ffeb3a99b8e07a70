/*
 * libFuzzer harness for the ipdk-p4c front end: feeds arbitrary bytes to the
 * lexer, parser and checker as already-preprocessed text, prints the
 * diagnostics and the dump, and asserts the round-trip property on whatever
 * parses cleanly (parsing a dump again must give the same dump). Programs that
 * also check cleanly go through the middle and DPDK back ends and the P4Info
 * and context writers, which must not crash whatever they are given. Built
 * and run by scripts/fuzz-p4c.sh; not part of the test suite.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/p4c.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipdk_p4c_program *p, *q;
	char *d1, *d2;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	p = ipdk_p4c_program_new();
	if (!p)
		return 0;
	if (ipdk_p4c_parse_string(p, "fuzz.p4", (const char *)data, size, NULL) == 0)
		ipdk_p4c_check(p, NULL);
	ipdk_p4c_diag_print(p, devnull);
	d1 = ipdk_p4c_dump(p);
	/* a program that parsed without syntax errors must print back to the
	 * same program */
	if (d1 && p && ipdk_p4c_diag_count(p) == ipdk_p4c_error_count(p)) {
		struct ipdk_p4c_program *syn = ipdk_p4c_program_new();
		bool clean = ipdk_p4c_parse_string(syn, "fuzz.p4", (const char *)data, size, NULL) == 0;
		ipdk_p4c_program_free(syn);
		if (clean) {
			q = ipdk_p4c_program_new();
			if (ipdk_p4c_parse_string(q, "dump.p4", d1, strlen(d1), NULL)) {
				ipdk_p4c_diag_print(q, stderr);
				fprintf(stderr, "dump does not parse:\n%s\n", d1);
				abort();
			}
			d2 = ipdk_p4c_dump(q);
			if (!d2 || strcmp(d1, d2)) {
				fprintf(stderr, "round trip differs:\n%s\n----\n%s\n", d1, d2 ? d2 : "");
				abort();
			}
			free(d2);
			ipdk_p4c_program_free(q);
		}
	}
	if (ipdk_p4c_error_count(p) == 0 && ipdk_p4c_compile(p, NULL, "fuzz", NULL) == 0) {
		ipdk_p4c_write_p4info_text(p, devnull);
		ipdk_p4c_write_p4info_binary(p, devnull);
		ipdk_p4c_write_bundle(p, devnull);
		ipdk_p4c_write_context(p, devnull);
	}
	ipdk_p4c_diag_print(p, devnull);
	free(d1);
	ipdk_p4c_program_free(p);
	return 0;
}
