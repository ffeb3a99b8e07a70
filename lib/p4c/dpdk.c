/*
 * The DPDK back end of ipdk-p4c: writes the IR as a DPDK 22.11 SWX pipeline
 * spec. It handles what SWX asks of a program and the IR does not care
 * about: struct fields must be whole bytes (adjacent sub-byte header fields
 * are merged into one field, read with shift-and-mask and written with
 * mask-and-or; metadata is rounded up and masked after writes), instructions
 * are two-operand, a table's key fields must all sit in one header or in the
 * metadata (otherwise they are copied into metadata first), hash and learn
 * read ranges of consecutive metadata fields, checksums are summed over a
 * scratch header, a table implemented by an action profile or selector
 * becomes a match table, a selector and a member table, and an add_on_miss
 * table becomes a learner. PNA's packet path is a drop flag and an output
 * port read at the very end (tx or drop). Counters are regarrays named
 * <counter>_packets and direct ones <table>__<counter>_packets, the naming
 * our TDI target reads (lib/target-dpdk/tdi_dpdk.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* where a logical header field lives in the spec's struct */
struct phys {
	int pf;			/* physical field index */
	int shift;		/* from the physical field's least significant bit */
	int width;
	bool whole;		/* the physical field is exactly this field */
};

struct hlay {
	const char **pname;
	int *pwidth;
	int np;
	struct phys *f;		/* per logical field */
};

struct be {
	struct ir_prog *ir;
	struct p4_arena *a;
	FILE *f;
	struct hlay *lay;
	int nscratch;
	int *scratch_w;
	int cap_scratch;
	const struct ir_action *act;	/* action being written */
	char *out;			/* the instructions of the block being written */
	size_t len;
	FILE *buf;
	int lbl;			/* backend labels */
	bool failed;
	int cksum_hdr;			/* header holding the checksum states, -1 */
	int ncks;
	int recirc;			/* metadata: recirculate at the end, -1 when never */
};


#define bfmt(b, ...) p4_afmt((b)->a, __VA_ARGS__)

static void fail(struct be *b, struct p4_loc loc, const char *what, const char *why)
{
	p4_error(b->ir->p, loc, "%s is not supported by the DPDK target because %s", what, why);
	b->failed = true;
}

static int round8(int w)
{
	return (w + 7) / 8 * 8;
}

static uint64_t mask_of(int w)
{
	return w >= 64 ? ~0ull : (1ull << w) - 1;
}

/* ---- layouts ---- */

/* Groups the fields of header h into spec fields of whole multiples of
 * gran bits (8; 16 for data cksub sums field by field). */
static void layout_gran(struct be *b, int h, int gran)
{
	struct ir_header *hd = &b->ir->hdrs[h];
	struct hlay *l = &b->lay[h];
	int i = 0;

	l->pname = p4_alloc(b->a, sizeof(*l->pname) * (hd->nf + 1));
	l->pwidth = p4_alloc(b->a, sizeof(int) * (hd->nf + 1));
	l->f = p4_alloc(b->a, sizeof(*l->f) * (hd->nf + 1));
	while (i < hd->nf) {
		int j = i, bits = 0;
		char name[256] = "";
		do {
			bits += hd->f[j].width;
			j++;
		} while (bits % gran && j < hd->nf && !hd->f[j].varbit);
		for (int k = i; k < j; k++) {
			if (k > i)
				strncat(name, "_", sizeof(name) - strlen(name) - 1);
			strncat(name, hd->f[k].name, sizeof(name) - strlen(name) - 1);
		}
		int pf = l->np++;
		l->pname[pf] = p4_strndup(b->a, name, strlen(name));
		l->pwidth[pf] = round8(bits);
		int shift = bits;
		for (int k = i; k < j; k++) {
			shift -= hd->f[k].width;
			l->f[k] = (struct phys){ pf, shift + (round8(bits) - bits), hd->f[k].width,
						 j - i == 1 && bits % 8 == 0 };
		}
		if (j < hd->nf && hd->f[j].varbit && bits % 8)
			fail(b, (struct p4_loc){ -1, 0, 0 }, bfmt(b, "header '%s': a varbit field at bit %d",
								 hd->name, bits),
			     "SWX headers are whole bytes and the varbit field starts a new one");
		if (j - i > 1 && round8(bits) > 64 && gran == 8) {
			fail(b, (struct p4_loc){ -1, 0, 0 }, bfmt(b, "header '%s': sub-byte fields merged into %d bits",
								 hd->name, bits),
			     "SWX shifts and masks at most 64 bits");
		}
		i = j;
	}
}

static void layout(struct be *b, int h)
{
	layout_gran(b, h, 8);
}

/* ---- operands ---- */

static int scratch(struct be *b, int width)
{
	struct ir_prog *ir = b->ir;

	return ir_meta_add(ir, bfmt(b, "dpdk_tmp_%d", b->nscratch++), round8(width > 64 ? 64 : width));
}

static void out(struct be *b, const char *f, ...) __attribute__((format(printf, 2, 3)));

static void out(struct be *b, const char *f, ...)
{
	va_list ap;

	fputc('\t', b->buf);
	va_start(ap, f);
	vfprintf(b->buf, f, ap);
	va_end(ap);
	fputc('\n', b->buf);
}

static const char *imm(struct be *b, uint64_t v)
{
	return v < 1024 ? bfmt(b, "%" PRIu64, v) : bfmt(b, "0x%" PRIx64, v);
}

static bool is_sub(struct be *b, const struct ir_op *o)
{
	return o->k == O_HF && !b->lay[o->h].f[o->i].whole;
}

static const char *pfield(struct be *b, const struct ir_op *o)
{
	const struct hlay *l = &b->lay[o->h];
	return bfmt(b, "h.%s.%s", b->ir->hdrs[o->h].name, l->pname[l->f[o->i].pf]);
}

/* A readable form of o: sub-byte fields are extracted into scratch metadata. */
static const char *rd(struct be *b, const struct ir_op *o)
{
	switch (o->k) {
	case O_CONST: return imm(b, o->v);
	case O_META: return bfmt(b, "m.%s", b->ir->meta[o->i].name);
	case O_PARAM: return bfmt(b, "t.%s", b->act->params[o->i].name);
	case O_HDR: return bfmt(b, "h.%s", b->ir->hdrs[o->h].name);
	case O_HF:
		if (!is_sub(b, o))
			return pfield(b, o);
		{
			const struct phys *p = &b->lay[o->h].f[o->i];
			int s = scratch(b, 64);
			const char *sn = bfmt(b, "m.%s", b->ir->meta[s].name);
			out(b, "mov %s %s", sn, pfield(b, o));
			if (p->shift)
				out(b, "shr %s %d", sn, p->shift);
			out(b, "and %s %s", sn, imm(b, mask_of(p->width)));
			return sn;
		}
	default:
		return "0";
	}
}

/* Makes metadata hold no more bits than its P4 width after a write. */
static void fix(struct be *b, const struct ir_op *d)
{
	if (d->k == O_META) {
		int w = b->ir->meta[d->i].width;
		if (w % 8 && w < 64)
			out(b, "and m.%s %s", b->ir->meta[d->i].name, imm(b, mask_of(w)));
	}
}

static void wr_insert(struct be *b, const struct ir_op *d, int sc);

/* Where to compute a value for d: d itself, or scratch for sub-byte fields. */
static const char *wr_begin(struct be *b, const struct ir_op *d, int *sc)
{
	*sc = -1;
	if (is_sub(b, d)) {
		*sc = scratch(b, 64);
		return bfmt(b, "m.%s", b->ir->meta[*sc].name);
	}
	if (d->k == O_META)
		return bfmt(b, "m.%s", b->ir->meta[d->i].name);
	if (d->k == O_HF)
		return pfield(b, d);
	return NULL;
}

static void wr_end(struct be *b, const struct ir_op *d, int sc)
{
	if (sc < 0) {
		fix(b, d);
		return;
	}
	wr_insert(b, d, sc);
}

static void wr_end_const(struct be *b, const struct ir_op *d, int sc, const struct ir_op *src)
{
	if (sc < 0) {
		if (!(src->k == O_CONST && d->k == O_META && src->v <= mask_of(b->ir->meta[d->i].width)))
			fix(b, d);
		return;
	}
	wr_insert(b, d, sc);
}

static void wr_insert(struct be *b, const struct ir_op *d, int sc)
{
	const struct phys *p = &b->lay[d->h].f[d->i];
	int pw = b->lay[d->h].pwidth[p->pf];
	const char *sn = bfmt(b, "m.%s", b->ir->meta[sc].name), *pn = pfield(b, d);
	out(b, "and %s %s", sn, imm(b, mask_of(p->width)));
	if (p->shift)
		out(b, "shl %s %d", sn, p->shift);
	out(b, "and %s %s", pn, imm(b, ~(mask_of(p->width) << p->shift) & mask_of(pw)));
	out(b, "or %s %s", pn, sn);
}

static bool same_op(const struct ir_op *a, const struct ir_op *b)
{
	return a->k == b->k && a->k != O_CONST && a->h == b->h && a->i == b->i;
}

static int op_width(struct be *b, const struct ir_op *o)
{
	if (o->k == O_HF)
		return b->lay[o->h].pwidth[b->lay[o->h].f[o->i].pf];
	if (o->k == O_META)
		return round8(b->ir->meta[o->i].width);
	if (o->k == O_PARAM)
		return round8(b->act->params[o->i].width);
	return o->width;
}

static const char *alu_name(enum ir_code c)
{
	switch (c) {
	case I_ADD: return "add";
	case I_SUB: return "sub";
	case I_AND: return "and";
	case I_OR: return "or";
	case I_XOR: return "xor";
	case I_SHL: return "shl";
	case I_SHR: return "shr";
	default: return "mov";
	}
}

static void check_wide(struct be *b, const struct ir_insn *in, const struct ir_op *o)
{
	if (o->k != O_NONE && o->k != O_HDR && op_width(b, o) > 64)
		fail(b, in->loc, "arithmetic, comparison or hashing of a field wider than 64 bits",
		     "SWX instructions other than mov work on at most 64 bits");
}

static bool is_varbit(struct be *b, const struct ir_op *o)
{
	return o->k == O_HF && b->ir->hdrs[o->h].f[o->i].varbit;
}

static void alu(struct be *b, const struct ir_insn *in)
{
	int sc;
	const char *d;

	if (is_varbit(b, &in->d) || is_varbit(b, &in->a) || is_varbit(b, &in->b)) {
		fail(b, in->loc, "reading or writing a varbit field",
		     "SWX instructions other than extract and emit cannot touch it");
		return;
	}

	if (in->c == I_MOV) {
		if (op_width(b, &in->d) > 64 || op_width(b, &in->a) > 64) {
			if (op_width(b, &in->d) != op_width(b, &in->a) || is_sub(b, &in->d) || in->a.k == O_CONST) {
				if (in->a.k == O_CONST && in->a.v == 0 && !is_sub(b, &in->d)) {
					/* SWX cannot load a wide immediate: leave the field */
					fail(b, in->loc, "assigning a constant to a field wider than 64 bits",
					     "SWX moves wide fields only from fields of the same width");
					return;
				}
				fail(b, in->loc, "moving between fields of different widths above 64 bits",
				     "SWX moves wide fields only between fields of the same width");
				return;
			}
		}
		const char *a = rd(b, &in->a);
		d = wr_begin(b, &in->d, &sc);
		out(b, "mov %s %s", d, a);
		wr_end_const(b, &in->d, sc, &in->a);
		return;
	}
	check_wide(b, in, &in->d);
	check_wide(b, in, &in->a);
	check_wide(b, in, &in->b);
	if (in->c == I_NOT) {
		const char *a = rd(b, &in->a);
		d = wr_begin(b, &in->d, &sc);
		out(b, "mov %s %s", d, a);
		out(b, "xor %s %s", d, imm(b, mask_of(in->d.width)));
		wr_end(b, &in->d, sc);
		return;
	}
	const char *a = rd(b, &in->a), *bb = rd(b, &in->b);
	if (same_op(&in->d, &in->b) && !same_op(&in->d, &in->a)) {
		int s = scratch(b, 64);
		const char *sn = bfmt(b, "m.%s", b->ir->meta[s].name);
		out(b, "mov %s %s", sn, a);
		out(b, "%s %s %s", alu_name(in->c), sn, bb);
		d = wr_begin(b, &in->d, &sc);
		out(b, "mov %s %s", d, sn);
		wr_end(b, &in->d, sc);
		return;
	}
	d = wr_begin(b, &in->d, &sc);
	if (!same_op(&in->d, &in->a) || sc >= 0)
		out(b, "mov %s %s", d, a);
	out(b, "%s %s %s", alu_name(in->c), d, bb);
	wr_end(b, &in->d, sc);
}

/* A field operand for instructions that do not take immediates or
 * sub-byte fields: copies into scratch when needed. */
static const char *field(struct be *b, const struct ir_op *o)
{
	if (o->k == O_CONST || is_sub(b, o)) {
		int s = scratch(b, o->width > 0 ? o->width : 32);
		const char *sn = bfmt(b, "m.%s", b->ir->meta[s].name);
		out(b, "mov %s %s", sn, rd(b, o));
		return sn;
	}
	return rd(b, o);
}

static const char *lname(struct be *b, int l)
{
	return bfmt(b, "L%d", l);
}

static void jcmp(struct be *b, const struct ir_insn *in)
{
	check_wide(b, in, &in->a);
	check_wide(b, in, &in->b);
	const char *a = field(b, &in->a), *bb = rd(b, &in->b), *l = lname(b, in->label);
	switch (in->cmp) {
	case IR_EQ: out(b, "jmpeq %s %s %s", l, a, bb); break;
	case IR_NE: out(b, "jmpneq %s %s %s", l, a, bb); break;
	case IR_LT: out(b, "jmplt %s %s %s", l, a, bb); break;
	case IR_GT: out(b, "jmpgt %s %s %s", l, a, bb); break;
	case IR_LE: case IR_GE: {
		const char *skip = bfmt(b, "B%d", b->lbl++);
		out(b, "%s %s %s %s", in->cmp == IR_LE ? "jmpgt" : "jmplt", skip, a, bb);
		out(b, "jmp %s", l);
		fprintf(b->buf, "\t%s : mov m.dpdk_nop 0\n", skip);
		break;
	}
	}
}

/* Copies ops into consecutive new metadata fields named prefix_i; returns
 * the first and last field indexes. */
static void copy_range(struct be *b, const char *prefix, const struct ir_op *ops, int n, int *first,
		       int *last, int *widths_out)
{
	*first = *last = -1;
	for (int i = 0; i < n; i++) {
		int w = ops[i].width > 0 ? ops[i].width : 32;
		if (widths_out)
			w = widths_out[i];
		int m = ir_meta_add(b->ir, bfmt(b, "%s_%d", prefix, i), w);
		if (i == 0)
			*first = m;
		*last = m;
	}
	for (int i = 0; i < n; i++) {
		struct ir_insn mv = { .c = I_MOV, .d = { .k = O_META, .i = *first + i,
							 .width = b->ir->meta[*first + i].width },
				      .a = ops[i] };
		alu(b, &mv);
	}
}

static const char *ext_array(struct be *b, const struct ir_extern *x)
{
	if (x->k == X_DCOUNTER || x->k == X_DMETER)
		return bfmt(b, "%s__%s", b->ir->tables[x->table >= 0 ? x->table : 0].name, x->name);
	return x->name;
}

/* A scratch header laid out like the n items (bits in all) one after the
 * other, padded to a multiple of gran bits and grouped into spec fields of
 * multiples of gran, holding their values; returns its index. */
static int scratch_data(struct be *b, const struct ir_op *items, int n, int bits, int gran)
{
	struct ir_prog *ir = b->ir;
	int h = ir_header_add(ir, bfmt(b, "cksum_data_%d", b->ncks++), "", true);

	for (int i = 0; i < n; i++)
		ir_header_field_add(ir, h, bfmt(b, "f%d", i), items[i].width);
	if (bits % gran)
		ir_header_field_add(ir, h, "pad", gran - bits % gran);
	b->lay = realloc(b->lay, sizeof(*b->lay) * ir->nh);
	memset(&b->lay[h], 0, sizeof(b->lay[h]));
	layout_gran(b, h, gran == 32 ? 8 : gran);
	/* SWX writes an invalid header's fields wherever its struct last pointed
	 * (maybe an old packet): validate scratch headers before writing them */
	out(b, "validate h.%s", ir->hdrs[h].name);
	if (bits % gran)
		out(b, "mov %s 0", pfield(b, &(struct ir_op){ .k = O_HF, .h = h, .i = n }));
	for (int i = 0; i < n; i++) {
		struct ir_insn mv = { .c = I_MOV, .d = { .k = O_HF, .h = h, .i = i, .width = items[i].width },
				      .a = items[i] };
		alu(b, &mv);
	}
	return h;
}

static const char *cksum_state(struct be *b, int x)
{
	return bfmt(b, "h.%s.%s", b->ir->hdrs[b->cksum_hdr].name, b->ir->exts[x].name);
}

/* InternetChecksum: the state is the complement of the running one's
 * complement sum (what ckadd and cksub keep), in a 16-bit header field.
 * Each add or subtract takes its data at the call, as a scratch header
 * laid out like the data and padded with zeros: ckadd sums a whole header;
 * cksub takes fields, so subtracted data is grouped into 16-bit-aligned
 * fields of at most 64 bits. */
static void cksum_op(struct be *b, const struct ir_insn *in)
{
	const char *st = cksum_state(b, in->obj);
	int bits = 0;

	for (int k = 0; k < in->nlist; k++)
		bits += in->list[k].width;
	if (!in->nlist)
		return;
	if (in->c == I_CKADD) {
		out(b, "ckadd %s h.%s", st, b->ir->hdrs[scratch_data(b, in->list, in->nlist, bits, 32)].name);
		return;
	}
	int hs = scratch_data(b, in->list, in->nlist, bits, 16);
	const struct hlay *l = &b->lay[hs];
	for (int p = 0; p < l->np; p++) {
		if (l->pwidth[p] > 64)
			fail(b, in->loc, "InternetChecksum.subtract of fields that do not fall into 16-bit "
			     "words of at most 64 bits", "SWX's cksub takes one field of up to 64 bits");
		out(b, "cksub %s h.%s.%s", st, b->ir->hdrs[hs].name, l->pname[p]);
	}
}

/* Key fields of t in one struct? Otherwise they are copied to metadata. */
static bool keys_direct(struct be *b, const struct ir_table *t, bool with_selector)
{
	int h = -2;

	for (int i = 0; i < t->nk; i++) {
		const struct ir_op *o = &t->keys[i].f;
		if ((t->keys[i].match == M_SELECTOR) != with_selector)
			continue;
		int where = o->k == O_META ? -1 : o->k == O_HF && !is_sub(b, o) ? o->h : -3;
		if (where == -3 || (h != -2 && h != where))
			return false;
		h = where;
	}
	return true;
}

static const char *key_ref(struct be *b, const struct ir_table *t, int i, bool direct)
{
	if (direct)
		return rd(b, &t->keys[i].f);
	return bfmt(b, "m.%s_k%d", t->name, i);
}

static void copy_keys(struct be *b, const struct ir_table *t, bool with_selector)
{
	if (keys_direct(b, t, with_selector))
		return;
	for (int i = 0; i < t->nk; i++) {
		if ((t->keys[i].match == M_SELECTOR) != with_selector)
			continue;
		int m = -1;
		const char *nm = bfmt(b, "%s_k%d", t->name, i);
		for (int j = 0; j < b->ir->nm; j++)
			if (!strcmp(b->ir->meta[j].name, nm))
				m = j;
		struct ir_insn mv = { .c = I_MOV, .d = { .k = O_META, .i = m, .width = t->keys[i].width },
				      .a = t->keys[i].f };
		alu(b, &mv);
	}
}

static void insn(struct be *b, const struct ir_code_list *code, int at)
{
	const struct ir_insn *in = &code->v[at];
	struct ir_prog *ir = b->ir;

	switch (in->c) {
	case I_LABEL:
		fprintf(b->buf, "\tL%d : mov m.dpdk_nop 0\n", in->label);
		break;
	case I_MOV: case I_ADD: case I_SUB: case I_AND: case I_OR: case I_XOR: case I_SHL: case I_SHR:
	case I_NOT:
		alu(b, in);
		break;
	case I_JMP: out(b, "jmp %s", lname(b, in->label)); break;
	case I_JCMP: jcmp(b, in); break;
	case I_JVALID: out(b, "jmpv %s %s", lname(b, in->label), rd(b, &in->a)); break;
	case I_JNVALID: out(b, "jmpnv %s %s", lname(b, in->label), rd(b, &in->a)); break;
	case I_JHIT: out(b, "jmph %s", lname(b, in->label)); break;
	case I_JMISS: out(b, "jmpnh %s", lname(b, in->label)); break;
	case I_JACT: case I_JNACT:
		out(b, "%s %s %s", in->c == I_JACT ? "jmpa" : "jmpna", lname(b, in->label),
		    ir->acts[in->obj].name);
		break;
	case I_EXTRACT: out(b, "extract %s", rd(b, &in->a)); break;
	case I_JVSET: {
		/* a lookup in the value set's table: a hit is a member */
		const struct ir_vset *vs = &ir->vsets[in->obj];
		for (int k = 0; k < in->nlist && k < vs->nk; k++) {
			struct ir_insn mv = { .c = I_MOV, .d = vs->keys[k].f, .a = in->list[k] };
			alu(b, &mv);
		}
		out(b, "table %s", vs->name);
		out(b, "jmph %s", lname(b, in->label));
		break;
	}
	case I_EXTRACTV: {
		/* the size operand of extract counts the varbit field's bytes */
		int s = scratch(b, 32);
		out(b, "mov m.%s %s", ir->meta[s].name, rd(b, &in->b));
		out(b, "shr m.%s 3", ir->meta[s].name);
		out(b, "extract %s m.%s", rd(b, &in->a), ir->meta[s].name);
		break;
	}
	case I_LOOKAHEAD: out(b, "lookahead %s", rd(b, &in->a)); break;
	case I_EMIT: out(b, "emit %s", rd(b, &in->a)); break;
	case I_VALIDATE: out(b, "validate %s", rd(b, &in->a)); break;
	case I_INVALIDATE: out(b, "invalidate %s", rd(b, &in->a)); break;
	case I_TABLE: {
		const struct ir_table *t = &ir->tables[in->obj];
		copy_keys(b, t, false);
		out(b, "table %s", t->name);
		if (t->profile >= 0) {
			if (ir->exts[t->profile].k == X_SELECTOR) {
				for (int i = 0; i < t->nk; i++) {
					if (t->keys[i].match != M_SELECTOR)
						continue;
					struct ir_insn mv = { .c = I_MOV, .a = t->keys[i].f };
					for (int j = 0; j < ir->nm; j++)
						if (!strcmp(ir->meta[j].name, bfmt(b, "%s_s%d", t->name, i)))
							mv.d = (struct ir_op){ .k = O_META, .i = j, .width = ir->meta[j].width };
					alu(b, &mv);
				}
				out(b, "table %s_sel", t->name);
			}
			out(b, "table %s_member_table", t->name);
		}
		break;
	}
	case I_SEND:
		out(b, "mov m.%s %s", ir->meta[ir->m_output_port].name, rd(b, &in->a));
		out(b, "mov m.%s 0", ir->meta[ir->m_drop].name);
		if (b->recirc >= 0)
			out(b, "mov m.%s 0", ir->meta[b->recirc].name);
		break;
	case I_DROP:
		out(b, "mov m.%s 1", ir->meta[ir->m_drop].name);
		if (b->recirc >= 0)
			out(b, "mov m.%s 0", ir->meta[b->recirc].name);
		break;
	case I_RECIRC:
		out(b, "mov m.%s 1", ir->meta[b->recirc].name);
		out(b, "mov m.%s 0", ir->meta[ir->m_drop].name);
		break;
	case I_MIRROR:
		if (in->a.k == O_CONST && in->a.v >= DPDK_MIRROR_SLOTS)
			fail(b, in->loc, bfmt(b, "mirror slot %" PRIu64, in->a.v),
			     bfmt(b, "the pipeline has %d mirror slots (0 to %d)", DPDK_MIRROR_SLOTS,
				  DPDK_MIRROR_SLOTS - 1));
		if (in->b.k == O_CONST && in->b.v >= DPDK_MIRROR_SESSIONS)
			fail(b, in->loc, bfmt(b, "mirror session %" PRIu64, in->b.v),
			     bfmt(b, "the pipeline has %d mirror sessions (0 to %d)", DPDK_MIRROR_SESSIONS,
				  DPDK_MIRROR_SESSIONS - 1));
		{
			const char *slot = field(b, &in->a);
			out(b, "mirror %s %s", slot, field(b, &in->b));
		}
		break;
	case I_PASS: {
		/* recircid writes a metadata field only */
		int s = in->d.k == O_META ? in->d.i : scratch(b, 32);
		out(b, "recircid m.%s", ir->meta[s].name);
		if (s != in->d.i || in->d.k != O_META) {
			struct ir_insn mv = { .c = I_MOV, .d = in->d, .a = { .k = O_META, .i = s, .width = 32 } };
			alu(b, &mv);
		} else {
			fix(b, &in->d);
		}
		break;
	}
	case I_EXIT: case I_RETURN:
		out(b, "return");
		break;
	case I_CKCLEAR:
		out(b, "mov %s 0", cksum_state(b, in->obj));
		break;
	case I_CKADD: case I_CKSUB:
		cksum_op(b, in);
		break;
	case I_CKGET: {
		int sc;
		const char *d = wr_begin(b, &in->d, &sc);
		out(b, "mov %s %s", d, cksum_state(b, in->obj));
		wr_end(b, &in->d, sc);
		break;
	}
	case I_HASH: {
		const struct ir_extern *x = &ir->exts[in->obj];
		int first, last;
		for (int i = 0; i < in->nlist; i++)
			check_wide(b, in, &in->list[i]);
		copy_range(b, bfmt(b, "%s_in%d", x->name, b->nscratch++), in->list, in->nlist, &first, &last, NULL);
		int sc;
		const char *d = wr_begin(b, &in->d, &sc);
		out(b, "hash %s %s m.%s m.%s", x->algo == 1 ? "crc32" : "jhash", d, ir->meta[first].name,
		    ir->meta[last].name);
		wr_end(b, &in->d, sc);
		break;
	}
	case I_COUNT: {
		const struct ir_extern *x = &ir->exts[in->obj];
		const char *idx;
		if (x->k == X_DCOUNTER) {
			int s = scratch(b, 32);
			idx = bfmt(b, "m.%s", ir->meta[s].name);
			out(b, "entryid %s", idx);
		} else {
			idx = field(b, &in->a);
		}
		out(b, "regadd %s_packets %s 1", ext_array(b, x), idx);
		break;
	}
	case I_REGRD: {
		int sc;
		const char *idx = field(b, &in->a);
		const char *d = wr_begin(b, &in->d, &sc);
		out(b, "regrd %s %s %s", d, ir->exts[in->obj].name, idx);
		wr_end(b, &in->d, sc);
		break;
	}
	case I_REGWR: {
		const char *idx = field(b, &in->a), *v = rd(b, &in->b);
		out(b, "regwr %s %s %s", ir->exts[in->obj].name, idx, v);
		break;
	}
	case I_METER: {
		const struct ir_extern *x = &ir->exts[in->obj];
		const char *idx;
		if (x->k == X_DMETER) {
			int s = scratch(b, 32);
			idx = bfmt(b, "m.%s", ir->meta[s].name);
			out(b, "entryid %s", idx);
		} else {
			idx = field(b, &in->a);
		}
		int ls = scratch(b, 32);
		out(b, "mov m.%s 1", ir->meta[ls].name);
		const char *col = in->b.k != O_NONE ? rd(b, &in->b) : "0";
		int sc;
		const char *d = wr_begin(b, &in->d, &sc);
		out(b, "meter %s %s m.%s %s %s", ext_array(b, x), idx, ir->meta[ls].name, col, d);
		wr_end(b, &in->d, sc);
		break;
	}
	case I_LEARN: {
		const struct ir_action *la = &ir->acts[in->obj2];
		const char *tmo = field(b, &in->a);
		if (la->np) {
			int first, last, widths[64];
			for (int i = 0; i < la->np && i < 64; i++)
				widths[i] = la->params[i].width;
			if (in->nlist != la->np) {
				fail(b, in->loc, "add_entry with arguments that do not match the action's parameters",
				     "learn copies the action data field by field");
				break;
			}
			copy_range(b, bfmt(b, "learn_%s", la->name), in->list, in->nlist, &first, &last, widths);
			out(b, "learn %s m.%s %s", la->name, ir->meta[first].name, tmo);
		} else {
			out(b, "learn %s %s", la->name, tmo);
		}
		break;
	}
	case I_REARM:
		if (in->a.k != O_NONE)
			out(b, "rearm %s", field(b, &in->a));
		else
			out(b, "rearm");
		break;
	case I_TX: {
		const char *l = bfmt(b, "B%d", b->lbl++);
		if (b->recirc >= 0) {
			const char *r = bfmt(b, "B%d", b->lbl++);
			out(b, "jmpeq %s m.%s 0", r, ir->meta[b->recirc].name);
			out(b, "recirculate");
			out(b, "tx m.%s", ir->meta[ir->m_output_port].name);
			fprintf(b->buf, "\t%s : mov m.dpdk_nop 0\n", r);
		}
		out(b, "jmpneq %s m.%s 0", l, ir->meta[ir->m_drop].name);
		out(b, "tx m.%s", ir->meta[ir->m_output_port].name);
		fprintf(b->buf, "\t%s : drop\n", l);
		break;
	}
	}
}

/* Writes code into a memory buffer first: scratch fields it creates must be
 * declared in the metadata struct, which comes earlier in the spec. */
static char *block(struct be *b, const struct ir_code_list *code)
{
	char *text = NULL;
	size_t len = 0;

	b->buf = open_memstream(&text, &len);
	if (!b->buf)
		abort();
	for (int i = 0; i < code->n; i++)
		insn(b, code, i);
	fclose(b->buf);
	b->buf = NULL;
	return text;
}

static void write_struct(FILE *f, const char *name, const char *const *names, const int *widths, int n,
			 bool varbit_last)
{
	fprintf(f, "struct %s {\n", name);
	for (int i = 0; i < n; i++)
		fprintf(f, "\t%s<%d> %s\n", varbit_last && i == n - 1 ? "varbit" : "bit", round8(widths[i]),
			names[i]);
	fprintf(f, "}\n\n");
}

static const char *match_name(enum ir_match m)
{
	return m == M_EXACT ? "exact" : m == M_LPM ? "lpm" : "wildcard";
}

static void write_actions_list(struct be *b, FILE *f, const struct ir_table *t)
{
	fprintf(f, "\tactions {\n");
	for (int i = 0; i < t->na; i++) {
		const struct ir_table_action *ta = &t->acts[i];
		fprintf(f, "\t\t%s%s\n", b->ir->acts[ta->action].name,
			ta->default_only ? " @defaultonly" : ta->table_only ? " @tableonly" : "");
	}
	fprintf(f, "\t}\n");
}

static void write_default(struct be *b, FILE *f, const struct ir_table *t)
{
	const struct ir_action *a = &b->ir->acts[t->def_action];

	fprintf(f, "\tdefault_action %s args", a->name);
	if (!a->np)
		fprintf(f, " none");
	for (int i = 0; i < a->np; i++)
		fprintf(f, " %s %s", a->params[i].name, imm(b, t->def_args ? t->def_args[i] : 0));
	fprintf(f, "%s\n", t->def_const ? " const" : "");
}

static void write_table(struct be *b, FILE *f, int ti)
{
	struct ir_prog *ir = b->ir;
	const struct ir_table *t = &ir->tables[ti];
	bool direct = keys_direct(b, t, false);

	if (t->add_on_miss) {
		fprintf(f, "learner %s {\n\tkey {\n", t->name);
		for (int i = 0; i < t->nk; i++)
			fprintf(f, "\t\t%s\n", key_ref(b, t, i, direct));
		fprintf(f, "\t}\n");
		write_actions_list(b, f, t);
		write_default(b, f, t);
		fprintf(f, "\tsize %d\n\ttimeout {\n\t\t10\n\t\t30\n\t\t60\n\t\t120\n\t\t300\n\t\t3600\n\t}\n}\n\n",
			t->size);
		return;
	}
	fprintf(f, "table %s {\n\tkey {\n", t->name);
	for (int i = 0; i < t->nk; i++)
		if (t->keys[i].match != M_SELECTOR)
			fprintf(f, "\t\t%s %s\n", key_ref(b, t, i, direct), match_name(t->keys[i].match));
	fprintf(f, "\t}\n");
	if (t->profile < 0) {
		write_actions_list(b, f, t);
		write_default(b, f, t);
		fprintf(f, "\tsize %d\n}\n\n", t->size);
		return;
	}
	/* action profile / selector: match, [selector,] member tables */
	const struct ir_extern *x = &ir->exts[t->profile];
	bool sel = x->k == X_SELECTOR;
	fprintf(f, "\tactions {\n\t\t%s_set_%s\n\t}\n", t->name, sel ? "group_id" : "member_id");
	fprintf(f, "\tdefault_action %s_set_%s args %s 0\n\tsize %d\n}\n\n", t->name,
		sel ? "group_id" : "member_id", sel ? "group_id" : "member_id", t->size);
	if (sel) {
		fprintf(f, "selector %s_sel {\n\tgroup_id m.%s_group_id\n\tselector {\n", t->name, t->name);
		for (int i = 0; i < t->nk; i++)
			if (t->keys[i].match == M_SELECTOR)
				fprintf(f, "\t\tm.%s_s%d\n", t->name, i);
		fprintf(f, "\t}\n\tmember_id m.%s_member_id\n\tn_groups_max %d\n\tn_members_per_group_max %d\n}\n\n",
			t->name, x->size > 0 ? x->size : 1024, x->width > 0 && x->width < 16 ? 1 << x->width : 64);
	}
	fprintf(f, "table %s_member_table {\n\tkey {\n\t\tm.%s_member_id exact\n\t}\n", t->name, t->name);
	write_actions_list(b, f, t);
	write_default(b, f, t);
	fprintf(f, "\tsize %d\n}\n\n", x->size > 0 ? x->size : t->size);
}

int dpdk_emit(struct ir_prog *ir, FILE *f)
{
	struct be b = { .ir = ir, .a = &ir->p->arena, .cksum_hdr = -1 };
	char **acode, *main_code;
	size_t errors = ir->p->n_errors;

	b.lay = calloc(ir->nh + 1, sizeof(*b.lay));
	if (!b.lay)
		abort();
	for (int h = 0; h < ir->nh; h++)
		layout(&b, h);
	ir_meta_add(ir, "dpdk_nop", 8);
	b.recirc = -1;
	for (int k = -1; k < ir->na && b.recirc < 0; k++) {
		const struct ir_code_list *c = k < 0 ? &ir->main : &ir->acts[k].code;
		for (int i = 0; i < c->n && b.recirc < 0; i++)
			if (c->v[i].c == I_RECIRC)
				b.recirc = ir_meta_add(ir, "dpdk_recirculate", 8);
	}
	/* checksum states live in a header: ckadd writes a 16-bit header field */
	for (int x = 0; x < ir->nx; x++) {
		if (ir->exts[x].k != X_CKSUM)
			continue;
		if (b.cksum_hdr < 0)
			b.cksum_hdr = ir_header_add(ir, "cksum_state", "", true);
		ir_header_field_add(ir, b.cksum_hdr, ir->exts[x].name, 16);
	}
	if (b.cksum_hdr >= 0) {
		b.lay = realloc(b.lay, sizeof(*b.lay) * ir->nh);
		memset(&b.lay[b.cksum_hdr], 0, sizeof(b.lay[b.cksum_hdr]));
		layout(&b, b.cksum_hdr);
	}
	/* metadata the table plumbing needs, declared before code refers to it */
	for (int t = 0; t < ir->nt; t++) {
		const struct ir_table *tb = &ir->tables[t];
		if (!keys_direct(&b, tb, false))
			for (int i = 0; i < tb->nk; i++)
				if (tb->keys[i].match != M_SELECTOR)
					ir_meta_add(ir, bfmt(&b, "%s_k%d", tb->name, i), tb->keys[i].width);
		if (tb->profile >= 0) {
			ir_meta_add(ir, bfmt(&b, "%s_member_id", tb->name), 32);
			if (ir->exts[tb->profile].k == X_SELECTOR) {
				ir_meta_add(ir, bfmt(&b, "%s_group_id", tb->name), 32);
				for (int i = 0; i < tb->nk; i++)
					if (tb->keys[i].match == M_SELECTOR)
						ir_meta_add(ir, bfmt(&b, "%s_s%d", tb->name, i), tb->keys[i].width);
			}
		}
	}
	acode = calloc(ir->na + 1, sizeof(*acode));
	for (int i = 0; i < ir->na; i++) {
		b.act = &ir->acts[i];
		acode[i] = block(&b, &ir->acts[i].code);
	}
	b.act = NULL;
	main_code = block(&b, &ir->main);

	fprintf(f, "; %s: DPDK SWX pipeline spec written by ipdk-p4c (--arch %s)\n\n", ir->name, ir->arch);
	/* header structs, one per instance (instances of one type share none: simpler names) */
	for (int h = 0; h < ir->nh; h++) {
		const struct hlay *l = &b.lay[h];
		const struct ir_header *hd = &ir->hdrs[h];
		write_struct(f, bfmt(&b, "%s_t", hd->name), l->pname, l->pwidth, l->np,
			     hd->nf && hd->f[hd->nf - 1].varbit);
	}
	for (int h = 0; h < ir->nh; h++)
		fprintf(f, "header %s instanceof %s_t\n", ir->hdrs[h].name, ir->hdrs[h].name);
	fprintf(f, "\n");
	{
		const char **names = calloc(ir->nm + 1, sizeof(*names));
		int *widths = calloc(ir->nm + 1, sizeof(int));
		for (int i = 0; i < ir->nm; i++) {
			names[i] = ir->meta[i].name;
			widths[i] = ir->meta[i].width;
		}
		write_struct(f, "metadata_t", names, widths, ir->nm, false);
		free(names);
		free(widths);
	}
	fprintf(f, "metadata instanceof metadata_t\n\n");
	for (int x = 0; x < ir->nx; x++) {
		const struct ir_extern *e = &ir->exts[x];
		switch (e->k) {
		case X_COUNTER: case X_DCOUNTER:
			fprintf(f, "regarray %s_packets size %d initval 0\n", ext_array(&b, e),
				e->size > 0 ? e->size : 1);
			break;
		case X_REGISTER:
			fprintf(f, "regarray %s size %d initval 0\n", e->name, e->size > 0 ? e->size : 1);
			break;
		case X_METER: case X_DMETER:
			fprintf(f, "metarray %s size %d\n", ext_array(&b, e), e->size > 0 ? e->size : 1);
			break;
		default:
			break;
		}
	}
	fprintf(f, "\n");
	for (int i = 0; i < ir->na; i++) {
		const struct ir_action *a = &ir->acts[i];
		if (a->np) {
			fprintf(f, "struct %s_arg_t {\n", a->name);
			for (int k = 0; k < a->np; k++)
				fprintf(f, "\tbit<%d> %s\n", round8(a->params[k].width), a->params[k].name);
			fprintf(f, "}\n\n");
			fprintf(f, "action %s args instanceof %s_arg_t {\n%s}\n\n", a->name, a->name, acode[i]);
		} else {
			fprintf(f, "action %s args none {\n%s}\n\n", a->name, acode[i]);
		}
	}
	for (int t = 0; t < ir->nt; t++) {
		const struct ir_table *tb = &ir->tables[t];
		if (tb->profile < 0)
			continue;
		const char *what = ir->exts[tb->profile].k == X_SELECTOR ? "group_id" : "member_id";
		fprintf(f, "struct %s_set_%s_arg_t {\n\tbit<32> %s\n}\n\n", tb->name, what, what);
		fprintf(f, "action %s_set_%s args instanceof %s_set_%s_arg_t {\n\tmov m.%s_%s t.%s\n\treturn\n}\n\n",
			tb->name, what, tb->name, what, tb->name, what, what);
	}
	for (int t = 0; t < ir->nt; t++)
		write_table(&b, f, t);
	/* value sets: tables of members, one action that does nothing */
	for (int v = 0; v < ir->nvs; v++) {
		const struct ir_vset *vs = &ir->vsets[v];
		fprintf(f, "action %s_member args none {\n\treturn\n}\n\n", vs->name);
		fprintf(f, "table %s {\n\tkey {\n", vs->name);
		for (int k = 0; k < vs->nk; k++)
			fprintf(f, "\t\tm.%s %s\n", ir->meta[vs->keys[k].f.i].name, match_name(vs->keys[k].match));
		fprintf(f, "\t}\n\tactions {\n\t\t%s_member\n\t}\n\tdefault_action %s_member args none const\n"
			"\tsize %d\n}\n\n", vs->name, vs->name, vs->size);
	}
	fprintf(f, "apply {\n\trx m.%s\n", ir->meta[ir->m_input_port].name);
	if (b.recirc >= 0)
		fprintf(f, "\tmov m.%s 0\n", ir->meta[b.recirc].name);
	if (b.cksum_hdr >= 0) {
		/* checksums start cleared on every packet */
		fprintf(f, "\tvalidate h.%s\n", ir->hdrs[b.cksum_hdr].name);
		for (int x = 0; x < ir->nx; x++)
			if (ir->exts[x].k == X_CKSUM)
				fprintf(f, "\tmov h.%s.%s 0\n", ir->hdrs[b.cksum_hdr].name, ir->exts[x].name);
	}
	fprintf(f, "%s}\n", main_code);
	for (int i = 0; i < ir->na; i++)
		free(acode[i]);
	free(acode);
	free(main_code);
	free(b.lay);
	return ir->p->n_errors > errors || b.failed ? -EINVAL : 0;
}
