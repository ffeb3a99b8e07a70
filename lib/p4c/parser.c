/*
 * The P4_16 parser: hand-written recursive descent over the token array, one
 * function per grammar rule, building the AST of p4c_int.h. Like the spec's
 * grammar it needs to know which identifiers name types (to tell `T x;` from
 * `a(b);` and `f<T>(x)` from `a < b`), so it records type names as they are
 * declared, with type parameters scoped to their declaration.
 *
 * Error recovery is panic mode: report, then skip to the end of the statement
 * or declaration. Every loop consumes a token or stops, nesting is bounded,
 * and the diagnostic count is capped, so bad input cannot hang or overflow.
 */
#include <stdlib.h>
#include <string.h>

#include "p4c_int.h"

#define MAX_DEPTH 200

struct tname {
	const char *s;
	unsigned len;
};

struct parser {
	struct ipdk_p4c_program *p;
	struct p4_arena *a;
	struct p4_token *t;
	size_t n, pos;
	int depth;
	bool deep;		/* nesting limit hit: unwind quietly */
	struct tname *types;
	int ntypes, captypes;
};

/* ---- token helpers ---- */

static struct p4_token *peek(struct parser *ps, size_t k)
{
	size_t i = ps->pos + k;

	return &ps->t[i < ps->n ? i : ps->n - 1];
}

static enum p4_tok tok(struct parser *ps)
{
	return peek(ps, 0)->kind;
}

static enum p4_tok tok_at(struct parser *ps, size_t k)
{
	return peek(ps, k)->kind;
}

static struct p4_loc loc(struct parser *ps)
{
	return peek(ps, 0)->loc;
}

static struct p4_token *next(struct parser *ps)
{
	struct p4_token *t = peek(ps, 0);

	if (ps->pos < ps->n - 1)
		ps->pos++;
	return t;
}

static bool accept(struct parser *ps, enum p4_tok k)
{
	if (tok(ps) != k)
		return false;
	next(ps);
	return true;
}

static bool stopped(struct parser *ps)
{
	return ps->deep || ps->p->too_many || tok(ps) == T_EOF;
}

static void error_here(struct parser *ps, const char *what)
{
	struct p4_token *t = peek(ps, 0);

	if (ps->deep)
		return;
	if (t->kind == T_EOF)
		p4_error(ps->p, t->loc, "expected %s, found end of file", what);
	else
		p4_error(ps->p, t->loc, "expected %s, found '%.*s'", what, (int)t->len, t->text);
}

static bool expect(struct parser *ps, enum p4_tok k)
{
	struct p4_token *t = peek(ps, 0), *prev = ps->pos ? &ps->t[ps->pos - 1] : NULL;

	if (accept(ps, k))
		return true;
	if (ps->deep)
		return false;
	/* a missing ';' or ')' belongs right after the previous token when the
	 * next one is already on another line, as people read it */
	if (prev && (t->loc.line != prev->loc.line || t->loc.file != prev->loc.file)) {
		struct p4_loc at = prev->loc;
		at.col += prev->len;
		p4_error(ps->p, at, "expected %s after '%.*s'", p4_tok_name(k), (int)prev->len,
			 prev->text);
		return false;
	}
	error_here(ps, p4_tok_name(k));
	return false;
}

static char *tok_str(struct parser *ps, struct p4_token *t)
{
	return p4_strndup(ps->a, t->text, t->len);
}

static bool tok_is(struct p4_token *t, const char *s)
{
	return t->kind == T_IDENT && strlen(s) == t->len && !memcmp(t->text, s, t->len);
}

/* Keywords the grammar also accepts as names (nonTypeName). */
static bool is_name_tok(enum p4_tok k)
{
	return k == T_IDENT || k == K_APPLY || k == K_STATE || k == K_TYPE;
}

static char *parse_name(struct parser *ps, const char *what)
{
	if (is_name_tok(tok(ps)))
		return tok_str(ps, next(ps));
	error_here(ps, what);
	return NULL;
}

/* ---- type names ---- */

static void add_type(struct parser *ps, const char *s)
{
	if (!s)
		return;
	if (ps->ntypes == ps->captypes) {
		int cap = ps->captypes ? ps->captypes * 2 : 64;
		struct tname *v = realloc(ps->types, cap * sizeof(*v));
		if (!v)
			abort();
		ps->types = v;
		ps->captypes = cap;
	}
	ps->types[ps->ntypes++] = (struct tname){ s, (unsigned)strlen(s) };
}

static bool is_type_name(struct parser *ps, struct p4_token *t)
{
	if (t->kind != T_IDENT)
		return false;
	for (int i = ps->ntypes - 1; i >= 0; i--)
		if (ps->types[i].len == t->len && !memcmp(ps->types[i].s, t->text, t->len))
			return true;
	return false;
}

static bool is_base_type_tok(enum p4_tok k)
{
	return k == K_BIT || k == K_INT || k == K_VARBIT || k == K_BOOL || k == K_STRING ||
	       k == K_ERROR || k == K_TUPLE || k == K_VOID || k == K_MATCH_KIND;
}

/* Does a type start at token offset k? */
static bool type_starts(struct parser *ps, size_t k)
{
	struct p4_token *t = peek(ps, k);

	if (is_base_type_tok(t->kind))
		return true;
	if (t->kind == P_DOT)
		return is_type_name(ps, peek(ps, k + 1));
	return is_type_name(ps, t);
}

/* ---- recovery ---- */

/* Skips to the end of the current statement: past a ';' or a balanced block,
 * or up to (not past) a '}' that closes the enclosing block. */
static void sync_stmt(struct parser *ps)
{
	int depth = 0;

	while (tok(ps) != T_EOF) {
		enum p4_tok k = tok(ps);
		if (k == P_LBRACE || k == P_LPAREN || k == P_LBRACK)
			depth++;
		else if (k == P_RBRACE || k == P_RPAREN || k == P_RBRACK) {
			if (depth == 0 && k == P_RBRACE)
				return;
			if (depth > 0)
				depth--;
			if (depth == 0 && k == P_RBRACE) {
				next(ps);
				return;
			}
		} else if (k == P_SEMI && depth == 0) {
			next(ps);
			return;
		}
		next(ps);
	}
}

static bool decl_keyword(enum p4_tok k)
{
	switch (k) {
	case K_HEADER: case K_HEADER_UNION: case K_STRUCT: case K_CONTROL: case K_PARSER:
	case K_ACTION: case K_TABLE: case K_EXTERN: case K_TYPEDEF: case K_ENUM:
	case K_PACKAGE: case K_MATCH_KIND: case K_STATE: case K_APPLY:
		return true;
	default:
		return false;
	}
}

/* Skips a broken declaration: to a ';' or a balanced '}' at its level, or to a
 * keyword that starts the next declaration. */
static void sync_decl(struct parser *ps)
{
	int depth = 0;
	size_t start = ps->pos;

	while (tok(ps) != T_EOF) {
		enum p4_tok k = tok(ps);
		if (depth == 0 && ps->pos != start && decl_keyword(k))
			return;
		if (k == P_LBRACE)
			depth++;
		else if (k == P_RBRACE) {
			if (depth == 0)
				return;
			if (--depth == 0) {
				next(ps);
				return;
			}
		} else if (k == P_SEMI && depth == 0) {
			next(ps);
			return;
		}
		next(ps);
	}
}

static bool enter(struct parser *ps)
{
	if (ps->depth >= MAX_DEPTH) {
		if (!ps->deep)
			p4_error(ps->p, loc(ps), "nesting too deep");
		ps->deep = true;
		return false;
	}
	ps->depth++;
	return true;
}

static void leave(struct parser *ps)
{
	ps->depth--;
}

static struct p4n *node(struct parser *ps, enum p4n_kind k)
{
	return p4n_new(ps->a, k, loc(ps));
}

/* ---- annotations ---- */

static void parse_annos(struct parser *ps, struct p4_list *out)
{
	while (tok(ps) == T_ANNOT) {
		struct p4n *an = node(ps, N_ANNOT);
		struct p4_token *t = next(ps);

		an->name = p4_strndup(ps->a, t->text + 1, t->len - 1);
		if (tok(ps) == P_LPAREN || tok(ps) == P_LBRACK) {
			enum p4_tok open = tok(ps), close = open == P_LPAREN ? P_RPAREN : P_RBRACK;
			size_t start, len = 0;
			int depth = 0;

			an->op = open == P_LBRACK;
			next(ps);
			start = ps->pos;
			/* the body is kept as its tokens, one space apart */
			while (tok(ps) != T_EOF) {
				if (tok(ps) == open)
					depth++;
				else if (tok(ps) == close && depth-- == 0)
					break;
				len += peek(ps, 0)->len + 1;
				next(ps);
			}
			char *body = p4_alloc(ps->a, len + 1), *w = body;
			for (size_t i = start; i < ps->pos; i++) {
				if (w != body)
					*w++ = ' ';
				memcpy(w, ps->t[i].text, ps->t[i].len);
				w += ps->t[i].len;
			}
			*w = '\0';
			an->text = body;
			expect(ps, close);
		}
		p4_list_push(ps->a, out, an);
	}
}

/* ---- types ---- */

static struct p4n *parse_expr(struct parser *ps);
static struct p4n *parse_type(struct parser *ps);

static struct p4n *parse_width(struct parser *ps)
{
	struct p4n *w = NULL;

	if (!expect(ps, P_LT))
		return NULL;
	if (tok(ps) == T_INT) {
		struct p4_token *t = next(ps);
		const char *msg;
		w = p4n_new(ps->a, E_INT, t->loc);
		w->name = tok_str(ps, t);
		p4_int_decode(t->text, t->len, w, &msg);
	} else if (accept(ps, P_LPAREN)) {
		w = parse_expr(ps);
		expect(ps, P_RPAREN);
	} else if (is_name_tok(tok(ps))) {
		struct p4_token *t = next(ps);
		w = p4n_new(ps->a, E_PATH, t->loc);
		w->name = tok_str(ps, t);
	} else {
		error_here(ps, "a width");
	}
	expect(ps, P_GT);
	return w;
}

static void parse_type_args(struct parser *ps, struct p4_list *out)
{
	expect(ps, P_LT);
	if (tok(ps) == P_GT) {
		error_here(ps, "a type argument");
	}
	while (!stopped(ps) && tok(ps) != P_GT) {
		struct p4n *t;
		if (tok(ps) == K_DONTCARE) {
			t = node(ps, Y_BASE);
			t->op = K_DONTCARE;
			next(ps);
		} else {
			t = parse_type(ps);
		}
		if (!t)
			break;
		p4_list_push(ps->a, out, t);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_GT);
}

/* Parses a type without a stack suffix. */
static struct p4n *parse_type_noarray(struct parser *ps)
{
	struct p4n *t = node(ps, Y_BASE);

	switch (tok(ps)) {
	case K_BOOL: case K_ERROR: case K_STRING: case K_VOID: case K_MATCH_KIND:
		t->op = tok(ps);
		next(ps);
		return t;
	case K_DONTCARE:
		t->op = K_DONTCARE;
		next(ps);
		return t;
	case K_BIT: case K_INT: case K_VARBIT: {
		enum p4_tok k = next(ps)->kind;
		if (tok(ps) != P_LT) {
			if (k == K_VARBIT) {
				error_here(ps, "'<' after varbit");
				return NULL;
			}
			t->op = k;	/* `bit` is bit<1>, `int` has arbitrary precision */
			return t;
		}
		t->kind = k == K_BIT ? Y_BIT : k == K_INT ? Y_INT : Y_VARBIT;
		t->a = parse_width(ps);
		return t;
	}
	case K_TUPLE:
		next(ps);
		t->kind = Y_TUPLE;
		parse_type_args(ps, &t->kids);
		return t;
	default:
		break;
	}
	t->kind = Y_NAME;
	if (accept(ps, P_DOT))
		t->op = 1;
	if (!is_name_tok(tok(ps))) {
		error_here(ps, "a type");
		return NULL;
	}
	t->name = tok_str(ps, next(ps));
	if (tok(ps) == P_LT)
		parse_type_args(ps, &t->kids);
	return t;
}

static struct p4n *parse_type(struct parser *ps)
{
	struct p4n *t;

	if (!enter(ps))
		return NULL;
	t = parse_type_noarray(ps);
	while (t && tok(ps) == P_LBRACK && !stopped(ps)) {
		struct p4n *s = node(ps, Y_STACK);
		next(ps);
		s->a = t;
		s->b = parse_expr(ps);
		expect(ps, P_RBRACK);
		t = s;
	}
	leave(ps);
	return t;
}

/* ---- expressions ---- */

static struct p4n *parse_arg(struct parser *ps)
{
	if (is_name_tok(tok(ps)) && tok_at(ps, 1) == P_ASSIGN) {
		struct p4n *n = node(ps, E_NAMED_ARG);
		n->name = tok_str(ps, next(ps));
		next(ps);
		if (tok(ps) == K_DONTCARE) {
			n->a = node(ps, E_DONTCARE);
			next(ps);
		} else {
			n->a = parse_expr(ps);
		}
		return n->a ? n : NULL;
	}
	if (tok(ps) == K_DONTCARE && (tok_at(ps, 1) == P_COMMA || tok_at(ps, 1) == P_RPAREN)) {
		struct p4n *n = node(ps, E_DONTCARE);
		next(ps);
		return n;
	}
	return parse_expr(ps);
}

/* Parses `( args )` into out. */
static void parse_args(struct parser *ps, struct p4_list *out)
{
	if (!expect(ps, P_LPAREN))
		return;
	while (!stopped(ps) && tok(ps) != P_RPAREN) {
		struct p4n *e = parse_arg(ps);
		if (!e)
			break;
		p4_list_push(ps->a, out, e);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_RPAREN);
}

static struct p4n *int_literal(struct parser *ps)
{
	struct p4_token *t = next(ps);
	struct p4n *n = p4n_new(ps->a, E_INT, t->loc);
	const char *msg;

	n->name = tok_str(ps, t);
	p4_int_decode(t->text, t->len, n, &msg);	/* the lexer reported bad ones */
	return n;
}

/* Is the token after '(' at offset k the start of a cast `(type) expr`? */
static bool is_cast(struct parser *ps)
{
	enum p4_tok k = tok_at(ps, 1);

	if (k == K_BIT || k == K_INT || k == K_VARBIT || k == K_BOOL || k == K_TUPLE ||
	    k == K_STRING)
		return true;
	if (k == K_ERROR)
		return tok_at(ps, 2) == P_RPAREN;
	if (is_type_name(ps, peek(ps, 1)) || (k == P_DOT && is_type_name(ps, peek(ps, 2))))
		return tok_at(ps, 2) == P_RPAREN || tok_at(ps, 2) == P_LT || k == P_DOT;
	return false;
}

static struct p4n *parse_list_expr(struct parser *ps)
{
	struct p4n *n = node(ps, E_LIST);

	next(ps);
	if (is_name_tok(tok(ps)) && tok_at(ps, 1) == P_ASSIGN)
		n->kind = E_STRUCT_INIT;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		struct p4n *e;
		if (n->kind == E_STRUCT_INIT) {
			e = node(ps, E_NAMED_ARG);
			e->name = parse_name(ps, "a field name");
			if (!e->name || !expect(ps, P_ASSIGN))
				break;
			e->a = parse_expr(ps);
			if (!e->a)
				break;
		} else {
			e = parse_expr(ps);
			if (!e)
				break;
		}
		p4_list_push(ps->a, &n->kids, e);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_RBRACE);
	return n;
}

static struct p4n *parse_unary(struct parser *ps);

static struct p4n *parse_primary(struct parser *ps)
{
	struct p4n *n;

	switch (tok(ps)) {
	case T_INT:
		return int_literal(ps);
	case K_TRUE: case K_FALSE:
		n = node(ps, E_BOOL);
		n->op = next(ps)->kind == K_TRUE;
		return n;
	case T_STRING:
		n = node(ps, E_STRING);
		n->name = tok_str(ps, next(ps));
		return n;
	case K_THIS:
		n = node(ps, E_THIS);
		next(ps);
		return n;
	case K_DONTCARE:
		n = node(ps, E_DONTCARE);
		next(ps);
		return n;
	case P_LBRACE:
		return parse_list_expr(ps);
	case P_LPAREN:
		if (is_cast(ps)) {
			n = node(ps, E_CAST);
			next(ps);
			n->a = parse_type(ps);
			expect(ps, P_RPAREN);
			n->b = parse_unary(ps);
			return n->a && n->b ? n : NULL;
		}
		next(ps);
		n = parse_expr(ps);
		expect(ps, P_RPAREN);
		return n;
	case K_ERROR: case K_BIT: case K_INT: case K_VARBIT: case K_BOOL: case K_TUPLE:
		/* a type used as a value: error.X, bit<8>.minSizeInBits() */
		n = node(ps, E_TYPE);
		n->a = parse_type_noarray(ps);
		return n->a ? n : NULL;
	case P_DOT:
		n = node(ps, E_PATH);
		next(ps);
		n->op = 1;
		n->name = parse_name(ps, "a name");
		return n->name ? n : NULL;
	default:
		if (is_name_tok(tok(ps))) {
			n = node(ps, E_PATH);
			n->name = tok_str(ps, next(ps));
			return n;
		}
		error_here(ps, "an expression");
		return NULL;
	}
}

/* Could '<' at the current position open type arguments of a call? Only when
 * a type follows and the matching '>' is followed by '('. */
static bool type_args_follow(struct parser *ps)
{
	if (tok(ps) != P_LT)
		return false;
	if (!type_starts(ps, 1) && tok_at(ps, 1) != K_DONTCARE)
		return false;
	int depth = 0;
	for (size_t k = 0; k < 64; k++) {
		enum p4_tok t = tok_at(ps, k);
		if (t == P_LT)
			depth++;
		else if (t == P_GT && --depth == 0)
			return tok_at(ps, k + 1) == P_LPAREN;
		else if (t == T_EOF || t == P_SEMI || t == P_LBRACE)
			return false;
	}
	return false;
}

static struct p4n *parse_postfix(struct parser *ps)
{
	struct p4n *e = parse_primary(ps);

	while (e && !stopped(ps)) {
		struct p4n *n;
		switch (tok(ps)) {
		case P_DOT:
			next(ps);
			n = node(ps, E_MEMBER);	/* located at the member's name */
			n->a = e;
			n->name = parse_name(ps, "a member name");
			if (!n->name)
				return NULL;
			e = n;
			break;
		case P_LBRACK:
			n = node(ps, E_INDEX);
			next(ps);
			n->a = e;
			n->b = parse_expr(ps);
			if (!n->b)
				return NULL;
			if (accept(ps, P_COLON)) {
				n->kind = E_SLICE;
				n->c = parse_expr(ps);
				if (!n->c)
					return NULL;
			}
			expect(ps, P_RBRACK);
			e = n;
			break;
		case P_LPAREN:
			n = node(ps, E_CALL);
			n->a = e;
			parse_args(ps, &n->kids);
			e = n;
			break;
		case P_LT:
			if (!type_args_follow(ps))
				return e;
			n = node(ps, E_CALL);
			n->a = e;
			parse_type_args(ps, &n->kids2);
			parse_args(ps, &n->kids);
			e = n;
			break;
		default:
			return e;
		}
	}
	return e;
}

static struct p4n *parse_unary(struct parser *ps)
{
	struct p4n *n;

	if (!enter(ps))
		return NULL;
	switch (tok(ps)) {
	case P_BANG: case P_TILDE: case P_MINUS: case P_PLUS:
		n = node(ps, E_UNARY);
		n->op = next(ps)->kind;
		n->a = parse_unary(ps);
		if (!n->a)
			n = NULL;
		break;
	default:
		n = parse_postfix(ps);
	}
	leave(ps);
	return n;
}

/* Binary precedence levels, loosest first (the spec's grammar table). */
static int binop_prec(struct parser *ps, enum p4_tok *op)
{
	enum p4_tok k = tok(ps);

	*op = k;
	switch (k) {
	case P_OROR: return 1;
	case P_ANDAND: return 2;
	case P_EQ: case P_NE: return 3;
	case P_LT: case P_LE: case P_GE: return 4;
	case P_GT:
		/* two adjacent '>' are a right shift */
		if (tok_at(ps, 1) == P_GT && peek(ps, 1)->adjacent) {
			*op = P_SHR;
			return 8;
		}
		return 4;
	case P_PIPE: return 5;
	case P_CARET: return 6;
	case P_AMP: return 7;
	case P_SHL: return 8;
	case P_PLUSPLUS: case P_PLUS: case P_MINUS: case P_PIPEPLUS: case P_PIPEMINUS: return 9;
	case P_STAR: case P_SLASH: case P_PERCENT: return 10;
	default: return 0;
	}
}

static struct p4n *parse_binary(struct parser *ps, int min)
{
	struct p4n *l = parse_unary(ps);
	enum p4_tok op;
	int prec;

	while (l && !stopped(ps) && (prec = binop_prec(ps, &op)) >= min) {
		struct p4n *n = node(ps, E_BINARY);
		next(ps);
		if (op == P_SHR)
			next(ps);
		n->op = op;
		n->a = l;
		if (!enter(ps))
			return NULL;
		n->b = parse_binary(ps, prec + 1);
		leave(ps);
		if (!n->b)
			return NULL;
		l = n;
	}
	return l;
}

static struct p4n *parse_expr(struct parser *ps)
{
	struct p4n *c;

	if (!enter(ps))
		return NULL;
	c = parse_binary(ps, 1);
	if (c && tok(ps) == P_QUESTION) {
		struct p4n *n = node(ps, E_TERNARY);
		next(ps);
		n->a = c;
		n->b = parse_expr(ps);
		if (n->b && expect(ps, P_COLON))
			n->c = parse_expr(ps);
		c = n->b && n->c ? n : NULL;
	}
	leave(ps);
	return c;
}

/* ---- keysets (select cases, table entries) ---- */

static struct p4n *parse_simple_keyset(struct parser *ps)
{
	struct p4n *n, *e;

	if (tok(ps) == K_DEFAULT) {
		n = node(ps, E_DEFAULT);
		next(ps);
		return n;
	}
	if (tok(ps) == K_DONTCARE) {
		n = node(ps, E_DONTCARE);
		next(ps);
		return n;
	}
	e = parse_expr(ps);
	if (!e)
		return NULL;
	if (tok(ps) == P_MASK || tok(ps) == P_RANGE) {
		n = node(ps, next(ps)->kind == P_MASK ? E_MASK : E_RANGE);
		n->a = e;
		n->b = parse_expr(ps);
		return n->b ? n : NULL;
	}
	return e;
}

/* Does the '(' here open a tuple keyset rather than a parenthesised
 * expression? It does when a ',', '&&&', '..', 'default' or '_' appears
 * directly inside it. */
static bool tuple_keyset_follows(struct parser *ps)
{
	int depth = 0;

	for (size_t k = 0;; k++) {
		enum p4_tok t = tok_at(ps, k);
		if (t == T_EOF)
			return false;
		if (t == P_LPAREN || t == P_LBRACK || t == P_LBRACE)
			depth++;
		else if (t == P_RPAREN || t == P_RBRACK || t == P_RBRACE) {
			if (--depth == 0)
				return false;
		} else if (depth == 1 && (t == P_COMMA || t == P_MASK || t == P_RANGE ||
					  t == K_DEFAULT || t == K_DONTCARE)) {
			return true;
		}
		if (depth <= 0)
			return false;
	}
}

static struct p4n *parse_keyset(struct parser *ps)
{
	if (tok(ps) == P_LPAREN && tuple_keyset_follows(ps)) {
		struct p4n *n = node(ps, E_TUPLE_KS);
		next(ps);
		while (!stopped(ps) && tok(ps) != P_RPAREN) {
			struct p4n *k = parse_simple_keyset(ps);
			if (!k)
				return NULL;
			p4_list_push(ps->a, &n->kids, k);
			if (!accept(ps, P_COMMA))
				break;
		}
		expect(ps, P_RPAREN);
		return n;
	}
	return parse_simple_keyset(ps);
}

/* ---- statements ---- */

static struct p4n *parse_stmt(struct parser *ps);
static struct p4n *parse_block(struct parser *ps);
static struct p4n *parse_var_or_instance(struct parser *ps, struct p4_list *annos);
static struct p4n *parse_const(struct parser *ps, struct p4_list *annos);

static struct p4n *parse_block(struct parser *ps)
{
	struct p4n *b = node(ps, S_BLOCK);

	if (!expect(ps, P_LBRACE))
		return b;
	if (!enter(ps))
		return b;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		size_t before = ps->pos;
		struct p4n *s = parse_stmt(ps);
		if (s)
			p4_list_push(ps->a, &b->kids, s);
		else
			sync_stmt(ps);
		if (ps->pos == before)
			next(ps);	/* always make progress */
	}
	leave(ps);
	expect(ps, P_RBRACE);
	return b;
}

static struct p4n *parse_switch(struct parser *ps)
{
	struct p4n *s = node(ps, S_SWITCH);

	next(ps);
	expect(ps, P_LPAREN);
	s->a = parse_expr(ps);
	expect(ps, P_RPAREN);
	if (!s->a || !expect(ps, P_LBRACE))
		return NULL;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		struct p4n *c = node(ps, N_SWITCH_CASE);
		if (tok(ps) == K_DEFAULT) {
			c->a = node(ps, E_DEFAULT);
			next(ps);
		} else {
			c->a = parse_expr(ps);
		}
		if (!c->a || !expect(ps, P_COLON)) {
			sync_stmt(ps);
			continue;
		}
		if (tok(ps) == P_LBRACE)
			c->b = parse_block(ps);
		p4_list_push(ps->a, &s->kids, c);
	}
	expect(ps, P_RBRACE);
	return s;
}

/* Is this statement a declaration `T name ...` or `T(args) name;`? */
static bool decl_follows(struct parser *ps)
{
	enum p4_tok k = tok(ps);

	if (k == K_ERROR)
		return tok_at(ps, 1) != P_DOT;
	if (is_base_type_tok(k))
		return true;
	if (k != T_IDENT)
		return false;
	if (is_type_name(ps, peek(ps, 0))) {
		enum p4_tok n = tok_at(ps, 1);
		return n != P_DOT && n != P_ASSIGN;
	}
	/* an unknown type name followed by a name: still a declaration, and the
	 * checker will say the type is unknown */
	return is_name_tok(tok_at(ps, 1));
}

static struct p4n *parse_stmt(struct parser *ps)
{
	struct p4_list annos = { 0 };
	struct p4n *s = NULL;

	if (!enter(ps))
		return NULL;
	parse_annos(ps, &annos);
	switch (tok(ps)) {
	case P_LBRACE:
		s = parse_block(ps);
		break;
	case K_IF:
		s = node(ps, S_IF);
		next(ps);
		if (!expect(ps, P_LPAREN)) {
			s = NULL;
			break;
		}
		s->a = parse_expr(ps);
		if (!s->a || !expect(ps, P_RPAREN)) {
			s = NULL;
			break;
		}
		s->b = parse_stmt(ps);
		if (s->b && accept(ps, K_ELSE))
			s->c = parse_stmt(ps);
		if (!s->b)
			s = NULL;
		break;
	case K_SWITCH:
		s = parse_switch(ps);
		break;
	case K_EXIT:
		s = node(ps, S_EXIT);
		next(ps);
		if (!expect(ps, P_SEMI))
			s = NULL;
		break;
	case K_RETURN:
		s = node(ps, S_RETURN);
		next(ps);
		if (tok(ps) != P_SEMI)
			s->a = parse_expr(ps);
		if (!expect(ps, P_SEMI))
			s = NULL;
		break;
	case P_SEMI:
		s = node(ps, S_EMPTY);
		next(ps);
		break;
	case K_CONST:
		s = node(ps, S_DECL);
		s->a = parse_const(ps, &annos);
		if (!s->a)
			s = NULL;
		break;
	default:
		if (decl_follows(ps)) {
			s = node(ps, S_DECL);
			s->a = parse_var_or_instance(ps, &annos);
			if (!s->a)
				s = NULL;
			break;
		}
		s = node(ps, S_ASSIGN);
		s->a = parse_expr(ps);
		if (!s->a) {
			s = NULL;
			break;
		}
		if (accept(ps, P_ASSIGN)) {
			s->b = parse_expr(ps);
			if (!s->b) {
				s = NULL;
				break;
			}
		} else if (s->a->kind == E_CALL) {
			s->kind = S_CALL;
		} else {
			error_here(ps, "'=' or '(' in a statement");
			s = NULL;
			break;
		}
		if (!expect(ps, P_SEMI))
			s = NULL;
	}
	if (s)
		s->annos = annos;
	leave(ps);
	return s;
}

/* ---- declarations ---- */

static void parse_type_params(struct parser *ps, struct p4_list *out)
{
	if (!accept(ps, P_LT))
		return;
	while (!stopped(ps) && tok(ps) != P_GT) {
		struct p4n *tp = node(ps, N_TYPE_PARAM);
		tp->name = parse_name(ps, "a type parameter");
		if (!tp->name)
			break;
		add_type(ps, tp->name);
		p4_list_push(ps->a, out, tp);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_GT);
}

static void parse_params(struct parser *ps, struct p4_list *out)
{
	if (!expect(ps, P_LPAREN))
		return;
	while (!stopped(ps) && tok(ps) != P_RPAREN) {
		struct p4n *p = node(ps, N_PARAM);
		parse_annos(ps, &p->annos);
		switch (tok(ps)) {
		case K_IN: p->op = DIR_IN; next(ps); break;
		case K_OUT: p->op = DIR_OUT; next(ps); break;
		case K_INOUT: p->op = DIR_INOUT; next(ps); break;
		default: p->op = DIR_NONE;
		}
		p->loc = loc(ps);
		p->a = parse_type(ps);
		if (!p->a)
			break;
		p->loc = loc(ps);
		p->name = parse_name(ps, "a parameter name");
		if (!p->name)
			break;
		if (accept(ps, P_ASSIGN))
			p->b = parse_expr(ps);
		p4_list_push(ps->a, out, p);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_RPAREN);
}

static struct p4n *parse_const(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_CONST);

	next(ps);
	n->annos = *annos;
	n->a = parse_type(ps);
	if (!n->a)
		return NULL;
	n->loc = loc(ps);
	n->name = parse_name(ps, "a constant name");
	if (!n->name || !expect(ps, P_ASSIGN))
		return NULL;
	n->b = parse_expr(ps);
	if (!n->b || !expect(ps, P_SEMI))
		return NULL;
	return n;
}

/* `T name [= e];` or `T(args) name;` — the type is already known to start here. */
static struct p4n *parse_var_or_instance(struct parser *ps, struct p4_list *annos)
{
	struct p4n *t = parse_type(ps), *n;

	if (!t)
		return NULL;
	if (tok(ps) == P_LPAREN) {
		n = node(ps, N_INSTANCE);
		n->a = t;
		parse_args(ps, &n->kids);
		n->loc = loc(ps);
		n->name = parse_name(ps, "an instance name");
		if (!n->name)
			return NULL;
		if (tok(ps) == P_ASSIGN) {
			/* `= { abstract method implementations }` */
			next(ps);
			expect(ps, P_LBRACE);
			while (!stopped(ps) && tok(ps) != P_RBRACE) {
				size_t before = ps->pos;
				struct p4_list an = { 0 };
				struct p4n *f;
				parse_annos(ps, &an);
				f = node(ps, N_FUNCTION);
				f->annos = an;
				f->a = parse_type(ps);
				f->loc = loc(ps);
				f->name = parse_name(ps, "a method name");
				if (!f->a || !f->name) {
					sync_stmt(ps);
				} else {
					parse_type_params(ps, &f->tparams);
					parse_params(ps, &f->kids);
					f->b = parse_block(ps);
					p4_list_push(ps->a, &n->kids2, f);
				}
				if (ps->pos == before)
					next(ps);
			}
			expect(ps, P_RBRACE);
		}
	} else {
		n = node(ps, N_VAR);
		n->a = t;
		n->name = parse_name(ps, "a variable name");
		if (!n->name)
			return NULL;
		if (accept(ps, P_ASSIGN)) {
			n->b = parse_expr(ps);
			if (!n->b)
				return NULL;
		}
	}
	n->annos = *annos;
	if (!expect(ps, P_SEMI))
		return NULL;
	return n;
}

static struct p4n *parse_fields(struct parser *ps, enum p4n_kind kind, struct p4_list *annos)
{
	struct p4n *n = node(ps, kind);
	int ntypes = ps->ntypes;

	next(ps);
	n->annos = *annos;
	n->loc = loc(ps);
	n->name = parse_name(ps, "a type name");
	if (!n->name)
		return NULL;
	parse_type_params(ps, &n->tparams);
	if (!expect(ps, P_LBRACE))
		return NULL;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		struct p4n *f = node(ps, N_FIELD);
		size_t before = ps->pos;
		parse_annos(ps, &f->annos);
		f->a = parse_type(ps);
		f->loc = loc(ps);
		if (f->a)
			f->name = parse_name(ps, "a field name");
		if (!f->a || !f->name || !expect(ps, P_SEMI)) {
			sync_stmt(ps);
			if (ps->pos == before)
				next(ps);
			continue;
		}
		p4_list_push(ps->a, &n->kids, f);
	}
	expect(ps, P_RBRACE);
	ps->ntypes = ntypes;	/* type parameters go out of scope */
	add_type(ps, n->name);
	return n;
}

/* `{ a, b, c }` of error, match_kind and enums; with values when valued. */
static void parse_members(struct parser *ps, struct p4_list *out, bool valued)
{
	if (!expect(ps, P_LBRACE))
		return;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		struct p4n *m = node(ps, N_ENUM_MEMBER);
		parse_annos(ps, &m->annos);
		m->loc = loc(ps);
		m->name = parse_name(ps, "a member name");
		if (!m->name)
			break;
		if (valued) {
			if (!expect(ps, P_ASSIGN))
				break;
			m->a = parse_expr(ps);
			if (!m->a)
				break;
		}
		p4_list_push(ps->a, out, m);
		if (!accept(ps, P_COMMA))
			break;
	}
	expect(ps, P_RBRACE);
}

static struct p4n *parse_enum(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_ENUM);

	next(ps);
	n->annos = *annos;
	/* `enum T Name {` is serializable; `enum Name {` is not, even when Name
	 * is already a type (the checker reports the redeclaration) */
	if (is_base_type_tok(tok(ps)) || (is_type_name(ps, peek(ps, 0)) && tok_at(ps, 1) != P_LBRACE)) {
		n->a = parse_type(ps);
		if (!n->a)
			return NULL;
	}
	n->loc = loc(ps);
	n->name = parse_name(ps, "an enum name");
	if (!n->name)
		return NULL;
	parse_members(ps, &n->kids, n->a != NULL);
	add_type(ps, n->name);
	return n;
}

static struct p4n *parse_typedef(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_TYPEDEF);

	n->op = next(ps)->kind == K_TYPE;
	n->annos = *annos;
	n->a = parse_type(ps);
	if (!n->a)
		return NULL;
	n->loc = loc(ps);
	n->name = parse_name(ps, "a type name");
	if (!n->name || !expect(ps, P_SEMI))
		return NULL;
	add_type(ps, n->name);
	return n;
}

/* `R name<T>(params)`, or a constructor `Name(params)` when ctor_name matches. */
static struct p4n *parse_prototype(struct parser *ps, enum p4n_kind kind, const char *ctor_name)
{
	struct p4n *n = node(ps, kind);
	struct p4_token *t = peek(ps, 0);

	if (ctor_name && t->kind == T_IDENT && tok_at(ps, 1) == P_LPAREN &&
	    strlen(ctor_name) == t->len && !memcmp(ctor_name, t->text, t->len)) {
		n->name = tok_str(ps, next(ps));
		parse_params(ps, &n->kids);
		return n;
	}
	/* the return type may be a type parameter declared after the name: scan
	 * `R name <T...>` first so R can be one of them */
	int ntypes = ps->ntypes;
	if (is_name_tok(tok(ps)) && is_name_tok(tok_at(ps, 1)) && tok_at(ps, 2) == P_LT) {
		for (size_t k = 3; tok_at(ps, k) != P_GT && tok_at(ps, k) != T_EOF && k < 64; k++)
			if (is_name_tok(tok_at(ps, k)))
				add_type(ps, tok_str(ps, peek(ps, k)));
	}
	n->a = parse_type(ps);
	if (!n->a) {
		ps->ntypes = ntypes;
		return NULL;
	}
	n->loc = loc(ps);
	n->name = parse_name(ps, "a name");
	if (!n->name) {
		ps->ntypes = ntypes;
		return NULL;
	}
	ps->ntypes = ntypes;
	parse_type_params(ps, &n->tparams);
	parse_params(ps, &n->kids);
	return n;
}

/* `extern Name {` and `extern Name<T, U> {` declare objects; anything else
 * after `extern` is a function prototype. */
static bool extern_object_follows(struct parser *ps)
{
	int depth = 0;

	if (!is_name_tok(tok(ps)))
		return false;
	if (tok_at(ps, 1) == P_LBRACE)
		return true;
	if (tok_at(ps, 1) != P_LT)
		return false;
	for (size_t k = 1; k < 256; k++) {
		enum p4_tok t = tok_at(ps, k);
		if (t == P_LT)
			depth++;
		else if (t == P_GT && --depth == 0)
			return tok_at(ps, k + 1) == P_LBRACE;
		else if (t == T_EOF || t == P_SEMI || t == P_LPAREN)
			return false;
	}
	return false;
}

static struct p4n *parse_extern(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n;
	int ntypes = ps->ntypes;

	next(ps);
	/* `extern Name {` or `extern Name<T> {` is an object; anything else a function */
	if (extern_object_follows(ps)) {
		n = node(ps, N_EXTERN);
		n->annos = *annos;
		n->name = tok_str(ps, next(ps));
		add_type(ps, n->name);
		parse_type_params(ps, &n->tparams);
		if (!expect(ps, P_LBRACE))
			return NULL;
		while (!stopped(ps) && tok(ps) != P_RBRACE) {
			struct p4_list an = { 0 };
			size_t before = ps->pos;
			int nt = ps->ntypes;
			bool abstract;
			parse_annos(ps, &an);
			abstract = accept(ps, K_ABSTRACT);
			struct p4n *m = parse_prototype(ps, N_METHOD, n->name);
			ps->ntypes = nt;
			if (!m || !expect(ps, P_SEMI)) {
				sync_stmt(ps);
				if (ps->pos == before)
					next(ps);
				continue;
			}
			m->annos = an;
			m->op = abstract;
			p4_list_push(ps->a, &n->kids, m);
		}
		expect(ps, P_RBRACE);
		ps->ntypes = ntypes;
		add_type(ps, n->name);
		return n;
	}
	n = parse_prototype(ps, N_EXTERN_FUNC, NULL);
	ps->ntypes = ntypes;
	if (!n || !expect(ps, P_SEMI))
		return NULL;
	n->annos = *annos;
	return n;
}

static struct p4n *parse_local(struct parser *ps, bool in_parser);

static struct p4n *parse_state(struct parser *ps, struct p4_list *annos)
{
	struct p4n *s = node(ps, N_STATE);

	next(ps);
	s->annos = *annos;
	s->loc = loc(ps);
	s->name = parse_name(ps, "a state name");
	if (!s->name || !expect(ps, P_LBRACE))
		return NULL;
	while (!stopped(ps) && tok(ps) != P_RBRACE && tok(ps) != K_TRANSITION) {
		size_t before = ps->pos;
		struct p4n *st = parse_stmt(ps);
		if (st)
			p4_list_push(ps->a, &s->kids, st);
		else
			sync_stmt(ps);
		if (ps->pos == before)
			next(ps);
	}
	if (tok(ps) == K_TRANSITION) {
		struct p4n *t = node(ps, N_TRANSITION);
		next(ps);
		if (tok(ps) == K_SELECT) {
			struct p4n *sel = node(ps, E_SELECT);
			next(ps);
			expect(ps, P_LPAREN);
			while (!stopped(ps) && tok(ps) != P_RPAREN) {
				struct p4n *e = parse_expr(ps);
				if (!e)
					break;
				p4_list_push(ps->a, &sel->kids, e);
				if (!accept(ps, P_COMMA))
					break;
			}
			expect(ps, P_RPAREN);
			if (expect(ps, P_LBRACE)) {
				while (!stopped(ps) && tok(ps) != P_RBRACE) {
					struct p4n *c = node(ps, N_SELECT_CASE);
					size_t before = ps->pos;
					c->a = parse_keyset(ps);
					if (c->a && expect(ps, P_COLON)) {
						c->b = node(ps, E_PATH);
						c->b->name = parse_name(ps, "a state name");
					}
					if (!c->a || !c->b || !c->b->name || !expect(ps, P_SEMI)) {
						sync_stmt(ps);
						if (ps->pos == before)
							next(ps);
						continue;
					}
					p4_list_push(ps->a, &sel->kids2, c);
				}
				expect(ps, P_RBRACE);
			}
			t->a = sel;
		} else {
			t->a = node(ps, E_PATH);
			t->a->name = parse_name(ps, "a state name or select");
			if (!t->a->name)
				t->a = NULL;
			expect(ps, P_SEMI);
		}
		if (t->a)
			s->a = t;
	}
	expect(ps, P_RBRACE);
	return s;
}

/* Parses a `parser` or `control`: a type declaration when a ';' follows the
 * parameters, else a full declaration with locals and body. */
static struct p4n *parse_block_decl(struct parser *ps, struct p4_list *annos, bool is_parser)
{
	struct p4n *ty = node(ps, is_parser ? N_PARSER_TYPE : N_CONTROL_TYPE), *n;
	int ntypes = ps->ntypes;

	next(ps);
	ty->annos = *annos;
	ty->loc = loc(ps);
	ty->name = parse_name(ps, "a name");
	if (!ty->name)
		return NULL;
	parse_type_params(ps, &ty->tparams);
	parse_params(ps, &ty->kids);
	if (accept(ps, P_SEMI)) {
		ps->ntypes = ntypes;
		add_type(ps, ty->name);
		return ty;
	}
	n = p4n_new(ps->a, is_parser ? N_PARSER : N_CONTROL, ty->loc);
	n->name = ty->name;
	n->annos = ty->annos;
	n->a = ty;
	if (tok(ps) == P_LPAREN)
		parse_params(ps, &n->kids2);
	if (!expect(ps, P_LBRACE)) {
		ps->ntypes = ntypes;
		add_type(ps, n->name);
		return NULL;
	}
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		size_t before = ps->pos;
		if (!is_parser && tok(ps) == K_APPLY) {
			next(ps);
			n->b = parse_block(ps);
			continue;
		}
		struct p4n *l = parse_local(ps, is_parser);
		if (l)
			p4_list_push(ps->a, &n->kids, l);
		else
			sync_decl(ps);
		if (ps->pos == before)
			next(ps);
	}
	expect(ps, P_RBRACE);
	if (!is_parser && !n->b)
		p4_error(ps->p, n->loc, "control '%s' has no apply block", n->name);
	ps->ntypes = ntypes;
	add_type(ps, n->name);
	return n;
}

static struct p4n *parse_action(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_ACTION);

	next(ps);
	n->annos = *annos;
	n->loc = loc(ps);
	n->name = parse_name(ps, "an action name");
	if (!n->name)
		return NULL;
	parse_params(ps, &n->kids);
	n->b = parse_block(ps);
	return n;
}

static struct p4n *parse_action_ref(struct parser *ps)
{
	struct p4n *r = node(ps, N_ACTION_REF);

	parse_annos(ps, &r->annos);
	r->loc = loc(ps);
	r->a = node(ps, E_PATH);
	if (accept(ps, P_DOT))
		r->a->op = 1;
	r->a->name = parse_name(ps, "an action name");
	if (!r->a->name)
		return NULL;
	if (tok(ps) == P_LPAREN) {
		r->op = 1;	/* written with parentheses */
		parse_args(ps, &r->kids);
	}
	return r;
}

static struct p4n *parse_entry(struct parser *ps)
{
	struct p4n *e = node(ps, N_ENTRY);

	if (accept(ps, K_CONST))
		e->is_const = true;
	if (tok_is(peek(ps, 0), "priority") && tok_at(ps, 1) == P_ASSIGN) {
		next(ps);
		next(ps);
		e->c = parse_expr(ps);
		if (!e->c || !expect(ps, P_COLON))
			return NULL;
	}
	e->a = parse_keyset(ps);
	if (!e->a || !expect(ps, P_COLON))
		return NULL;
	e->b = parse_action_ref(ps);
	if (!e->b)
		return NULL;
	parse_annos(ps, &e->annos);
	if (!expect(ps, P_SEMI))
		return NULL;
	return e;
}

static struct p4n *parse_table_prop(struct parser *ps)
{
	struct p4n *pr = node(ps, N_PROP);

	parse_annos(ps, &pr->annos);
	if (accept(ps, K_CONST))
		pr->is_const = true;
	pr->loc = loc(ps);
	pr->name = parse_name(ps, "a table property");
	if (!pr->name || !expect(ps, P_ASSIGN))
		return NULL;
	if (!strcmp(pr->name, "key") || !strcmp(pr->name, "actions") ||
	    !strcmp(pr->name, "entries")) {
		pr->op = pr->name[0] == 'k' ? PROP_KEY : pr->name[0] == 'a' ? PROP_ACTIONS : PROP_ENTRIES;
		if (!expect(ps, P_LBRACE))
			return NULL;
		while (!stopped(ps) && tok(ps) != P_RBRACE) {
			size_t before = ps->pos;
			struct p4n *el;
			if (pr->op == PROP_KEY) {
				el = node(ps, N_KEY_ELEM);
				el->a = parse_expr(ps);
				if (el->a && expect(ps, P_COLON)) {
					el->b = node(ps, E_PATH);
					el->b->name = parse_name(ps, "a match kind");
					el->name = el->b->name;
					parse_annos(ps, &el->annos);
				}
				if (!el->a || !el->name || !expect(ps, P_SEMI))
					el = NULL;
			} else if (pr->op == PROP_ACTIONS) {
				el = parse_action_ref(ps);
				if (el && !expect(ps, P_SEMI))
					el = NULL;
			} else {
				el = parse_entry(ps);
			}
			if (el) {
				p4_list_push(ps->a, &pr->kids, el);
			} else {
				sync_stmt(ps);
				if (ps->pos == before)
					next(ps);
			}
		}
		expect(ps, P_RBRACE);
		accept(ps, P_SEMI);	/* p4c tolerates `};`, so do we */
		return pr;
	}
	pr->op = PROP_OTHER;
	pr->a = parse_expr(ps);
	if (!pr->a || !expect(ps, P_SEMI))
		return NULL;
	return pr;
}

static struct p4n *parse_table(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_TABLE);

	next(ps);
	n->annos = *annos;
	n->loc = loc(ps);
	n->name = parse_name(ps, "a table name");
	if (!n->name || !expect(ps, P_LBRACE))
		return NULL;
	while (!stopped(ps) && tok(ps) != P_RBRACE) {
		size_t before = ps->pos;
		struct p4n *pr = parse_table_prop(ps);
		if (pr)
			p4_list_push(ps->a, &n->kids, pr);
		else
			sync_stmt(ps);
		if (ps->pos == before)
			next(ps);
	}
	expect(ps, P_RBRACE);
	return n;
}

static struct p4n *parse_value_set(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_VALUE_SET);

	next(ps);
	n->annos = *annos;
	expect(ps, P_LT);
	n->a = parse_type(ps);
	expect(ps, P_GT);
	expect(ps, P_LPAREN);
	n->b = parse_expr(ps);
	expect(ps, P_RPAREN);
	n->loc = loc(ps);
	n->name = parse_name(ps, "a value set name");
	if (!n->a || !n->b || !n->name || !expect(ps, P_SEMI))
		return NULL;
	return n;
}

/* Locals of a parser (constants, variables, instances, value sets, states)
 * or of a control (constants, variables, instances, actions, tables). */
static struct p4n *parse_local(struct parser *ps, bool in_parser)
{
	struct p4_list annos = { 0 };

	parse_annos(ps, &annos);
	switch (tok(ps)) {
	case K_CONST:
		return parse_const(ps, &annos);
	case K_STATE:
		if (in_parser)
			return parse_state(ps, &annos);
		break;
	case K_VALUE_SET:
		if (in_parser)
			return parse_value_set(ps, &annos);
		break;
	case K_ACTION:
		if (!in_parser)
			return parse_action(ps, &annos);
		break;
	case K_TABLE:
		if (!in_parser)
			return parse_table(ps, &annos);
		break;
	default:
		if (type_starts(ps, 0) || (is_name_tok(tok(ps)) &&
		    (is_name_tok(tok_at(ps, 1)) || tok_at(ps, 1) == P_LPAREN)))
			return parse_var_or_instance(ps, &annos);
	}
	error_here(ps, in_parser ? "a parser state or local declaration" :
		   "'apply' or a control local declaration");
	return NULL;
}

static struct p4n *parse_package(struct parser *ps, struct p4_list *annos)
{
	struct p4n *n = node(ps, N_PACKAGE);
	int ntypes = ps->ntypes;

	next(ps);
	n->annos = *annos;
	n->loc = loc(ps);
	n->name = parse_name(ps, "a package name");
	if (!n->name)
		return NULL;
	parse_type_params(ps, &n->tparams);
	parse_params(ps, &n->kids);
	ps->ntypes = ntypes;
	add_type(ps, n->name);
	if (!expect(ps, P_SEMI))
		return NULL;
	return n;
}

/* A declaration starting with a type: a function `R f(...) {...}` or an
 * instantiation `T(args) name;`. */
static struct p4n *parse_typed_decl(struct parser *ps, struct p4_list *annos)
{
	size_t k = 0;
	int ntypes = ps->ntypes;

	/* `R f<T>(...)`: let R name a type parameter of f */
	if (is_name_tok(tok(ps)) && is_name_tok(tok_at(ps, 1)) && tok_at(ps, 2) == P_LT)
		k = 1;
	if (k) {
		struct p4n *f = parse_prototype(ps, N_FUNCTION, NULL);
		if (!f)
			return NULL;
		for (int i = 0; i < f->tparams.n; i++)
			add_type(ps, f->tparams.v[i]->name);
		f->annos = *annos;
		f->b = parse_block(ps);
		ps->ntypes = ntypes;
		return f;
	}
	size_t save = ps->pos;
	struct p4n *t = parse_type(ps);
	if (!t)
		return NULL;
	if (tok(ps) == P_LPAREN) {
		ps->pos = save;
		return parse_var_or_instance(ps, annos);
	}
	ps->pos = save;
	struct p4n *f = parse_prototype(ps, N_FUNCTION, NULL);
	if (!f) {
		ps->ntypes = ntypes;
		return NULL;
	}
	f->annos = *annos;
	f->b = parse_block(ps);
	ps->ntypes = ntypes;
	return f;
}

static struct p4n *parse_decl(struct parser *ps)
{
	struct p4_list annos = { 0 };
	struct p4n *n;

	parse_annos(ps, &annos);
	switch (tok(ps)) {
	case K_CONST:
		return parse_const(ps, &annos);
	case K_TYPEDEF: case K_TYPE:
		return parse_typedef(ps, &annos);
	case K_ENUM:
		return parse_enum(ps, &annos);
	case K_ERROR:
		if (tok_at(ps, 1) != P_LBRACE)
			break;
		n = node(ps, N_ERROR_DECL);
		next(ps);
		parse_members(ps, &n->kids, false);
		return n;
	case K_MATCH_KIND:
		n = node(ps, N_MATCH_KIND_DECL);
		next(ps);
		parse_members(ps, &n->kids, false);
		return n;
	case K_HEADER:
		return parse_fields(ps, N_HEADER, &annos);
	case K_HEADER_UNION:
		return parse_fields(ps, N_HEADER_UNION, &annos);
	case K_STRUCT:
		return parse_fields(ps, N_STRUCT, &annos);
	case K_EXTERN:
		return parse_extern(ps, &annos);
	case K_PARSER:
		return parse_block_decl(ps, &annos, true);
	case K_CONTROL:
		return parse_block_decl(ps, &annos, false);
	case K_PACKAGE:
		return parse_package(ps, &annos);
	case K_ACTION:
		return parse_action(ps, &annos);
	default:
		break;
	}
	if (type_starts(ps, 0) || is_name_tok(tok(ps)))
		return parse_typed_decl(ps, &annos);
	error_here(ps, "a declaration");
	return NULL;
}

void p4_parse(struct ipdk_p4c_program *p, struct p4_lexed *lx)
{
	struct parser ps = { .p = p, .a = &p->arena, .t = lx->toks, .n = lx->n };

	/* names declared by earlier files of the same program stay type names */
	for (int i = 0; i < p->root->kids.n; i++) {
		struct p4n *d = p->root->kids.v[i];
		if (d->kind != N_CONST && d->kind != N_ACTION && d->kind != N_FUNCTION &&
		    d->kind != N_INSTANCE && d->kind != N_EXTERN_FUNC && d->name)
			add_type(&ps, d->name);
	}
	while (tok(&ps) != T_EOF && !p->too_many && !ps.deep) {
		size_t before = ps.pos;
		struct p4n *d;

		if (accept(&ps, P_SEMI))
			continue;
		d = parse_decl(&ps);
		if (d)
			p4_list_push(ps.a, &p->root->kids, d);
		else
			sync_decl(&ps);
		if (ps.pos == before)
			next(&ps);
	}
	free(ps.types);
}
