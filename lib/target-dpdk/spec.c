/*
 * The SWX pipeline spec loader: reads DPDK's pipeline description language
 * (the .spec files of DPDK 22.11's pipeline examples: struct, header,
 * metadata, action, table, selector, learner, regarray, metarray, extobj and
 * apply) and configures a struct rte_swx_pipeline through its programmatic
 * API, with no C compiler involved. Loading runs in three passes: parse the
 * text into a model that remembers the line of everything, check the model
 * (names, references, instruction operands) so that errors point at the line
 * that is wrong, then hand it to DPDK in DPDK's own configuration order.
 * Every error reads "NAME:LINE: reason". All memory lives in one arena that is
 * freed when loading ends, so a failed load cannot leak.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_swx_pipeline.h>

#include "ipdk/log.h"
#include "ipdk/target_dpdk.h"

/* Widest field we accept; DPDK has no real limit, this only keeps sizes sane. */
#define SPEC_FIELD_BITS_MAX (1u << 24)

/* ---- Arena and vectors --------------------------------------------------- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define ARENA_CHUNK_MIN (64 * 1024)

static void *arena_alloc(struct arena_chunk **head, size_t n)
{
	struct arena_chunk *c = *head;
	size_t align = sizeof(max_align_t);
	void *p;

	n = (n + align - 1) / align * align;
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK_MIN ? n : ARENA_CHUNK_MIN;

		c = calloc(1, sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->next = *head;
		*head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void arena_free(struct arena_chunk *head)
{
	while (head) {
		struct arena_chunk *next = head->next;

		free(head);
		head = next;
	}
}

#define VEC(T) struct { T *v; uint32_t n, cap; }

/* Vectors grow by copying into fresh arena memory; the old copy is reclaimed
 * with the arena, which wastes at most as much as the vector holds. */
static void *vec_grow(struct arena_chunk **arena, void *v, uint32_t *cap, uint32_t n,
		      size_t elem)
{
	uint32_t ncap = *cap ? *cap * 2 : 8;
	void *nv = arena_alloc(arena, (size_t)ncap * elem);

	if (!nv)
		return NULL;
	if (n)
		memcpy(nv, v, (size_t)n * elem);
	*cap = ncap;
	return nv;
}

#define VEC_PUSH(sp, vec, val) __extension__ ({				\
	int rc_ = 0;							\
	if ((vec).n == (vec).cap) {					\
		void *nv_ = vec_grow(&(sp)->arena, (vec).v, &(vec).cap,	\
				     (vec).n, sizeof(*(vec).v));	\
		if (nv_)						\
			(vec).v = nv_;					\
		else							\
			rc_ = spec_oom(sp);				\
	}								\
	if (!rc_)							\
		(vec).v[(vec).n++] = (val);				\
	rc_;								\
})

/* ---- The model ------------------------------------------------------------ */

struct sp_field {
	const char *name;
	uint32_t n_bits;
	uint32_t line;
	bool varbit;
};

struct sp_struct {
	const char *name;
	uint32_t line;
	VEC(struct sp_field) fields;
	bool varbit;
};

struct sp_header {
	const char *name, *type;
	uint32_t line;
	struct sp_struct *st;
};

struct sp_instr {
	const char *text;   /* tokens joined by single spaces, as DPDK wants them */
	char **tok;
	uint32_t n_tok;
	uint32_t line;
};

struct sp_code {
	VEC(struct sp_instr) instr;
};

struct sp_action {
	const char *name, *args_type;
	uint32_t line;
	struct sp_struct *args;
	struct sp_code code;
};

struct sp_key {
	const char *field;
	enum rte_swx_table_match_type match;
	uint32_t line;
};

struct sp_aref {
	const char *name;
	bool for_entries, for_default;
	uint32_t line;
	struct sp_action *a;
};

enum sp_table_kind { SP_TABLE, SP_SELECTOR, SP_LEARNER };

struct sp_table {
	enum sp_table_kind kind;
	const char *name;
	uint32_t line;
	VEC(struct sp_key) keys;          /* table/learner key, selector fields */
	VEC(struct sp_aref) actions;
	/* default_action */
	const char *def_name;
	char **def_args;                  /* ARG VAL pairs */
	uint32_t n_def_args;              /* number of tokens (2 per argument) */
	bool def_const;
	uint32_t def_line;
	const char *hash, *type, *pragma;
	uint32_t hash_line;
	uint32_t size;
	/* selector */
	const char *group_id, *member_id;
	uint32_t group_id_line, member_id_line;
	uint32_t n_groups_max, n_members_max;
	/* learner */
	VEC(uint32_t) timeouts;
	uint32_t timeout_line;
};

struct sp_array {
	const char *name;
	uint32_t line;
	uint32_t size;
	uint64_t initval;
};

struct sp_array_vec {
	struct sp_array **v;
	uint32_t n, cap;
};

struct sp_extobj {
	const char *name, *type, *pragma;
	uint32_t line;
};

struct spec {
	const char *name;
	struct ipdk_err *err;
	struct rte_swx_pipeline *p;
	struct arena_chunk *arena;

	/* Reader state: the text is an arena copy that tokens point into. */
	char *pos, *end;
	uint32_t line;
	char **tok;
	uint32_t n_tok, tok_cap;

	VEC(struct sp_struct *) structs;
	VEC(struct sp_header *) headers;
	VEC(struct sp_action *) actions;
	VEC(struct sp_table *) tables;
	struct sp_array_vec regarrays;
	struct sp_array_vec metarrays;
	VEC(struct sp_extobj *) extobjs;
	const char *metadata_type;
	struct sp_struct *metadata;
	uint32_t metadata_line;
	struct sp_code *apply;
	uint32_t apply_line;
};

/* ---- Errors and small helpers --------------------------------------------- */

static int spec_err(struct spec *sp, uint32_t line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int spec_err(struct spec *sp, uint32_t line, int code, const char *fmt, ...)
{
	char msg[IPDK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ipdk_err_set(sp->err, code, "%s:%u: %s", sp->name, line ? line : 1, msg);
}

static int spec_oom(struct spec *sp)
{
	return spec_err(sp, sp->line, -ENOMEM, "out of memory");
}

static void *spec_zalloc(struct spec *sp, size_t n)
{
	void *p = arena_alloc(&sp->arena, n);

	if (!p)
		spec_oom(sp);
	return p;
}

static char *spec_join(struct spec *sp, char **tok, uint32_t n)
{
	size_t len = 1;
	char *s, *p;
	uint32_t i;

	for (i = 0; i < n; i++)
		len += strlen(tok[i]) + 1;
	s = spec_zalloc(sp, len);
	if (!s)
		return NULL;
	for (i = 0, p = s; i < n; i++) {
		if (i)
			*p++ = ' ';
		p = stpcpy(p, tok[i]);
	}
	return s;
}

static bool is_name(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* Checks a declared name: DPDK keeps names in RTE_SWX_NAME_SIZE buffers and
 * looks them up as plain identifiers. */
static int check_name(struct spec *sp, const char *what, const char *name)
{
	if (!is_name(name))
		return spec_err(sp, sp->line, -EINVAL, "%s: bad name \"%s\"", what, name);
	if (strlen(name) >= RTE_SWX_NAME_SIZE)
		return spec_err(sp, sp->line, -ENAMETOOLONG,
				"%s %s: name longer than %d characters", what, name,
				RTE_SWX_NAME_SIZE - 1);
	return 0;
}

/* Numbers follow strtoull base 0 like DPDK's own parser (so 0x.. is hex), but
 * signs, trailing text and overflow are errors rather than silent values. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && !*end;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* ---- Reader ---------------------------------------------------------------- */

static void strip_comment(char *s)
{
	char *semi = strchr(s, ';'), *slashes = strstr(s, "//");

	if (semi)
		*semi = '\0';
	if (slashes && (!semi || slashes < semi))
		*slashes = '\0';
}

/* Moves to the next line that has tokens. Returns 1 with sp->tok filled, 0 at
 * the end of the text, or a negative errno. */
static int next_line(struct spec *sp)
{
	while (sp->pos < sp->end) {
		char *s = sp->pos, *nl = memchr(s, '\n', sp->end - s);
		char *save, *t;

		if (nl) {
			*nl = '\0';
			sp->pos = nl + 1;
		} else {
			sp->pos = sp->end;
		}
		sp->line++;
		strip_comment(s);
		sp->n_tok = 0;
		for (t = strtok_r(s, " \t\r\f\v", &save); t; t = strtok_r(NULL, " \t\r\f\v", &save)) {
			if (sp->n_tok == sp->tok_cap) {
				uint32_t ncap = sp->tok_cap ? sp->tok_cap * 2 : 32;
				char **nt = realloc(sp->tok, ncap * sizeof(*nt));

				if (!nt)
					return spec_oom(sp);
				sp->tok = nt;
				sp->tok_cap = ncap;
			}
			sp->tok[sp->n_tok++] = t;
		}
		if (sp->n_tok)
			return 1;
	}
	return 0;
}

static bool line_opens_block(struct spec *sp)
{
	return !strcmp(sp->tok[sp->n_tok - 1], "{");
}

/* Reads the next line of the block described by what (opened at line open).
 * Returns 1 for a line of the block, 0 once its closing brace is read. */
static int block_next(struct spec *sp, const char *what, uint32_t open)
{
	int rc = next_line(sp);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return spec_err(sp, sp->line, -EINVAL,
				"unexpected end of file inside %s (opened at line %u)", what, open);
	if (!strcmp(sp->tok[0], "}")) {
		if (sp->n_tok > 1)
			return spec_err(sp, sp->line, -EINVAL, "%s: unexpected text after \"}\"",
					what);
		return 0;
	}
	return 1;
}

static int missing_close(struct spec *sp, const char *what, uint32_t open)
{
	return spec_err(sp, sp->line, -EINVAL,
			"%s: missing \"}\" before this line (block opened at line %u)", what, open);
}

/* ---- Parser: declarations ------------------------------------------------- */

static int parse_field_type(struct spec *sp, struct sp_struct *st, const char *type,
			    uint32_t *n_bits, bool *varbit)
{
	const char *p = type;
	char *end;
	unsigned long long v;

	*varbit = false;
	if (!strncmp(p, "varbit<", 7)) {
		*varbit = true;
		p += 7;
	} else if (!strncmp(p, "bit<", 4)) {
		p += 4;
	} else {
		return spec_err(sp, sp->line, -EINVAL,
				"struct %s: bad field type \"%s\" (expected bit<N> or varbit<N>)",
				st->name, type);
	}
	if (!isdigit((unsigned char)*p))
		return spec_err(sp, sp->line, -EINVAL, "struct %s: bad field width \"%s\"",
				st->name, type);
	errno = 0;
	v = strtoull(p, &end, 10);
	if (strcmp(end, ">"))
		return spec_err(sp, sp->line, -EINVAL, "struct %s: bad field width \"%s\"",
				st->name, type);
	if (errno || v == 0 || v > SPEC_FIELD_BITS_MAX)
		return spec_err(sp, sp->line, -ERANGE,
				"struct %s: field width %s out of range (8 to %u bits)",
				st->name, type, SPEC_FIELD_BITS_MAX);
	if (v % 8)
		return spec_err(sp, sp->line, -EINVAL,
				"struct %s: field width %s is not a multiple of 8 bits",
				st->name, type);
	*n_bits = (uint32_t)v;
	return 0;
}

static int parse_struct(struct spec *sp)
{
	struct sp_struct *st;
	char what[128];
	uint32_t open = sp->line;
	int rc;

	if (sp->n_tok != 3 || !line_opens_block(sp))
		return spec_err(sp, sp->line, -EINVAL, "expected \"struct NAME {\"");
	rc = check_name(sp, "struct", sp->tok[1]);
	if (rc)
		return rc;
	st = spec_zalloc(sp, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->name = sp->tok[1];
	st->line = open;
	rc = VEC_PUSH(sp, sp->structs, st);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "struct %s", st->name);

	while ((rc = block_next(sp, what, open)) > 0) {
		struct sp_field f = { .line = sp->line };
		bool varbit;
		uint32_t i;

		if (line_opens_block(sp))
			return missing_close(sp, what, open);
		if (sp->n_tok != 2)
			return spec_err(sp, sp->line, -EINVAL,
					"%s: expected \"bit<N> NAME\" or \"varbit<N> NAME\"", what);
		if (st->varbit)
			return spec_err(sp, sp->line, -EINVAL,
					"%s: the varbit field must be the last field", what);
		rc = parse_field_type(sp, st, sp->tok[0], &f.n_bits, &varbit);
		if (rc)
			return rc;
		f.varbit = varbit;
		rc = check_name(sp, what, sp->tok[1]);
		if (rc)
			return rc;
		f.name = sp->tok[1];
		for (i = 0; i < st->fields.n; i++)
			if (!strcmp(st->fields.v[i].name, f.name))
				return spec_err(sp, sp->line, -EEXIST,
						"%s: duplicate field %s (first at line %u)", what,
						f.name, st->fields.v[i].line);
		rc = VEC_PUSH(sp, st->fields, f);
		if (rc)
			return rc;
		st->varbit = varbit;
	}
	if (rc < 0)
		return rc;
	if (!st->fields.n)
		return spec_err(sp, open, -EINVAL, "%s: no fields", what);
	return 0;
}

static int parse_header(struct spec *sp)
{
	struct sp_header *h;
	int rc;

	if (sp->n_tok != 4 || strcmp(sp->tok[2], "instanceof"))
		return spec_err(sp, sp->line, -EINVAL, "expected \"header NAME instanceof STRUCT\"");
	rc = check_name(sp, "header", sp->tok[1]);
	if (rc)
		return rc;
	h = spec_zalloc(sp, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->name = sp->tok[1];
	h->type = sp->tok[3];
	h->line = sp->line;
	return VEC_PUSH(sp, sp->headers, h);
}

static int parse_metadata(struct spec *sp)
{
	if (sp->n_tok != 3 || strcmp(sp->tok[1], "instanceof"))
		return spec_err(sp, sp->line, -EINVAL, "expected \"metadata instanceof STRUCT\"");
	if (sp->metadata_type)
		return spec_err(sp, sp->line, -EEXIST,
				"metadata declared twice (first at line %u)", sp->metadata_line);
	sp->metadata_type = sp->tok[2];
	sp->metadata_line = sp->line;
	return 0;
}

/* Reads the instruction lines of an action or apply block. */
static int parse_code(struct spec *sp, struct sp_code *code, const char *what, uint32_t open)
{
	int rc;

	while ((rc = block_next(sp, what, open)) > 0) {
		struct sp_instr in = { .line = sp->line, .n_tok = sp->n_tok };

		if (line_opens_block(sp))
			return missing_close(sp, what, open);
		in.tok = spec_zalloc(sp, sp->n_tok * sizeof(char *));
		if (!in.tok)
			return -ENOMEM;
		memcpy(in.tok, sp->tok, sp->n_tok * sizeof(char *));
		in.text = spec_join(sp, sp->tok, sp->n_tok);
		if (!in.text)
			return -ENOMEM;
		if (strlen(in.text) >= RTE_SWX_INSTRUCTION_SIZE)
			return spec_err(sp, sp->line, -E2BIG,
					"%s: instruction longer than %d characters", what,
					RTE_SWX_INSTRUCTION_SIZE - 1);
		if (in.n_tok > RTE_SWX_INSTRUCTION_TOKENS_MAX)
			return spec_err(sp, sp->line, -E2BIG,
					"%s: instruction has more than %d words", what,
					RTE_SWX_INSTRUCTION_TOKENS_MAX);
		rc = VEC_PUSH(sp, code->instr, in);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!code->instr.n)
		return spec_err(sp, open, -EINVAL, "%s: no instructions", what);
	return 0;
}

static int parse_action(struct spec *sp)
{
	struct sp_action *a;
	char what[128];
	int rc;

	if (!((sp->n_tok == 5 && !strcmp(sp->tok[2], "args") && !strcmp(sp->tok[3], "none") &&
	       line_opens_block(sp)) ||
	      (sp->n_tok == 6 && !strcmp(sp->tok[2], "args") &&
	       !strcmp(sp->tok[3], "instanceof") && line_opens_block(sp))))
		return spec_err(sp, sp->line, -EINVAL,
				"expected \"action NAME args none {\" or "
				"\"action NAME args instanceof STRUCT {\"");
	rc = check_name(sp, "action", sp->tok[1]);
	if (rc)
		return rc;
	a = spec_zalloc(sp, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->name = sp->tok[1];
	a->args_type = sp->n_tok == 6 ? sp->tok[4] : NULL;
	a->line = sp->line;
	rc = VEC_PUSH(sp, sp->actions, a);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "action %s", a->name);
	return parse_code(sp, &a->code, what, a->line);
}

static int parse_apply(struct spec *sp)
{
	if (sp->n_tok != 2 || !line_opens_block(sp))
		return spec_err(sp, sp->line, -EINVAL, "expected \"apply {\"");
	if (sp->apply)
		return spec_err(sp, sp->line, -EEXIST,
				"second apply block (the first is at line %u)", sp->apply_line);
	sp->apply = spec_zalloc(sp, sizeof(*sp->apply));
	if (!sp->apply)
		return -ENOMEM;
	sp->apply_line = sp->line;
	return parse_code(sp, sp->apply, "apply", sp->apply_line);
}

static int parse_array(struct spec *sp, bool regs)
{
	const char *kw = regs ? "regarray" : "metarray";
	struct sp_array *a;
	int rc;

	if (regs ? (sp->n_tok != 6 || strcmp(sp->tok[2], "size") || strcmp(sp->tok[4], "initval"))
		 : (sp->n_tok != 4 || strcmp(sp->tok[2], "size")))
		return spec_err(sp, sp->line, -EINVAL,
				regs ? "expected \"regarray NAME size SIZE initval VALUE\""
				     : "expected \"metarray NAME size SIZE\"");
	rc = check_name(sp, kw, sp->tok[1]);
	if (rc)
		return rc;
	a = spec_zalloc(sp, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->name = sp->tok[1];
	a->line = sp->line;
	if (!parse_u32(sp->tok[3], &a->size) || !a->size)
		return spec_err(sp, sp->line, -EINVAL,
				"%s %s: bad size \"%s\" (expected a number from 1 to %u)", kw,
				a->name, sp->tok[3], UINT32_MAX);
	if (regs && !parse_u64(sp->tok[5], &a->initval))
		return spec_err(sp, sp->line, -EINVAL, "regarray %s: bad initval \"%s\"",
				a->name, sp->tok[5]);
	return regs ? VEC_PUSH(sp, sp->regarrays, a) : VEC_PUSH(sp, sp->metarrays, a);
}

static int parse_extobj(struct spec *sp)
{
	struct sp_extobj *e;
	int rc;

	if (!((sp->n_tok == 4 || sp->n_tok == 6) && !strcmp(sp->tok[2], "instanceof") &&
	      (sp->n_tok == 4 || !strcmp(sp->tok[4], "pragma"))))
		return spec_err(sp, sp->line, -EINVAL,
				"expected \"extobj NAME instanceof TYPE [pragma ARGS]\"");
	rc = check_name(sp, "extobj", sp->tok[1]);
	if (rc)
		return rc;
	e = spec_zalloc(sp, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = sp->tok[1];
	e->type = sp->tok[3];
	e->pragma = sp->n_tok == 6 ? sp->tok[5] : NULL;
	e->line = sp->line;
	return VEC_PUSH(sp, sp->extobjs, e);
}

/* ---- Parser: tables, selectors, learners --------------------------------- */

static const char *table_kind_name(enum sp_table_kind kind)
{
	return kind == SP_TABLE ? "table" : kind == SP_SELECTOR ? "selector" : "learner";
}

static int open_sub_block(struct spec *sp, const char *what, const char *kw)
{
	if (sp->n_tok != 2 || !line_opens_block(sp))
		return spec_err(sp, sp->line, -EINVAL, "%s: expected \"%s {\"", what, kw);
	return 0;
}

/* Table and learner keys ("FIELD MATCH" / "FIELD") and selector fields ("FIELD"). */
static int parse_keys(struct spec *sp, struct sp_table *t, const char *what, const char *kw)
{
	char sub[192];
	uint32_t open = sp->line;
	int rc = open_sub_block(sp, what, kw);

	if (rc)
		return rc;
	snprintf(sub, sizeof(sub), "%s block of %s", kw, what);
	while ((rc = block_next(sp, sub, open)) > 0) {
		struct sp_key k = { .field = sp->tok[0], .line = sp->line,
				    .match = RTE_SWX_TABLE_MATCH_EXACT };

		if (line_opens_block(sp))
			return missing_close(sp, sub, open);
		if (t->kind == SP_TABLE) {
			if (sp->n_tok != 2)
				return spec_err(sp, sp->line, -EINVAL,
						"%s: expected \"FIELD exact|wildcard|lpm\"", sub);
			if (!strcmp(sp->tok[1], "wildcard"))
				k.match = RTE_SWX_TABLE_MATCH_WILDCARD;
			else if (!strcmp(sp->tok[1], "lpm"))
				k.match = RTE_SWX_TABLE_MATCH_LPM;
			else if (strcmp(sp->tok[1], "exact"))
				return spec_err(sp, sp->line, -EINVAL,
						"%s: unknown match type \"%s\" (exact, wildcard "
						"or lpm)", what, sp->tok[1]);
		} else if (sp->n_tok != 1) {
			return spec_err(sp, sp->line, -EINVAL, "%s: expected one field per line",
					sub);
		}
		rc = VEC_PUSH(sp, t->keys, k);
		if (rc)
			return rc;
	}
	return rc;
}

static int parse_actions_list(struct spec *sp, struct sp_table *t, const char *what)
{
	char sub[192];
	uint32_t open = sp->line;
	int rc = open_sub_block(sp, what, "actions");

	if (rc)
		return rc;
	snprintf(sub, sizeof(sub), "actions block of %s", what);
	while ((rc = block_next(sp, sub, open)) > 0) {
		struct sp_aref r = { .name = sp->tok[0], .line = sp->line,
				     .for_entries = true, .for_default = true };

		if (line_opens_block(sp))
			return missing_close(sp, sub, open);
		if (sp->n_tok > 2)
			return spec_err(sp, sp->line, -EINVAL,
					"%s: expected \"ACTION [@tableonly|@defaultonly]\"", sub);
		if (sp->n_tok == 2) {
			if (!strcmp(sp->tok[1], "@tableonly"))
				r.for_default = false;
			else if (!strcmp(sp->tok[1], "@defaultonly"))
				r.for_entries = false;
			else
				return spec_err(sp, sp->line, -EINVAL,
						"%s: unknown action annotation \"%s\" "
						"(@tableonly or @defaultonly)", what, sp->tok[1]);
		}
		rc = VEC_PUSH(sp, t->actions, r);
		if (rc)
			return rc;
	}
	return rc;
}

static int parse_timeouts(struct spec *sp, struct sp_table *t, const char *what)
{
	char sub[192];
	uint32_t open = sp->line;
	int rc = open_sub_block(sp, what, "timeout");

	if (rc)
		return rc;
	t->timeout_line = open;
	snprintf(sub, sizeof(sub), "timeout block of %s", what);
	while ((rc = block_next(sp, sub, open)) > 0) {
		uint32_t v;

		if (line_opens_block(sp))
			return missing_close(sp, sub, open);
		if (sp->n_tok != 1 || !parse_u32(sp->tok[0], &v) || !v)
			return spec_err(sp, sp->line, -EINVAL,
					"%s: bad timeout \"%s\" (expected seconds, one per line)",
					what, sp->tok[0]);
		rc = VEC_PUSH(sp, t->timeouts, v);
		if (rc)
			return rc;
	}
	return rc;
}

static int parse_default_action(struct spec *sp, struct sp_table *t, const char *what)
{
	uint32_t n = sp->n_tok;

	if (t->def_name)
		return spec_err(sp, sp->line, -EEXIST,
				"%s: second default_action (the first is at line %u)", what,
				t->def_line);
	if (n < 4 || strcmp(sp->tok[2], "args"))
		return spec_err(sp, sp->line, -EINVAL,
				"%s: expected \"default_action NAME args none|ARG VALUE ... "
				"[const]\"", what);
	t->def_name = sp->tok[1];
	t->def_line = sp->line;
	if (!strcmp(sp->tok[n - 1], "const")) {
		t->def_const = true;
		n--;
	}
	if (!strcmp(sp->tok[3], "none")) {
		if (n != 4)
			return spec_err(sp, sp->line, -EINVAL,
					"%s: unexpected text after \"args none\"", what);
		return 0;
	}
	if ((n - 3) % 2)
		return spec_err(sp, sp->line, -EINVAL,
				"%s: default action arguments must be ARG VALUE pairs", what);
	t->n_def_args = n - 3;
	t->def_args = spec_zalloc(sp, t->n_def_args * sizeof(char *));
	if (!t->def_args)
		return -ENOMEM;
	memcpy(t->def_args, &sp->tok[3], t->n_def_args * sizeof(char *));
	return 0;
}

static int parse_u32_stmt(struct spec *sp, const char *what, uint32_t *out, bool nonzero)
{
	if (sp->n_tok != 2)
		return spec_err(sp, sp->line, -EINVAL, "%s: expected \"%s NUMBER\"", what,
				sp->tok[0]);
	if (!parse_u32(sp->tok[1], out) || (nonzero && !*out))
		return spec_err(sp, sp->line, -EINVAL,
				"%s: bad number \"%s\" in %s (expected %u to %u)", what, sp->tok[1],
				sp->tok[0], nonzero ? 1 : 0, UINT32_MAX);
	return 0;
}

static int parse_word_stmt(struct spec *sp, const char *what, const char **out)
{
	if (sp->n_tok != 2)
		return spec_err(sp, sp->line, -EINVAL, "%s: expected \"%s VALUE\"", what,
				sp->tok[0]);
	if (*out)
		return spec_err(sp, sp->line, -EEXIST, "%s: second %s statement", what,
				sp->tok[0]);
	*out = sp->tok[1];
	return 0;
}

static int parse_table_stmt(struct spec *sp, struct sp_table *t, const char *what)
{
	const char *kw = sp->tok[0];
	bool tbl = t->kind == SP_TABLE, lrn = t->kind == SP_LEARNER, sel = t->kind == SP_SELECTOR;

	if ((tbl || lrn) && !strcmp(kw, "key"))
		return parse_keys(sp, t, what, "key");
	if ((tbl || lrn) && !strcmp(kw, "actions"))
		return parse_actions_list(sp, t, what);
	if ((tbl || lrn) && !strcmp(kw, "default_action"))
		return parse_default_action(sp, t, what);
	if ((tbl || lrn) && !strcmp(kw, "hash")) {
		t->hash_line = sp->line;
		return parse_word_stmt(sp, what, &t->hash);
	}
	if ((tbl || lrn) && !strcmp(kw, "size"))
		return parse_u32_stmt(sp, what, &t->size, lrn);
	if (tbl && !strcmp(kw, "instanceof"))
		return parse_word_stmt(sp, what, &t->type);
	if (tbl && !strcmp(kw, "pragma"))
		return parse_word_stmt(sp, what, &t->pragma);
	if (lrn && !strcmp(kw, "timeout"))
		return parse_timeouts(sp, t, what);
	if (sel && !strcmp(kw, "selector"))
		return parse_keys(sp, t, what, "selector");
	if (sel && !strcmp(kw, "group_id")) {
		t->group_id_line = sp->line;
		return parse_word_stmt(sp, what, &t->group_id);
	}
	if (sel && !strcmp(kw, "member_id")) {
		t->member_id_line = sp->line;
		return parse_word_stmt(sp, what, &t->member_id);
	}
	if (sel && !strcmp(kw, "n_groups_max"))
		return parse_u32_stmt(sp, what, &t->n_groups_max, true);
	if (sel && !strcmp(kw, "n_members_per_group_max"))
		return parse_u32_stmt(sp, what, &t->n_members_max, true);
	if (line_opens_block(sp))
		return missing_close(sp, what, t->line);
	return spec_err(sp, sp->line, -EINVAL, "%s: unknown statement \"%s\"", what, kw);
}

static int parse_table(struct spec *sp, enum sp_table_kind kind)
{
	const char *kw = table_kind_name(kind);
	struct sp_table *t;
	char what[128];
	int rc;

	if (sp->n_tok != 3 || !line_opens_block(sp))
		return spec_err(sp, sp->line, -EINVAL, "expected \"%s NAME {\"", kw);
	rc = check_name(sp, kw, sp->tok[1]);
	if (rc)
		return rc;
	t = spec_zalloc(sp, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->kind = kind;
	t->name = sp->tok[1];
	t->line = sp->line;
	rc = VEC_PUSH(sp, sp->tables, t);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "%s %s", kw, t->name);
	while ((rc = block_next(sp, what, t->line)) > 0) {
		rc = parse_table_stmt(sp, t, what);
		if (rc)
			return rc;
	}
	return rc;
}

static int parse_top(struct spec *sp)
{
	const char *kw = sp->tok[0];

	if (!strcmp(kw, "struct"))
		return parse_struct(sp);
	if (!strcmp(kw, "header"))
		return parse_header(sp);
	if (!strcmp(kw, "metadata"))
		return parse_metadata(sp);
	if (!strcmp(kw, "action"))
		return parse_action(sp);
	if (!strcmp(kw, "table"))
		return parse_table(sp, SP_TABLE);
	if (!strcmp(kw, "selector"))
		return parse_table(sp, SP_SELECTOR);
	if (!strcmp(kw, "learner"))
		return parse_table(sp, SP_LEARNER);
	if (!strcmp(kw, "regarray"))
		return parse_array(sp, true);
	if (!strcmp(kw, "metarray"))
		return parse_array(sp, false);
	if (!strcmp(kw, "extobj"))
		return parse_extobj(sp);
	if (!strcmp(kw, "apply"))
		return parse_apply(sp);
	if (!strcmp(kw, "}"))
		return spec_err(sp, sp->line, -EINVAL, "unexpected \"}\" (no block is open)");
	return spec_err(sp, sp->line, -EINVAL, "unknown keyword \"%s\"", kw);
}

static int parse_all(struct spec *sp)
{
	int rc;

	while ((rc = next_line(sp)) > 0) {
		rc = parse_top(sp);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (!sp->apply)
		return spec_err(sp, sp->line, -EINVAL,
				sp->structs.n || sp->actions.n || sp->tables.n || sp->metadata_type
				? "no apply block" : "empty spec: no apply block");
	return 0;
}

/* ---- Checks ---------------------------------------------------------------- */

static struct sp_struct *find_struct(struct spec *sp, const char *name)
{
	for (uint32_t i = 0; i < sp->structs.n; i++)
		if (!strcmp(sp->structs.v[i]->name, name))
			return sp->structs.v[i];
	return NULL;
}

static struct sp_header *find_header(struct spec *sp, const char *name)
{
	for (uint32_t i = 0; i < sp->headers.n; i++)
		if (!strcmp(sp->headers.v[i]->name, name))
			return sp->headers.v[i];
	return NULL;
}

static struct sp_action *find_action(struct spec *sp, const char *name)
{
	for (uint32_t i = 0; i < sp->actions.n; i++)
		if (!strcmp(sp->actions.v[i]->name, name))
			return sp->actions.v[i];
	return NULL;
}

static struct sp_table *find_table(struct spec *sp, const char *name)
{
	for (uint32_t i = 0; i < sp->tables.n; i++)
		if (!strcmp(sp->tables.v[i]->name, name))
			return sp->tables.v[i];
	return NULL;
}

static struct sp_array *find_array(const struct sp_array_vec *vec, const char *name)
{
	for (uint32_t i = 0; i < vec->n; i++)
		if (!strcmp(vec->v[i]->name, name))
			return vec->v[i];
	return NULL;
}

static struct sp_extobj *find_extobj(struct spec *sp, const char *name)
{
	for (uint32_t i = 0; i < sp->extobjs.n; i++)
		if (!strcmp(sp->extobjs.v[i]->name, name))
			return sp->extobjs.v[i];
	return NULL;
}

/* DPDK has no call to look a hash function up. Registering a name without a
 * function answers -EEXIST for a known name and -EINVAL for an unknown one,
 * registering nothing; jhash, which DPDK always has, shows whether this DPDK
 * answers so, and if it does not we leave the check to DPDK. */
static bool hash_func_unknown(struct spec *sp, const char *name)
{
	if (!sp->p || rte_swx_pipeline_hash_func_register(sp->p, "jhash", NULL) != -EEXIST)
		return false;
	return rte_swx_pipeline_hash_func_register(sp->p, name, NULL) == -EINVAL;
}

static const struct sp_field *find_field(const struct sp_struct *st, const char *name)
{
	for (uint32_t i = 0; i < st->fields.n; i++)
		if (!strcmp(st->fields.v[i].name, name))
			return &st->fields.v[i];
	return NULL;
}

static int check_structs(struct spec *sp)
{
	for (uint32_t i = 0; i < sp->structs.n; i++) {
		struct sp_struct *st = sp->structs.v[i];
		struct sp_struct *first = find_struct(sp, st->name);

		if (first != st)
			return spec_err(sp, st->line, -EEXIST,
					"duplicate struct %s (first declared at line %u)",
					st->name, first->line);
	}
	return 0;
}

static int check_headers(struct spec *sp)
{
	for (uint32_t i = 0; i < sp->headers.n; i++) {
		struct sp_header *h = sp->headers.v[i];
		struct sp_header *first = find_header(sp, h->name);

		if (first != h)
			return spec_err(sp, h->line, -EEXIST,
					"duplicate header %s (first declared at line %u)",
					h->name, first->line);
		h->st = find_struct(sp, h->type);
		if (!h->st)
			return spec_err(sp, h->line, -ENOENT, "header %s: undefined struct %s",
					h->name, h->type);
	}
	return 0;
}

static int check_metadata(struct spec *sp)
{
	if (!sp->metadata_type)
		return 0;
	sp->metadata = find_struct(sp, sp->metadata_type);
	if (!sp->metadata)
		return spec_err(sp, sp->metadata_line, -ENOENT, "metadata: undefined struct %s",
				sp->metadata_type);
	if (sp->metadata->varbit)
		return spec_err(sp, sp->metadata_line, -EINVAL,
				"metadata: struct %s has a varbit field (only headers may)",
				sp->metadata_type);
	return 0;
}

static int check_arrays_and_extobjs(struct spec *sp)
{
	for (uint32_t i = 0; i < sp->regarrays.n; i++) {
		struct sp_array *a = sp->regarrays.v[i], *first = find_array(&sp->regarrays, a->name);

		if (first != a)
			return spec_err(sp, a->line, -EEXIST,
					"duplicate regarray %s (first declared at line %u)",
					a->name, first->line);
	}
	for (uint32_t i = 0; i < sp->metarrays.n; i++) {
		struct sp_array *a = sp->metarrays.v[i], *first = find_array(&sp->metarrays, a->name);

		if (first != a)
			return spec_err(sp, a->line, -EEXIST,
					"duplicate metarray %s (first declared at line %u)",
					a->name, first->line);
	}
	for (uint32_t i = 0; i < sp->extobjs.n; i++) {
		struct sp_extobj *e = sp->extobjs.v[i], *first = find_extobj(sp, e->name);

		if (first != e)
			return spec_err(sp, e->line, -EEXIST,
					"duplicate extobj %s (first declared at line %u)",
					e->name, first->line);
	}
	return 0;
}

/* ---- Checks: instructions -------------------------------------------------- */

enum op_where { OP_ANY, OP_APPLY, OP_ACTION };

/* What each operand is, where a check needs to know: a label, or the name of
 * a table, action, register array, meter array or hash function. A_NONE is a
 * field reference or an immediate value. */
enum op_arg { A_NONE, A_LABEL, A_TABLE, A_ACTION, A_REGARRAY, A_METARRAY, A_HASHFUNC };

struct op_info {
	const char *name;
	uint8_t min, max;
	enum op_where where;
	enum op_arg arg[2];   /* kinds of operands 1 and 2 when they are names */
};

/* DPDK 22.11's instruction set (rte_swx_pipeline.h and the pipeline examples),
 * with the places DPDK accepts each instruction in. */
static const struct op_info op_table[] = {
	{ "rx", 1, 1, OP_APPLY, { A_NONE } },
	{ "tx", 1, 1, OP_ANY, { A_NONE } },
	{ "drop", 0, 0, OP_ANY, { A_NONE } },
	{ "mirror", 2, 2, OP_ANY, { A_NONE } },
	{ "recirculate", 0, 0, OP_ANY, { A_NONE } },
	{ "recircid", 1, 1, OP_ANY, { A_NONE } },
	{ "extract", 1, 2, OP_APPLY, { A_NONE } },
	{ "lookahead", 1, 1, OP_APPLY, { A_NONE } },
	{ "emit", 1, 1, OP_ANY, { A_NONE } },
	{ "validate", 1, 1, OP_ANY, { A_NONE } },
	{ "invalidate", 1, 1, OP_ANY, { A_NONE } },
	{ "mov", 2, 2, OP_ANY, { A_NONE } },
	{ "add", 2, 2, OP_ANY, { A_NONE } },
	{ "sub", 2, 2, OP_ANY, { A_NONE } },
	{ "ckadd", 2, 2, OP_ANY, { A_NONE } },
	{ "cksub", 2, 2, OP_ANY, { A_NONE } },
	{ "and", 2, 2, OP_ANY, { A_NONE } },
	{ "or", 2, 2, OP_ANY, { A_NONE } },
	{ "xor", 2, 2, OP_ANY, { A_NONE } },
	{ "shl", 2, 2, OP_ANY, { A_NONE } },
	{ "shr", 2, 2, OP_ANY, { A_NONE } },
	{ "table", 1, 1, OP_APPLY, { A_TABLE } },
	{ "learn", 1, 3, OP_ACTION, { A_ACTION } },
	{ "rearm", 0, 1, OP_ACTION, { A_NONE } },
	{ "forget", 0, 0, OP_ACTION, { A_NONE } },
	{ "entryid", 1, 1, OP_ANY, { A_NONE } },
	{ "extern", 1, 1, OP_ANY, { A_NONE } },
	{ "hash", 4, 4, OP_ANY, { A_HASHFUNC } },
	{ "jmp", 1, 1, OP_ANY, { A_LABEL } },
	{ "jmpv", 2, 2, OP_ANY, { A_LABEL } },
	{ "jmpnv", 2, 2, OP_ANY, { A_LABEL } },
	{ "jmph", 1, 1, OP_APPLY, { A_LABEL } },
	{ "jmpnh", 1, 1, OP_APPLY, { A_LABEL } },
	{ "jmpa", 2, 2, OP_APPLY, { A_LABEL, A_ACTION } },
	{ "jmpna", 2, 2, OP_APPLY, { A_LABEL, A_ACTION } },
	{ "jmpeq", 3, 3, OP_ANY, { A_LABEL } },
	{ "jmpneq", 3, 3, OP_ANY, { A_LABEL } },
	{ "jmplt", 3, 3, OP_ANY, { A_LABEL } },
	{ "jmpgt", 3, 3, OP_ANY, { A_LABEL } },
	{ "return", 0, 0, OP_ACTION, { A_NONE } },
	{ "regprefetch", 2, 2, OP_ANY, { A_REGARRAY } },
	{ "regrd", 3, 3, OP_ANY, { A_NONE, A_REGARRAY } },
	{ "regwr", 3, 3, OP_ANY, { A_REGARRAY } },
	{ "regadd", 3, 3, OP_ANY, { A_REGARRAY } },
	{ "metprefetch", 2, 2, OP_ANY, { A_METARRAY } },
	{ "meter", 5, 5, OP_ANY, { A_METARRAY } },
};

static const struct op_info *find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (!strcmp(op_table[i].name, name))
			return &op_table[i];
	return NULL;
}

/* What an instruction is checked in: an action (with its argument struct) or
 * the apply block, and the labels that block defines. */
struct code_ctx {
	const char *what;
	struct sp_action *action;     /* NULL for apply */
	VEC(const char *) labels;
};

static int check_hdr_ref(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			 const char *ref, uint32_t *n_bits)
{
	const struct sp_field *f;
	const char *dot = strchr(ref + 2, '.');
	char hname[RTE_SWX_NAME_SIZE];
	size_t len = dot ? (size_t)(dot - (ref + 2)) : strlen(ref + 2);
	struct sp_header *h;

	if (!len || len >= sizeof(hname))
		return spec_err(sp, in->line, -EINVAL, "%s: bad header reference \"%s\"",
				cx->what, ref);
	memcpy(hname, ref + 2, len);
	hname[len] = '\0';
	h = find_header(sp, hname);
	if (!h)
		return spec_err(sp, in->line, -ENOENT, "%s: unknown header in \"%s\"",
				cx->what, ref);
	if (!dot)
		return 0;
	f = find_field(h->st, dot + 1);
	if (f)
		*n_bits = f->n_bits;
	else
		return spec_err(sp, in->line, -ENOENT,
				"%s: unknown field \"%s\" (header %s, struct %s, has no field %s)",
				cx->what, ref, h->name, h->st->name, dot + 1);
	return 0;
}

/* Checks a field or header reference; *n_bits gets the field's width (it is
 * left alone for headers and extern mailboxes, whose widths we do not know). */
static int check_operand(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			 const char *ref, uint32_t *n_bits)
{
	const struct sp_field *f;

	if (!strncmp(ref, "h.", 2))
		return check_hdr_ref(sp, cx, in, ref, n_bits);
	if (!strncmp(ref, "m.", 2)) {
		if (!sp->metadata)
			return spec_err(sp, in->line, -ENOENT,
					"%s: \"%s\" used but no metadata is declared", cx->what, ref);
		f = find_field(sp->metadata, ref + 2);
		if (f)
			*n_bits = f->n_bits;
		else
			return spec_err(sp, in->line, -ENOENT,
					"%s: unknown field \"%s\" (metadata struct %s has no "
					"field %s)", cx->what, ref, sp->metadata->name, ref + 2);
		return 0;
	}
	if (!strncmp(ref, "t.", 2)) {
		if (!cx->action)
			return spec_err(sp, in->line, -EINVAL,
					"%s: \"%s\": action arguments (t.) exist only inside "
					"actions", cx->what, ref);
		if (!cx->action->args)
			return spec_err(sp, in->line, -EINVAL,
					"%s: \"%s\" used but the action has no arguments",
					cx->what, ref);
		f = find_field(cx->action->args, ref + 2);
		if (f)
			*n_bits = f->n_bits;
		else
			return spec_err(sp, in->line, -ENOENT,
					"%s: unknown field \"%s\" (argument struct %s has no "
					"field %s)", cx->what, ref, cx->action->args->name, ref + 2);
		return 0;
	}
	if (!strncmp(ref, "e.", 2)) {
		const char *dot = strchr(ref + 2, '.');
		size_t len = dot ? (size_t)(dot - (ref + 2)) : strlen(ref + 2);

		for (uint32_t i = 0; i < sp->extobjs.n; i++)
			if (strlen(sp->extobjs.v[i]->name) == len &&
			    !strncmp(sp->extobjs.v[i]->name, ref + 2, len))
				return 0;
		return spec_err(sp, in->line, -ENOENT, "%s: unknown extern object in \"%s\"",
				cx->what, ref);
	}
	return 0;
}

static bool has_label(const struct code_ctx *cx, const char *label)
{
	for (uint32_t i = 0; i < cx->labels.n; i++)
		if (!strcmp(cx->labels.v[i], label))
			return true;
	return false;
}

static int check_named_arg(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			   const char *op, enum op_arg kind, const char *name)
{
	switch (kind) {
	case A_LABEL:
		if (!has_label(cx, name))
			return spec_err(sp, in->line, -ENOENT, "%s: %s to undefined label %s",
					cx->what, op, name);
		break;
	case A_TABLE:
		if (!find_table(sp, name))
			return spec_err(sp, in->line, -ENOENT, "%s: unknown table \"%s\"",
					cx->what, name);
		break;
	case A_ACTION:
		if (!find_action(sp, name))
			return spec_err(sp, in->line, -ENOENT, "%s: %s: unknown action \"%s\"",
					cx->what, op, name);
		break;
	case A_REGARRAY:
		if (!find_array(&sp->regarrays, name))
			return spec_err(sp, in->line, -ENOENT, "%s: %s: unknown regarray \"%s\"",
					cx->what, op, name);
		break;
	case A_METARRAY:
		if (!find_array(&sp->metarrays, name))
			return spec_err(sp, in->line, -ENOENT, "%s: %s: unknown metarray \"%s\"",
					cx->what, op, name);
		break;
	case A_HASHFUNC:
		if (hash_func_unknown(sp, name))
			return spec_err(sp, in->line, -ENOENT,
					"%s: %s: unknown hash function \"%s\"", cx->what, op,
					name);
		break;
	case A_NONE:
		break;
	}
	return 0;
}

static bool is_field_ref(const char *s)
{
	return s[0] && strchr("hmtef", s[0]) && s[1] == '.';
}

/* Immediates as DPDK reads them (strtoull base 0, so "-1" wraps around),
 * except that values past 64 bits are refused instead of clamped. */
static bool is_immediate(const char *s)
{
	uint64_t v;

	return parse_u64(s[0] == '-' ? s + 1 : s, &v);
}

/* DPDK 22.11 handles fields wider than 64 bits only in mov between two such
 * fields; hash and learn take field ranges, where any width goes. */
static int check_wide_fields(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			     const struct op_info *op, uint32_t first, uint32_t n_ops,
			     const uint32_t *bits)
{
	uint32_t i;

	if (!strcmp(op->name, "hash") || !strcmp(op->name, "learn"))
		return 0;
	if (!strcmp(op->name, "mov") && (bits[0] > 64 || bits[1] > 64)) {
		if (bits[0] > 64 && bits[1] > 64)
			return 0;
		i = bits[0] > 64 ? 0 : 1;
		return spec_err(sp, in->line, -EINVAL,
				"%s: mov: %s is %u bits wide, so the other operand must be a "
				"field wider than 64 bits too", cx->what, in->tok[first + i],
				bits[i]);
	}
	for (i = 0; i < n_ops; i++)
		if (bits[i] > 64)
			return spec_err(sp, in->line, -EINVAL,
					"%s: %s: %s is %u bits wide; %s works on fields of at "
					"most 64 bits", cx->what, op->name, in->tok[first + i],
					bits[i], op->name);
	return 0;
}

/* The header (and field, if any) of an h. reference already checked. */
static const struct sp_header *ref_header(struct spec *sp, const char *ref,
					  const struct sp_field **field)
{
	const char *dot = strchr(ref + 2, '.');
	size_t len = dot ? (size_t)(dot - (ref + 2)) : strlen(ref + 2);

	*field = NULL;
	for (uint32_t i = 0; i < sp->headers.n; i++) {
		const struct sp_header *h = sp->headers.v[i];

		if (strlen(h->name) == len && !strncmp(h->name, ref + 2, len)) {
			if (dot)
				*field = find_field(h->st, dot + 1);
			return h;
		}
	}
	return NULL;
}

/* Variable-size headers: DPDK extracts them only with an explicit size,
 * cannot look ahead at them or checksum them whole, and never lets an
 * instruction touch the varbit field itself. */
static int check_varbit(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			const struct op_info *op, uint32_t first, uint32_t n_ops)
{
	bool extract = !strcmp(op->name, "extract");

	for (uint32_t i = 0; i < n_ops; i++) {
		const char *ref = in->tok[first + i];
		const struct sp_field *f;
		const struct sp_header *h;

		if (strncmp(ref, "h.", 2) || !(h = ref_header(sp, ref, &f)))
			continue;
		if (f && f->varbit)
			return spec_err(sp, in->line, -EINVAL,
					"%s: %s: %s is a varbit field, which instructions cannot "
					"use", cx->what, op->name, ref);
		if (f || i)
			continue;
		if (extract && h->st->varbit && n_ops != 2)
			return spec_err(sp, in->line, -EINVAL,
					"%s: header %s has a varbit field, so extract needs its "
					"size: extract %s m.SIZE", cx->what, h->name, ref);
		if (extract && !h->st->varbit && n_ops == 2)
			return spec_err(sp, in->line, -EINVAL,
					"%s: header %s has no varbit field, so extract takes no "
					"size", cx->what, h->name);
		if (h->st->varbit && !strcmp(op->name, "lookahead"))
			return spec_err(sp, in->line, -EINVAL,
					"%s: lookahead cannot use header %s, which has a varbit "
					"field", cx->what, h->name);
	}
	if ((!strcmp(op->name, "ckadd") || !strcmp(op->name, "cksub")) && n_ops == 2 &&
	    !strncmp(in->tok[first + 1], "h.", 2)) {
		const struct sp_field *f;
		const struct sp_header *h = ref_header(sp, in->tok[first + 1], &f);

		if (h && !f && h->st->varbit)
			return spec_err(sp, in->line, -EINVAL,
					"%s: %s cannot sum header %s, which has a varbit field",
					cx->what, op->name, h->name);
	}
	return 0;
}

static bool is_header_only_ref(const char *ref)
{
	return !strncmp(ref, "h.", 2) && !strchr(ref + 2, '.');
}

/* Destinations must be writable fields: not numbers, not action arguments
 * (t.), not whole headers; rx writes only metadata, and only ckadd may read a
 * whole header. */
static int check_writable(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			  const struct op_info *op, uint32_t first, uint32_t n_ops)
{
	static const char *const alu[] = {
		"mov", "add", "sub", "ckadd", "cksub", "and", "or", "xor", "shl", "shr",
	};
	const char *dst = n_ops ? in->tok[first] : NULL;
	bool is_alu = false;

	if (!dst)
		return 0;
	if (!strcmp(op->name, "rx") && strncmp(dst, "m.", 2))
		return spec_err(sp, in->line, -EINVAL,
				"%s: rx: the input port goes into a metadata field (m.NAME), "
				"not \"%s\"", cx->what, dst);
	for (size_t i = 0; i < sizeof(alu) / sizeof(alu[0]); i++)
		is_alu |= !strcmp(op->name, alu[i]);
	if (!is_alu || n_ops != 2)
		return 0;
	if (!is_field_ref(dst) || !strncmp(dst, "t.", 2) || is_header_only_ref(dst))
		return spec_err(sp, in->line, -EINVAL,
				"%s: %s: cannot write to \"%s\" (the destination must be an "
				"h., m., e. or f. field)", cx->what, op->name, dst);
	if (strcmp(op->name, "ckadd") && is_header_only_ref(in->tok[first + 1]))
		return spec_err(sp, in->line, -EINVAL,
				"%s: %s: \"%s\" is a whole header; only ckadd takes one",
				cx->what, op->name, in->tok[first + 1]);
	return 0;
}

static int check_operands(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in,
			  const struct op_info *op, uint32_t first, uint32_t n_ops)
{
	uint32_t bits[RTE_SWX_INSTRUCTION_TOKENS_MAX] = { 0 };
	int rc;

	for (uint32_t i = 0; i < n_ops; i++) {
		const char *arg = in->tok[first + i];
		enum op_arg kind = i < 2 ? op->arg[i] : A_NONE;

		if (kind != A_NONE)
			rc = check_named_arg(sp, cx, in, op->name, kind, arg);
		else if (is_field_ref(arg))
			rc = check_operand(sp, cx, in, arg, &bits[i]);
		else if (!is_immediate(arg))
			rc = spec_err(sp, in->line, -EINVAL,
				      "%s: %s: bad operand \"%s\" (expected h.HEADER[.FIELD], "
				      "m.FIELD, t.FIELD, e.OBJECT... or a number)", cx->what,
				      op->name, arg);
		else
			rc = 0;
		if (rc)
			return rc;
	}
	rc = check_writable(sp, cx, in, op, first, n_ops);
	if (!rc)
		rc = check_varbit(sp, cx, in, op, first, n_ops);
	if (rc)
		return rc;
	return check_wide_fields(sp, cx, in, op, first, n_ops, bits);
}

/* Splits off a "LABEL :" prefix; returns the index of the opcode token. */
static uint32_t instr_opcode_index(const struct sp_instr *in)
{
	return in->n_tok >= 2 && !strcmp(in->tok[1], ":") ? 2 : 0;
}

static int check_instr(struct spec *sp, const struct code_ctx *cx, const struct sp_instr *in)
{
	uint32_t first = instr_opcode_index(in), n_ops;
	const struct op_info *op;
	const char *opname;

	if (first >= in->n_tok)
		return spec_err(sp, in->line, -EINVAL, "%s: label %s has no instruction",
				cx->what, in->tok[0]);
	opname = in->tok[first];
	n_ops = in->n_tok - first - 1;
	op = find_op(opname);
	if (!op) {
		size_t len = strlen(opname);

		if (len > 1 && opname[len - 1] == ':')
			return spec_err(sp, in->line, -EINVAL,
					"%s: write the label as \"%.*s : ...\" (with spaces "
					"around the colon)", cx->what, (int)len - 1, opname);
		return spec_err(sp, in->line, -EINVAL, "%s: unknown instruction \"%s\"",
				cx->what, opname);
	}
	if (op->where == OP_APPLY && cx->action)
		return spec_err(sp, in->line, -EINVAL,
				"%s: instruction %s is allowed only in the apply block", cx->what,
				opname);
	if (op->where == OP_ACTION && !cx->action)
		return spec_err(sp, in->line, -EINVAL,
				"%s: instruction %s is allowed only in actions", cx->what, opname);
	if (n_ops < op->min || n_ops > op->max) {
		if (op->min == op->max)
			return spec_err(sp, in->line, -EINVAL,
					"%s: %s takes %u operand%s, not %u", cx->what, opname,
					op->min, op->min == 1 ? "" : "s", n_ops);
		return spec_err(sp, in->line, -EINVAL, "%s: %s takes %u to %u operands, not %u",
				cx->what, opname, op->min, op->max, n_ops);
	}
	/* DPDK 22.11 runs "regadd R IDX VAL" with both IDX and VAL immediate on
	 * the first regarray, whatever R names. */
	if (!strcmp(opname, "regadd") && is_immediate(in->tok[first + 2]) &&
	    is_immediate(in->tok[first + 3]) && sp->regarrays.n &&
	    strcmp(in->tok[first + 1], sp->regarrays.v[0]->name))
		return spec_err(sp, in->line, -ENOTSUP,
				"%s: regadd %s %s %s: with an immediate index and value DPDK "
				"22.11 adds to the first regarray (%s), not to %s; put the index "
				"or the value in a field", cx->what, in->tok[first + 1],
				in->tok[first + 2], in->tok[first + 3],
				sp->regarrays.v[0]->name, in->tok[first + 1]);
	return check_operands(sp, cx, in, op, first + 1, n_ops);
}

static int check_code(struct spec *sp, struct sp_code *code, struct code_ctx *cx)
{
	bool terminal = false;
	uint32_t i;
	int rc;

	for (i = 0; i < code->instr.n; i++) {
		const struct sp_instr *in = &code->instr.v[i];

		if (!instr_opcode_index(in))
			continue;
		if (!is_name(in->tok[0]))
			return spec_err(sp, in->line, -EINVAL, "%s: bad label \"%s\"", cx->what,
					in->tok[0]);
		if (has_label(cx, in->tok[0]))
			return spec_err(sp, in->line, -EEXIST, "%s: label %s defined twice",
					cx->what, in->tok[0]);
		rc = VEC_PUSH(sp, cx->labels, in->tok[0]);
		if (rc)
			return rc;
	}
	for (i = 0; i < code->instr.n; i++) {
		const struct sp_instr *in = &code->instr.v[i];
		const char *op = in->tok[instr_opcode_index(in)];

		rc = check_instr(sp, cx, in);
		if (rc)
			return rc;
		if (!strcmp(op, "return") || !strcmp(op, "drop") || !strcmp(op, "tx"))
			terminal = true;
		if (!cx->action && i == 0 && strcmp(op, "rx"))
			return spec_err(sp, in->line, -EINVAL,
					"apply: the first instruction must be rx, not %s", op);
		if (!cx->action && i == code->instr.n - 1 && strcmp(op, "tx") &&
		    strcmp(op, "drop"))
			return spec_err(sp, in->line, -EINVAL,
					"apply: the last instruction must be tx or drop, not %s",
					op);
	}
	if (cx->action && !terminal)
		return spec_err(sp, cx->action->line, -EINVAL,
				"%s: no return, drop or tx instruction (an action must end "
				"in one)", cx->what);
	return 0;
}

static int check_actions(struct spec *sp)
{
	for (uint32_t i = 0; i < sp->actions.n; i++) {
		struct sp_action *a = sp->actions.v[i], *first = find_action(sp, a->name);
		struct code_ctx cx = { .action = a };
		char what[128];
		int rc;

		if (first != a)
			return spec_err(sp, a->line, -EEXIST,
					"duplicate action %s (first declared at line %u)",
					a->name, first->line);
		if (a->args_type) {
			a->args = find_struct(sp, a->args_type);
			if (!a->args)
				return spec_err(sp, a->line, -ENOENT,
						"action %s: undefined struct %s", a->name,
						a->args_type);
			if (a->args->varbit)
				return spec_err(sp, a->line, -EINVAL,
						"action %s: argument struct %s has a varbit field",
						a->name, a->args_type);
		}
		snprintf(what, sizeof(what), "action %s", a->name);
		cx.what = what;
		rc = check_code(sp, &a->code, &cx);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_apply(struct spec *sp)
{
	struct code_ctx cx = { .what = "apply" };

	return check_code(sp, sp->apply, &cx);
}

/* ---- Checks: tables --------------------------------------------------------- */

/* Resolves a key/selector field to the struct it lives in; DPDK wants all of
 * a table's fields in one header or all in the metadata. */
static int check_match_field(struct spec *sp, const char *what, const char *ref, uint32_t line,
			     const struct sp_struct **owner, const char **owner_name)
{
	const struct sp_struct *st = NULL;
	const char *field = NULL, *dot;
	char hname[RTE_SWX_NAME_SIZE];

	if (!strncmp(ref, "m.", 2)) {
		if (!sp->metadata)
			return spec_err(sp, line, -ENOENT,
					"%s: field \"%s\" used but no metadata is declared", what, ref);
		st = sp->metadata;
		field = ref + 2;
		*owner_name = "metadata";
	} else if (!strncmp(ref, "h.", 2) && (dot = strchr(ref + 2, '.')) &&
		   (size_t)(dot - ref - 2) < sizeof(hname)) {
		struct sp_header *h;

		memcpy(hname, ref + 2, dot - ref - 2);
		hname[dot - ref - 2] = '\0';
		h = find_header(sp, hname);
		if (!h)
			return spec_err(sp, line, -ENOENT, "%s: unknown header in field \"%s\"",
					what, ref);
		st = h->st;
		field = dot + 1;
		*owner_name = h->name;
	} else {
		return spec_err(sp, line, -EINVAL,
				"%s: bad field \"%s\" (expected h.HEADER.FIELD or m.FIELD)", what,
				ref);
	}
	if (!find_field(st, field))
		return spec_err(sp, line, -ENOENT, "%s: unknown field \"%s\" (struct %s has no "
				"field %s)", what, ref, st->name, field);
	if (*owner && *owner != st)
		return spec_err(sp, line, -EINVAL,
				"%s: field \"%s\" is not in the same header or metadata as the "
				"fields before it", what, ref);
	*owner = st;
	return 0;
}

static int check_keys(struct spec *sp, struct sp_table *t, const char *what)
{
	const struct sp_struct *owner = NULL;
	const char *owner_name = NULL;

	for (uint32_t i = 0; i < t->keys.n; i++) {
		int rc = check_match_field(sp, what, t->keys.v[i].field, t->keys.v[i].line,
					   &owner, &owner_name);

		if (rc)
			return rc;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(t->keys.v[j].field, t->keys.v[i].field))
				return spec_err(sp, t->keys.v[i].line, -EEXIST,
						"%s: field %s listed twice", what,
						t->keys.v[i].field);
	}
	return 0;
}

static int check_default_args(struct spec *sp, struct sp_table *t, const char *what,
			      const struct sp_action *a)
{
	uint32_t n_args = t->n_def_args / 2;

	if (!a->args) {
		if (n_args)
			return spec_err(sp, t->def_line, -EINVAL,
					"%s: default action %s takes no arguments (use \"args "
					"none\")", what, a->name);
		return 0;
	}
	if (n_args != a->args->fields.n)
		return spec_err(sp, t->def_line, -EINVAL,
				"%s: default action %s takes %u argument%s (struct %s), %u given",
				what, a->name, a->args->fields.n,
				a->args->fields.n == 1 ? "" : "s", a->args->name, n_args);
	for (uint32_t i = 0; i < n_args; i++) {
		const char *arg = t->def_args[2 * i], *val = t->def_args[2 * i + 1];
		const struct sp_field *f = find_field(a->args, arg);
		uint64_t v;

		if (!f)
			return spec_err(sp, t->def_line, -ENOENT,
					"%s: default action %s has no argument %s", what, a->name,
					arg);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(t->def_args[2 * j], arg))
				return spec_err(sp, t->def_line, -EEXIST,
						"%s: default action argument %s given twice",
						what, arg);
		if (f->n_bits <= 64 && !parse_u64(val, &v))
			return spec_err(sp, t->def_line, -EINVAL,
					"%s: bad number \"%s\" for argument %s", what, val, arg);
	}
	return 0;
}

static int check_table_actions(struct spec *sp, struct sp_table *t, const char *what)
{
	struct sp_aref *def = NULL;

	if (!t->actions.n)
		return spec_err(sp, t->line, -EINVAL, "%s: no actions", what);
	for (uint32_t i = 0; i < t->actions.n; i++) {
		struct sp_aref *r = &t->actions.v[i];

		r->a = find_action(sp, r->name);
		if (!r->a)
			return spec_err(sp, r->line, -ENOENT, "%s: unknown action \"%s\"", what,
					r->name);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(t->actions.v[j].name, r->name))
				return spec_err(sp, r->line, -EEXIST,
						"%s: action %s listed twice", what, r->name);
		if (t->def_name && !strcmp(r->name, t->def_name))
			def = r;
	}
	if (!t->def_name)
		return spec_err(sp, t->line, -EINVAL, "%s: no default_action", what);
	if (!def)
		return spec_err(sp, t->def_line, -ENOENT,
				find_action(sp, t->def_name)
				? "%s: default action \"%s\" is not in the actions list"
				: "%s: unknown action \"%s\"", what, t->def_name);
	if (!def->for_default)
		return spec_err(sp, t->def_line, -EINVAL,
				"%s: default action %s is marked @tableonly", what, def->name);
	return check_default_args(sp, t, what, def->a);
}

static int check_selector(struct spec *sp, struct sp_table *t, const char *what)
{
	const struct sp_struct *owner = NULL;
	const char *owner_name = NULL;
	int rc;

	if (!t->group_id)
		return spec_err(sp, t->line, -EINVAL, "%s: no group_id", what);
	if (!t->member_id)
		return spec_err(sp, t->line, -EINVAL, "%s: no member_id", what);
	if (!t->keys.n)
		return spec_err(sp, t->line, -EINVAL, "%s: no selector fields", what);
	if (!t->n_groups_max)
		return spec_err(sp, t->line, -EINVAL, "%s: no n_groups_max", what);
	if (!t->n_members_max)
		return spec_err(sp, t->line, -EINVAL, "%s: no n_members_per_group_max", what);
	if (strncmp(t->group_id, "m.", 2))
		return spec_err(sp, t->group_id_line, -EINVAL,
				"%s: group_id must be a metadata field (m.NAME)", what);
	rc = check_match_field(sp, what, t->group_id, t->group_id_line, &owner, &owner_name);
	if (rc)
		return rc;
	if (strncmp(t->member_id, "m.", 2))
		return spec_err(sp, t->member_id_line, -EINVAL,
				"%s: member_id must be a metadata field (m.NAME)", what);
	rc = check_match_field(sp, what, t->member_id, t->member_id_line, &owner, &owner_name);
	if (rc)
		return rc;
	return check_keys(sp, t, what);
}

static int check_tables(struct spec *sp)
{
	for (uint32_t i = 0; i < sp->tables.n; i++) {
		struct sp_table *t = sp->tables.v[i], *first = find_table(sp, t->name);
		char what[128];
		int rc;

		snprintf(what, sizeof(what), "%s %s", table_kind_name(t->kind), t->name);
		if (first != t)
			return spec_err(sp, t->line, -EEXIST,
					"duplicate %s %s (%s %s first declared at line %u)",
					table_kind_name(t->kind), t->name,
					table_kind_name(first->kind), first->name, first->line);
		if (t->kind == SP_SELECTOR) {
			rc = check_selector(sp, t, what);
		} else {
			rc = check_keys(sp, t, what);
			if (!rc && t->kind == SP_LEARNER && !t->keys.n)
				rc = spec_err(sp, t->line, -EINVAL, "%s: no key fields", what);
			if (!rc && t->kind == SP_LEARNER && !t->size)
				rc = spec_err(sp, t->line, -EINVAL, "%s: no size", what);
			if (!rc && t->kind == SP_LEARNER && !t->timeouts.n)
				rc = spec_err(sp, t->line, -EINVAL, "%s: no timeout block", what);
			if (!rc)
				rc = check_table_actions(sp, t, what);
			if (!rc && t->hash && hash_func_unknown(sp, t->hash))
				rc = spec_err(sp, t->hash_line, -ENOENT,
					      "%s: unknown hash function \"%s\"", what, t->hash);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Runs the checks; each kind is checked in turn, the first error wins. */
static int check_all(struct spec *sp)
{
	int rc;

	rc = check_structs(sp);
	if (!rc)
		rc = check_headers(sp);
	if (!rc)
		rc = check_metadata(sp);
	if (!rc)
		rc = check_arrays_and_extobjs(sp);
	if (!rc)
		rc = check_actions(sp);
	if (!rc)
		rc = check_tables(sp);
	if (!rc)
		rc = check_apply(sp);
	return rc;
}

/* ---- Configuring DPDK ------------------------------------------------------- */

static int dpdk_err(struct spec *sp, uint32_t line, int rc, const char *kind, const char *name)
{
	if (rc > 0 || rc < -4095)
		rc = -EINVAL;
	return spec_err(sp, line, rc, "%s%s%s: DPDK rejected it: %s", kind, name ? " " : "",
			name ? name : "", strerror(-rc));
}

static int config_structs(struct spec *sp, struct rte_swx_pipeline *p)
{
	for (uint32_t i = 0; i < sp->structs.n; i++) {
		struct sp_struct *st = sp->structs.v[i];
		struct rte_swx_field_params *f;
		int rc;

		f = spec_zalloc(sp, st->fields.n * sizeof(*f));
		if (!f)
			return -ENOMEM;
		for (uint32_t j = 0; j < st->fields.n; j++) {
			f[j].name = st->fields.v[j].name;
			f[j].n_bits = st->fields.v[j].n_bits;
		}
		rc = rte_swx_pipeline_struct_type_register(p, st->name, f, st->fields.n,
							   st->varbit);
		if (rc)
			return dpdk_err(sp, st->line, rc, "struct", st->name);
	}
	return 0;
}

static int config_decls(struct spec *sp, struct rte_swx_pipeline *p)
{
	uint32_t i;
	int rc;

	for (i = 0; i < sp->extobjs.n; i++) {
		struct sp_extobj *e = sp->extobjs.v[i];

		rc = rte_swx_pipeline_extern_object_config(p, e->name, e->type, e->pragma);
		if (rc)
			return spec_err(sp, e->line, rc < 0 ? rc : -EINVAL,
					"extobj %s: DPDK rejected it: %s (is extern type %s "
					"registered?)", e->name, strerror(rc < 0 ? -rc : EINVAL),
					e->type);
	}
	for (i = 0; i < sp->regarrays.n; i++) {
		struct sp_array *a = sp->regarrays.v[i];

		rc = rte_swx_pipeline_regarray_config(p, a->name, a->size, a->initval);
		if (rc)
			return dpdk_err(sp, a->line, rc, "regarray", a->name);
	}
	for (i = 0; i < sp->metarrays.n; i++) {
		struct sp_array *a = sp->metarrays.v[i];

		rc = rte_swx_pipeline_metarray_config(p, a->name, a->size);
		if (rc)
			return dpdk_err(sp, a->line, rc, "metarray", a->name);
	}
	rc = config_structs(sp, p);
	if (rc)
		return rc;
	for (i = 0; i < sp->headers.n; i++) {
		struct sp_header *h = sp->headers.v[i];

		rc = rte_swx_pipeline_packet_header_register(p, h->name, h->type);
		if (rc)
			return dpdk_err(sp, h->line, rc, "header", h->name);
	}
	if (sp->metadata_type) {
		rc = rte_swx_pipeline_packet_metadata_register(p, sp->metadata_type);
		if (rc)
			return dpdk_err(sp, sp->metadata_line, rc, "metadata", NULL);
	}
	return 0;
}

static const char **code_texts(struct spec *sp, const struct sp_code *code)
{
	const char **v = spec_zalloc(sp, code->instr.n * sizeof(*v));

	if (v)
		for (uint32_t i = 0; i < code->instr.n; i++)
			v[i] = code->instr.v[i].text;
	return v;
}

static int config_actions(struct spec *sp, struct rte_swx_pipeline *p)
{
	for (uint32_t i = 0; i < sp->actions.n; i++) {
		struct sp_action *a = sp->actions.v[i];
		const char **instr = code_texts(sp, &a->code);
		int rc;

		if (!instr)
			return -ENOMEM;
		rc = rte_swx_pipeline_action_config(p, a->name, a->args_type, instr,
						    a->code.instr.n);
		if (rc)
			return dpdk_err(sp, a->line, rc, "action", a->name);
	}
	return 0;
}

/* Action lists as DPDK's table and learner parameters want them. */
struct action_params {
	const char **names;
	int *for_entries, *for_default;
	char *default_args;
};

static int action_params_fill(struct spec *sp, const struct sp_table *t, struct action_params *ap)
{
	uint32_t n = t->actions.n;

	ap->names = spec_zalloc(sp, n * sizeof(*ap->names));
	ap->for_entries = spec_zalloc(sp, n * sizeof(int));
	ap->for_default = spec_zalloc(sp, n * sizeof(int));
	if (!ap->names || !ap->for_entries || !ap->for_default)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		ap->names[i] = t->actions.v[i].name;
		ap->for_entries[i] = t->actions.v[i].for_entries;
		ap->for_default[i] = t->actions.v[i].for_default;
	}
	ap->default_args = NULL;
	if (t->n_def_args) {
		ap->default_args = spec_join(sp, t->def_args, t->n_def_args);
		if (!ap->default_args)
			return -ENOMEM;
	}
	return 0;
}

static int config_table(struct spec *sp, struct rte_swx_pipeline *p, struct sp_table *t)
{
	struct rte_swx_pipeline_table_params tp = { 0 };
	struct action_params ap;
	int rc = action_params_fill(sp, t, &ap);

	if (rc)
		return rc;
	if (t->keys.n) {
		tp.fields = spec_zalloc(sp, t->keys.n * sizeof(*tp.fields));
		if (!tp.fields)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->keys.n; i++) {
			tp.fields[i].name = t->keys.v[i].field;
			tp.fields[i].match_type = t->keys.v[i].match;
		}
	}
	tp.n_fields = t->keys.n;
	tp.action_names = ap.names;
	tp.action_is_for_table_entries = ap.for_entries;
	tp.action_is_for_default_entry = ap.for_default;
	tp.n_actions = t->actions.n;
	tp.default_action_name = t->def_name;
	tp.default_action_args = ap.default_args;
	tp.default_action_is_const = t->def_const;
	tp.hash_func_name = t->hash;
	rc = rte_swx_pipeline_table_config(p, t->name, &tp, t->type, t->pragma, t->size);
	return rc ? dpdk_err(sp, t->line, rc, "table", t->name) : 0;
}

static int config_selector(struct spec *sp, struct rte_swx_pipeline *p, struct sp_table *t)
{
	struct rte_swx_pipeline_selector_params sel = { 0 };
	int rc;

	sel.selector_field_names = spec_zalloc(sp, t->keys.n * sizeof(char *));
	if (!sel.selector_field_names)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->keys.n; i++)
		sel.selector_field_names[i] = t->keys.v[i].field;
	sel.n_selector_fields = t->keys.n;
	sel.group_id_field_name = t->group_id;
	sel.member_id_field_name = t->member_id;
	sel.n_groups_max = t->n_groups_max;
	sel.n_members_per_group_max = t->n_members_max;
	rc = rte_swx_pipeline_selector_config(p, t->name, &sel);
	return rc ? dpdk_err(sp, t->line, rc, "selector", t->name) : 0;
}

static int config_learner(struct spec *sp, struct rte_swx_pipeline *p, struct sp_table *t)
{
	struct rte_swx_pipeline_learner_params lp = { 0 };
	struct action_params ap;
	int rc = action_params_fill(sp, t, &ap);

	if (rc)
		return rc;
	lp.field_names = spec_zalloc(sp, t->keys.n * sizeof(char *));
	if (!lp.field_names)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->keys.n; i++)
		lp.field_names[i] = t->keys.v[i].field;
	lp.n_fields = t->keys.n;
	lp.action_names = ap.names;
	lp.action_is_for_table_entries = ap.for_entries;
	lp.action_is_for_default_entry = ap.for_default;
	lp.n_actions = t->actions.n;
	lp.default_action_name = t->def_name;
	lp.default_action_args = ap.default_args;
	lp.default_action_is_const = t->def_const;
	lp.hash_func_name = t->hash;
	rc = rte_swx_pipeline_learner_config(p, t->name, &lp, t->size, t->timeouts.v,
					     t->timeouts.n);
	return rc ? dpdk_err(sp, t->line, rc, "learner", t->name) : 0;
}

/* DPDK's own loader configures tables, then selectors, then learners. */
static int config_tables(struct spec *sp, struct rte_swx_pipeline *p)
{
	static const enum sp_table_kind order[] = { SP_TABLE, SP_SELECTOR, SP_LEARNER };

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (uint32_t i = 0; i < sp->tables.n; i++) {
			struct sp_table *t = sp->tables.v[i];
			int rc = 0;

			if (t->kind != order[k])
				continue;
			if (t->kind == SP_TABLE)
				rc = config_table(sp, p, t);
			else if (t->kind == SP_SELECTOR)
				rc = config_selector(sp, p, t);
			else
				rc = config_learner(sp, p, t);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int config_apply(struct spec *sp, struct rte_swx_pipeline *p)
{
	const char **instr = code_texts(sp, sp->apply);
	int rc;

	if (!instr)
		return -ENOMEM;
	rc = rte_swx_pipeline_instructions_config(p, instr, sp->apply->instr.n);
	return rc ? dpdk_err(sp, sp->apply_line, rc, "apply", NULL) : 0;
}

/* The order is DPDK's own loader's: register and meter arrays before the
 * actions whose instructions name them, tables after their actions. */
static int config_all(struct spec *sp, struct rte_swx_pipeline *p)
{
	int rc;

	rc = config_decls(sp, p);
	if (!rc)
		rc = config_actions(sp, p);
	if (!rc)
		rc = config_tables(sp, p);
	if (!rc)
		rc = config_apply(sp, p);
	return rc;
}

/* ---- Entry points ------------------------------------------------------------ */

/* Loads len bytes of text (which need not be NUL-terminated). */
static int spec_load(struct rte_swx_pipeline *p, const char *text, size_t len, const char *name,
		     struct ipdk_err *err)
{
	struct spec sp = { .name = name, .err = err, .p = p };
	char *copy, *nul;
	int rc;

	copy = arena_alloc(&sp.arena, len + 1);
	if (!copy) {
		rc = ipdk_err_set(err, -ENOMEM, "%s: out of memory", name);
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	nul = memchr(copy, '\0', len);
	if (nul) {
		uint32_t line = 1;

		for (char *c = copy; c < nul; c++)
			line += *c == '\n';
		rc = spec_err(&sp, line, -EINVAL, "NUL byte in the text (not a text file?)");
		goto out;
	}
	sp.pos = copy;
	sp.end = copy + len;

	rc = parse_all(&sp);
	if (!rc)
		rc = check_all(&sp);
	if (!rc)
		rc = config_all(&sp, p);
	if (!rc) {
		ipdk_err_clear(err);
		IPDK_LOG_DEBUG("spec %s: %u structs, %u headers, %u actions, %u tables, "
			       "%u apply instructions", name, sp.structs.n, sp.headers.n,
			       sp.actions.n, sp.tables.n, sp.apply->instr.n);
	}
out:
	free(sp.tok);
	arena_free(sp.arena);
	return rc;
}

int ipdk_dpdk_spec_load_text(struct rte_swx_pipeline *p, const char *text, const char *name,
			     struct ipdk_err *err)
{
	if (!name)
		name = "<spec>";
	if (!p || !text)
		return ipdk_err_set(err, -EINVAL, "%s: no pipeline or no text to load", name);
	return spec_load(p, text, strlen(text), name, err);
}

static int read_file(const char *path, char **out, size_t *out_len, struct ipdk_err *err)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 0, n;
	char *buf = NULL;

	if (!f)
		return ipdk_err_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return ipdk_err_set(err, -ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		free(buf);
		fclose(f);
		return ipdk_err_set(err, -e, "%s: cannot read: %s", path, strerror(e));
	}
	fclose(f);
	*out = buf;
	*out_len = len;
	return 0;
}

int ipdk_dpdk_spec_load_file(struct rte_swx_pipeline *p, const char *path, struct ipdk_err *err)
{
	size_t len = 0;
	char *buf = NULL;
	int rc;

	if (!p || !path)
		return ipdk_err_set(err, -EINVAL, "spec: no pipeline or no path");
	rc = read_file(path, &buf, &len, err);
	if (rc)
		return rc;
	rc = spec_load(p, buf, len, path, err);
	free(buf);
	return rc;
}
