/*
 * Lowering of a checked P4_16 program into the mid-level IR (ir.h). The
 * architecture's package instance (`main`) names the parser, controls and
 * deparser; their parameters are bound by position to four flat objects: the
 * headers struct (every header becomes an instance, nested structs and stack
 * elements joined with '_'), the user metadata, and the architecture's input
 * and output metadata. Locals become metadata too, and every intermediate
 * value gets a fresh metadata temporary. Control flow becomes labels and
 * jumps: parser states, select cases, if/else, switch (on values and on
 * action_run), hit/miss, exit and return. Actions called from apply blocks
 * are inlined with their arguments bound; actions of tables are lowered once
 * each with their directionless parameters as action data.
 *
 * What a target cannot express is the back end's business; what the IR
 * cannot express (dynamic stack indexes, header unions, functions with
 * bodies, varbit values ...) is reported here at the offending construct as
 * "... is not supported by the DPDK target because ...", since DPDK is the
 * only back end so far.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- dictionary of places: "H.ethernet.dst_addr" -> header field ---- */

enum dk { D_HDR, D_HF, D_META, D_EXTERN, D_OP };

struct dent {
	const char *key;
	enum dk k;
	int h, i;
	struct ir_op op;	/* D_OP */
};

struct bind {
	struct p4n *decl;
	const char *prefix;	/* place prefix in the dictionary */
	int ext;		/* D_EXTERN */
	struct ir_op op;	/* bound value (inlined action arguments) */
	int kind;		/* 0 prefix, 1 extern, 2 operand, 3 action data parameter,
				 * 4 value set (ext: its index) */
};

struct stk {
	const char *key;	/* place key of the stack */
	int size;
	int next;		/* metadata holding nextIndex */
};

struct ugm {
	int h;			/* a member's header */
	int u;			/* its union */
};

struct lw {
	struct ir_prog *ir;
	struct ipdk_p4c_program *p;
	struct p4_arena *a;
	struct dent *d;
	int nd, capd;
	struct bind *b;
	int nb, capb;
	struct ir_code_list *code;
	struct ir_action *act;	/* action being lowered as table action data */
	const char *ctl;	/* name of the control or parser being lowered */
	int exit_label;		/* where exit goes */
	int ret_label;		/* where return goes (inlined action, apply block) */
	int m_exit;		/* metadata flag set by exit inside table actions, -1 */
	int last_table;
	int nlocal, ntmp, nhdr_int;
	int errors_before;
	int *act_of_decl_k;	/* parallel arrays: action decl -> ir action */
	struct p4n **act_decl;
	struct p4n **act_ref;	/* the actions-list entry that bound its directional parameters */
	int nad;
	struct p4n **key_expr;	/* per table key: expression to compute at apply, or NULL */
	int *key_tbl, *key_idx;
	int nke;
	int depth;
	struct p4_loc loc;	/* statement being lowered: instructions carry it */
	int at_call;		/* > 0: inlining an architecture action, keep the caller's loc */
	struct ir_op ret_val;	/* where `return e` of an inlined function puts e */
	int inlining;		/* depth of inlined actions and functions */
	bool in_parser;		/* lowering a parser: stack errors reject the packet */
	struct stk *stk;	/* header stacks */
	int nstk, capstk;
	struct ugm *ug;		/* header union members */
	int nug, capug, nunions;
};

#define fmt(w, ...) p4_afmt((w)->a, __VA_ARGS__)

static void unsupported(struct lw *w, struct p4_loc loc, const char *what, const char *why)
{
	p4_error(w->p, loc, "%s is not supported by the DPDK target because %s", what, why);
}

static void *grow(struct lw *w, void *v, int *cap, int n, size_t el)
{
	if (n < *cap)
		return v;
	int nc = *cap ? *cap * 2 : 16;
	void *nv = p4_alloc(w->a, el * nc);
	if (n)
		memcpy(nv, v, el * n);
	*cap = nc;
	return nv;
}

static struct dent *dict_find(struct lw *w, const char *key)
{
	for (int i = w->nd - 1; i >= 0; i--)
		if (!strcmp(w->d[i].key, key))
			return &w->d[i];
	return NULL;
}

static struct dent *dict_add(struct lw *w, const char *key, enum dk k, int h, int i)
{
	w->d = grow(w, w->d, &w->capd, w->nd, sizeof(*w->d));
	w->d[w->nd] = (struct dent){ .key = key, .k = k, .h = h, .i = i };
	return &w->d[w->nd++];
}

static void bind_push(struct lw *w, struct bind b)
{
	w->b = grow(w, w->b, &w->capb, w->nb, sizeof(*w->b));
	w->b[w->nb++] = b;
}

static struct bind *bind_find(struct lw *w, struct p4n *decl)
{
	for (int i = w->nb - 1; i >= 0; i--)
		if (w->b[i].decl == decl)
			return &w->b[i];
	return NULL;
}

/* ---- IR building ---- */

int ir_meta_add(struct ir_prog *ir, const char *name, int width)
{
	if (ir->nm == ir->capm) {
		int cap = ir->capm ? ir->capm * 2 : 64;
		struct ir_field *v = p4_alloc(&ir->p->arena, sizeof(*v) * cap);
		if (ir->nm)
			memcpy(v, ir->meta, sizeof(*v) * ir->nm);
		ir->meta = v;
		ir->capm = cap;
	}
	ir->meta[ir->nm] = (struct ir_field){ name, width };
	return ir->nm++;
}

int ir_header_add(struct ir_prog *ir, const char *name, const char *type_name, bool internal)
{
	if (ir->nh == ir->caph) {
		int cap = ir->caph ? ir->caph * 2 : 16;
		struct ir_header *v = p4_alloc(&ir->p->arena, sizeof(*v) * cap);
		if (ir->nh)
			memcpy(v, ir->hdrs, sizeof(*v) * ir->nh);
		ir->hdrs = v;
		ir->caph = cap;
	}
	ir->hdrs[ir->nh] = (struct ir_header){ .name = name, .type_name = type_name,
					       .internal = internal };
	return ir->nh++;
}

int ir_header_field_add(struct ir_prog *ir, int h, const char *name, int width)
{
	struct ir_header *hd = &ir->hdrs[h];
	struct ir_field *v = p4_alloc(&ir->p->arena, sizeof(*v) * (hd->nf + 1));

	if (hd->nf)
		memcpy(v, hd->f, sizeof(*v) * hd->nf);
	v[hd->nf] = (struct ir_field){ name, width };
	hd->f = v;
	return hd->nf++;
}

struct ir_insn *ir_emit(struct ir_prog *ir, struct ir_code_list *c, struct ir_insn in)
{
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		struct ir_insn *v = p4_alloc(&ir->p->arena, sizeof(*v) * cap);
		if (c->n)
			memcpy(v, c->v, sizeof(*v) * c->n);
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n] = in;
	return &c->v[c->n++];
}

static struct ir_insn *emit(struct lw *w, enum ir_code code, struct ir_op d, struct ir_op a,
			    struct ir_op b)
{
	return ir_emit(w->ir, w->code, (struct ir_insn){ .c = code, .d = d, .a = a, .b = b,
							 .label = -1, .obj = -1, .obj2 = -1, .loc = w->loc });
}

static struct ir_op none(void)
{
	return (struct ir_op){ .k = O_NONE };
}

static struct ir_op cst(uint64_t v, int width)
{
	if (width > 0 && width < 64)
		v &= (1ull << width) - 1;
	return (struct ir_op){ .k = O_CONST, .v = v, .width = width };
}

static struct ir_op meta_op(struct lw *w, int i)
{
	return (struct ir_op){ .k = O_META, .i = i, .width = w->ir->meta[i].width };
}

static struct ir_op hdr_op(int h)
{
	return (struct ir_op){ .k = O_HDR, .h = h };
}

static int new_label(struct lw *w)
{
	return w->ir->nlabels++;
}

static void label(struct lw *w, int l)
{
	emit(w, I_LABEL, none(), none(), none())->label = l;
}

static void jmp(struct lw *w, enum ir_code c, int l)
{
	emit(w, c, none(), none(), none())->label = l;
}

static struct ir_op tmp(struct lw *w, int width)
{
	int i = ir_meta_add(w->ir, fmt(w, "tmp_%d", w->ntmp++), width);
	return meta_op(w, i);
}

static void mov(struct lw *w, struct ir_op d, struct ir_op a)
{
	emit(w, I_MOV, d, a, none());
}

/* ---- types ---- */

static int type_width(const struct p4t *t)
{
	for (int i = 0; t && i < 8; i++) {
		switch (t->kind) {
		case TY_BIT: case TY_INT: return t->width;
		case TY_BOOL: return 1;
		case TY_ERROR: case TY_MATCH_KIND: return 8;
		case TY_ENUM:
			if (!t->elem)
				return 8;
			t = t->elem;
			break;
		case TY_NEWTYPE: t = t->elem; break;
		default: return -1;
		}
	}
	return -1;
}

static const char *anno_str(struct p4_list *annos, const char *name)
{
	for (int i = 0; i < annos->n; i++) {
		struct p4n *an = annos->v[i];
		if (!strcmp(an->name, name) && an->text) {
			const char *t = an->text;
			size_t n = strlen(t);
			(void)n;
			return t;
		}
	}
	return NULL;
}

static bool has_anno(struct p4_list *annos, const char *name)
{
	for (int i = 0; i < annos->n; i++)
		if (!strcmp(annos->v[i]->name, name))
			return true;
	return false;
}

/* The @name of a declaration without quotes, or NULL. */
static const char *name_anno(struct lw *w, struct p4_list *annos)
{
	const char *t = anno_str(annos, "name");
	size_t n;

	if (!t)
		return NULL;
	n = strlen(t);
	if (n >= 2 && t[0] == '"' && t[n - 1] == '"')
		return p4_strndup(w->a, t + 1, n - 2);
	return t;
}

/* Creates the flat objects of a value of type t named key in the dictionary
 * and name in the IR (headers) or metadata. */
static void make_place(struct lw *w, const char *key, const char *name, struct p4t *t,
		       struct p4_loc loc)
{
	if (dict_find(w, key))
		return;
	if (!t) {
		dict_add(w, key, D_META, 0, ir_meta_add(w->ir, name, 32));
		return;
	}
	switch (t->kind) {
	case TY_HEADER: {
		struct p4n *d = t->decl;
		int h = ir_header_add(w->ir, name, d->name, false);
		dict_add(w, key, D_HDR, h, 0);
		for (int i = 0; i < d->kids.n; i++) {
			struct p4n *f = d->kids.v[i];
			const struct p4t *ft = f->type;
			while (ft && ft->kind == TY_NEWTYPE)
				ft = ft->elem;
			bool vb = ft && ft->kind == TY_VARBIT && ft->width > 0;
			int wd = vb ? ft->width : type_width(f->type);
			if (wd <= 0) {
				unsupported(w, f->loc, fmt(w, "header field '%s' of this type", f->name),
					    "only fixed-width fields can be laid out in a header");
				wd = 8;
			}
			int fi = ir_header_field_add(w->ir, h, f->name, wd);
			w->ir->hdrs[h].f[fi].varbit = vb;
			dict_add(w, fmt(w, "%s.%s", key, f->name), D_HF, h, fi);
		}
		return;
	}
	case TY_STRUCT: {
		struct p4n *d = t->decl;
		dict_add(w, key, D_OP, 0, 0)->op.k = O_NONE;
		for (int i = 0; i < d->kids.n; i++) {
			struct p4n *f = d->kids.v[i];
			make_place(w, fmt(w, "%s.%s", key, f->name),
				   *name ? fmt(w, "%s_%s", name, f->name) : f->name, f->type, f->loc);
		}
		return;
	}
	case TY_STACK: {
		dict_add(w, key, D_OP, 0, 0)->op.k = O_NONE;
		for (int i = 0; i < t->size; i++)
			make_place(w, fmt(w, "%s[%d]", key, i), fmt(w, "%s_%d", name, i), t->elem, loc);
		/* nextIndex, for .next and .last in parsers */
		w->stk = grow(w, w->stk, &w->capstk, w->nstk, sizeof(*w->stk));
		w->stk[w->nstk++] = (struct stk){ key, t->size,
						  ir_meta_add(w->ir, fmt(w, "%s_next_index", name), 32) };
		return;
	}
	case TY_HUNION: {
		/* one header per member; making one valid invalidates the others */
		struct p4n *d = t->decl;
		int u = w->nunions++;
		dict_add(w, key, D_OP, 0, 0)->op.k = O_NONE;
		for (int i = 0; i < d->kids.n; i++) {
			struct p4n *f = d->kids.v[i];
			const char *mk = fmt(w, "%s.%s", key, f->name);
			make_place(w, mk, fmt(w, "%s_%s", name, f->name), f->type, f->loc);
			struct dent *md = dict_find(w, mk);
			if (!md || md->k != D_HDR)
				continue;
			w->ug = grow(w, w->ug, &w->capug, w->nug, sizeof(*w->ug));
			w->ug[w->nug++] = (struct ugm){ md->h, u };
		}
		return;
	}
	default: {
		int wd = type_width(t);
		if (wd <= 0) {
			unsupported(w, loc, fmt(w, "a value of this type ('%s')", name),
				    "it has no fixed width");
			wd = 8;
		}
		dict_add(w, key, D_META, 0, ir_meta_add(w->ir, name, wd));
	}
	}
}

/* ---- constants ---- */

/* Is t a signed integer type (int<W>, maybe behind typedefs and types)? */
static bool is_signed(const struct p4t *t)
{
	for (int i = 0; t && i < 8; i++) {
		if (t->kind == TY_INT)
			return true;
		if (t->kind != TY_NEWTYPE && t->kind != TY_ENUM)
			return false;
		t = t->elem;
	}
	return false;
}

static uint64_t sign_bit(int width)
{
	return width > 0 && width <= 64 ? 1ull << (width - 1) : 0;
}

/* v (width bits) sign-extended to 64 bits. */
static int64_t sext(uint64_t v, int width)
{
	if (width <= 0 || width >= 64)
		return (int64_t)v;
	v &= (1ull << width) - 1;
	return (int64_t)(v ^ sign_bit(width)) - (int64_t)sign_bit(width);
}

static bool eval(struct lw *w, struct p4n *e, uint64_t *v, int depth)
{
	uint64_t a, b;

	if (!e || depth > 32)
		return false;
	switch (e->kind) {
	case E_INT:
		if (e->big)
			return false;
		*v = e->ival;
		return true;
	case E_BOOL:
		*v = e->op;
		return true;
	case E_PATH:
		if (e->decl && e->decl->kind == N_CONST)
			return eval(w, e->decl->b, v, depth + 1);
		return false;
	case E_MEMBER:
		if (e->decl && e->decl->kind == N_ENUM_MEMBER && e->a && e->a->type &&
		    e->a->type->kind == TY_ENUM) {
			struct p4n *ed = e->a->type->decl;
			if (e->decl->a)
				return eval(w, e->decl->a, v, depth + 1);
			for (int i = 0; i < ed->kids.n; i++)
				if (ed->kids.v[i] == e->decl) {
					*v = (uint64_t)i;
					/* DPDK's meter colours: green 0, yellow 1, red 2 */
					if (!strcmp(ed->name, "PNA_MeterColor_t") ||
					    !strcmp(ed->name, "PSA_MeterColor_t"))
						*v = !strcmp(e->name, "GREEN") ? 0 :
						     !strcmp(e->name, "YELLOW") ? 1 : 2;
					return true;
				}
		}
		if (e->decl && e->decl->kind == N_ENUM_MEMBER && e->type && e->type->kind == TY_ERROR) {
			/* error members are numbered in declaration order */
			*v = (uint64_t)e->decl->ival;
			return true;
		}
		return false;
	case E_CAST:
		if (!eval(w, e->b, v, depth + 1))
			return false;
		if (is_signed(e->b->type) && type_width(e->b->type) > 0)
			*v = (uint64_t)sext(*v, type_width(e->b->type));
		if (type_width(e->type) > 0 && type_width(e->type) < 64)
			*v &= (1ull << type_width(e->type)) - 1;
		return true;
	case E_UNARY:
		if (!eval(w, e->a, &a, depth + 1))
			return false;
		*v = e->op == P_MINUS ? -a : e->op == P_TILDE ? ~a : e->op == P_BANG ? !a : a;
		if (type_width(e->type) > 0 && type_width(e->type) < 64)
			*v &= (1ull << type_width(e->type)) - 1;
		return true;
	case E_BINARY:
		if (!eval(w, e->a, &a, depth + 1) || !eval(w, e->b, &b, depth + 1))
			return false;
		switch (e->op) {
		case P_PLUS: *v = a + b; break;
		case P_MINUS: *v = a - b; break;
		case P_STAR: *v = a * b; break;
		case P_SLASH: if (!b) return false; *v = a / b; break;
		case P_PERCENT: if (!b) return false; *v = a % b; break;
		case P_SHL: *v = b > 63 ? 0 : a << b; break;
		case P_SHR:
			if (is_signed(e->a->type))
				*v = (uint64_t)(sext(a, type_width(e->a->type)) >> (b > 63 ? 63 : b));
			else
				*v = b > 63 ? 0 : a >> b;
			break;
		case P_AMP: *v = a & b; break;
		case P_PIPE: *v = a | b; break;
		case P_CARET: *v = a ^ b; break;
		case P_EQ: *v = a == b; break;
		case P_NE: *v = a != b; break;
		case P_LT: case P_GT: case P_LE: case P_GE:
			if (is_signed(e->a->type) || is_signed(e->b->type)) {
				int wd = type_width(is_signed(e->a->type) ? e->a->type : e->b->type);
				int64_t sa = sext(a, wd), sb = sext(b, wd);
				*v = e->op == P_LT ? sa < sb : e->op == P_GT ? sa > sb :
				     e->op == P_LE ? sa <= sb : sa >= sb;
			} else {
				*v = e->op == P_LT ? a < b : e->op == P_GT ? a > b :
				     e->op == P_LE ? a <= b : a >= b;
			}
			break;
		case P_ANDAND: *v = a && b; break;
		case P_OROR: *v = a || b; break;
		case P_PLUSPLUS:
			if (type_width(e->b->type) <= 0)
				return false;
			*v = (a << type_width(e->b->type)) | b;
			break;
		default: return false;
		}
		if (type_width(e->type) > 0 && type_width(e->type) < 64)
			*v &= (1ull << type_width(e->type)) - 1;
		return true;
	default:
		return false;
	}
}

/* ---- places and values ---- */

static struct ir_op lower_expr(struct lw *w, struct p4n *e, int want);
static void cond_jump(struct lw *w, struct p4n *e, int l, bool when);

/* The dictionary key of a place expression, or NULL when e is not one. */
static const char *place_key(struct lw *w, struct p4n *e)
{
	const char *base;
	uint64_t idx;

	switch (e->kind) {
	case E_PATH: {
		struct bind *b = e->decl ? bind_find(w, e->decl) : NULL;
		return b && b->kind == 0 ? b->prefix : NULL;
	}
	case E_MEMBER:
		if (e->a->type && (e->a->type->kind == TY_STACK) &&
		    (!strcmp(e->name, "next") || !strcmp(e->name, "last"))) {
			unsupported(w, e->loc, fmt(w, "header stack '.%s' here", e->name),
				    "only fields of it can be read and only pkt.extract() can fill it");
			return NULL;
		}
		base = place_key(w, e->a);
		return base ? fmt(w, "%s.%s", base, e->name) : NULL;
	case E_INDEX:
		base = place_key(w, e->a);
		if (!base)
			return NULL;
		if (!eval(w, e->b, &idx, 0)) {
			unsupported(w, e->b->loc, "a header stack index that is not a constant here",
				    "only fields of such an element can be read");
			return NULL;
		}
		return fmt(w, "%s[%" PRIu64 "]", base, idx);
	default:
		return NULL;
	}
}

static struct dent *place_of(struct lw *w, struct p4n *e)
{
	const char *k = place_key(w, e);

	return k ? dict_find(w, k) : NULL;
}

static struct ir_op dent_op(struct lw *w, struct dent *d)
{
	switch (d->k) {
	case D_HDR: return hdr_op(d->h);
	case D_HF:
		return (struct ir_op){ .k = O_HF, .h = d->h, .i = d->i,
				       .width = w->ir->hdrs[d->h].f[d->i].width };
	case D_META: return meta_op(w, d->i);
	case D_OP: return d->op;
	default: return none();
	}
}

/* Every dictionary entry of kind k strictly below key, in creation order. */
static int dict_below(struct lw *w, const char *key, enum dk k, struct dent **out, int max)
{
	size_t n = strlen(key);
	int c = 0;

	for (int i = 0; i < w->nd && c < max; i++)
		if (w->d[i].k == k && !strncmp(w->d[i].key, key, n) &&
		    (w->d[i].key[n] == '.' || w->d[i].key[n] == '['))
			out[c++] = &w->d[i];
	return c;
}

/* Writes a into d when d's width is narrower: the IR's mov truncates. */
static struct ir_op into(struct lw *w, struct ir_op v, int width)
{
	if (v.k == O_CONST) {
		return cst(v.v, width);
	}
	if (v.width == width || width <= 0)
		return v;
	struct ir_op t = tmp(w, width);
	mov(w, t, v);
	return t;
}

static struct ir_op materialize_bool(struct lw *w, struct p4n *e)
{
	struct ir_op t = tmp(w, 1);
	int l = new_label(w);
	uint64_t v;

	if (eval(w, e, &v, 0))
		return cst(!!v, 1);
	mov(w, t, cst(0, 1));
	cond_jump(w, e, l, false);
	mov(w, t, cst(1, 1));
	label(w, l);
	return t;
}

static bool is_bool_expr(struct p4n *e)
{
	return e->type && e->type->kind == TY_BOOL;
}

static struct ir_op binop(struct lw *w, enum ir_code c, struct ir_op a, struct ir_op b, int width)
{
	struct ir_op t = tmp(w, width);

	emit(w, c, t, a, b);
	return t;
}

static struct ir_op extern_call(struct lw *w, struct p4n *e, bool want_value);
static void jcmp(struct lw *w, int cmp, struct ir_op a, struct ir_op b, int l);
static bool stack_dyn_read(struct lw *w, struct p4n *e, int width, struct ir_op *out);
static void make_valid(struct lw *w, enum ir_code c, int h);

static uint64_t mask_bits(int width)
{
	return width >= 64 ? ~0ull : (1ull << width) - 1;
}

/* a >> b on int<width>: P4 shifts signed values arithmetically (copies of
 * the sign bit come in); SWX's shr is logical, so the sign is filled in. */
static struct ir_op signed_shr(struct lw *w, struct p4n *e, struct ir_op a, struct ir_op b, int width)
{
	if (b.k != O_CONST) {
		unsupported(w, e->loc, "shifting a signed value right by a variable amount",
			    "SWX shifts are logical and the sign fill needs a constant amount");
		return a;
	}
	uint64_t n = b.v >= (uint64_t)width ? (uint64_t)width - 1 : b.v;
	struct ir_op t = binop(w, I_SHR, a, cst(n, 8), width);
	int l = new_label(w);
	jcmp(w, IR_LT, a, cst(sign_bit(width), width), l);
	emit(w, I_OR, t, t, cst(mask_bits(width) & ~(mask_bits(width) >> n), width));
	label(w, l);
	return t;
}

static struct ir_op lower_expr_inner(struct lw *w, struct p4n *e, int want)
{
	int width = type_width(e->type);
	uint64_t v;
	struct dent *d;
	struct ir_op a, b;

	if (width <= 0)
		width = want > 0 ? want : 32;
	if (eval(w, e, &v, 0))
		return cst(v, width);
	if (is_bool_expr(e) && e->kind != E_PATH && e->kind != E_MEMBER && e->kind != E_CALL)
		return materialize_bool(w, e);
	switch (e->kind) {
	case E_INT:
		unsupported(w, e->loc, "an integer wider than 64 bits", "values go in 64-bit instructions");
		return cst(0, width);
	case E_PATH: {
		struct bind *bd = e->decl ? bind_find(w, e->decl) : NULL;
		if (bd && bd->kind == 2)
			return bd->op;
		if (bd && bd->kind == 3)
			return bd->op;
		d = place_of(w, e);
		if (d)
			return dent_op(w, d);
		break;
	}
	case E_MEMBER:
		if (e->a->type && e->a->type->kind == TY_APPLY_RESULT)
			return materialize_bool(w, e);
		if (e->a->type && e->a->type->kind == TY_STACK &&
		    (!strcmp(e->name, "size") || !strcmp(e->name, "lastIndex")))
			return cst(!strcmp(e->name, "size") ? e->a->type->size : e->a->type->size - 1, 32);
		{
			struct ir_op r;
			if (stack_dyn_read(w, e, width, &r))
				return r;
		}
		d = place_of(w, e);
		if (d)
			return dent_op(w, d);
		break;
	case E_INDEX:
		d = place_of(w, e);
		if (d)
			return dent_op(w, d);
		return cst(0, width);
	case E_SLICE: {
		uint64_t hi, lo;
		a = lower_expr(w, e->a, 64);
		eval(w, e->b, &hi, 0);
		eval(w, e->c, &lo, 0);
		struct ir_op t = tmp(w, (int)(hi - lo + 1));
		if (lo)
			emit(w, I_SHR, t, a, cst(lo, 8));
		else
			mov(w, t, a);
		return t;
	}
	case E_CAST:
		a = lower_expr(w, e->b, width);
		if (is_bool_expr(e->b) || width == a.width)
			return (struct ir_op){ .k = a.k, .h = a.h, .i = a.i, .v = a.v, .width = a.width };
		if (is_signed(e->b->type) && a.width > 0 && a.width < width && a.k != O_CONST) {
			/* widening a signed value copies its sign bit up */
			struct ir_op t = into(w, a, width);
			int l = new_label(w);
			jcmp(w, IR_LT, a, cst(sign_bit(a.width), a.width), l);
			emit(w, I_OR, t, t, cst(mask_bits(width) & ~mask_bits(a.width), width));
			label(w, l);
			return t;
		}
		return into(w, a, width);
	case E_UNARY:
		a = lower_expr(w, e->a, width);
		if (e->op == P_TILDE)
			return binop(w, I_NOT, a, none(), width);
		if (e->op == P_MINUS)
			return binop(w, I_SUB, cst(0, width), a, width);
		return a;
	case E_BINARY:
		if (e->op == P_PLUSPLUS) {
			int wb = type_width(e->b->type);
			a = lower_expr(w, e->a, 0);
			b = lower_expr(w, e->b, 0);
			struct ir_op t = tmp(w, width);
			mov(w, t, a);
			emit(w, I_SHL, t, t, cst(wb, 8));
			emit(w, I_OR, t, t, b);
			return t;
		}
		a = lower_expr(w, e->a, width);
		b = lower_expr(w, e->b, e->op == P_SHL || e->op == P_SHR ? 8 : width);
		switch (e->op) {
		case P_PLUS: return binop(w, I_ADD, a, b, width);
		case P_MINUS: return binop(w, I_SUB, a, b, width);
		case P_AMP: return binop(w, I_AND, a, b, width);
		case P_PIPE: return binop(w, I_OR, a, b, width);
		case P_CARET: return binop(w, I_XOR, a, b, width);
		case P_SHL: return binop(w, I_SHL, a, b, width);
		case P_SHR:
			if (is_signed(e->a->type))
				return signed_shr(w, e, a, b, width);
			return binop(w, I_SHR, a, b, width);
		case P_STAR:
			if (b.k == O_CONST && b.v && !(b.v & (b.v - 1)))
				return binop(w, I_SHL, a, cst(__builtin_ctzll(b.v), 8), width);
			if (a.k == O_CONST && a.v && !(a.v & (a.v - 1)))
				return binop(w, I_SHL, b, cst(__builtin_ctzll(a.v), 8), width);
			if (a.k == O_CONST || b.k == O_CONST) {
				/* by a constant: the sum of shifted copies, one per set bit */
				struct ir_op x = a.k == O_CONST ? b : a;
				uint64_t c = (a.k == O_CONST ? a.v : b.v) & mask_bits(width);
				struct ir_op t = tmp(w, width);
				mov(w, t, cst(0, width));
				for (int k = 0; k < 64 && c >> k; k++)
					if (c >> k & 1) {
						struct ir_op sh = k ? binop(w, I_SHL, x, cst(k, 8), width) : into(w, x, width);
						emit(w, I_ADD, t, t, sh);
					}
				return t;
			}
			unsupported(w, e->loc, "multiplication of two values that are not constants",
				    "SWX has no multiply instruction");
			return a;
		case P_SLASH: case P_PERCENT:
			if (b.k == O_CONST && b.v && !(b.v & (b.v - 1)))
				return e->op == P_SLASH ?
					binop(w, I_SHR, a, cst(__builtin_ctzll(b.v), 8), width) :
					binop(w, I_AND, a, cst(b.v - 1, width), width);
			unsupported(w, e->loc, fmt(w, "'%s' by a value that is not a constant power of two",
						   e->op == P_SLASH ? "/" : "%"),
				    "SWX has no divide instruction");
			return a;
		case P_PIPEPLUS: case P_PIPEMINUS:
			unsupported(w, e->loc, "saturating arithmetic", "SWX has no saturating instructions");
			return a;
		default:
			break;
		}
		break;
	case E_TERNARY: {
		struct ir_op t = tmp(w, width);
		int lf = new_label(w), le = new_label(w);
		cond_jump(w, e->a, lf, false);
		mov(w, t, lower_expr(w, e->b, width));
		jmp(w, I_JMP, le);
		label(w, lf);
		mov(w, t, lower_expr(w, e->c, width));
		label(w, le);
		return t;
	}
	case E_CALL:
		return extern_call(w, e, true);
	default:
		break;
	}
	unsupported(w, e->loc, "this expression", "it has no value the pipeline can hold");
	return cst(0, width);
}

static struct ir_op lower_expr(struct lw *w, struct p4n *e, int want)
{
	struct ir_op r;

	if (w->depth > 200) {
		unsupported(w, e->loc, "an expression nested this deeply", "it exceeds the compiler's limit");
		return cst(0, 8);
	}
	w->depth++;
	r = lower_expr_inner(w, e, want);
	w->depth--;
	return r;
}

/* ---- conditions ---- */

static int swap_cmp(int c)
{
	switch (c) {
	case IR_LT: return IR_GT;
	case IR_GT: return IR_LT;
	case IR_LE: return IR_GE;
	case IR_GE: return IR_LE;
	default: return c;
	}
}

static int neg_cmp(int c)
{
	static const int n[] = { IR_NE, IR_EQ, IR_GE, IR_LE, IR_GT, IR_LT };
	return n[c];
}

static void jcmp(struct lw *w, int cmp, struct ir_op a, struct ir_op b, int l)
{
	struct ir_insn *in;

	if (a.k == O_CONST && b.k != O_CONST) {
		struct ir_op t = a;
		a = b;
		b = t;
		cmp = swap_cmp(cmp);
	}
	in = emit(w, I_JCMP, none(), a, b);
	in->cmp = cmp;
	in->label = l;
}

static void apply_table(struct lw *w, struct p4n *call);

static struct ir_op flip_sign(struct lw *w, struct ir_op v, int width)
{
	if (v.k == O_CONST)
		return cst(v.v ^ sign_bit(width), width);
	return binop(w, I_XOR, into(w, v, width), cst(sign_bit(width), width), width);
}

/* Emits code that jumps to l when e evaluates to when, else falls through. */
static void cond_jump(struct lw *w, struct p4n *e, int l, bool when)
{
	uint64_t v;

	if (eval(w, e, &v, 0)) {
		if (!!v == when)
			jmp(w, I_JMP, l);
		return;
	}
	switch (e->kind) {
	case E_UNARY:
		if (e->op == P_BANG) {
			cond_jump(w, e->a, l, !when);
			return;
		}
		break;
	case E_BINARY:
		if (e->op == P_ANDAND || e->op == P_OROR) {
			bool and = e->op == P_ANDAND;
			if (when == and) {
				int skip = new_label(w);
				cond_jump(w, e->a, skip, !when);
				cond_jump(w, e->b, l, when);
				label(w, skip);
			} else {
				cond_jump(w, e->a, l, when);
				cond_jump(w, e->b, l, when);
			}
			return;
		}
		if (e->op >= P_LT && e->op <= P_NE) {
			int cmp = e->op == P_EQ ? IR_EQ : e->op == P_NE ? IR_NE : e->op == P_LT ? IR_LT :
				  e->op == P_GT ? IR_GT : e->op == P_LE ? IR_LE : IR_GE;
			int wd = type_width(e->a->type) > 0 ? type_width(e->a->type) : type_width(e->b->type);
			const struct p4t *ta = e->a->type;
			if (ta && (ta->kind == TY_HEADER || ta->kind == TY_STRUCT)) {
				unsupported(w, e->loc, "comparing headers or structs",
					    "SWX compares one field at a time");
				return;
			}
			struct ir_op a = is_bool_expr(e->a) ? materialize_bool(w, e->a) : lower_expr(w, e->a, wd);
			struct ir_op b = is_bool_expr(e->b) ? materialize_bool(w, e->b) : lower_expr(w, e->b, wd);
			if ((is_signed(e->a->type) || is_signed(e->b->type)) && cmp != IR_EQ && cmp != IR_NE &&
			    wd > 0 && wd <= 64) {
				/* signed order is unsigned order with the sign bits flipped */
				a = flip_sign(w, a, wd);
				b = flip_sign(w, b, wd);
			}
			if (a.k == O_CONST && b.k == O_CONST) {
				bool r = cmp == IR_EQ ? a.v == b.v : cmp == IR_NE ? a.v != b.v :
					 cmp == IR_LT ? a.v < b.v : cmp == IR_GT ? a.v > b.v :
					 cmp == IR_LE ? a.v <= b.v : a.v >= b.v;
				if (r == when)
					jmp(w, I_JMP, l);
				return;
			}
			jcmp(w, when ? cmp : neg_cmp(cmp), a, b, l);
			return;
		}
		break;
	case E_MEMBER:
		if (e->a->type && e->a->type->kind == TY_APPLY_RESULT && e->a->kind == E_CALL) {
			apply_table(w, e->a);
			bool hit = !strcmp(e->name, "hit");
			jmp(w, hit == when ? I_JHIT : I_JMISS, l);
			return;
		}
		break;
	case E_CALL:
		if (e->a->kind == E_MEMBER && !strcmp(e->a->name, "isValid")) {
			struct dent *d = place_of(w, e->a->a);
			if (d && d->k == D_OP && e->a->a->type && e->a->a->type->kind == TY_HUNION) {
				/* a union is valid when one of its members is */
				struct dent *mv[64];
				int n = dict_below(w, place_key(w, e->a->a), D_HDR, mv, 64), skip = new_label(w);
				for (int i = 0; i < n; i++)
					ir_emit(w->ir, w->code, (struct ir_insn){ .c = I_JVALID, .a = hdr_op(mv[i]->h),
						.label = when ? l : skip, .obj = -1, .obj2 = -1 });
				if (!when)
					jmp(w, I_JMP, l);
				label(w, skip);
				return;
			}
			if (!d || d->k != D_HDR) {
				unsupported(w, e->loc, "isValid() on this value", "only headers have validity");
				return;
			}
			ir_emit(w->ir, w->code, (struct ir_insn){ .c = when ? I_JVALID : I_JNVALID,
				.a = hdr_op(d->h), .label = l, .obj = -1, .obj2 = -1 });
			return;
		}
		break;
	default:
		break;
	}
	struct ir_op a = lower_expr(w, e, 1);
	jcmp(w, when ? IR_NE : IR_EQ, a, cst(0, a.width), l);
}

/* ---- assignment ---- */

static void assign_op(struct lw *w, struct p4n *lhs, struct ir_op v, struct p4_loc loc);

/* hd = hs for headers of one type: the fields, and the validity. */
static void copy_header(struct lw *w, int hd, int hs)
{
	int l = new_label(w), le = new_label(w);

	ir_emit(w->ir, w->code, (struct ir_insn){ .c = I_JNVALID, .a = hdr_op(hs), .label = l,
						  .obj = -1, .obj2 = -1 });
	make_valid(w, I_VALIDATE, hd);
	for (int f = 0; f < w->ir->hdrs[hd].nf; f++)
		mov(w, (struct ir_op){ .k = O_HF, .h = hd, .i = f, .width = w->ir->hdrs[hd].f[f].width },
		    (struct ir_op){ .k = O_HF, .h = hs, .i = f, .width = w->ir->hdrs[hs].f[f].width });
	jmp(w, I_JMP, le);
	label(w, l);
	emit(w, I_INVALIDATE, none(), hdr_op(hd), none());
	label(w, le);
}

static void assign_fields(struct lw *w, const char *dkey, const char *skey, struct p4_loc loc)
{
	struct dent *dv[512], *sv[512];
	int nd = dict_below(w, dkey, D_META, dv, 512), ns = dict_below(w, skey, D_META, sv, 512);
	int nhd, nhs;

	for (int i = 0; i < nd && i < ns; i++)
		mov(w, dent_op(w, dv[i]), dent_op(w, sv[i]));
	nhd = dict_below(w, dkey, D_HDR, dv, 512);
	nhs = dict_below(w, skey, D_HDR, sv, 512);
	for (int i = 0; i < nhd && i < nhs; i++)
		copy_header(w, dv[i]->h, sv[i]->h);
	(void)loc;
}

static void assign(struct lw *w, struct p4n *lhs, struct p4n *rhs)
{
	const struct p4t *t = lhs->type;

	if (lhs->kind == E_DONTCARE)
		return;
	if (t && (t->kind == TY_HEADER || t->kind == TY_STRUCT || t->kind == TY_STACK)) {
		const char *dk = place_key(w, lhs);
		if (!dk)
			return;
		if (rhs->kind == E_LIST || rhs->kind == E_STRUCT_INIT) {
			struct p4n *decl = t->decl;
			if (t->kind == TY_STACK || !decl)
				goto bad;
			if (t->kind == TY_HEADER) {
				/* valid first: SWX writes an invalid header's fields
				 * wherever the header last pointed */
				struct dent *hd = dict_find(w, dk);
				if (hd)
					make_valid(w, I_VALIDATE, hd->h);
			}
			for (int i = 0; i < rhs->kids.n && i < decl->kids.n; i++) {
				struct p4n *val = rhs->kids.v[i];
				const char *fname = decl->kids.v[i]->name;
				if (val->kind == E_NAMED_ARG) {
					fname = val->name;
					val = val->a;
				}
				struct dent *fd = dict_find(w, fmt(w, "%s.%s", dk, fname));
				if (!fd)
					goto bad;
				int wd = dent_op(w, fd).width;
				mov(w, dent_op(w, fd), is_bool_expr(val) ? materialize_bool(w, val) :
				    lower_expr(w, val, wd));
			}
			return;
		}
		const char *sk = place_key(w, rhs);
		if (!sk)
			goto bad;
		if (t->kind == TY_HEADER) {
			/* one header: its fields and its validity */
			struct dent *dh = dict_find(w, dk), *sh = dict_find(w, sk);
			if (!dh || !sh)
				goto bad;
			copy_header(w, dh->h, sh->h);
			return;
		}
		assign_fields(w, dk, sk, lhs->loc);
		return;
	}
	int wd = type_width(t);
	struct ir_op v = is_bool_expr(rhs) ? materialize_bool(w, rhs) : lower_expr(w, rhs, wd);
	assign_op(w, lhs, v, lhs->loc);
	return;
bad:
	unsupported(w, lhs->loc, "this assignment", "only fields, headers and structs of the same type can be copied");
}

static void assign_op(struct lw *w, struct p4n *lhs, struct ir_op v, struct p4_loc loc)
{
	if (lhs->kind == E_SLICE) {
		uint64_t hi, lo;
		eval(w, lhs->b, &hi, 0);
		eval(w, lhs->c, &lo, 0);
		struct ir_op base = lower_expr(w, lhs->a, 0);
		int wd = base.width, sw = (int)(hi - lo + 1);
		uint64_t m = sw >= 64 ? ~0ull : ((1ull << sw) - 1);
		uint64_t keep = ~(m << lo);
		if (wd < 64)
			keep &= (1ull << wd) - 1;
		struct ir_op t = tmp(w, wd);
		mov(w, t, v);
		emit(w, I_AND, t, t, cst(m, wd));
		if (lo)
			emit(w, I_SHL, t, t, cst(lo, 8));
		emit(w, I_AND, base, base, cst(keep, wd));
		emit(w, I_OR, base, base, t);
		return;
	}
	struct dent *d = place_of(w, lhs);
	if (d && (d->k == D_HF || d->k == D_META)) {
		mov(w, dent_op(w, d), v);
		return;
	}
	struct bind *bd = lhs->kind == E_PATH && lhs->decl ? bind_find(w, lhs->decl) : NULL;
	if (bd && bd->kind == 2 && bd->op.k == O_META) {
		mov(w, bd->op, v);
		return;
	}
	unsupported(w, loc, "assigning to this expression", "it is not a header or metadata field");
}

/* ---- header stacks and unions ---- */

/* The number of error member name (core.p4's errors come first). */
static uint64_t error_code(struct lw *w, const char *name)
{
	for (int i = 0; i < w->p->root->kids.n; i++) {
		struct p4n *d = w->p->root->kids.v[i];
		if (d->kind != N_ERROR_DECL)
			continue;
		for (int j = 0; j < d->kids.n; j++)
			if (!strcmp(d->kids.v[j]->name, name))
				return d->kids.v[j]->ival;
	}
	return 0;
}

/* Sets the parser error and rejects the packet. */
static void parser_fail(struct lw *w, const char *error)
{
	mov(w, meta_op(w, w->ir->m_parser_error), cst(error_code(w, error), 8));
	jmp(w, I_JMP, w->exit_label);
}

/* After header h became valid: the other members of its union are not. */
static void union_exclusive(struct lw *w, int h)
{
	for (int i = 0; i < w->nug; i++) {
		if (w->ug[i].h != h)
			continue;
		for (int j = 0; j < w->nug; j++)
			if (w->ug[j].u == w->ug[i].u && w->ug[j].h != h)
				emit(w, I_INVALIDATE, none(), hdr_op(w->ug[j].h), none());
	}
}

static void make_valid(struct lw *w, enum ir_code c, int h)
{
	emit(w, c, none(), hdr_op(h), none());
	union_exclusive(w, h);
}

/* Is e an element of a header stack picked at run time (s.next, s.last, or
 * s[i] with i not a constant)? Gives the stack and the index operand. */
static struct stk *stack_dyn(struct lw *w, struct p4n *e, struct ir_op *idx)
{
	uint64_t v;
	bool member = e->kind == E_MEMBER && (!strcmp(e->name, "next") || !strcmp(e->name, "last"));

	if (!(member || (e->kind == E_INDEX && !eval(w, e->b, &v, 0))) || !e->a->type ||
	    e->a->type->kind != TY_STACK)
		return NULL;
	const char *key = place_key(w, e->a);
	struct stk *s = NULL;
	for (int i = 0; key && i < w->nstk && !s; i++)
		if (!strcmp(w->stk[i].key, key))
			s = &w->stk[i];
	if (!s)
		return NULL;
	if (!member)
		*idx = lower_expr(w, e->b, 32);
	else if (e->name[0] == 'n')
		*idx = meta_op(w, s->next);
	else
		*idx = binop(w, I_SUB, meta_op(w, s->next), cst(1, 32), 32);
	return s;
}

/* A field of a stack element picked at run time: the element under e is
 * found by stack_dyn, the field path is what lies above it. Reads compare
 * the index with each element's and copy from the one that matches; an
 * index out of range is StackOutOfBounds in a parser and 0 elsewhere. */
static bool stack_dyn_read(struct lw *w, struct p4n *e, int width, struct ir_op *out)
{
	char suffix[256] = "";
	struct p4n *x = e;
	struct ir_op idx;

	while (x->kind == E_MEMBER && !(x->a->type && x->a->type->kind == TY_STACK)) {
		char t[256];
		snprintf(t, sizeof(t), ".%s%s", x->name, suffix);
		snprintf(suffix, sizeof(suffix), "%s", t);
		x = x->a;
	}
	if (x == e || !(x->kind == E_MEMBER || x->kind == E_INDEX))
		return false;
	struct p4n *el = x;
	if (!(el->a->type && el->a->type->kind == TY_STACK))
		return false;
	struct stk *s = stack_dyn(w, el, &idx);
	if (!s)
		return false;
	struct ir_op t = tmp(w, width);
	int done = new_label(w);
	for (int i = 0; i < s->size; i++) {
		struct dent *d = dict_find(w, fmt(w, "%s[%d]%s", s->key, i, suffix));
		if (!d || (d->k != D_HF && d->k != D_META))
			continue;
		int l = new_label(w);
		jcmp(w, IR_NE, idx, cst(i, 32), l);
		mov(w, t, dent_op(w, d));
		jmp(w, I_JMP, done);
		label(w, l);
	}
	if (w->in_parser)
		parser_fail(w, "StackOutOfBounds");
	else
		mov(w, t, cst(0, width));
	label(w, done);
	*out = t;
	return true;
}

/* pkt.extract(s.next): the element nextIndex names, then nextIndex + 1. */
static void extract_next(struct lw *w, struct stk *s, struct ir_op idx)
{
	int done = new_label(w);

	for (int i = 0; i < s->size; i++) {
		struct dent *d = dict_find(w, fmt(w, "%s[%d]", s->key, i));
		if (!d || d->k != D_HDR)
			continue;
		int l = new_label(w);
		jcmp(w, IR_NE, idx, cst(i, 32), l);
		make_valid(w, I_EXTRACT, d->h);
		jmp(w, I_JMP, done);
		label(w, l);
	}
	parser_fail(w, "StackOutOfBounds");
	label(w, done);
	emit(w, I_ADD, meta_op(w, s->next), meta_op(w, s->next), cst(1, 32));
}

/* ---- externs ---- */

static int ext_of(struct lw *w, struct p4n *e)
{
	struct bind *b;

	if (e->kind != E_PATH || !e->decl)
		return -1;
	b = bind_find(w, e->decl);
	return b && b->kind == 1 ? b->ext : -1;
}

/* Flattens a data argument ({a, b}, a header, a struct, a field) into
 * operands. */
static int flatten(struct lw *w, struct p4n *e, struct ir_op *out, int max)
{
	int n = 0;

	if (e->kind == E_LIST || e->kind == E_STRUCT_INIT) {
		for (int i = 0; i < e->kids.n && n < max; i++) {
			struct p4n *k = e->kids.v[i];
			n += flatten(w, k->kind == E_NAMED_ARG ? k->a : k, out + n, max - n);
		}
		return n;
	}
	if (e->type && (e->type->kind == TY_HEADER || e->type->kind == TY_STRUCT)) {
		const char *key = place_key(w, e);
		struct dent *dv[256];
		if (!key)
			return 0;
		if (e->type->kind == TY_HEADER) {
			struct dent *h = dict_find(w, key);
			for (int f = 0; h && f < w->ir->hdrs[h->h].nf && n < max; f++)
				out[n++] = (struct ir_op){ .k = O_HF, .h = h->h, .i = f,
							   .width = w->ir->hdrs[h->h].f[f].width };
			return n;
		}
		int c = dict_below(w, key, D_META, dv, 256);
		for (int i = 0; i < c && n < max; i++)
			out[n++] = dent_op(w, dv[i]);
		return n;
	}
	if (max > 0)
		out[n++] = is_bool_expr(e) ? materialize_bool(w, e) : lower_expr(w, e, 0);
	return n;
}

static struct ir_op *list_copy(struct lw *w, struct ir_op *v, int n)
{
	struct ir_op *c = p4_alloc(w->a, sizeof(*c) * (n + 1));
	memcpy(c, v, sizeof(*c) * n);
	return c;
}

static struct ir_insn *emit_obj(struct lw *w, enum ir_code c, int obj, struct ir_op d, struct ir_op a,
				struct ir_op b)
{
	struct ir_insn *in = emit(w, c, d, a, b);
	in->obj = obj;
	return in;
}

static struct p4n *arg(struct p4n *call, int i)
{
	struct p4n *a = i < call->kids.n ? call->kids.v[i] : NULL;
	return a && a->kind == E_NAMED_ARG ? a->a : a;
}

static int find_action_by_name(struct lw *w, const char *name);
static void inline_action(struct lw *w, struct p4n *act, struct p4n *call, struct ir_op ret);

static struct ir_op extern_call(struct lw *w, struct p4n *e, bool want_value)
{
	struct p4n *callee = e->a;
	struct ir_prog *ir = w->ir;
	int width = type_width(e->type);
	struct ir_op ops[64];

	if (callee->kind == E_PATH && callee->decl) {
		const char *n = callee->decl->name;
		struct p4n *d = callee->decl;
		if (d->kind == N_ACTION) {
			inline_action(w, d, e, none());
			return none();
		}
		if (d->kind == N_FUNCTION && d->b) {
			/* functions are inlined like actions; `return e` sets the result */
			struct ir_op r = width > 0 ? tmp(w, width) : none();
			inline_action(w, d, e, r);
			return r.k == O_NONE ? cst(0, 8) : r;
		}
		if (!strcmp(n, "send_to_port")) {
			struct ir_op p = lower_expr(w, arg(e, 0), 32);
			emit(w, I_SEND, none(), p, none());
			return none();
		}
		if (!strcmp(n, "drop_packet")) {
			emit(w, I_DROP, none(), none(), none());
			return none();
		}
		if (!strcmp(n, "mirror_packet")) {
			struct ir_op slot = lower_expr(w, arg(e, 0), 8);
			emit(w, I_MIRROR, none(), slot, lower_expr(w, arg(e, 1), 16));
			return none();
		}
		if (!strcmp(n, "recirculate")) {
			emit(w, I_RECIRC, none(), none(), none());
			return none();
		}
		if (!strcmp(n, "verify")) {
			int l = new_label(w);
			cond_jump(w, arg(e, 0), l, true);
			mov(w, meta_op(w, ir->m_parser_error), lower_expr(w, arg(e, 1), 8));
			jmp(w, I_JMP, w->exit_label);
			label(w, l);
			return none();
		}
		if (!strcmp(n, "add_entry")) {
			struct p4n *an = arg(e, 0);
			char nm[128];
			int k = 0;
			if (!an || an->kind != E_STRING || !w->act) {
				unsupported(w, e->loc, "add_entry outside the default action of an add_on_miss table",
					    "only a learner's miss action can add entries");
				return cst(0, 1);
			}
			snprintf(nm, sizeof(nm), "%.*s", (int)strlen(an->name) - 2, an->name + 1);
			k = find_action_by_name(w, nm);
			if (k < 0) {
				p4_error(w->p, an->loc, "add_entry: no action '%s' in this control", nm);
				return cst(0, 1);
			}
			int n = flatten(w, arg(e, 1), ops, 64);
			struct ir_insn *in = emit(w, I_LEARN, none(), lower_expr(w, arg(e, 2), 8), none());
			in->obj2 = k;
			in->list = list_copy(w, ops, n);
			in->nlist = n;
			return cst(1, 1);
		}
		if (!strcmp(n, "set_entry_expire_time")) {
			emit(w, I_REARM, none(), lower_expr(w, arg(e, 0), 8), none());
			return none();
		}
		if (!strcmp(n, "restart_expire_timer")) {
			emit(w, I_REARM, none(), none(), none());
			return none();
		}
		if (!strcmp(n, "SelectByDirection")) {
			struct ir_op t = tmp(w, width > 0 ? width : 32);
			int l = new_label(w);
			mov(w, t, lower_expr(w, arg(e, 1), t.width));
			struct dent *dd = dict_find(w, "I.direction");
			if (dd) {
				jcmp(w, IR_EQ, dent_op(w, dd), cst(0, 8), l);
				mov(w, t, lower_expr(w, arg(e, 2), t.width));
			}
			label(w, l);
			return t;
		}
		unsupported(w, e->loc, fmt(w, "calling '%s'", n),
			    d->kind == N_FUNCTION ? "the function has no body" :
			    "the target has no such operation");
		return cst(0, width > 0 ? width : 8);
	}
	if (callee->kind != E_MEMBER)
		goto bad;
	const char *m = callee->name;
	struct p4n *obj = callee->a;
	if (!strcmp(m, "isValid"))
		return materialize_bool(w, e);
	if (!strcmp(m, "setValid") || !strcmp(m, "setInvalid")) {
		struct dent *d = place_of(w, obj);
		if (!d || d->k != D_HDR)
			goto bad;
		if (m[3] == 'V')
			make_valid(w, I_VALIDATE, d->h);
		else
			emit(w, I_INVALIDATE, none(), hdr_op(d->h), none());
		return none();
	}
	if (obj->type && obj->type->kind == TY_TABLE && !strcmp(m, "apply")) {
		apply_table(w, e);
		return none();
	}
	if (obj->type && obj->type->kind == TY_EXTERN && obj->type->decl) {
		const char *et = obj->type->decl->name;
		if (!strcmp(et, "packet_in")) {
			if (!strcmp(m, "extract")) {
				struct ir_op idx;
				struct stk *st = e->kids.n == 1 ? stack_dyn(w, arg(e, 0), &idx) : NULL;
				if (st) {
					extract_next(w, st, idx);
					return none();
				}
				struct dent *d = place_of(w, arg(e, 0));
				if (!d || d->k != D_HDR)
					goto bad;
				const struct ir_header *hd = &ir->hdrs[d->h];
				bool vb = hd->nf && hd->f[hd->nf - 1].varbit;
				if (e->kids.n == 1) {
					if (vb) {
						unsupported(w, e->loc, "extracting a header with a varbit field without its size",
							    "the target extracts such a header only with an explicit size");
						return none();
					}
					make_valid(w, I_EXTRACT, d->h);
					return none();
				}
				if (!vb) {
					p4_error(w->p, e->loc, "extract with a size needs a header with a varbit field");
					return none();
				}
				/* more bits than the varbit field holds: ParserInvalidArgument */
				struct ir_op len = lower_expr(w, arg(e, 1), 32);
				int ok = new_label(w);
				jcmp(w, IR_LE, len, cst(hd->f[hd->nf - 1].width, 32), ok);
				parser_fail(w, "ParserInvalidArgument");
				label(w, ok);
				emit(w, I_EXTRACTV, none(), hdr_op(d->h), len);
				union_exclusive(w, d->h);
				return none();
			}
			if (!strcmp(m, "lookahead") || !strcmp(m, "advance")) {
				bool look = m[0] == 'l';
				struct p4t *t = look && e->kids2.n ? e->kids2.v[0]->type : NULL;
				uint64_t bits = 0;
				if (!look && !eval(w, arg(e, 0), &bits, 0)) {
					unsupported(w, e->loc, "advance by a value that is not a constant",
						    "the parser skips bytes by extracting a fixed-size header");
					return none();
				}
				int wd = look ? type_width(t) : (int)bits;
				if (look && t && t->kind == TY_HEADER) {
					int h = ir_header_add(ir, fmt(w, "lookahead_%d", w->nhdr_int++), t->decl->name, true);
					for (int i = 0; i < t->decl->kids.n; i++)
						ir_header_field_add(ir, h, t->decl->kids.v[i]->name,
								    type_width(t->decl->kids.v[i]->type));
					emit(w, I_LOOKAHEAD, none(), hdr_op(h), none());
					unsupported(w, e->loc, "lookahead of a whole header", "its value cannot be held in metadata");
					return none();
				}
				if (wd <= 0 || wd % 8 || wd > 64) {
					unsupported(w, e->loc, fmt(w, "%s of %d bits", m, wd),
						    "SWX extracts whole bytes (at most 64 bits for a lookahead value)");
					return cst(0, 8);
				}
				int h = ir_header_add(ir, fmt(w, "%s_%d", look ? "lookahead" : "advance",
							      w->nhdr_int++), "", true);
				ir_header_field_add(ir, h, "f", wd);
				emit(w, look ? I_LOOKAHEAD : I_EXTRACT, none(), hdr_op(h), none());
				return (struct ir_op){ .k = O_HF, .h = h, .i = 0, .width = wd };
			}
		}
		if (!strcmp(et, "packet_out") && !strcmp(m, "emit")) {
			struct p4n *x = arg(e, 0);
			const char *key = place_key(w, x);
			struct dent *d = key ? dict_find(w, key) : NULL, *dv[256];
			if (!d)
				goto bad;
			if (d->k == D_HDR) {
				emit(w, I_EMIT, none(), hdr_op(d->h), none());
				return none();
			}
			int c = dict_below(w, key, D_HDR, dv, 256);
			for (int i = 0; i < c; i++)
				emit(w, I_EMIT, none(), hdr_op(dv[i]->h), none());
			return none();
		}
		int x = ext_of(w, obj);
		if (x < 0)
			goto bad;
		struct ir_extern *xe = &ir->exts[x];
		switch (xe->k) {
		case X_COUNTER: case X_DCOUNTER:
			emit_obj(w, I_COUNT, x, none(),
				 xe->k == X_COUNTER ? lower_expr(w, arg(e, 0), xe->index_width) : none(),
				 arg(e, xe->k == X_COUNTER ? 1 : 0) ?
				 lower_expr(w, arg(e, xe->k == X_COUNTER ? 1 : 0), 32) : none());
			return none();
		case X_METER: case X_DMETER: {
			struct ir_op t = tmp(w, 8);
			int ci = xe->k == X_METER ? 1 : 0;
			struct ir_op idx = xe->k == X_METER ? lower_expr(w, arg(e, 0), xe->index_width) : none();
			struct ir_op col = none();
			struct p4n *ca = arg(e, ci);
			if (ca && ca->type && ca->type->kind == TY_ENUM)
				col = lower_expr(w, ca, 8);
			struct ir_insn *in = emit_obj(w, I_METER, x, t, idx, col);
			(void)in;
			return t;
		}
		case X_REGISTER:
			if (!strcmp(m, "read")) {
				struct ir_op t = tmp(w, xe->width);
				emit_obj(w, I_REGRD, x, t, lower_expr(w, arg(e, 0), xe->index_width), none());
				return t;
			}
			emit_obj(w, I_REGWR, x, none(), lower_expr(w, arg(e, 0), xe->index_width),
				 lower_expr(w, arg(e, 1), xe->width));
			return none();
		case X_HASH: {
			struct ir_op t = tmp(w, width > 0 ? width : xe->width);
			bool three = e->kids.n == 3;
			int n = flatten(w, arg(e, three ? 1 : 0), ops, 64);
			struct ir_insn *in = emit_obj(w, I_HASH, x, t, none(), none());
			in->list = list_copy(w, ops, n);
			in->nlist = n;
			if (three) {
				uint64_t max;
				if (!eval(w, arg(e, 2), &max, 0) || !max || (max & (max - 1))) {
					unsupported(w, arg(e, 2)->loc, "get_hash with a max that is not a constant power of two",
						    "SWX has no modulo instruction");
					return t;
				}
				emit(w, I_AND, t, t, cst(max - 1, t.width));
				emit(w, I_ADD, t, t, lower_expr(w, arg(e, 0), t.width));
			}
			return t;
		}
		case X_CKSUM:
			if (!strcmp(m, "clear")) {
				emit_obj(w, I_CKCLEAR, x, none(), none(), none());
				return none();
			}
			if (!strcmp(m, "add") || !strcmp(m, "subtract") || !strcmp(m, "update")) {
				int n = flatten(w, arg(e, 0), ops, 64);
				struct ir_insn *in = emit_obj(w, m[0] == 's' ? I_CKSUB : I_CKADD, x, none(), none(), none());
				in->list = list_copy(w, ops, n);
				in->nlist = n;
				return none();
			}
			if (!strcmp(m, "get")) {
				struct ir_op t = tmp(w, 16);
				emit_obj(w, I_CKGET, x, t, none(), none());
				return t;
			}
			break;
		default:
			break;
		}
	}
bad:
	unsupported(w, e->loc, "this call", "the target has no operation for it");
	(void)want_value;
	return cst(0, width > 0 ? width : 8);
}

/* ---- actions ---- */

static int find_action_by_name(struct lw *w, const char *name)
{
	for (int i = 0; i < w->nad; i++)
		if (!strcmp(w->act_decl[i]->name, name))
			return w->act_of_decl_k[i];
	return -1;
}

static void lower_stmt(struct lw *w, struct p4n *s);

static void lower_block(struct lw *w, struct p4n *b)
{
	if (!b)
		return;
	if (b->kind != S_BLOCK) {
		lower_stmt(w, b);
		return;
	}
	for (int i = 0; i < b->kids.n; i++)
		lower_stmt(w, b->kids.v[i]);
}

static void inline_action(struct lw *w, struct p4n *act, struct p4n *call, struct ir_op ret)
{
	int nb = w->nb, saved_ret = w->ret_label, end = new_label(w);
	struct ir_op saved_val = w->ret_val;

	if (w->inlining > 32) {
		unsupported(w, call->loc, fmt(w, "calling '%s' this deeply", act->name),
			    "inlined calls nest at most 32 levels (P4 has no recursion)");
		return;
	}

	for (int i = 0; i < act->kids.n; i++) {
		struct p4n *prm = act->kids.v[i], *a = arg(call, i);
		struct bind b = { .decl = prm, .kind = 2 };
		if (!a) {
			unsupported(w, call->loc, "an action call without all its arguments",
				    "inlined actions need every argument");
			continue;
		}
		if (prm->op == DIR_OUT || prm->op == DIR_INOUT) {
			const char *k = place_key(w, a);
			if (k) {
				b.kind = 0;
				b.prefix = k;
			} else {
				b.op = lower_expr(w, a, type_width(prm->type));
			}
		} else {
			b.op = is_bool_expr(a) ? materialize_bool(w, a) : lower_expr(w, a, type_width(prm->type));
		}
		bind_push(w, b);
	}
	/* diagnostics in actions the architecture declares (PSA's send_to_port)
	 * point at the call */
	bool arch_action = false;
	for (int i = 0; i < w->p->root->kids.n && !arch_action && act->kind == N_ACTION; i++)
		arch_action = w->p->root->kids.v[i] == act;
	w->at_call += arch_action;
	w->ret_label = end;
	w->ret_val = ret;
	w->inlining++;
	lower_block(w, act->b);
	w->inlining--;
	label(w, end);
	w->at_call -= arch_action;
	w->ret_label = saved_ret;
	w->ret_val = saved_val;
	w->nb = nb;
}

static const char *unique_name(struct lw *w, const char *want, bool table)
{
	struct ir_prog *ir = w->ir;

	for (int n = 0;; n++) {
		const char *c = n ? fmt(w, "%s_%d", want, n) : want;
		bool used = false;
		for (int i = 0; i < ir->na && !used; i++)
			used = ir->acts[i].name && !strcmp(ir->acts[i].name, c);
		for (int i = 0; i < ir->nt && !used; i++)
			used = !strcmp(ir->tables[i].name, c);
		for (int i = 0; i < ir->nx && !used; i++)
			used = !strcmp(ir->exts[i].name, c);
		for (int i = 0; i < ir->nvs && !used; i++)
			used = !strcmp(ir->vsets[i].name, c);
		(void)table;
		if (!used)
			return c;
	}
}

static void expr_text(struct p4n *e, char *buf, size_t len);

/* Do two actions-list entries bind an action's directional parameters to
 * the same expressions? */
static bool same_binding(struct p4n *act, struct p4n *r1, struct p4n *r2)
{
	for (int i = 0; i < act->kids.n; i++) {
		char t1[256], t2[256];
		if (act->kids.v[i]->op == DIR_NONE)
			continue;
		if (!arg(r1, i) || !arg(r2, i))
			return false;
		expr_text(arg(r1, i), t1, sizeof(t1));
		expr_text(arg(r2, i), t2, sizeof(t2));
		if (strcmp(t1, t2) || !strcmp(t1, "key"))
			return false;
	}
	return true;
}

/* Lowers an action used by tables, once per declaration. Its directional
 * parameters are bound to the arguments ref (the table's actions-list entry;
 * NULL for default actions and entries, which reuse the first binding)
 * gives them; the others are action data. */
static int table_action_ref(struct lw *w, struct p4n *act, struct p4n *ref)
{
	struct ir_prog *ir = w->ir;
	struct ir_code_list *saved_code = w->code;
	struct ir_action *saved_act = w->act;
	int nb = w->nb, saved_ret = w->ret_label, k;

	for (int i = 0; i < w->nad; i++)
		if (w->act_decl[i] == act) {
			struct p4n *first = w->act_ref[i];
			if (ref && first && first != ref && !same_binding(act, first, ref))
				unsupported(w, ref->loc, fmt(w, "binding the directional parameters of '%s' "
							     "differently from an earlier table", act->name),
					    "an action is lowered once, with one binding");
			if (ref && !first)
				w->act_ref[i] = ref;
			return w->act_of_decl_k[i];
		}
	ir->acts = grow(w, ir->acts, &ir->capa, ir->na, sizeof(*ir->acts));
	k = ir->na++;
	{
		struct p4n **v = p4_alloc(w->a, sizeof(*v) * (w->nad + 1));
		struct p4n **rs = p4_alloc(w->a, sizeof(*rs) * (w->nad + 1));
		int *ks = p4_alloc(w->a, sizeof(*ks) * (w->nad + 1));
		if (w->nad) {
			memcpy(v, w->act_decl, sizeof(*v) * w->nad);
			memcpy(rs, w->act_ref, sizeof(*rs) * w->nad);
			memcpy(ks, w->act_of_decl_k, sizeof(*ks) * w->nad);
		}
		v[w->nad] = act;
		rs[w->nad] = ref;
		ks[w->nad] = k;
		w->act_decl = v;
		w->act_ref = rs;
		w->act_of_decl_k = ks;
		w->nad++;
	}
	struct ir_action *a = &ir->acts[k];
	memset(a, 0, sizeof(*a));
	a->decl = act;
	const char *nm = name_anno(w, &act->annos);
	bool top = !w->ctl;
	a->p4name = nm ? (nm[0] == '.' ? nm + 1 : top ? nm : fmt(w, "%s.%s", w->ctl, nm)) :
		    top ? act->name : fmt(w, "%s.%s", w->ctl, act->name);
	a->name = unique_name(w, act->name, false);
	a->params = p4_alloc(w->a, sizeof(*a->params) * (act->kids.n + 1));
	for (int i = 0; i < act->kids.n; i++) {
		struct p4n *prm = act->kids.v[i];
		if (prm->op != DIR_NONE) {
			if (!ref || !arg(ref, i))
				unsupported(w, prm->loc, fmt(w, "directional parameter '%s' of an action used by a table",
							     prm->name),
					    "the table's actions list does not bind it to an argument");
			continue;
		}
		int wd = type_width(prm->type);
		if (wd <= 0) {
			unsupported(w, prm->loc, fmt(w, "action parameter '%s' of this type", prm->name),
				    "action data must have a fixed width");
			wd = 8;
		}
		ir->acts[k].params[ir->acts[k].np] = (struct ir_param){ prm->name, wd };
		bind_push(w, (struct bind){ .decl = prm, .kind = 3,
					    .op = { .k = O_PARAM, .i = ir->acts[k].np, .width = wd } });
		ir->acts[k].np++;
	}
	w->code = &ir->acts[k].code;
	w->act = &ir->acts[k];
	/* directional parameters: the places (or values) the actions list names */
	for (int i = 0; ref && i < act->kids.n; i++) {
		struct p4n *prm = act->kids.v[i], *a = arg(ref, i);
		if (prm->op == DIR_NONE || !a)
			continue;
		const char *pk = place_key(w, a);
		if (pk)
			bind_push(w, (struct bind){ .decl = prm, .kind = 0, .prefix = pk });
		else if (prm->op == DIR_IN)
			bind_push(w, (struct bind){ .decl = prm, .kind = 2,
						    .op = is_bool_expr(a) ? materialize_bool(w, a) :
							  lower_expr(w, a, type_width(prm->type)) });
		else
			unsupported(w, a->loc, fmt(w, "binding out parameter '%s' to this expression", prm->name),
				    "it is not a header or metadata field");
	}
	w->ret_label = new_label(w);
	int rl = w->ret_label;
	lower_block(w, act->b);
	label(w, rl);
	emit(w, I_RETURN, none(), none(), none());
	w->code = saved_code;
	w->act = saved_act;
	w->ret_label = saved_ret;
	w->nb = nb;
	return k;
}

static int table_action(struct lw *w, struct p4n *act)
{
	return table_action_ref(w, act, NULL);
}

/* ---- tables ---- */

static enum ir_match match_of(const char *n)
{
	if (!strcmp(n, "lpm")) return M_LPM;
	if (!strcmp(n, "ternary")) return M_TERNARY;
	if (!strcmp(n, "range")) return M_RANGE;
	if (!strcmp(n, "selector")) return M_SELECTOR;
	if (!strcmp(n, "optional")) return M_OPTIONAL;
	return M_EXACT;
}

static void expr_text(struct p4n *e, char *buf, size_t len)
{
	switch (e->kind) {
	case E_PATH: snprintf(buf, len, "%s", e->name); return;
	case E_MEMBER: {
		char b[256];
		expr_text(e->a, b, sizeof(b));
		snprintf(buf, len, "%s.%s", b, e->name);
		return;
	}
	case E_INDEX: {
		char b[256];
		expr_text(e->a, b, sizeof(b));
		snprintf(buf, len, "%s[%" PRIu64 "]", b, e->b->kind == E_INT ? e->b->ival : 0);
		return;
	}
	case E_SLICE: {
		char b[256];
		expr_text(e->a, b, sizeof(b));
		snprintf(buf, len, "%s[%" PRIu64 ":%" PRIu64 "]", b, e->b->ival, e->c->ival);
		return;
	}
	case E_CALL:
		if (e->a->kind == E_MEMBER && !strcmp(e->a->name, "isValid")) {
			char b[256];
			expr_text(e->a->a, b, sizeof(b));
			snprintf(buf, len, "%s.isValid()", b);
			return;
		}
		/* fall through */
	default:
		snprintf(buf, len, "key");
	}
}

/* How many parameters of action act have a direction (they come first). */
static int n_directional(struct p4n *act)
{
	int n = 0;

	while (n < act->kids.n && act->kids.v[n]->op != DIR_NONE)
		n++;
	return n;
}

static int new_extern(struct lw *w, enum ir_extk k, const char *name, const char *p4name)
{
	struct ir_prog *ir = w->ir;

	ir->exts = grow(w, ir->exts, &ir->capx, ir->nx, sizeof(*ir->exts));
	struct ir_extern *x = &ir->exts[ir->nx];
	memset(x, 0, sizeof(*x));
	x->k = k;
	x->name = unique_name(w, name, false);
	x->p4name = p4name;
	x->table = -1;
	x->state = -1;
	return ir->nx++;
}

static int instance(struct lw *w, struct p4n *d, struct p4t *t, const char *name,
		    struct p4n *type_node, struct p4_list *args);

/* The keys of one entry; false (after a warning) when one is not constant. */
static bool entry_keys(struct lw *w, struct ir_table *tb, struct p4n *ks, struct ir_ekey *out)
{
	struct p4n *one[1] = { ks }, **v = one;
	int n = 1;

	if (ks->kind == E_TUPLE_KS || ks->kind == E_LIST) {
		v = ks->kids.v;
		n = ks->kids.n;
	}
	for (int i = 0, k = 0; i < tb->nk; i++) {
		struct ir_key *key = &tb->keys[i];
		struct ir_ekey *e = &out[k];
		uint64_t all = mask_bits(key->width);
		if (key->match == M_SELECTOR)
			continue;
		struct p4n *x = k < n ? v[k] : NULL;
		k++;
		if (!x || x->kind == E_DEFAULT || x->kind == E_DONTCARE) {
			e->any = true;
			continue;
		}
		if (x->kind == E_MASK) {
			if (!eval(w, x->a, &e->value, 0) || !eval(w, x->b, &e->mask, 0))
				return false;
		} else if (x->kind == E_RANGE) {
			if (!eval(w, x->a, &e->value, 0) || !eval(w, x->b, &e->hi, 0))
				return false;
			e->mask = all;
		} else {
			if (!eval(w, x, &e->value, 0))
				return false;
			e->mask = all;
			e->hi = e->value;
		}
		e->value &= all;
		e->mask &= all;
		if (key->match == M_LPM)
			e->prefix = __builtin_popcountll(e->mask);
	}
	return true;
}

/* The entries a table declares, kept for the context (SWX specs carry no
 * entries: the control plane installs them at load). */
static void lower_entries(struct lw *w, int ti, struct p4n *pr)
{
	struct ir_table *tb = &w->ir->tables[ti];
	int nk = tb->nk;

	tb->entries = p4_alloc(w->a, sizeof(*tb->entries) * (pr->kids.n + 1));
	for (int i = 0; i < pr->kids.n; i++) {
		struct p4n *en = pr->kids.v[i], *ref = en->b;
		struct ir_entry e = { .loc = en->loc };
		uint64_t prio;
		bool ok;
		if (!ref || !ref->a || !ref->a->decl || ref->a->decl->kind != N_ACTION)
			continue;
		e.keys = p4_alloc(w->a, sizeof(*e.keys) * (nk + 1));
		ok = entry_keys(w, &w->ir->tables[ti], en->a, e.keys);
		e.action = table_action(w, ref->a->decl);
		e.args = p4_alloc(w->a, sizeof(uint64_t) * (ref->kids.n + ref->a->decl->kids.n + 1));
		int ndir = n_directional(ref->a->decl);
		for (int j = ndir; ok && j < ref->kids.n; j++)
			ok = eval(w, arg(ref, j), &e.args[j - ndir], 0);
		if (en->c)
			ok = ok && eval(w, en->c, &prio, 0);
		/* entries without a priority rank by position (fixed in lower_table) */
		e.priority = en->c ? (int)prio : -(i + 1);
		if (!ok) {
			p4_diag(w->p, IPDK_P4C_WARNING, en->loc,
				"this entry of table '%s' is left out of the context: its keys, priority "
				"and action arguments must be constants", w->ir->tables[ti].p4name);
			continue;
		}
		tb = &w->ir->tables[ti];
		tb->entries[tb->nentries++] = e;
	}
	p4_diag(w->p, IPDK_P4C_NOTE, pr->loc,
		"entries of table '%s' are not part of the DPDK spec; the context lists them "
		"(\"entries\") for the control plane to install when the pipeline loads",
		w->ir->tables[ti].p4name);
}

/* Entry priorities as P4Runtime ranks them (larger wins): entries without
 * one rank by position (earlier wins), and a table whose
 * largest_priority_wins is false has its numbers turned around. */
static void entry_priorities(struct lw *w, struct ir_table *tb, struct p4n *t)
{
	bool largest = true;
	int n = tb->n_const_entries, max = 0;
	uint64_t v;

	for (int i = 0; i < t->kids.n; i++) {
		struct p4n *pr = t->kids.v[i];
		if (pr->op == PROP_OTHER && pr->name && !strcmp(pr->name, "largest_priority_wins") &&
		    eval(w, pr->a, &v, 0))
			largest = v != 0;
	}
	for (int i = 0; i < tb->nentries; i++) {
		struct ir_entry *e = &tb->entries[i];
		if (e->priority < 0)
			e->priority = largest ? n + e->priority + 1 : -e->priority;
		if (e->priority > max)
			max = e->priority;
	}
	for (int i = 0; i < tb->nentries && !largest; i++)
		tb->entries[i].priority = max + 1 - tb->entries[i].priority;
}

static void lower_table(struct lw *w, struct p4n *t)
{
	struct ir_prog *ir = w->ir;
	struct ir_table *tb;
	int ti;
	const char *nm = name_anno(w, &t->annos);

	ir->tables = grow(w, ir->tables, &ir->capt, ir->nt, sizeof(*ir->tables));
	ti = ir->nt;
	tb = &ir->tables[ti];
	memset(tb, 0, sizeof(*tb));
	tb->name = unique_name(w, t->name, true);
	ir->nt++;
	tb->p4name = nm ? (nm[0] == '.' ? nm + 1 : fmt(w, "%s.%s", w->ctl, nm)) : fmt(w, "%s.%s", w->ctl, t->name);
	tb->decl = t;
	tb->def_action = -1;
	tb->profile = tb->direct_counter = tb->direct_meter = -1;
	tb->size = 1024;
	bind_push(w, (struct bind){ .decl = t, .kind = 1, .ext = ti });
	for (int i = 0; i < t->kids.n; i++) {
		struct p4n *pr = t->kids.v[i];
		if (pr->op == PROP_KEY) {
			tb->keys = p4_alloc(w->a, sizeof(*tb->keys) * (pr->kids.n + 1));
			for (int j = 0; j < pr->kids.n; j++) {
				struct p4n *k = pr->kids.v[j];
				struct ir_key *key = &tb->keys[tb->nk++];
				char txt[256];
				const char *kn = name_anno(w, &k->annos);
				expr_text(k->a, txt, sizeof(txt));
				key->name = kn ? kn : p4_strndup(w->a, txt, strlen(txt));
				key->match = match_of(k->name);
				key->width = type_width(k->a->type);
				if (key->width <= 0) {
					unsupported(w, k->a->loc, "a table key of this type", "keys must have a fixed width");
					key->width = 8;
				}
				struct dent *d = place_of(w, k->a);
				if (d && (d->k == D_HF || d->k == D_META)) {
					key->f = dent_op(w, d);
					continue;
				}
				/* computed at each apply into a metadata field */
				key->f = meta_op(w, ir_meta_add(ir, fmt(w, "%s_key_%d", tb->name, j),
								key->width));
				int n = w->nke;
				struct p4n **ke = p4_alloc(w->a, sizeof(*ke) * (n + 1));
				int *kt = p4_alloc(w->a, sizeof(int) * (n + 1)), *ki = p4_alloc(w->a, sizeof(int) * (n + 1));
				if (n) {
					memcpy(ke, w->key_expr, sizeof(*ke) * n);
					memcpy(kt, w->key_tbl, sizeof(int) * n);
					memcpy(ki, w->key_idx, sizeof(int) * n);
				}
				ke[n] = k->a;
				kt[n] = ti;
				ki[n] = j;
				w->key_expr = ke;
				w->key_tbl = kt;
				w->key_idx = ki;
				w->nke++;
			}
		} else if (pr->op == PROP_ACTIONS) {
			tb = &ir->tables[ti];
			tb->acts = p4_alloc(w->a, sizeof(*tb->acts) * (pr->kids.n + 2));
			for (int j = 0; j < pr->kids.n; j++) {
				struct p4n *r = pr->kids.v[j];
				if (!r->a->decl || r->a->decl->kind != N_ACTION)
					continue;
				int k = table_action_ref(w, r->a->decl, r);
				tb = &ir->tables[ti];
				tb->acts[tb->na++] = (struct ir_table_action){ k, has_anno(&r->annos, "defaultonly"),
									       has_anno(&r->annos, "tableonly") };
			}
		} else if (pr->op == PROP_ENTRIES) {
			tb->n_const_entries = pr->kids.n;
			tb->entries_const = pr->is_const;
			lower_entries(w, ti, pr);
			tb = &ir->tables[ti];
		}
	}
	for (int i = 0; i < t->kids.n; i++) {
		struct p4n *pr = t->kids.v[i];
		uint64_t v;
		tb = &ir->tables[ti];
		if (pr->op != PROP_OTHER || !pr->name)
			continue;
		if (!strcmp(pr->name, "size") && eval(w, pr->a, &v, 0)) {
			tb->size = v ? (int)v : 1;
		} else if (!strcmp(pr->name, "default_action")) {
			struct p4n *ref = pr->a->kind == E_CALL ? pr->a->a : pr->a;
			if (!ref->decl || ref->decl->kind != N_ACTION)
				continue;
			int k = table_action(w, ref->decl);
			tb = &ir->tables[ti];
			tb->def_action = k;
			tb->def_const = pr->is_const;
			tb->def_args = p4_alloc(w->a, sizeof(uint64_t) * (ref->decl->kids.n + 1));
			int ndir = n_directional(ref->decl);
			for (int j = ndir; pr->a->kind == E_CALL && j < pr->a->kids.n; j++)
				if (!eval(w, arg(pr->a, j), &tb->def_args[j - ndir], 0))
					unsupported(w, arg(pr->a, j)->loc, "a default action argument that is not a constant",
						    "the spec states default arguments as numbers");
		} else if (!strcmp(pr->name, "add_on_miss")) {
			tb->add_on_miss = eval(w, pr->a, &v, 0) && v;
		} else if (!strcmp(pr->name, "implementation") || !strcmp(pr->name, "psa_implementation")) {
			int x = -1;
			if (pr->a->kind == E_PATH)
				x = ext_of(w, pr->a);
			else if (pr->a->kind == E_CALL && pr->a->a->kind == E_PATH)
				x = instance(w, NULL, pr->a->type, fmt(w, "%s_profile", t->name), NULL,
					     &pr->a->kids);
			if (x < 0 || (ir->exts[x].k != X_PROFILE && ir->exts[x].k != X_SELECTOR)) {
				unsupported(w, pr->a->loc, "this table implementation",
					    "only ActionProfile and ActionSelector instances are known");
				continue;
			}
			tb = &ir->tables[ti];
			tb->profile = x;
			ir->exts[x].table = ti;
		} else if (strstr(pr->name, "direct_counter") || strstr(pr->name, "direct_meter")) {
			int x = ext_of(w, pr->a);
			if (x < 0)
				continue;
			if (ir->exts[x].k == X_DCOUNTER)
				tb->direct_counter = x;
			else
				tb->direct_meter = x;
			ir->exts[x].table = ti;
			ir->exts[x].size = tb->size;
		}
	}
	tb = &ir->tables[ti];
	entry_priorities(w, tb, t);
	if (tb->def_action < 0) {
		/* P4's implicit default: NoAction */
		int k = find_action_by_name(w, "NoAction");
		for (int i = 0; k < 0 && i < w->p->root->kids.n; i++) {
			struct p4n *d = w->p->root->kids.v[i];
			if (d->kind == N_ACTION && !strcmp(d->name, "NoAction")) {
				const char *saved = w->ctl;
				w->ctl = NULL;
				k = table_action(w, d);
				w->ctl = saved;
			}
		}
		tb = &ir->tables[ti];
		tb->def_action = k;
		tb->def_args = p4_alloc(w->a, sizeof(uint64_t));
	}
	bool listed = false;
	for (int i = 0; i < tb->na; i++)
		listed |= tb->acts[i].action == tb->def_action;
	if (!listed && tb->def_action >= 0)
		tb->acts[tb->na++] = (struct ir_table_action){ tb->def_action, true, false };
	for (int i = 0; i < tb->nk; i++)
		if (tb->keys[i].match == M_SELECTOR && (tb->profile < 0 || ir->exts[tb->profile].k != X_SELECTOR))
			unsupported(w, t->loc, fmt(w, "selector key of table '%s'", t->name),
				    "the table has no ActionSelector implementation");
	if (tb->direct_counter >= 0)
		ir->exts[tb->direct_counter].size = tb->size;
	if (tb->direct_meter >= 0)
		ir->exts[tb->direct_meter].size = tb->size;
}

static void apply_table(struct lw *w, struct p4n *call)
{
	struct p4n *obj = call->a->a;
	int ti = -1;

	if (obj->kind == E_PATH && obj->decl) {
		struct bind *b = bind_find(w, obj->decl);
		if (b && b->kind == 1 && obj->decl->kind == N_TABLE)
			ti = b->ext;
	}
	if (ti < 0) {
		unsupported(w, call->loc, "applying this table", "it is not a table of this control");
		return;
	}
	for (int i = 0; i < w->nke; i++)
		if (w->key_tbl[i] == ti) {
			struct p4n *ke = w->key_expr[i];
			struct ir_op kf = w->ir->tables[ti].keys[w->key_idx[i]].f;
			mov(w, kf, is_bool_expr(ke) ? materialize_bool(w, ke) : lower_expr(w, ke, kf.width));
		}
	emit_obj(w, I_TABLE, ti, none(), none(), none());
	w->last_table = ti;
	if (w->m_exit >= 0)
		jcmp(w, IR_NE, meta_op(w, w->m_exit), cst(0, 1), w->exit_label);
}

/* ---- statements ---- */

static void lower_switch(struct lw *w, struct p4n *s)
{
	int end = new_label(w), n = s->kids.n;
	int *labels = p4_alloc(w->a, sizeof(int) * (n + 1));
	int def = end;
	bool actions = s->a->type && s->a->type->kind == TY_ACTION_ENUM;
	struct ir_op v = none();

	for (int i = 0; i < n; i++)
		labels[i] = new_label(w);
	/* fall-through cases share the label of the next case with a block */
	for (int i = n - 2; i >= 0; i--)
		if (!s->kids.v[i]->b)
			labels[i] = labels[i + 1];
	if (actions) {
		struct p4n *call = s->a->a;
		apply_table(w, call);
	} else {
		v = lower_expr(w, s->a, 0);
	}
	int ti = w->last_table;
	for (int i = 0; i < n; i++) {
		struct p4n *l = s->kids.v[i]->a;
		if (l->kind == E_DEFAULT) {
			def = labels[i];
			continue;
		}
		if (actions) {
			int k = -1;
			struct ir_table *tb = &w->ir->tables[ti];
			for (int j = 0; j < tb->na; j++)
				if (!strcmp(w->ir->acts[tb->acts[j].action].decl->name, l->name))
					k = tb->acts[j].action;
			if (k < 0)
				continue;
			struct ir_insn *in = emit(w, I_JACT, none(), none(), none());
			in->label = labels[i];
			in->obj = k;
			in->obj2 = ti;
		} else {
			jcmp(w, IR_EQ, v, lower_expr(w, l, v.width), labels[i]);
		}
	}
	jmp(w, I_JMP, def);
	for (int i = 0; i < n; i++) {
		if (!s->kids.v[i]->b)
			continue;
		label(w, labels[i]);
		lower_block(w, s->kids.v[i]->b);
		jmp(w, I_JMP, end);
	}
	label(w, end);
}

static void lower_local(struct lw *w, struct p4n *d);
static void lower_stmt_at(struct lw *w, struct p4n *s);
static void lower_vset(struct lw *w, struct p4n *d);

static void lower_stmt(struct lw *w, struct p4n *s)
{
	struct p4_loc saved = w->loc;

	if (!w->at_call)
		w->loc = s->loc;
	lower_stmt_at(w, s);
	w->loc = saved;
}

static void lower_stmt_at(struct lw *w, struct p4n *s)
{
	switch (s->kind) {
	case S_ASSIGN:
		assign(w, s->a, s->b);
		break;
	case S_CALL:
		if (s->a->kind == E_CALL)
			extern_call(w, s->a, false);
		break;
	case S_IF: {
		int lf = new_label(w), le = new_label(w);
		cond_jump(w, s->a, lf, false);
		lower_block(w, s->b);
		if (s->c) {
			jmp(w, I_JMP, le);
			label(w, lf);
			lower_block(w, s->c);
			label(w, le);
		} else {
			label(w, lf);
		}
		break;
	}
	case S_BLOCK:
		lower_block(w, s);
		break;
	case S_EXIT:
		if (w->act) {
			if (w->m_exit < 0) {
				unsupported(w, s->loc, "exit in an action used by a table",
					    "this control was not prepared for it");
				break;
			}
			mov(w, meta_op(w, w->m_exit), cst(1, 1));
			emit(w, I_RETURN, none(), none(), none());
		} else {
			jmp(w, I_JMP, w->exit_label);
		}
		break;
	case S_RETURN:
		if (s->a && w->ret_val.k != O_NONE)
			mov(w, w->ret_val, is_bool_expr(s->a) ? materialize_bool(w, s->a) :
			    lower_expr(w, s->a, w->ret_val.width));
		if (w->act && w->ret_label < 0)
			emit(w, I_RETURN, none(), none(), none());
		else
			jmp(w, I_JMP, w->ret_label);
		break;
	case S_SWITCH:
		lower_switch(w, s);
		break;
	case S_DECL:
		lower_local(w, s->a);
		break;
	default:
		break;
	}
}

/* ---- declarations ---- */

static struct p4n *arg_list_get(struct p4_list *l, int i)
{
	struct p4n *a = l && i < l->n ? l->v[i] : NULL;
	return a && a->kind == E_NAMED_ARG ? a->a : a;
}

static int instance(struct lw *w, struct p4n *d, struct p4t *t, const char *name,
		    struct p4n *type_node, struct p4_list *args)
{
	struct ir_prog *ir = w->ir;
	struct p4n *ed;
	const char *en;
	uint64_t v = 0;
	int x;

	if (!t || t->kind != TY_EXTERN || !(ed = t->decl))
		return -1;
	en = ed->name;
	const char *p4name = w->ctl ? fmt(w, "%s.%s", w->ctl, name) : name;
	const char *nm = d ? name_anno(w, &d->annos) : NULL;
	if (nm)
		p4name = nm[0] == '.' ? nm + 1 : w->ctl ? fmt(w, "%s.%s", w->ctl, nm) : nm;
	struct p4n *targs = type_node && type_node->kind == Y_NAME ? type_node : NULL;
	if (!strcmp(en, "Counter") || !strcmp(en, "DirectCounter")) {
		bool direct = en[0] == 'D';
		x = new_extern(w, direct ? X_DCOUNTER : X_COUNTER, name, p4name);
		if (!direct && eval(w, arg_list_get(args, 0), &v, 0))
			ir->exts[x].size = (int)v;
		struct p4n *ta = arg_list_get(args, direct ? 0 : 1);
		if (ta && ta->kind == E_MEMBER)
			ir->exts[x].unit = !strcmp(ta->name, "BYTES") ? 1 : !strcmp(ta->name, "PACKETS") ? 0 : 2;
		if (targs && targs->kids.n >= (direct ? 1 : 2))
			ir->exts[x].index_width = direct ? 0 : type_width(targs->kids.v[1]->type);
		if (ir->exts[x].unit)
			unsupported(w, d ? d->loc : (struct p4_loc){ -1, 0, 0 },
				    fmt(w, "counting bytes with '%s'", name),
				    "DPDK 22.11 pipelines cannot read the packet length");
		return x;
	}
	if (!strcmp(en, "Meter") || !strcmp(en, "DirectMeter")) {
		bool direct = en[0] == 'D';
		x = new_extern(w, direct ? X_DMETER : X_METER, name, p4name);
		if (!direct && eval(w, arg_list_get(args, 0), &v, 0))
			ir->exts[x].size = (int)v;
		struct p4n *ta = arg_list_get(args, direct ? 0 : 1);
		if (ta && ta->kind == E_MEMBER)
			ir->exts[x].unit = !strcmp(ta->name, "BYTES") ? 1 : 0;
		if (targs && targs->kids.n >= 1 && !direct)
			ir->exts[x].index_width = type_width(targs->kids.v[0]->type);
		return x;
	}
	if (!strcmp(en, "Register")) {
		x = new_extern(w, X_REGISTER, name, p4name);
		if (eval(w, arg_list_get(args, 0), &v, 0))
			ir->exts[x].size = (int)v;
		if (targs && targs->kids.n >= 2) {
			ir->exts[x].width = type_width(targs->kids.v[0]->type);
			ir->exts[x].index_width = type_width(targs->kids.v[1]->type);
		}
		if (ir->exts[x].width > 64 || ir->exts[x].width <= 0)
			unsupported(w, d->loc, fmt(w, "register '%s' of this value type", name),
				    "SWX registers hold at most 64 bits");
		return x;
	}
	if (!strcmp(en, "Hash")) {
		x = new_extern(w, X_HASH, name, p4name);
		if (targs && targs->kids.n >= 1)
			ir->exts[x].width = type_width(targs->kids.v[0]->type);
		struct p4n *al = arg_list_get(args, 0);
		if (al && eval(w, al, &v, 0))
			ir->exts[x].algo = (int)v;
		return x;
	}
	if (!strcmp(en, "InternetChecksum") || !strcmp(en, "Checksum")) {
		x = new_extern(w, X_CKSUM, name, p4name);
		if (en[0] == 'C')
			unsupported(w, d->loc, "Checksum (a CRC)",
				    "DPDK 22.11's only hash functions are jhash and crc32, which is CRC-32C "
				    "with a zero seed and no final complement, neither the CRC-32 nor the "
				    "CRC-16 PNA and PSA name; use InternetChecksum, or Hash where any hash will do");
		return x;
	}
	if (!strcmp(en, "ActionProfile") || !strcmp(en, "ActionSelector")) {
		bool sel = en[6] == 'S';
		x = new_extern(w, sel ? X_SELECTOR : X_PROFILE, name, p4name);
		if (eval(w, arg_list_get(args, sel ? 1 : 0), &v, 0))
			ir->exts[x].size = (int)v;
		if (sel && eval(w, arg_list_get(args, 2), &v, 0))
			ir->exts[x].width = (int)v;
		return x;
	}
	if (!strcmp(en, "Digest")) {
		unsupported(w, d ? d->loc : (struct p4_loc){ -1, 0, 0 }, "Digest",
			    "DPDK 22.11's SWX pipeline has no instruction that sends data to the control plane");
		return -1;
	}
	unsupported(w, d ? d->loc : (struct p4_loc){ -1, 0, 0 }, fmt(w, "extern '%s'", en),
		    "the DPDK back end has no lowering for it");
	return -1;
}

/* A value_set: its members' fields are looked up in metadata the select
 * fills; a struct element type gives one key per field, matched as its
 * @match annotation says (exact when it has none). */
static void lower_vset(struct lw *w, struct p4n *d)
{
	struct ir_prog *ir = w->ir;
	struct p4t *t = d->type ? d->type->elem : NULL;
	struct p4n *sd = t && t->kind == TY_STRUCT ? t->decl : NULL;
	int nk = sd ? sd->kids.n : 1;
	uint64_t size = 0;

	if (!eval(w, d->b, &size, 0) || size > (1u << 20)) {
		unsupported(w, d->b->loc, "a value_set of this size", "it must be a constant of at most 2^20");
		return;
	}
	ir->vsets = grow(w, ir->vsets, &ir->capvs, ir->nvs, sizeof(*ir->vsets));
	struct ir_vset *vs = &ir->vsets[ir->nvs];
	memset(vs, 0, sizeof(*vs));
	vs->name = unique_name(w, d->name, true);
	const char *nm = name_anno(w, &d->annos);
	vs->p4name = nm ? (nm[0] == '.' ? nm + 1 : fmt(w, "%s.%s", w->ctl, nm)) : fmt(w, "%s.%s", w->ctl, d->name);
	vs->size = size ? (int)size : 1;
	vs->keys = p4_alloc(w->a, sizeof(*vs->keys) * (nk + 1));
	for (int i = 0; i < nk; i++) {
		struct p4n *f = sd ? sd->kids.v[i] : NULL;
		struct ir_key *k = &vs->keys[vs->nk++];
		k->width = type_width(f ? f->type : t);
		if (k->width <= 0 || k->width > 64) {
			unsupported(w, f ? f->loc : d->loc, "a value_set field of this type",
				    "members are matched on fields of 1 to 64 bits");
			k->width = 8;
		}
		k->name = f ? f->name : d->name;
		k->match = M_EXACT;
		const char *mt = f ? anno_str(&f->annos, "match") : NULL;
		if (mt)
			k->match = strstr(mt, "ternary") ? M_TERNARY : strstr(mt, "lpm") ? M_LPM :
				   strstr(mt, "range") ? M_RANGE : strstr(mt, "optional") ? M_OPTIONAL : M_EXACT;
		k->f = meta_op(w, ir_meta_add(ir, fmt(w, "%s_k%d", vs->name, i), k->width));
	}
	bind_push(w, (struct bind){ .decl = d, .kind = 4, .ext = ir->nvs });
	ir->nvs++;
}

static void lower_local(struct lw *w, struct p4n *d)
{
	switch (d->kind) {
	case N_VAR: {
		const char *key = fmt(w, "L%d", w->nlocal);
		const char *name = fmt(w, "%s_%s_%d", w->ctl ? w->ctl : "g", d->name, w->nlocal++);
		make_place(w, key, name, d->type, d->loc);
		bind_push(w, (struct bind){ .decl = d, .kind = 0, .prefix = key });
		if (d->b)
			assign(w, &(struct p4n){ .kind = E_PATH, .decl = d, .type = d->type, .loc = d->loc }, d->b);
		break;
	}
	case N_CONST:
		break;
	case N_INSTANCE: {
		int x = instance(w, d, d->type, d->name, d->a, &d->kids);
		if (x >= 0)
			bind_push(w, (struct bind){ .decl = d, .kind = 1, .ext = x });
		break;
	}
	case N_ACTION:
		/* lowered where used: by tables, or inline where called */
		break;
	case N_TABLE:
		lower_table(w, d);
		break;
	case N_VALUE_SET:
		lower_vset(w, d);
		break;
	default:
		break;
	}
}

/* ---- parsers ---- */

static int state_label(struct lw *w, struct p4n *parser, struct p4n *st, int *labels, int accept,
		       int reject)
{
	if (!st)
		return reject;
	if (!strcmp(st->name, "accept") && st->loc.file < 0)
		return accept;
	if (!strcmp(st->name, "reject") && st->loc.file < 0)
		return reject;
	for (int i = 0, k = 0; i < parser->kids.n; i++) {
		if (parser->kids.v[i]->kind != N_STATE)
			continue;
		if (parser->kids.v[i] == st)
			return labels[k];
		k++;
	}
	(void)w;
	return reject;
}

static void keyset_jumps(struct lw *w, struct p4n *ks, struct ir_op *keys, int nkeys, int next)
{
	struct p4n *one[1] = { ks };
	struct p4n **v = one;
	int n = 1;
	uint64_t a, b;

	if (ks->kind == E_TUPLE_KS || ks->kind == E_LIST) {
		v = ks->kids.v;
		n = ks->kids.n;
	}
	for (int i = 0; i < n && i < nkeys; i++) {
		struct p4n *k = v[i];
		struct ir_op key = keys[i];
		if (k->kind == E_DEFAULT || k->kind == E_DONTCARE)
			continue;
		struct bind *vb = k->kind == E_PATH && k->decl && k->decl->kind == N_VALUE_SET ?
				  bind_find(w, k->decl) : NULL;
		if (vb && vb->kind == 4) {
			/* a value set of a struct stands for all the keys */
			const struct ir_vset *vs = &w->ir->vsets[vb->ext];
			int from = n == 1 && nkeys > 1 ? 0 : i, cnt = n == 1 && nkeys > 1 ? nkeys : 1;
			if (cnt != vs->nk) {
				unsupported(w, k->loc, "this value_set here", "its fields do not line up with the select keys");
				continue;
			}
			int in = new_label(w);
			struct ir_insn *jv = emit(w, I_JVSET, none(), none(), none());
			jv->obj = vb->ext;
			jv->label = in;
			jv->list = list_copy(w, keys + from, cnt);
			jv->nlist = cnt;
			jmp(w, I_JMP, next);
			label(w, in);
			continue;
		}
		if (k->kind == E_MASK) {
			if (!eval(w, k->a, &a, 0) || !eval(w, k->b, &b, 0))
				goto bad;
			struct ir_op t = tmp(w, key.width);
			emit(w, I_AND, t, key, cst(b, key.width));
			jcmp(w, IR_NE, t, cst(a & b, key.width), next);
		} else if (k->kind == E_RANGE) {
			if (!eval(w, k->a, &a, 0) || !eval(w, k->b, &b, 0))
				goto bad;
			jcmp(w, IR_LT, key, cst(a, key.width), next);
			jcmp(w, IR_GT, key, cst(b, key.width), next);
		} else {
			if (!eval(w, k, &a, 0))
				goto bad;
			jcmp(w, IR_NE, key, cst(a, key.width), next);
		}
		continue;
bad:
		unsupported(w, k->loc, "a select case that is not a constant", "cases become compare-and-jump instructions");
	}
}

static void lower_parser(struct lw *w, struct p4n *ps, int accept, int reject)
{
	int nst = 0, k = 0;
	struct p4n *start = NULL;

	for (int i = 0; i < ps->kids.n; i++)
		if (ps->kids.v[i]->kind == N_STATE)
			nst++;
		else
			lower_local(w, ps->kids.v[i]);
	int *labels = p4_alloc(w->a, sizeof(int) * (nst + 1));
	for (int i = 0; i < nst; i++)
		labels[i] = new_label(w);
	for (int i = 0; i < ps->kids.n; i++)
		if (ps->kids.v[i]->kind == N_STATE && !strcmp(ps->kids.v[i]->name, "start"))
			start = ps->kids.v[i];
	if (start)
		jmp(w, I_JMP, state_label(w, ps, start, labels, accept, reject));
	for (int i = 0; i < ps->kids.n; i++) {
		struct p4n *st = ps->kids.v[i];
		if (st->kind != N_STATE)
			continue;
		label(w, labels[k++]);
		for (int j = 0; j < st->kids.n; j++)
			lower_stmt(w, st->kids.v[j]);
		struct p4n *t = st->a ? st->a->a : NULL;
		if (!t) {
			jmp(w, I_JMP, reject);
			continue;
		}
		if (t->kind != E_SELECT) {
			jmp(w, I_JMP, state_label(w, ps, t->decl, labels, accept, reject));
			continue;
		}
		struct ir_op keys[16];
		int nk = t->kids.n < 16 ? t->kids.n : 16;
		for (int j = 0; j < nk; j++) {
			keys[j] = lower_expr(w, t->kids.v[j], 0);
			if (keys[j].k == O_CONST) {
				struct ir_op c = tmp(w, keys[j].width);
				mov(w, c, keys[j]);
				keys[j] = c;
			}
		}
		for (int j = 0; j < t->kids2.n; j++) {
			struct p4n *cs = t->kids2.v[j];
			int next = new_label(w);
			keyset_jumps(w, cs->a, keys, nk, next);
			jmp(w, I_JMP, state_label(w, ps, cs->b->decl, labels, accept, reject));
			label(w, next);
		}
		mov(w, meta_op(w, w->ir->m_parser_error), cst(2, 8)); /* error.NoMatch */
		jmp(w, I_JMP, reject);
	}
}

/* ---- the package ---- */

/* Spec names of the architecture's objects bound to block parameters. */
static const char *root_name(const char *r)
{
	static const char *const names[][2] = {
		{ "H", "" }, { "M", "local_metadata" },
		{ "I", "pna_main_input_metadata" }, { "O", "pna_main_output_metadata" },
		{ "PO", "pna_pre_output_metadata" },
		{ "PI", "psa_ingress_parser_input_metadata" }, { "II", "psa_ingress_input_metadata" },
		{ "IO", "psa_ingress_output_metadata" }, { "RESUB", "resubmit_meta" },
		{ "RECIRC", "recirculate_meta" }, { "CI2E", "clone_i2e_meta" }, { "NM", "normal_meta" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i][0], r))
			return names[i][1];
	return r;
}

/* Binds the parameters of block blk, in order, to the objects named by
 * roots (NULL-terminated; "PKT" is the packet). */
static void bind_params(struct lw *w, struct p4n *blk, const char *const *roots)
{
	struct p4_list *ps = &blk->a->kids;

	for (int i = 0; i < ps->n && roots[i]; i++) {
		struct p4n *prm = ps->v[i];
		const char *r = roots[i];
		if (!strcmp(r, "PKT"))
			continue;
		make_place(w, r, root_name(r), prm->type, prm->loc);
		bind_push(w, (struct bind){ .decl = prm, .kind = 0, .prefix = r });
	}
}

static void lower_control(struct lw *w, struct p4n *c)
{
	int nb = w->nb, end = new_label(w);
	bool exit_in_action = false;

	w->ctl = c->name;
	w->exit_label = end;
	w->ret_label = end;
	/* exit inside an action of a table ends the control through a flag */
	for (int i = 0; i < c->kids.n; i++) {
		struct p4n *d = c->kids.v[i];
		if (d->kind != N_ACTION || !d->b)
			continue;
		for (int j = 0; j < d->b->kids.n; j++)
			exit_in_action |= d->b->kids.v[j]->kind == S_EXIT;
	}
	w->m_exit = -1;
	if (exit_in_action) {
		w->m_exit = ir_meta_add(w->ir, fmt(w, "%s_exit", c->name), 1);
		mov(w, meta_op(w, w->m_exit), cst(0, 1));
	}
	for (int i = 0; i < c->kids.n; i++)
		lower_local(w, c->kids.v[i]);
	lower_block(w, c->b);
	label(w, end);
	w->nb = nb;
	w->m_exit = -1;
	w->ctl = NULL;
}

static struct p4n *ctor_decl(struct p4n *e)
{
	/* MainParserImpl() in the package instance's arguments */
	if (e && e->kind == E_NAMED_ARG)
		e = e->a;
	if (e && e->kind == E_CALL && e->a->kind == E_PATH && e->a->decl)
		return e->a->decl;
	if (e && e->kind == E_PATH && e->decl && e->decl->kind == N_INSTANCE && e->decl->a &&
	    e->decl->a->decl)
		return e->decl->a->decl;
	return NULL;
}

static void lower_globals(struct lw *w, struct p4n *main);
static bool reads_meta(const struct ir_prog *ir, int m);
static void init_field(struct lw *w, const char *key, struct ir_op v);

/* The parser or control each argument of a package instance names. */
static bool package_blocks(struct lw *w, struct p4n *inst, struct p4n **blocks, int n)
{
	for (int i = 0; i < n; i++) {
		blocks[i] = i < inst->kids.n ? ctor_decl(inst->kids.v[i]) : NULL;
		if (!blocks[i] || (blocks[i]->kind != N_PARSER && blocks[i]->kind != N_CONTROL)) {
			p4_error(w->p, i < inst->kids.n ? inst->kids.v[i]->loc : inst->loc,
				 "argument %d of '%s' must instantiate a parser or control", i + 1, inst->name);
			return false;
		}
	}
	return true;
}

/* The package instance an argument of PSA_Switch names (ip, ep). */
static struct p4n *package_arg(struct p4n *e)
{
	if (e && e->kind == E_NAMED_ARG)
		e = e->a;
	if (e && e->kind == E_PATH && e->decl && e->decl->kind == N_INSTANCE)
		return e->decl;
	return NULL;
}

static void lower_parser_block(struct lw *w, struct p4n *ps)
{
	int accept = new_label(w), reject = new_label(w), nb = w->nb;

	w->ctl = ps->name;
	w->exit_label = reject;
	for (int i = 0; i < w->nstk; i++)
		mov(w, meta_op(w, w->stk[i].next), cst(0, 32));
	w->in_parser = true;
	lower_parser(w, ps, accept, reject);
	w->in_parser = false;
	w->nb = nb;
	w->ctl = NULL;
	/* a parser error goes on to the controls in istd.parser_error (PNA
	 * and PSA both leave the decision to the program) */
	label(w, reject);
	label(w, accept);
}

/* Does this block do nothing (a parser that only accepts, a control with an
 * empty apply block and no tables)? */
static bool block_is_empty(struct p4n *b)
{
	if (b->kind == N_CONTROL)
		return !b->b || !b->b->kids.n;
	for (int i = 0; i < b->kids.n; i++) {
		struct p4n *st = b->kids.v[i];
		if (st->kind != N_STATE)
			continue;
		if (st->kids.n || !st->a || !st->a->a || st->a->a->kind == E_SELECT ||
		    !st->a->a->decl || strcmp(st->a->a->decl->name, "accept"))
			return false;
	}
	return true;
}

static void lower_pna(struct lw *w, struct p4n *main)
{
	struct ir_prog *ir = w->ir;
	struct p4n *blocks[4];
	static const char *const proots[] = { "PKT", "H", "M", "I", NULL };
	static const char *const preroots[] = { "H", "M", "I", "PO", NULL };
	static const char *const croots[] = { "H", "M", "I", "O", NULL };
	static const char *const droots[] = { "PKT", "H", "M", "O", NULL };

	if (!package_blocks(w, main, blocks, 4))
		return;
	/* architecture metadata first: the back end starts with rx into input_port */
	make_place(w, "I.input_port", "pna_main_input_metadata_input_port",
		   &(struct p4t){ .kind = TY_BIT, .width = 32 }, main->loc);
	ir->m_input_port = dict_find(w, "I.input_port")->i;
	ir->m_output_port = ir_meta_add(ir, "pna_main_output_metadata_output_port", 32);
	ir->m_drop = ir_meta_add(ir, "pna_drop", 1);
	make_place(w, "I.parser_error", "pna_main_input_metadata_parser_error",
		   &(struct p4t){ .kind = TY_BIT, .width = 8 }, main->loc);
	ir->m_parser_error = dict_find(w, "I.parser_error")->i;
	make_place(w, "I.direction", "pna_main_input_metadata_direction",
		   &(struct p4t){ .kind = TY_BIT, .width = 8 }, main->loc);
	bind_params(w, blocks[0], proots);
	bind_params(w, blocks[1], preroots);
	bind_params(w, blocks[2], croots);
	bind_params(w, blocks[3], droots);
	lower_globals(w, main);
	w->code = &ir->main;
	mov(w, meta_op(w, ir->m_parser_error), cst(0, 8));
	int dir_at = ir->main.n;
	struct ir_op dir = dent_op(w, dict_find(w, "I.direction"));
	mov(w, dir, cst(0, 8));
	/* istd.pass counts recirculations; nothing loops packets back */
	struct dent *pass = dict_find(w, "I.pass");
	int pass_at = ir->main.n;
	if (pass && pass->k == D_META)
		mov(w, dent_op(w, pass), cst(0, dent_op(w, pass).width));
	init_field(w, "I.loopedback", cst(0, 1));
	mov(w, meta_op(w, ir->m_drop), cst(1, 1));	/* dropped unless send_to_port() */
	mov(w, meta_op(w, ir->m_output_port), cst(0, 32));
	lower_parser_block(w, blocks[0]);
	lower_control(w, blocks[1]);
	lower_control(w, blocks[2]);
	lower_control(w, blocks[3]);
	emit(w, I_TX, none(), none(), none());
	if (reads_meta(ir, dir.i)) {
		/* istd.direction comes per input port from the register
		 * "direction" (0 NET_TO_HOST, 1 HOST_TO_NET) the control plane sets */
		int x = new_extern(w, X_REGISTER, "direction", "direction");
		ir->exts[x].size = 256;
		ir->exts[x].width = 8;
		ir->exts[x].index_width = 32;
		struct ir_insn *in = &ir->main.v[dir_at];
		in->c = I_REGRD;
		in->obj = x;
		in->a = meta_op(w, ir->m_input_port);
	}
	if (pass && pass->k == D_META && reads_meta(ir, pass->i)) {
		struct ir_insn *in = &ir->main.v[pass_at];
		in->c = I_PASS;
		in->a = none();
	}
}

static bool op_is_meta(const struct ir_op *o, int m)
{
	return o->k == O_META && o->i == m;
}

/* Does any instruction read metadata field m? */
static bool reads_meta(const struct ir_prog *ir, int m)
{
	for (int k = -1; k < ir->na; k++) {
		const struct ir_code_list *c = k < 0 ? &ir->main : &ir->acts[k].code;
		for (int i = 0; i < c->n; i++) {
			const struct ir_insn *in = &c->v[i];
			if (op_is_meta(&in->a, m) || op_is_meta(&in->b, m))
				return true;
			for (int j = 0; j < in->nlist; j++)
				if (op_is_meta(&in->list[j], m))
					return true;
		}
	}
	for (int t = 0; t < ir->nt; t++)
		for (int k = 0; k < ir->tables[t].nk; k++)
			if (op_is_meta(&ir->tables[t].keys[k].f, m))
				return true;
	return false;
}

/* Sets place key (a field of an architecture struct) to v when it exists. */
static void init_field(struct lw *w, const char *key, struct ir_op v)
{
	struct dent *d = dict_find(w, key);

	if (d && d->k == D_META)
		mov(w, dent_op(w, d), v.k == O_CONST ? cst(v.v, dent_op(w, d).width) : v);
}

/* Refuses writes of other values than 0 to ostd fields whose packet paths
 * the target does not have (clone, resubmit, multicast). */
static void psa_refuse_paths(struct lw *w, const struct ir_code_list *c)
{
	static const char *const fields[][3] = {
		{ "IO.clone", "cloning",
		  "PSA sends an ingress clone, as the packet was received, through the egress "
		  "pipeline, while the target mirrors only the deparsed packet straight to a port "
		  "(PNA's mirror_packet() maps onto it)" },
		{ "IO.resubmit", "resubmitting",
		  "PSA resubmits the packet as it was received, while the target runs the pipeline "
		  "again only on the deparsed packet (PNA's recirculate() maps onto it)" },
		{ "IO.multicast_group", "multicast",
		  "the pipeline sends each packet to at most one port" },
	};

	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		struct dent *d = dict_find(w, fields[k][0]);
		if (!d)
			continue;
		for (int i = 0; i < c->n; i++) {
			const struct ir_insn *in = &c->v[i];
			if (in->c == I_MOV && in->d.k == O_META && in->d.i == d->i &&
			    !(in->a.k == O_CONST && in->a.v == 0))
				unsupported(w, in->loc, fmt(w, "%s (ostd.%s)", fields[k][1], fields[k][0] + 3),
					    fields[k][2]);
		}
	}
}

static void lower_psa(struct lw *w, struct p4n *main)
{
	struct ir_prog *ir = w->ir;
	struct p4n *ing[3], *egr[3], *ip = package_arg(main->kids.n > 0 ? main->kids.v[0] : NULL),
		   *ep = package_arg(main->kids.n > 2 ? main->kids.v[2] : NULL);
	static const char *const iproots[] = { "PKT", "H", "M", "PI", "RESUB", "RECIRC", NULL };
	static const char *const igroots[] = { "H", "M", "II", "IO", NULL };
	static const char *const idroots[] = { "PKT", "CI2E", "RESUB", "NM", "H", "M", "IO", NULL };

	if (!ip || !ep) {
		p4_error(w->p, main->loc, "PSA_Switch needs IngressPipeline and EgressPipeline instances "
			 "as its first and third arguments");
		return;
	}
	if (!package_blocks(w, ip, ing, 3) || !package_blocks(w, ep, egr, 3))
		return;
	for (int i = 0; i < 3; i++)
		if (!block_is_empty(egr[i]))
			unsupported(w, egr[i]->loc, fmt(w, "a PSA egress %s that does something ('%s')",
							 egr[i]->kind == N_PARSER ? "parser" : "block", egr[i]->name),
				    "the pipeline runs the ingress blocks only and sends the packet from "
				    "the ingress deparser (leave the egress parser accepting and the "
				    "egress controls empty)");
	bind_params(w, ing[0], iproots);
	bind_params(w, ing[1], igroots);
	bind_params(w, ing[2], idroots);
	struct dent *port = dict_find(w, "II.ingress_port"), *err = dict_find(w, "II.parser_error"),
		    *out = dict_find(w, "IO.egress_port"), *drop = dict_find(w, "IO.drop");
	if (!port || !err || !out || !drop || port->k != D_META || err->k != D_META ||
	    out->k != D_META || drop->k != D_META) {
		p4_error(w->p, ing[1]->loc, "the ingress control's parameters are not PSA's "
			 "(psa_ingress_input_metadata_t istd, psa_ingress_output_metadata_t ostd)");
		return;
	}
	ir->m_input_port = port->i;
	ir->m_parser_error = err->i;
	ir->m_output_port = out->i;
	ir->m_drop = drop->i;
	lower_globals(w, main);
	w->code = &ir->main;
	init_field(w, "PI.ingress_port", meta_op(w, port->i));
	init_field(w, "PI.packet_path", cst(0, 8));	/* NORMAL */
	init_field(w, "II.packet_path", cst(0, 8));
	init_field(w, "II.ingress_timestamp", cst(0, 64));
	mov(w, meta_op(w, ir->m_parser_error), cst(0, 8));
	static const char *const zero[] = { "IO.class_of_service", "IO.clone", "IO.clone_session_id",
					    "IO.resubmit", "IO.multicast_group", "IO.egress_port" };
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		init_field(w, zero[i], cst(0, 32));
	mov(w, meta_op(w, ir->m_drop), cst(1, 1));	/* PSA: dropped unless sent */
	lower_parser_block(w, ing[0]);
	lower_control(w, ing[1]);
	lower_control(w, ing[2]);
	emit(w, I_TX, none(), none(), none());
	psa_refuse_paths(w, &ir->main);
	for (int i = 0; i < ir->na; i++)
		psa_refuse_paths(w, &ir->acts[i].code);
}

/* @controller_header headers, and externs declared outside controls. */
static void lower_globals(struct lw *w, struct p4n *main)
{
	struct ir_prog *ir = w->ir;
	struct ipdk_p4c_program *p = w->p;

	for (int i = 0; i < ir->nh; i++)
		for (int j = 0; j < p->root->kids.n; j++) {
			struct p4n *d = p->root->kids.v[j];
			const char *ch;
			if (d->kind != N_HEADER || strcmp(d->name, ir->hdrs[i].type_name))
				continue;
			ch = anno_str(&d->annos, "controller_header");
			if (ch && strstr(ch, "packet_in"))
				ir->pkt_in_hdr = i;
			else if (ch && strstr(ch, "packet_out"))
				ir->pkt_out_hdr = i;
		}
	ir->meta_user = ir->nm;
	for (int i = 0; i < p->root->kids.n; i++) {
		struct p4n *d = p->root->kids.v[i];
		if (d->kind == N_INSTANCE && d != main && d->type && d->type->kind == TY_EXTERN) {
			int x = instance(w, d, d->type, d->name, d->a, &d->kids);
			if (x >= 0)
				bind_push(w, (struct bind){ .decl = d, .kind = 1, .ext = x });
		}
	}
}

struct ir_prog *ir_lower(struct ipdk_p4c_program *p, const char *arch, const char *name)
{
	struct ir_prog *ir = p4_alloc(&p->arena, sizeof(*ir));
	struct lw w = { .ir = ir, .p = p, .a = &p->arena, .m_exit = -1, .last_table = -1 };
	struct p4n *main = NULL;
	size_t errors = p->n_errors;
	const char *pkg;

	ir->p = p;
	ir->name = name;
	ir->pkt_in_hdr = ir->pkt_out_hdr = -1;
	/* error members get their numbers */
	for (int i = 0, n = 0; i < p->root->kids.n; i++) {
		struct p4n *d = p->root->kids.v[i];
		if (d->kind == N_ERROR_DECL)
			for (int j = 0; j < d->kids.n; j++)
				d->kids.v[j]->ival = (uint64_t)n++, ir->n_errors = n;
	}
	/* the package instance: the one named main, else the last one */
	for (int i = 0; i < p->root->kids.n; i++) {
		struct p4n *d = p->root->kids.v[i];
		if (d->kind == N_INSTANCE && d->type && d->type->kind == TY_PACKAGE &&
		    (!main || strcmp(main->name, "main")))
			main = d;
	}
	if (!main) {
		p4_error(p, (struct p4_loc){ -1, 0, 0 }, "the program has no package instance (such as 'main')");
		return NULL;
	}
	pkg = main->type->decl ? main->type->decl->name : "?";
	if (!strcmp(pkg, "PNA_NIC") || !strcmp(pkg, "PSA_Switch")) {
		const char *is = pkg[1] == 'N' ? "pna" : "psa";
		if (arch && strcmp(arch, is)) {
			p4_error(p, main->loc, "--arch %s, but the program instantiates %s (the %s package)",
				 arch, pkg, is);
			return NULL;
		}
		ir->arch = is;
	} else {
		unsupported(&w, main->loc, fmt(&w, "package '%s'", pkg),
			    "the DPDK back end lowers PNA_NIC and PSA_Switch only");
		return NULL;
	}
	if (!strcmp(ir->arch, "pna"))
		lower_pna(&w, main);
	else
		lower_psa(&w, main);
	if (p->n_errors > errors)
		return NULL;
	for (int i = 0; i < ir->na; i++)
		ir->acts[i].id = i;
	ir_check_validity(ir);
	return ir;
}
