/*
 * Prints an AST back as P4_16 source. The output is meant for people reading
 * what the parser understood and for round-trip tests, so every binary,
 * unary, cast and ternary expression is fully parenthesised: the grouping the
 * parser chose is visible, and parsing the dump again gives the same tree
 * (dump(parse(dump(x))) == dump(x)).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p4c_int.h"

struct out {
	char *p;
	size_t len, cap;
	int indent;
	bool failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->failed = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
}

static void nl(struct out *o)
{
	put(o, "\n%*s", o->indent * 4, "");
}

static void expr(struct out *o, const struct p4n *e);
static void type(struct out *o, const struct p4n *t);
static void stmt(struct out *o, const struct p4n *s);
static void decl(struct out *o, const struct p4n *d);

static void annos(struct out *o, const struct p4_list *l)
{
	for (int i = 0; i < l->n; i++) {
		const struct p4n *a = l->v[i];
		put(o, "@%s", a->name);
		if (a->text)
			put(o, a->op ? "[%s]" : "(%s)", a->text);
		put(o, " ");
	}
}

static void list(struct out *o, const struct p4_list *l, void (*fn)(struct out *, const struct p4n *))
{
	for (int i = 0; i < l->n; i++) {
		if (i)
			put(o, ", ");
		fn(o, l->v[i]);
	}
}

static void type_arg_list(struct out *o, const struct p4_list *l)
{
	put(o, "<");
	list(o, l, type);
	put(o, ">");
}

static void width(struct out *o, const struct p4n *w)
{
	if (!w)
		put(o, "<?>");
	else if (w->kind == E_INT)
		put(o, "<%s>", w->name);
	else {
		put(o, "<(");
		expr(o, w);
		put(o, ")>");
	}
}

static void type(struct out *o, const struct p4n *t)
{
	if (!t) {
		put(o, "?");
		return;
	}
	switch (t->kind) {
	case Y_BASE:
		put(o, "%s", t->op == K_DONTCARE ? "_" : p4_tok_name(t->op));
		break;
	case Y_BIT: put(o, "bit"); width(o, t->a); break;
	case Y_INT: put(o, "int"); width(o, t->a); break;
	case Y_VARBIT: put(o, "varbit"); width(o, t->a); break;
	case Y_NAME:
		put(o, "%s%s", t->op ? "." : "", t->name);
		if (t->kids.n)
			type_arg_list(o, &t->kids);
		break;
	case Y_STACK:
		type(o, t->a);
		put(o, "[");
		expr(o, t->b);
		put(o, "]");
		break;
	case Y_TUPLE:
		put(o, "tuple");
		type_arg_list(o, &t->kids);
		break;
	default:
		put(o, "?");
	}
}

static const char *op_text(int op)
{
	return op == P_SHR ? ">>" : p4_tok_name(op);
}

static void expr(struct out *o, const struct p4n *e)
{
	if (!e) {
		put(o, "?");
		return;
	}
	switch (e->kind) {
	case E_INT: case E_STRING: put(o, "%s", e->name); break;
	case E_BOOL: put(o, e->op ? "true" : "false"); break;
	case E_PATH: put(o, "%s%s", e->op ? "." : "", e->name); break;
	case E_THIS: put(o, "this"); break;
	case E_DONTCARE: put(o, "_"); break;
	case E_DEFAULT: put(o, "default"); break;
	case E_TYPE: type(o, e->a); break;
	case E_MEMBER:
		expr(o, e->a);
		put(o, ".%s", e->name);
		break;
	case E_INDEX:
		expr(o, e->a);
		put(o, "[");
		expr(o, e->b);
		put(o, "]");
		break;
	case E_SLICE:
		expr(o, e->a);
		put(o, "[");
		expr(o, e->b);
		put(o, ":");
		expr(o, e->c);
		put(o, "]");
		break;
	case E_CALL:
		expr(o, e->a);
		if (e->kids2.n)
			type_arg_list(o, &e->kids2);
		put(o, "(");
		list(o, &e->kids, expr);
		put(o, ")");
		break;
	case E_NAMED_ARG:
		put(o, "%s = ", e->name);
		expr(o, e->a);
		break;
	case E_UNARY: {
		const char *t = op_text(e->op);
		put(o, "(%.1s", t + 1);	/* token names are quoted: '-' */
		expr(o, e->a);
		put(o, ")");
		break;
	}
	case E_BINARY: {
		const char *t = op_text(e->op);
		put(o, "(");
		expr(o, e->a);
		if (t[0] == '\'')
			put(o, " %.*s ", (int)strlen(t) - 2, t + 1);
		else
			put(o, " %s ", t);
		expr(o, e->b);
		put(o, ")");
		break;
	}
	case E_TERNARY:
		put(o, "(");
		expr(o, e->a);
		put(o, " ? ");
		expr(o, e->b);
		put(o, " : ");
		expr(o, e->c);
		put(o, ")");
		break;
	case E_CAST:
		put(o, "((");
		type(o, e->a);
		put(o, ")");
		expr(o, e->b);
		put(o, ")");
		break;
	case E_LIST: case E_STRUCT_INIT:
		put(o, "{");
		list(o, &e->kids, expr);
		put(o, "}");
		break;
	case E_MASK: case E_RANGE:
		expr(o, e->a);
		put(o, e->kind == E_MASK ? " &&& " : " .. ");
		expr(o, e->b);
		break;
	case E_TUPLE_KS:
		put(o, "(");
		list(o, &e->kids, expr);
		put(o, ")");
		break;
	default:
		put(o, "?");
	}
}

static void param(struct out *o, const struct p4n *p)
{
	static const char *const dirs[] = { "", "in ", "out ", "inout " };

	annos(o, &p->annos);
	put(o, "%s", dirs[p->op & 3]);
	type(o, p->a);
	put(o, " %s", p->name);
	if (p->b) {
		put(o, " = ");
		expr(o, p->b);
	}
}

static void params(struct out *o, const struct p4_list *l)
{
	put(o, "(");
	list(o, l, param);
	put(o, ")");
}

static void tparam(struct out *o, const struct p4n *t)
{
	put(o, "%s", t->name);
}

static void tparams(struct out *o, const struct p4_list *l)
{
	if (!l->n)
		return;
	put(o, "<");
	list(o, l, tparam);
	put(o, ">");
}

static void block(struct out *o, const struct p4n *b)
{
	put(o, "{");
	o->indent++;
	for (int i = 0; b && i < b->kids.n; i++) {
		nl(o);
		stmt(o, b->kids.v[i]);
	}
	o->indent--;
	nl(o);
	put(o, "}");
}

static void stmt(struct out *o, const struct p4n *s)
{
	annos(o, &s->annos);
	switch (s->kind) {
	case S_ASSIGN:
		expr(o, s->a);
		put(o, " = ");
		expr(o, s->b);
		put(o, ";");
		break;
	case S_CALL:
		expr(o, s->a);
		put(o, ";");
		break;
	case S_IF:
		put(o, "if (");
		expr(o, s->a);
		put(o, ") ");
		stmt(o, s->b);
		if (s->c) {
			put(o, " else ");
			stmt(o, s->c);
		}
		break;
	case S_BLOCK: block(o, s); break;
	case S_EXIT: put(o, "exit;"); break;
	case S_EMPTY: put(o, ";"); break;
	case S_RETURN:
		put(o, "return");
		if (s->a) {
			put(o, " ");
			expr(o, s->a);
		}
		put(o, ";");
		break;
	case S_SWITCH:
		put(o, "switch (");
		expr(o, s->a);
		put(o, ") {");
		o->indent++;
		for (int i = 0; i < s->kids.n; i++) {
			const struct p4n *c = s->kids.v[i];
			nl(o);
			expr(o, c->a);
			put(o, ":");
			if (c->b) {
				put(o, " ");
				block(o, c->b);
			}
		}
		o->indent--;
		nl(o);
		put(o, "}");
		break;
	case S_DECL:
		decl(o, s->a);
		break;
	default:
		put(o, "?;");
	}
}

static void members(struct out *o, const struct p4_list *l)
{
	put(o, "{");
	o->indent++;
	for (int i = 0; i < l->n; i++) {
		const struct p4n *m = l->v[i];
		nl(o);
		annos(o, &m->annos);
		put(o, "%s", m->name);
		if (m->a) {
			put(o, " = ");
			expr(o, m->a);
		}
		if (i + 1 < l->n)
			put(o, ",");
	}
	o->indent--;
	nl(o);
	put(o, "}");
}

static void action_ref(struct out *o, const struct p4n *r)
{
	annos(o, &r->annos);
	expr(o, r->a);
	if (r->op || r->kids.n) {
		put(o, "(");
		list(o, &r->kids, expr);
		put(o, ")");
	}
}

static void table_prop(struct out *o, const struct p4n *p)
{
	annos(o, &p->annos);
	put(o, "%s%s = ", p->is_const ? "const " : "", p->name);
	if (p->op == PROP_OTHER) {
		expr(o, p->a);
		put(o, ";");
		return;
	}
	put(o, "{");
	o->indent++;
	for (int i = 0; i < p->kids.n; i++) {
		const struct p4n *e = p->kids.v[i];
		nl(o);
		if (p->op == PROP_KEY) {
			expr(o, e->a);
			put(o, " : %s", e->name);
			if (e->annos.n)
				put(o, " ");
			annos(o, &e->annos);
		} else if (p->op == PROP_ACTIONS) {
			action_ref(o, e);
		} else {
			if (e->is_const)
				put(o, "const ");
			if (e->c) {
				put(o, "priority = ");
				expr(o, e->c);
				put(o, ": ");
			}
			expr(o, e->a);
			put(o, " : ");
			action_ref(o, e->b);
			if (e->annos.n)
				put(o, " ");
			annos(o, &e->annos);
		}
		put(o, ";");
	}
	o->indent--;
	nl(o);
	put(o, "}");
}

static void state(struct out *o, const struct p4n *s)
{
	put(o, "state %s {", s->name);
	o->indent++;
	for (int i = 0; i < s->kids.n; i++) {
		nl(o);
		stmt(o, s->kids.v[i]);
	}
	if (s->a) {
		const struct p4n *t = s->a->a;
		nl(o);
		put(o, "transition ");
		if (t->kind == E_SELECT) {
			put(o, "select(");
			list(o, &t->kids, expr);
			put(o, ") {");
			o->indent++;
			for (int i = 0; i < t->kids2.n; i++) {
				nl(o);
				expr(o, t->kids2.v[i]->a);
				put(o, ": %s;", t->kids2.v[i]->b->name);
			}
			o->indent--;
			nl(o);
			put(o, "}");
		} else {
			expr(o, t);
			put(o, ";");
		}
	}
	o->indent--;
	nl(o);
	put(o, "}");
}

static void body_list(struct out *o, const struct p4_list *l)
{
	o->indent++;
	for (int i = 0; i < l->n; i++) {
		nl(o);
		decl(o, l->v[i]);
	}
	o->indent--;
}

static void prototype(struct out *o, const struct p4n *m)
{
	if (m->a) {
		type(o, m->a);
		put(o, " ");
	}
	put(o, "%s", m->name);
	tparams(o, &m->tparams);
	params(o, &m->kids);
}

static void decl(struct out *o, const struct p4n *d)
{
	static const char *const fields_kw[] = {
		[N_HEADER] = "header", [N_HEADER_UNION] = "header_union", [N_STRUCT] = "struct",
	};

	annos(o, &d->annos);
	switch (d->kind) {
	case N_CONST:
		put(o, "const ");
		type(o, d->a);
		put(o, " %s = ", d->name);
		expr(o, d->b);
		put(o, ";");
		break;
	case N_VAR:
		type(o, d->a);
		put(o, " %s", d->name);
		if (d->b) {
			put(o, " = ");
			expr(o, d->b);
		}
		put(o, ";");
		break;
	case N_TYPEDEF:
		put(o, d->op ? "type " : "typedef ");
		type(o, d->a);
		put(o, " %s;", d->name);
		break;
	case N_ENUM:
		put(o, "enum ");
		if (d->a) {
			type(o, d->a);
			put(o, " ");
		}
		put(o, "%s ", d->name);
		members(o, &d->kids);
		break;
	case N_ERROR_DECL: put(o, "error "); members(o, &d->kids); break;
	case N_MATCH_KIND_DECL: put(o, "match_kind "); members(o, &d->kids); break;
	case N_HEADER: case N_HEADER_UNION: case N_STRUCT:
		put(o, "%s %s", fields_kw[d->kind], d->name);
		tparams(o, &d->tparams);
		put(o, " {");
		o->indent++;
		for (int i = 0; i < d->kids.n; i++) {
			nl(o);
			annos(o, &d->kids.v[i]->annos);
			type(o, d->kids.v[i]->a);
			put(o, " %s;", d->kids.v[i]->name);
		}
		o->indent--;
		nl(o);
		put(o, "}");
		break;
	case N_EXTERN:
		put(o, "extern %s", d->name);
		tparams(o, &d->tparams);
		put(o, " {");
		o->indent++;
		for (int i = 0; i < d->kids.n; i++) {
			const struct p4n *m = d->kids.v[i];
			nl(o);
			annos(o, &m->annos);
			if (m->op)
				put(o, "abstract ");
			prototype(o, m);
			put(o, ";");
		}
		o->indent--;
		nl(o);
		put(o, "}");
		break;
	case N_EXTERN_FUNC:
		put(o, "extern ");
		prototype(o, d);
		put(o, ";");
		break;
	case N_PARSER_TYPE: case N_CONTROL_TYPE: case N_PACKAGE:
		put(o, "%s %s", d->kind == N_PARSER_TYPE ? "parser" :
		    d->kind == N_CONTROL_TYPE ? "control" : "package", d->name);
		tparams(o, &d->tparams);
		params(o, &d->kids);
		put(o, ";");
		break;
	case N_PARSER: case N_CONTROL:
		put(o, "%s %s", d->kind == N_PARSER ? "parser" : "control", d->name);
		tparams(o, &d->a->tparams);
		params(o, &d->a->kids);
		if (d->kids2.n)
			params(o, &d->kids2);
		put(o, " {");
		body_list(o, &d->kids);
		if (d->kind == N_CONTROL) {
			o->indent++;
			nl(o);
			put(o, "apply ");
			block(o, d->b);
			o->indent--;
		}
		nl(o);
		put(o, "}");
		break;
	case N_STATE: state(o, d); break;
	case N_INSTANCE:
		type(o, d->a);
		put(o, "(");
		list(o, &d->kids, expr);
		put(o, ") %s", d->name);
		if (d->kids2.n) {
			put(o, " = {");
			body_list(o, &d->kids2);
			nl(o);
			put(o, "}");
		}
		put(o, ";");
		break;
	case N_FUNCTION:
		prototype(o, d);
		put(o, " ");
		block(o, d->b);
		break;
	case N_ACTION:
		put(o, "action %s", d->name);
		params(o, &d->kids);
		put(o, " ");
		block(o, d->b);
		break;
	case N_TABLE:
		put(o, "table %s {", d->name);
		o->indent++;
		for (int i = 0; i < d->kids.n; i++) {
			nl(o);
			table_prop(o, d->kids.v[i]);
		}
		o->indent--;
		nl(o);
		put(o, "}");
		break;
	case N_VALUE_SET:
		put(o, "value_set<");
		type(o, d->a);
		put(o, ">(");
		expr(o, d->b);
		put(o, ") %s;", d->name);
		break;
	default:
		put(o, "/* ? */");
	}
}

char *p4_dump(const struct p4n *root)
{
	struct out o = { 0 };

	for (int i = 0; root && i < root->kids.n; i++) {
		decl(&o, root->kids.v[i]);
		put(&o, "\n");
	}
	put(&o, "%s", "");
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	if (!o.p)
		return strdup("");
	return o.p;
}
