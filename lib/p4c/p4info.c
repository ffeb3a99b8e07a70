/*
 * P4Info and the pipeline bundle of a compiled program, as protobuf-c
 * messages (docs/bundle.md): P4Info (p4.config.v1.P4Info) is built once from
 * the IR and written either packed (binary) or in protobuf text format
 * (lib/pbtext), so the two cannot disagree; the device config is IPDK's
 * BfPipelineConfig (profile "pipe" holding the context JSON and the spec
 * text); the single-file bundle is a p4.v1.ForwardingPipelineConfig with
 * that device config and the P4Info. Every message lives in the program's
 * arena and is freed with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipdk/bundle.pb-c.h"
#include "ir.h"
#include "p4/config/v1/p4info.pb-c.h"
#include "p4/v1/p4runtime.pb-c.h"
#include "ipdk/pbtext.h"

typedef P4__Config__V1__Preamble Preamble;

struct pb {
	const struct ir_prog *ir;
	struct p4_arena *a;
	const char **names;	/* every preamble name, for the aliases */
	int nnames;
};

#define NEW(pb, T, init) ({ T *_m = p4_alloc((pb)->a, sizeof(T)); init(_m); _m; })
#define NEWV(pb, T, n) ((T **)p4_alloc((pb)->a, sizeof(T *) * ((n) + 1)))

static char *str(struct pb *pb, const char *s)
{
	return p4_strndup(pb->a, s, strlen(s));
}

/* The shortest dot-separated suffix of name no other object's name ends
 * with at a dot boundary (P4Runtime's default alias). */
static const char *alias(struct pb *pb, const char *name)
{
	const char *best = name;

	for (const char *p = name + strlen(name); p > name; p--) {
		if (p[-1] != '.')
			continue;
		bool clash = false;
		for (int i = 0; i < pb->nnames && !clash; i++) {
			const char *o = pb->names[i];
			size_t lo = strlen(o), ls = strlen(p);
			if (o == name || !strcmp(o, name) || lo < ls)
				continue;
			clash = !strcmp(o + lo - ls, p) && (lo == ls || o[lo - ls - 1] == '.');
		}
		if (!clash)
			return p;
	}
	return best;
}

static Preamble *preamble(struct pb *pb, uint32_t id, const char *name)
{
	Preamble *p = NEW(pb, Preamble, p4__config__v1__preamble__init);

	p->id = id;
	p->name = str(pb, name);
	p->alias = str(pb, alias(pb, name));
	return p;
}

static void collect_names(struct pb *pb)
{
	const struct ir_prog *ir = pb->ir;
	int n = 0;

	pb->names = p4_alloc(pb->a, sizeof(char *) * (ir->na + ir->nt + ir->nx + ir->nvs + 1));
	for (int i = 0; i < ir->nvs; i++)
		pb->names[n++] = ir->vsets[i].p4name;
	for (int i = 0; i < ir->na; i++)
		pb->names[n++] = ir->acts[i].p4name;
	for (int i = 0; i < ir->nt; i++)
		pb->names[n++] = ir->tables[i].p4name;
	for (int i = 0; i < ir->nx; i++)
		if (ir->exts[i].id)
			pb->names[n++] = ir->exts[i].p4name;
	pb->nnames = n;
}

static int match_type(enum ir_match m)
{
	switch (m) {
	case M_LPM: return P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__LPM;
	case M_TERNARY: return P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__TERNARY;
	case M_RANGE: return P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__RANGE;
	case M_OPTIONAL: return P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__OPTIONAL;
	default: return P4__CONFIG__V1__MATCH_FIELD__MATCH_TYPE__EXACT;
	}
}

/* A P4Info match field for key k, numbered id. */
static P4__Config__V1__MatchField *match_field(struct pb *pb, const struct ir_key *k, uint32_t id)
{
	P4__Config__V1__MatchField *mf = NEW(pb, P4__Config__V1__MatchField, p4__config__v1__match_field__init);

	mf->id = id;
	mf->name = str(pb, k->name);
	mf->bitwidth = k->width;
	mf->match_case = P4__CONFIG__V1__MATCH_FIELD__MATCH_MATCH_TYPE;
	mf->match_type = match_type(k->match);
	return mf;
}

static P4__Config__V1__ValueSet *value_set(struct pb *pb, const struct ir_vset *vs)
{
	P4__Config__V1__ValueSet *v = NEW(pb, P4__Config__V1__ValueSet, p4__config__v1__value_set__init);

	v->preamble = preamble(pb, (uint32_t)vs->id, vs->p4name);
	v->match = NEWV(pb, P4__Config__V1__MatchField, vs->nk);
	for (int k = 0; k < vs->nk; k++)
		v->match[v->n_match++] = match_field(pb, &vs->keys[k], (uint32_t)k + 1);
	v->size = vs->size;
	return v;
}

static P4__Config__V1__Table *table(struct pb *pb, const struct ir_table *tb)
{
	const struct ir_prog *ir = pb->ir;
	P4__Config__V1__Table *t = NEW(pb, P4__Config__V1__Table, p4__config__v1__table__init);

	t->preamble = preamble(pb, (uint32_t)tb->id, tb->p4name);
	t->match_fields = NEWV(pb, P4__Config__V1__MatchField, tb->nk);
	for (int k = 0; k < tb->nk; k++) {
		if (tb->keys[k].match == M_SELECTOR)
			continue;
		t->match_fields[t->n_match_fields] = match_field(pb, &tb->keys[k],
								 (uint32_t)t->n_match_fields + 1);
		t->n_match_fields++;
	}
	t->action_refs = NEWV(pb, P4__Config__V1__ActionRef, tb->na);
	for (int a = 0; a < tb->na; a++) {
		const struct ir_table_action *ta = &tb->acts[a];
		P4__Config__V1__ActionRef *r = NEW(pb, P4__Config__V1__ActionRef,
						   p4__config__v1__action_ref__init);
		r->id = (uint32_t)ir->acts[ta->action].id;
		r->scope = ta->default_only ? P4__CONFIG__V1__ACTION_REF__SCOPE__DEFAULT_ONLY :
			   ta->table_only ? P4__CONFIG__V1__ACTION_REF__SCOPE__TABLE_ONLY :
			   P4__CONFIG__V1__ACTION_REF__SCOPE__TABLE_AND_DEFAULT;
		t->action_refs[t->n_action_refs++] = r;
	}
	if (tb->def_const && tb->def_action >= 0)
		t->const_default_action_id = (uint32_t)ir->acts[tb->def_action].id;
	if (tb->profile >= 0)
		t->implementation_id = (uint32_t)ir->exts[tb->profile].id;
	t->direct_resource_ids = p4_alloc(pb->a, sizeof(uint32_t) * 2);
	if (tb->direct_counter >= 0)
		t->direct_resource_ids[t->n_direct_resource_ids++] = (uint32_t)ir->exts[tb->direct_counter].id;
	if (tb->direct_meter >= 0)
		t->direct_resource_ids[t->n_direct_resource_ids++] = (uint32_t)ir->exts[tb->direct_meter].id;
	t->size = tb->size;
	if (tb->add_on_miss)
		t->idle_timeout_behavior = P4__CONFIG__V1__TABLE__IDLE_TIMEOUT_BEHAVIOR__NOTIFY_CONTROL;
	t->has_initial_entries = tb->n_const_entries > 0;
	t->is_const_table = tb->entries_const;
	return t;
}

static P4__Config__V1__Action *action(struct pb *pb, const struct ir_action *ac)
{
	P4__Config__V1__Action *a = NEW(pb, P4__Config__V1__Action, p4__config__v1__action__init);

	a->preamble = preamble(pb, (uint32_t)ac->id, ac->p4name);
	a->params = NEWV(pb, P4__Config__V1__Action__Param, ac->np);
	for (int i = 0; i < ac->np; i++) {
		P4__Config__V1__Action__Param *p = NEW(pb, P4__Config__V1__Action__Param,
						       p4__config__v1__action__param__init);
		p->id = (uint32_t)i + 1;
		p->name = str(pb, ac->params[i].name);
		p->bitwidth = ac->params[i].width;
		a->params[a->n_params++] = p;
	}
	return a;
}

static P4__Config__V1__CounterSpec *counter_spec(struct pb *pb, int unit)
{
	P4__Config__V1__CounterSpec *s = NEW(pb, P4__Config__V1__CounterSpec,
					     p4__config__v1__counter_spec__init);

	s->unit = unit == 0 ? P4__CONFIG__V1__COUNTER_SPEC__UNIT__PACKETS :
		  unit == 1 ? P4__CONFIG__V1__COUNTER_SPEC__UNIT__BYTES :
		  P4__CONFIG__V1__COUNTER_SPEC__UNIT__BOTH;
	return s;
}

static P4__Config__V1__MeterSpec *meter_spec(struct pb *pb, int unit)
{
	P4__Config__V1__MeterSpec *s = NEW(pb, P4__Config__V1__MeterSpec,
					   p4__config__v1__meter_spec__init);

	s->unit = unit ? P4__CONFIG__V1__METER_SPEC__UNIT__BYTES : P4__CONFIG__V1__METER_SPEC__UNIT__PACKETS;
	return s;
}

static P4__Config__V1__P4DataTypeSpec *bits_type(struct pb *pb, int width)
{
	P4__Config__V1__P4DataTypeSpec *ts = NEW(pb, P4__Config__V1__P4DataTypeSpec,
						 p4__config__v1__p4_data_type_spec__init);
	P4__Config__V1__P4BitstringLikeTypeSpec *bs = NEW(pb, P4__Config__V1__P4BitstringLikeTypeSpec,
							  p4__config__v1__p4_bitstring_like_type_spec__init);
	P4__Config__V1__P4BitTypeSpec *bit = NEW(pb, P4__Config__V1__P4BitTypeSpec,
						 p4__config__v1__p4_bit_type_spec__init);

	bit->bitwidth = width;
	bs->type_spec_case = P4__CONFIG__V1__P4_BITSTRING_LIKE_TYPE_SPEC__TYPE_SPEC_BIT;
	bs->bit = bit;
	ts->type_spec_case = P4__CONFIG__V1__P4_DATA_TYPE_SPEC__TYPE_SPEC_BITSTRING;
	ts->bitstring = bs;
	return ts;
}

/* Appends extern x to the P4Info list it belongs to. */
static void add_extern(struct pb *pb, P4__Config__V1__P4Info *info, const struct ir_extern *x)
{
	const struct ir_prog *ir = pb->ir;
	uint32_t tid = x->table >= 0 ? (uint32_t)ir->tables[x->table].id : 0;

	switch (x->k) {
	case X_PROFILE: case X_SELECTOR: {
		P4__Config__V1__ActionProfile *p = NEW(pb, P4__Config__V1__ActionProfile,
						       p4__config__v1__action_profile__init);
		p->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		p->table_ids = p4_alloc(pb->a, sizeof(uint32_t));
		if (x->table >= 0)
			p->table_ids[p->n_table_ids++] = tid;
		p->with_selector = x->k == X_SELECTOR;
		p->size = x->size;
		info->action_profiles[info->n_action_profiles++] = p;
		break;
	}
	case X_COUNTER: {
		P4__Config__V1__Counter *c = NEW(pb, P4__Config__V1__Counter, p4__config__v1__counter__init);
		c->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		c->spec = counter_spec(pb, x->unit);
		c->size = x->size;
		info->counters[info->n_counters++] = c;
		break;
	}
	case X_DCOUNTER: {
		P4__Config__V1__DirectCounter *c = NEW(pb, P4__Config__V1__DirectCounter,
						       p4__config__v1__direct_counter__init);
		c->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		c->spec = counter_spec(pb, x->unit);
		c->direct_table_id = tid;
		info->direct_counters[info->n_direct_counters++] = c;
		break;
	}
	case X_METER: {
		P4__Config__V1__Meter *m = NEW(pb, P4__Config__V1__Meter, p4__config__v1__meter__init);
		m->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		m->spec = meter_spec(pb, x->unit);
		m->size = x->size;
		info->meters[info->n_meters++] = m;
		break;
	}
	case X_DMETER: {
		P4__Config__V1__DirectMeter *m = NEW(pb, P4__Config__V1__DirectMeter,
						     p4__config__v1__direct_meter__init);
		m->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		m->spec = meter_spec(pb, x->unit);
		m->direct_table_id = tid;
		info->direct_meters[info->n_direct_meters++] = m;
		break;
	}
	case X_REGISTER: {
		P4__Config__V1__Register *r = NEW(pb, P4__Config__V1__Register, p4__config__v1__register__init);
		r->preamble = preamble(pb, (uint32_t)x->id, x->p4name);
		r->type_spec = bits_type(pb, x->width);
		r->size = x->size;
		info->registers[info->n_registers++] = r;
		break;
	}
	default:
		break;
	}
}

static P4__Config__V1__ControllerPacketMetadata *ctrl_header(struct pb *pb, int h, const char *name)
{
	const struct ir_header *hd = &pb->ir->hdrs[h];
	P4__Config__V1__ControllerPacketMetadata *c = NEW(pb, P4__Config__V1__ControllerPacketMetadata,
							  p4__config__v1__controller_packet_metadata__init);

	c->preamble = preamble(pb, p4info_ctrl_header_id(name), name);
	c->metadata = NEWV(pb, P4__Config__V1__ControllerPacketMetadata__Metadata, hd->nf);
	for (int i = 0; i < hd->nf; i++) {
		P4__Config__V1__ControllerPacketMetadata__Metadata *m =
			NEW(pb, P4__Config__V1__ControllerPacketMetadata__Metadata,
			    p4__config__v1__controller_packet_metadata__metadata__init);
		m->id = (uint32_t)i + 1;
		m->name = str(pb, hd->f[i].name);
		m->bitwidth = hd->f[i].width;
		c->metadata[c->n_metadata++] = m;
	}
	return c;
}

/* The P4Info message of a compiled program (in its arena). */
static P4__Config__V1__P4Info *p4info_build(struct ir_prog *ir)
{
	struct pb pb = { .ir = ir, .a = &ir->p->arena };
	P4__Config__V1__P4Info *info = NEW(&pb, P4__Config__V1__P4Info, p4__config__v1__p4_info__init);
	int nx = ir->nx;

	p4info_assign_ids(ir);
	collect_names(&pb);
	info->pkg_info = NEW(&pb, P4__Config__V1__PkgInfo, p4__config__v1__pkg_info__init);
	info->pkg_info->name = str(&pb, ir->name);
	info->pkg_info->arch = str(&pb, ir->arch);
	info->tables = NEWV(&pb, P4__Config__V1__Table, ir->nt);
	for (int t = 0; t < ir->nt; t++)
		info->tables[info->n_tables++] = table(&pb, &ir->tables[t]);
	info->actions = NEWV(&pb, P4__Config__V1__Action, ir->na);
	for (int a = 0; a < ir->na; a++)
		info->actions[info->n_actions++] = action(&pb, &ir->acts[a]);
	info->action_profiles = NEWV(&pb, P4__Config__V1__ActionProfile, nx);
	info->counters = NEWV(&pb, P4__Config__V1__Counter, nx);
	info->direct_counters = NEWV(&pb, P4__Config__V1__DirectCounter, nx);
	info->meters = NEWV(&pb, P4__Config__V1__Meter, nx);
	info->direct_meters = NEWV(&pb, P4__Config__V1__DirectMeter, nx);
	info->registers = NEWV(&pb, P4__Config__V1__Register, nx);
	for (int i = 0; i < nx; i++)
		add_extern(&pb, info, &ir->exts[i]);
	info->value_sets = NEWV(&pb, P4__Config__V1__ValueSet, ir->nvs);
	for (int v = 0; v < ir->nvs; v++)
		info->value_sets[info->n_value_sets++] = value_set(&pb, &ir->vsets[v]);
	info->controller_packet_metadata = NEWV(&pb, P4__Config__V1__ControllerPacketMetadata, 2);
	if (ir->pkt_in_hdr >= 0)
		info->controller_packet_metadata[info->n_controller_packet_metadata++] =
			ctrl_header(&pb, ir->pkt_in_hdr, "packet_in");
	if (ir->pkt_out_hdr >= 0)
		info->controller_packet_metadata[info->n_controller_packet_metadata++] =
			ctrl_header(&pb, ir->pkt_out_hdr, "packet_out");
	return info;
}

static int write_bytes(FILE *f, const uint8_t *p, size_t n)
{
	return fwrite(p, 1, n, f) == n && !ferror(f) ? 0 : -EIO;
}

/* Packs m into a buffer in the arena; *len gets its size. */
static uint8_t *pack(struct ir_prog *ir, const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = p4_alloc(&ir->p->arena, *len + 1);
	protobuf_c_message_pack(m, buf);
	return buf;
}

int p4info_write(struct ir_prog *ir, FILE *f, bool binary)
{
	P4__Config__V1__P4Info *info = p4info_build(ir);
	size_t len;

	if (binary) {
		const uint8_t *buf = pack(ir, &info->base, &len);
		return write_bytes(f, buf, len);
	}
	fprintf(f, "# P4Info of %s, written by ipdk-p4c\n", ir->name);
	return pbtext_write(&info->base, f) ? -EIO : 0;
}

/* The context JSON as a string in the arena. */
static char *context_text(struct ir_prog *ir, size_t *len)
{
	char *text = NULL, *copy;
	FILE *m = open_memstream(&text, len);

	if (!m)
		return NULL;
	context_write_json(ir, m);
	fclose(m);
	if (!text)
		return NULL;
	copy = p4_strndup(&ir->p->arena, text, *len);
	free(text);
	return copy;
}

/* The packed BfPipelineConfig: profile "pipe" with the context and the spec. */
static uint8_t *device_config(struct ir_prog *ir, const char *spec, size_t *len)
{
	Ipdk__Bundle__BfPipelineConfig bf = IPDK__BUNDLE__BF_PIPELINE_CONFIG__INIT;
	Ipdk__Bundle__BfPipelineConfig__Profile pr = IPDK__BUNDLE__BF_PIPELINE_CONFIG__PROFILE__INIT;
	Ipdk__Bundle__BfPipelineConfig__Profile *prs[1] = { &pr };
	uint32_t scope[1] = { 0 };
	size_t clen = 0;
	char *ctx = context_text(ir, &clen);

	if (!ctx)
		return NULL;
	pr.profile_name = "pipe";
	pr.context = (ProtobufCBinaryData){ clen, (uint8_t *)ctx };
	pr.binary = (ProtobufCBinaryData){ strlen(spec), (uint8_t *)spec };
	pr.pipe_scope = scope;
	pr.n_pipe_scope = 1;
	bf.p4_name = (char *)ir->name;
	bf.profiles = prs;
	bf.n_profiles = 1;
	return pack(ir, &bf.base, len);
}

int bundle_write_device_config(struct ir_prog *ir, const char *spec, FILE *f)
{
	size_t len;
	uint8_t *buf = device_config(ir, spec, &len);

	return buf ? write_bytes(f, buf, len) : -ENOMEM;
}

int bundle_write(struct ir_prog *ir, const char *spec, FILE *f)
{
	P4__V1__ForwardingPipelineConfig cfg = P4__V1__FORWARDING_PIPELINE_CONFIG__INIT;
	size_t len;
	uint8_t *dev = device_config(ir, spec, &len), *buf;

	if (!dev)
		return -ENOMEM;
	cfg.p4info = p4info_build(ir);
	cfg.p4_device_config = (ProtobufCBinaryData){ len, dev };
	buf = pack(ir, &cfg.base, &len);
	return write_bytes(f, buf, len);
}
