/*
 * Text form of the mid-level IR (ipdk-p4c --dump-ir): headers, metadata,
 * actions, tables and the pipeline's instructions, one per line. Meant for
 * people debugging the compiler and for tests that look at the lowering
 * without a target in the way.
 */
#include <inttypes.h>
#include <stdio.h>

#include "ir.h"

const char *ir_op_str(const struct ir_prog *ir, const struct ir_action *act, const struct ir_op *o)
{
	static __thread char ring[8][160];
	static __thread int k;
	char *s = ring[k++ & 7];

	switch (o->k) {
	case O_HF:
		snprintf(s, 160, "%s.%s", ir->hdrs[o->h].name, ir->hdrs[o->h].f[o->i].name);
		break;
	case O_HDR: snprintf(s, 160, "%s", ir->hdrs[o->h].name); break;
	case O_META: snprintf(s, 160, "$%s", ir->meta[o->i].name); break;
	case O_PARAM: snprintf(s, 160, "@%s", act ? act->params[o->i].name : "?"); break;
	case O_CONST: snprintf(s, 160, "%" PRIu64 "w%d", o->v, o->width); break;
	default: snprintf(s, 160, "-"); break;
	}
	return s;
}

static const char *const code_names[] = {
	[I_LABEL] = "label", [I_MOV] = "mov", [I_ADD] = "add", [I_SUB] = "sub", [I_AND] = "and",
	[I_OR] = "or", [I_XOR] = "xor", [I_SHL] = "shl", [I_SHR] = "shr", [I_NOT] = "not",
	[I_JMP] = "jmp", [I_JCMP] = "jcmp", [I_JVALID] = "jvalid", [I_JNVALID] = "jnvalid",
	[I_JHIT] = "jhit", [I_JMISS] = "jmiss", [I_JACT] = "jact", [I_JNACT] = "jnact",
	[I_EXTRACT] = "extract", [I_LOOKAHEAD] = "lookahead", [I_EMIT] = "emit",
	[I_VALIDATE] = "validate", [I_INVALIDATE] = "invalidate", [I_TABLE] = "table",
	[I_SEND] = "send", [I_DROP] = "drop", [I_EXIT] = "exit", [I_RETURN] = "return",
	[I_CKCLEAR] = "ckclear", [I_CKADD] = "ckadd", [I_CKSUB] = "cksub", [I_CKGET] = "ckget",
	[I_HASH] = "hash", [I_COUNT] = "count", [I_REGRD] = "regrd", [I_REGWR] = "regwr",
	[I_METER] = "meter", [I_LEARN] = "learn", [I_REARM] = "rearm", [I_TX] = "tx",
	[I_MIRROR] = "mirror", [I_RECIRC] = "recirculate", [I_PASS] = "pass", [I_EXTRACTV] = "extractv", [I_JVSET] = "jvset",
};

static void print_code(const struct ir_prog *ir, const struct ir_action *act,
		       const struct ir_code_list *c, FILE *f)
{
	static const char *const cmp[] = { "==", "!=", "<", ">", "<=", ">=" };

	for (int i = 0; i < c->n; i++) {
		const struct ir_insn *in = &c->v[i];
		if (in->c == I_LABEL) {
			fprintf(f, "L%d:\n", in->label);
			continue;
		}
		fprintf(f, "\t%s", code_names[in->c]);
		if (in->c == I_JCMP)
			fprintf(f, " %s %s %s", ir_op_str(ir, act, &in->a), cmp[in->cmp],
				ir_op_str(ir, act, &in->b));
		else {
			if (in->d.k != O_NONE)
				fprintf(f, " %s =", ir_op_str(ir, act, &in->d));
			if (in->a.k != O_NONE)
				fprintf(f, " %s", ir_op_str(ir, act, &in->a));
			if (in->b.k != O_NONE)
				fprintf(f, " %s", ir_op_str(ir, act, &in->b));
		}
		if (in->c == I_TABLE)
			fprintf(f, " %s", ir->tables[in->obj].name);
		else if (in->c == I_JACT || in->c == I_JNACT)
			fprintf(f, " %s", ir->acts[in->obj].name);
		else if (in->c == I_JVSET)
			fprintf(f, " %s", ir->vsets[in->obj].name);
		else if (in->c == I_LEARN)
			fprintf(f, " %s", ir->acts[in->obj2].name);
		else if (in->obj >= 0 && in->c >= I_CKCLEAR && in->c < I_TX)
			fprintf(f, " %s", ir->exts[in->obj].name);
		for (int k = 0; k < in->nlist; k++)
			fprintf(f, "%s%s", k ? ", " : " [", ir_op_str(ir, act, &in->list[k]));
		if (in->nlist)
			fprintf(f, "]");
		if (in->label >= 0 && in->c != I_LABEL)
			fprintf(f, " -> L%d", in->label);
		fprintf(f, "\n");
	}
}

void ir_print(const struct ir_prog *ir, FILE *f)
{
	static const char *const mt[] = { "exact", "lpm", "ternary", "range", "selector", "optional" };

	for (int h = 0; h < ir->nh; h++) {
		fprintf(f, "header %s : %s {", ir->hdrs[h].name, ir->hdrs[h].type_name);
		for (int i = 0; i < ir->hdrs[h].nf; i++)
			fprintf(f, " %s:%d", ir->hdrs[h].f[i].name, ir->hdrs[h].f[i].width);
		fprintf(f, " }\n");
	}
	for (int i = 0; i < ir->nm; i++)
		fprintf(f, "meta %s:%d\n", ir->meta[i].name, ir->meta[i].width);
	for (int a = 0; a < ir->na; a++) {
		const struct ir_action *ac = &ir->acts[a];
		fprintf(f, "action %s (%s)", ac->name, ac->p4name);
		for (int i = 0; i < ac->np; i++)
			fprintf(f, " %s:%d", ac->params[i].name, ac->params[i].width);
		fprintf(f, " {\n");
		print_code(ir, ac, &ac->code, f);
		fprintf(f, "}\n");
	}
	for (int t = 0; t < ir->nt; t++) {
		const struct ir_table *tb = &ir->tables[t];
		fprintf(f, "table %s (%s) size %d%s {", tb->name, tb->p4name, tb->size,
			tb->add_on_miss ? " add_on_miss" : "");
		for (int k = 0; k < tb->nk; k++)
			fprintf(f, " %s:%s", ir_op_str(ir, NULL, &tb->keys[k].f), mt[tb->keys[k].match]);
		fprintf(f, " |");
		for (int i = 0; i < tb->na; i++)
			fprintf(f, " %s", ir->acts[tb->acts[i].action].name);
		fprintf(f, " }\n");
	}
	for (int v = 0; v < ir->nvs; v++) {
		const struct ir_vset *vs = &ir->vsets[v];
		fprintf(f, "value_set %s (%s) size %d {", vs->name, vs->p4name, vs->size);
		for (int k = 0; k < vs->nk; k++)
			fprintf(f, " %s:%s", ir_op_str(ir, NULL, &vs->keys[k].f), mt[vs->keys[k].match]);
		fprintf(f, " }\n");
	}
	fprintf(f, "pipeline {\n");
	print_code(ir, NULL, &ir->main, f);
	fprintf(f, "}\n");
}
