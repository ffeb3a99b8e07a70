/*
 * Name resolution and type checking of the P4_16 front end, in one walk over
 * the declarations in source order (P4 requires declaration before use, so
 * one pass is exact; parser states are the exception and are entered into
 * their parser's scope before any state is checked).
 *
 * Each expression gets a semantic type (struct p4t) and each name the node
 * that declares it. Type variables of generic externs, parsers and controls
 * are not unified: they check as "unknown", compatible with anything, so
 * generic code is never rejected wrongly; the mid-level IR will specialise.
 * After an error the offending expression also gets the unknown type, which
 * keeps one mistake from cascading into a page of follow-up errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4c_int.h"

struct sym {
	const char *name;
	struct p4n *decl;
};

struct scope {
	struct scope *parent;
	struct sym *v;
	int n, cap;
};

enum ctx { CX_TOP, CX_PARSER, CX_CONTROL, CX_ACTION, CX_FUNCTION, CX_APPLY };

struct ck {
	struct ipdk_p4c_program *p;
	struct p4_arena *a;
	struct scope *sc;
	struct p4_list errors;		/* every error member, in declaration order */
	enum ctx ctx;
	struct p4t *ret;		/* return type of the function being checked */
	int depth;
	struct p4t unknown, t_bool, t_infint, t_void, t_string, t_error, t_match_kind,
		t_dontcare, t_bit32;
};

/* ---- helpers ---- */

static struct p4t *mk(struct ck *c, enum p4t_kind k)
{
	struct p4t *t = p4_alloc(c->a, sizeof(*t));

	t->kind = k;
	return t;
}

static struct p4t *mk_bits(struct ck *c, enum p4t_kind k, int w)
{
	struct p4t *t = mk(c, k);

	t->width = w;
	return t;
}

static struct p4t *mk_named(struct ck *c, enum p4t_kind k, struct p4n *decl)
{
	struct p4t *t = mk(c, k);

	t->decl = decl;
	return t;
}

static void type_str(const struct p4t *t, char *buf, size_t len)
{
	if (!t) {
		snprintf(buf, len, "?");
		return;
	}
	switch (t->kind) {
	case TY_BIT: snprintf(buf, len, "bit<%d>", t->width); return;
	case TY_INT: snprintf(buf, len, "int<%d>", t->width); return;
	case TY_VARBIT: snprintf(buf, len, "varbit<%d>", t->width); return;
	case TY_INFINT: snprintf(buf, len, "int"); return;
	case TY_BOOL: snprintf(buf, len, "bool"); return;
	case TY_STRING: snprintf(buf, len, "string"); return;
	case TY_ERROR: snprintf(buf, len, "error"); return;
	case TY_VOID: snprintf(buf, len, "void"); return;
	case TY_MATCH_KIND: snprintf(buf, len, "match_kind"); return;
	case TY_STACK: {
		char e[128];
		type_str(t->elem, e, sizeof(e));
		snprintf(buf, len, "%s[%d]", e, t->size);
		return;
	}
	case TY_TUPLE: snprintf(buf, len, "tuple"); return;
	case TY_LIST: snprintf(buf, len, "list expression"); return;
	case TY_TABLE: snprintf(buf, len, "table %s", t->decl->name); return;
	case TY_ACTION: snprintf(buf, len, "action %s", t->decl->name); return;
	case TY_FUNCTION: snprintf(buf, len, "function %s", t->decl->name); return;
	case TY_APPLY_RESULT: snprintf(buf, len, "apply result"); return;
	case TY_ACTION_ENUM: snprintf(buf, len, "action_run"); return;
	case TY_UNKNOWN: snprintf(buf, len, "unknown"); return;
	default:
		snprintf(buf, len, "%s", t->decl && t->decl->name ? t->decl->name : "?");
	}
}

#define TS(t) ({ static __thread char _b[4][160]; static __thread int _i; \
		 char *_s = _b[_i++ & 3]; type_str((t), _s, 160); _s; })

static bool is_unknown(const struct p4t *t)
{
	return !t || t->kind == TY_UNKNOWN || t->kind == TY_TYPEVAR || t->kind == TY_DONTCARE;
}

static bool is_fixed(const struct p4t *t)
{
	return t && (t->kind == TY_BIT || t->kind == TY_INT);
}

static bool is_numeric(const struct p4t *t)
{
	return is_fixed(t) || (t && t->kind == TY_INFINT);
}

/* A serializable enum or a `type` stands for its underlying type in arithmetic. */
static const struct p4t *base_of(const struct p4t *t)
{
	for (int i = 0; t && i < 8; i++) {
		if (t->kind == TY_ENUM && t->elem)
			t = t->elem;
		else if (t->kind == TY_NEWTYPE)
			t = t->elem;
		else
			break;
	}
	return t;
}

/* ---- scopes ---- */

static void push_scope(struct ck *c, struct scope *s)
{
	memset(s, 0, sizeof(*s));
	s->parent = c->sc;
	c->sc = s;
}

static void pop_scope(struct ck *c)
{
	struct scope *s = c->sc;

	c->sc = s->parent;
	free(s->v);
}

static bool overloadable(const struct p4n *d)
{
	return d->kind == N_FUNCTION || d->kind == N_EXTERN_FUNC || d->kind == N_METHOD;
}

static void declare(struct ck *c, const char *name, struct p4n *d)
{
	struct scope *s = c->sc;

	if (!name)
		return;
	for (int i = 0; i < s->n; i++) {
		struct p4n *o = s->v[i].decl;
		if (strcmp(s->v[i].name, name))
			continue;
		if (overloadable(o) && overloadable(d) && o->kids.n != d->kids.n)
			continue;
		p4_error(c->p, d->loc, "redeclaration of '%s'", name);
		if (o->loc.file >= 0)
			p4_note(c->p, o->loc, "previous declaration of '%s' is here", name);
		return;
	}
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 16;
		struct sym *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			abort();
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct sym){ name, d };
}

static struct p4n *lookup(struct ck *c, const char *name, bool global_only)
{
	struct scope *s = c->sc;

	if (global_only)
		while (s->parent)
			s = s->parent;
	for (; s; s = s->parent)
		for (int i = s->n - 1; i >= 0; i--)
			if (!strcmp(s->v[i].name, name))
				return s->v[i].decl;
	return NULL;
}

/* Finds the declaration of name with a parameter list accepting nargs
 * arguments, among overloads in the innermost scope that has the name. */
static int required_params(const struct p4_list *params);

static struct p4n *lookup_overload(struct ck *c, const char *name, int nargs)
{
	for (struct scope *s = c->sc; s; s = s->parent) {
		struct p4n *first = NULL;
		for (int i = s->n - 1; i >= 0; i--) {
			struct p4n *d = s->v[i].decl;
			if (strcmp(s->v[i].name, name))
				continue;
			if (!first)
				first = d;
			if (overloadable(d) && nargs >= required_params(&d->kids) &&
			    nargs <= d->kids.n)
				return d;
		}
		if (first)
			return first;
	}
	return NULL;
}

/* ---- types from syntax ---- */

static struct p4t *check_expr(struct ck *c, struct p4n *e);
static struct p4_loc start_loc(const struct p4n *e);
static bool const_eval(struct ck *c, struct p4n *e, int64_t *v, int depth);

static int const_width(struct ck *c, struct p4n *w, int min)
{
	int64_t v;

	if (!w)
		return -1;
	check_expr(c, w);
	if (!const_eval(c, w, &v, 0)) {
		p4_error(c->p, start_loc(w), "width must be a compile-time constant");
		return -1;
	}
	if (v < min || v > 65536) {
		p4_error(c->p, w->loc, "invalid width %" PRId64, v);
		return -1;
	}
	return (int)v;
}

static struct p4t *decl_type(struct ck *c, struct p4n *d);

static struct p4t *resolve_type(struct ck *c, struct p4n *t)
{
	struct p4t *r = &c->unknown;
	int w;

	if (!t)
		return r;
	switch (t->kind) {
	case Y_BASE:
		switch (t->op) {
		case K_BOOL: r = &c->t_bool; break;
		case K_ERROR: r = &c->t_error; break;
		case K_STRING: r = &c->t_string; break;
		case K_INT: r = &c->t_infint; break;
		case K_VOID: r = &c->t_void; break;
		case K_MATCH_KIND: r = &c->t_match_kind; break;
		case K_DONTCARE: r = &c->t_dontcare; break;
		case K_BIT: r = mk_bits(c, TY_BIT, 1); break;
		}
		break;
	case Y_BIT: case Y_INT: case Y_VARBIT:
		w = const_width(c, t->a, t->kind == Y_INT ? 1 : 0);
		if (w >= 0)
			r = mk_bits(c, t->kind == Y_BIT ? TY_BIT : t->kind == Y_INT ? TY_INT : TY_VARBIT, w);
		break;
	case Y_NAME: {
		struct p4n *d = lookup(c, t->name, t->op);
		for (int i = 0; i < t->kids.n; i++)
			resolve_type(c, t->kids.v[i]);
		if (!d) {
			p4_error(c->p, t->loc, "unknown type '%s'", t->name);
			break;
		}
		t->decl = d;
		r = decl_type(c, d);
		if (!r) {
			p4_error(c->p, t->loc, "'%s' is not a type", t->name);
			r = &c->unknown;
		}
		break;
	}
	case Y_STACK: {
		struct p4t *el = resolve_type(c, t->a);
		int64_t n;
		check_expr(c, t->b);
		if (!const_eval(c, t->b, &n, 0) || n < 0 || n > 1 << 20) {
			p4_error(c->p, t->b->loc, "header stack size must be a non-negative compile-time constant");
			break;
		}
		if (!is_unknown(el) && el->kind != TY_HEADER && el->kind != TY_HUNION) {
			p4_error(c->p, t->a->loc, "header stack elements must be headers or header unions, not %s",
				 TS(el));
			break;
		}
		r = mk(c, TY_STACK);
		r->elem = el;
		r->size = (int)n;
		break;
	}
	case Y_TUPLE:
		r = mk(c, TY_TUPLE);
		r->n = t->kids.n;
		r->elems = p4_alloc(c->a, sizeof(*r->elems) * (r->n + 1));
		for (int i = 0; i < t->kids.n; i++)
			r->elems[i] = resolve_type(c, t->kids.v[i]);
		break;
	default:
		break;
	}
	t->type = r;
	return r;
}

/* The type a declaration stands for when named as a type, or NULL. */
static struct p4t *decl_type(struct ck *c, struct p4n *d)
{
	switch (d->kind) {
	case N_HEADER: case N_STRUCT: case N_HEADER_UNION: case N_ENUM: case N_TYPEDEF:
	case N_EXTERN: case N_PARSER_TYPE: case N_CONTROL_TYPE: case N_PACKAGE:
	case N_PARSER: case N_CONTROL: case N_TYPE_PARAM:
		return d->type ? d->type : &c->unknown;
	default:
		return NULL;
	}
}

/* ---- compatibility ---- */

static bool same_type(const struct p4t *a, const struct p4t *b)
{
	if (is_unknown(a) || is_unknown(b))
		return true;
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case TY_BIT: case TY_INT: case TY_VARBIT:
		return a->width == b->width;
	case TY_HEADER: case TY_STRUCT: case TY_HUNION: case TY_ENUM: case TY_EXTERN:
	case TY_NEWTYPE:
		return a->decl == b->decl;
	case TY_STACK:
		return a->size == b->size && same_type(a->elem, b->elem);
	case TY_TUPLE:
		if (a->n != b->n)
			return false;
		for (int i = 0; i < a->n; i++)
			if (!same_type(a->elems[i], b->elems[i]))
				return false;
		return true;
	default:
		return true;
	}
}

static bool fits(uint64_t v, bool big, const struct p4t *t)
{
	if (big)
		return t->width >= 64;
	if (t->kind == TY_BIT)
		return t->width >= 64 || v < (1ull << t->width);
	if (t->kind == TY_INT) {
		int64_t s = (int64_t)v;
		if (t->width >= 64)
			return true;
		return s >= -(1ll << (t->width - 1)) && s < (1ll << (t->width - 1));
	}
	return true;
}

/* Can a value of type src (expression e, for literals and lists) go where
 * dst is expected? */
static bool assignable(struct ck *c, const struct p4t *dst, const struct p4t *src, struct p4n *e)
{
	if (is_unknown(dst) || is_unknown(src))
		return true;
	if (src->kind == TY_INFINT) {
		const struct p4t *b = base_of(dst);
		return b && (is_numeric(b) || b->kind == TY_VARBIT);
	}
	if (src->kind == TY_LIST && e && (e->kind == E_LIST || e->kind == E_STRUCT_INIT)) {
		struct p4n *fd = dst->decl;
		if (dst->kind == TY_TUPLE) {
			if (dst->n != e->kids.n)
				return false;
			for (int i = 0; i < e->kids.n; i++)
				if (!assignable(c, dst->elems[i], e->kids.v[i]->type, e->kids.v[i]))
					return false;
			return true;
		}
		if (dst->kind != TY_STRUCT && dst->kind != TY_HEADER)
			return false;
		if (fd->kids.n != e->kids.n)
			return false;
		for (int i = 0; i < e->kids.n; i++) {
			struct p4n *v = e->kids.v[i], *f = fd->kids.v[i];
			if (e->kind == E_STRUCT_INIT) {
				f = NULL;
				for (int j = 0; j < fd->kids.n; j++)
					if (!strcmp(fd->kids.v[j]->name, v->name))
						f = fd->kids.v[j];
				if (!f)
					return false;
				v = v->a;
			}
			if (!assignable(c, f->type, v->type, v))
				return false;
		}
		return true;
	}
	if (same_type(dst, src))
		return true;
	/* serializable enums convert to their underlying type */
	if (src->kind == TY_ENUM && src->elem && same_type(dst, src->elem))
		return true;
	return false;
}

/* ---- constants ---- */

static bool const_eval(struct ck *c, struct p4n *e, int64_t *v, int depth)
{
	int64_t a, b;

	if (!e || depth > 32)
		return false;
	switch (e->kind) {
	case E_INT:
		if (e->big)
			return false;
		*v = (int64_t)e->ival;
		return true;
	case E_BOOL:
		*v = e->op;
		return true;
	case E_PATH: {
		struct p4n *d = e->decl ? e->decl : lookup(c, e->name, e->op);
		if (d && d->kind == N_CONST)
			return const_eval(c, d->b, v, depth + 1);
		if (d && d->kind == N_ENUM_MEMBER && d->a)
			return const_eval(c, d->a, v, depth + 1);
		return false;
	}
	case E_CAST:
		return const_eval(c, e->b, v, depth + 1);
	case E_UNARY:
		if (!const_eval(c, e->a, &a, depth + 1))
			return false;
		*v = e->op == P_MINUS ? -a : e->op == P_TILDE ? ~a : e->op == P_BANG ? !a : a;
		return true;
	case E_BINARY:
		if (!const_eval(c, e->a, &a, depth + 1) || !const_eval(c, e->b, &b, depth + 1))
			return false;
		switch (e->op) {
		case P_PLUS: *v = (int64_t)((uint64_t)a + (uint64_t)b); return true;
		case P_MINUS: *v = (int64_t)((uint64_t)a - (uint64_t)b); return true;
		case P_STAR: *v = (int64_t)((uint64_t)a * (uint64_t)b); return true;
		case P_SLASH: if (!b || (a == INT64_MIN && b == -1)) return false; *v = a / b; return true;
		case P_PERCENT: if (!b || (a == INT64_MIN && b == -1)) return false; *v = a % b; return true;
		case P_SHL: if (b < 0 || b > 62) return false; *v = (int64_t)((uint64_t)a << b); return true;
		case P_SHR: if (b < 0 || b > 63) return false; *v = a >> b; return true;
		case P_AMP: *v = a & b; return true;
		case P_PIPE: *v = a | b; return true;
		case P_CARET: *v = a ^ b; return true;
		default: return false;
		}
	default:
		return false;
	}
}

/* ---- expressions ---- */

/* Where an expression starts: messages about a whole value point there. */
static struct p4_loc start_loc(const struct p4n *e)
{
	for (int i = 0; i < 64 && e; i++) {
		switch (e->kind) {
		case E_MEMBER: case E_INDEX: case E_SLICE: case E_CALL: case E_BINARY:
		case E_TERNARY: case E_MASK: case E_RANGE:
			if (!e->a)
				return e->loc;
			e = e->a;
			break;
		case E_NAMED_ARG:
			return e->loc;
		default:
			return e->loc;
		}
	}
	return e ? e->loc : (struct p4_loc){ -1, 0, 0 };
}

static struct p4t *set(struct p4n *e, struct p4t *t)
{
	e->type = t;
	return t;
}

static struct p4n *find_field(struct p4n *decl, const char *name)
{
	for (int i = 0; decl && i < decl->kids.n; i++)
		if (decl->kids.v[i]->kind == N_FIELD && !strcmp(decl->kids.v[i]->name, name))
			return decl->kids.v[i];
	return NULL;
}

static const char *kind_word(const struct p4t *t)
{
	switch (t->kind) {
	case TY_HEADER: return "header";
	case TY_STRUCT: return "struct";
	case TY_HUNION: return "header_union";
	default: return "type";
	}
}

static struct p4n *find_error(struct ck *c, const char *name)
{
	for (int i = 0; i < c->errors.n; i++)
		if (!strcmp(c->errors.v[i]->name, name))
			return c->errors.v[i];
	return NULL;
}

/* The value a name stands for in an expression. */
static struct p4t *path_type(struct ck *c, struct p4n *e)
{
	struct p4n *d = lookup(c, e->name, e->op);

	if (!d) {
		p4_error(c->p, e->loc, "undeclared identifier '%s'", e->name);
		return set(e, &c->unknown);
	}
	e->decl = d;
	switch (d->kind) {
	case N_CONST: case N_VAR: case N_PARAM: case N_INSTANCE: case N_VALUE_SET:
	case N_ENUM_MEMBER:
		return set(e, d->type ? d->type : &c->unknown);
	case N_ACTION: return set(e, mk_named(c, TY_ACTION, d));
	case N_TABLE: return set(e, mk_named(c, TY_TABLE, d));
	case N_FUNCTION: case N_EXTERN_FUNC: return set(e, mk_named(c, TY_FUNCTION, d));
	case N_STATE: return set(e, mk_named(c, TY_STATE, d));
	default:
		/* a type named as a value: for member access (E.A) and constructors */
		return set(e, decl_type(c, d) ? decl_type(c, d) : &c->unknown);
	}
}

static bool names_type(const struct p4n *e)
{
	return (e->kind == E_PATH && e->decl && !(e->decl->kind == N_CONST || e->decl->kind == N_VAR ||
		e->decl->kind == N_PARAM || e->decl->kind == N_INSTANCE || e->decl->kind == N_VALUE_SET ||
		e->decl->kind == N_ENUM_MEMBER || e->decl->kind == N_ACTION || e->decl->kind == N_TABLE ||
		e->decl->kind == N_FUNCTION || e->decl->kind == N_EXTERN_FUNC || e->decl->kind == N_STATE)) ||
	       e->kind == E_TYPE;
}

static struct p4t *member_type(struct ck *c, struct p4n *e)
{
	struct p4t *bt = check_expr(c, e->a), *b = bt;

	if (is_unknown(bt))
		return set(e, &c->unknown);
	if (e->a->kind == E_TYPE && bt->kind == TY_ERROR) {
		struct p4n *m = find_error(c, e->name);
		if (!m) {
			p4_error(c->p, e->loc, "no error '%s' declared", e->name);
			return set(e, &c->unknown);
		}
		e->decl = m;
		return set(e, &c->t_error);
	}
	if (names_type(e->a)) {
		if (bt->kind == TY_ENUM) {
			struct p4n *ed = bt->decl;
			for (int i = 0; i < ed->kids.n; i++)
				if (!strcmp(ed->kids.v[i]->name, e->name)) {
					e->decl = ed->kids.v[i];
					return set(e, bt);
				}
			p4_error(c->p, e->loc, "no member '%s' in enum '%s'", e->name, ed->name);
			return set(e, &c->unknown);
		}
		p4_error(c->p, e->loc, "type %s has no member '%s'", TS(bt), e->name);
		return set(e, &c->unknown);
	}
	switch (b->kind) {
	case TY_HEADER: case TY_STRUCT: case TY_HUNION: {
		struct p4n *f = find_field(b->decl, e->name);
		if (f) {
			e->decl = f;
			return set(e, f->type ? f->type : &c->unknown);
		}
		p4_error(c->p, e->loc, "no field '%s' in %s '%s'", e->name, kind_word(b), b->decl->name);
		return set(e, &c->unknown);
	}
	case TY_STACK:
		if (!strcmp(e->name, "next") || !strcmp(e->name, "last")) {
			if (c->ctx != CX_PARSER)
				p4_error(c->p, e->loc, "'%s' of a header stack is only allowed in parsers", e->name);
			return set(e, b->elem);
		}
		if (!strcmp(e->name, "size") || !strcmp(e->name, "lastIndex"))
			return set(e, &c->t_bit32);
		p4_error(c->p, e->loc, "no member '%s' in header stack %s", e->name, TS(b));
		return set(e, &c->unknown);
	case TY_APPLY_RESULT:
		if (!strcmp(e->name, "hit") || !strcmp(e->name, "miss"))
			return set(e, &c->t_bool);
		if (!strcmp(e->name, "action_run"))
			return set(e, mk_named(c, TY_ACTION_ENUM, b->decl));
		p4_error(c->p, e->loc, "no member '%s' in the result of applying table '%s' (hit, miss, action_run)",
			 e->name, b->decl->name);
		return set(e, &c->unknown);
	default:
		p4_error(c->p, e->loc, "no member '%s' in a value of type %s", e->name, TS(b));
		return set(e, &c->unknown);
	}
}

/* Is e assignable? what is a format with one %s for the object, such as
 * "assign to %s". */
static bool lvalue(struct ck *c, struct p4n *e, bool report, const char *what)
{
	char obj[160], msg[400];
	struct p4n *d;

	switch (e->kind) {
	case E_PATH:
		d = e->decl;
		if (!d)
			return true;	/* already reported */
		if (d->kind == N_VAR || (d->kind == N_PARAM && (d->op == DIR_OUT || d->op == DIR_INOUT)))
			return true;
		if (report) {
			const char *why = d->kind == N_CONST ? "it is a constant" :
				d->kind == N_PARAM ? (d->op == DIR_IN ? "it is an 'in' parameter" :
						      "it is a directionless parameter") :
				"it is not a variable";
			snprintf(obj, sizeof(obj), "'%s'", e->name);
			snprintf(msg, sizeof(msg), what, obj);
			p4_error(c->p, e->loc, "cannot %s: %s", msg, why);
		}
		return false;
	case E_MEMBER:
		if (e->a->type && (e->a->type->kind == TY_STACK) &&
		    (!strcmp(e->name, "size") || !strcmp(e->name, "lastIndex")))
			break;
		if (names_type(e->a) || (e->a->type && e->a->type->kind == TY_APPLY_RESULT))
			break;
		return lvalue(c, e->a, report, what);
	case E_INDEX: case E_SLICE:
		return lvalue(c, e->a, report, what);
	case E_DONTCARE:
		return true;
	default:
		break;
	}
	if (report) {
		snprintf(msg, sizeof(msg), what, "this expression");
		p4_error(c->p, start_loc(e), "cannot %s: it is not a variable", msg);
	}
	return false;
}

static int required_params(const struct p4_list *params)
{
	int n = 0;

	for (int i = 0; i < params->n; i++) {
		struct p4n *p = params->v[i];
		bool optional = p->b != NULL;
		for (int j = 0; j < p->annos.n; j++)
			optional |= !strcmp(p->annos.v[j]->name, "optional");
		if (!optional)
			n = i + 1;
	}
	return n;
}

/* Checks call arguments against parameters [from, from+count). */
static void check_args(struct ck *c, struct p4n *call, struct p4_list *args,
		       const struct p4_list *params, int from, int count, const char *what,
		       const char *name)
{
	int req = 0;
	struct p4_list sub = { params->v ? params->v + from : NULL, count, count };

	req = required_params(&sub);
	for (int i = 0; i < args->n; i++)
		check_expr(c, args->v[i]);
	if (args->n < req || args->n > count) {
		if (req == count)
			p4_error(c->p, start_loc(call), "%s '%s' expects %d argument%s, but %d %s given", what,
				 name, count, count == 1 ? "" : "s", args->n, args->n == 1 ? "was" : "were");
		else
			p4_error(c->p, start_loc(call), "%s '%s' expects %d to %d arguments, but %d %s given",
				 what, name, req, count, args->n, args->n == 1 ? "was" : "were");
		return;
	}
	for (int i = 0; i < args->n; i++) {
		struct p4n *a = args->v[i], *prm = NULL;
		if (a->kind == E_NAMED_ARG) {
			for (int j = 0; j < count; j++)
				if (!strcmp(params->v[from + j]->name, a->name))
					prm = params->v[from + j];
			if (!prm) {
				p4_error(c->p, a->loc, "%s '%s' has no parameter '%s'", what, name, a->name);
				continue;
			}
			a = a->a;
		} else {
			prm = params->v[from + i];
		}
		if (a->kind == E_DONTCARE) {
			if (prm->op != DIR_OUT)
				p4_error(c->p, a->loc, "'_' can only be passed to an 'out' parameter");
			continue;
		}
		if (prm->op == DIR_OUT || prm->op == DIR_INOUT) {
			char w[160];
			snprintf(w, sizeof(w), "pass %%s to %s parameter '%s'",
				 prm->op == DIR_OUT ? "out" : "inout", prm->name);
			lvalue(c, a, true, w);
		}
		if (!assignable(c, prm->type, a->type, a))
			p4_error(c->p, start_loc(a), "argument for parameter '%s' of %s '%s' has type %s, expected %s",
				 prm->name, what, name, TS(a->type), TS(prm->type));
	}
}

static int count_directional(struct p4n *action)
{
	int n = 0;

	for (int i = 0; i < action->kids.n; i++)
		if (action->kids.v[i]->op != DIR_NONE)
			n++;
	return n;
}

/* The method of extern ext called name that takes nargs arguments, else the
 * first of that name (its call is then reported); name NULL looks for a
 * constructor (a method without a return type). */
static struct p4n *find_method(struct p4n *ext, const char *name, int nargs)
{
	struct p4n *first = NULL;

	for (int i = 0; ext && i < ext->kids.n; i++) {
		struct p4n *m = ext->kids.v[i];
		if (name ? !m->a || strcmp(m->name, name) : m->a != NULL)
			continue;
		if (!first)
			first = m;
		if (nargs >= required_params(&m->kids) && nargs <= m->kids.n)
			return m;
	}
	return first;
}

static struct p4_list *apply_params(struct p4n *d)
{
	if (d->kind == N_PARSER || d->kind == N_CONTROL)
		return &d->a->kids;
	return &d->kids;
}

static void check_all_args(struct ck *c, struct p4_list *args)
{
	for (int i = 0; i < args->n; i++)
		check_expr(c, args->v[i]);
}

/* A constructor call `T(args)`: the instance's type. */
static struct p4t *construct(struct ck *c, struct p4n *at, struct p4t *t, struct p4_list *args)
{
	struct p4n *d = t->decl;

	if (is_unknown(t) || !d) {
		check_all_args(c, args);
		return &c->unknown;
	}
	switch (t->kind) {
	case TY_EXTERN: {
		struct p4n *ctor = find_method(d, NULL, args->n);
		if (!ctor) {
			p4_error(c->p, at->loc, "extern '%s' has no constructor", d->name);
			check_all_args(c, args);
			break;
		}
		check_args(c, at, args, &ctor->kids, 0, ctor->kids.n, "constructor of", d->name);
		break;
	}
	case TY_PARSER: case TY_CONTROL:
		if (d->kind == N_PARSER || d->kind == N_CONTROL)
			check_args(c, at, args, &d->kids2, 0, d->kids2.n, "constructor of", d->name);
		else {
			p4_error(c->p, at->loc, "'%s' is a type declaration and cannot be instantiated", d->name);
			check_all_args(c, args);
		}
		break;
	case TY_PACKAGE:
		check_args(c, at, args, &d->kids, 0, d->kids.n, "package", d->name);
		break;
	default:
		p4_error(c->p, at->loc, "cannot instantiate type %s", TS(t));
		check_all_args(c, args);
		return &c->unknown;
	}
	return t;
}

static struct p4t *method_call(struct ck *c, struct p4n *e, struct p4n *callee)
{
	struct p4t *bt = check_expr(c, callee->a);
	const char *m = callee->name;

	if (is_unknown(bt)) {
		check_all_args(c, &e->kids);
		return set(e, &c->unknown);
	}
	if (!strcmp(m, "minSizeInBits") || !strcmp(m, "minSizeInBytes") ||
	    !strcmp(m, "maxSizeInBits") || !strcmp(m, "maxSizeInBytes")) {
		check_args(c, e, &e->kids, &(struct p4_list){ 0 }, 0, 0, "method", m);
		return set(e, &c->t_infint);
	}
	if (names_type(callee->a) && (bt->kind == TY_PARSER || bt->kind == TY_CONTROL) &&
	    !strcmp(m, "apply")) {
		/* direct application of a parser or control type */
		check_args(c, e, &e->kids, apply_params(bt->decl), 0, apply_params(bt->decl)->n,
			   "apply of", bt->decl->name);
		return set(e, &c->t_void);
	}
	switch (bt->kind) {
	case TY_HEADER: case TY_HUNION:
		if (!strcmp(m, "isValid")) {
			check_args(c, e, &e->kids, &(struct p4_list){ 0 }, 0, 0, "method", m);
			return set(e, &c->t_bool);
		}
		if (bt->kind == TY_HEADER && (!strcmp(m, "setValid") || !strcmp(m, "setInvalid"))) {
			check_args(c, e, &e->kids, &(struct p4_list){ 0 }, 0, 0, "method", m);
			lvalue(c, callee->a, true, m[3] == 'V' ? "call setValid on %s" : "call setInvalid on %s");
			return set(e, &c->t_void);
		}
		break;
	case TY_STACK:
		if (!strcmp(m, "push_front") || !strcmp(m, "pop_front")) {
			check_all_args(c, &e->kids);
			if (e->kids.n != 1)
				p4_error(c->p, start_loc(e), "method '%s' expects 1 argument, but %d were given",
					 m, e->kids.n);
			else if (!is_numeric(e->kids.v[0]->type) && !is_unknown(e->kids.v[0]->type))
				p4_error(c->p, e->kids.v[0]->loc, "'%s' needs an integer count", m);
			lvalue(c, callee->a, true, "change %s");
			return set(e, &c->t_void);
		}
		break;
	case TY_TABLE:
		if (!strcmp(m, "apply")) {
			check_args(c, e, &e->kids, &(struct p4_list){ 0 }, 0, 0, "apply of table", bt->decl->name);
			if (c->ctx != CX_APPLY && c->ctx != CX_CONTROL)
				p4_error(c->p, e->loc, "tables can only be applied in a control's apply block");
			return set(e, mk_named(c, TY_APPLY_RESULT, bt->decl));
		}
		break;
	case TY_PARSER: case TY_CONTROL:
		if (!strcmp(m, "apply")) {
			struct p4_list *ps = apply_params(bt->decl);
			check_args(c, e, &e->kids, ps, 0, ps->n, "apply of", bt->decl->name);
			return set(e, &c->t_void);
		}
		break;
	case TY_EXTERN: {
		struct p4n *md = find_method(bt->decl, m, e->kids.n);
		if (!md)
			break;
		callee->decl = md;
		check_args(c, e, &e->kids, &md->kids, 0, md->kids.n, "method", m);
		return set(e, md->type ? md->type : &c->unknown);
	}
	default:
		break;
	}
	check_all_args(c, &e->kids);
	p4_error(c->p, callee->loc, "%s has no method '%s'", TS(bt), m);
	return set(e, &c->unknown);
}

static struct p4t *call_type(struct ck *c, struct p4n *e)
{
	struct p4n *callee = e->a, *d;

	for (int i = 0; i < e->kids2.n; i++)
		resolve_type(c, e->kids2.v[i]);
	if (callee->kind == E_MEMBER)
		return method_call(c, e, callee);
	if (callee->kind != E_PATH) {
		check_expr(c, callee);
		check_all_args(c, &e->kids);
		p4_error(c->p, callee->loc, "this expression cannot be called");
		return set(e, &c->unknown);
	}
	d = lookup_overload(c, callee->name, e->kids.n);
	if (!d) {
		p4_error(c->p, callee->loc, "undeclared identifier '%s'", callee->name);
		check_all_args(c, &e->kids);
		return set(e, &c->unknown);
	}
	callee->decl = d;
	switch (d->kind) {
	case N_ACTION:
		if (c->ctx != CX_APPLY && c->ctx != CX_ACTION && c->ctx != CX_CONTROL)
			p4_error(c->p, callee->loc, "actions can only be called from controls and actions");
		check_args(c, e, &e->kids, &d->kids, 0, d->kids.n, "action", d->name);
		return set(e, &c->t_void);
	case N_FUNCTION: case N_EXTERN_FUNC:
		check_args(c, e, &e->kids, &d->kids, 0, d->kids.n, "function", d->name);
		return set(e, d->type ? d->type : &c->unknown);
	default:
		break;
	}
	struct p4t *t = decl_type(c, d);
	if (t) {
		callee->type = t;
		return set(e, construct(c, e, t, &e->kids));
	}
	check_all_args(c, &e->kids);
	p4_error(c->p, callee->loc, "'%s' cannot be called", callee->name);
	return set(e, &c->unknown);
}

static const char *op_name(int op)
{
	return op == P_SHR ? "'>>'" : p4_tok_name(op);
}

/* Result type of an arithmetic or bitwise operation, or NULL after reporting. */
static struct p4t *unify_numeric(struct ck *c, struct p4n *e, struct p4t *a, struct p4t *b)
{
	const struct p4t *ba = base_of(a), *bb = base_of(b);

	if (is_unknown(a) || is_unknown(b))
		return &c->unknown;
	if (!is_numeric(ba) || !is_numeric(bb)) {
		p4_error(c->p, e->loc, "cannot apply %s to operands of type %s and %s",
			 op_name(e->op), TS(a), TS(b));
		return NULL;
	}
	if (ba->kind == TY_INFINT)
		return (struct p4t *)bb;
	if (bb->kind == TY_INFINT)
		return (struct p4t *)ba;
	if (ba->kind != bb->kind || ba->width != bb->width) {
		p4_error(c->p, e->loc, "operands of %s have different types: %s and %s",
			 op_name(e->op), TS(a), TS(b));
		return NULL;
	}
	return (struct p4t *)ba;
}

static struct p4t *binary_type(struct ck *c, struct p4n *e)
{
	struct p4t *a = check_expr(c, e->a), *b = check_expr(c, e->b), *r;
	const struct p4t *ba = base_of(a), *bb = base_of(b);

	switch (e->op) {
	case P_ANDAND: case P_OROR:
		if (!is_unknown(a) && a->kind != TY_BOOL)
			p4_error(c->p, e->a->loc, "operand of %s must be bool, not %s", op_name(e->op), TS(a));
		if (!is_unknown(b) && b->kind != TY_BOOL)
			p4_error(c->p, e->b->loc, "operand of %s must be bool, not %s", op_name(e->op), TS(b));
		return set(e, &c->t_bool);
	case P_EQ: case P_NE:
		if (is_unknown(a) || is_unknown(b))
			return set(e, &c->t_bool);
		if ((is_numeric(ba) && is_numeric(bb)) || ba->kind == TY_VARBIT) {
			if (!unify_numeric(c, e, a, b))
				return set(e, &c->t_bool);
			return set(e, &c->t_bool);
		}
		if (!assignable(c, a, b, e->b) && !assignable(c, b, a, e->a))
			p4_error(c->p, e->loc, "cannot compare %s with %s", TS(a), TS(b));
		else if (a->kind == TY_LIST && b->kind == TY_LIST)
			p4_error(c->p, e->loc, "cannot compare two list expressions");
		return set(e, &c->t_bool);
	case P_LT: case P_GT: case P_LE: case P_GE:
		unify_numeric(c, e, a, b);
		return set(e, &c->t_bool);
	case P_SHL: case P_SHR:
		if (is_unknown(a) || is_unknown(b))
			return set(e, &c->unknown);
		if (!is_numeric(ba)) {
			p4_error(c->p, e->a->loc, "cannot shift a value of type %s", TS(a));
			return set(e, &c->unknown);
		}
		if (!(bb->kind == TY_BIT || bb->kind == TY_INFINT)) {
			p4_error(c->p, start_loc(e->b), "shift amount must be unsigned (bit<W> or an integer), not %s",
				 TS(b));
		} else if (e->b->kind == E_INT && (int64_t)e->b->ival < 0) {
			p4_error(c->p, e->b->loc, "shift amount must not be negative");
		}
		if (ba->kind == TY_INFINT && bb->kind != TY_INFINT)
			p4_error(c->p, e->loc, "shifting an arbitrary-precision integer needs a constant amount");
		return set(e, (struct p4t *)ba);
	case P_PLUSPLUS:
		if (is_unknown(a) || is_unknown(b))
			return set(e, &c->unknown);
		if (!is_fixed(ba) || !is_fixed(bb)) {
			p4_error(c->p, e->loc, "'++' needs fixed-width operands, not %s and %s", TS(a), TS(b));
			return set(e, &c->unknown);
		}
		return set(e, mk_bits(c, ba->kind, ba->width + bb->width));
	case P_STAR: case P_SLASH: case P_PERCENT: case P_PLUS: case P_MINUS:
	case P_PIPEPLUS: case P_PIPEMINUS: case P_AMP: case P_PIPE: case P_CARET:
		r = unify_numeric(c, e, a, b);
		if (r && (e->op == P_SLASH || e->op == P_PERCENT) && r->kind == TY_INT)
			p4_error(c->p, e->loc, "%s is not defined on signed fixed-width values", op_name(e->op));
		if (r && (e->op == P_PIPEPLUS || e->op == P_PIPEMINUS) && r->kind == TY_INFINT)
			p4_error(c->p, e->loc, "saturating %s needs a fixed-width operand", op_name(e->op));
		return set(e, r ? r : &c->unknown);
	default:
		return set(e, &c->unknown);
	}
}

static bool castable(const struct p4t *to, const struct p4t *from)
{
	const struct p4t *bt = base_of(to), *bf = base_of(from);

	if (is_unknown(to) || is_unknown(from) || same_type(to, from))
		return true;
	if (from->kind == TY_INFINT)
		return is_numeric(bt) || bt->kind == TY_BOOL;
	if (is_fixed(bt) && is_fixed(bf))
		return bt->kind == bf->kind || bt->width == bf->width;
	if (bt->kind == TY_BOOL && bf->kind == TY_BIT && bf->width == 1)
		return true;
	if (bf->kind == TY_BOOL && bt->kind == TY_BIT && bt->width == 1)
		return true;
	return same_type(bt, bf);
}

static struct p4t *check_expr_inner(struct ck *c, struct p4n *e)
{
	struct p4t *a, *b;
	int64_t hi, lo;

	switch (e->kind) {
	case E_INT:
		if (!e->has_width)
			return set(e, &c->t_infint);
		a = mk_bits(c, e->is_signed ? TY_INT : TY_BIT, e->width);
		if (!fits(e->ival, e->big, a))
			p4_error(c->p, e->loc, "value of literal %s does not fit in %s", e->name, TS(a));
		return set(e, a);
	case E_BOOL: return set(e, &c->t_bool);
	case E_STRING: return set(e, &c->t_string);
	case E_PATH: return path_type(c, e);
	case E_MEMBER: return member_type(c, e);
	case E_TYPE: return set(e, resolve_type(c, e->a));
	case E_DONTCARE: case E_DEFAULT: return set(e, &c->t_dontcare);
	case E_THIS: return set(e, &c->unknown);
	case E_CALL: return call_type(c, e);
	case E_NAMED_ARG: return set(e, check_expr(c, e->a));
	case E_INDEX:
		a = check_expr(c, e->a);
		b = check_expr(c, e->b);
		if (!is_unknown(b) && !is_numeric(base_of(b)))
			p4_error(c->p, e->b->loc, "index must be an integer, not %s", TS(b));
		if (is_unknown(a))
			return set(e, &c->unknown);
		if (a->kind == TY_STACK) {
			if (const_eval(c, e->b, &lo, 0) && (lo < 0 || lo >= a->size))
				p4_error(c->p, e->b->loc, "index %" PRId64 " out of range for %s", lo, TS(a));
			return set(e, a->elem);
		}
		if (a->kind == TY_TUPLE) {
			if (!const_eval(c, e->b, &lo, 0) || lo < 0 || lo >= a->n) {
				p4_error(c->p, e->b->loc, "tuple index must be a constant below %d", a->n);
				return set(e, &c->unknown);
			}
			return set(e, a->elems[lo]);
		}
		p4_error(c->p, e->loc, "cannot index a value of type %s", TS(a));
		return set(e, &c->unknown);
	case E_SLICE:
		a = check_expr(c, e->a);
		check_expr(c, e->b);
		check_expr(c, e->c);
		if (is_unknown(a))
			return set(e, mk_bits(c, TY_BIT, 0));
		if (!is_numeric(base_of(a))) {
			p4_error(c->p, e->loc, "cannot slice a value of type %s", TS(a));
			return set(e, &c->unknown);
		}
		if (!const_eval(c, e->b, &hi, 0) || !const_eval(c, e->c, &lo, 0)) {
			p4_error(c->p, e->b->loc, "slice bounds must be compile-time constants");
			return set(e, &c->unknown);
		}
		a = (struct p4t *)base_of(a);
		if (lo < 0 || hi < lo || (a->kind != TY_INFINT && hi >= a->width)) {
			p4_error(c->p, e->b->loc, "slice [%" PRId64 ":%" PRId64 "] is out of range for %s",
				 hi, lo, TS(a));
			return set(e, &c->unknown);
		}
		return set(e, mk_bits(c, TY_BIT, (int)(hi - lo + 1)));
	case E_UNARY:
		a = check_expr(c, e->a);
		if (is_unknown(a))
			return set(e, a);
		if (e->op == P_BANG) {
			if (a->kind != TY_BOOL)
				p4_error(c->p, e->loc, "operand of '!' must be bool, not %s", TS(a));
			return set(e, &c->t_bool);
		}
		b = (struct p4t *)base_of(a);
		if (!is_numeric(b) || (e->op == P_TILDE && b->kind == TY_INFINT)) {
			p4_error(c->p, e->loc, "cannot apply %s to a value of type %s", op_name(e->op), TS(a));
			return set(e, &c->unknown);
		}
		return set(e, b);
	case E_BINARY:
		return binary_type(c, e);
	case E_TERNARY:
		a = check_expr(c, e->a);
		if (!is_unknown(a) && a->kind != TY_BOOL)
			p4_error(c->p, e->a->loc, "condition of '?:' must be bool, not %s", TS(a));
		a = check_expr(c, e->b);
		b = check_expr(c, e->c);
		if (assignable(c, a, b, e->c))
			return set(e, a->kind == TY_INFINT ? b : a);
		if (assignable(c, b, a, e->b))
			return set(e, b);
		p4_error(c->p, e->loc, "branches of '?:' have different types: %s and %s", TS(a), TS(b));
		return set(e, &c->unknown);
	case E_CAST:
		a = resolve_type(c, e->a);
		b = check_expr(c, e->b);
		if (b->kind == TY_LIST ? !assignable(c, a, b, e->b) : !castable(a, b))
			p4_error(c->p, e->loc, "cannot cast %s to %s", TS(b), TS(a));
		return set(e, a);
	case E_LIST: case E_STRUCT_INIT:
		for (int i = 0; i < e->kids.n; i++)
			check_expr(c, e->kids.v[i]);
		return set(e, mk(c, TY_LIST));
	case E_MASK: case E_RANGE: case E_TUPLE_KS:
		/* only meaningful as keysets, checked there */
		p4_error(c->p, e->loc, "keyset expression outside a select case or table entry");
		return set(e, &c->unknown);
	default:
		return set(e, &c->unknown);
	}
}

static struct p4t *check_expr(struct ck *c, struct p4n *e)
{
	struct p4t *t;

	if (!e)
		return &c->unknown;
	if (e->type)
		return e->type;
	if (c->depth > 400)
		return set(e, &c->unknown);
	c->depth++;
	t = check_expr_inner(c, e);
	c->depth--;
	return t ? t : set(e, &c->unknown);
}

/* Checks e where a value of type want is expected. */
static void expect_type(struct ck *c, struct p4n *e, struct p4t *want, const char *what)
{
	struct p4t *t = check_expr(c, e);

	if (!assignable(c, want, t, e)) {
		p4_error(c->p, start_loc(e), "%s has type %s, expected %s", what, TS(t), TS(want));
		return;
	}
	if (t->kind == TY_INFINT && e->kind == E_INT && !e->big && is_fixed(base_of(want)) &&
	    !fits(e->ival, false, base_of(want)))
		p4_diag(c->p, IPDK_P4C_WARNING, e->loc, "value %s does not fit in %s and is truncated",
			e->name, TS(want));
}

/* ---- keysets ---- */

static void check_simple_keyset(struct ck *c, struct p4n *k, struct p4t *want)
{
	switch (k->kind) {
	case E_DEFAULT: case E_DONTCARE:
		k->type = &c->t_dontcare;
		return;
	case E_MASK: case E_RANGE:
		expect_type(c, k->a, want, "keyset value");
		expect_type(c, k->b, want, k->kind == E_MASK ? "mask" : "range bound");
		k->type = want;
		return;
	default: {
		struct p4t *t = check_expr(c, k);
		if (t->kind == TY_VALUE_SET) {
			if (!assignable(c, want, t->elem, NULL) &&
			    !(t->elem && t->elem->kind == TY_STRUCT))
				p4_error(c->p, k->loc, "value set of %s cannot match %s", TS(t->elem), TS(want));
			return;
		}
		expect_type(c, k, want, "keyset value");
	}
	}
}

/* Checks keyset k against key types want[0..n). */
static void check_keyset(struct ck *c, struct p4n *k, struct p4t **want, int n)
{
	if (k->kind == E_TUPLE_KS) {
		if (k->kids.n != n) {
			p4_error(c->p, k->loc, "keyset has %d element%s, expected %d", k->kids.n,
				 k->kids.n == 1 ? "" : "s", n);
			return;
		}
		for (int i = 0; i < n; i++)
			check_simple_keyset(c, k->kids.v[i], want[i]);
		return;
	}
	if (n != 1 && k->kind != E_DEFAULT && k->kind != E_DONTCARE) {
		struct p4t *t = check_expr(c, k);
		if (t->kind == TY_VALUE_SET)	/* a value set of structs matches many keys */
			return;
		p4_error(c->p, k->loc, "keyset has 1 element, expected %d", n);
		return;
	}
	check_simple_keyset(c, k, n ? want[0] : &c->unknown);
}

/* ---- statements ---- */

static void check_stmt(struct ck *c, struct p4n *s);
static void check_local(struct ck *c, struct p4n *d);

static void check_block(struct ck *c, struct p4n *b)
{
	struct scope sc;

	push_scope(c, &sc);
	for (int i = 0; i < b->kids.n; i++)
		check_stmt(c, b->kids.v[i]);
	pop_scope(c);
}

static struct p4n *table_action(struct p4n *table, const char *name)
{
	for (int i = 0; i < table->kids.n; i++) {
		struct p4n *pr = table->kids.v[i];
		if (pr->op != PROP_ACTIONS)
			continue;
		for (int j = 0; j < pr->kids.n; j++)
			if (!strcmp(pr->kids.v[j]->a->name, name))
				return pr->kids.v[j];
	}
	return NULL;
}

static void check_switch(struct ck *c, struct p4n *s)
{
	struct p4t *t = check_expr(c, s->a);
	bool actions = t->kind == TY_ACTION_ENUM;
	bool seen_default = false;

	if (!actions && !is_unknown(t)) {
		const struct p4t *b = base_of(t);
		if (!is_fixed(b) && b->kind != TY_ENUM && b->kind != TY_ERROR && b->kind != TY_INFINT)
			p4_error(c->p, s->a->loc, "cannot switch on a value of type %s", TS(t));
	}
	for (int i = 0; i < s->kids.n; i++) {
		struct p4n *cs = s->kids.v[i], *l = cs->a;
		if (seen_default)
			p4_error(c->p, l->loc, "switch label after 'default'");
		if (l->kind == E_DEFAULT) {
			seen_default = true;
		} else if (actions) {
			if (l->kind != E_PATH) {
				p4_error(c->p, l->loc, "switch on action_run needs action names as labels");
			} else if (!table_action(t->decl, l->name)) {
				p4_error(c->p, l->loc, "'%s' is not an action of table '%s'", l->name,
					 t->decl->name);
			}
		} else {
			expect_type(c, l, t, "switch label");
		}
		for (int j = 0; j < i && l->kind == E_PATH; j++) {
			struct p4n *o = s->kids.v[j]->a;
			if (o->kind == E_PATH && !strcmp(o->name, l->name))
				p4_error(c->p, l->loc, "duplicate switch label '%s'", l->name);
		}
		if (cs->b)
			check_block(c, cs->b);
		else if (i + 1 == s->kids.n)
			p4_error(c->p, l->loc, "the last switch case needs a block");
	}
}

static void check_stmt(struct ck *c, struct p4n *s)
{
	struct p4t *t;

	switch (s->kind) {
	case S_ASSIGN:
		t = check_expr(c, s->a);
		if (lvalue(c, s->a, true, "assign to %s"))
			expect_type(c, s->b, t, "value assigned");
		else
			check_expr(c, s->b);
		break;
	case S_CALL:
		if (s->a->kind != E_CALL)
			p4_error(c->p, s->a->loc, "expression is not a call");
		check_expr(c, s->a);
		break;
	case S_IF:
		t = check_expr(c, s->a);
		if (!is_unknown(t) && t->kind != TY_BOOL)
			p4_error(c->p, start_loc(s->a), "condition must be bool, not %s", TS(t));
		check_stmt(c, s->b);
		if (s->c)
			check_stmt(c, s->c);
		break;
	case S_BLOCK:
		check_block(c, s);
		break;
	case S_EXIT:
		if (c->ctx == CX_PARSER || c->ctx == CX_FUNCTION)
			p4_error(c->p, s->loc, "'exit' is not allowed in a %s",
				 c->ctx == CX_PARSER ? "parser" : "function");
		break;
	case S_RETURN:
		if (c->ctx == CX_PARSER) {
			p4_error(c->p, s->loc, "'return' is not allowed in a parser");
			break;
		}
		if (c->ctx != CX_FUNCTION) {
			if (s->a) {
				check_expr(c, s->a);
				p4_error(c->p, s->a->loc, "return with a value outside a function");
			}
			break;
		}
		if (!s->a) {
			if (c->ret && c->ret->kind != TY_VOID)
				p4_error(c->p, s->loc, "return without a value in a function returning %s",
					 TS(c->ret));
			break;
		}
		if (c->ret && c->ret->kind == TY_VOID) {
			check_expr(c, s->a);
			p4_error(c->p, s->a->loc, "return with a value in a function returning void");
			break;
		}
		expect_type(c, s->a, c->ret, "returned value");
		break;
	case S_SWITCH:
		check_switch(c, s);
		break;
	case S_DECL:
		check_local(c, s->a);
		break;
	default:
		break;
	}
}

/* ---- declarations ---- */

static void check_decl(struct ck *c, struct p4n *d);

static void declare_tparams(struct ck *c, struct p4_list *tps)
{
	for (int i = 0; i < tps->n; i++) {
		struct p4n *tp = tps->v[i];
		tp->type = mk_named(c, TY_TYPEVAR, tp);
		declare(c, tp->name, tp);
	}
}

/* Resolves parameter types and optionally declares the parameters. */
static void check_params(struct ck *c, struct p4_list *ps, bool declare_them, bool action)
{
	bool seen_none = false;

	for (int i = 0; i < ps->n; i++) {
		struct p4n *p = ps->v[i];
		p->type = resolve_type(c, p->a);
		if (p->type->kind == TY_VOID)
			p4_error(c->p, p->loc, "parameter '%s' cannot have type void", p->name);
		if (p->b)
			expect_type(c, p->b, p->type, "default value");
		bool dup = false;
		for (int j = 0; j < i && !dup; j++)
			if (!strcmp(ps->v[j]->name, p->name)) {
				p4_error(c->p, p->loc, "duplicate parameter '%s'", p->name);
				dup = true;
			}
		if (action) {
			if (p->op == DIR_NONE)
				seen_none = true;
			else if (seen_none)
				p4_error(c->p, p->loc,
					 "directional parameter '%s' follows a directionless one", p->name);
		}
		if (declare_them && !dup)
			declare(c, p->name, p);
	}
}

static bool header_field_ok(const struct p4t *t)
{
	const struct p4t *b = base_of(t);

	if (is_unknown(t))
		return true;
	if (b->kind == TY_BIT || b->kind == TY_INT || b->kind == TY_VARBIT || b->kind == TY_BOOL)
		return true;
	if (b->kind == TY_STRUCT) {
		for (int i = 0; i < b->decl->kids.n; i++)
			if (!header_field_ok(b->decl->kids.v[i]->type) ||
			    base_of(b->decl->kids.v[i]->type)->kind == TY_VARBIT)
				return false;
		return true;
	}
	return false;
}

static void check_fields(struct ck *c, struct p4n *d)
{
	struct scope sc;
	int varbits = 0;

	d->type = mk_named(c, d->kind == N_HEADER ? TY_HEADER : d->kind == N_STRUCT ? TY_STRUCT :
			   TY_HUNION, d);
	declare(c, d->name, d);
	push_scope(c, &sc);
	declare_tparams(c, &d->tparams);
	for (int i = 0; i < d->kids.n; i++) {
		struct p4n *f = d->kids.v[i];
		f->type = resolve_type(c, f->a);
		for (int j = 0; j < i; j++)
			if (!strcmp(d->kids.v[j]->name, f->name))
				p4_error(c->p, f->loc, "duplicate field '%s' in '%s'", f->name, d->name);
		if (d->kind == N_HEADER) {
			if (!header_field_ok(f->type))
				p4_error(c->p, f->a->loc,
					 "field '%s' of header '%s' has type %s; header fields must be bit, int, varbit, bool or serializable enums",
					 f->name, d->name, TS(f->type));
			else if (f->type->kind == TY_VARBIT && ++varbits > 1)
				p4_error(c->p, f->loc, "header '%s' has more than one varbit field", d->name);
		} else if (d->kind == N_HEADER_UNION) {
			if (!is_unknown(f->type) && f->type->kind != TY_HEADER)
				p4_error(c->p, f->a->loc, "field '%s' of header_union '%s' must be a header, not %s",
					 f->name, d->name, TS(f->type));
		} else if (f->type->kind == TY_VOID || f->type->kind == TY_PARSER ||
			   f->type->kind == TY_CONTROL || f->type->kind == TY_PACKAGE) {
			p4_error(c->p, f->a->loc, "field '%s' of struct '%s' cannot have type %s",
				 f->name, d->name, TS(f->type));
		}
	}
	pop_scope(c);
}

static void check_enum(struct ck *c, struct p4n *d)
{
	struct p4t *under = NULL;

	d->type = mk_named(c, TY_ENUM, d);
	if (d->a) {
		under = resolve_type(c, d->a);
		if (!is_unknown(under) && !is_fixed(base_of(under))) {
			p4_error(c->p, d->a->loc, "serializable enum '%s' needs a bit<W> or int<W> type, not %s",
				 d->name, TS(under));
			under = NULL;
		}
		d->type->elem = under;
	}
	declare(c, d->name, d);
	for (int i = 0; i < d->kids.n; i++) {
		struct p4n *m = d->kids.v[i];
		m->type = d->type;
		for (int j = 0; j < i; j++)
			if (!strcmp(d->kids.v[j]->name, m->name))
				p4_error(c->p, m->loc, "duplicate member '%s' in enum '%s'", m->name, d->name);
		if (m->a && under) {
			int64_t v;
			expect_type(c, m->a, under, "enum value");
			if (!const_eval(c, m->a, &v, 0))
				p4_error(c->p, m->a->loc, "enum value must be a compile-time constant");
		}
	}
}

static void check_extern(struct ck *c, struct p4n *d)
{
	struct scope sc;

	d->type = mk_named(c, TY_EXTERN, d);
	declare(c, d->name, d);
	push_scope(c, &sc);
	declare_tparams(c, &d->tparams);
	for (int i = 0; i < d->kids.n; i++) {
		struct p4n *m = d->kids.v[i];
		struct scope ms;
		if (!m->a && strcmp(m->name, d->name))
			p4_error(c->p, m->loc, "constructor '%s' must be named like its extern '%s'",
				 m->name, d->name);
		push_scope(c, &ms);
		declare_tparams(c, &m->tparams);
		m->type = m->a ? resolve_type(c, m->a) : d->type;
		check_params(c, &m->kids, false, false);
		pop_scope(c);
		for (int j = 0; j < i; j++) {
			struct p4n *o = d->kids.v[j];
			if (!strcmp(o->name, m->name) && o->kids.n == m->kids.n && !o->a == !m->a)
				p4_error(c->p, m->loc, "'%s' is declared twice with %d parameters in extern '%s'",
					 m->name, m->kids.n, d->name);
		}
	}
	pop_scope(c);
}

static void check_prototype(struct ck *c, struct p4n *d, enum p4t_kind k)
{
	struct scope sc;

	if (k != TY_UNKNOWN)
		d->type = mk_named(c, k, d);
	declare(c, d->name, d);
	push_scope(c, &sc);
	declare_tparams(c, &d->tparams);
	if (d->kind == N_EXTERN_FUNC)
		d->type = resolve_type(c, d->a);
	check_params(c, &d->kids, false, false);
	pop_scope(c);
}

static void check_action(struct ck *c, struct p4n *d)
{
	struct scope sc;
	enum ctx saved = c->ctx;

	declare(c, d->name, d);
	push_scope(c, &sc);
	check_params(c, &d->kids, true, true);
	c->ctx = CX_ACTION;
	if (d->b)
		check_block(c, d->b);
	c->ctx = saved;
	pop_scope(c);
}

static void check_function(struct ck *c, struct p4n *d)
{
	struct scope sc;
	enum ctx saved = c->ctx;
	struct p4t *saved_ret = c->ret;

	push_scope(c, &sc);
	declare_tparams(c, &d->tparams);
	d->type = resolve_type(c, d->a);
	check_params(c, &d->kids, false, false);
	pop_scope(c);
	declare(c, d->name, d);
	push_scope(c, &sc);
	declare_tparams(c, &d->tparams);
	for (int i = 0; i < d->kids.n; i++)
		declare(c, d->kids.v[i]->name, d->kids.v[i]);
	c->ctx = CX_FUNCTION;
	c->ret = d->type;
	if (d->b)
		check_block(c, d->b);
	c->ctx = saved;
	c->ret = saved_ret;
	pop_scope(c);
}

static void check_instance(struct ck *c, struct p4n *d)
{
	struct p4t *t = resolve_type(c, d->a);

	d->type = construct(c, d, t, &d->kids);
	if (d->kids2.n) {
		struct scope sc;
		enum ctx saved = c->ctx;
		push_scope(c, &sc);
		for (int i = 0; i < d->kids2.n; i++)
			check_function(c, d->kids2.v[i]);
		c->ctx = saved;
		pop_scope(c);
	}
	declare(c, d->name, d);
}

/* Returns the action an action reference names, or NULL after reporting. */
static struct p4n *resolve_action_ref(struct ck *c, struct p4n *r)
{
	struct p4n *d = lookup(c, r->a->name, r->a->op);

	if (!d) {
		p4_error(c->p, r->a->loc, "undeclared action '%s'", r->a->name);
		return NULL;
	}
	r->a->decl = d;
	if (d->kind != N_ACTION) {
		p4_error(c->p, r->a->loc, "'%s' is not an action", r->a->name);
		return NULL;
	}
	return d;
}

/* default_action and entries name an action with all its arguments. */
static void check_bound_action(struct ck *c, struct p4n *table, struct p4n *at, struct p4n *ref,
			       struct p4_list *args, const char *what)
{
	struct p4n *act, *listed;

	act = lookup(c, ref->name, ref->op);
	if (!act) {
		check_all_args(c, args);
		p4_error(c->p, ref->loc, "undeclared action '%s'", ref->name);
		return;
	}
	ref->decl = act;
	if (act->kind != N_ACTION) {
		check_all_args(c, args);
		p4_error(c->p, ref->loc, "'%s' is not an action", ref->name);
		return;
	}
	listed = table_action(table, ref->name);
	if (!listed)
		p4_error(c->p, ref->loc, "%s '%s' is not in the actions of table '%s'", what, ref->name,
			 table->name);
	check_args(c, at, args, &act->kids, 0, act->kids.n, "action", act->name);
}

static void check_table(struct ck *c, struct p4n *t)
{
	struct p4t *keys[64];
	int nkeys = 0;
	bool has_actions = false;

	declare(c, t->name, t);
	for (int i = 0; i < t->kids.n; i++) {
		struct p4n *pr = t->kids.v[i];
		for (int j = 0; j < i; j++)
			if (!strcmp(t->kids.v[j]->name, pr->name))
				p4_error(c->p, pr->loc, "duplicate property '%s' in table '%s'", pr->name, t->name);
		switch (pr->op) {
		case PROP_KEY:
			for (int j = 0; j < pr->kids.n; j++) {
				struct p4n *k = pr->kids.v[j], *mk = lookup(c, k->name, false);
				struct p4t *kt = check_expr(c, k->a);
				if (nkeys < 64)
					keys[nkeys++] = kt;
				k->b->decl = mk;
				if (!mk)
					p4_error(c->p, k->b->loc, "unknown match_kind '%s'", k->name);
				else if (mk->kind != N_ENUM_MEMBER || !mk->type ||
					 mk->type->kind != TY_MATCH_KIND)
					p4_error(c->p, k->b->loc, "'%s' is not a match_kind", k->name);
				const struct p4t *b = base_of(kt);
				if (!is_unknown(kt) && !is_fixed(b) && b->kind != TY_BOOL &&
				    b->kind != TY_ERROR && b->kind != TY_ENUM && b->kind != TY_VARBIT)
					p4_error(c->p, k->a->loc, "table key cannot have type %s", TS(kt));
			}
			break;
		case PROP_ACTIONS:
			has_actions = true;
			for (int j = 0; j < pr->kids.n; j++) {
				struct p4n *r = pr->kids.v[j], *act = resolve_action_ref(c, r);
				for (int k = 0; k < j; k++)
					if (!strcmp(pr->kids.v[k]->a->name, r->a->name))
						p4_error(c->p, r->a->loc, "action '%s' listed twice in table '%s'",
							 r->a->name, t->name);
				if (!act) {
					check_all_args(c, &r->kids);
					continue;
				}
				/* the list binds only the directional parameters */
				check_args(c, r->a, &r->kids, &act->kids, 0, count_directional(act),
					   "action", act->name);
			}
			break;
		case PROP_ENTRIES:
			for (int j = 0; j < pr->kids.n; j++) {
				struct p4n *e = pr->kids.v[j];
				if (e->c)
					expect_type(c, e->c, &c->t_infint, "entry priority");
				check_keyset(c, e->a, keys, nkeys);
				check_bound_action(c, t, e->b->a, e->b->a, &e->b->kids, "entry action");
			}
			break;
		default:
			if (!strcmp(pr->name, "default_action")) {
				struct p4n *v = pr->a;
				if (v->kind == E_CALL && v->a->kind == E_PATH)
					check_bound_action(c, t, v, v->a, &v->kids, "default action");
				else if (v->kind == E_PATH)
					check_bound_action(c, t, v, v, &(struct p4_list){ 0 }, "default action");
				else
					p4_error(c->p, v->loc, "default_action must name an action");
			} else if (!strcmp(pr->name, "size")) {
				int64_t n;
				check_expr(c, pr->a);
				if (!const_eval(c, pr->a, &n, 0) || n < 0)
					p4_error(c->p, pr->a->loc, "table size must be a non-negative constant");
			} else {
				check_expr(c, pr->a);
			}
		}
	}
	if (!has_actions)
		p4_error(c->p, t->loc, "table '%s' has no actions property", t->name);
}

static void check_value_set(struct ck *c, struct p4n *d)
{
	int64_t n;

	d->type = mk(c, TY_VALUE_SET);
	d->type->elem = resolve_type(c, d->a);
	check_expr(c, d->b);
	if (!const_eval(c, d->b, &n, 0) || n < 0)
		p4_error(c->p, d->b->loc, "value_set size must be a non-negative constant");
	declare(c, d->name, d);
}

static void check_var(struct ck *c, struct p4n *d)
{
	d->type = resolve_type(c, d->a);
	if (d->type->kind == TY_VOID || d->type->kind == TY_INFINT || d->type->kind == TY_STRING)
		p4_error(c->p, d->a->loc, "variable '%s' cannot have type %s", d->name, TS(d->type));
	if (d->b)
		expect_type(c, d->b, d->type, "initializer");
	declare(c, d->name, d);
}

static void check_const(struct ck *c, struct p4n *d)
{
	int64_t v;

	d->type = resolve_type(c, d->a);
	expect_type(c, d->b, d->type, "constant value");
	if (is_numeric(d->type) && d->b->type && is_numeric(d->b->type) && !const_eval(c, d->b, &v, 0) &&
	    !(d->b->kind == E_INT && d->b->big))
		p4_error(c->p, d->b->loc, "value of constant '%s' is not a compile-time constant", d->name);
	declare(c, d->name, d);
}

/* Local declarations of blocks, parsers and controls. */
static void check_local(struct ck *c, struct p4n *d)
{
	switch (d->kind) {
	case N_CONST: check_const(c, d); break;
	case N_VAR: check_var(c, d); break;
	case N_INSTANCE: check_instance(c, d); break;
	case N_ACTION: check_action(c, d); break;
	case N_TABLE: check_table(c, d); break;
	case N_VALUE_SET: check_value_set(c, d); break;
	default: check_decl(c, d); break;
	}
}

static void check_state(struct ck *c, struct p4n *s)
{
	check_block(c, s);      /* the state's statements, in their own scope */
	if (!s->a) {
		p4_error(c->p, s->loc, "state '%s' has no transition", s->name);
		return;
	}
	struct p4n *t = s->a->a;
	struct p4n *targets[1];
	int ncase = t->kind == E_SELECT ? t->kids2.n : 1;
	for (int i = 0; i < ncase; i++) {
		struct p4n *p = t->kind == E_SELECT ? t->kids2.v[i]->b : t;
		struct p4n *d = lookup(c, p->name, false);
		targets[0] = d;
		if (!d || d->kind != N_STATE)
			p4_error(c->p, p->loc, "unknown state '%s'", p->name);
		p->decl = targets[0];
	}
	if (t->kind != E_SELECT)
		return;
	struct p4t *keys[64];
	int n = t->kids.n < 64 ? t->kids.n : 64;
	for (int i = 0; i < n; i++)
		keys[i] = check_expr(c, t->kids.v[i]);
	for (int i = 0; i < t->kids2.n; i++)
		check_keyset(c, t->kids2.v[i]->a, keys, n);
}

static void check_parser(struct ck *c, struct p4n *d)
{
	struct scope sc;
	enum ctx saved = c->ctx;
	struct p4n *accept, *reject;
	bool has_start = false;

	d->type = mk_named(c, TY_PARSER, d);
	d->a->type = d->type;
	push_scope(c, &sc);
	declare_tparams(c, &d->a->tparams);
	check_params(c, &d->a->kids, true, false);
	check_params(c, &d->kids2, true, false);
	accept = p4n_new(c->a, N_STATE, d->loc);
	accept->name = "accept";
	accept->loc.file = -1;
	reject = p4n_new(c->a, N_STATE, d->loc);
	reject->name = "reject";
	reject->loc.file = -1;
	declare(c, "accept", accept);
	declare(c, "reject", reject);
	c->ctx = CX_PARSER;
	/* states may be named before they are declared */
	for (int i = 0; i < d->kids.n; i++) {
		struct p4n *s = d->kids.v[i];
		if (s->kind != N_STATE)
			continue;
		declare(c, s->name, s);
		has_start |= !strcmp(s->name, "start");
	}
	for (int i = 0; i < d->kids.n; i++) {
		struct p4n *l = d->kids.v[i];
		if (l->kind == N_STATE)
			check_state(c, l);
		else
			check_local(c, l);
	}
	if (!has_start)
		p4_error(c->p, d->loc, "parser '%s' has no 'start' state", d->name);
	c->ctx = saved;
	pop_scope(c);
	declare(c, d->name, d);
}

static void check_control(struct ck *c, struct p4n *d)
{
	struct scope sc;
	enum ctx saved = c->ctx;

	d->type = mk_named(c, TY_CONTROL, d);
	d->a->type = d->type;
	push_scope(c, &sc);
	declare_tparams(c, &d->a->tparams);
	check_params(c, &d->a->kids, true, false);
	check_params(c, &d->kids2, true, false);
	c->ctx = CX_CONTROL;
	for (int i = 0; i < d->kids.n; i++)
		check_local(c, d->kids.v[i]);
	c->ctx = CX_APPLY;
	if (d->b)
		check_block(c, d->b);
	c->ctx = saved;
	pop_scope(c);
	declare(c, d->name, d);
}

static void check_decl(struct ck *c, struct p4n *d)
{
	switch (d->kind) {
	case N_CONST: check_const(c, d); break;
	case N_TYPEDEF:
		if (d->op) {
			d->type = mk_named(c, TY_NEWTYPE, d);
			d->type->elem = resolve_type(c, d->a);
		} else {
			d->type = resolve_type(c, d->a);
		}
		declare(c, d->name, d);
		break;
	case N_ENUM: check_enum(c, d); break;
	case N_ERROR_DECL:
		for (int i = 0; i < d->kids.n; i++) {
			struct p4n *m = d->kids.v[i], *o = find_error(c, m->name);
			if (o) {
				p4_error(c->p, m->loc, "error '%s' is declared twice", m->name);
				continue;
			}
			m->type = &c->t_error;
			p4_list_push(c->a, &c->errors, m);
		}
		break;
	case N_MATCH_KIND_DECL:
		for (int i = 0; i < d->kids.n; i++) {
			d->kids.v[i]->type = &c->t_match_kind;
			declare(c, d->kids.v[i]->name, d->kids.v[i]);
		}
		break;
	case N_HEADER: case N_STRUCT: case N_HEADER_UNION: check_fields(c, d); break;
	case N_EXTERN: check_extern(c, d); break;
	case N_EXTERN_FUNC: check_prototype(c, d, TY_UNKNOWN); break;
	case N_PARSER_TYPE: check_prototype(c, d, TY_PARSER); break;
	case N_CONTROL_TYPE: check_prototype(c, d, TY_CONTROL); break;
	case N_PACKAGE: check_prototype(c, d, TY_PACKAGE); break;
	case N_PARSER: check_parser(c, d); break;
	case N_CONTROL: check_control(c, d); break;
	case N_INSTANCE: check_instance(c, d); break;
	case N_FUNCTION: check_function(c, d); break;
	case N_ACTION: check_action(c, d); break;
	case N_VAR:
		check_var(c, d);
		p4_error(c->p, d->loc, "variables cannot be declared at the top level; use const");
		break;
	default:
		check_local(c, d);
		break;
	}
}

void p4_check(struct ipdk_p4c_program *p)
{
	struct ck c = { .p = p, .a = &p->arena };
	struct scope global;

	c.unknown.kind = TY_UNKNOWN;
	c.t_bool.kind = TY_BOOL;
	c.t_infint.kind = TY_INFINT;
	c.t_void.kind = TY_VOID;
	c.t_string.kind = TY_STRING;
	c.t_error.kind = TY_ERROR;
	c.t_match_kind.kind = TY_MATCH_KIND;
	c.t_dontcare.kind = TY_DONTCARE;
	c.t_bit32.kind = TY_BIT;
	c.t_bit32.width = 32;
	/* the built-in types live in the program's arena so nodes may point at them */
	struct ck *heap = p4_alloc(&p->arena, sizeof(*heap));
	*heap = c;
	push_scope(heap, &global);
	for (int i = 0; i < p->root->kids.n && !p->too_many; i++)
		check_decl(heap, p->root->kids.v[i]);
	pop_scope(heap);
}
