/*
 * Header validity analysis on the IR: which headers are valid on every path
 * to each instruction, and a warning at each write to a field of a header
 * that may be invalid there. On the DPDK target an invalid header's fields
 * live wherever the header last pointed (possibly an earlier packet's
 * buffer), so such a write can corrupt memory; P4 says the write is
 * undefined. The analysis is a forward must-dataflow over the main code
 * (extract, setValid, setInvalid, isValid branches), where applying a table
 * counts as running any of its actions: an action is summarized by the
 * headers it makes valid on all its paths and those it may invalidate, and
 * is itself checked with the headers valid at every place its tables apply.
 * Programs whose validity hangs on other facts (a metadata flag set with an
 * extract) get a warning they can silence by testing isValid().
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct va {
	struct ir_prog *ir;
	int nw;			/* 64-bit words per set */
	uint64_t *act_gen, *act_kill, *act_entry; /* per action, nw words each */
	bool *act_used;
};

static uint64_t *row(const struct va *v, uint64_t *base, int i)
{
	return base + (size_t)i * v->nw;
}

static void set_bit(uint64_t *s, int h, bool on)
{
	if (on)
		s[h / 64] |= 1ull << (h % 64);
	else
		s[h / 64] &= ~(1ull << (h % 64));
}

static bool has_bit(const uint64_t *s, int h)
{
	return s[h / 64] >> (h % 64) & 1;
}

static int label_at(const struct ir_code_list *code, int label)
{
	for (int i = 0; i < code->n; i++)
		if (code->v[i].c == I_LABEL && code->v[i].label == label)
			return i;
	return -1;
}

/* The state after instruction in, given the state before it (in place). */
static void transfer(const struct va *v, const struct ir_insn *in, uint64_t *s)
{
	switch (in->c) {
	case I_EXTRACT: case I_EXTRACTV: case I_VALIDATE:
		set_bit(s, in->a.h, true);
		break;
	case I_INVALIDATE:
		set_bit(s, in->a.h, false);
		break;
	case I_TABLE: {
		const struct ir_table *t = &v->ir->tables[in->obj];
		uint64_t gen[v->nw], kill[v->nw];
		memset(kill, 0, sizeof(kill));
		memset(gen, 0xff, sizeof(gen));
		for (int k = 0; k < t->na; k++) {
			int a = t->acts[k].action;
			for (int i = 0; i < v->nw; i++) {
				gen[i] &= row(v, v->act_gen, a)[i];
				kill[i] |= row(v, v->act_kill, a)[i];
			}
		}
		if (!t->na)
			memset(gen, 0, sizeof(gen));
		for (int i = 0; i < v->nw; i++)
			s[i] = (s[i] & ~kill[i]) | gen[i];
		break;
	}
	default:
		break;
	}
}

/* Runs the dataflow over code from entry; st gets the state before every
 * instruction (nw words each, all-ones for unreached ones) and exit (when
 * set) the meet of the states at returns and at the end. */
static void flow(const struct va *v, const struct ir_code_list *code, const uint64_t *entry,
		 uint64_t *st, bool *reached, uint64_t *exit)
{
	int nw = v->nw, n = code->n;
	int *lbl = malloc(sizeof(int) * (n + 1));
	bool changed = true;
	uint64_t cur[nw];

	if (!lbl)
		abort();
	for (int i = 0; i < n; i++) {
		const struct ir_insn *in = &code->v[i];
		bool jump = in->c == I_JMP || in->c == I_JCMP || in->c == I_JVALID || in->c == I_JNVALID ||
			    in->c == I_JHIT || in->c == I_JMISS || in->c == I_JACT || in->c == I_JNACT;
		lbl[i] = jump ? label_at(code, in->label) : -1;
	}
	memset(st, 0xff, sizeof(uint64_t) * nw * (n + 1));
	memset(reached, 0, sizeof(bool) * (n + 1));
	if (exit)
		memset(exit, 0xff, sizeof(uint64_t) * nw);
	memcpy(st, entry, sizeof(uint64_t) * nw);
	reached[0] = true;
	/* iterate to a fixpoint: states only lose bits, so this ends */
	while (changed) {
		changed = false;
		for (int i = 0; i < n; i++) {
			const struct ir_insn *in = &code->v[i];
			if (!reached[i])
				continue;
			memcpy(cur, row(v, st, i), sizeof(cur));
			transfer(v, in, cur);
			uint64_t taken[nw];
			memcpy(taken, cur, sizeof(taken));
			if (in->c == I_JVALID || in->c == I_JNVALID) {
				set_bit(taken, in->a.h, in->c == I_JVALID);
				set_bit(cur, in->a.h, in->c != I_JVALID);
			}
			bool falls = in->c != I_JMP && in->c != I_RETURN && in->c != I_EXIT && in->c != I_TX;
			int succ[2] = { falls ? i + 1 : -1, lbl[i] };
			/* a header known valid never takes the "invalid" edge */
			if ((in->c == I_JVALID || in->c == I_JNVALID) && has_bit(row(v, st, i), in->a.h))
				succ[in->c == I_JVALID ? 0 : 1] = -1;
			const uint64_t *out[2] = { cur, taken };
			for (int k = 0; k < 2; k++) {
				int j = succ[k];
				if (j < 0)
					continue;
				uint64_t *dst = row(v, st, j);
				for (int q = 0; q < nw; q++) {
					uint64_t m = reached[j] ? dst[q] & out[k][q] : out[k][q];
					if (m != dst[q] || !reached[j]) {
						dst[q] = m;
						changed = true;
					}
				}
				reached[j] = true;
			}
			if (exit && (in->c == I_RETURN || in->c == I_EXIT || i == n - 1))
				for (int q = 0; q < nw; q++)
					exit[q] &= cur[q];
		}
	}
	if (exit && n == 0)
		memcpy(exit, entry, sizeof(uint64_t) * nw);
	free(lbl);
}

/* Warns at each reached write to a field of a header not valid there. */
static void report(const struct va *v, const struct ir_code_list *code, const uint64_t *st,
		   const bool *reached)
{
	struct ir_prog *ir = v->ir;

	for (int i = 0; i < code->n; i++) {
		const struct ir_insn *in = &code->v[i];
		if (!reached[i] || in->d.k != O_HF || ir->hdrs[in->d.h].internal ||
		    has_bit(row(v, (uint64_t *)st, i), in->d.h))
			continue;
		/* one warning per statement and header */
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = reached[j] && code->v[j].d.k == O_HF && code->v[j].d.h == in->d.h &&
			       code->v[j].loc.line == in->loc.line && code->v[j].loc.file == in->loc.file &&
			       !has_bit(row(v, (uint64_t *)st, j), in->d.h);
		if (seen)
			continue;
		p4_diag(ir->p, IPDK_P4C_WARNING, in->loc,
			"header '%s' may be invalid here, so writing its field '%s' is undefined and on the "
			"DPDK target writes wherever the header last pointed (possibly another packet); "
			"test isValid() or call setValid() first", ir->hdrs[in->d.h].name,
			ir->hdrs[in->d.h].f[in->d.i].name);
	}
}

void ir_check_validity(struct ir_prog *ir)
{
	struct va v = { .ir = ir, .nw = (ir->nh + 63) / 64 + 1 };
	int nmax = ir->main.n;
	uint64_t *st, *zero;
	bool *reached;

	for (int a = 0; a < ir->na; a++)
		if (ir->acts[a].code.n > nmax)
			nmax = ir->acts[a].code.n;
	v.act_gen = calloc((size_t)(ir->na + 1) * v.nw, sizeof(uint64_t));
	v.act_kill = calloc((size_t)(ir->na + 1) * v.nw, sizeof(uint64_t));
	v.act_entry = calloc((size_t)(ir->na + 1) * v.nw, sizeof(uint64_t));
	v.act_used = calloc(ir->na + 1, sizeof(bool));
	st = calloc((size_t)(nmax + 1) * v.nw, sizeof(uint64_t));
	zero = calloc(v.nw, sizeof(uint64_t));
	reached = calloc(nmax + 1, sizeof(bool));
	if (!v.act_gen || !v.act_kill || !v.act_entry || !v.act_used || !st || !zero || !reached)
		abort();
	/* action summaries: made valid on every path (from nothing valid), and
	 * possibly invalidated */
	for (int a = 0; a < ir->na; a++) {
		const struct ir_code_list *c = &ir->acts[a].code;
		flow(&v, c, zero, st, reached, row(&v, v.act_gen, a));
		for (int i = 0; i < c->n; i++)
			if (c->v[i].c == I_INVALIDATE)
				set_bit(row(&v, v.act_kill, a), c->v[i].a.h, true);
	}
	flow(&v, &ir->main, zero, st, reached, NULL);
	report(&v, &ir->main, st, reached);
	/* an action starts with what is valid wherever its tables apply */
	memset(v.act_entry, 0xff, sizeof(uint64_t) * (ir->na + 1) * v.nw);
	for (int i = 0; i < ir->main.n; i++) {
		const struct ir_insn *in = &ir->main.v[i];
		if (in->c != I_TABLE || !reached[i])
			continue;
		const struct ir_table *t = &ir->tables[in->obj];
		for (int k = 0; k < t->na; k++) {
			int a = t->acts[k].action;
			v.act_used[a] = true;
			for (int q = 0; q < v.nw; q++)
				row(&v, v.act_entry, a)[q] &= row(&v, st, i)[q];
		}
	}
	for (int a = 0; a < ir->na; a++) {
		if (!v.act_used[a])
			continue;
		flow(&v, &ir->acts[a].code, row(&v, v.act_entry, a), st, reached, NULL);
		report(&v, &ir->acts[a].code, st, reached);
	}
	free(v.act_gen);
	free(v.act_kill);
	free(v.act_entry);
	free(v.act_used);
	free(st);
	free(zero);
	free(reached);
}
