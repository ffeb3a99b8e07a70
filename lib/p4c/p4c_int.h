/*
 * Internals of the P4_16 front end shared by its files: the arena every AST
 * node lives in, source locations and diagnostics, tokens, the AST node and
 * the semantic types the checker attaches to it. One generic node shape keeps
 * the parser, the printer and the checker small; what each child slot means
 * for a kind is listed next to the kind.
 */
#ifndef IPDK_P4C_INT_H
#define IPDK_P4C_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipdk/p4c.h"

/* ---- arena: all nodes, types and strings of a program, freed at once ---- */
struct p4_arena {
	struct p4_chunk *head;
};
void *p4_alloc(struct p4_arena *a, size_t n);	/* zeroed; aborts on OOM */
char *p4_strndup(struct p4_arena *a, const char *s, size_t n);
/* printf into the arena (output truncated at 1 KiB). */
char *p4_afmt(struct p4_arena *a, const char *f, ...) __attribute__((format(printf, 2, 3)));
void p4_arena_free(struct p4_arena *a);

/* ---- source files and locations ---- */
struct p4_file {
	char *name;
	char *text;		/* original file contents, for showing the line; may be NULL */
	size_t len;
	bool tried;		/* already tried to read text from disk */
};

struct p4_loc {
	int file;		/* index in prog->files, -1 unknown */
	unsigned line, col;
};

struct p4_diag_int {
	struct ipdk_p4c_diag pub;
	struct p4_loc loc;
};

#define P4_MAX_ERRORS 100

struct ipdk_p4c_program {
	struct p4_arena arena;
	struct p4_file *files;
	int n_files, cap_files;
	struct p4_diag_int *diags;
	size_t n_diags, cap_diags, n_errors;
	bool too_many;
	struct p4n *root;	/* N_PROGRAM holding every top-level declaration */
	bool checked;
	struct ir_prog *ir;	/* after ipdk_p4c_compile() */
	char *spec;		/* the DPDK SWX spec (malloc'd) */
};
struct ir_prog;

int p4_file_add(struct ipdk_p4c_program *p, const char *name, const char *text, size_t len);
void p4_diag(struct ipdk_p4c_program *p, enum ipdk_p4c_severity sev, struct p4_loc loc,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define p4_error(p, loc, ...) p4_diag(p, IPDK_P4C_ERROR, loc, __VA_ARGS__)
#define p4_note(p, loc, ...) p4_diag(p, IPDK_P4C_NOTE, loc, __VA_ARGS__)

/* ---- tokens ---- */
enum p4_tok {
	T_EOF, T_IDENT, T_INT, T_STRING, T_ANNOT /* @name */,
	/* keywords */
	K_ABSTRACT, K_ACTION, K_APPLY, K_BIT, K_BOOL, K_CONST, K_CONTROL, K_DEFAULT,
	K_ELSE, K_ENUM, K_ERROR, K_EXIT, K_EXTERN, K_FALSE, K_HEADER, K_HEADER_UNION,
	K_IF, K_IN, K_INOUT, K_INT, K_MATCH_KIND, K_OUT, K_PACKAGE, K_PARSER,
	K_RETURN, K_SELECT, K_STATE, K_STRING, K_STRUCT, K_SWITCH, K_TABLE, K_THIS,
	K_TRANSITION, K_TRUE, K_TUPLE, K_TYPE, K_TYPEDEF, K_VALUE_SET, K_VARBIT,
	K_VOID, K_DONTCARE /* _ */,
	/* punctuation */
	P_LBRACE, P_RBRACE, P_LPAREN, P_RPAREN, P_LBRACK, P_RBRACK, P_SEMI, P_COLON,
	P_COMMA, P_DOT, P_QUESTION, P_ASSIGN, P_PLUS, P_MINUS, P_STAR, P_SLASH,
	P_PERCENT, P_PIPE, P_AMP, P_CARET, P_TILDE, P_BANG, P_LT, P_GT, P_LE, P_GE,
	P_EQ, P_NE, P_ANDAND, P_OROR, P_SHL, P_PLUSPLUS, P_PIPEPLUS, P_PIPEMINUS,
	P_MASK /* &&& */, P_RANGE /* .. */, P_ELLIPSIS,
	/* synthesized by the parser from two adjacent '>' */
	P_SHR,
	T_COUNT
};

struct p4_token {
	enum p4_tok kind;
	struct p4_loc loc;
	const char *text;	/* points into the preprocessed buffer */
	unsigned len;
	bool adjacent;		/* no whitespace between this token and the previous one */
};

const char *p4_tok_name(enum p4_tok t);

struct p4_lexed {
	struct p4_token *toks;
	size_t n, cap;
};
/* Splits text (cpp output) into tokens, honouring line markers; lexical errors
 * become diagnostics. Always ends with T_EOF. */
int p4_lex(struct ipdk_p4c_program *p, int file, const char *text, size_t len,
	   struct p4_lexed *out);
struct p4n;
/* Decodes an integer literal token into n's ival/width/is_signed/has_width/big;
 * returns false (with msg set) when it is malformed. */
bool p4_int_decode(const char *text, size_t len, struct p4n *n, const char **msg);

/* ---- AST ---- */
struct p4n;
struct p4_list {
	struct p4n **v;
	int n, cap;
};
void p4_list_push(struct p4_arena *a, struct p4_list *l, struct p4n *n);

enum p4n_kind {
	N_PROGRAM,		/* kids: declarations */
	/* declarations; annos on all */
	N_CONST,		/* name, a: type, b: value */
	N_VAR,			/* name, a: type, b: initializer or NULL */
	N_TYPEDEF,		/* name, a: type; op 1 for `type` (a new type) */
	N_ENUM,			/* name, a: underlying type (serializable) or NULL, kids: N_ENUM_MEMBER */
	N_ENUM_MEMBER,		/* name, a: value or NULL */
	N_ERROR_DECL,		/* kids: N_ENUM_MEMBER */
	N_MATCH_KIND_DECL,	/* kids: N_ENUM_MEMBER */
	N_HEADER, N_HEADER_UNION, N_STRUCT, /* name, tparams, kids: N_FIELD */
	N_FIELD,		/* name, a: type */
	N_EXTERN,		/* name, tparams, kids: N_METHOD (a ctor has a NULL return type) */
	N_METHOD,		/* name, a: return type or NULL for a ctor, tparams, kids: params; op 1 abstract */
	N_EXTERN_FUNC,		/* like N_METHOD at top level */
	N_PARSER_TYPE, N_CONTROL_TYPE, /* name, tparams, kids: params */
	N_PACKAGE,		/* name, tparams, kids: params */
	N_PARSER,		/* name, a: N_PARSER_TYPE, kids2: ctor params, kids: locals and N_STATEs */
	N_CONTROL,		/* name, a: N_CONTROL_TYPE, kids2: ctor params, kids: locals, b: apply block */
	N_INSTANCE,		/* name, a: type, kids: args, kids2: initializer declarations */
	N_FUNCTION,		/* name, a: return type, tparams, kids: params, b: body */
	N_ACTION,		/* name, kids: params, b: body */
	N_TABLE,		/* name, kids: N_PROP */
	N_PROP,			/* name, op: P_KEY/P_ACTIONS/P_ENTRIES/P_OTHER, a: value expr, kids: elements; c op2 const */
	N_KEY_ELEM,		/* a: expr, name: match kind (b: N_PATH of it), annos */
	N_ACTION_REF,		/* a: callee path, kids: args, annos */
	N_ENTRY,		/* a: keyset, b: N_ACTION_REF, c: priority expr or NULL, op 1 const */
	N_VALUE_SET,		/* name, a: element type, b: size */
	N_PARAM,		/* name, op: direction, a: type, b: default value */
	N_TYPE_PARAM,		/* name */
	N_STATE,		/* name, kids: statements, a: transition (N_TRANSITION) or NULL */
	/* types */
	Y_BASE,			/* op: K_BOOL, K_ERROR, K_STRING, K_INT (arbitrary precision), K_VOID, K_MATCH_KIND, K_DONTCARE, K_BIT (bit<1>) */
	Y_BIT, Y_INT, Y_VARBIT,	/* a: width expression */
	Y_NAME,			/* name, kids: type args; op 1 for a leading '.' */
	Y_STACK,		/* a: element type, b: size */
	Y_TUPLE,		/* kids: types */
	/* statements */
	S_ASSIGN,		/* a: lhs, b: rhs */
	S_CALL,			/* a: call expression */
	S_IF,			/* a: cond, b: then, c: else or NULL */
	S_BLOCK,		/* kids: statements */
	S_EXIT,
	S_RETURN,		/* a: value or NULL */
	S_SWITCH,		/* a: expr, kids: N_SWITCH_CASE */
	S_EMPTY,
	S_DECL,			/* a: N_VAR or N_CONST or N_INSTANCE */
	N_SWITCH_CASE,		/* a: label expr (E_DEFAULT for default), b: block or NULL (fall through) */
	N_TRANSITION,		/* a: E_PATH or E_SELECT */
	/* expressions */
	E_INT,			/* name: source text; ival/width/sign/has_width */
	E_BOOL,			/* op 1 true */
	E_STRING,		/* name: text with quotes */
	E_PATH,			/* name; op 1 for a leading '.' */
	E_MEMBER,		/* a: base, name */
	E_INDEX,		/* a: base, b: index */
	E_SLICE,		/* a: base, b: hi, c: lo */
	E_CALL,			/* a: callee, kids: args, kids2: type args */
	E_NAMED_ARG,		/* name, a: value */
	E_UNARY,		/* op: P_BANG, P_TILDE, P_MINUS, P_PLUS; a */
	E_BINARY,		/* op, a, b */
	E_TERNARY,		/* a ? b : c */
	E_CAST,			/* a: type, b: expr */
	E_LIST,			/* kids: exprs, `{ a, b }` */
	E_STRUCT_INIT,		/* kids: E_NAMED_ARG, `{ f = e, ... }` */
	E_DONTCARE,		/* `_` */
	E_DEFAULT,		/* `default` */
	E_MASK, E_RANGE,	/* a &&& b, a .. b */
	E_TUPLE_KS,		/* kids: keysets, `(k, k)` in select cases and entries */
	E_THIS,
	E_SELECT,		/* kids: select exprs, kids2: N_SELECT_CASE */
	N_SELECT_CASE,		/* a: keyset, b: state path */
	E_TYPE,			/* a: type used where an expression goes (`error`, constructors) */
	N_ANNOT,		/* name, op 1 structured [...], b: body text as name2 */
	N_KIND_COUNT
};

enum { DIR_NONE, DIR_IN, DIR_OUT, DIR_INOUT };
enum { PROP_KEY = 1, PROP_ACTIONS, PROP_ENTRIES, PROP_OTHER };

struct p4t;

struct p4n {
	enum p4n_kind kind;
	int op;
	struct p4_loc loc;
	char *name;
	char *text;		/* annotation body */
	struct p4n *a, *b, *c;
	struct p4_list kids, kids2, tparams, annos;
	/* integer literals */
	uint64_t ival;
	int width;
	bool is_signed, has_width, big;
	bool is_const;		/* N_PROP const, N_ENTRY const */
	/* filled by the checker */
	struct p4n *decl;
	struct p4t *type;
};

struct p4n *p4n_new(struct p4_arena *a, enum p4n_kind k, struct p4_loc loc);

/* Parses the tokens into prog->root (appending declarations). */
void p4_parse(struct ipdk_p4c_program *p, struct p4_lexed *lx);

/* Prints a node tree as P4 source into a malloc'd string. */
char *p4_dump(const struct p4n *root);

/* ---- semantic types ---- */
enum p4t_kind {
	TY_UNKNOWN,		/* after an error, or a type variable: compatible with anything */
	TY_VOID, TY_BOOL, TY_BIT, TY_INT, TY_VARBIT, TY_INFINT, TY_STRING, TY_ERROR,
	TY_MATCH_KIND, TY_HEADER, TY_STRUCT, TY_HUNION, TY_ENUM, TY_STACK, TY_TUPLE,
	TY_LIST, TY_EXTERN, TY_PARSER, TY_CONTROL, TY_PACKAGE, TY_ACTION, TY_TABLE,
	TY_FUNCTION, TY_STATE, TY_NEWTYPE, TY_DONTCARE, TY_APPLY_RESULT, TY_ACTION_ENUM,
	TY_VALUE_SET, TY_TYPEVAR, TY_METHOD,
};

struct p4t {
	enum p4t_kind kind;
	int width;		/* bit/int/varbit; -1 when not a constant */
	struct p4n *decl;	/* declaring node of named types */
	struct p4t *elem;	/* stack element, enum underlying type, newtype base, value_set element */
	int size;		/* stack size */
	struct p4t **elems;	/* tuple/list elements */
	int n;
};

void p4_check(struct ipdk_p4c_program *p);

#endif
