/*
 * Ids and the context JSON of a compiled program. Ids follow P4Runtime: the
 * top byte says the kind of object (p4.config.v1.P4Ids.Prefix), the low 24
 * bits are a hash of the object's fully qualified name (probing on
 * collisions), so an object keeps its id when others are added or removed.
 * The context JSON of docs/bundle.md maps P4Info names onto the objects of
 * the DPDK spec; P4Info itself is built in p4info.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

enum {
	ID_ACTION = 0x01, ID_TABLE = 0x02, ID_PROFILE = 0x11, ID_COUNTER = 0x12,
	ID_DCOUNTER = 0x13, ID_METER = 0x14, ID_DMETER = 0x15, ID_REGISTER = 0x16,
	ID_CTRL_HDR = 0x04, ID_VALUE_SET = 0x03,
};

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return (h ^ (h >> 24)) & 0xffffff;
}

void p4info_assign_ids(struct ir_prog *ir)
{
	uint32_t used[4096];
	int n = 0;

#define ASSIGN(kind, obj, nm)						\
	do {								\
		uint32_t lo = name_hash(nm);				\
		for (;;) {						\
			uint32_t id = ((uint32_t)(kind) << 24) | (lo ? lo : 1); \
			bool dup = false;				\
			for (int q = 0; q < n; q++)			\
				dup |= used[q] == id;			\
			if (!dup) {					\
				(obj)->id = (int)id;			\
				if (n < 4096)				\
					used[n++] = id;			\
				break;					\
			}						\
			lo = (lo + 1) & 0xffffff;			\
		}							\
	} while (0)

	for (int i = 0; i < ir->na; i++)
		ASSIGN(ID_ACTION, &ir->acts[i], ir->acts[i].p4name);
	for (int i = 0; i < ir->nt; i++)
		ASSIGN(ID_TABLE, &ir->tables[i], ir->tables[i].p4name);
	for (int i = 0; i < ir->nvs; i++)
		ASSIGN(ID_VALUE_SET, &ir->vsets[i], ir->vsets[i].p4name);
	for (int i = 0; i < ir->nx; i++) {
		struct ir_extern *x = &ir->exts[i];
		int k = x->k == X_COUNTER ? ID_COUNTER : x->k == X_DCOUNTER ? ID_DCOUNTER :
			x->k == X_METER ? ID_METER : x->k == X_DMETER ? ID_DMETER :
			x->k == X_REGISTER ? ID_REGISTER : x->k == X_PROFILE || x->k == X_SELECTOR ? ID_PROFILE : 0;
		if (k)
			ASSIGN(k, x, x->p4name);
	}
#undef ASSIGN
}

uint32_t p4info_ctrl_header_id(const char *name)
{
	return ((uint32_t)ID_CTRL_HDR << 24) | name_hash(name);
}

/* ---- context JSON ---- */

/* match kinds by enum ir_match */
static const char *const mt[] = { "exact", "lpm", "ternary", "range", "selector", "optional" };

static void json_action(const struct ir_prog *ir, FILE *f, const struct ir_table_action *ta, bool last)
{
	const struct ir_action *a = &ir->acts[ta->action];

	fprintf(f, "        { \"name\": \"%s\", \"target_name\": \"%s\", \"id\": %u,\n"
		"          \"allowed_as_hit_action\": %s, \"allowed_as_default_action\": %s,\n"
		"          \"p4_parameters\": [", a->p4name, a->name, (uint32_t)a->id,
		ta->default_only ? "false" : "true", ta->table_only ? "false" : "true");
	for (int i = 0; i < a->np; i++)
		fprintf(f, "%s\n            { \"name\": \"%s\", \"bit_width\": %d, \"position\": %d }",
			i ? "," : "", a->params[i].name, a->params[i].width, i);
	fprintf(f, "%s] }%s\n", a->np ? "\n          " : "", last ? "" : ",");
}

/* The entries the program declares, for the control plane to install:
 * don't-care keys are left out, as in P4Runtime. */
static void json_entries(const struct ir_prog *ir, FILE *f, const struct ir_table *tb)
{

	fprintf(f, ",\n      \"entries_const\": %s, \"entries\": [", tb->entries_const ? "true" : "false");
	for (int i = 0; i < tb->nentries; i++) {
		const struct ir_entry *e = &tb->entries[i];
		const struct ir_action *a = &ir->acts[e->action];
		bool first = true;
		fprintf(f, "%s\n        { \"priority\": %d, \"match\": [", i ? "," : "", e->priority);
		for (int k = 0, n = 0; k < tb->nk; k++) {
			const struct ir_key *key = &tb->keys[k];
			const struct ir_ekey *ek = &e->keys[n];
			if (key->match == M_SELECTOR)
				continue;
			n++;
			if (ek->any)
				continue;
			fprintf(f, "%s\n          { \"name\": \"%s\", \"match_type\": \"%s\", \"value\": \"0x%" PRIx64 "\"",
				first ? "" : ",", key->name, mt[key->match], ek->value);
			first = false;
			if (key->match == M_LPM)
				fprintf(f, ", \"prefix_len\": %d", ek->prefix);
			else if (key->match == M_RANGE)
				fprintf(f, ", \"high\": \"0x%" PRIx64 "\"", ek->hi);
			else if (key->match == M_TERNARY)
				fprintf(f, ", \"mask\": \"0x%" PRIx64 "\"", ek->mask);
			fprintf(f, " }");
		}
		fprintf(f, " ],\n          \"action\": { \"name\": \"%s\", \"target_name\": \"%s\", \"params\": [",
			a->p4name, a->name);
		for (int p = 0; p < a->np; p++)
			fprintf(f, "%s { \"name\": \"%s\", \"value\": \"0x%" PRIx64 "\" }", p ? "," : "",
				a->params[p].name, e->args[p]);
		fprintf(f, " ] } }");
	}
	fprintf(f, " ]");
}

static const char *ext_type(enum ir_extk k)
{
	switch (k) {
	case X_COUNTER: return "Counter";
	case X_DCOUNTER: return "DirectCounter";
	case X_METER: return "Meter";
	case X_DMETER: return "DirectMeter";
	case X_REGISTER: return "Register";
	default: return NULL;
	}
}

static void json_ctrl(const struct ir_prog *ir, FILE *f, int h, const char *name, bool comma)
{
	const struct ir_header *hd = &ir->hdrs[h];

	fprintf(f, "    \"%s\": { \"header\": \"%s\", \"metadata\": [", name, hd->name);
	for (int i = 0; i < hd->nf; i++)
		fprintf(f, "%s { \"id\": %d, \"name\": \"%s\", \"bit_width\": %d }", i ? "," : "", i + 1,
			hd->f[i].name, hd->f[i].width);
	fprintf(f, " ] }%s\n", comma ? "," : "");
}

/* Does any code of ir hold an instruction c? */
static bool uses(const struct ir_prog *ir, enum ir_code c)
{
	for (int k = -1; k < ir->na; k++) {
		const struct ir_code_list *code = k < 0 ? &ir->main : &ir->acts[k].code;
		for (int i = 0; i < code->n; i++)
			if (code->v[i].c == c)
				return true;
	}
	return false;
}

int context_write_json(const struct ir_prog *cir, FILE *f)
{
	struct ir_prog *ir = (struct ir_prog *)cir;
	bool first = true;

	p4info_assign_ids(ir);
	fprintf(f, "{\n  \"program_name\": \"%s\",\n  \"tables\": [\n", ir->name);
	for (int t = 0; t < ir->nt; t++) {
		const struct ir_table *tb = &ir->tables[t];
		const struct ir_action *def = tb->def_action >= 0 ? &ir->acts[tb->def_action] : NULL;
		fprintf(f, "    { \"name\": \"%s\", \"target_name\": \"%s\", \"id\": %u,\n"
			"      \"table_type\": \"%s\", \"size\": %d,\n      \"match_key_fields\": [",
			tb->p4name, tb->name, (uint32_t)tb->id, tb->add_on_miss ? "learner" : "match", tb->size);
		for (int k = 0, pos = 0; k < tb->nk; k++) {
			if (tb->keys[k].match == M_SELECTOR)
				continue;
			fprintf(f, "%s\n        { \"name\": \"%s\", \"match_type\": \"%s\", \"bit_width\": %d, "
				"\"position\": %d }", pos ? "," : "", tb->keys[k].name, mt[tb->keys[k].match],
				tb->keys[k].width, pos);
			pos++;
		}
		fprintf(f, " ],\n      \"actions\": [\n");
		for (int a = 0; a < tb->na; a++)
			json_action(ir, f, &tb->acts[a], a == tb->na - 1);
		fprintf(f, "      ]");
		if (def)
			fprintf(f, ",\n      \"default_action\": { \"name\": \"%s\", \"target_name\": \"%s\", "
				"\"const\": %s }", def->p4name, def->name, tb->def_const ? "true" : "false");
		if (tb->n_const_entries)
			json_entries(ir, f, tb);
		if (tb->profile >= 0) {
			const struct ir_extern *x = &ir->exts[tb->profile];
			fprintf(f, ",\n      \"action_profile\": \"%s\", \"member_table\": \"%s_member_table\"",
				x->p4name, tb->name);
			if (x->k == X_SELECTOR)
				fprintf(f, ", \"group_table\": \"%s_sel\"", tb->name);
		}
		fprintf(f, " }%s\n", t == ir->nt - 1 ? "" : ",");
	}
	fprintf(f, "  ],\n  \"externs\": [");
	for (int i = 0; i < ir->nx; i++) {
		const struct ir_extern *x = &ir->exts[i];
		const char *ty = ext_type(x->k);
		if (!ty)
			continue;
		bool direct = x->k == X_DCOUNTER || x->k == X_DMETER;
		const char *tn = direct && x->table >= 0 ? ir->tables[x->table].name : NULL;
		fprintf(f, "%s\n    { \"name\": \"%s\", \"target_name\": \"%s%s%s\", \"id\": %u, \"type\": \"%s\",\n"
			"      \"attributes\": { ", first ? "" : ",", x->p4name, tn ? tn : "", tn ? "__" : "",
			x->name, (uint32_t)x->id, ty);
		first = false;
		if (x->k == X_COUNTER || x->k == X_DCOUNTER)
			fprintf(f, "\"type\": \"%s\", ", x->unit == 0 ? "packets" : x->unit == 1 ? "bytes" :
				"packets_and_bytes");
		if (x->k == X_REGISTER)
			fprintf(f, "\"bit_width\": %d, ", x->width);
		fprintf(f, "\"size\": %d", x->size);
		if (direct && x->table >= 0)
			fprintf(f, ", \"table\": \"%s\"", ir->tables[x->table].p4name);
		fprintf(f, " } }");
	}
	fprintf(f, "\n  ],\n  \"learners\": [");
	first = true;
	for (int t = 0; t < ir->nt; t++) {
		if (!ir->tables[t].add_on_miss)
			continue;
		fprintf(f, "%s\n    { \"name\": \"%s\", \"target_name\": \"%s\", \"timeouts\": [10, 30, 60, 120, 300, 3600] }",
			first ? "" : ",", ir->tables[t].p4name, ir->tables[t].name);
		first = false;
	}
	fprintf(f, "\n  ]");
	if (ir->nvs) {
		/* value sets: spec tables whose entries (all running "<name>_member")
		 * are the members; P4Runtime's ValueSetEntry maps onto them */
		fprintf(f, ",\n  \"value_sets\": [");
		for (int v = 0; v < ir->nvs; v++) {
			const struct ir_vset *vs = &ir->vsets[v];
			fprintf(f, "%s\n    { \"name\": \"%s\", \"target_name\": \"%s\", \"id\": %u, \"size\": %d,\n"
				"      \"action\": \"%s_member\", \"match_key_fields\": [", v ? "," : "", vs->p4name,
				vs->name, (uint32_t)vs->id, vs->size, vs->name);
			for (int k = 0; k < vs->nk; k++)
				fprintf(f, "%s\n        { \"name\": \"%s\", \"match_type\": \"%s\", \"bit_width\": %d, "
					"\"position\": %d }", k ? "," : "", vs->keys[k].name, mt[vs->keys[k].match],
					vs->keys[k].width, k);
			fprintf(f, " ] }");
		}
		fprintf(f, "\n  ]");
	}
	if (uses(ir, I_MIRROR))
		/* what the target offers (lib/target-dpdk/pipeline.c); the control
		 * plane sets each session's port and truncation length */
		fprintf(f, ",\n  \"mirroring\": { \"slots\": %d, \"sessions\": %d }", DPDK_MIRROR_SLOTS,
			DPDK_MIRROR_SESSIONS);
	if (uses(ir, I_RECIRC))
		fprintf(f, ",\n  \"recirculation\": true");
	if (ir->pkt_in_hdr >= 0 || ir->pkt_out_hdr >= 0) {
		fprintf(f, ",\n  \"controller\": {\n");
		if (ir->pkt_in_hdr >= 0)
			json_ctrl(ir, f, ir->pkt_in_hdr, "packet_in", ir->pkt_out_hdr >= 0);
		if (ir->pkt_out_hdr >= 0)
			json_ctrl(ir, f, ir->pkt_out_hdr, "packet_out", false);
		fprintf(f, "  }");
	}
	fprintf(f, "\n}\n");
	return ferror(f) ? -EIO : 0;
}
